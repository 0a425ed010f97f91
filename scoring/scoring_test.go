package scoring

import (
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
	for _, bad := range []Thresholds{{Pass: 101, Marginal: 50}, {Pass: 80, Marginal: 90}, {Pass: 50, Marginal: -1}} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := DefaultThresholds().Check(); err != nil {
		t.Error(err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
