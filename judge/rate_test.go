package judge

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// counts returns n intervals of which the first k saw one event each, so
// the within-side variance is below the mean and the dispersion factor is 1.
func countSeries(n, k int) []float64 {
	out := make([]float64, n)
	for i := range k {
		out[i] = 1
	}
	return out
}

// TestRateIntervalMatchesR checks the rate ratio interval against R's
// poisson.test (testdata/poisson_reference.R produced the values).
func TestRateIntervalMatchesR(t *testing.T) {
	data, err := os.ReadFile("testdata/poisson_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Kc, M, Kb, N        int
		Conf                float64
		RatioLow, RatioHigh *float64
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		spec := Spec{Name: "errors", Test: Rate, MinSamples: 2}
		r := Judge(spec, countSeries(c.N, c.Kb), countSeries(c.M, c.Kc), Options{Confidence: c.Conf})
		if r.Test == nil || r.Test.RatioLow == nil {
			t.Fatalf("kc=%d kb=%d: no ratio interval: %+v", c.Kc, c.Kb, r)
		}
		if !close(*r.Test.RatioLow, *c.RatioLow, 1e-8) {
			t.Errorf("kc=%d/%d kb=%d/%d conf %g: ratio low %.12g, R says %.12g", c.Kc, c.M, c.Kb, c.N, c.Conf, *r.Test.RatioLow, *c.RatioLow)
		}
		switch {
		case c.RatioHigh == nil && r.Test.RatioHigh != nil:
			t.Errorf("kc=%d kb=%d: ratio high %g, R says infinite", c.Kc, c.Kb, *r.Test.RatioHigh)
		case c.RatioHigh != nil && (r.Test.RatioHigh == nil || !close(*r.Test.RatioHigh, *c.RatioHigh, 1e-8)):
			t.Errorf("kc=%d kb=%d: ratio high %v, R says %.12g", c.Kc, c.Kb, r.Test.RatioHigh, *c.RatioHigh)
		}
	}
}

func close(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}

func TestRateDecisions(t *testing.T) {
	tests := []struct {
		name       string
		spec       Spec
		baseline   []float64
		canary     []float64
		want       Classification
		wantGate   Gate
		wantFailed bool
	}{
		{"errors over a zero baseline fail", Spec{Direction: Increase}, countSeries(360, 0), countSeries(360, 12), High, GateAllowedChange, true},
		{"two errors over a zero baseline are not yet evidence", Spec{Direction: Increase}, countSeries(360, 0), countSeries(360, 2), Pass, GateInterval, false},
		{"no events anywhere pass", Spec{}, countSeries(360, 0), countSeries(360, 0), Pass, GateInterval, false},
		{"fewer errors are harmless when increase is bad", Spec{Direction: Increase}, countSeries(360, 40), countSeries(360, 5), Pass, GateDirection, false},
		{"a tripled rate within a 300% allowance passes", Spec{Direction: Increase, AllowedChange: Rel(3)}, countSeries(360, 20), countSeries(360, 60), Pass, GateAllowedChange, false},
		{"bursty baselines widen the interval", Spec{Direction: Increase}, burst(360, 0, 40), burst(360, 7, 80), Pass, GateInterval, false},
		{"negative counts are refused", Spec{}, countSeries(360, 0), append(countSeries(359, 3), -1), Error, GateInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name, tt.spec.Test = "errors", Rate
			r := Judge(tt.spec, tt.baseline, tt.canary, Options{})
			if r.Classification != tt.want || r.Gate != tt.wantGate || r.Failed != tt.wantFailed {
				t.Errorf("got %s (gate %s, failed %v), want %s (gate %s, failed %v); reason: %s",
					r.Classification, r.Gate, r.Failed, tt.want, tt.wantGate, tt.wantFailed, r.Reason)
			}
			if r.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

// burst puts all of total events into a few intervals starting at offset,
// the way errors arrive during an incident: a dispersion far above 1.
func burst(n, offset int, total float64) []float64 {
	out := make([]float64, n)
	for i := range 4 {
		out[(offset+i*90)%n] = total / 4
	}
	return out
}

func TestDispersion(t *testing.T) {
	if got := dispersion(countSeries(360, 10), countSeries(360, 12)); got != 1 {
		t.Errorf("Bernoulli-like counts: dispersion %g, want 1", got)
	}
	// Two bursts of 50 in 100 intervals: mean 1, sample variance 4900/99 ⇒ φ ≈ 49.5.
	b := make([]float64, 100)
	b[10], b[60] = 50, 50
	if got := dispersion(b, b); math.Abs(got-4900.0/99) > 1e-9 {
		t.Errorf("bursty counts: dispersion %g, want 4900/99 ≈ 49.49", got)
	}
}
