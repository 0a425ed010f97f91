package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

// newSourcesServer starts a test server whose sources are the sources
// file sourcesYAML, at 50 minutes into e2eStart's hour.
func newSourcesServer(t *testing.T, sourcesYAML string) *testServer {
	t.Helper()
	f, err := analysis.ParseServerSources("sources.yaml", []byte(sourcesYAML))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Open(analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, Options{Sources: set, Now: func() time.Time { return e2eStart.Add(50 * time.Minute) }})
}

// startTrackAnalysis posts an analysis of the inline config over the last
// 10 minutes, the baseline's scope track=baseline and the canary's
// track=canaryTrack, decoding a 202's answer into out (when not nil).
func startTrackAnalysis(t *testing.T, ts *testServer, config, canaryTrack string, out any) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"config":%s,"baselineScope":{"track":"baseline"},"canaryScope":{"track":%q},"lookback":"10m"}`, config, canaryTrack)
	return ts.call(t, "POST", "/api/v1/analyses", "", body, out)
}

// checkTrackValuesRefused checks that each canary track value is a 400
// naming the signal's query and holding why, and returns the answers.
func checkTrackValuesRefused(t *testing.T, ts *testServer, config string, values []string, why string) []string {
	t.Helper()
	var answers []string
	for _, evil := range values {
		code, answer := startTrackAnalysis(t, ts, config, evil, nil)
		answers = append(answers, answer)
		if code != 400 || !strings.Contains(answer, "signals[0].query: canary scope") || !strings.Contains(answer, why) {
			t.Errorf("track=%q: %d %s, want 400 naming signals[0].query and saying %q", evil, code, answer, why)
		}
	}
	return answers
}

// waitAnalysisEnd polls an analysis until it ends (a minute at most, a
// hang guard) and returns every answer it got.
func waitAnalysisEnd(t *testing.T, ts *testServer, id string) []string {
	t.Helper()
	var (
		v       analysisView
		answers []string
	)
	deadline := time.Now().Add(time.Minute)
	for !v.Status.Terminal() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		_, answer := ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v)
		answers = append(answers, answer)
	}
	if !v.Status.Terminal() {
		t.Fatalf("analysis still %s after a minute", v.Status)
	}
	return answers
}
