package stat

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteDiffs returns all pairwise differences x[i]-y[j], sorted: the
// definition Difference must agree with.
func bruteDiffs(x, y []float64) []float64 {
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, a-b)
		}
	}
	slices.Sort(d)
	return d
}

func TestDifferenceMatchesSortedDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		x, y []float64
	}{
		{"1x1", []float64{2}, []float64{5}},
		{"signed zeros", []float64{math.Copysign(0, -1), 0, 1}, []float64{0, math.Copysign(0, -1)}},
		{"ties", []float64{1, 1, 2, 2, 2, 3}, []float64{2, 2, 1, 5}},
		{"negative", []float64{-5, -3.5, -1e-9}, []float64{-2, -7, 1e-9, 4}},
		{"huge", []float64{1e308, -1e308, 5}, []float64{-1e308, 1e308}},
		{"tiny", []float64{5e-324, -5e-324, 1e-310}, []float64{0, 5e-324}},
	}
	for k := range 5 {
		n, m := 1+r.IntN(40), 1+r.IntN(40)
		x, y := make([]float64, n), make([]float64, m)
		for i := range x {
			x[i] = math.Round(r.NormFloat64()*3) / 2
		}
		for i := range y {
			y[i] = r.ExpFloat64() * float64(k+1)
		}
		tests = append(tests, struct {
			name string
			x, y []float64
		}{"random", x, y})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := NewMannWhitney(tc.x, tc.y)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteDiffs(tc.x, tc.y)
			for k := range want {
				if got := mw.Difference(int64(k + 1)); got != want[k] {
					t.Fatalf("Difference(%d) = %v, want %v", k+1, got, want[k])
				}
			}
			if got := mw.Difference(0); !math.IsNaN(got) {
				t.Errorf("Difference(0) = %v, want NaN", got)
			}
			if got := mw.Difference(int64(len(want)) + 1); !math.IsNaN(got) {
				t.Errorf("Difference(N+1) = %v, want NaN", got)
			}
			n := len(want)
			med := want[n/2]
			if n%2 == 0 {
				med = mid(want[n/2-1], want[n/2])
			}
			got := mw.Estimate()
			switch lo, hi := want[(n-1)/2], want[n/2]; {
			case mw.Exact():
				if got != med {
					t.Errorf("Estimate() = %v, median of the differences %v", got, med)
				}
			default:
				// R's uniroot stops within its tolerance (1e-4) of a root, and
				// every point between the middle differences is one.
				if slack := 1e-4 * math.Max(1, math.Max(math.Abs(lo), math.Abs(hi))); !(got >= lo-slack && got <= hi+slack) {
					t.Errorf("Estimate() = %v, not within R's tolerance of the middle differences [%v, %v]", got, lo, hi)
				}
			}
		})
	}
}

func TestNewMannWhitneyRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
	}{
		{"empty x", nil, []float64{1}},
		{"empty y", []float64{1}, []float64{}},
		{"NaN in x", []float64{1, math.NaN()}, []float64{1}},
		{"+Inf in y", []float64{1}, []float64{2, math.Inf(1)}},
		{"-Inf in x", []float64{math.Inf(-1)}, []float64{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewMannWhitney(tc.x, tc.y); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestNewMannWhitneyDoesNotModifyInput(t *testing.T) {
	x, y := []float64{3, 1, 2}, []float64{9, 7, 8}
	if _, err := NewMannWhitney(x, y); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, []float64{3, 1, 2}) || !slices.Equal(y, []float64{9, 7, 8}) {
		t.Fatalf("inputs modified: %v %v", x, y)
	}
}

func TestConfidenceLevelOutOfRange(t *testing.T) {
	for _, exact := range []bool{true, false} {
		x, y := []float64{1, 2, 3}, []float64{1.5, 2.5}
		if !exact {
			y = []float64{1, 2}
		}
		mw, err := NewMannWhitney(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if mw.Exact() != exact {
			t.Fatalf("Exact() = %v, want %v", mw.Exact(), exact)
		}
		for _, c := range []float64{0, 1, -0.5, 1.5, math.NaN(), math.Inf(1)} {
			if _, _, err := mw.Interval(c); err == nil {
				t.Errorf("exact=%v Interval(%v): no error", exact, c)
			}
			if _, err := mw.LowerBound(c); err == nil {
				t.Errorf("exact=%v LowerBound(%v): no error", exact, c)
			}
			if _, err := mw.UpperBound(c); err == nil {
				t.Errorf("exact=%v UpperBound(%v): no error", exact, c)
			}
		}
	}
}

func TestAllTied(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
	}{
		{"1x1 equal", []float64{3}, []float64{3}},
		{"all equal", []float64{4, 4, 4}, []float64{4, 4}},
		{"signed zeros", []float64{0, math.Copysign(0, -1)}, []float64{0}},
		{"two constants", []float64{1, 1, 1}, []float64{2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := NewMannWhitney(tc.x, tc.y)
			if err != nil {
				t.Fatal(err)
			}
			if mw.Exact() {
				t.Fatal("tied samples must use the normal approximation")
			}
			if _, _, err := mw.Interval(0.95); !errors.Is(err, ErrAllTied) {
				t.Errorf("Interval error = %v, want ErrAllTied", err)
			}
			if _, err := mw.LowerBound(0.95); !errors.Is(err, ErrAllTied) {
				t.Errorf("LowerBound error = %v, want ErrAllTied", err)
			}
			if _, err := mw.UpperBound(0.95); !errors.Is(err, ErrAllTied) {
				t.Errorf("UpperBound error = %v, want ErrAllTied", err)
			}
			want := tc.x[0] - tc.y[0]
			if got := mw.Estimate(); got != want {
				t.Errorf("Estimate() = %v, want %v", got, want)
			}
		})
	}
	// With every value tied the variance is zero: R's p-value is NaN.
	mw, _ := NewMannWhitney([]float64{4, 4}, []float64{4})
	if p := mw.PValue(); !math.IsNaN(p) {
		t.Errorf("PValue() = %v, want NaN (R)", p)
	}
}

func TestOneByOne(t *testing.T) {
	// R: wilcox.test(1.5, 0.25, conf.int = TRUE): W = 1, p = 1, CI [1.25, 1.25].
	mw, err := NewMannWhitney([]float64{1.5}, []float64{0.25})
	if err != nil {
		t.Fatal(err)
	}
	if !mw.Exact() || mw.W() != 1 || mw.PValue() != 1 || mw.PValueGreater() != 0.5 || mw.PValueLess() != 1 {
		t.Errorf("exact=%v W=%v p=%v greater=%v less=%v", mw.Exact(), mw.W(), mw.PValue(), mw.PValueGreater(), mw.PValueLess())
	}
	lo, hi, err := mw.Interval(0.95)
	if err != nil || lo != 1.25 || hi != 1.25 {
		t.Errorf("Interval = %v, %v, %v; want 1.25, 1.25", lo, hi, err)
	}
}

func TestHugeValuesDoNotPanic(t *testing.T) {
	// Differences overflow to ±Inf; R's outer() gives the same infinities.
	mw, err := NewMannWhitney([]float64{1e308, -1e308, 1, 2}, []float64{-1e308, 1e308, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := mw.Difference(1); !math.IsInf(got, -1) {
		t.Errorf("smallest difference = %v, want -Inf", got)
	}
	if got := mw.Difference(12); !math.IsInf(got, 1) {
		t.Errorf("largest difference = %v, want +Inf", got)
	}
	est := mw.Estimate()
	lo, hi, err := mw.Interval(0.9)
	if err != nil {
		t.Fatal(err)
	}
	if !(lo <= est && est <= hi) {
		t.Errorf("interval [%v, %v] does not contain the estimate %v", lo, hi, est)
	}
}

// TestWilcoxCounts checks the exact null distribution against independent
// facts: the counts add up to choose(m+n, m) (math/big), are symmetric, and
// small cases match the enumeration by hand.
func TestWilcoxCounts(t *testing.T) {
	if got, want := wilcoxCounts(2, 3), []float64{1, 1, 2, 2, 2, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("wilcoxCounts(2, 3) = %v, want %v", got, want)
	}
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {3, 3}, {4, 9}, {12, 5}, {20, 20}, {49, 49}} {
		m, n := sz[0], sz[1]
		c := wilcoxCounts(m, n)
		if len(c) != m*n+1 {
			t.Fatalf("wilcoxCounts(%d, %d): %d counts, want %d", m, n, len(c), m*n+1)
		}
		var sum float64
		for k := range c {
			sum += c[k]
			if c[k] != c[len(c)-1-k] {
				t.Errorf("wilcoxCounts(%d, %d) not symmetric at %d", m, n, k)
			}
		}
		want, _ := new(big.Float).SetInt(new(big.Int).Binomial(int64(m+n), int64(m))).Float64()
		if math.Abs(sum-want) > 1e-13*want {
			t.Errorf("sum of wilcoxCounts(%d, %d) = %v, want choose = %v", m, n, sum, want)
		}
		if c[0] != 1 || (m*n > 1 && c[1] != 1) {
			t.Errorf("wilcoxCounts(%d, %d) tails %v", m, n, c[:2])
		}
	}
}

// TestDifferenceLargeSamples exercises the bracketing probes (grid guesses,
// interpolation, halving) on samples large enough to use them, continuous and
// heavily tied, against the fully sorted differences.
func TestDifferenceLargeSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gen := map[string]func() float64{
		"lognormal": func() float64 { return math.Exp(r.NormFloat64()) },
		"rounded":   func() float64 { return math.Round(math.Exp(r.NormFloat64()) * 10) },
		"zeros":     func() float64 { return float64(r.IntN(20) / 18) },
		"wide":      func() float64 { return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)) },
	}
	for name, g := range gen {
		t.Run(name, func(t *testing.T) {
			x, y := make([]float64, 300), make([]float64, 170)
			for i := range x {
				x[i] = g()
			}
			for i := range y {
				y[i] = g()
			}
			mw, err := NewMannWhitney(x, y)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteDiffs(x, y)
			n := int64(len(want))
			for _, k := range []int64{1, 2, 17, n / 40, n / 10, n/2 - 1, n / 2, n/2 + 1, n - n/40, n - 3, n} {
				if got := mw.Difference(k); got != want[k-1] {
					t.Errorf("Difference(%d) = %v, want %v", k, got, want[k-1])
				}
			}
		})
	}
}
