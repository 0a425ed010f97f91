package api

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/metrics"
)

// flakyStore is a store whose outcome writes fail, as when the database
// is down, while refuse says so; it counts the outcome attempts and the
// runs, and records which analyses a reaper's claim took (ClaimExpired
// takes only analyses whose lease lapsed).
type flakyStore struct {
	store.Store
	mu       sync.Mutex
	refuse   func(attempt int, claimed map[string]bool) bool
	attempts int
	runs     int // analyses marked running from the start (progress 0)
	claimed  map[string]bool
}

var errStoreDown = errors.New("connection refused (the test's store is down)")

func (f *flakyStore) FinishOwnedAnalysis(ctx context.Context, id, owner string, o store.Outcome) error {
	f.mu.Lock()
	f.attempts++
	refused := f.refuse(f.attempts, f.claimed)
	f.mu.Unlock()
	if refused {
		return errStoreDown
	}
	return f.Store.FinishOwnedAnalysis(ctx, id, owner, o)
}

func (f *flakyStore) ClaimExpired(ctx context.Context, owner string, now, until time.Time, limit int) ([]store.Analysis, error) {
	list, err := f.Store.ClaimExpired(ctx, owner, now, until, limit)
	f.mu.Lock()
	for _, a := range list {
		f.claimed[a.ID] = true
	}
	f.mu.Unlock()
	return list, err
}

func (f *flakyStore) UpdateOwnedAnalysis(ctx context.Context, id, owner string, status store.Status, p store.Progress, intervals []byte) error {
	if p.Done == 0 {
		f.mu.Lock()
		f.runs++
		f.mu.Unlock()
	}
	return f.Store.UpdateOwnedAnalysis(ctx, id, owner, status, p, intervals)
}

// flakyServer is a server with the live test data and configs over a
// flakyStore of kind, its reaper running (Resume).
func flakyServer(t *testing.T, kind storeKind, opt Options, refuse func(int, map[string]bool) bool) (*testServer, *flakyStore) {
	t.Helper()
	fs := &flakyStore{Store: openStores(t, kind, 1)[0], refuse: refuse, claimed: map[string]bool{}}
	now := e2eStart.Add(50 * time.Minute)
	opt.Store, opt.Sources, opt.Logger, opt.Now = fs, promSources(t, e2ePrometheus(t)), quiet, func() time.Time { return now }
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	ts := &testServer{Server: srv, URL: hs.URL, store: fs}
	if _, _, err := srv.Runner().Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, body := ts.call(t, "PUT", "/api/v1/configs/regress", "", liveRegress, nil); code != 200 {
		t.Fatalf("PUT regress: %d %s", code, body)
	}
	return ts, fs
}

// waitEnded polls an analysis until it is terminal, failing t after a
// generous deadline (a hang guard).
func waitEnded(t *testing.T, ts *testServer, id string) analysisView {
	t.Helper()
	return waitUntil(t, ts, id, "terminal", store.Status.Terminal)
}

// waitUntil polls an analysis until its status satisfies ok, failing t
// after a generous deadline (a hang guard).
func waitUntil(t *testing.T, ts *testServer, id, want string, ok func(store.Status) bool) analysisView {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var v analysisView
		ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v)
		if ok(v.Status) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis %s still %s after 90 s; want %s", id, v.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func postLookback(t *testing.T, ts *testServer, config string) string {
	t.Helper()
	var created struct{ ID string }
	code, body := ts.call(t, "POST", "/api/v1/analyses", "",
		`{"configName":"`+config+`","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"lookback":"30m","step":"15s"}`, &created)
	if code != 202 {
		t.Fatalf("POST analyses: %d %s", code, body)
	}
	return created.ID
}

func TestOutcomeWriteRetried(t *testing.T) { forEachStore(t, testOutcomeWriteRetried) }

// testOutcomeWriteRetried ends an analysis while the store refuses its
// outcome for the first three attempts (the database restarting): the
// write is retried until it is taken, and the analysis ends finished with
// its verdict, run once.
func testOutcomeWriteRetried(t *testing.T, kind storeKind) {
	ts, fs := flakyServer(t, kind, Options{Lease: time.Second, RecordRetry: time.Minute},
		func(attempt int, _ map[string]bool) bool { return attempt <= 3 })
	id := postLookback(t, ts, "regress")
	v := waitEnded(t, ts, id)
	fs.mu.Lock()
	attempts, runs := fs.attempts, fs.runs
	fs.mu.Unlock()
	if v.Status != store.Finished || v.Verdict != "fail" || attempts != 4 || runs != 1 {
		t.Errorf("analysis %s %s after %d outcome attempts and %d runs; want finished with fail after 4 attempts, 1 run", v.Status, v.Verdict, attempts, runs)
	}
}

