package stat

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectionAgainstSortedDifferences checks the selection, one order
// statistic at a time and several sharing their counts, against all the
// differences sorted, at the sizes canaries have and with the shapes that
// stress the predictions: skew, heavy ties, a few distinct values, huge
// ranges, overflow to ±Inf and very unequal sizes.
func TestSelectionAgainstSortedDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	gens := []struct {
		name string
		gen  func() float64
	}{
		{"latency", func() float64 { return math.Round(100*math.Exp(0.5*r.NormFloat64())*1000) / 1000 }},
		{"integer ms", func() float64 { return math.Round(20 * math.Exp(0.3*r.NormFloat64())) }},
		{"mostly zero", func() float64 { return float64(r.IntN(30) / 27) }},
		{"heavy tail", func() float64 { return math.Exp(3 * r.NormFloat64()) }},
		{"mixture", func() float64 {
			if r.IntN(10) == 0 {
				return 500 + 50*r.NormFloat64()
			}
			return 100 + 10*r.NormFloat64()
		}},
		{"wide", func() float64 { return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)) }},
		{"overflow", func() float64 { return math.MaxFloat64 / 1.1 * (2*r.Float64() - 1) }},
	}
	sizes := [][2]int{{1, 1}, {2, 700}, {360, 360}, {250, 40}, {30, 30}, {1100, 9}, {600, 600}}
	for _, g := range gens {
		for _, sz := range sizes {
			x, y := make([]float64, sz[0]), make([]float64, sz[1])
			for i := range x {
				x[i] = g.gen() * 1.02
			}
			for i := range y {
				y[i] = g.gen()
			}
			mw, err := NewMannWhitney(x, y)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteDiffs(x, y)
			n := int64(len(want))
			ks := []int64{1, 2, n / 100, n / 40, n / 4, n/2 - 1, n / 2, n/2 + 1, (n + 1) / 2, n - n/40, n - 1, n}
			ks = slices.DeleteFunc(ks, func(k int64) bool { return k < 1 || k > n })
			for _, k := range ks {
				if got := mw.Difference(k); !sameFloat(got, want[k-1]) {
					t.Errorf("%s %v: Difference(%d) = %v, want %v", g.name, sz, k, got, want[k-1])
				}
			}
			// Shared counts: the interval's two ends, the middle pair, and
			// four at once.
			for _, set := range [][]int64{{n / 40, n - n/40}, {n / 2, n/2 + 1}, {1, n / 3, n / 2, n}} {
				set = slices.DeleteFunc(slices.Clone(set), func(k int64) bool { return k < 1 || k > n })
				got := make([]float64, len(set))
				mw.selectDiffs(set, got)
				for i, k := range set {
					if !sameFloat(got[i], want[k-1]) {
						t.Errorf("%s %v: selectDiffs %v [%d] = %v, want %v", g.name, sz, set, k, got[i], want[k-1])
					}
				}
			}
		}
	}
}

// sameFloat is == except that a zero must be +0 (the selection's contract)
// and NaN equals NaN.
func sameFloat(got, want float64) bool {
	if got == 0 && want == 0 {
		return !math.Signbit(got)
	}
	return got == want || (math.IsNaN(got) && math.IsNaN(want))
}

// TestPairCounts checks W and the pooled tie term against their definitions:
// every pair compared, and the pooled sample's groups counted in a map.
func TestPairCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for rep := range 200 {
		nx, ny := 1+r.IntN(60), 1+r.IntN(60)
		levels := 1 + r.IntN(40)
		x, y := make([]float64, nx), make([]float64, ny)
		for i := range x {
			x[i] = float64(r.IntN(levels))
		}
		for i := range y {
			y[i] = float64(r.IntN(levels))
		}
		if rep%7 == 0 {
			x[0], y[0] = math.Copysign(0, -1), 0 // -0 and +0 are tied
		}
		var w2 int64
		groups := map[float64]float64{}
		for _, a := range x {
			groups[a]++
			for _, b := range y {
				switch {
				case a > b:
					w2 += 2
				case a == b:
					w2++
				}
			}
		}
		for _, b := range y {
			groups[b]++
		}
		var ties float64
		for _, c := range groups {
			ties += c*c*c - c
		}
		slices.Sort(x)
		slices.Sort(y)
		within, exact := withinTieSum(x, y)
		gotW2, gotTies := pairCounts(x, y, within, exact)
		if gotW2 != w2 || gotTies != ties {
			t.Fatalf("pairCounts(%v, %v) = %d, %v; want %d, %v", x, y, gotW2, gotTies, w2, ties)
		}
	}
}

// TestEndsSettled checks the cheap bound against R's statistic at the ends,
// evaluated exactly: whenever it says neither short cut applies, W(min d) >
// zq, W(max d) < zq and both variances are positive.
func TestEndsSettled(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	settled := 0
	for rep := range 400 {
		nx, ny := 1+r.IntN(80), 1+r.IntN(80)
		levels := 2 + r.IntN(200)
		x, y := make([]float64, nx), make([]float64, ny)
		for i := range x {
			x[i] = float64(r.IntN(levels)) / 8
		}
		for i := range y {
			y[i] = float64(r.IntN(levels))/8 + float64(rep%3)
		}
		mw, err := NewMannWhitney(x, y)
		if err != nil {
			t.Fatal(err)
		}
		mumin, mumax := mw.minDiff(), mw.maxDiff()
		for _, zq := range []float64{-6, -2.5, -1, 0, 1, 2.5, 6} {
			if !mw.endsSettled(zq, mumin, mumax) {
				continue
			}
			settled++
			for _, alt := range []alternative{twoSided, greater, less, noCorrection} {
				wmin, smin := mw.wAt(mumin, alt)
				wmax, smax := mw.wAt(mumax, alt)
				if !(smin > 0 && smax > 0 && wmin > zq && wmax < zq) {
					t.Fatalf("settled for zq %v but W(min d) = %v (sigma %v), W(max d) = %v (sigma %v); x %v y %v", zq, wmin, smin, wmax, smax, x, y)
				}
			}
		}
	}
	if settled == 0 {
		t.Fatal("the bound never settled anything")
	}
}

