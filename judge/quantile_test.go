package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// lognormalSeries draws n lognormal points, median 100 ms, σ = 0.3.
func lognormalSeries(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 100 * math.Exp(0.3*r.NormFloat64())
	}
	return out
}

// stretchTail moves the values above p90 so that the p99 of σ = 0.3
// lognormal latency (200.95 ms; p90 146.88 ms) moves by size, as the quality
// harness's tail scenarios do: the median does not move.
func stretchTail(v []float64, size float64) []float64 {
	const q90, q99 = 146.8828978, 200.9537030
	out := slices.Clone(v)
	s := ((1+size)*q99 - q90) / (q99 - q90)
	for i, x := range out {
		if x > q90 {
			out[i] = q90 + (x-q90)*s
		}
	}
	return out
}

func constantSeries(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestQuantileDecisions(t *testing.T) {
	r := rand.New(rand.NewPCG(20261123, 7))
	base, same := lognormalSeries(r, 1000), lognormalSeries(r, 1000)
	tail := stretchTail(lognormalSeries(r, 1000), 0.5)
	frac := func(v float64) *Change { f := Rel(v); return &f }
	tests := []struct {
		name         string
		spec         Spec
		baseline     []float64
		canary       []float64
		want         Classification
		wantGate     Gate
		wantFailed   bool
		wantCritical bool
		reason       []string
	}{
		{"p99 +50% with the median unchanged fails", Spec{Direction: Increase}, base, tail, High, GateAllowedChange, true, false,
			[]string{"latency p99 rose", "canary points above the pooled p99", "expected", "no rise is allowed"}},
		{"beyond criticalChange it is critical", Spec{Direction: Increase, CriticalChange: frac(0.25)}, base, tail, High, GateCriticalChange, true, true,
			[]string{"critical beyond +25%"}},
		{"an unchanged tail passes", Spec{Direction: Increase}, base, same, Pass, GateInterval, false, false,
			[]string{"latency p99 shows no significant change"}},
		{"a rise within a 60% allowance passes", Spec{Direction: Increase, AllowedChange: Rel(0.6)}, base, tail, Pass, GateInterval, false, false, nil},
		{"a rise is harmless when decrease is bad", Spec{Direction: Decrease}, base, tail, Pass, GateDirection, false, false,
			[]string{"harmless"}},
		{"100 points per side are too few for a p99", Spec{Direction: Increase}, base[:100], tail[:100], NoData, GateMinSamples, false, false,
			[]string{"needs 250 on each side", "5 points are expected above the pooled p99"}},
		{"5 points: the reason names the p99's need, not minSamples", Spec{Direction: Increase}, base[:5], tail[:5], NoData, GateMinSamples, false, false,
			[]string{"needs 250 on each side"}},
		{"a p95 needs 50 points", Spec{Direction: Increase, Quantile: ptr(0.95)}, base[:49], tail[:100], NoData, GateMinSamples, false, false,
			[]string{"p95 test", "needs 50"}},
		{"all equal: nothing to judge, never a pass", Spec{Direction: Increase}, constantSeries(7, 400), constantSeries(7, 400), NoData, GateResolution, false, false,
			[]string{"too little tail"}},
		{"all equal with mustHaveData fails", Spec{Direction: Increase, MustHaveData: true, Critical: true}, constantSeries(7, 400), constantSeries(7, 400), NoData, GateMustHaveData, true, true,
			[]string{"data is required"}},
		{"bucketed values: a canary on the top bucket fails", Spec{Direction: Increase}, constantSeries(100, 300), constantSeries(200, 300), High, GateAllowedChange, true, false,
			[]string{"at or above the pooled p99"}},
		{"NaN points are removed", Spec{Direction: Increase}, append(slices.Clone(base), math.NaN()), tail, High, GateAllowedChange, true, false, nil},
		{"infinite values are refused", Spec{}, append(slices.Clone(base), math.Inf(1)), tail, Error, GateInvalid, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name, tt.spec.Test = "latency", Quantile
			res := Judge(tt.spec, tt.baseline, tt.canary, Options{})
			if res.Classification != tt.want || res.Gate != tt.wantGate || res.Failed != tt.wantFailed || res.CriticalFailure != tt.wantCritical {
				t.Fatalf("got %s (gate %s, failed %v, critical %v), want %s (gate %s, failed %v, critical %v); reason: %s",
					res.Classification, res.Gate, res.Failed, res.CriticalFailure, tt.want, tt.wantGate, tt.wantFailed, tt.wantCritical, res.Reason)
			}
			for _, s := range tt.reason {
				if !strings.Contains(res.Reason, s) {
					t.Errorf("reason %q lacks %q", res.Reason, s)
				}
			}
			if res.Classification == High || res.Classification == Pass {
				tr := res.Test
				if tr == nil || tr.Method != Quantile || tr.Q != 0.99 || tr.CanaryAbove == nil || tr.BaselineAbove == nil || tr.PValue == nil || tr.DecisionPValue == nil || tr.BaselineQuantile == nil || tr.CanaryQuantile == nil {
					t.Fatalf("incomplete test block %+v", tr)
				}
			}
		})
	}
}

