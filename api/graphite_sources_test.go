package api

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestGraphiteScopeValuesRefused: a scope value a Graphite target cannot
// hold (a glob, a dot, a quote) is a 400 naming the signal's query before
// the server sends anything to the operator's graphite-web; a plain value
// is queried.
func TestGraphiteScopeValuesRefused(t *testing.T) {
	graphite := newRecorder(t)
	ts := newSourcesServer(t, fmt.Sprintf("graphite:\n  type: graphite\n  url: %s\n  retries: -1\n", graphite.URL))
	config := `{"name":"g","signals":[{"name":"cpu","source":"graphite","query":"averageSeries(shop.{{.track}}.*.cpu)"}]}`
	checkTrackValuesRefused(t, ts, config, []string{"canary.*", "*", "canary,shop.baseline", `canary")`, "{a,b}"}, "only ASCII letters, digits")
	if seen := graphite.seen(); len(seen) != 0 {
		t.Fatalf("graphite-web received %v for refused scopes", seen)
	}
	if code, answer := startTrackAnalysis(t, ts, config, "canary-2", nil); code != 202 {
		t.Fatalf("track=canary-2: %d %s, want 202", code, answer)
	}
	deadline := time.Now().Add(time.Minute) // a hang guard
	for len(graphite.seen()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if seen := graphite.seen(); len(seen) == 0 || !strings.HasPrefix(seen[0], "GET /render") {
		t.Errorf("graphite-web received %v, want the render queries of the analysis", seen)
	}
}
