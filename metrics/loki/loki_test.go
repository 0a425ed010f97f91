package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/lokitest"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

func writeBody(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

// pushLines writes the suite's data: for each minute of five, three canary
// lines (at +10s, +20s, +30s) and two baseline lines (+10s, +20s), labelled
// with a run id so that runs against a real Loki do not see each other.
// The canary's line at +30s of minutes 1 and 3 says status=500.
func pushLines(t *testing.T, baseURL, tenant, run string, base time.Time) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	var streams []stream
	for track, offsets := range map[string][]int{"canary": {10, 20, 30}, "baseline": {10, 20}} {
		s := stream{Stream: map[string]string{"verdict_test": run, "track": track}}
		for m := range 5 {
			for _, off := range offsets {
				ts := base.Add(time.Duration(m)*time.Minute + time.Duration(off)*time.Second)
				line := "request served track=" + track
				if track == "canary" && off == 30 && m%2 == 1 {
					line += " status=500"
				}
				s.Values = append(s.Values, [2]string{strconv.FormatInt(ts.UnixNano(), 10), line})
			}
		}
		streams = append(streams, s)
	}
	body, _ := json.Marshal(map[string]any{"streams": streams})
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/loki/api/v1/push", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("push: HTTP %d", resp.StatusCode)
	}
}

// suite runs the behaviour every Loki must show, against baseURL.
func suite(t *testing.T, baseURL, tenant string) {
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	pushLines(t, baseURL, tenant, run, base)
	src, err := New(Config{URL: baseURL, Tenant: tenant, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := metrics.Window{Start: base, End: base.Add(5 * time.Minute), Step: time.Minute}
	ctx := context.Background()
	sel := `{verdict_test="` + run + `",track="{{.track}}"}`

	t.Run("metric query per track", func(t *testing.T) {
		for track, want := range map[string]float64{"canary": 3, "baseline": 2} {
			q := metrics.Query{Signal: "requests", Expr: `sum(count_over_time(` + sel + `[1m]))`}
			res, err := src.Fetch(ctx, q, metrics.Scope{"track": track}, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Series) != 1 {
				t.Fatalf("%s: %d series", track, len(res.Series))
			}
			s := res.Series[0]
			// (t-1m, t] holds one minute of lines for t = base+1m .. base+5m;
			// at t = base it holds none and Loki writes no point.
			if len(s.Values) != 5 {
				t.Fatalf("%s: %d points (%v), want 5", track, len(s.Values), s.Values)
			}
			for i, v := range s.Values {
				if v != want || !s.Times[i].Equal(base.Add(time.Duration(i+1)*time.Minute)) {
					t.Fatalf("%s point %d = (%v, %v), want (%v, %v)", track, i, s.Times[i], v, base.Add(time.Duration(i+1)*time.Minute), want)
				}
			}
			if s.Signal != "requests" {
				t.Errorf("signal %q", s.Signal)
			}
		}
	})

	t.Run("several series", func(t *testing.T) {
		q := metrics.Query{Signal: "requests", Expr: `count_over_time({verdict_test="` + run + `"}[1m])`}
		_, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindAmbiguous || !strings.Contains(err.Error(), `differ in label "track" (baseline, canary)`) {
			t.Fatalf("err = %v, want KindAmbiguous naming track", err)
		}
		q.Aggregate = "sum"
		res, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || len(res.Series[0].Values) != 5 || res.Series[0].Values[0] != 5 {
			t.Fatalf("sum of tracks = %+v, want 5 points of 5", res.Series)
		}
	})

	t.Run("empty result", func(t *testing.T) {
		q := metrics.Query{Signal: "requests", Expr: `sum(count_over_time(` + sel + `[1m]))`}
		res, err := src.Fetch(ctx, q, metrics.Scope{"track": "nonexistent"}, w)
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("got %+v, %v; want no series and no error", res, err)
		}
	})

	t.Run("counts on the step grid", func(t *testing.T) {
		// A window from a minute before the lines (off the minute) to three
		// minutes after: windows end at base, base+1m, ..., base+7m.
		cw := metrics.Window{Start: base.Add(-90 * time.Second), End: base.Add(8*time.Minute - time.Second), Step: time.Minute}
		for _, tt := range []struct {
			filter, track string
			want          []float64
		}{
			{"", "canary", []float64{0, 3, 3, 3, 3, 3, 0, 0}},
			{"", "baseline", []float64{0, 2, 2, 2, 2, 2, 0, 0}},
			// Lines with status=500 in minutes 1 and 3 only: gaps between.
			{` |= "status=500"`, "canary", []float64{0, 0, 1, 0, 1, 0, 0, 0}},
		} {
			q := metrics.Query{Signal: "errors", Kind: metrics.Count, Expr: `sum(count_over_time(` + sel + tt.filter + ` [{{.step}}]))`}
			res, err := src.Fetch(ctx, q, metrics.Scope{"track": tt.track}, cw)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Series) != 1 {
				t.Fatalf("%s%s: %d series", tt.track, tt.filter, len(res.Series))
			}
			s := res.Series[0]
			if fmt.Sprint(s.Values) != fmt.Sprint(tt.want) {
				t.Errorf("%s%s: %v, want %v", tt.track, tt.filter, s.Values, tt.want)
			}
			for i, tm := range s.Times {
				if want := base.Add(time.Duration(i) * time.Minute); !tm.Equal(want) {
					t.Fatalf("step %d at %v, want %v", i, tm, want)
				}
			}
		}
		q := metrics.Query{Signal: "errors", Kind: metrics.Count, Expr: `sum(count_over_time(` + sel + ` |= "status=503" [{{.step}}]))`}
		res, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, cw)
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("no matching line: got %+v, %v; want no series (no data), not zeros", res, err)
		}
	})

	t.Run("bad query", func(t *testing.T) {
		q := metrics.Query{Signal: "requests", Expr: `sum(count_over_time(` + sel + `[1m])`}
		_, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "HTTP 400: parse error") {
			t.Fatalf("err = %v, want KindBadQuery with Loki's message", err)
		}
		if strings.Contains(err.Error(), "attempts") {
			t.Fatalf("%q: a bad query was retried", err)
		}
	})

	t.Run("log query", func(t *testing.T) {
		q := metrics.Query{Signal: "requests", Expr: sel}
		_, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "log query") {
			t.Fatalf("err = %v, want KindBadQuery saying it is a log query", err)
		}
	})

	t.Run("injection stays a label value", func(t *testing.T) {
		q := metrics.Query{Signal: "requests", Expr: `sum(count_over_time(` + sel + `[1m]))`}
		res, err := src.Fetch(ctx, q, metrics.Scope{"track": `canary"} or vector(1) #`}, w)
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("got %+v, %v; want the payload to match no stream", res, err)
		}
	})
}

