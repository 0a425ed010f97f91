package scoring

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
)

func pass(name, group string) judge.Result {
	return judge.Result{Name: name, Group: group, Classification: judge.Pass, Reason: name + " passed"}
}

func fail(name, group string) judge.Result {
	return judge.Result{Name: name, Group: group, Classification: judge.High, Failed: true, Reason: name + " rose 40%"}
}

func noData(name, group string) judge.Result {
	return judge.Result{Name: name, Group: group, Classification: judge.NoData, Reason: name + " has too little data"}
}

func critical(r judge.Result) judge.Result { r.Critical, r.CriticalFailure = true, r.Failed; return r }

func TestScore(t *testing.T) {
	weighted := Spec{Thresholds: DefaultThresholds(), Groups: []Group{{"latency", 60}, {"errors", 40}}}
	tests := []struct {
		name      string
		spec      Spec
		results   []judge.Result
		want      Verdict
		wantScore float64 // ignored for none
		reason    string
	}{
		{"all pass", weighted, []judge.Result{pass("p50", "latency"), pass("errors", "errors")}, Pass, 100, "all 2 judged signals passed"},
		{"weighted mean of group scores", weighted, []judge.Result{pass("p50", "latency"), fail("p99", "latency"), pass("errors", "errors")}, Fail, 70, "p99 rose 40%"},
		{"score on the marginal boundary is marginal", Spec{Thresholds: Thresholds{Pass: 95, Marginal: 70}, Groups: weighted.Groups}, []judge.Result{pass("p50", "latency"), fail("p99", "latency"), pass("errors", "errors")}, Marginal, 70, "meets the marginal threshold 70"},
		{"score on the pass boundary passes", Spec{Thresholds: Thresholds{Pass: 75, Marginal: 50}}, []judge.Result{pass("a", ""), pass("b", ""), pass("c", ""), fail("d", "")}, Pass, 75, "d rose 40%"},
		{"critical failure fails with score 0", weighted, []judge.Result{pass("p50", "latency"), critical(fail("errors", "errors"))}, Fail, 0, "critical signal errors failed"},
		{"half without data is no verdict", weighted, []judge.Result{pass("p50", "latency"), noData("errors", "errors")}, None, 0, "1 of 2 signals had no usable data"},
		{"a critical signal without data is no verdict", weighted, []judge.Result{pass("p50", "latency"), pass("p90", "latency"), critical(noData("errors", "errors"))}, None, 0, "critical signal errors had no usable data"},
		{"less than half without data is scored without it", weighted, []judge.Result{pass("p50", "latency"), pass("p90", "latency"), noData("p99", "latency"), pass("errors", "errors")}, Pass, 100, "no data for p99"},
		{"a group without data does not make a failure elsewhere a fail", weighted, []judge.Result{fail("p50", "latency"), pass("p90", "latency"), pass("p95", "latency"), noData("errors", "errors")}, Marginal, 80, "with group errors, which had no data, counted as not failed"},
		{"a group without data does not help a canary pass", weighted, []judge.Result{fail("p50", "latency"), pass("p90", "latency"), pass("p95", "latency"), pass("p99", "latency"), pass("p999", "latency"), pass("p9", "latency"), noData("errors", "errors")}, Marginal, 100.0 * 5 / 6, "below the pass threshold"},
		{"a group without data cannot lift a clear fail", weighted, []judge.Result{fail("p50", "latency"), fail("p90", "latency"), pass("p95", "latency"), noData("errors", "errors")}, Fail, 100.0 / 3, "2 signals failed"},
		{"mustHaveData nodata is a failure", weighted, []judge.Result{pass("p50", "latency"), {Name: "errors", Group: "errors", Classification: judge.NoData, Failed: true, Reason: "no data"}}, Fail, 60, "no data"},
		{"nothing judged is no verdict", weighted, nil, None, 0, "judged no signals"},
		{"zero-weight groups cannot pass alone", Spec{Thresholds: DefaultThresholds(), Groups: []Group{{"latency", 0}, {"errors", 1}}}, []judge.Result{pass("p50", "latency"), noData("e", "errors"), pass("p90", "latency")}, None, 0, "no group with a positive weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.spec, tt.results)
			if got.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s (%s)", got.Verdict, tt.want, got.Reason)
			}
			if tt.want == None {
				if got.Score != nil {
					t.Errorf("score %g for no verdict, want none", *got.Score)
				}
			} else if got.Score == nil || abs(*got.Score-tt.wantScore) > 1e-9 {
				t.Errorf("score %v, want %g", got.Score, tt.wantScore)
			}
			if !strings.Contains(got.Reason, tt.reason) || !strings.HasPrefix(got.Reason, string(tt.want)) && tt.want != None {
				t.Errorf("reason %q lacks %q", got.Reason, tt.reason)
			}
		})
	}
}

