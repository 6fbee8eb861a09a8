package routing

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkGenerations times a fixed number of generations, one thread, on
// a Gehring–Homberger 400 instance and on an X instance: the cost of a
// generation, which decides how far the search gets in a time limit.
func BenchmarkGenerations(b *testing.B) {
	for _, name := range []string{"vrptw-gh400/RC1_4_8", "cvrp/X-n327-k20"} {
		in := readInstance(b, filepath.Join(benchDir, name+".vrp"))
		b.Run(filepath.Base(name), func(b *testing.B) {
			for b.Loop() {
				if _, err := Solve(context.Background(), in.Problem(), Options{MaxIterations: 150, Seed: 1, Threads: 1, Patience: -1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
