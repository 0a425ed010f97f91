package stat

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRootCounter follows root finder paths on samples of several shapes
// (continuous, rounded with ties across the samples, heavy ties) and checks
// every count, and every refusal, the counter gives against countBelow's
// full walk, which it must equal while it scans only the rows still open.
func TestRootCounter(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	shapes := []struct {
		name string
		gen  func(shift float64) float64
	}{
		{"uniform, 3 decimals", func(s float64) float64 { return math.Trunc((100+s+20*(rng.Float64()-0.5))*1000) / 1000 }},
		{"lognormal latencies", func(s float64) float64 {
			return math.Round((100+s)*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
		}},
		{"coarse, many ties", func(s float64) float64 { return math.Round(10*rng.NormFloat64() + s) }},
	}
	fastUsed, tiesFound := 0, 0
	for _, shape := range shapes {
		for k := range 30 {
			n, m := 50+rng.IntN(400), 50+rng.IntN(400)
			x, y := make([]float64, n), make([]float64, m)
			for i := range x {
				x[i] = shape.gen(float64(k % 4))
			}
			for j := range y {
				y[j] = shape.gen(0)
			}
			mw, err := NewMannWhitney(x, y)
			if err != nil {
				t.Fatal(err)
			}
			c := newRootCounter(mw, make([]int32, 4*n))
			ref := make([]int32, n)
			f := func(d float64) float64 {
				if c.ready && c.loD < d && d < c.hiD && len(c.active)*maxActiveShare <= n {
					fastUsed++
				}
				got, gotOK := c.count(d)
				want, wantOK := mw.countBelow(d, ref)
				if !wantOK && c.ready && c.loD < d && d < c.hiD {
					tiesFound++
				}
				if gotOK != wantOK || (gotOK && got != want) {
					t.Fatalf("%s %d: at d = %v the counter gives %d (%v), the full walk %d (%v)", shape.name, k, d, got, gotOK, want, wantOK)
				}
				if !wantOK {
					rs, _ := mw.shiftedRanksMerge(d)
					want = (rs - int64(n)*int64(n+1)) / 2
				}
				return float64(want) - float64(n)*float64(m)/2
			}
			lo, hi := mw.minDiff(), mw.maxDiff()
			zeroin(lo, hi, f(lo), f(hi), func(d float64) float64 { return rValue(f(d)) }, zeroinTol, zeroinMaxIter)
			// Pairwise differences inside the final bracket: ties across
			// the samples among the rows still open.
			for i := range x {
				for j := range y {
					if d := x[i] - y[j]; c.ready && c.loD < d && d < c.hiD {
						f(d)
					}
				}
			}
			// Shifts off the root finder's path: outside the bracket, at
			// its ends, at pairwise differences (ties across).
			for range 20 {
				d := x[rng.IntN(n)] - y[rng.IntN(m)]
				if rng.IntN(2) == 0 {
					d += (rng.Float64() - 0.5) * 1e-3
				}
				f(d)
			}
		}
	}
	if tiesFound < 20 {
		t.Errorf("only %d refusals inside a bracket: the test does not reach the ties", tiesFound)
	}
	if fastUsed < 100 {
		t.Errorf("the counter scanned open rows only %d times: the test does not reach its fast path", fastUsed)
	}
}
