package analysis

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// TestOpenSources checks that URLs come from the overrides first, then the
// config, and that a Loki signal is served by a Loki source that speaks
// Loki's query_range API with the configured tenant.
func TestOpenSources(t *testing.T) {
	var tenant, path string
	loki := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, path = r.Header.Get("X-Scope-OrgID"), r.URL.Path
		start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).Unix()
		var values []string
		for i := range 30 {
			values = append(values, fmt.Sprintf(`[%d, "%d"]`, start+int64(i)*10, i%4))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"shop"},"values":[%s]}]}}`, strings.Join(values, ","))
	}))
	defer loki.Close()

	const config = `name: shop
sources:
  prometheus: {url: "http://127.0.0.1:1"}
  loki: {url: "http://127.0.0.1:1", tenant: team-a}
signals:
  - name: error_lines
    source: loki
    test: rate
    query: 'sum(count_over_time({app="shop", track="{{.track}}"} |= "error" [{{.step}}]))'
`
	cfg, err := ParseConfig("shop.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	set, err := OpenSources(cfg, SourceOverrides{LokiURL: loki.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set["prometheus"]; ok {
		t.Error("a Prometheus source was built though no signal reads from it")
	}
	rep, err := Run(context.Background(), cfg, set, LiveRequest{Scopes: scopes, Window: metrics.Window{
		Start: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 1, 12, 5, 0, 0, time.UTC), Step: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "team-a" || path != "/loki/api/v1/query_range" {
		t.Errorf("Loki saw tenant %q path %q", tenant, path)
	}
	if got := rep.Signals[0]; got.Classification != "pass" || got.Canary.Count != 30 {
		t.Errorf("error_lines: %s with %d canary points (%s)", got.Classification, got.Canary.Count, got.Reason)
	}

	if _, err := OpenSources(cfg, SourceOverrides{LokiURL: "ftp://nowhere"}); err == nil || !strings.Contains(err.Error(), "sources.loki") {
		t.Errorf("a bad Loki URL: got %v, want an error naming sources.loki", err)
	}
}
