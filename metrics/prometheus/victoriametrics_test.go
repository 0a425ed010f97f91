package prometheus

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// The error bodies are VictoriaMetrics 1.79's (errorType is the status).
func TestVictoriaMetricsErrors(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		body       string
		retryAfter string
		wantKind   query.Kind
		wantCalls  int32
		wantMsg    string
	}{
		{"parse error", 422, `{"status":"error","errorType":"422","error":"error when executing query=\"sum(\": cannot execute query: singleExpr: unexpected token"}`, "", query.KindBadQuery, 1, "HTTP 422: error when executing query"},
		{"bad argument", 400, `{"status":"error","errorType":"400","error":"cannot parse \"start\""}`, "", query.KindBadQuery, 1, `HTTP 400: cannot parse "start"`},
		{"too many requests", 429, `{"status":"error","errorType":"429","error":"too many concurrent requests"}`, "", query.KindRateLimited, 3, "HTTP 429: too many concurrent requests"},
		{"busy", 503, `{"status":"error","errorType":"503","error":"cannot handle more than 16 concurrent search requests"}`, "", query.KindUnavailable, 3, "concurrent search requests"},
		{"gateway timeout", 504, "upstream timed out", "", query.KindTimeout, 3, "HTTP 504: upstream timed out"},
		{"unauthorized", 401, "Unauthorized", "", query.KindRejected, 1, "HTTP 401: Unauthorized"},
		{"a Retry-After past the cap", 429, "slow down", "120", query.KindRateLimited, 1, "asked to wait 2m"},
		{"status error with 200", 200, `{"status":"error","error":"oops"}`, "", query.KindBadResponse, 1, `status "error"`},
		{"not JSON", 200, "<html>", "", query.KindBadResponse, 1, "other than query_range JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeJSON(w, tt.code, tt.body)
			}, Config{Flavor: FlavorVictoriaMetrics})
			_, err := s.Fetch(context.Background(), metrics.Query{Signal: "errors", Expr: `up{track="{{.track}}"}`}, metrics.Scope{"track": "canary"}, window)
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("err = %v, want *query.Error", err)
			}
			if qe.Kind != tt.wantKind {
				t.Errorf("kind %v, want %v (%v)", qe.Kind, tt.wantKind, err)
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("%q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestVictoriaMetricsRequestAndPartial(t *testing.T) {
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/vm/api/v1/query_range" {
			t.Errorf("%s %s, want POST /vm/api/v1/query_range", r.Method, r.URL.Path)
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		form = r.PostForm
		writeJSON(w, 200, `{"status":"success","isPartial":true,"data":{"resultType":"matrix","result":[{"metric":{"track":"canary"},"values":[[1704067210,"1"],[1704067220,"2"]]}]}}`)
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{Flavor: FlavorVictoriaMetrics, URL: srv.URL + "/vm/", Timeout: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: `up{track="{{.track}}"}`}, metrics.Scope{"track": "canary"}, window)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"query": `up{track="canary"}`, "start": "1704067200", "end": "1704070800", "step": "10", "timeout": "7s", "nocache": "1"}
	for k, v := range want {
		if got := strings.Join(form[k], ","); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if len(res.Series) != 1 || len(res.Series[0].Values) != 2 {
		t.Fatalf("series %+v", res.Series)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "partial data") {
		t.Errorf("warnings %q, want one saying the data is partial", res.Warnings)
	}
}

func TestVictoriaMetricsLeavesOutTheLatencyOffset(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:1")
	vm := newVictoriaMetrics(base, nil, 0)
	now := time.Unix(1704070800, 0) // the window's end
	w := metrics.Window{Start: now.Add(-10 * time.Minute), End: now, Step: 10 * time.Second}
	grid, err := query.CountGrid(w)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		kind    metrics.Kind
		now     time.Time
		wantEnd time.Time
		wantN   int
		wantCut bool
	}{
		{"count, window ending now", metrics.Count, now, now.Add(-30 * time.Second), grid.N - 3, true},
		{"count, window ending a minute ago", metrics.Count, now.Add(time.Minute), now, grid.N, false},
		{"gauge, window ending now", metrics.Gauge, now.Add(-5 * time.Second), now.Add(-35 * time.Second), grid.N, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := v1.Range{Start: grid.First, End: grid.Last(), Step: grid.Step}
			if tt.kind == metrics.Gauge {
				rng = v1.Range{Start: w.Start, End: w.End, Step: w.Step}
			}
			got, g, cut := vm.cutLatest(rng, grid, tt.kind, tt.now)
			if cut != tt.wantCut || !got.End.Equal(tt.wantEnd) || g.N != tt.wantN {
				t.Errorf("cut %v, end %s, %d steps; want %v, %s, %d", cut, got.End.UTC(), g.N, tt.wantCut, tt.wantEnd.UTC(), tt.wantN)
			}
		})
	}
}