// TestSortFloats checks sortFloats and quickSelect against slices.Sort.
func TestSortFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 2, 3, 5, 16, 17, 100, 129, 1000, 5000} {
		for kind := range 6 {
			v := make([]float64, n)
			for i := range v {
				switch kind {
				case 0:
					v[i] = r.NormFloat64()
				case 1:
					v[i] = float64(r.IntN(3))
				case 2:
					v[i] = float64(i)
				case 3:
					v[i] = float64(-i)
				case 4:
					v[i] = float64(i % 7) // organ pipes and repeats
				case 5:
					v[i] = math.Inf(2*r.IntN(2) - 1)
				}
			}
			want := slices.Clone(v)
			slices.Sort(want)
			for _, k := range []int{0, 1, n / 3, n / 2, n - 2, n - 1} {
				if k >= 0 && k < n {
					if got := quickSelect(slices.Clone(v), k); got != want[k] {
						t.Fatalf("n=%d kind=%d: quickSelect(%d) = %v, want %v", n, kind, k, got, want[k])
					}
				}
			}
			sortFloats(v)
			if !slices.Equal(v, want) {
				t.Fatalf("n=%d kind=%d: not sorted", n, kind)
			}
		}
	}
}

// TestWilcoxCountsExact checks the counts above 2^64 (the 128-bit path)
// against R's cwilcox recurrence evaluated in big integers.
func TestWilcoxCountsExact(t *testing.T) {
	for _, sz := range [][2]int{{34, 34}, {20, 45}, {7, 8}} {
		m, n := sz[0], sz[1]
		// c[i][k] = counts for sizes (i, j) as j grows: c(k; i, j) =
		// c(k-j; i-1, j) + c(k; i, j-1).
		c := make([][]*big.Int, m+1)
		for i := range c {
			c[i] = make([]*big.Int, m*n+1)
			for k := range c[i] {
				c[i][k] = new(big.Int)
			}
			c[i][0].SetInt64(1)
		}
		for j := 1; j <= n; j++ {
			for i := 1; i <= m; i++ {
				for k := i * j; k >= j; k-- {
					c[i][k].Add(c[i][k], c[i-1][k-j])
				}
			}
		}
		got := wilcoxCounts(m, n)
		for k, want := range c[m] {
			w, _ := new(big.Float).SetInt(want).Float64()
			if got[k] != w {
				t.Fatalf("wilcoxCounts(%d, %d)[%d] = %v, want %v", m, n, k, got[k], w)
			}
		}
	}
}

// TestShiftedRanksPaths checks the one-pass rank sum against the general
// merge on samples with ties within and across them, at shifts that are
// pairwise differences (cross ties), between them, and far out.
func TestShiftedRanksPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	chains, fast, crossFast := 0, 0, 0
	for trial := range 300 {
		nx, ny := 1+rng.IntN(60), 1+rng.IntN(60)
		x, y := make([]float64, nx), make([]float64, ny)
		grid := []float64{1, 0.5, 0.001, 1e-9}[trial%4]
		for i := range x {
			x[i] = math.Round(rng.NormFloat64()*20/grid) * grid
		}
		for j := range y {
			y[j] = math.Round((rng.NormFloat64()*20+3)/grid) * grid
		}
		mw, err := NewMannWhitney(x, y)
		if err != nil {
			t.Fatal(err)
		}
		shifts := []float64{0, 1e300, -1e300, mw.minDiff(), mw.maxDiff()}
		for range 20 {
			i, j := rng.IntN(nx), rng.IntN(ny)
			d := mw.x[i] - mw.y[j]
			shifts = append(shifts, d, math.Nextafter(d, math.Inf(1)), d+grid/2, d*(1+rng.Float64()*1e-12))
		}
		for _, d := range shifts {
			wantSum, wantTies := mw.shiftedRanksMerge(d)
			gotSum, gotTies := mw.shiftedRanks(d, nil)
			if gotSum != wantSum || gotTies != wantTies {
				t.Fatalf("trial %d, d = %v: one pass gives (%d, %v), merge (%d, %v)", trial, d, gotSum, gotTies, wantSum, wantTies)
			}
			if _, ok := mw.countBelow(d, make([]int32, len(mw.x))); ok {
				chains++
			}
			if _, ties, ok := mw.shiftedRanksOnePass(d); ok {
				fast++
				if within, _ := mw.withinTies(); ties != float64(within) {
					crossFast++
				}
			}
		}
	}
	if chains == 0 || fast == 0 || crossFast == 0 {
		t.Fatalf("the four-chain count served %d shifts, the one-pass path %d, %d of them with ties across the samples: all must be tested", chains, fast, crossFast)
	}
}
