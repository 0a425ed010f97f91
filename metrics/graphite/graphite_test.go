package graphite

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

func fakeGraphite(t *testing.T, cfg Config, h func(w http.ResponseWriter, r *http.Request)) (*Source, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL
	if cfg.RetryWait == 0 {
		cfg.RetryWait = time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, &calls
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
		{"unknown function", 400, "Invalid parameters (Received request for unknown function: nosuch); targets: \"nosuch(a.b)\"", "", 0, query.KindBadQuery, 1, "HTTP 400: Invalid parameters (Received request for unknown function: nosuch)"},
		{"a ValueError", 500, tracebackPage, "", 0, query.KindBadQuery, 1, "HTTP 500: graphite-web could not evaluate the target: ValueError: Invalid offset unit 'm'"},
		{"storage failing", 500, strings.Replace(tracebackPage, "ValueError: Invalid offset unit &#x27;m&#x27;", "OSError: [Errno 5] Input/output error", 1), "", 0, query.KindUnavailable, 3, "graphite-web failed: OSError"},
		{"busy", 503, "busy", "", 0, query.KindUnavailable, 3, "HTTP 503: busy"},
		{"throttled", 429, "slow down", "1", 0, query.KindRateLimited, 3, "HTTP 429: slow down"},
		{"throttled for too long", 429, "slow down", "600", 0, query.KindRateLimited, 1, "asked to wait 10m"},
		{"gateway timeout", 504, "upstream timed out", "", 0, query.KindTimeout, 3, "HTTP 504"},
		{"forbidden", 403, "<h1>Forbidden</h1>", "", 0, query.KindRejected, 1, "HTTP 403: Forbidden"},
		{"not JSON", 200, "<html>", "", 0, query.KindBadResponse, 1, "other than render JSON"},
		{"client timeout", 200, "[]", "", 300 * time.Millisecond, query.KindTimeout, 3, "timeout after 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, calls := fakeGraphite(t, Config{Timeout: 50 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
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
			_, err := s.Fetch(ctx, metrics.Query{Signal: "cpu", Expr: "shop.{{.track}}.cpu"}, metrics.Scope{"track": "canary"}, testWindow)
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
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), "shop.canary.cpu") {
				t.Errorf("%q does not name %q and the target", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), ".py") {
				t.Errorf("%q carries the server's paths", err)
			}
		})
	}
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
