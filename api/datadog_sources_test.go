package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/datadogtest"
)

// TestDatadogSource: verdict serve's datadog source (keys from its
// environment) refuses a scope value a tag filter cannot hold with a 400
// before Datadog hears of it, runs a plain one, and when Datadog refuses
// the keys the analysis ends with the refusal in one sentence; neither
// key appears in any answer.
func TestDatadogSource(t *testing.T) {
	const apiKey, appKey = "9c1e5ad7e8a94e0c9a3b6d0f2e4c8b1a", "7d2f0b3e6a1c4e8b9d5a2f7c0e3b6d9a1c4e7f20"
	dd := datadogtest.Start(t, "another-api-key", "another-app-key")
	t.Setenv(analysis.EnvDatadogAPIKey, apiKey)
	t.Setenv(analysis.EnvDatadogAppKey, appKey)
	ts := newSourcesServer(t, fmt.Sprintf("dd:\n  type: datadog\n  url: %s\n  retries: -1\n", dd.URL))
	config := `{"name":"dd","signals":[{"name":"cpu","source":"dd","query":"avg:checkout.cpu{track:{{.track}}}"}]}`
	answers := checkTrackValuesRefused(t, ts, config, []string{"canary*", "canary,env:prod", "canary}", "canary OR track:baseline"}, "only ASCII letters, digits")
	if n := len(dd.Requests()); n != 0 {
		t.Fatalf("Datadog received %d requests for refused scopes", n)
	}
	var started struct {
		ID string `json:"id"`
	}
	if code, answer := startTrackAnalysis(t, ts, config, "canary-2", &started); code != 202 {
		t.Fatalf("track=canary-2: %d %s, want 202", code, answer)
	}
	answers = append(answers, waitAnalysisEnd(t, ts, started.ID)...)
	_, report := ts.call(t, "GET", "/api/v1/analyses/"+started.ID+"/report", "", nil, nil)
	answers = append(answers, report)
	all := strings.Join(answers, "\n")
	if !strings.Contains(all, "Datadog refused the keys (Forbidden)") {
		t.Errorf("no answer says Datadog refused the keys: %s", all)
	}
	for _, r := range dd.Requests() {
		if r.Header.Get("DD-API-KEY") != apiKey {
			t.Errorf("Datadog received API key %q, want the environment's", r.Header.Get("DD-API-KEY"))
		}
	}
	for _, k := range []string{apiKey, appKey} {
		if strings.Contains(all, k) {
			t.Errorf("a key appears in an answer")
		}
	}
}
