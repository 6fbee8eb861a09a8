// Package machine reads what a benchmark reports beside its figures: the
// machine's load while it ran and the process's peak memory.
package machine

import (
	"bufio"
	"os"
	"strings"
)

// LoadAverage is the machine's 1, 5 and 15 minute load average: whether
// other work shared the machine with a measurement.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// PeakRSS reads this process's peak resident memory from /proc.
func PeakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
