package scoring

import (
	"fmt"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
)

// tested is a signal with a decision p-value at the default level 0.025;
// it failed on its own when p ≤ 0.025.
func tested(name string, p float64, critical bool) judge.Result {
	r := judge.Result{Name: name, Classification: judge.Pass, Reason: name}
	if p <= 0.025 {
		r.Classification, r.Failed, r.CriticalFailure = judge.High, true, critical
	}
	r.Critical = critical
	r.Test = &judge.TestResult{Method: judge.MannWhitney, DecisionPValue: &p, DecisionLevel: 0.025}
	return r
}

func TestScoreControlsFalseAlarmsAcrossSignals(t *testing.T) {
	canary := func(ps ...float64) []judge.Result {
		out := make([]judge.Result, 0, 10)
		for i, p := range ps {
			out = append(out, tested(fmt.Sprintf("s%d", i), p, false))
		}
		for i := len(ps); i < 10; i++ {
			out = append(out, tested(fmt.Sprintf("s%d", i), 0.6, false))
		}
		return out
	}
	tests := []struct {
		name    string
		results []judge.Result
		want    Verdict
		reason  string
	}{
		// Alone, p = 0.01 fails; among 10 signals Holm needs 0.0025.
		{"one weak signal among ten passes", canary(0.01), Pass, "all 10 judged signals passed"},
		{"one strong signal among ten is marginal", canary(0.0001), Marginal, "s0"},
		// Holm steps down: 0.0001 ≤ 0.0025, then 0.002 ≤ 0.025/9, then 0.003 ≤ 0.025/8.
		{"step-down keeps later signals", canary(0.0001, 0.002, 0.003), Fail, "3 signals failed"},
		// Two critical signals: 0.004 × 2 = 0.008 > 0.2 × 0.025 in their own
		// family, and 10 × 0.004 = 0.04 > 0.025 over all ten: it passes.
		{"a critical signal with weak evidence among two critical ones is no critical failure", append([]judge.Result{tested("crit", 0.004, true), tested("crit2", 0.5, true)}, canary()[2:]...), Pass, "all 10 judged signals passed"},
		// One critical signal of ten: its own family of one, 0.004 ≤ 0.005,
		// where Holm over all ten asked 0.0025.
		{"a critical signal is not diluted by the other nine", append([]judge.Result{tested("crit", 0.004, true)}, canary()[1:]...), Fail, "critical signal crit failed"},
		{"a critical signal with strong evidence fails the canary", append([]judge.Result{tested("crit", 0.0001, true)}, canary()[1:]...), Fail, "critical signal crit failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Score(Spec{Thresholds: DefaultThresholds()}, tt.results)
			if out.Verdict != tt.want || !strings.Contains(out.Reason, tt.reason) {
				t.Errorf("verdict %s (%s), want %s with %q", out.Verdict, out.Reason, tt.want, tt.reason)
			}
		})
	}
}