// TestQuantileFigures checks the figures of the test block against values
// worked out by hand: type-7 quantiles of each side and of the pooled
// sample, the counts above it, and Fisher's tail for them (the 2×2 p-values
// themselves are checked against exact sums in judge/stat).
func TestQuantileFigures(t *testing.T) {
	base := make([]float64, 300) // 1..300
	for i := range base {
		base[i] = float64(i + 1)
	}
	tests := []struct {
		name              string
		top               func(i int) float64 // the canary's 10 top values, above 1..290
		threshold         float64
		inclusive         bool
		canaryAbove       int
		expected, canaryQ float64
		reason            string
	}{
		{
			// Pooled: 1..290 twice, 291..300, then 1000..1009; p99 at
			// h = 1 + 599·0.99 = 594.01: 1003 + 0.01 = 1003.01; above it
			// 1004..1009, the canary's 6 of 6. Canary p99: h = 297.01 of
			// 1..290, 1000..1009, between 1006 and 1007.
			name: "strictly above", top: func(i int) float64 { return float64(1000 + i) }, threshold: 1003.01, canaryAbove: 6, expected: 3, canaryQ: 1006.01,
			reason: "latency p99 rose 239% (297 → 1006): 6 of 300 canary points above the pooled p99 (1003), 3 expected; no rise is allowed",
		},
		{
			// The canary's top 10 all at 1000: the pooled p99 is 1000 and
			// nothing lies strictly above it, so the points at or above
			// it are counted: the canary's 10 of 10.
			name: "ties at the top: at or above", top: func(int) float64 { return 1000 }, threshold: 1000, inclusive: true, canaryAbove: 10, expected: 5, canaryQ: 1000,
			reason: "latency p99 rose 237% (297 → 1000): 10 of 300 canary points at or above the pooled p99 (1000), 5 expected; no rise is allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canary := slices.Clone(base[:290])
			for i := range 10 {
				canary = append(canary, tt.top(i))
			}
			// In time order the points are shuffled: sorted series would
			// look perfectly autocorrelated to the decision's correction.
			r := rand.New(rand.NewPCG(1, 2))
			b, c := slices.Clone(base), slices.Clone(canary)
			r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
			r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			res := Judge(Spec{Name: "latency", Test: Quantile, Direction: Increase}, b, c, Options{})
			tr := res.Test
			if tr == nil {
				t.Fatalf("no test block: %s", res.Reason)
			}
			if math.Abs(*tr.Threshold-tt.threshold) > 1e-9 || tr.ThresholdInclusive != tt.inclusive || *tr.CanaryAbove != tt.canaryAbove || *tr.BaselineAbove != 0 || *tr.ExpectedAbove != tt.expected {
				t.Errorf("threshold %g (inclusive %v), above %d/%d, expected %g; want %g (%v), %d/0, %g",
					*tr.Threshold, tr.ThresholdInclusive, *tr.CanaryAbove, *tr.BaselineAbove, *tr.ExpectedAbove, tt.threshold, tt.inclusive, tt.canaryAbove, tt.expected)
			}
			// Type 7: baseline h = 1 + 299·0.99 = 297.01 → 297.01.
			if math.Abs(*tr.BaselineQuantile-297.01) > 1e-9 || math.Abs(*tr.CanaryQuantile-tt.canaryQ) > 1e-9 {
				t.Errorf("quantiles %g and %g, want 297.01 and %g", *tr.BaselineQuantile, *tr.CanaryQuantile, tt.canaryQ)
			}
			// P(A ≥ k) with k of 600 above, all the canary's: C(300,k)/C(600,k).
			want := 1.0
			for j := range tt.canaryAbove {
				want *= float64(300-j) / float64(600-j)
			}
			// The decision p-value is that tail after the autocorrelation
			// correction (whatever small ρ the shuffled points show).
			f := tr.VarianceInflation
			if f < 1 || f > 1.5 {
				t.Fatalf("variance inflation %g for shuffled points, want about 1", f)
			}
			// Two-sided (R's fisher.test): with equal sides the table as
			// extreme the other way is as likely, so twice the tail.
			if math.Abs(*tr.PValue-2*want) > 1e-12*want {
				t.Errorf("two-sided p %g, want %g", *tr.PValue, 2*want)
			}
			want = inflatePT(want, f, 600/f-2)
			if math.Abs(*tr.DecisionPValue-want) > 1e-12*want {
				t.Errorf("decision p %g, want %g", *tr.DecisionPValue, want)
			}
			if res.Classification != High || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("%s: %s\nwant reason %s", res.Classification, res.Reason, tt.reason)
			}
			// With 300 points a side, a p99's order-statistic interval at
			// √0.95 has no upper end (s = 301): the difference is unbounded.
			if tr.CILow != nil || tr.CIHigh != nil {
				t.Errorf("interval %v .. %v, want unbounded", tr.CILow, tr.CIHigh)
			}
		})
	}
}

