package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
)

// series of one metric family: each series' labels (name=value, sorted,
// joined by commas) → its value.
func gathered(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(labels)
			v := m.GetGauge().GetValue()
			if c := m.GetCounter(); c != nil {
				v = c.GetValue()
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// TestVerdictsCountedOnEveryPath judges through every path a verdict can
// come from (the judge API with a stored and an inline config, the analyses
// API, a schedule's firing, Argo's web provider, a Flagger webhook, a
// Kayenta execution) and reads verdict_verdicts_total: one count per
// verdict given, by config, verdict and origin, the judge API's included
// (before, judge API calls were counted only by HTTP status). The per-signal
// gauges then show the latest analysis of each config.
func TestVerdictsCountedOnEveryPath(t *testing.T) {
	ts := liveServer(t, onSQLite)
	want := map[string]float64{}
	count := func(config, verdict, origin string) {
		want[fmt.Sprintf("config=%s,origin=%s,verdict=%s", config, origin, verdict)]++
	}

	// The judge API: a stored config, then an inline one (counted under "").
	judgeBody := map[string]any{"configName": "regress",
		"baseline": map[string][]float64{"latency": series(30, 100, 4), "errors": series(30, 0.01, 0.002)},
		"canary":   map[string][]float64{"latency": series(30, 130, 4), "errors": series(30, 0.01, 0.002)}}
	var rep analysis.Report
	if code, b := ts.call(t, "POST", "/api/v1/judge", "", judgeBody, &rep); code != 200 {
		t.Fatalf("judge: %d %s", code, b)
	}
	count("regress", string(rep.Verdict), "judge")
	delete(judgeBody, "configName")
	judgeBody["config"] = map[string]any{"name": "mine", "signals": []map[string]any{{"name": "latency", "direction": "increase"}}}
	judgeBody["baseline"] = map[string][]float64{"latency": series(30, 100, 4)}
	judgeBody["canary"] = map[string][]float64{"latency": series(30, 100, 4)}
	if code, b := ts.call(t, "POST", "/api/v1/judge", "", judgeBody, &rep); code != 200 {
		t.Fatalf("inline judge: %d %s", code, b)
	}
	count("", string(rep.Verdict), "judge")
	// A request that cannot be judged gives no verdict to count.
	if code, _ := ts.call(t, "POST", "/api/v1/judge", "", map[string]any{"configName": "regress"}, nil); code != 400 {
		t.Fatalf("judge without series: %d, want 400", code)
	}

	// The analyses API, in the background.
	var created struct {
		ID string `json:"id"`
	}
	body := map[string]any{"configName": "regress", "lookback": "30m", "step": "15s",
		"baselineScope": map[string]string{"track": "baseline"}, "canaryScope": map[string]string{"track": "canary"}}
	if code, b := ts.call(t, "POST", "/api/v1/analyses", "", body, &created); code != 202 {
		t.Fatalf("POST /api/v1/analyses: %d %s", code, b)
	}
	waitFinished(t, ts, created.ID)

	// A schedule's firing, Argo and Flagger.
	sched := analysis.Schedule{Cron: "@every 1h", BaselineScope: []analysis.ScopeVar{{Name: "track", Value: "baseline"}},
		CanaryScope: []analysis.ScopeVar{{Name: "track", Value: "canary"}}, Lookback: analysis.Duration(30 * time.Minute), Step: analysis.Duration(15 * time.Second)}
	if err := ts.Runner().RunSchedule(t.Context(), schedule.Job{Config: "healthy", Schedule: sched}); err != nil {
		t.Fatal(err)
	}
	var ans verdictAnswer
	q := url.Values{"baseline": {"track=baseline"}, "canary": {"track=gone"}, "lookback": {"30m"}, "step": {"15s"}}
	if code, b := ts.call(t, "GET", "/api/v1/argo/healthy?"+q.Encode(), "", nil, &ans); code != 200 || ans.Verdict != "none" {
		t.Fatalf("argo: %d %s", code, b)
	}
	payload := map[string]any{"name": "podinfo", "namespace": "test", "metadata": map[string]string{"baseline.track": "baseline", "canary.track": "canary", "lookback": "30m", "step": "15s"}}
	if code, b := ts.call(t, "POST", "/api/v1/flagger/healthy", "", payload, &ans); code != 200 || ans.Verdict != "pass" {
		t.Fatalf("flagger: %d %s", code, b)
	}

	// A Kayenta execution, in the background.
	kscope := func(s string) map[string]any {
		return map[string]any{"scope": s, "start": "2024-01-01T00:10:00Z", "end": "2024-01-01T00:50:00Z", "step": 15, "extendedScopeParams": map[string]string{"track": s}}
	}
	req := map[string]any{"scopes": map[string]any{"default": map[string]any{"controlScope": kscope("baseline"), "experimentScope": kscope("canary")}},
		"thresholds": map[string]float64{"pass": 95, "marginal": 75}}
	var started struct {
		ID string `json:"canaryExecutionId"`
	}
	if code, b := ts.call(t, "POST", "/canary/regress", "", req, &started); code != 200 {
		t.Fatalf("kayenta: %d %s", code, b)
	}
	waitFinished(t, ts, started.ID)

	// Every stored analysis counts once, under its origin and verdict.
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?limit=100", "", nil, &list)
	origins := map[string]bool{}
	for _, a := range list.Analyses {
		count(a.ConfigName, a.Verdict, a.Origin)
		origins[a.Origin] = true
	}
	if len(list.Analyses) != 5 || len(origins) != 5 {
		t.Fatalf("%d analyses stored, of origins %v; want one of each of api, schedule, argo, flagger, kayenta", len(list.Analyses), origins)
	}
	got := gathered(t, ts.Metrics().Registry(), "verdict_verdicts_total")
	if !maps.Equal(got, want) {
		t.Errorf("verdict_verdicts_total:\n got  %v\n want %v", got, want)
	}

	// regress's latest analysis (the Kayenta execution) failed its latency.
	classes := gathered(t, ts.Metrics().Registry(), "verdict_signal_classification")
	if classes["classification=high,config=regress,signal=latency"] != 1 || classes["classification=pass,config=healthy,signal=errors"] != 1 {
		t.Errorf("verdict_signal_classification = %v; want regress's latency high and healthy's errors pass", classes)
	}
	estimate := gathered(t, ts.Metrics().Registry(), "verdict_signal_estimate")["config=regress,signal=latency"]
	bound := gathered(t, ts.Metrics().Registry(), "verdict_signal_bound")["config=regress,signal=latency"]
	allowed := gathered(t, ts.Metrics().Registry(), "verdict_signal_allowed")["config=regress,signal=latency"]
	if allowed != 0.1 || !(estimate > allowed) || !(bound > 0) {
		t.Errorf("regress latency: estimate %g, bound %g, allowed %g; want a rise beyond the allowed 0.1, its bound above 0", estimate, bound, allowed)
	}
	if _, ok := gathered(t, ts.Metrics().Registry(), "verdict_last_analysis_timestamp_seconds")["config=regress"]; !ok {
		t.Error("no verdict_last_analysis_timestamp_seconds for regress")
	}

	// A deleted config's series go.
	if code, b := ts.call(t, "DELETE", "/api/v1/configs/regress", "", nil, nil); code != 204 {
		t.Fatalf("DELETE: %d %s", code, b)
	}
	for _, name := range []string{"verdict_verdicts_total", "verdict_signal_classification", "verdict_signal_estimate", "verdict_last_score", "verdict_last_analysis_timestamp_seconds"} {
		for labels := range gathered(t, ts.Metrics().Registry(), name) {
			if strings.Contains(labels, "config=regress") {
				t.Errorf("%s{%s} outlived the config's deletion", name, labels)
			}
		}
	}
}

// TestDeletedElsewhereConfigsForgotten: a config deleted through another
// replica (straight from the store here) loses its series at the
// retention loop's sweep; the configs still stored keep theirs.
func TestDeletedElsewhereConfigsForgotten(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, name := range []string{"kept", "gone"} {
		if code, b := ts.call(t, "PUT", "/api/v1/configs/"+name, "", "name: "+name+"\nsignals:\n  - name: latency\n", nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", name, code, b)
		}
		body := map[string]any{"configName": name, "baseline": map[string][]float64{"latency": series(20, 100, 4)}, "canary": map[string][]float64{"latency": series(20, 100, 4)}}
		if code, b := ts.call(t, "POST", "/api/v1/judge", "", body, nil); code != 200 {
			t.Fatalf("judge %s: %d %s", name, code, b)
		}
		ts.Metrics().ObserveAnalysis("api", name, &analysis.Report{Verdict: "pass", Signals: []judge.Result{{Name: "latency", Classification: judge.Pass}}}, time.Second)
	}
	if err := ts.store.DeleteConfig(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	if err := ts.forgetDeletedConfigs(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"verdict_verdicts_total", "verdict_signal_classification"} {
		var configs []string
		for labels := range gathered(t, ts.Metrics().Registry(), name) {
			for _, l := range strings.Split(labels, ",") {
				if c, ok := strings.CutPrefix(l, "config="); ok && !slices.Contains(configs, c) {
					configs = append(configs, c)
				}
			}
		}
		if !slices.Equal(configs, []string{"kept"}) {
			t.Errorf("%s has configs %v after the sweep; want [kept]", name, configs)
		}
	}
}

// TestSignalFiguresBounded: the per-signal gauges show each config's
// latest analysis only (a signal it no longer has is gone), at most
// MaxMetricSignals signals of it (those not judged pass first), for at
// most MaxMetricConfigs configs; the configs beyond are counted as
// OtherConfigs without signal series, inline configs have none, and a
// forgotten config frees its place.
func TestSignalFiguresBounded(t *testing.T) {
	m := NewMetrics()
	report := func(n int, failing ...int) *analysis.Report {
		rep := &analysis.Report{Verdict: "pass"}
		for i := range n {
			class := judge.Pass
			if slices.Contains(failing, i) {
				class = judge.High
			}
			shift, allowed := float64(i)/100, 0.1
			rep.Signals = append(rep.Signals, judge.Result{Name: fmt.Sprintf("s%02d", i), Classification: class,
				Test: &judge.TestResult{RelativeShift: &shift, Allowed: &allowed}})
		}
		return rep
	}
	signalsOf := func(config string) []string {
		var out []string
		for labels := range gathered(t, m.Registry(), "verdict_signal_classification") {
			if strings.Contains(labels, "config="+config+",") {
				out = append(out, labels)
			}
		}
		slices.Sort(out)
		return out
	}

	m.ObserveAnalysis("api", "a", report(3, 2), time.Second)
	m.ObserveAnalysis("api", "a", report(2), time.Second) // s02 is gone from the latest
	if got, want := signalsOf("a"), []string{"classification=pass,config=a,signal=s00", "classification=pass,config=a,signal=s01"}; !slices.Equal(got, want) {
		t.Errorf("a's signals %v; want %v", got, want)
	}
	if got := gathered(t, m.Registry(), "verdict_signal_estimate")["config=a,signal=s01"]; got != 0.01 {
		t.Errorf("a's s01 estimate %g, want 0.01", got)
	}

	m.ObserveAnalysis("api", "many", report(MaxMetricSignals+10, 25, 29), time.Second)
	got := signalsOf("many")
	if len(got) != MaxMetricSignals || !slices.Contains(got, "classification=high,config=many,signal=s25") || !slices.Contains(got, "classification=high,config=many,signal=s29") ||
		slices.Contains(got, fmt.Sprintf("classification=pass,config=many,signal=s%02d", MaxMetricSignals-1)) {
		t.Errorf("many's %d signals %v; want %d: the two high ones and the first %d passes", len(got), got, MaxMetricSignals, MaxMetricSignals-2)
	}

	m.ObserveAnalysis("api", "", report(1), time.Second)
	if got := signalsOf(""); len(got) != 0 {
		t.Errorf("an inline config has signal series %v", got)
	}

	for i := range MaxMetricConfigs {
		m.ObserveAnalysis("schedule", fmt.Sprintf("c%03d", i), report(1), time.Second)
	}
	verdicts := gathered(t, m.Registry(), "verdict_verdicts_total")
	// a and many hold two of the places: the last two configs are others.
	if verdicts["config=(other),origin=schedule,verdict=pass"] != 2 || verdicts[fmt.Sprintf("config=c%03d,origin=schedule,verdict=pass", MaxMetricConfigs-3)] != 1 ||
		verdicts["config=,origin=api,verdict=pass"] != 1 {
		t.Errorf("verdicts beyond the %d configs: %v; want the last 2 under (other), the inline one under \"\"", MaxMetricConfigs, verdicts)
	}
	if got := signalsOf(OtherConfigs); len(got) != 0 {
		t.Errorf("configs beyond the bound have signal series: %v", got)
	}
	series := 0
	for _, name := range []string{"verdict_signal_classification", "verdict_signal_estimate", "verdict_signal_allowed"} {
		series += len(gathered(t, m.Registry(), name))
	}
	if limit := 3 * MaxMetricConfigs * MaxMetricSignals; series > limit {
		t.Errorf("%d signal series, above %d", series, limit)
	}

	m.ForgetConfig("a")
	if got := signalsOf("a"); len(got) != 0 {
		t.Errorf("a forgotten still has %v", got)
	}
	m.ObserveAnalysis("api", "newcomer", report(1), time.Second)
	if got := signalsOf("newcomer"); len(got) != 1 {
		t.Errorf("a config after one was forgotten has signal series %v; want its one signal", got)
	}
}

// TestTakeoversCounted has a server claim a dead replica's analysis whose
// synchronous caller has gone: the runner interrupts it as a takeover, and
// the server's /metrics and the analysis' view show it (the runner's own
// tests cover the takeovers; this checks the server wires its metrics in).
func TestTakeoversCounted(t *testing.T) {
	ts := newTestServer(t, Options{InstanceID: "A"})
	plan, err := json.Marshal(runner.Plan{Scopes: sampleScopes(), Start: time.Now().Add(-time.Minute), End: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	a := &store.Analysis{ID: store.NewID(), ConfigName: "regress", Config: []byte(liveRegress), Request: plan, Origin: "argo",
		Status: store.Running, Owner: "dead", LeaseUntil: time.Now().Add(-time.Minute)}
	if err := ts.store.CreateAnalysis(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if resumed, interrupted, err := ts.Runner().Resume(t.Context()); err != nil || resumed != 0 || interrupted != 1 {
		t.Fatalf("Resume: %d resumed, %d interrupted, %v; want the argo analysis interrupted", resumed, interrupted, err)
	}
	code, body := ts.call(t, "GET", "/metrics", "", nil, nil)
	if code != 200 || !strings.Contains(body, `verdict_analyses_taken_over_total{outcome="interrupted"} 1`) {
		t.Errorf("/metrics lacks the takeover: %d", code)
	}
	var view map[string]json.RawMessage
	if code, _ := ts.call(t, "GET", "/api/v1/analyses/"+a.ID, "", nil, &view); code != 200 || string(view["owner"]) != `"A"` || string(view["status"]) != `"interrupted"` {
		t.Errorf("the analysis view: %d owner %s status %s; want A's, interrupted", code, view["owner"], view["status"])
	}
}