func TestOutcomeNotRecordedLapses(t *testing.T) { forEachStore(t, testOutcomeNotRecordedLapses) }

// testOutcomeNotRecordedLapses ends an analysis while the store refuses
// its outcome for longer than RecordRetry (the database down for long, or
// refusing that one write): the server must give it up and let its lease
// lapse, rather than renew it forever with the analysis stuck running.
// The store takes writes again once a claim has taken the analysis (a
// claim takes only a lapsed lease); then the claimer (this server's
// reaper) runs it again and it ends.
func testOutcomeNotRecordedLapses(t *testing.T, kind storeKind) {
	var id string
	idSet := make(chan struct{})
	ts, _ := flakyServer(t, kind, Options{Lease: 600 * time.Millisecond, RecordRetry: time.Second}, func(_ int, claimed map[string]bool) bool {
		<-idSet
		return !claimed[id]
	})
	id = postLookback(t, ts, "regress")
	close(idSet)
	if v := waitEnded(t, ts, id); v.Status != store.Finished || v.Verdict != "fail" {
		t.Errorf("analysis %s %q; want it given up, claimed after its lease lapsed, run again and finished with fail", v.Status, v.Verdict)
	}
}

func TestWaitingAnalysisHoldsNoWorker(t *testing.T) {
	forEachStore(t, testWaitingAnalysisHoldsNoWorker)
}

// testWaitingAnalysisHoldsNoWorker runs a server with one worker: a
// multi-interval analysis whose first interval ends in 2030 waits all the
// test, and a short analysis started after it must still run and finish.
func testWaitingAnalysisHoldsNoWorker(t *testing.T, kind storeKind) {
	ts, _ := flakyServer(t, kind, Options{Workers: 1}, func(int, map[string]bool) bool { return false })
	var long struct{ ID string }
	if code, body := ts.call(t, "POST", "/api/v1/analyses", "",
		`{"configName":"regress","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2030-01-01T00:00:00Z","lifetime":"1h","interval":"10m"}`, &long); code != 202 {
		t.Fatalf("POST the long analysis: %d %s", code, body)
	}
	// The one worker takes the long analysis first; waiting for its first
	// interval, it must give the worker back. (Posting the short one at
	// once let the worker take either first.)
	waitUntil(t, ts, long.ID, "running", func(s store.Status) bool { return s == store.Running || s.Terminal() })
	short := postLookback(t, ts, "regress")
	if v := waitEnded(t, ts, short); v.Status != store.Finished || v.Verdict != "fail" {
		t.Errorf("the short analysis: %s %q; want finished with fail", v.Status, v.Verdict)
	}
	var v analysisView
	ts.call(t, "GET", "/api/v1/analyses/"+long.ID, "", nil, &v)
	if v.Status != store.Running {
		t.Errorf("the long analysis is %s; want running (waiting for its first interval)", v.Status)
	}
}

func TestRetention(t *testing.T) { forEachStore(t, testRetention) }

