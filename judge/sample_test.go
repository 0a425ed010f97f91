package judge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
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
	// Ties of every kind at random: within a side, across the sides, at
	// the ends, runs on one side only; and none at all.
	for k := range 40 {
		levels := []int{2, 5, 30, 400, 1 << 30}[k%5]
		gen := func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(levels)) - float64(levels/3)
			}
			return v
		}
		cases[fmt.Sprintf("random ties %d", k)] = [2][]float64{gen(1 + rng.IntN(300)), gen(1 + rng.IntN(300))}
	}
	for name, c := range cases {
		var w Workspace
		sa, sb := w.sample(0, c[0]), w.sample(1, c[1])
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
		ra, rb := w.pooledRanks(sa, sb)
		wa, wb := bruteRanks(c[0], c[1])
		if !slices.Equal(ra, wa) || !slices.Equal(rb, wb) {
			t.Errorf("%s: ranks %v %v, want %v %v", name, ra, rb, wa, wb)
		}
	}
}

// TestSampleSorts checks both sorts behind Workspace.sample against
// slices.Sort: the bucket sort on canary-sized samples and the radix sort
// it falls back to when the points crowd into few buckets or the sample is
// large.
func TestSampleSorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gen := func(n int, f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	cases := []struct {
		name   string
		values []float64
		bucket bool // sorted by buckets, not the radix fallback
	}{
		{"latencies", gen(360, func(int) float64 { return math.Round(100*math.Exp(0.5*rng.NormFloat64())*1000) / 1000 }), true},
		{"heavy-tailed latencies", gen(360, func(int) float64 { return math.Round(100*math.Exp(1.5*rng.NormFloat64())*1000) / 1000 }), true},
		{"normals around zero", gen(500, func(int) float64 { return rng.NormFloat64() }), true},
		{"small counts with ties", gen(360, func(int) float64 { return float64(rng.IntN(5)) }), true},
		{"all equal", gen(100, func(int) float64 { return 7 }), true},
		{"two points", []float64{2, -1}, true},
		{"one outlier crowding the rest", gen(360, func(i int) float64 {
			if i == 0 {
				return 1e300
			}
			return 100 + rng.Float64()
		}), false},
		{"beyond the bucket limit", gen(bucketLimit+1, func(int) float64 { return rng.ExpFloat64() }), false},
		{"one point", []float64{3}, false},
	}
	var w Workspace
	for _, c := range cases {
		want := slices.Clone(c.values)
		slices.Sort(want)
		w.keys = resize(w.keys, 2*len(c.values))
		if got := w.bucketSort(c.values, make([]int32, len(c.values)), make([]int32, len(c.values))); got != c.bucket {
			t.Errorf("%s: bucket sort used = %v, want %v", c.name, got, c.bucket)
		}
		s := w.sample(0, c.values)
		if !slices.Equal(s.sorted, want) {
			t.Errorf("%s: not sorted", c.name)
		}
		for k, i := range s.perm {
			if math.Float64bits(s.sorted[k]) != math.Float64bits(c.values[i]) {
				t.Fatalf("%s: sorted[%d] = %v but values[perm] = %v", c.name, k, s.sorted[k], c.values[i])
			}
		}
	}
}

// TestSampleNaN: the judge never sorts NaN (it cleans them first), but the
// exported VarianceInflation takes raw series; a NaN must not crash it.
func TestSampleNaN(t *testing.T) {
	nan := math.NaN()
	for _, v := range [][]float64{{1, nan, 3}, {nan, nan}, {-nan, 2, -1, nan, 0}, {nan, 5, 4, 3, 2, 1, 0, -1}} {
		var w Workspace
		s := w.sample(0, v)
		seen := make([]bool, len(v))
		for _, i := range s.perm {
			seen[i] = true
		}
		if slices.Contains(seen, false) {
			t.Errorf("%v: perm %v is not a permutation", v, s.perm)
		}
	}
	if f, _ := VarianceInflation([]float64{1, 2, nan, 4, 5}, []float64{nan, 2, 3, 4, 5}); math.IsNaN(f) || f < 1 {
		t.Errorf("variance inflation with NaN points: %v", f)
	}
}

// TestWorkspaceReuse judges a run of different signals in one Workspace and
// checks each result equals the one judged in a fresh Workspace: nothing
// left from an earlier, larger or differently shaped signal leaks into the
// next.
func TestWorkspaceReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	q := 0.95
	specs := []Spec{
		{Name: "latency", Direction: Increase},
		{Name: "cpu", Direction: Either, NaN: NaNZero},
		{Name: "errors", Test: Rate, Direction: Increase},
		{Name: "p95", Test: Quantile, Quantile: &q, Direction: Increase},
		{Name: "trimmed", Outliers: OutliersRemove},
	}
	var w Workspace
	for i := range 60 {
		spec := specs[i%len(specs)]
		nb, nc := 20+rng.IntN(700), 20+rng.IntN(700)
		if i%4 == 0 {
			nc = nb // paired lengths: the rank-difference autocorrelation
		}
		side := func(n int, level float64) []float64 {
			v := make([]float64, n)
			for j := range v {
				v[j] = math.Round(level*math.Exp(0.3*rng.NormFloat64())*100) / 100
				if spec.Test == Rate {
					v[j] = float64(rng.IntN(int(level)))
				}
				if rng.IntN(50) == 0 {
					v[j] = math.NaN()
				}
			}
			return v
		}
		base, can := side(nb, 20), side(nc, 20*(1+0.1*float64(i%3)))
		got := w.Judge(spec, base, can, Options{})
		want := Judge(spec, base, can, Options{})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("signal %d (%s, %d vs %d points): reused workspace gave\n%+v\nfresh gave\n%+v", i, spec.Name, nb, nc, got, want)
		}
	}
}
