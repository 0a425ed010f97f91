package judge

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// lognormal draws n latencies with the given median and log-scale sigma,
// the usual shape of request latency.
func lognormal(rng *rand.Rand, n int, median, sigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(sigma*rng.NormFloat64())
	}
	return out
}

func scaled(values []float64, factor float64) []float64 {
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = v * factor
	}
	return out
}

func fraction(f float64) *Change { v := Rel(f); return &v }
func number(f float64) *float64  { return &f }

func TestJudgeShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := lognormal(rng, 360, 120, 0.3)
	same := lognormal(rng, 360, 120, 0.3)
	tests := []struct {
		name         string
		spec         Spec
		canary       []float64
		want         Classification
		wantGate     Gate
		wantFailed   bool
		wantCritical bool
		reason       string // a fragment the reason must contain
	}{
		{"same distribution passes", Spec{}, same, Pass, GateInterval, false, false, "no significant change"},
		{"a 40% rise fails", Spec{Direction: Increase, AllowedChange: Rel(0.1)}, scaled(same, 1.4), High, GateAllowedChange, true, false, "rose"},
		{"a 40% fall fails when either is harmful", Spec{}, scaled(same, 0.6), Low, GateAllowedChange, true, false, "fell"},
		{"a fall is harmless when only increase is bad", Spec{Direction: Increase}, scaled(same, 0.6), Pass, GateDirection, false, false, "harmless"},
		{"a 5% rise inside a 10% allowance passes", Spec{Direction: Increase, AllowedChange: Rel(0.1)}, scaled(base, 1.05), Pass, GateAllowedChange, false, false, "within the allowed +10%"},
		{"beyond criticalChange fails the canary", Spec{Direction: Increase, AllowedChange: Rel(0.1), CriticalChange: fraction(0.5)}, scaled(same, 2), High, GateCriticalChange, true, true, "critical beyond +50%"},
		{"a critical signal's failure is critical", Spec{Critical: true}, scaled(same, 1.4), High, GateAllowedChange, true, true, "no rise is allowed"},
		{"too few points give nodata", Spec{MinSamples: 400}, same, NoData, GateMinSamples, false, false, "too little data"},
		{"mustHaveData turns nodata into a failure", Spec{MinSamples: 400, MustHaveData: true}, same, NoData, GateMustHaveData, true, false, "counts as a failure"},
		{"infinite values are refused", Spec{}, append(same[:10:10], math.Inf(1)), Error, GateInvalid, false, false, "+Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name = "p99_latency_ms"
			r := Judge(tt.spec, base, tt.canary, Options{})
			if r.Classification != tt.want || r.Gate != tt.wantGate || r.Failed != tt.wantFailed || r.CriticalFailure != tt.wantCritical {
				t.Errorf("got %s (gate %s, failed %v, critical %v), want %s (gate %s, failed %v, critical %v); reason: %s",
					r.Classification, r.Gate, r.Failed, r.CriticalFailure, tt.want, tt.wantGate, tt.wantFailed, tt.wantCritical, r.Reason)
			}
			if !strings.Contains(r.Reason, tt.reason) || !strings.HasPrefix(r.Reason, "p99_latency_ms") {
				t.Errorf("reason %q does not start with the signal name or lacks %q", r.Reason, tt.reason)
			}
		})
	}
}

func TestJudgeShiftReportsTheInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := lognormal(rng, 360, 100, 0.2)
	canary := scaled(lognormal(rng, 360, 100, 0.2), 1.3)
	r := Judge(Spec{Name: "p50_latency_ms", AllowedChange: Rel(0.1)}, base, canary, Options{Confidence: 0.9})
	tr := r.Test
	if tr == nil || tr.CILow == nil || tr.CIHigh == nil || tr.Estimate == nil || tr.RelativeShift == nil {
		t.Fatalf("incomplete test block: %+v", tr)
	}
	if !(*tr.CILow <= *tr.Estimate && *tr.Estimate <= *tr.CIHigh) {
		t.Errorf("estimate %g outside its interval [%g, %g]", *tr.Estimate, *tr.CILow, *tr.CIHigh)
	}
	if tr.Confidence != 0.9 || !strings.Contains(r.Reason, "90% CI") {
		t.Errorf("confidence %g, reason %q: want 0.9 and a 90%% CI", tr.Confidence, r.Reason)
	}
	if got := *tr.RelativeShift; got < 0.2 || got > 0.4 {
		t.Errorf("relative shift %g for a 30%% rise", got)
	}
	// The decision bound is the one-sided bound at half of 1 − confidence,
	// widened for the (here small) estimated autocorrelation: at or below the
	// two-sided interval's lower end, close to it, and above zero.
	low := *tr.CILow / r.Baseline.Median
	if tr.DecisionBound == nil || *tr.DecisionBound > low+1e-9 || *tr.DecisionBound < low-0.05 || *tr.DecisionBound <= 0 {
		t.Errorf("decision bound %v, want just at or below the lower end %g relative to the baseline median", tr.DecisionBound, low)
	}
	if math.Abs(tr.DecisionLevel-0.05) > 1e-12 || tr.DecisionPValue == nil || *tr.DecisionPValue > tr.DecisionLevel {
		t.Errorf("decision p %v at level %g, want significant at 0.05", tr.DecisionPValue, tr.DecisionLevel)
	}
	if tr.VarianceInflation < 1 || tr.VarianceInflation > 1.3 {
		t.Errorf("variance inflation %g for independent points, want about 1", tr.VarianceInflation)
	}
}