// TestQuantileAllowedKeepsLevel checks the allowance rule by simulation: a
// canary whose every value is 10% above the baseline's distribution, with
// allowedChange 10%, fails at most at the level; with 0% allowed it fails
// almost always.
func TestQuantileAllowedKeepsLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(5, 9))
	const reps = 400
	fails := map[Change]int{}
	for range reps {
		b := lognormalSeries(r, 1000)
		c := lognormalSeries(r, 1000)
		for i := range c {
			c[i] *= 1.3
		}
		for _, a := range []Change{Rel(0), Rel(0.3)} {
			res := Judge(Spec{Name: "latency", Test: Quantile, Direction: Increase, AllowedChange: a}, b, c, Options{})
			if res.Failed {
				fails[a]++
			}
		}
	}
	// Level 0.05: 400 replications, 5% + 3 standard errors = 8.3%.
	if rate := float64(fails[Rel(0.3)]) / reps; rate > 0.083 {
		t.Errorf("within the allowance: %.1f%% failed, want at most the 5%% level", 100*rate)
	}
	if rate := float64(fails[Rel(0)]) / reps; rate < 0.8 {
		t.Errorf("a 30%% rise with nothing allowed: %.1f%% caught", 100*rate)
	}
}

// TestQuantileAutocorrelation checks that serially correlated series are
// corrected for: a tail that moved only because a correlated series
// wandered is not a failure, and the test block carries the correction.
func TestQuantileAutocorrelation(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 19))
	ar1 := func(n int) []float64 {
		out := make([]float64, n)
		x := r.NormFloat64()
		for i := range out {
			x = 0.9*x + math.Sqrt(1-0.81)*r.NormFloat64()
			out[i] = 100 * math.Exp(0.3*x)
		}
		return out
	}
	res := Judge(Spec{Name: "latency", Test: Quantile, Direction: Increase}, ar1(1000), ar1(1000), Options{})
	if res.Test == nil || res.Test.VarianceInflation < 5 || res.Test.Autocorrelation == nil || *res.Test.Autocorrelation < 0.7 {
		t.Fatalf("AR(1) 0.9: inflation %v, ρ %v; want a strong correction", res.Test.VarianceInflation, res.Test.Autocorrelation)
	}
}

