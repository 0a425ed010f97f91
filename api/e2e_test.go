package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
)

// e2eStart is the start of the test data (2024-01-01T00:00:00Z); an hour of
// points every 15 s follows.
var e2eStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// openMetrics writes the test dataset: for each track, a latency gauge
// (baseline ≈ 100 ms, canary ≈ 130 ms: a clear regression) and an
// error-ratio gauge drawn from the same distribution on both tracks
// (healthy). The wiggle is a fixed LCG, so the data is the same every run.
func openMetrics(start time.Time, points int) string {
	var b strings.Builder
	state := uint32(7)
	noise := func() float64 {
		state = state*1664525 + 1013904223
		return float64(state>>8)/float64(1<<24) - 0.5
	}
	level := map[string]float64{"baseline": 100, "canary": 130}
	b.WriteString("# TYPE app_latency_ms gauge\n")
	for _, track := range []string{"baseline", "canary"} {
		for i := range points {
			fmt.Fprintf(&b, "app_latency_ms{track=%q} %.3f %d\n", track, level[track]+20*noise(), start.Unix()+int64(15*i))
		}
	}
	b.WriteString("# TYPE app_error_ratio gauge\n")
	for _, track := range []string{"baseline", "canary"} {
		for i := range points {
			fmt.Fprintf(&b, "app_error_ratio{track=%q} %.5f %d\n", track, 0.01+0.004*noise(), start.Unix()+int64(15*i))
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

const liveRegress = `name: regress
thresholds: {pass: 95, marginal: 75}
signals:
  - name: latency
    query: 'app_latency_ms{track="{{.track}}"}'
    direction: increase
    allowedChange: 10%
  - name: errors
    query: 'app_error_ratio{track="{{.track}}"}'
    direction: increase
    allowedChange: 20%
`

const liveHealthy = `name: healthy
signals:
  - name: errors
    query: 'app_error_ratio{track="{{.track}}"}'
    direction: increase
    allowedChange: 20%
`

// jsonPath evaluates the simple JSONPath forms an AnalysisTemplate uses,
// "{$.a.b}", the way Argo's web provider does: a string result is used
// as is, anything else as its JSON text.
func jsonPath(t *testing.T, doc []byte, path string) string {
	t.Helper()
	p := strings.TrimSuffix(strings.TrimPrefix(path, "{$."), "}")
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	for _, key := range strings.Split(p, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %q is not an object", path, key)
		}
		v = m[key]
	}
	if s, ok := v.(string); ok {
		return s
	}
	js, _ := json.Marshal(v)
	return string(js)
}

// liveServer is a server on a fresh store of kind reading a Prometheus that
// serves the test dataset, with the regress and healthy configs.
func liveServer(t *testing.T, kind storeKind) *testServer {
	t.Helper()
	return liveServerWith(t, kind, Options{})
}

// liveServerWith is liveServer with more options.
func liveServerWith(t *testing.T, kind storeKind, opt Options) *testServer {
	t.Helper()
	// "Now" is 50 minutes into the data, so trailing windows have data.
	now := e2eStart.Add(50 * time.Minute)
	opt.Sources, opt.Now = promSources(t, e2ePrometheus(t)), func() time.Time { return now }
	ts := newTestServerOn(t, kind, opt)
	for name, cfg := range map[string]string{"regress": liveRegress, "healthy": liveHealthy} {
		if code, body := ts.call(t, "PUT", "/api/v1/configs/"+name, "", cfg, nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", name, code, body)
		}
	}
	return ts
}

func TestArgoWebProvider(t *testing.T) { forEachStore(t, testArgoWebProvider) }

func testArgoWebProvider(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	for _, tc := range []struct {
		config, canary, want string
		// condition is what the documented AnalysisTemplate concludes.
		condition string
	}{
		{"regress", "track=canary", "fail", "Failed"},
		{"healthy", "track=canary", "pass", "Successful"},
		{"healthy", "track=gone", "none", "Inconclusive"},
	} {
		q := url.Values{"baseline": {"track=baseline"}, "canary": {tc.canary}, "lookback": {"30m"}, "step": {"15s"}}
		code, body := ts.call(t, "GET", "/api/v1/argo/"+tc.config+"?"+q.Encode(), "", nil, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", tc.config, code, body)
		}
		result := jsonPath(t, []byte(body), "{$.verdict}")
		phase := "Inconclusive"
		switch {
		case result == "pass": // successCondition: result == "pass"
			phase = "Successful"
		case result == "fail": // failureCondition: result == "fail"
			phase = "Failed"
		}
		if result != tc.want || phase != tc.condition {
			t.Errorf("%s canary %s: verdict %q (%s), want %q (%s): %s", tc.config, tc.canary, result, phase, tc.want, tc.condition, body)
		}
		if u := jsonPath(t, []byte(body), "{$.reportURL}"); !strings.Contains(u, "/analyses/") {
			t.Errorf("reportURL %q", u)
		}
	}
	// Every Argo judgement is stored.
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?config=regress&verdict=fail", "", nil, &list)
	if len(list.Analyses) != 1 || list.Analyses[0].Origin != "argo" || list.Analyses[0].Status != "finished" {
		t.Errorf("stored argo analyses = %+v", list.Analyses)
	}
}

func TestFlaggerWebhook(t *testing.T) { forEachStore(t, testFlaggerWebhook) }

func testFlaggerWebhook(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	for _, tc := range []struct {
		name, config string
		metadata     map[string]string
		want         int
		verdict      string
	}{
		{"regression halts", "regress", map[string]string{"baseline.track": "baseline", "canary.track": "canary", "lookback": "30m", "step": "15s"}, 412, "fail"},
		{"healthy proceeds", "healthy", map[string]string{"baseline.track": "baseline", "canary.track": "canary", "lookback": "30m", "step": "15s"}, 200, "pass"},
		{"no data is not a pass", "healthy", map[string]string{"baseline.track": "baseline", "canary.track": "gone", "lookback": "30m"}, 424, "none"},
	} {
		payload := map[string]any{"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": "abc", "metadata": tc.metadata}
		var ans verdictAnswer
		code, body := ts.call(t, "POST", "/api/v1/flagger/"+tc.config, "", payload, &ans)
		if code != tc.want || ans.Verdict != tc.verdict || ans.Reason == "" {
			t.Errorf("%s: %d %q, want %d %q: %s", tc.name, code, ans.Verdict, tc.want, tc.verdict, body)
		}
	}
}

func TestKayentaStartAndPoll(t *testing.T) { forEachStore(t, testKayentaStartAndPoll) }

func testKayentaStartAndPoll(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	scope := func(s string) map[string]any {
		return map[string]any{"scope": s, "location": "eu", "start": "2024-01-01T00:10:00Z", "end": "2024-01-01T00:50:00Z", "step": 15,
			"extendedScopeParams": map[string]string{"track": s}}
	}
	req := map[string]any{
		"scopes":     map[string]any{"default": map[string]any{"controlScope": scope("baseline"), "experimentScope": scope("canary")}},
		"thresholds": map[string]float64{"pass": 95, "marginal": 75},
	}
	for _, tc := range []struct {
		config    string
		wantScore float64
		wantClass string
	}{
		{"healthy", 100, "Pass"},
		{"regress", 50, "Fail"},
	} {
		var started struct {
			ID string `json:"canaryExecutionId"`
		}
		code, body := ts.call(t, "POST", "/canary/"+tc.config+"?application=shop", "", req, &started)
		if code != 200 || started.ID == "" {
			t.Fatalf("start: %d %s", code, body)
		}
		var raw string
		deadline := time.Now().Add(30 * time.Second)
		for {
			var st struct {
				Complete bool `json:"complete"`
			}
			_, raw = ts.call(t, "GET", "/canary/"+started.ID, "", nil, &st)
			if st.Complete || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Read the document the way Argo's kayenta provider does.
		var doc struct {
			Complete bool   `json:"complete"`
			Status   string `json:"status"`
			Result   struct {
				JudgeResult struct {
					Score struct {
						Score          float64 `json:"score"`
						Classification string  `json:"classification"`
					} `json:"score"`
					Results []struct {
						Name           string `json:"name"`
						Classification string `json:"classification"`
					} `json:"results"`
					GroupScores []struct {
						Name string `json:"name"`
					} `json:"groupScores"`
				} `json:"judgeResult"`
				CanaryDuration string `json:"canaryDuration"`
			} `json:"result"`
			Application string `json:"application"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatal(err)
		}
		s := doc.Result.JudgeResult.Score
		if !doc.Complete || doc.Status != "succeeded" || math.Abs(s.Score-tc.wantScore) > 1e-9 || s.Classification != tc.wantClass {
			t.Errorf("%s: complete %v status %q score %v %q, want %v %q:\n%s", tc.config, doc.Complete, doc.Status, s.Score, s.Classification, tc.wantScore, tc.wantClass, raw)
		}
		if doc.Result.CanaryDuration != "PT40M" || doc.Application != "shop" || len(doc.Result.JudgeResult.Results) == 0 {
			t.Errorf("%s: duration %q application %q results %d", tc.config, doc.Result.CanaryDuration, doc.Application, len(doc.Result.JudgeResult.Results))
		}
	}
}

func TestAnalysesLive(t *testing.T) { forEachStore(t, testAnalysesLive) }

func testAnalysesLive(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	post := func(body string) string {
		t.Helper()
		var got struct {
			ID string `json:"id"`
		}
		code, raw := ts.call(t, "POST", "/api/v1/analyses", "", body, &got)
		if code != 202 || got.ID == "" {
			t.Fatalf("POST analyses: %d %s", code, raw)
		}
		return got.ID
	}
	wait := func(id string) analysisView {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var v analysisView
			ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v)
			if v.Status.Terminal() || time.Now().After(deadline) {
				return v
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	scopes := `"baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"}`
	one := post(`{"configName":"regress",` + scopes + `,"start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:40:00Z","step":"15s"}`)
	multi := post(`{"configName":"healthy",` + scopes + `,"start":"2024-01-01T00:00:00Z","lifetime":"45m","interval":"15m","step":"15s"}`)

	v := wait(one)
	var rep struct {
		Verdict string `json:"verdict"`
		Window  struct {
			Start time.Time `json:"start"`
		} `json:"window"`
	}
	if err := json.Unmarshal(v.Report, &rep); err != nil {
		t.Fatalf("report: %v (%+v)", err, v)
	}
	if v.Status != "finished" || v.Verdict != "fail" || rep.Verdict != "fail" || !rep.Window.Start.Equal(e2eStart) || v.Progress.Done != 0 && v.Progress.Total != 1 {
		t.Errorf("single analysis = %+v, report verdict %q", v, rep.Verdict)
	}
	m := wait(multi)
	var intervals []struct {
		Index   int    `json:"index"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal(m.Intervals, &intervals); err != nil {
		t.Fatalf("intervals: %v (%+v)", err, m)
	}
	if m.Status != "finished" || m.Verdict != "pass" || m.Progress.Done != 3 || m.Progress.Total != 3 || len(intervals) != 3 {
		t.Errorf("multi-interval analysis = %+v", m)
	}

	code, body := ts.call(t, "POST", "/api/v1/analyses/"+one+"/cancel", "", nil, nil)
	if code != 409 {
		t.Errorf("cancelling a finished analysis: %d %s, want 409", code, body)
	}
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?status=finished&limit=1", "", nil, &list)
	if len(list.Analyses) != 1 {
		t.Errorf("limit=1 gave %d analyses", len(list.Analyses))
	}

	_, metrics := ts.call(t, "GET", "/metrics", "", nil, nil)
	for _, want := range []string{
		`verdict_analyses_total{origin="api",verdict="fail"} 1`,
		`verdict_analyses_total{origin="api",verdict="pass"} 1`,
		`verdict_last_score{config="healthy",scope="track=canary"} 100`,
		`verdict_query_duration_seconds_count{source="prometheus"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// promSources is a server's sources: the prometheus source at promURL,
// built as verdict serve builds it.
func promSources(t testing.TB, promURL string) analysis.SourceSet {
	t.Helper()
	set, err := (*analysis.ServerSources)(nil).Open(analysis.SourceOverrides{PrometheusURL: promURL})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestCancelRunningAnalysis(t *testing.T) { forEachStore(t, testCancelRunningAnalysis) }

func testCancelRunningAnalysis(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	var got struct {
		ID string `json:"id"`
	}
	// Its first interval ends in 2030: it waits, running, until cancelled.
	code, body := ts.call(t, "POST", "/api/v1/analyses", "", `{"configName":"healthy","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2030-01-01T00:00:00Z","lifetime":"1h","interval":"10m"}`, &got)
	if code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var v analysisView
		ts.call(t, "GET", "/api/v1/analyses/"+got.ID, "", nil, &v)
		if v.Status == "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var v analysisView
	if code, body := ts.call(t, "POST", "/api/v1/analyses/"+got.ID+"/cancel", "", nil, &v); code != 200 || v.Status != "cancelled" {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if code, _ := ts.call(t, "POST", "/api/v1/analyses/"+got.ID+"/cancel", "", nil, nil); code != 409 {
		t.Errorf("second cancel: %d, want 409", code)
	}
	// The worker stops and does not overwrite the cancellation.
	time.Sleep(200 * time.Millisecond)
	ts.call(t, "GET", "/api/v1/analyses/"+got.ID, "", nil, &v)
	if v.Status != "cancelled" || v.Verdict != "" {
		t.Errorf("after cancel: %+v", v)
	}
	if page := htmlPage(t, ts, "/analyses/"+got.ID); !strings.Contains(page, "cancelled") {
		t.Errorf("the analysis page does not say cancelled:\n%s", page)
	}
}

func htmlPage(t *testing.T, ts *testServer, path string) string {
	t.Helper()
	code, body := ts.call(t, "GET", path, "", nil, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

func TestResumeAfterRestart(t *testing.T) { forEachStore(t, testResumeAfterRestart) }

func testResumeAfterRestart(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	ctx := t.Context()
	mk := func(origin string, start time.Time) string {
		t.Helper()
		plan, _ := json.Marshal(runner.Plan{Scopes: sampleScopes(), Start: start, End: start.Add(40 * time.Minute), Step: 15 * time.Second})
		a := &store.Analysis{ID: store.NewID(), ConfigName: "regress", Config: []byte(liveRegress), Request: plan, Origin: origin, Status: store.Running}
		if err := ts.store.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	resumable := mk("api", e2eStart)
	tooOld := mk("api", e2eStart.Add(-48*time.Hour))
	synchronous := mk("argo", e2eStart)
	resumed, interrupted, err := ts.Runner().Resume(ctx)
	if err != nil || resumed != 1 || interrupted != 2 {
		t.Fatalf("Resume = %d, %d, %v; want 1 resumed, 2 interrupted", resumed, interrupted, err)
	}
	for _, tc := range []struct{ id, status, verdict, errPart string }{
		{tooOld, "interrupted", "", "beyond the resume horizon"},
		{synchronous, "interrupted", "", "caller waited synchronously"},
	} {
		var v analysisView
		ts.call(t, "GET", "/api/v1/analyses/"+tc.id, "", nil, &v)
		if string(v.Status) != tc.status || v.Verdict != tc.verdict || !strings.Contains(v.Error, tc.errPart) {
			t.Errorf("%s: %+v", tc.id, v)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	var v analysisView
	for {
		ts.call(t, "GET", "/api/v1/analyses/"+resumable, "", nil, &v)
		if v.Status.Terminal() || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v.Status != "finished" || v.Verdict != "fail" {
		t.Errorf("resumed analysis: %+v", v)
	}
	// Its report page is the HTML report with the verdict hook.
	if page := htmlPage(t, ts, "/analyses/"+resumable); !strings.Contains(page, `data-verdict="fail"`) {
		t.Errorf("report page lacks data-verdict=\"fail\"")
	}
	if page := htmlPage(t, ts, "/analyses?verdict=fail"); !strings.Contains(page, resumable) {
		t.Errorf("the list page lacks %s", resumable)
	}
	if page := htmlPage(t, ts, "/configs/regress"); !strings.Contains(page, resumable) || !strings.Contains(page, "app_latency_ms") {
		t.Errorf("the config page lacks the analysis or the config")
	}
}

func sampleScopes() analysis.Scopes {
	return analysis.Scopes{Baseline: map[string]string{"track": "baseline"}, Canary: map[string]string{"track": "canary"}}
}

// TestScheduledAnalysis runs a config's "@every 1s" schedule through the
// real scheduler: each firing stores an analysis of origin schedule,
// updates the metrics and pushes a verdict event to (a fake) Loki.
func TestScheduledAnalysis(t *testing.T) { forEachStore(t, testScheduledAnalysis) }

func testScheduledAnalysis(t *testing.T, kind storeKind) {
	var pushes atomic.Int32
	lokiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loki/api/v1/push" && r.Method == "POST" {
			pushes.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer lokiSrv.Close()
	server, err := analysis.ParseServerSources("sources.yaml", []byte("loki: {url: \""+lokiSrv.URL+"\", pushURL: \""+lokiSrv.URL+"\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	events, err := server.EventPusher(quiet)
	if err != nil {
		t.Fatal(err)
	}
	ts := liveServerWith(t, kind, Options{Events: events})
	cfg := liveRegress + `schedules:
  - cron: "@every 1s"
    baselineScope: {track: baseline}
    canaryScope: {track: canary}
    lookback: 30m
    step: 15s
`
	cfg = strings.Replace(cfg, "name: regress", "name: scheduled", 1)
	if code, body := ts.call(t, "PUT", "/api/v1/configs/scheduled", "", cfg, nil); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	configs, err := ts.Configs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sched, err := schedule.New(configs, schedule.Hooks{Run: ts.Runner().RunSchedule, Outcome: func(j schedule.Job, o string) { ts.Metrics().ScheduleRun(j.Config, o) }}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if sched.Len() != 1 {
		t.Fatalf("%d scheduled jobs, want 1", sched.Len())
	}
	sched.Start()
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ts.call(t, "GET", "/api/v1/analyses?config=scheduled&status=finished", "", nil, &list)
		if len(list.Analyses) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := sched.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(list.Analyses) < 2 || list.Analyses[0].Origin != "schedule" || list.Analyses[0].Verdict != "fail" {
		t.Fatalf("scheduled analyses = %+v", list.Analyses)
	}
	_, metrics := ts.call(t, "GET", "/metrics", "", nil, nil)
	for _, want := range []string{`verdict_schedule_runs_total{config="scheduled",outcome="ran"}`, `verdict_analyses_total{origin="schedule",verdict="fail"}`, `verdict_last_score{config="scheduled",scope="track=canary"} 50`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	ts.Close() // flushes the pushers
	if pushes.Load() == 0 {
		t.Errorf("no verdict event reached Loki")
	}
}

// TestKayentaAdhoc posts an inline Kayenta canary config (converted to
// judge: kayenta) and reads Kayenta's own judge result back; a config that
// cannot be converted completely is refused.
func TestKayentaAdhoc(t *testing.T) { forEachStore(t, testKayentaAdhoc) }

func testKayentaAdhoc(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	scope := func(s string) map[string]any {
		return map[string]any{"scope": s, "start": "2024-01-01T00:10:00Z", "end": "2024-01-01T00:50:00Z", "step": 15}
	}
	exec := map[string]any{
		"scopes":     map[string]any{"default": map[string]any{"controlScope": scope("baseline"), "experimentScope": scope("canary")}},
		"thresholds": map[string]float64{"pass": 95, "marginal": 75},
	}
	metric := func(extra string) string {
		return `{"name":"latency","query":{"type":"prometheus","customInlineTemplate":"PromQL:app_latency_ms{track=\"${scope}\"}"` + extra + `},
			"groups":["latency"],"scopeName":"default","analysisConfigurations":{"canary":{"direction":"increase"}}}`
	}
	cfg := func(extra string) json.RawMessage {
		return json.RawMessage(`{"name":"adhoc","judge":{"name":"NetflixACAJudge-v1.0"},"metrics":[` + metric(extra) + `],"classifier":{"groupWeights":{"latency":100}}}`)
	}
	var e errorBody
	code, body := ts.call(t, "POST", "/canary", "", map[string]any{"canaryConfig": cfg(`,"groupByFields":["pod"]`), "executionRequest": exec}, &e)
	if code != 400 || !strings.Contains(e.Error, "groupByFields") {
		t.Errorf("a lossy config: %d %s, want 400 naming groupByFields", code, body)
	}
	var started struct {
		ID string `json:"canaryExecutionId"`
	}
	code, body = ts.call(t, "POST", "/canary", "", map[string]any{"canaryConfig": cfg(""), "executionRequest": exec}, &started)
	if code != 200 || started.ID == "" {
		t.Fatalf("ad hoc start: %d %s", code, body)
	}
	var doc struct {
		Complete bool   `json:"complete"`
		Status   string `json:"status"`
		Result   struct {
			JudgeResult struct {
				JudgeName string `json:"judgeName"`
				Results   []struct {
					Classification string `json:"classification"`
				} `json:"results"`
				Score struct {
					Score          float64 `json:"score"`
					Classification string  `json:"classification"`
				} `json:"score"`
			} `json:"judgeResult"`
		} `json:"result"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ts.call(t, "GET", "/canary/"+started.ID, "", nil, &doc)
		if doc.Complete || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	jr := doc.Result.JudgeResult
	if doc.Status != "succeeded" || jr.JudgeName != "NetflixACAJudge-v1.0" || jr.Score.Score != 0 || jr.Score.Classification != "Fail" ||
		len(jr.Results) != 1 || jr.Results[0].Classification != "High" {
		t.Errorf("ad hoc result = %+v", doc)
	}
}
