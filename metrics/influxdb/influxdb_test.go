package influxdb

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/internal/sourcetest"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// testWindow is 12:00 to 13:00 on 2026-01-02 at a 10s step.
var testWindow = metrics.Window{Start: time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 2, 13, 0, 0, 0, time.UTC), Step: 10 * time.Second}

const gaugeQuery = `SELECT "p50" FROM "latency" WHERE "track" = '{{.track}}'`

func fakeInflux(t *testing.T, cfg Config, h func(w http.ResponseWriter, r *http.Request)) (*Source, *atomic.Int32) {
	t.Helper()
	url, calls := sourcetest.Server(t, h)
	cfg.URL = url
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
	return s, calls
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
	sourcetest.ErrorCheck{
		New: func(t *testing.T, url string) metrics.Source {
			s, err := New(Config{URL: url, Database: "shop", Timeout: 50 * time.Millisecond, RetryWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Query:  metrics.Query{Signal: "p50", Expr: gaugeQuery},
		Scope:  metrics.Scope{"track": "canary"},
		Window: testWindow,
		Names:  "track = 'canary'",
	}.Run(t, []sourcetest.ErrorAnswer{
		{Name: "parse error", Code: 400, Body: `{"error":"error parsing query: found EOF, expected FROM at line 1, char 9"}`, WantKind: query.KindBadQuery, WantCalls: 1, WantMsg: "HTTP 400: error parsing query: found EOF"},
		{Name: "unknown database", Code: 200, Body: `{"results":[{"statement_id":0,"error":"database not found: shop"}]}`, WantKind: query.KindBadQuery, WantCalls: 1, WantMsg: "database not found: shop"},
		{Name: "too many points", Code: 200, Body: `{"results":[{"statement_id":0,"error":"max-select-point limit exceeed: (10000/1000)"}]}`, WantKind: query.KindTooLarge, WantCalls: 1, WantMsg: "max-select-point limit"},
		{Name: "the server's query timeout", Code: 200, Body: `{"results":[{"statement_id":0,"error":"query-timeout limit exceeded"}]}`, WantKind: query.KindTimeout, WantCalls: 3, WantMsg: "query-timeout limit exceeded"},
		{Name: "too many queries at once", Code: 200, Body: `{"results":[{"statement_id":0,"error":"max-concurrent-queries limit exceeded(20, 20)"}]}`, WantKind: query.KindRateLimited, WantCalls: 3, WantMsg: "max-concurrent-queries"},
		{Name: "credentials", Code: 401, Body: `{"error":"authorization failed"}`, WantKind: query.KindRejected, WantCalls: 1, WantMsg: "HTTP 401: authorization failed"},
		{Name: "throttled", Code: 429, Body: `{"error":"slow down"}`, RetryAfter: "1", WantKind: query.KindRateLimited, WantCalls: 3, WantMsg: "HTTP 429: slow down"},
		{Name: "throttled for too long", Code: 429, Body: "slow down", RetryAfter: "600", WantKind: query.KindRateLimited, WantCalls: 1, WantMsg: "asked to wait 10m"},
		{Name: "busy", Code: 503, Body: "busy", WantKind: query.KindUnavailable, WantCalls: 3, WantMsg: "HTTP 503: busy"},
		{Name: "gateway timeout", Code: 504, Body: "upstream timed out", WantKind: query.KindTimeout, WantCalls: 3, WantMsg: "HTTP 504"},
		{Name: "not an InfluxDB", Code: 404, Body: "404 page not found", WantKind: query.KindRejected, WantCalls: 1, WantMsg: "HTTP 404"},
		{Name: "not JSON", Code: 200, Body: "<html>", WantKind: query.KindBadResponse, WantCalls: 1, WantMsg: "other than /query JSON"},
		{Name: "text values", Code: 200, Body: `{"results":[{"statement_id":0,"series":[{"name":"latency","columns":["time","p50"],"values":[[1767355200000,"fast"]]}]}]}`, WantKind: query.KindBadResponse, WantCalls: 1, WantMsg: `column "p50" of series "latency" holds string values`},
		{Name: "client timeout", Code: 200, Body: `{"results":[{"statement_id":0}]}`, Sleep: 300 * time.Millisecond, WantKind: query.KindTimeout, WantCalls: 3, WantMsg: "timeout after 50ms"},
	})
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