// testRetention checks that serve deletes the analyses that ended more
// than Retention ago and keeps the rest: with a retention of an hour a
// just-finished analysis stays; a server on the same store with a
// retention of a millisecond deletes it on its own (its loop), and never
// the live analysis however long it has run.
func testRetention(t *testing.T, kind storeKind) {
	ts, fs := flakyServer(t, kind, Options{Retention: time.Hour}, func(int, map[string]bool) bool { return false })
	var long struct{ ID string }
	if code, body := ts.call(t, "POST", "/api/v1/analyses", "",
		`{"configName":"regress","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2030-01-01T00:00:00Z","lifetime":"1h","interval":"10m"}`, &long); code != 202 {
		t.Fatalf("POST the long analysis: %d %s", code, body)
	}
	done := postLookback(t, ts, "regress")
	waitEnded(t, ts, done)
	if n, err := ts.prune(t.Context()); err != nil || n != 0 {
		t.Fatalf("prune with a retention of an hour: %d, %v; want nothing deleted", n, err)
	}

	srv, err := New(Options{Store: fs.Store, Logger: quiet, InstanceID: "pruner", Retention: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	deadline := time.Now().Add(90 * time.Second) // a hang guard
	for {
		_, err := fs.GetAnalysis(t.Context(), done)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finished analysis is still stored (%v) under a retention of 1ms", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a, err := fs.GetAnalysis(t.Context(), long.ID); err != nil || a.Status.Terminal() {
		t.Errorf("the live analysis after pruning: %s, %v; want it kept, running", a.Status, err)
	}
}

// TestConfigsParsedOncePerVersion checks that listing the configs for the
// scheduler (at every config PUT and DELETE) parses only the configs whose
// version changed: an unchanged config comes back as the same parsed
// value, a changed one as a new one, a deleted one not at all.
func TestConfigsParsedOncePerVersion(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, name := range []string{"a", "b", "c"} {
		if code, body := ts.call(t, "PUT", "/api/v1/configs/"+name, "", "signals:\n  - name: x\n    query: 'up'\n", nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", name, code, body)
		}
	}
	byName := func() map[string]*analysis.Config {
		t.Helper()
		list, err := ts.Configs(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*analysis.Config{}
		for _, c := range list {
			out[c.Name] = c
		}
		return out
	}
	first, second := byName(), byName()
	for _, name := range []string{"a", "b", "c"} {
		if first[name] == nil || first[name] != second[name] {
			t.Errorf("config %s parsed again though unchanged", name)
		}
	}
	if code, body := ts.call(t, "PUT", "/api/v1/configs/a", "", "signals:\n  - name: y\n    query: 'up'\n", nil); code != 200 {
		t.Fatalf("PUT a again: %d %s", code, body)
	}
	if code, body := ts.call(t, "DELETE", "/api/v1/configs/c", "", nil, nil); code != 204 {
		t.Fatalf("DELETE c: %d %s", code, body)
	}
	third := byName()
	if third["a"] == second["a"] || third["a"].Signals[0].Name != "y" {
		t.Errorf("config a after its PUT: the old parsed value")
	}
	if third["b"] != second["b"] {
		t.Errorf("config b parsed again though unchanged")
	}
	if _, ok := third["c"]; ok || len(third) != 2 {
		t.Errorf("configs after deleting c: %v", third)
	}
}

// TestConcurrentPutsSchedules wires the scheduler to config changes as
// verdict serve does (ConfigsChanged reloads it from Configs) and sends 10
// concurrent PUTs, each adding or removing a schedule, for 10 rounds:
// after every round the running schedules are the stored configs'.
func TestConcurrentPutsSchedules(t *testing.T) {
	var reloader *schedule.Reloader
	ts := newTestServer(t, Options{ConfigsChanged: func() {
		if err := reloader.Reload(context.Background()); err != nil {
			t.Error(err)
		}
	}})
	reloader = schedule.NewReloader(ts.Configs, schedule.Hooks{Run: func(context.Context, schedule.Job) error { return nil }}, quiet)
	t.Cleanup(func() { _ = reloader.Stop(context.Background()) })
	config := func(i, round int) string {
		c := "signals:\n  - name: x\n    query: 'up{track=\"{{.track}}\"}'\n"
		if (i+round)%2 == 0 {
			c += "schedules:\n  - cron: \"@hourly\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n"
		}
		return c
	}
	for round := range 10 {
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if code, body := ts.call(t, "PUT", fmt.Sprintf("/api/v1/configs/c%d", i), "", config(i, round), nil); code != 200 {
					t.Errorf("PUT c%d: %d %s", i, code, body)
				}
			})
		}
		wg.Wait()
		var want []string
		for i := range 10 {
			if (i+round)%2 == 0 {
				want = append(want, fmt.Sprintf("c%d", i))
			}
		}
		var got []string
		for _, j := range reloader.Jobs() {
			got = append(got, j.Config)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: schedules running for %v; want %v", round, got, want)
		}
	}
}

