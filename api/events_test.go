package api

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/internal/lokitest"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// TestEveryOriginPushesItsEvent runs one analysis of each origin (the
// analyses API, a schedule's firing, Argo's web provider, a Flagger
// webhook, a Kayenta execution) against a server whose events go to the
// Loki-shaped server, and reads the lines Loki received: one per analysis,
// naming its stored report by id and URL, with the level of its verdict.
func TestEveryOriginPushesItsEvent(t *testing.T) {
	lk := lokitest.Start(t, lokitest.Options{})
	events, err := loki.NewEventPusher(loki.PusherConfig{URL: lk.URL, BatchWait: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := liveServerWith(t, onSQLite, Options{Events: events, ExternalURL: "https://verdict.example"})
	scopes := map[string]any{"baselineScope": map[string]string{"track": "baseline"}, "canaryScope": map[string]string{"track": "canary"}}
	want := map[string]string{} // analysis id → origin

	// The analyses API (background).
	body := map[string]any{"configName": "regress", "lookback": "30m", "step": "15s"}
	for k, v := range scopes {
		body[k] = v
	}
	var created struct {
		ID string `json:"id"`
	}
	if code, b := ts.call(t, "POST", "/api/v1/analyses", "", body, &created); code != 202 {
		t.Fatalf("POST /api/v1/analyses: %d %s", code, b)
	}
	waitFinished(t, ts, created.ID)
	want[created.ID] = "api"

	// A schedule's firing.
	sched := analysis.Schedule{Cron: "@every 1h", BaselineScope: []analysis.ScopeVar{{Name: "track", Value: "baseline"}},
		CanaryScope: []analysis.ScopeVar{{Name: "track", Value: "canary"}}, Lookback: analysis.Duration(30 * time.Minute), Step: analysis.Duration(15 * time.Second)}
	if err := ts.Runner().RunSchedule(t.Context(), schedule.Job{Config: "healthy", Schedule: sched}); err != nil {
		t.Fatal(err)
	}

	// Argo Rollouts' web provider and a Flagger webhook (synchronous).
	var ans verdictAnswer
	q := url.Values{"baseline": {"track=baseline"}, "canary": {"track=gone"}, "lookback": {"30m"}, "step": {"15s"}}
	if code, b := ts.call(t, "GET", "/api/v1/argo/healthy?"+q.Encode(), "", nil, &ans); code != 200 || ans.Verdict != "none" {
		t.Fatalf("argo: %d %s", code, b)
	}
	want[ans.ID] = "argo"
	payload := map[string]any{"name": "podinfo", "namespace": "test", "metadata": map[string]string{"baseline.track": "baseline", "canary.track": "canary", "lookback": "30m", "step": "15s"}}
	ans = verdictAnswer{}
	if code, b := ts.call(t, "POST", "/api/v1/flagger/healthy", "", payload, &ans); code != 200 || ans.Verdict != "pass" {
		t.Fatalf("flagger: %d %s", code, b)
	}
	want[ans.ID] = "flagger"

	// A Kayenta execution (background).
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
	want[started.ID] = "kayenta"

	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?limit=100", "", nil, &list)
	verdicts := map[string]string{}
	for _, a := range list.Analyses {
		verdicts[a.ID] = a.Verdict
		if a.Origin == "schedule" {
			want[a.ID] = "schedule"
		}
	}
	if len(list.Analyses) != 5 || len(want) != 5 {
		t.Fatalf("%d analyses stored, %d known: %v", len(list.Analyses), len(want), want)
	}

	ts.Close() // flushes the pusher
	lines := lk.Lines(map[string]string{"job": "verdict"})
	got := map[string]loki.Event{}
	for _, l := range lines {
		var ev loki.Event
		if err := json.Unmarshal([]byte(l.Text), &ev); err != nil {
			t.Fatalf("line %q: %v", l.Text, err)
		}
		if _, dup := got[ev.Report]; dup {
			t.Errorf("analysis %s pushed twice", ev.Report)
		}
		got[ev.Report] = ev
	}
	for id, origin := range want {
		ev, ok := got[id]
		if !ok {
			t.Errorf("no event for the %s analysis %s; lines: %v", origin, id, lines)
			continue
		}
		if ev.Origin != origin || ev.Verdict != verdicts[id] || ev.Level != loki.LevelOf(verdicts[id]) || ev.ReportURL != "https://verdict.example/analyses/"+id {
			t.Errorf("%s event %+v; want verdict %s at level %s and its report URL", origin, ev, verdicts[id], loki.LevelOf(verdicts[id]))
		}
		if ev.Scopes["canary"]["track"] == "" || ev.Config == "" {
			t.Errorf("%s event lacks its config or scopes: %+v", origin, ev)
		}
		if ev.Verdict == "fail" && !slices.Contains(ev.Failed, "latency") {
			t.Errorf("%s event names failed signals %v, want latency among them", origin, ev.Failed)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d events for %d analyses", len(got), len(want))
	}
}

// waitFinished polls an analysis until it ends (a hang guard, not a timing).
func waitFinished(t *testing.T, ts *testServer, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v analysisView
		ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v)
		if v.Status.Terminal() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis %s did not finish: %+v", id, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
