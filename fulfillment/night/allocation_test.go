package night

import (
	"groupbuy/fulfillment/wave"
	"math/rand/v2"
	"testing"
)

func TestCutLinesFirstComeFirstServed(t *testing.T) {
	lines := []demandLine{
		{LineID: 1, PointID: 10, Quantity: 3}, {LineID: 2, PointID: 20, Quantity: 2},
		{LineID: 3, PointID: 10, Quantity: 4}, {LineID: 4, PointID: 30, Quantity: 1},
	}
	cuts := cutLines(wave.FirstComeFirstServed, 6, lines)
	want := map[int64]int64{3: 3, 4: 1} // lines 1, 2 whole; line 3 keeps 1
	if len(cuts) != len(want) || cuts[3] != 3 || cuts[4] != 1 {
		t.Fatalf("fcfs cuts %v, want %v", cuts, want)
	}
	if cuts := cutLines(wave.FirstComeFirstServed, 0, lines); cuts[1]+cuts[2]+cuts[3]+cuts[4] != 10 {
		t.Fatalf("nothing received: %v", cuts)
	}
}

func TestCutLinesSpreadEvenly(t *testing.T) {
	// Point 10 ordered 7 units, point 20 two, point 30 one; 6 arrived.
	// Max-min fair: 20 and 30 are served fully (3), 10 gets the other 3.
	lines := []demandLine{
		{LineID: 1, PointID: 10, Quantity: 3}, {LineID: 2, PointID: 20, Quantity: 2},
		{LineID: 3, PointID: 10, Quantity: 4}, {LineID: 4, PointID: 30, Quantity: 1},
	}
	cuts := cutLines(wave.SpreadEvenly, 6, lines)
	if len(cuts) != 1 || cuts[3] != 4 {
		t.Fatalf("even cuts %v, want line 3 cut by 4", cuts)
	}
	// Three equal points, 4 units: levels 1,1,1 and the spare unit to the first point.
	eq := []demandLine{{LineID: 1, PointID: 1, Quantity: 5}, {LineID: 2, PointID: 2, Quantity: 5}, {LineID: 3, PointID: 3, Quantity: 5}}
	cuts = cutLines(wave.SpreadEvenly, 4, eq)
	if cuts[1] != 3 || cuts[2] != 4 || cuts[3] != 4 {
		t.Fatalf("equal points: %v", cuts)
	}
}

// TestCutLinesInvariants checks on random days that both policies cut exactly
// the shortfall, never more than a line holds, and the same way twice.
func TestCutLinesInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 500 {
		var lines []demandLine
		var sold int64
		for i := range 1 + rng.IntN(40) {
			q := int64(1 + rng.IntN(5))
			lines = append(lines, demandLine{LineID: int64(i + 1), PointID: int64(1 + rng.IntN(6)), Quantity: q})
			sold += q
		}
		received := rng.Int64N(sold + 1)
		for _, p := range []wave.Policy{wave.FirstComeFirstServed, wave.SpreadEvenly} {
			cuts := cutLines(p, received, lines)
			var total int64
			for _, l := range lines {
				if c := cuts[l.LineID]; c < 0 || c > l.Quantity {
					t.Fatalf("trial %d %s: line %d of %d cut by %d", trial, p, l.LineID, l.Quantity, c)
				}
				total += cuts[l.LineID]
			}
			if total != sold-received {
				t.Fatalf("trial %d %s: cut %d, shortfall %d", trial, p, total, sold-received)
			}
			again := cutLines(p, received, lines)
			for id, c := range cuts {
				if again[id] != c {
					t.Fatalf("trial %d %s: not deterministic", trial, p)
				}
			}
		}
	}
}
