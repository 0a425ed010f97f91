package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnalyzeLokiPushesEvent judges a log-derived signal served by a fake
// Loki and checks that the finished analysis pushes its verdict event to
// the configured push URL.
func TestAnalyzeLokiPushesEvent(t *testing.T) {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var pushes, queries atomic.Int32
	loki := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loki/api/v1/push":
			pushes.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case "/loki/api/v1/query_range":
			queries.Add(1)
			canary := strings.Contains(r.URL.Query().Get("query"), `track="canary"`)
			var values []string
			for i := range 60 {
				v := i % 2
				if canary {
					v += 3
				}
				values = append(values, fmt.Sprintf(`[%d, "%d"]`, start.Unix()+int64(i)*10, v))
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(values, ","))
		default:
			http.NotFound(w, r)
		}
	}))
	defer loki.Close()

	dir := t.TempDir()
	cfg := write(t, dir, "logs.yaml", fmt.Sprintf(`name: logs
sources:
  loki: {url: %q, pushURL: %q}
signals:
  - name: error_lines
    source: loki
    test: rate
    direction: increase
    query: 'sum(count_over_time({app="shop", track="{{.track}}"} |= "error" [{{.step}}]))'
`, loki.URL, loki.URL))
	code, out, errOut := invoke(t, "analyze", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary",
		"--start", start.Format(time.RFC3339), "--end", start.Add(10*time.Minute).Format(time.RFC3339), "--step", "10s", "--format", "json")
	if code != exitFail {
		t.Fatalf("exit %d, want 1 (fail); stderr %s\n%s", code, errOut, out)
	}
	if queries.Load() != 2 || pushes.Load() == 0 {
		t.Errorf("Loki saw %d queries and %d pushes; want 2 queries and the verdict event", queries.Load(), pushes.Load())
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("stderr %q", errOut)
	}
}