// TestLokiShapedServer runs the suite against internal/lokitest and checks
// what Loki would see of the requests.
func TestLokiShapedServer(t *testing.T) {
	srv := lokitest.Start(t, lokitest.Options{})
	suite(t, srv.URL, "team-a")
	for _, tenant := range srv.Tenants() {
		if tenant != "team-a" {
			t.Fatalf("X-Scope-OrgID %q, want team-a", tenant)
		}
	}
	queries := srv.Queries()
	last := queries[len(queries)-1]
	if got := last.Get("direction"); got != "forward" {
		t.Errorf("direction %q", got)
	}
	if got := last.Get("step"); got != "60" {
		t.Errorf("step %q, want 60 (seconds)", got)
	}
	if got := last.Get("start"); len(got) < 19 {
		t.Errorf("start %q, want unix nanoseconds", got)
	}
	// The suite's windows start on the minute except the counts' (90 s
	// before): the source asks for the step's multiples inside it.
	for _, q := range queries {
		start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
		end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
		if start%int64(time.Minute) != 0 || end%int64(time.Minute) != 0 {
			t.Errorf("%s asked for %d .. %d ns, not the step's multiples", q.Get("query"), start, end)
		}
	}
}

// TestRealLoki runs the same suite against the Loki at
// VERDICT_TEST_LOKI_URL (tenant VERDICT_TEST_LOKI_TENANT), when set.
func TestRealLoki(t *testing.T) {
	u := os.Getenv("VERDICT_TEST_LOKI_URL")
	if u == "" {
		t.Skip("VERDICT_TEST_LOKI_URL not set")
	}
	suite(t, strings.TrimRight(u, "/"), os.Getenv("VERDICT_TEST_LOKI_TENANT"))
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(w http.ResponseWriter, r *http.Request, call int) bool
		wantKind  query.Kind
		wantCalls int32
		wantMsg   string
	}{
		{"HTTP 500", plain(500, "internal server error: too many outstanding requests"), query.KindUnavailable, 3, "HTTP 500: internal server error"},
		{"HTTP 503", plain(503, "service unavailable"), query.KindUnavailable, 3, "HTTP 503"},
		{"HTTP 504", plain(504, "context deadline exceeded"), query.KindTimeout, 3, "HTTP 504"},
		{"HTTP 429", plain(429, "maximum of series (500) reached for a single query"), query.KindRateLimited, 3, "HTTP 429: maximum of series"},
		{"HTTP 401", plain(401, "no org id"), query.KindRejected, 1, "HTTP 401: no org id"},
		{"not JSON", plain(200, "<html>"), query.KindBadResponse, 1, "not Loki's JSON"},
		{"status error", plain(200, `{"status":"error"}`), query.KindBadResponse, 1, `status "error"`},
		{"vector", plain(200, `{"status":"success","data":{"resultType":"vector","result":[]}}`), query.KindBadResponse, 1, "want matrix"},
		{"bad point", plain(200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}}`), query.KindBadResponse, 1, "not a string"},
		{"slow", func(w http.ResponseWriter, r *http.Request, _ int) bool {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return true
		}, query.KindTimeout, 3, "timeout after 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lokitest.Start(t, lokitest.Options{Fail: tt.fail})
			src, err := New(Config{URL: srv.URL, Timeout: 50 * time.Millisecond, RetryWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			q := metrics.Query{Signal: "errors", Expr: `sum(rate({app="shop",track="{{.track}}"}[1m]))`}
			_, err = src.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, metrics.Window{Start: time.Unix(0, 0), End: time.Unix(3600, 0)})
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("err = %v, want *query.Error", err)
			}
			if qe.Kind != tt.wantKind {
				t.Errorf("kind %v, want %v (%v)", qe.Kind, tt.wantKind, err)
			}
			if got := int32(srv.Calls()); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			for _, want := range []string{tt.wantMsg, "signal errors", `track="canary"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not contain %q", err, want)
				}
			}
		})
	}
}

