package graphite

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/internal/sourcetest"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

func fakeGraphite(t *testing.T, cfg Config, h func(w http.ResponseWriter, r *http.Request)) (*Source, *atomic.Int32) {
	t.Helper()
	url, calls := sourcetest.Server(t, h)
	cfg.URL = url
	if cfg.RetryWait == 0 {
		cfg.RetryWait = time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, calls
}

// The 500 page is graphite-web 1.1.8's, cut.
const tracebackPage = `<body style="background-color: #666666; color: black;">
<center><h2><p>Graphite encountered an unexpected error while handling your request.</p></h2>
<pre>Traceback (most recent call last):
  File &quot;/opt/graphite/webapp/graphite/render/attime.py&quot;, line 200, in getUnitString
    raise ValueError(&quot;Invalid offset unit &#x27;%s&#x27;&quot; % s)
ValueError: Invalid offset unit &#x27;m&#x27;

</pre></center>`

func TestFetchErrors(t *testing.T) {
	sourcetest.ErrorCheck{
		New: func(t *testing.T, url string) metrics.Source {
			s, err := New(Config{URL: url, Timeout: 50 * time.Millisecond, RetryWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Query:  metrics.Query{Signal: "cpu", Expr: "shop.{{.track}}.cpu"},
		Scope:  metrics.Scope{"track": "canary"},
		Window: testWindow,
		Names:  "shop.canary.cpu",
		Never:  ".py",
	}.Run(t, []sourcetest.ErrorAnswer{
		{Name: "unknown function", Code: 400, Body: "Invalid parameters (Received request for unknown function: nosuch); targets: \"nosuch(a.b)\"", WantKind: query.KindBadQuery, WantCalls: 1, WantMsg: "HTTP 400: Invalid parameters (Received request for unknown function: nosuch)"},
		{Name: "a ValueError", Code: 500, Body: tracebackPage, WantKind: query.KindBadQuery, WantCalls: 1, WantMsg: "HTTP 500: graphite-web could not evaluate the target: ValueError: Invalid offset unit 'm'"},
		{Name: "storage failing", Code: 500, Body: strings.Replace(tracebackPage, "ValueError: Invalid offset unit &#x27;m&#x27;", "OSError: [Errno 5] Input/output error", 1), WantKind: query.KindUnavailable, WantCalls: 3, WantMsg: "graphite-web failed: OSError"},
		{Name: "busy", Code: 503, Body: "busy", WantKind: query.KindUnavailable, WantCalls: 3, WantMsg: "HTTP 503: busy"},
		{Name: "throttled", Code: 429, Body: "slow down", RetryAfter: "1", WantKind: query.KindRateLimited, WantCalls: 3, WantMsg: "HTTP 429: slow down"},
		{Name: "throttled for too long", Code: 429, Body: "slow down", RetryAfter: "600", WantKind: query.KindRateLimited, WantCalls: 1, WantMsg: "asked to wait 10m"},
		{Name: "gateway timeout", Code: 504, Body: "upstream timed out", WantKind: query.KindTimeout, WantCalls: 3, WantMsg: "HTTP 504"},
		{Name: "forbidden", Code: 403, Body: "<h1>Forbidden</h1>", WantKind: query.KindRejected, WantCalls: 1, WantMsg: "HTTP 403: Forbidden"},
		{Name: "not JSON", Code: 200, Body: "<html>", WantKind: query.KindBadResponse, WantCalls: 1, WantMsg: "other than render JSON"},
		{Name: "client timeout", Code: 200, Body: "[]", Sleep: 300 * time.Millisecond, WantKind: query.KindTimeout, WantCalls: 3, WantMsg: "timeout after 50ms"},
	})
}

func TestFetchAnswerCap(t *testing.T) {
	s, _ := fakeGraphite(t, Config{HTTP: sourcehttp.Config{MaxResponseBytes: 1024}}, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"target":"a","datapoints":[` + strings.Repeat(`[1.0, 1767355200],`, 200) + `[1.0, 1767355200]]}]`))
	})
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "shop.{{.track}}.cpu"}, metrics.Scope{"track": "canary"}, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTooLarge || !strings.Contains(err.Error(), "1KiB (maxResponseBytes)") {
		t.Fatalf("err = %v, want too large naming the 1KiB cap", err)
	}
}

func TestFetchRequestAndPartialData(t *testing.T) {
	var got map[string][]string
	s, _ := fakeGraphite(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		if r.URL.Path != "/render" {
			t.Errorf("path %s, want /render", r.URL.Path)
		}
		// Values for 12:00:00 and 12:00:10, nulls for the rest of the window.
		_, _ = w.Write([]byte(`[{"target":"shop.canary.cpu","tags":{"name":"shop.canary.cpu"},"datapoints":[[1.5,1767355200],[2.5,1767355210],[null,1767355220],[null,1767358790]]}]`))
	})
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "shop.{{.track}}.cpu"}, metrics.Scope{"track": "canary"}, testWindow)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"target": "shop.canary.cpu", "format": "json", "from": "1767355199", "until": "1767358799", "noCache": "true"}
	for k, v := range want {
		if strings.Join(got[k], ",") != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(res.Series) != 1 || len(res.Series[0].Values) != 2 || res.Series[0].Values[1] != 2.5 {
		t.Fatalf("series %+v, want the two values without the nulls", res.Series)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "partial data: no returned series has a value after 2026-01-02T12:00:10Z") {
		t.Errorf("warnings %q, want one saying the data stops after 12:00:10", res.Warnings)
	}
}

func TestFetchRefusesHistograms(t *testing.T) {
	s, calls := fakeGraphite(t, Config{}, func(w http.ResponseWriter, r *http.Request) {})
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "lat", Expr: "shop.{{.track}}.lat", Kind: metrics.Histogram}, metrics.Scope{"track": "canary"}, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || calls.Load() != 0 {
		t.Fatalf("err = %v after %d requests, want a bad query before any", err, calls.Load())
	}
}
