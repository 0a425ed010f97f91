package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/newrelictest"
)

// TestNewRelicSource: verdict serve's newrelic source (key and account
// from its environment) refuses a scope value a NRQL string cannot hold
// with a 400 before New Relic hears of it, runs a plain one, and when
// New Relic refuses the key the analysis ends with the refusal in one
// sentence; the key appears in no answer.
func TestNewRelicSource(t *testing.T) {
	const key = "NRAK-APITESTKEY0123456789ABCDEFGHIJ"
	nr := newrelictest.Start(t, "NRAK-ANOTHERKEY", 42)
	t.Setenv(analysis.EnvNewRelicAPIKey, key)
	t.Setenv(analysis.EnvNewRelicAccountID, "42")
	ts := newSourcesServer(t, fmt.Sprintf("nr:\n  type: newrelic\n  url: %s\n  retries: -1\n", nr.URL))
	config := `{"name":"nr","signals":[{"name":"cpu","source":"nr","query":"SELECT average(cpu) FROM Metric WHERE track = '{{.track}}' TIMESERIES {{.step}}"}]}`
	answers := checkTrackValuesRefused(t, ts, config, []string{"canary' OR track = 'baseline", `canary\`}, "cannot be placed in a NRQL string")
	if n := len(nr.Requests()); n != 0 {
		t.Fatalf("New Relic received %d requests for refused scopes", n)
	}
	var started struct {
		ID string `json:"id"`
	}
	if code, answer := startTrackAnalysis(t, ts, config, "canary-2", &started); code != 202 {
		t.Fatalf("track=canary-2: %d %s, want 202", code, answer)
	}
	answers = append(answers, waitAnalysisEnd(t, ts, started.ID)...)
	all := strings.Join(answers, "\n")
	if !strings.Contains(all, "New Relic refused the API key") {
		t.Errorf("no answer says New Relic refused the key: %s", all)
	}
	if reqs := nr.Requests(); len(reqs) == 0 || reqs[0].Header.Get("API-Key") != key || reqs[0].Variables["accountId"] != float64(42) {
		t.Errorf("New Relic did not receive the environment's key and account")
	}
	if strings.Contains(all, key) {
		t.Errorf("the key appears in an answer")
	}
}
