package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
)

// anytimeSteady judges the healthy error ratio of the test dataset anytime,
// with an allowance (5%) that 5 minutes of data cannot show it within but
// the horizon (30 minutes) decides.
const anytimeSteady = `name: steady
sequential: anytime
horizon: 30m
signals:
  - name: errors
    query: 'app_error_ratio{track="{{.track}}"}'
    direction: increase
    allowedChange: 5%
`

// anytimeSlow is the regress config (the canary's latency 30% up), anytime.
var anytimeSlow = strings.Replace(strings.Replace(liveRegress, "name: regress", "name: slow", 1), "signals:", "sequential: anytime\nsignals:", 1)

// lookClock is a server's now, moved by the test.
type lookClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lookClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lookClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// anytimeServer is a live server whose clock the test moves, with the
// anytime configs steady and slow stored.
func anytimeServer(t *testing.T, kind storeKind, clock *lookClock) *testServer {
	t.Helper()
	ts := newTestServerOn(t, kind, Options{Sources: promSources(t, e2ePrometheus(t)), Now: clock.now})
	putConfigs(t, ts, map[string]string{"steady": anytimeSteady, "slow": anytimeSlow, "regress": liveRegress})
	return ts
}

func putConfigs(t *testing.T, ts *testServer, configs map[string]string) {
	t.Helper()
	for name, cfg := range configs {
		if code, body := ts.call(t, "PUT", "/api/v1/configs/"+name, "", cfg, nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", name, code, body)
		}
	}
}

// storedReport reads the report of a stored analysis.
func storedReport(t *testing.T, ts *testServer, id string) analysis.Report {
	t.Helper()
	var v analysisView
	if code, body := ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v); code != 200 {
		t.Fatalf("GET analysis %s: %d %s", id, code, body)
	}
	var rep analysis.Report
	if err := json.Unmarshal(v.Report, &rep); err != nil {
		t.Fatalf("analysis %s: report %s: %v", id, v.Report, err)
	}
	return rep
}

// argoLook asks the Argo endpoint about config's canary (track=canary
// unless given) with a 5-minute lookback at a 15 s step.
func argoLook(t *testing.T, ts *testServer, config, canary string) verdictAnswer {
	t.Helper()
	q := url.Values{"baseline": {"track=baseline"}, "canary": {canary}, "lookback": {"5m"}, "step": {"15s"}}
	var ans verdictAnswer
	if code, body := ts.call(t, "GET", "/api/v1/argo/"+config+"?"+q.Encode(), "", nil, &ans); code != 200 {
		t.Fatalf("argo %s: %d %s", config, code, body)
	}
	return ans
}

// TestArgoAnytimeLooks asks the Argo endpoint about one canary of an
// anytime config every 5 minutes: each look judges all the data since the
// first look's start, with the reference its first look set, and has no
// verdict yet (decision undecided) until its evidence shows the canary
// within its allowance or reaches the horizon, then passes; the evidence
// outlives the server (a second one on the same store continues it), and a
// schedule with the same scopes continues it too. Other scopes, a changed
// config and a regression are judged as their own evidence.
func TestArgoAnytimeLooks(t *testing.T) { forEachStore(t, testArgoAnytimeLooks) }

