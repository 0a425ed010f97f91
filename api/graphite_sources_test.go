package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

// TestGraphiteScopeValuesRefused: a scope value a Graphite target cannot
// hold (a glob, a dot, a quote) is a 400 naming the signal's query before
// the server sends anything to the operator's graphite-web; a plain value
// is queried.
func TestGraphiteScopeValuesRefused(t *testing.T) {
	graphite := newRecorder(t)
	f, err := analysis.ParseServerSources("sources.yaml", []byte(fmt.Sprintf("graphite:\n  type: graphite\n  url: %s\n  retries: -1\n", graphite.URL)))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Open(analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{Sources: set, Now: func() time.Time { return e2eStart.Add(50 * time.Minute) }})
	config := `{"name":"g","signals":[{"name":"cpu","source":"graphite","query":"averageSeries(shop.{{.track}}.*.cpu)"}]}`
	for _, evil := range []string{"canary.*", "*", "canary,shop.baseline", `canary")`, "{a,b}"} {
		body := fmt.Sprintf(`{"config":%s,"baselineScope":{"track":"baseline"},"canaryScope":{"track":%q},"lookback":"10m"}`, config, evil)
		code, answer := ts.call(t, "POST", "/api/v1/analyses", "", body, nil)
		if code != 400 || !strings.Contains(answer, "signals[0].query: canary scope") || !strings.Contains(answer, "only ASCII letters, digits") {
			t.Errorf("track=%q: %d %s, want 400 naming signals[0].query and the characters a value may hold", evil, code, answer)
		}
	}
	if seen := graphite.seen(); len(seen) != 0 {
		t.Fatalf("graphite-web received %v for refused scopes", seen)
	}
	body := fmt.Sprintf(`{"config":%s,"baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary-2"},"lookback":"10m"}`, config)
	if code, answer := ts.call(t, "POST", "/api/v1/analyses", "", body, nil); code != 202 {
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
