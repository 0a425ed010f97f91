package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/kayenta"
)

// standaloneDoc is the part of CanaryAnalysisExecutionStatusResponse the
// tests read, with Kayenta's field names.
type standaloneDoc struct {
	Application     string `json:"application"`
	User            string `json:"user"`
	PipelineID      string `json:"pipelineId"`
	Complete        bool   `json:"complete"`
	ExecutionStatus string `json:"executionStatus"`
	Status          string `json:"status"`
	CanaryConfigID  string `json:"canaryConfigId"`
	StageStatus     []struct {
		Type        string `json:"type"`
		Name        string `json:"name"`
		Status      string `json:"status"`
		ExecutionID string `json:"executionId"`
	} `json:"stageStatus"`
	Result *struct {
		DidPassThresholds      bool      `json:"didPassThresholds"`
		CanaryScoreMessage     string    `json:"canaryScoreMessage"`
		CanaryScores           []float64 `json:"canaryScores"`
		CanaryExecutionResults []struct {
			ExecutionID            string `json:"executionId"`
			ExecutionStatus        string `json:"executionStatus"`
			JudgementStartTimeIso  string `json:"judgementStartTimeIso"`
			JudgementEndTimeIso    string `json:"judgementEndTimeIso"`
			JudgementEndTimeMillis int64  `json:"judgementEndTimeMillis"`
			Result                 struct {
				JudgeResult struct {
					JudgeName string `json:"judgeName"`
					Score     struct {
						Score          float64 `json:"score"`
						Classification string  `json:"classification"`
					} `json:"score"`
				} `json:"judgeResult"`
				CanaryDuration string `json:"canaryDuration"`
			} `json:"result"`
		} `json:"canaryExecutionResults"`
	} `json:"canaryAnalysisExecutionResult"`
	Request struct {
		AnalysisIntervalMins int64          `json:"analysisIntervalMins"`
		SiteLocal            map[string]any `json:"siteLocal"`
	} `json:"canaryAnalysisExecutionRequest"`
	MetricsAccountName string `json:"metricsAccountName"`
}