func testArgoAnytimeLooks(t *testing.T, kind storeKind) {
	clock := &lookClock{}
	ts := anytimeServer(t, kind, clock)

	var ref float64
	var decisions []string
	look := 0
	for minute := 5; minute <= 35; minute += 5 {
		clock.set(e2eStart.Add(time.Duration(minute) * time.Minute))
		ans := argoLook(t, ts, "steady", "track=canary")
		look++
		decisions = append(decisions, ans.Decision)
		ev := ans.Evidence
		if ev == nil || ev.Look != look || !ev.Since.Equal(e2eStart) || ev.Horizon != "30m0s" || ev.Renewed != "" {
			t.Fatalf("minute %d: evidence %+v; want look %d since %s", minute, ev, look, e2eStart)
		}
		rep := storedReport(t, ts, ans.ID)
		if rep.Window == nil || !rep.Window.Start.Equal(e2eStart) || !rep.Window.End.Equal(clock.now()) || rep.Evidence == nil || rep.Evidence.Look != look {
			t.Fatalf("minute %d: the stored report judged %+v with evidence %+v; want all data since %s", minute, rep.Window, rep.Evidence, e2eStart)
		}
		test := rep.Signals[0].Test
		if test == nil || test.Reference <= 0 || test.AnytimeLevel <= 0 {
			t.Fatalf("minute %d: test %+v; want an anytime decision with its reference", minute, test)
		}
		if look == 1 {
			ref = test.Reference
		} else if test.Reference != ref {
			t.Errorf("minute %d: reference %v; want the first look's %v", minute, test.Reference, ref)
		}
		switch {
		case minute < 30 && ans.Decision == "undecided":
			if ans.Verdict != "none" || ans.Score != nil || !strings.HasPrefix(ans.Reason, "no verdict yet") || !ev.Undecided {
				t.Errorf("minute %d: undecided answer %+v", minute, ans)
			}
		case ans.Decision == "pass" && ans.Verdict == "pass" && !ev.Undecided:
		default:
			t.Errorf("minute %d: %s (%s): %s; want undecided, then pass", minute, ans.Verdict, ans.Decision, ans.Reason)
		}
	}
	if decisions[0] != "undecided" || decisions[len(decisions)-1] != "pass" {
		t.Errorf("decisions %v; want undecided at the first look and pass at the horizon", decisions)
	}
	t.Logf("decisions every 5 minutes: %v", decisions)

	// A second server on the same store (a restart, another replica)
	// continues the evidence.
	other, err := New(Options{Store: ts.store, Logger: quiet, Sources: ts.opt.Sources, Now: clock.now, InstanceID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(other.Handler())
	defer func() { hs.Close(); other.Close() }()
	clock.set(e2eStart.Add(40 * time.Minute))
	ans := argoLook(t, &testServer{Server: other, URL: hs.URL, store: ts.store}, "steady", "track=canary")
	look++
	if ans.Evidence == nil || ans.Evidence.Look != look || !ans.Evidence.Since.Equal(e2eStart) {
		t.Errorf("the other server's look: evidence %+v; want look %d since %s", ans.Evidence, look, e2eStart)
	}
	if rep := storedReport(t, ts, ans.ID); rep.Signals[0].Test == nil || rep.Signals[0].Test.Reference != ref {
		t.Errorf("the other server's look lost the reference: %+v", rep.Signals[0].Test)
	}

	// A schedule on the same scopes continues it as well.
	clock.set(e2eStart.Add(45 * time.Minute))
	job := schedule.Job{Config: "steady", Schedule: analysis.Schedule{
		BaselineScope: []analysis.ScopeVar{{Name: "track", Value: "baseline"}}, CanaryScope: []analysis.ScopeVar{{Name: "track", Value: "canary"}},
		Lookback: analysis.Duration(5 * time.Minute), Step: analysis.Duration(15 * time.Second)}}
	if err := ts.Runner().RunSchedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	look++
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?config=steady&limit=1", "", nil, &list)
	if len(list.Analyses) != 1 || list.Analyses[0].Origin != "schedule" {
		t.Fatalf("the newest analysis of steady: %+v; want the schedule's", list.Analyses)
	}
	if rep := storedReport(t, ts, list.Analyses[0].ID); rep.Evidence == nil || rep.Evidence.Look != look || !rep.Window.Start.Equal(e2eStart) {
		t.Errorf("the schedule's look: evidence %+v over %+v; want look %d since %s", rep.Evidence, rep.Window, look, e2eStart)
	}

	// Other scopes are another canary; no data is no verdict, not undecided.
	if ans := argoLook(t, ts, "steady", "track=gone"); ans.Evidence == nil || ans.Evidence.Look != 1 || ans.Decision != "none" || ans.Evidence.Undecided {
		t.Errorf("a canary without data: %+v, evidence %+v; want a first look without verdict", ans, ans.Evidence)
	}
	// A regression fails at its first look, anytime or not.
	clock.set(e2eStart.Add(10 * time.Minute))
	for _, config := range []string{"slow", "regress"} {
		ans := argoLook(t, ts, config, "track=canary")
		if ans.Verdict != "fail" || ans.Decision != "fail" || (ans.Evidence != nil) != (config == "slow") {
			t.Errorf("%s: %s (%s), evidence %+v; want a fail, with evidence only when anytime", config, ans.Verdict, ans.Decision, ans.Evidence)
		}
	}
	// A changed config starts new evidence, and says so.
	clock.set(e2eStart.Add(50 * time.Minute))
	putConfigs(t, ts, map[string]string{"steady": anytimeSteady + "description: changed\n"})
	if ans := argoLook(t, ts, "steady", "track=canary"); ans.Evidence == nil || ans.Evidence.Look != 1 || !strings.Contains(ans.Evidence.Renewed, "config changed") ||
		!ans.Evidence.Since.Equal(e2eStart.Add(45*time.Minute)) {
		t.Errorf("after a config change: evidence %+v; want a first look since now − 5m, renewed because the config changed", ans.Evidence)
	}
}

// TestFlaggerAnytimeLooks checks what Flagger's webhook answers for an
// anytime config: 200 while the canary has no verdict yet (so only an
// anytime-valid fail counts toward Flagger's rollback), 424 instead with
// metadata undecided: halt (a confirm-promotion hook), 412 on a fail; the
// release's checksum is part of the canary's identity.
func TestFlaggerAnytimeLooks(t *testing.T) { forEachStore(t, testFlaggerAnytimeLooks) }

func testFlaggerAnytimeLooks(t *testing.T, kind storeKind) {
	clock := &lookClock{}
	ts := anytimeServer(t, kind, clock)
	hook := func(config, checksum string, extra map[string]string) (int, verdictAnswer) {
		t.Helper()
		meta := map[string]string{"baseline.track": "baseline", "canary.track": "canary", "lookback": "5m", "step": "15s"}
		for k, v := range extra {
			meta[k] = v
		}
		var ans verdictAnswer
		code, body := ts.call(t, "POST", "/api/v1/flagger/"+config, "", map[string]any{"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": checksum, "metadata": meta}, &ans)
		if code != 400 && (ans.Reason == "" || ans.ID == "") {
			t.Fatalf("flagger %s: %d %s", config, code, body)
		}
		return code, ans
	}
	for i, tc := range []struct {
		name, config, checksum string
		meta                   map[string]string
		minute                 int
		code                   int
		decision               string
		look                   int
	}{
		{"an undecided look proceeds", "steady", "r1", nil, 5, 200, "undecided", 1},
		{"a confirm-promotion hook halts while undecided", "steady", "r1", map[string]string{"undecided": "halt"}, 6, 424, "undecided", 2},
		{"another release is another canary", "steady", "r2", nil, 7, 200, "undecided", 1},
		{"the first release goes on", "steady", "r1", map[string]string{"undecided": "proceed"}, 8, 200, "undecided", 3},
		{"an anytime fail rolls back", "slow", "r1", nil, 10, 412, "fail", 1},
		{"the horizon decides a pass", "steady", "r1", map[string]string{"undecided": "halt"}, 35, 200, "pass", 4},
	} {
		clock.set(e2eStart.Add(time.Duration(tc.minute) * time.Minute))
		code, ans := hook(tc.config, tc.checksum, tc.meta)
		if code != tc.code || ans.Decision != tc.decision || ans.Evidence == nil || ans.Evidence.Look != tc.look {
			t.Errorf("%d. %s: %d %s, evidence %+v; want %d %s at look %d", i+1, tc.name, code, ans.Decision, ans.Evidence, tc.code, tc.decision, tc.look)
		}
	}
	if code, _ := hook("steady", "r1", map[string]string{"undecided": "wait"}); code != 400 {
		t.Errorf("metadata undecided: wait answered %d; want 400", code)
	}
}

// pruneStore records the deletes of the retention loop.
type pruneStore struct {
	store.Store
	mu             sync.Mutex
	evidenceBefore []time.Time
	finished       int
}

func (p *pruneStore) DeleteEvidence(ctx context.Context, before time.Time, limit int) (int, error) {
	p.mu.Lock()
	p.evidenceBefore = append(p.evidenceBefore, before)
	p.mu.Unlock()
	return p.Store.DeleteEvidence(ctx, before, limit)
}

func (p *pruneStore) DeleteFinished(ctx context.Context, before time.Time, limit int) (int, error) {
	p.mu.Lock()
	p.finished++
	p.mu.Unlock()
	return p.Store.DeleteFinished(ctx, before, limit)
}

// TestEvidenceRetention checks that a server deletes the evidence no look
// can continue (last looked at more than a day ago) even when it keeps its
// analyses forever (Retention 0), and keeps evidence in use.
func TestEvidenceRetention(t *testing.T) {
	ps := &pruneStore{Store: openStores(t, onSQLite, 1)[0]}
	if _, err := ps.PutEvidence(t.Context(), store.Evidence{Config: "c", Key: "k", Looks: 1}, 0); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	srv, err := New(Options{Store: ps, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	deadline := time.Now().Add(30 * time.Second) // a hang guard
	for {
		ps.mu.Lock()
		calls := len(ps.evidenceBefore)
		ps.mu.Unlock()
		if calls > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.evidenceBefore) == 0 || ps.finished != 0 {
		t.Fatalf("the retention loop deleted evidence %d times and analyses %d times; want evidence pruned, analyses kept (no retention)", len(ps.evidenceBefore), ps.finished)
	}
	if cut := ps.evidenceBefore[0]; cut.Before(before.Add(-analysis.MaxEvidenceWindow)) || cut.After(time.Now().Add(-analysis.MaxEvidenceWindow)) {
		t.Errorf("evidence deleted before %v; want a day before now", cut)
	}
	if _, err := ps.GetEvidence(t.Context(), "c", "k"); err != nil {
		t.Errorf("evidence written just now: %v; want it kept", err)
	}
}

// TestStandaloneAnytime runs Kayenta standalone analyses of stored anytime
// configs: the judgements judge growing windows from the start and the run
// stops early on a pass every signal is shown within its allowance (the
// judgements not run are SKIPPED) or on a fail; a sliding lookbackMins is
// refused, as is a lookback in POST /api/v1/analyses.
func TestStandaloneAnytime(t *testing.T) { forEachStore(t, testStandaloneAnytime) }

func testStandaloneAnytime(t *testing.T, kind storeKind) {
	clock := &lookClock{t: e2eStart.Add(2 * time.Hour)}
	ts := anytimeServer(t, kind, clock)
	loose := strings.NewReplacer("name: steady", "name: loose", "allowedChange: 5%", "allowedChange: 10%", "{{.track}}", "{{.scope}}").Replace(anytimeSteady)
	slow := strings.NewReplacer("name: slow", "name: slow-scope", "{{.track}}", "{{.scope}}").Replace(anytimeSlow)
	putConfigs(t, ts, map[string]string{"loose": loose, "slow-scope": slow})
	request := func(lookback int) map[string]any {
		return map[string]any{
			"scopes":     []map[string]any{{"controlScope": "baseline", "experimentScope": "canary", "startTimeIso": "2024-01-01T00:00:00Z", "endTimeIso": "2024-01-01T01:00:00Z", "step": 15}},
			"thresholds": map[string]float64{"pass": 95, "marginal": 75}, "analysisIntervalMins": 5, "lookbackMins": lookback,
		}
	}
	for _, tc := range []struct {
		config, status, last string
	}{
		{"loose", "SUCCEEDED", "Pass"},
		{"slow-scope", "TERMINAL", "Fail"},
	} {
		var started struct {
			ID string `json:"canaryAnalysisExecutionId"`
		}
		if code, body := ts.call(t, "POST", "/standalone_canary_analysis/"+tc.config, "", request(0), &started); code != 200 || started.ID == "" {
			t.Fatalf("%s: start: %d %s", tc.config, code, body)
		}
		doc, raw := waitStandalone(t, ts, started.ID)
		if !doc.Complete || doc.ExecutionStatus != tc.status || doc.Result == nil {
			t.Fatalf("%s: %s", tc.config, raw)
		}
		results := doc.Result.CanaryExecutionResults
		var runs []string
		for _, st := range doc.StageStatus {
			if st.Type == "runCanary" {
				runs = append(runs, st.Status)
			}
		}
		if n := len(results); n == 0 || n >= 12 || len(runs) != 12 || runs[n] != "SKIPPED" || results[n-1].Result.JudgeResult.Score.Classification != tc.last ||
			tc.config == "loose" && n < 2 {
			t.Fatalf("%s: %d judgements of 12 (stages %v); want an early stop on %s: %s", tc.config, n, runs, tc.last, raw)
		}
		for i, cr := range results {
			if cr.JudgementStartTimeIso != "2024-01-01T00:00:00Z" {
				t.Errorf("%s: judgement %d starts at %s; want every one at the start", tc.config, i+1, cr.JudgementStartTimeIso)
			}
		}
		t.Logf("%s: %s after %d of 12 judgements", tc.config, tc.last, len(results))
	}
	var e errorBody
	if code, body := ts.call(t, "POST", "/standalone_canary_analysis/loose", "", request(5), &e); code != 400 || !strings.HasPrefix(e.Error, "lookbackMins: ") {
		t.Errorf("lookbackMins with an anytime config: %d %s; want 400 naming lookbackMins", code, body)
	}
	if code, body := ts.call(t, "POST", "/api/v1/analyses", "", `{"configName":"steady","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2024-01-01T00:00:00Z","lifetime":"30m","interval":"5m","lookback":"10m"}`, &e); code != 400 || !strings.HasPrefix(e.Error, "lookback: ") {
		t.Errorf("a lookback with an anytime config: %d %s; want 400 naming lookback", code, body)
	}
}

// TestResumeAnytimeFromEvidence resumes multi-interval anytime analyses a
// stopped server recorded three judgements of: the resumed run keeps the
// recorded judgements, judges on with the references they recorded (a
// reference altered in the store is the one the rest of the run uses: it
// continues from the stored evidence, it does not recompute it), and, from
// the evidence as recorded, ends exactly as the uninterrupted run.
func TestResumeAnytimeFromEvidence(t *testing.T) { forEachStore(t, testResumeAnytimeFromEvidence) }

func testResumeAnytimeFromEvidence(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	cfg := strings.Replace(anytimeSteady, "allowedChange: 5%", "allowedChange: 3%", 1)
	putConfigs(t, ts, map[string]string{"steady": cfg})
	plan := runner.Plan{Scopes: sampleScopes(), Start: e2eStart, End: e2eStart.Add(40 * time.Minute), Step: 15 * time.Second, Lifetime: 40 * time.Minute, Interval: 5 * time.Minute}
	wait := func(id string) analysisView {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second) // a hang guard
		for {
			var v analysisView
			ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v)
			if v.Status.Terminal() || time.Now().After(deadline) {
				return v
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var started struct{ ID string }
	if code, body := ts.call(t, "POST", "/api/v1/analyses", "", `{"configName":"steady","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2024-01-01T00:00:00Z","lifetime":"40m","interval":"5m","step":"15s"}`, &started); code != 202 {
		t.Fatalf("POST: %d %s", code, body)
	}
	whole := wait(started.ID)
	var wholeIntervals []analysis.IntervalResult
	if err := json.Unmarshal(whole.Intervals, &wholeIntervals); err != nil || whole.Verdict == "" || len(wholeIntervals) < 4 {
		t.Fatalf("uninterrupted: %s %s after %s", whole.Status, whole.Verdict, whole.Intervals)
	}
	wholeReport := storedReport(t, ts, started.ID)
	t.Logf("uninterrupted: %s after %d of 8 judgements", whole.Verdict, len(wholeIntervals))

	crashed := func(scale float64) string {
		t.Helper()
		recorded := make([]analysis.IntervalResult, 3)
		for i := range recorded {
			recorded[i] = wholeIntervals[i]
			recorded[i].References = map[string]float64{}
			for k, v := range wholeIntervals[i].References {
				recorded[i].References[k] = v * scale
			}
		}
		recorded[0].Reason = "recorded before the restart"
		js, _ := json.Marshal(recorded)
		req, _ := json.Marshal(plan)
		a := &store.Analysis{ID: store.NewID(), ConfigName: "steady", Config: []byte(cfg), Request: req, Origin: "api", Status: store.Running,
			Progress: store.Progress{Done: 3, Total: 8}, Intervals: js}
		if err := ts.store.CreateAnalysis(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	same, altered := crashed(1), crashed(4)
	if resumed, _, err := ts.Runner().Resume(t.Context()); err != nil || resumed != 2 {
		t.Fatalf("Resume: %d, %v; want both resumed", resumed, err)
	}
	for _, tc := range []struct {
		id    string
		scale float64
	}{{same, 1}, {altered, 4}} {
		v := wait(tc.id)
		var got []analysis.IntervalResult
		if err := json.Unmarshal(v.Intervals, &got); err != nil || len(got) < 3 {
			t.Fatalf("resumed (references ×%g): %s %s after %s", tc.scale, v.Status, v.Verdict, v.Intervals)
		}
		if got[0].Reason != "recorded before the restart" {
			t.Errorf("resumed (references ×%g): the first judgement was judged again: %+v", tc.scale, got[0])
		}
		rep := storedReport(t, ts, tc.id)
		for i, s := range rep.Signals {
			want := wholeReport.Signals[i].Test.Reference * tc.scale
			if s.Test == nil || s.Test.Reference != want {
				t.Errorf("resumed (references ×%g): %s's reference %v; want the stored %v", tc.scale, s.Name, s.Test, want)
			}
		}
		if tc.scale != 1 {
			continue
		}
		if v.Status != whole.Status || v.Verdict != whole.Verdict || len(got) != len(wholeIntervals) || rep.Reason != wholeReport.Reason {
			t.Errorf("resumed: %s %s after %d (%s); want %s %s after %d (%s)", v.Status, v.Verdict, len(got), rep.Reason, whole.Status, whole.Verdict, len(wholeIntervals), wholeReport.Reason)
		}
		for i := 1; i < min(len(got), len(wholeIntervals)); i++ {
			if got[i].Verdict != wholeIntervals[i].Verdict || got[i].Reason != wholeIntervals[i].Reason {
				t.Errorf("resumed: judgement %d %+v; want %+v", i+1, got[i], wholeIntervals[i])
			}
		}
	}
}

// anytimeKnown is anytimeSteady with its horizon known.
var anytimeKnown = strings.Replace(strings.Replace(anytimeSteady, "name: steady", "name: known", 1), "sequential: anytime\nhorizon: 30m\n", "sequential: {mode: anytime, horizon: 30m}\n", 1)

// TestArgoKnownHorizonLooks: the looks at a canary of a config whose
// horizon is known spend the level over it: each look's decision says so,
// the stored evidence keeps the signal's looks (one more per look, at its
// share of the horizon), and a second server on the same store (a
// restart) continues them.
func TestArgoKnownHorizonLooks(t *testing.T) { forEachStore(t, testArgoKnownHorizonLooks) }

func testArgoKnownHorizonLooks(t *testing.T, kind storeKind) {
	clock := &lookClock{}
	ts := anytimeServer(t, kind, clock)
	putConfigs(t, ts, map[string]string{"known": anytimeKnown})
	key := analysis.EvidenceKey(analysis.Scopes{Baseline: map[string]string{"track": "baseline"}, Canary: map[string]string{"track": "canary"}}, "")
	// The stored document with looks (analysis/runner's evidenceDoc).
	type evidenceDoc struct {
		HorizonLooks map[string][]judge.HorizonLook `json:"horizonLooks"`
	}
	stored := func() evidenceDoc {
		t.Helper()
		e, err := ts.store.GetEvidence(t.Context(), "known", key)
		if err != nil {
			t.Fatal(err)
		}
		var doc evidenceDoc
		if err := json.Unmarshal(e.References, &doc); err != nil {
			t.Fatalf("the stored evidence %s: %v", e.References, err)
		}
		return doc
	}
	for look, minute := 1, 5; minute <= 15; look, minute = look+1, minute+5 {
		clock.set(e2eStart.Add(time.Duration(minute) * time.Minute))
		ans := argoLook(t, ts, "known", "track=canary")
		rep := storedReport(t, ts, ans.ID)
		if !strings.Contains(rep.Signals[0].Reason, "known horizon") {
			t.Errorf("minute %d: %q; want a decision over the known horizon", minute, rep.Signals[0].Reason)
		}
		looks := stored().HorizonLooks["errors"]
		if len(looks) != look || looks[look-1].Elapsed != float64(minute)/30 {
			t.Fatalf("minute %d: stored looks %+v; want %d, the last at %g of the horizon", minute, looks, look, float64(minute)/30)
		}
	}
	other, err := New(Options{Store: ts.store, Logger: quiet, Sources: ts.opt.Sources, Now: clock.now, InstanceID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(other.Handler())
	defer func() { hs.Close(); other.Close() }()
	clock.set(e2eStart.Add(20 * time.Minute))
	argoLook(t, &testServer{Server: other, URL: hs.URL, store: ts.store}, "known", "track=canary")
	if looks := stored().HorizonLooks["errors"]; len(looks) != 4 || looks[3].Elapsed != 20.0/30 {
		t.Errorf("after the other server's look: stored looks %+v; want the 4th at %g", looks, 20.0/30)
	}
}