func TestGroupScores(t *testing.T) {
	spec := Spec{Thresholds: DefaultThresholds(), Groups: []Group{{"latency", 2}, {"unused", 1}}}
	got := Score(spec, []judge.Result{pass("a", "latency"), fail("b", "latency"), pass("c", "")})
	if len(got.Groups) != 3 {
		t.Fatalf("groups %+v, want latency, unused, default", got.Groups)
	}
	lat, unused, def := got.Groups[0], got.Groups[1], got.Groups[2]
	if lat.Name != "latency" || *lat.Score != 50 || len(lat.Signals) != 2 {
		t.Errorf("latency group %+v", lat)
	}
	if unused.Score != nil {
		t.Errorf("a group without signals has score %g, want none", *unused.Score)
	}
	if def.Name != DefaultGroup || def.Weight != 1 || *def.Score != 100 {
		t.Errorf("default group %+v", def)
	}
	// (2×50 + 1×100) / 3
	if abs(*got.Score-200.0/3) > 1e-9 {
		t.Errorf("score %g, want 66.67", *got.Score)
	}
}

func TestThresholdsCheck(t *testing.T) {
	tests := []struct {
		name string
		t    Thresholds
		want string // "" when valid
	}{
		{"the defaults", DefaultThresholds(), ""},
		{"marginal 0: a score never fails", Thresholds{Pass: 90, Marginal: 0}, ""},
		{"pass 100, marginal 1.5", Thresholds{Pass: 100, Marginal: 1.5}, ""},
		{"pass above 100", Thresholds{Pass: 101, Marginal: 50}, "pass: 101 is outside 0..100"},
		{"marginal above pass", Thresholds{Pass: 80, Marginal: 90}, "marginal: 90 is above the pass threshold 80"},
		{"negative marginal", Thresholds{Pass: 50, Marginal: -1}, "marginal: -1 is outside 0..100"},
		{"NaN pass", Thresholds{Pass: math.NaN(), Marginal: 50}, "pass: NaN is outside 0..100"},
		{"fractions", Thresholds{Pass: 0.95, Marginal: 0.75}, "pass: 0.95 reads as a fraction, but thresholds are scores from 0 to 100; did you mean 95?"},
		{"pass 1", Thresholds{Pass: 1, Marginal: 0}, "pass: 1 reads as a fraction, but thresholds are scores from 0 to 100; did you mean 100?"},
		{"pass 0", Thresholds{Pass: 0, Marginal: 0}, "pass: 0 would pass a canary whose every signal failed"},
		{"a fraction for marginal only", Thresholds{Pass: 95, Marginal: 0.57}, "marginal: 0.57 reads as a fraction, but thresholds are scores from 0 to 100; did you mean 57?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.t.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%+v refused: %v", tt.t, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("%+v: error %v, want %q", tt.t, err, tt.want)
			}
		})
	}
}

// TestFractionThresholdsWouldPassFailures shows what the fraction check
// prevents: with pass 0.95, a canary with two of five signals failed scores
// 60 and would pass.
func TestFractionThresholdsWouldPassFailures(t *testing.T) {
	results := []judge.Result{pass("a", ""), pass("b", ""), pass("c", ""), fail("d", ""), fail("e", "")}
	fractions := Thresholds{Pass: 0.95, Marginal: 0.75}
	if out := Score(Spec{Thresholds: fractions}, results); out.Verdict != Pass {
		t.Fatalf("the premise changed: thresholds %+v give %s (score %v)", fractions, out.Verdict, out.Score)
	}
	if fractions.Check() == nil {
		t.Errorf("thresholds %+v accepted; they pass a canary with two failed signals", fractions)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestFailsAlone: a signal's ordinary failure fails the canary alone when
// its group's loss brings the score below the marginal threshold: always
// in a canary of one signal, never among four equal groups (75 meets the
// default marginal 75), and by weight otherwise.
func TestFailsAlone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   Spec
		groups []string
		want   []bool
	}{
		{"one signal", Spec{Thresholds: DefaultThresholds()}, []string{""}, []bool{true}},
		{"four equal groups", Spec{Thresholds: DefaultThresholds()}, []string{"a", "b", "c", "d"}, []bool{false, false, false, false}},
		{"three equal groups", Spec{Thresholds: DefaultThresholds()}, []string{"a", "b", "c"}, []bool{true, true, true}},
		{"two signals in one group", Spec{Thresholds: DefaultThresholds()}, []string{"", ""}, []bool{true, true}},
		{"four signals in one group", Spec{Thresholds: DefaultThresholds()}, []string{"", "", "", ""}, []bool{false, false, false, false}},
		{"weights 3 and 1", Spec{Thresholds: DefaultThresholds(), Groups: []Group{{Name: "a", Weight: 3}, {Name: "b", Weight: 1}}}, []string{"a", "b"}, []bool{true, false}},
		{"marginal 0", Spec{Thresholds: Thresholds{Pass: 95}}, []string{""}, []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FailsAlone(tc.spec, tc.groups)
			if !slices.Equal(got, tc.want) {
				t.Errorf("FailsAlone = %v, want %v", got, tc.want)
			}
		})
	}
}
