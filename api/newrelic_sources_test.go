package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
	f, err := analysis.ParseServerSources("sources.yaml", []byte(fmt.Sprintf("nr:\n  type: newrelic\n  url: %s\n  retries: -1\n", nr.URL)))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Open(analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{Sources: set, Now: func() time.Time { return e2eStart.Add(50 * time.Minute) }})
	config := `{"name":"nr","signals":[{"name":"cpu","source":"nr","query":"SELECT average(cpu) FROM Metric WHERE track = '{{.track}}' TIMESERIES {{.step}}"}]}`
	var answers []string
	for _, evil := range []string{"canary' OR track = 'baseline", `canary\`} {
		body := fmt.Sprintf(`{"config":%s,"baselineScope":{"track":"baseline"},"canaryScope":{"track":%q},"lookback":"10m"}`, config, evil)
		code, answer := ts.call(t, "POST", "/api/v1/analyses", "", body, nil)
		answers = append(answers, answer)
		if code != 400 || !strings.Contains(answer, "signals[0].query: canary scope") || !strings.Contains(answer, "cannot be placed in a NRQL string") {
			t.Errorf("track=%q: %d %s, want 400 naming signals[0].query", evil, code, answer)
		}
	}
	if n := len(nr.Requests()); n != 0 {
		t.Fatalf("New Relic received %d requests for refused scopes", n)
	}
	body := fmt.Sprintf(`{"config":%s,"baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary-2"},"lookback":"10m"}`, config)
	var started struct {
		ID string `json:"id"`
	}
	if code, answer := ts.call(t, "POST", "/api/v1/analyses", "", body, &started); code != 202 {
		t.Fatalf("track=canary-2: %d %s, want 202", code, answer)
	}
	var v analysisView
	deadline := time.Now().Add(time.Minute) // a hang guard
	for !v.Status.Terminal() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		_, answer := ts.call(t, "GET", "/api/v1/analyses/"+started.ID, "", nil, &v)
		answers = append(answers, answer)
	}
	if !v.Status.Terminal() {
		t.Fatalf("analysis still %s after a minute", v.Status)
	}
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