func plain(code int, body string) func(w http.ResponseWriter, r *http.Request, call int) bool {
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, body)
		return true
	}
}

func TestFetchRetriesAfter429(t *testing.T) {
	srv := lokitest.Start(t, lokitest.Options{Fail: func(w http.ResponseWriter, r *http.Request, call int) bool {
		if call == 1 {
			return plain(429, "too many outstanding requests")(w, r, call)
		}
		writeBody(w, `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"track":"canary"},"values":[[1704067200,"1.5"],[1704067260.25,"NaN"],[1704067320,"+Inf"],[1704067380,"-Inf"]]}]},
			"warnings":["query was split"]}`)
		return true
	}})
	src, err := New(Config{URL: srv.URL, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: `sum(rate({a="b"}[1m]))`}, nil,
		metrics.Window{Start: time.Unix(1704067200, 0), End: time.Unix(1704067500, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Calls() != 2 {
		t.Errorf("%d calls, want 2", srv.Calls())
	}
	s := res.Series[0]
	if s.Values[0] != 1.5 || !math.IsNaN(s.Values[1]) || !math.IsInf(s.Values[2], 1) || !math.IsInf(s.Values[3], -1) {
		t.Errorf("values %v", s.Values)
	}
	if !s.Times[1].Equal(time.Unix(1704067260, 250_000_000)) {
		t.Errorf("time %v, want .25s exactly", s.Times[1])
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != "query was split" {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestParseTime(t *testing.T) {
	for raw, want := range map[string]time.Time{
		"1704067200":           time.Unix(1704067200, 0),
		"1704067200.5":         time.Unix(1704067200, 500_000_000),
		"1704067200.123456789": time.Unix(1704067200, 123456789),
	} {
		got, err := parseTime(raw)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%s) = %v, %v; want %v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "x", "1.2e9", "1.1234567891", `"1"`} {
		if _, err := parseTime(raw); err == nil {
			t.Errorf("parseTime(%q) accepted", raw)
		}
	}
}

// TestFetchAnswerCap: an answer over the source's cap is a KindTooLarge
// error naming the cap and the query, asked once; an error page is cut to
// one short line.
func TestFetchAnswerCap(t *testing.T) {
	huge := promtest.HugeMatrix(64<<20, 0)
	for _, tc := range []struct {
		name      string
		fail      func(w http.ResponseWriter, r *http.Request, call int) bool
		wantKind  query.Kind
		wantCalls int32
		wantMsg   string
	}{
		{"huge matrix", func(w http.ResponseWriter, r *http.Request, _ int) bool { huge.ServeHTTP(w, r); return true },
			query.KindTooLarge, 1, "limit of 256KiB (maxResponseBytes)"},
		{"huge error page", plain(500, "<html>"+strings.Repeat("internal detail ", 1<<16)),
			query.KindTooLarge, 1, "limit of 256KiB"},
		{"long error page", plain(502, "<html>"+strings.Repeat("internal detail ", 1<<12)),
			query.KindUnavailable, 3, "HTTP 502: <html>internal detail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := lokitest.Start(t, lokitest.Options{Fail: tc.fail})
			src, err := New(Config{URL: srv.URL, RetryWait: time.Millisecond, HTTP: sourcehttp.Config{MaxResponseBytes: 256 << 10}})
			if err != nil {
				t.Fatal(err)
			}
			q := metrics.Query{Signal: "errors", Expr: `sum(rate({app="shop",track="{{.track}}"}[1m]))`}
			_, err = src.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, metrics.Window{Start: time.Unix(0, 0), End: time.Unix(3600, 0)})
			var qe *query.Error
			if !errors.As(err, &qe) || qe.Kind != tc.wantKind || int32(srv.Calls()) != tc.wantCalls {
				t.Fatalf("err = %v after %d requests, want %v after %d", err, srv.Calls(), tc.wantKind, tc.wantCalls)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), `track="canary"`) || len(err.Error()) > 500 {
				t.Errorf("error of %d bytes %.600q, want it short, naming %q and the query", len(err.Error()), err, tc.wantMsg)
			}
		})
	}
}

// TestFetchHonoursRetryAfter: a 429 whose Retry-After asks for more than a
// query waits is not asked again, and says so.
func TestFetchHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "600")
		http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}
	_, err = s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: `sum(count_over_time({app="a"}[1m]))`}, metrics.Scope{}, w)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindRateLimited || !strings.Contains(err.Error(), "asked to wait 10m") || calls.Load() != 1 {
		t.Fatalf("err = %v after %d requests, want rate limited, asked once, saying it asked to wait 10m", err, calls.Load())
	}
}
