package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteRanks is the definition of average-tie ranks in the pooled sample:
// 1 + (number of points below) + (number of other equal points)/2.
func bruteRanks(a, b []float64) (ra, rb []float64) {
	all := slices.Concat(a, b)
	rank := func(v float64) float64 {
		var below, equal float64
		for _, w := range all {
			switch {
			case w < v:
				below++
			case w == v:
				equal++
			}
		}
		return below + (equal+1)/2
	}
	for _, v := range a {
		ra = append(ra, rank(v))
	}
	for _, v := range b {
		rb = append(rb, rank(v))
	}
	return ra, rb
}

func TestSampleAndPooledRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	negZero := math.Copysign(0, -1)
	cases := map[string][2][]float64{
		"empty and one":     {{}, {3}},
		"signed zeros":      {{0, negZero, 1, -1}, {negZero, 0, 0}},
		"negative and huge": {{-1e300, 5, -2.5, 1e-300, math.MaxFloat64}, {-math.MaxFloat64, 5, -2.5, 0}},
		"counts with ties":  {{0, 0, 1, 0, 2, 0, 0, 1}, {0, 3, 0, 0, 1, 1, 0}},
	}
	a, b := make([]float64, 500), make([]float64, 450)
	for i := range a {
		a[i] = math.Round(rng.NormFloat64()*20) / 4
	}
	for i := range b {
		b[i] = math.Round(rng.NormFloat64()*20+3) / 4
	}
	cases["rounded normals"] = [2][]float64{a, b}
	for name, c := range cases {
		sa, sb := newSample(c[0]), newSample(c[1])
		for _, s := range []sample{sa, sb} {
			if !slices.IsSorted(s.sorted) {
				t.Errorf("%s: not sorted: %v", name, s.sorted)
			}
			for k, i := range s.perm {
				if math.Float64bits(s.sorted[k]) != math.Float64bits(s.values[i]) {
					t.Errorf("%s: sorted[%d] = %v but values[perm] = %v", name, k, s.sorted[k], s.values[i])
				}
			}
		}
		ra, rb := pooledRanks(sa, sb)
		wa, wb := bruteRanks(c[0], c[1])
		if !slices.Equal(ra, wa) || !slices.Equal(rb, wb) {
			t.Errorf("%s: ranks %v %v, want %v %v", name, ra, rb, wa, wb)
		}
	}
}
