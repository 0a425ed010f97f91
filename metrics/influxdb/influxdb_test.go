package influxdb

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// testWindow is 12:00 to 13:00 on 2026-01-02 at a 10s step.
var testWindow = metrics.Window{Start: time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 2, 13, 0, 0, 0, time.UTC), Step: 10 * time.Second}

const gaugeQuery = `SELECT "p50" FROM "latency" WHERE "track" = '{{.track}}'`

func fakeInflux(t *testing.T, cfg Config, h func(w http.ResponseWriter, r *http.Request)) (*Source, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL
	if cfg.Database == "" {
		cfg.Database = "shop"
	}
	if cfg.RetryWait == 0 {
		cfg.RetryWait = time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, &calls
}

func TestNew(t *testing.T) {
	for _, tc := range []struct{ name, url, db, want string }{
		{"no scheme", "127.0.0.1:8086", "shop", "want http(s)://host"},
		{"no database", "http://127.0.0.1:8086", "", "a database is required"},
	} {
		if _, err := New(Config{URL: tc.url, Database: tc.db}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		body       string
		retryAfter string
		sleep      time.Duration
		wantKind   query.Kind
		wantCalls  int32
		wantMsg    string
	}{
		{"parse error", 400, `{"error":"error parsing query: found EOF, expected FROM at line 1, char 9"}`, "", 0, query.KindBadQuery, 1, "HTTP 400: error parsing query: found EOF"},
		{"unknown database", 200, `{"results":[{"statement_id":0,"error":"database not found: shop"}]}`, "", 0, query.KindBadQuery, 1, "database not found: shop"},
		{"too many points", 200, `{"results":[{"statement_id":0,"error":"max-select-point limit exceeed: (10000/1000)"}]}`, "", 0, query.KindTooLarge, 1, "max-select-point limit"},
		{"the server's query timeout", 200, `{"results":[{"statement_id":0,"error":"query-timeout limit exceeded"}]}`, "", 0, query.KindTimeout, 3, "query-timeout limit exceeded"},
		{"too many queries at once", 200, `{"results":[{"statement_id":0,"error":"max-concurrent-queries limit exceeded(20, 20)"}]}`, "", 0, query.KindRateLimited, 3, "max-concurrent-queries"},
		{"credentials", 401, `{"error":"authorization failed"}`, "", 0, query.KindRejected, 1, "HTTP 401: authorization failed"},
		{"throttled", 429, `{"error":"slow down"}`, "1", 0, query.KindRateLimited, 3, "HTTP 429: slow down"},
		{"throttled for too long", 429, "slow down", "600", 0, query.KindRateLimited, 1, "asked to wait 10m"},
		{"busy", 503, "busy", "", 0, query.KindUnavailable, 3, "HTTP 503: busy"},
		{"gateway timeout", 504, "upstream timed out", "", 0, query.KindTimeout, 3, "HTTP 504"},
		{"not an InfluxDB", 404, "404 page not found", "", 0, query.KindRejected, 1, "HTTP 404"},
		{"not JSON", 200, "<html>", "", 0, query.KindBadResponse, 1, "other than /query JSON"},
		{"text values", 200, `{"results":[{"statement_id":0,"series":[{"name":"latency","columns":["time","p50"],"values":[[1767355200000,"fast"]]}]}]}`, "", 0, query.KindBadResponse, 1, `column "p50" of series "latency" holds string values`},
		{"client timeout", 200, `{"results":[{"statement_id":0}]}`, "", 300 * time.Millisecond, query.KindTimeout, 3, "timeout after 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, calls := fakeInflux(t, Config{Timeout: 50 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
				if tt.sleep > 0 {
					select {
					case <-time.After(tt.sleep):
					case <-r.Context().Done():
						return
					}
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.code)
				_, _ = w.Write([]byte(tt.body))
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := s.Fetch(ctx, metrics.Query{Signal: "p50", Expr: gaugeQuery}, metrics.Scope{"track": "canary"}, testWindow)
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("err = %v, want *query.Error", err)
			}
			if qe.Kind != tt.wantKind {
				t.Errorf("kind %v, want %v (%v)", qe.Kind, tt.wantKind, err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), "track = 'canary'") {
				t.Errorf("%q does not name %q and the query", err, tt.wantMsg)
			}
		})
	}
}