func TestJudgeConstantSides(t *testing.T) {
	flat := func(v float64) []float64 {
		out := make([]float64, 50)
		for i := range out {
			out[i] = v
		}
		return out
	}
	r := Judge(Spec{Name: "replicas"}, flat(3), flat(3), Options{})
	if r.Classification != Pass || r.Gate != GateIdentical {
		t.Errorf("equal constants: got %s/%s (%s), want pass/identical", r.Classification, r.Gate, r.Reason)
	}
	r = Judge(Spec{Name: "replicas", Direction: Increase}, flat(3), flat(4), Options{})
	if r.Classification != High {
		t.Errorf("3 → 4 constant: got %s (%s), want high", r.Classification, r.Reason)
	}
}

func TestPreprocessing(t *testing.T) {
	nan := math.NaN()
	values := []float64{1, nan, 2, nan, 3}
	var w Workspace
	if got := w.clean(0, values, Spec{NaN: NaNRemove}); len(got) != 3 {
		t.Errorf("remove: %v", got)
	}
	if got := w.clean(1, values, Spec{NaN: NaNZero}); len(got) != 5 || got[1] != 0 {
		t.Errorf("zero: %v", got)
	}
	// Quartiles of 1..20 (type 7) are 5.75 and 15.25: IQR 9.5, upper fence 43.75.
	seq := make([]float64, 0, 22)
	for i := 1; i <= 20; i++ {
		seq = append(seq, float64(i))
	}
	seq = append(seq, 43, 1000)
	got := w.clean(0, seq, Spec{Outliers: OutliersRemove})
	if len(got) != 21 || got[20] != 43 {
		t.Errorf("outliers: kept %v, want 1..20 and 43", got)
	}
}

func TestThreshold(t *testing.T) {
	ratio := []float64{0.002, 0.004, 0.03, 0.025, 0.02, 0.021, 0.018, 0.019, 0.02, 0.02}
	tests := []struct {
		name     string
		spec     Spec
		want     Classification
		critical bool
	}{
		{"mean above max fails", Spec{Statistic: StatMean, Max: number(0.01), Critical: true}, High, true},
		{"max within bound passes", Spec{Statistic: StatMax, Max: number(0.05)}, Pass, false},
		{"median below min fails", Spec{Statistic: StatMedian, Min: number(0.05)}, Low, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name, tt.spec.Test = "error_ratio", Threshold
			r := Judge(tt.spec, ratio, ratio, Options{})
			if r.Classification != tt.want || r.CriticalFailure != tt.critical {
				t.Errorf("got %s critical=%v (%s), want %s critical=%v", r.Classification, r.CriticalFailure, r.Reason, tt.want, tt.critical)
			}
		})
	}
}

func TestChangeParsing(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		points bool
		ok     bool
	}{
		{"10%", 0.10, false, true}, {"2.5 %", 0.025, false, true}, {"0.1", 0.1, false, true}, {"0", 0, false, true},
		{"300%", 3, false, true}, {"0.5pp", 0.005, true, true}, {"2 pp", 0.02, true, true},
		{"ten", 0, false, false}, {"-5%", 0, false, false}, {"NaN", 0, false, false}, {"%", 0, false, false},
		// A bare number of 1 or more would be 100% or more: a mistyped percentage.
		{"10", 0, false, false}, {"1", 0, false, false}, {"101pp", 0, false, false}, {"-1pp", 0, false, false},
	}
	for _, tt := range tests {
		var c Change
		err := c.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && (math.Abs(c.Value-tt.want) > 1e-15 || c.Points != tt.points)) {
			t.Errorf("%q: got %+v, %v; want %g points=%v ok=%v", tt.in, c, err, tt.want, tt.points, tt.ok)
		}
	}
	var c Change
	if err := c.UnmarshalText([]byte("10")); err == nil || !strings.Contains(err.Error(), "10%") {
		t.Errorf("a bare 10: %v; want an error suggesting 10%%", err)
	}
}

func TestSpecCheck(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"threshold without bounds", Spec{Name: "x", Test: Threshold}, "test:"},
		{"min above max", Spec{Name: "x", Test: Threshold, Min: number(2), Max: number(1)}, "min:"},
		{"max on a rank test", Spec{Name: "x", Max: number(1)}, "max:"},
		{"critical below allowed", Spec{Name: "x", AllowedChange: Rel(0.5), CriticalChange: fraction(0.2)}, "criticalChange:"},
		{"one sample", Spec{Name: "x", MinSamples: 1}, "minSamples:"},
	}
	for _, tt := range tests {
		err := tt.spec.WithDefaults().Check()
		if err == nil || !strings.HasPrefix(err.Error(), tt.field) {
			t.Errorf("%s: got %v, want an error about %s", tt.name, err, tt.field)
		}
	}
}