// TestAnalysisBoundsRefused sends requests beyond the bounds of a live
// analysis through every endpoint that starts one: each is a 400 naming
// the field, and none is stored.
func TestAnalysisBoundsRefused(t *testing.T) {
	ts, fs := flakyServer(t, onSQLite, Options{}, func(int, map[string]bool) bool { return false })
	// Kayenta requests name their scopes {{.scope}}.
	if code, body := ts.call(t, "PUT", "/api/v1/configs/kay", "", "signals:\n  - name: latency\n    query: 'app_latency_ms{track=\"{{.scope}}\"}'\n", nil); code != 200 {
		t.Fatalf("PUT kay: %d %s", code, body)
	}
	scopes := `"configName":"regress","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"}`
	kayentaScopes := func(start, end string, step int) string {
		side := fmt.Sprintf(`{"scope":"%%s","start":%q,"end":%q,"step":%d}`, start, end, step)
		return fmt.Sprintf(`{"scopes":{"default":{"controlScope":`+side+`,"experimentScope":`+side+`}},"thresholds":{"pass":95,"marginal":75}}`, "baseline", "canary")
	}
	standalone := func(extra string) string {
		return `{"scopes":[{"controlScope":"baseline","experimentScope":"canary","step":60}],"thresholds":{"pass":95,"marginal":75},` + extra + `}`
	}
	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"a lifetime of 2562047h", "POST", "/api/v1/analyses", `{` + scopes + `,"lifetime":"2562047h","interval":"1h"}`, "lifetime: 2562047h0m0s is longer than the longest lifetime"},
		{"an interval of 1ns", "POST", "/api/v1/analyses", `{` + scopes + `,"lifetime":"1h","interval":"1ns"}`, "interval: 1ns makes 3600000000000 judgements"},
		{"a step of 1ns", "POST", "/api/v1/analyses", `{` + scopes + `,"lookback":"30m","step":"1ns"}`, "step: 1ns is finer than the finest step, 1s"},
		{"a day at 1s", "POST", "/api/v1/analyses", `{` + scopes + `,"start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z","step":"1s"}`, "step: 1s asks 86400 points per query"},
		{"argo at 10ms", "GET", "/api/v1/argo/regress?baseline=track%3Dbaseline&canary=track%3Dcanary&lookback=5m&step=10ms", "", "step: 10ms is finer"},
		{"kayenta, 30 days at 1s", "POST", "/canary/kay", kayentaScopes("2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z", 1), "scopes.default.controlScope.step: 1s asks 2592000 points"},
		{"kayenta, marginal above pass", "POST", "/canary/kay", strings.Replace(kayentaScopes("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", 60), `"pass":95,"marginal":75`, `"pass":75,"marginal":95`, 1), "thresholds.marginal: 95 must be from 0 to the pass score, 75"},
		{"standalone, thresholds as fractions", "POST", "/standalone_canary_analysis/kay", `{"scopes":[{"controlScope":"baseline","experimentScope":"canary","step":60}],"thresholds":{"pass":0.9,"marginal":0.5},"lifetimeDurationMins":30,"analysisIntervalMins":10}`, "did you mean 90?"},
		{"standalone, 10^12 minutes", "POST", "/standalone_canary_analysis/kay", standalone(`"lifetimeDurationMins":1000000000000`), "lifetimeDurationMins: a lifetime of 1000000000000 minutes is longer"},
		{"standalone, a judgement a minute for 7 days", "POST", "/standalone_canary_analysis/kay", standalone(`"lifetimeDurationMins":10080,"analysisIntervalMins":1`), "analysisIntervalMins: 1m0s makes 10080 judgements"},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		var e errorBody
		if code, raw := ts.call(t, tc.method, tc.path, "", body, &e); code != 400 || !strings.Contains(e.Error, tc.want) || strings.Contains(e.Error, "\n") {
			t.Errorf("%s: %d %s; want 400 saying %q", tc.name, code, raw, tc.want)
		}
	}
	if list, err := fs.ListAnalyses(t.Context(), store.Filter{}); err != nil || len(list) != 0 {
		t.Errorf("%d analyses stored (%v); want none", len(list), err)
	}
}

// TestLastScoreScopesBounded scores 15 canary scopes of one config (a new
// pod-template hash per rollout) and one of another: verdict_last_score
// keeps the MaxScoreScopes scored last per config, a scope scored again
// counts as recent, and other configs keep theirs.
func TestLastScoreScopesBounded(t *testing.T) {
	m := NewMetrics()
	observe := func(config, hash string, score float64) {
		rep := &analysis.Report{Verdict: "pass", Score: &score,
			Scopes: &analysis.Scopes{Baseline: metrics.Scope{"hash": "stable"}, Canary: metrics.Scope{"hash": hash}}}
		m.ObserveAnalysis("argo", config, rep, time.Second)
	}
	observe("other", "x", 1)
	for i := range 15 {
		observe("checkout", fmt.Sprintf("h%02d", i), float64(i))
	}
	observe("checkout", "h05", 55) // scored again: recent
	observe("checkout", "h15", 15) // evicts the least recent, h06
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string][]string{}
	for _, f := range families {
		if f.GetName() != "verdict_last_score" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			scopes[labels["config"]] = append(scopes[labels["config"]], labels["scope"])
		}
	}
	for _, list := range scopes {
		slices.Sort(list)
	}
	want := []string{"hash=h05", "hash=h07", "hash=h08", "hash=h09", "hash=h10", "hash=h11", "hash=h12", "hash=h13", "hash=h14", "hash=h15"}
	if !slices.Equal(scopes["checkout"], want) || !slices.Equal(scopes["other"], []string{"hash=x"}) {
		t.Errorf("verdict_last_score series: %v; want checkout %v and other [hash=x]", scopes, want)
	}
}