func TestFetchAnswerCap(t *testing.T) {
	s, _ := fakeInflux(t, Config{HTTP: sourcehttp.Config{MaxResponseBytes: 1024}}, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"name":"latency","columns":["time","p50"],"values":[` + strings.Repeat(`[1767355200000,1.5],`, 200) + `[1767355200000,1.5]]}]}]}`))
	})
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "p50", Expr: gaugeQuery}, metrics.Scope{"track": "canary"}, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTooLarge || !strings.Contains(err.Error(), "1KiB (maxResponseBytes)") {
		t.Fatalf("err = %v, want too large naming the 1KiB cap", err)
	}
}

func TestFetchRequestAndPartialData(t *testing.T) {
	var got map[string][]string
	var method string
	s, _ := fakeInflux(t, Config{RetentionPolicy: "week"}, func(w http.ResponseWriter, r *http.Request) {
		got, method = r.URL.Query(), r.Method
		if r.URL.Path != "/query" {
			t.Errorf("path %s, want /query", r.URL.Path)
		}
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"partial":true,"messages":[{"level":"warning","text":"deprecated"}],"series":[{"name":"latency","tags":{"pod":"a"},"columns":["time","p50"],"values":[[1767355200000,1.5],[1767355210000,null],[1767355220000,2.5]]}]}]}`))
	})
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "p50", Expr: gaugeQuery}, metrics.Scope{"track": "canary"}, testWindow)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"db": "shop", "rp": "week", "epoch": "ms",
		"q": `SELECT p50 FROM latency WHERE (track = 'canary') AND time >= '2026-01-02T12:00:00Z' AND time < '2026-01-02T13:00:00Z'`,
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if method != http.MethodGet {
		t.Errorf("method %s, want GET (a read)", method)
	}
	if len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, []float64{1.5, 2.5}) || !res.Series[0].Times[1].Equal(testWindow.Start.Add(20*time.Second)) {
		t.Fatalf("series %+v, want the two values without the null", res.Series)
	}
	if l := res.Series[0].Labels; l["pod"] != "a" || l["_measurement"] != "latency" {
		t.Errorf("labels %v, want the tags and the measurement", l)
	}
	if len(res.Warnings) != 2 || res.Warnings[0] != "InfluxDB warning: deprecated" || !strings.HasPrefix(res.Warnings[1], "partial data: InfluxDB cut its answer short") {
		t.Errorf("warnings %q, want the server's message and partial data", res.Warnings)
	}
}

func TestFetchCounts(t *testing.T) {
	var sent string
	s, _ := fakeInflux(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		sent = r.URL.Query().Get("q")
		// InfluxDB labels a window with its start: 12:00:00 and 12:00:20
		// hold events.
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"name":"req","columns":["time","sum"],"values":[[1767355200000,4],[1767355220000,2]]}]}]}`))
	})
	w := metrics.Window{Start: testWindow.Start, End: testWindow.Start.Add(time.Minute), Step: 10 * time.Second}
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "errors", Kind: metrics.Count,
		Expr: `SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) fill(0)`}, metrics.Scope{"track": "canary"}, w)
	if err != nil {
		t.Fatal(err)
	}
	// The grid is 12:00:10 .. 12:01:00; the window [12:00:00, 12:00:10)
	// is reported at its end.
	if !strings.Contains(sent, "time >= '2026-01-02T12:00:00Z' AND time < '2026-01-02T12:01:00Z'") {
		t.Errorf("sent %s, want the grid's windows [12:00:00, 12:01:00)", sent)
	}
	if len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, []float64{4, 0, 2, 0, 0, 0}) || !res.Series[0].Times[0].Equal(w.Start.Add(10*time.Second)) {
		t.Fatalf("series %+v, want 4, 0, 2, 0, 0, 0 from 12:00:10", res.Series)
	}
}

func TestFetchRefusesCountsThatDoNotCountEachStep(t *testing.T) {
	s, calls := fakeInflux(t, Config{}, func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range []struct{ expr, want string }{
		{`SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}'`, "GROUP BY time({{.step}})"},
		{`SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time(1m)`, "groups by time(10s), not time(1m)"},
		{`SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}, 5s)`, "takes no offset"},
		{`SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) fill(previous)`, "fill(previous) invents events"},
		{`SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) fill(linear)`, "fill(linear) invents events"},
		{`SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) fill(1)`, "fill(1) invents events"},
	} {
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "errors", Kind: metrics.Count, Expr: tc.expr}, metrics.Scope{"track": "canary"}, testWindow)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a bad query saying %q", tc.expr, err, tc.want)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests, want none", calls.Load())
	}
}

func TestFetchSeveralColumns(t *testing.T) {
	s, _ := fakeInflux(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"name":"latency","columns":["time","p50","p99"],"values":[[1767355200000,1,9]]}]}]}`))
	})
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "lat", Expr: `SELECT "p50", "p99" FROM "latency" WHERE "track" = '{{.track}}'`}, metrics.Scope{"track": "canary"}, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindAmbiguous || !strings.Contains(err.Error(), "_field") {
		t.Fatalf("err = %v, want an ambiguous answer naming the _field label", err)
	}
}