func waitStandalone(t *testing.T, ts *testServer, id string) (standaloneDoc, string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var doc standaloneDoc
		code, raw := ts.call(t, "GET", "/standalone_canary_analysis/"+id, "", nil, &doc)
		if code != 200 {
			t.Fatalf("GET standalone %s: %d %s", id, code, raw)
		}
		if doc.Complete || time.Now().After(deadline) {
			return doc, raw
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKayentaStandaloneAnalysis runs standalone analyses against a real
// Prometheus: the request a Kayenta client sends (replayed from
// testdata), judged three times over growing windows; a regression that
// stops after its first judgement; and the ad hoc form with a sliding
// lookback and Kayenta's own judge.
func TestKayentaStandaloneAnalysis(t *testing.T) { forEachStore(t, testKayentaStandaloneAnalysis) }

func testKayentaStandaloneAnalysis(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	putScopeConfigs(t, ts, "")

	for _, tc := range []struct {
		config, status string
		scores         []float64
		pass           bool
		message        string
		stages         []string // runCanary statuses
	}{
		{"healthy-scope", "SUCCEEDED", []float64{100, 100, 100}, true, "Final canary score 100.0 met or exceeded the pass score threshold.",
			[]string{"SUCCEEDED", "SUCCEEDED", "SUCCEEDED"}},
		{"regress-scope", "TERMINAL", []float64{50}, false, "Final canary score 50.0 is not above the marginal score threshold.",
			[]string{"TERMINAL", "SKIPPED", "SKIPPED"}},
	} {
		code, body := replay(t, ts, "kayenta-standalone-start", map[string]string{"configId": tc.config})
		var started struct {
			ID string `json:"canaryAnalysisExecutionId"`
		}
		if code != 200 || json.Unmarshal(body, &started) != nil || started.ID == "" {
			t.Fatalf("%s: start: %d %s", tc.config, code, body)
		}
		doc, raw := waitStandalone(t, ts, started.ID)
		r := doc.Result
		if !doc.Complete || doc.ExecutionStatus != tc.status || doc.Status != strings.ToLower(tc.status) || r == nil {
			t.Fatalf("%s: %s", tc.config, raw)
		}
		if r.DidPassThresholds != tc.pass || r.CanaryScoreMessage != tc.message || len(r.CanaryScores) != len(tc.scores) || len(r.CanaryExecutionResults) != len(tc.scores) {
			t.Errorf("%s: result %+v, want scores %v pass %v %q", tc.config, r, tc.scores, tc.pass, tc.message)
		}
		for i, want := range tc.scores {
			if i >= len(r.CanaryScores) || i >= len(r.CanaryExecutionResults) {
				break
			}
			if r.CanaryScores[i] != want {
				t.Errorf("%s: judgement %d scored %v, want %v", tc.config, i+1, r.CanaryScores[i], want)
			}
			cr := r.CanaryExecutionResults[i]
			// Growing windows from 00:00: 15, 30, 45 minutes.
			end := e2eStart.Add(time.Duration(15*(i+1)) * time.Minute)
			if cr.JudgementStartTimeIso != "2024-01-01T00:00:00Z" || cr.JudgementEndTimeIso != kayenta.FormatInstant(end) ||
				cr.JudgementEndTimeMillis != end.UnixMilli() || cr.ExecutionStatus != "SUCCEEDED" ||
				cr.Result.JudgeResult.Score.Score != want || cr.ExecutionID != fmt.Sprintf("%s.%d", started.ID, i+1) {
				t.Errorf("%s: judgement %d = %+v", tc.config, i+1, cr)
			}
		}
		var runs []string
		for _, st := range doc.StageStatus {
			if st.Type == "runCanary" {
				runs = append(runs, st.Status)
			}
		}
		if strings.Join(runs, ",") != strings.Join(tc.stages, ",") {
			t.Errorf("%s: runCanary stages %v, want %v", tc.config, runs, tc.stages)
		}
		if doc.User != "sre@example.com" || doc.Application != "shop" || doc.CanaryConfigID != tc.config || doc.MetricsAccountName != "prom-account" ||
			doc.Request.AnalysisIntervalMins != 15 || doc.Request.SiteLocal["slack"] != "#canaries" {
			t.Errorf("%s: echoed fields: %s", tc.config, raw)
		}
		// A standalone id is not a /canary execution, and back.
		if code, body := ts.call(t, "GET", "/canary/"+started.ID, "", nil, nil); code != 404 || !strings.Contains(body, "standalone_canary_analysis") {
			t.Errorf("GET /canary/<standalone id>: %d %s", code, body)
		}
	}

	// Ad hoc, Kayenta's judge, sliding 10-minute windows ending at 00:20 and
	// 00:40 (it stops after the first: the latency regression fails).
	exec := map[string]any{
		"scopes":               []map[string]any{{"controlScope": "baseline", "experimentScope": "canary", "startTimeIso": "2024-01-01T00:00:00Z", "endTimeIso": "2024-01-01T00:40:00Z", "step": 15}},
		"thresholds":           map[string]float64{"pass": 95, "marginal": 75},
		"analysisIntervalMins": 20, "lookbackMins": 10,
	}
	cfg := json.RawMessage(`{"name":"adhoc","judge":{"name":"NetflixACAJudge-v1.0"},"metrics":[{"name":"latency","query":{"type":"prometheus","customInlineTemplate":"PromQL:app_latency_ms{track=\"${scope}\"}"},
		"groups":["latency"],"scopeName":"default","analysisConfigurations":{"canary":{"direction":"increase"}}}],"classifier":{"groupWeights":{"latency":100}}}`)
	var started struct {
		ID string `json:"canaryAnalysisExecutionId"`
	}
	if code, body := ts.call(t, "POST", "/standalone_canary_analysis", "", map[string]any{"canaryConfig": cfg, "executionRequest": exec}, &started); code != 200 || started.ID == "" {
		t.Fatalf("ad hoc: %d %s", code, body)
	}
	doc, raw := waitStandalone(t, ts, started.ID)
	if doc.ExecutionStatus != "TERMINAL" || doc.Application != "ad-hoc" || doc.User != "anonymous" || doc.Result == nil || len(doc.Result.CanaryExecutionResults) != 1 {
		t.Fatalf("ad hoc: %s", raw)
	}
	cr := doc.Result.CanaryExecutionResults[0]
	if cr.JudgementStartTimeIso != "2024-01-01T00:10:00Z" || cr.JudgementEndTimeIso != "2024-01-01T00:20:00Z" || cr.Result.CanaryDuration != "PT10M" ||
		cr.Result.JudgeResult.JudgeName != "NetflixACAJudge-v1.0" || cr.Result.JudgeResult.Score.Classification != "Fail" {
		t.Errorf("ad hoc judgement: %+v", cr)
	}
	if !strings.Contains(raw, `"canaryConfig":{`) {
		t.Errorf("the ad hoc config is not echoed: %s", raw)
	}

	// Refused requests name the field; an analysis that is not standalone
	// is not served here.
	for _, tc := range []struct{ body, want string }{
		{`{"scopes":[{"controlScope":"baseline","experimentScope":"canary","controlOffsetInMinutes":60}],"thresholds":{"pass":95,"marginal":75},"lifetimeDurationMins":10}`, "controlOffsetInMinutes"},
		{`{"scopes":[{"controlScope":"baseline","experimentScope":"canary"}],"thresholds":{"pass":95,"marginal":75}}`, "lifetimeDuration"},
		{`{"scopes":[],"thresholds":{"pass":95,"marginal":75},"lifetimeDurationMins":10}`, "at least one scope"},
	} {
		var e errorBody
		if code, body := ts.call(t, "POST", "/standalone_canary_analysis/healthy-scope", "", tc.body, &e); code != 400 || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.body, code, body, tc.want)
		}
	}
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?config=healthy&limit=1", "", nil, &list)
	code, body := ts.call(t, "POST", "/api/v1/analyses", "", `{"configName":"healthy","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:10:00Z"}`, nil)
	var plain struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &plain); code != 202 || err != nil {
		t.Fatalf("POST analyses: %d %s", code, body)
	}
	if code, body := ts.call(t, "GET", "/standalone_canary_analysis/"+plain.ID, "", nil, nil); code != 404 {
		t.Errorf("GET standalone of a plain analysis: %d %s", code, body)
	}
}