func TestQuantileSpec(t *testing.T) {
	q := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		spec Spec
		want string // "" for valid
	}{
		{"default quantile", Spec{Name: "s", Test: Quantile}, ""},
		{"p95", Spec{Name: "s", Test: Quantile, Quantile: q(0.95)}, ""},
		{"median is the lowest", Spec{Name: "s", Test: Quantile, Quantile: q(0.5)}, ""},
		{"below 0.5", Spec{Name: "s", Test: Quantile, Quantile: q(0.4)}, "quantile: 0.4 is not in [0.5, 1)"},
		{"1 is not a quantile to test", Spec{Name: "s", Test: Quantile, Quantile: q(1)}, "quantile: 1 is not in [0.5, 1)"},
		{"percent written as 99", Spec{Name: "s", Test: Quantile, Quantile: q(99)}, "quantile: 99 is not in [0.5, 1) (for the 99th percentile write 0.99)"},
		{"quantile without the test", Spec{Name: "s", Quantile: q(0.99)}, "quantile: only a quantile or histogram test takes a quantile"},
		{"min on a quantile test", Spec{Name: "s", Test: Quantile, Min: q(1)}, "min: only a threshold test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec.WithDefaults()
			err := s.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("error %v, want one starting %q", err, tt.want)
			}
			if tt.want == "" && (s.Quantile == nil || (tt.spec.Quantile == nil && *s.Quantile != DefaultQuantile)) {
				t.Errorf("quantile %v after defaults", s.Quantile)
			}
		})
	}
	var m Method
	if err := m.UnmarshalText([]byte("quantile")); err != nil || m != Quantile {
		t.Errorf("test: quantile not accepted: %v", err)
	}
	if got := QuantileMinSamples(0.99, 10); got != 250 {
		t.Errorf("p99 needs %d points per side, want 250", got)
	}
	if got := QuantileMinSamples(0.5, 10); got != 10 {
		t.Errorf("median test needs %d points per side, want minSamples 10", got)
	}
	if got := quantileLabel(0.999); got != "p99.9" {
		t.Errorf("label %q, want p99.9", got)
	}
}

// TestQuantileTakesPartInHolm checks that a quantile signal's decision
// p-value enters Holm's adjustment with the others.
func TestQuantileTakesPartInHolm(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	base := lognormalSeries(r, 1000)
	canary := stretchTail(lognormalSeries(r, 1000), 0.5)
	results := []Result{
		Judge(Spec{Name: "latency", Direction: Increase}, base, canary, Options{}),
		Judge(Spec{Name: "latency_p99", Test: Quantile, Direction: Increase}, base, canary, Options{}),
	}
	AdjustFamily(results)
	p := results[1].Test
	if p.AdjustedPValue == nil || *p.AdjustedPValue < *p.DecisionPValue {
		t.Fatalf("adjusted %v, decision %v", p.AdjustedPValue, p.DecisionPValue)
	}
	if results[1].Classification != High {
		t.Errorf("p99 signal %s after Holm: %s", results[1].Classification, results[1].Reason)
	}
	// With 1000 points a side the p99 is bounded on both sides at √0.95,
	// and the interval of the difference holds the estimate.
	if p.CILow == nil || p.CIHigh == nil || !(*p.CILow <= *p.Estimate && *p.Estimate <= *p.CIHigh) {
		t.Errorf("interval %v .. %v around %v", p.CILow, p.CIHigh, p.Estimate)
	}
}

// BenchmarkJudgeQuantile measures one p99 quantile judgement on the data of
// BenchmarkJudge (lognormal latencies rounded to 0.001, canary 1% higher),
// 360 to 2000 points a side, cycling through 64 signals.
func BenchmarkJudgeQuantile(b *testing.B) {
	benchJudge(b, Spec{Name: "latency_ms", Direction: Increase, Test: Quantile}, []int{360, 1000, 2000})
}
