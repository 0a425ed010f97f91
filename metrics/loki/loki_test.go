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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// fakeLoki answers as Loki does for the handful of LogQL shapes the suite
// uses: it stores lines pushed in Loki's JSON push format and evaluates
// count_over_time({...}[1m]) with or without sum() over them, answers log
// queries with streams and unbalanced queries with a plain-text 400.
type fakeLoki struct {
	mu      sync.Mutex
	lines   map[string][]time.Time // by track
	tenants []string
	// fail, when set, may answer a query instead (it returns true when it did).
	fail    func(w http.ResponseWriter, r *http.Request, call int) bool
	calls   atomic.Int32
	lastReq atomic.Pointer[http.Request]
}

var (
	trackMatcher = regexp.MustCompile(`track="([^"]*)"`)
	rangeSel     = regexp.MustCompile(`\[(\d+)m\]`)
)

func (f *fakeLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/loki/api/v1/push":
		f.push(w, r)
	case "/loki/api/v1/query_range":
		n := int(f.calls.Add(1))
		f.lastReq.Store(r)
		f.mu.Lock()
		f.tenants = append(f.tenants, r.Header.Get("X-Scope-OrgID"))
		f.mu.Unlock()
		if f.fail != nil && f.fail(w, r, n) {
			return
		}
		f.queryRange(w, r)
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}

func (f *fakeLoki) push(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		} `json:"streams"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad push", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lines == nil {
		f.lines = map[string][]time.Time{}
	}
	for _, s := range req.Streams {
		for _, v := range s.Values {
			ns, _ := strconv.ParseInt(v[0], 10, 64)
			f.lines[s.Stream["track"]] = append(f.lines[s.Stream["track"]], time.Unix(0, ns))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeLoki) queryRange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("query")
	if strings.Count(q, "(") != strings.Count(q, ")") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "parse error at line 1, col %d: syntax error: unexpected $end, expecting ) or ,\n", len(q)+1)
		return
	}
	if strings.HasPrefix(q, "{") {
		writeBody(w, `{"status":"success","data":{"resultType":"streams","result":[]}}`)
		return
	}
	start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64)
	end, _ := strconv.ParseInt(r.URL.Query().Get("end"), 10, 64)
	step, _ := strconv.ParseFloat(r.URL.Query().Get("step"), 64)
	m := rangeSel.FindStringSubmatch(q)
	rng := time.Minute
	if m != nil {
		mins, _ := strconv.Atoi(m[1])
		rng = time.Duration(mins) * time.Minute
	}
	tracks := []string{"baseline", "canary"}
	if m := trackMatcher.FindStringSubmatch(q); m != nil {
		tracks = []string{m[1]}
	}
	sum := strings.HasPrefix(q, "sum(")
	type stream struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	counts := func(track string, t time.Time) int {
		n := 0
		for _, l := range f.lines[track] {
			if l.After(t.Add(-rng)) && !l.After(t) {
				n++
			}
		}
		return n
	}
	var out []stream
	for _, track := range tracks {
		if !sum || len(out) == 0 {
			labels := map[string]string{}
			if !sum {
				labels["track"] = track
			}
			out = append(out, stream{Metric: labels})
		}
	}
	for t := time.Unix(0, start); !t.After(time.Unix(0, end)); t = t.Add(time.Duration(step * float64(time.Second))) {
		for i, track := range tracks {
			si := i
			if sum {
				si = 0
			}
			n := counts(track, t)
			if n == 0 {
				continue
			}
			vs := out[si].Values
			if sum && len(vs) > 0 && vs[len(vs)-1][0] == t.Unix() {
				prev, _ := strconv.Atoi(vs[len(vs)-1][1].(string))
				vs[len(vs)-1][1] = strconv.Itoa(prev + n)
				continue
			}
			out[si].Values = append(vs, [2]any{t.Unix(), strconv.Itoa(n)})
		}
	}
	out = slices.DeleteFunc(out, func(s stream) bool { return len(s.Values) == 0 })
	if out == nil {
		out = []stream{}
	}
	body, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": out}})
	writeBody(w, string(body))
}

func writeBody(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

// pushLines writes the suite's data: for each minute of five, three canary
// lines (at +10s, +20s, +30s) and two baseline lines (+10s, +20s), labelled
// with a run id so that runs against a real Loki do not see each other.
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
				s.Values = append(s.Values, [2]string{strconv.FormatInt(ts.UnixNano(), 10), "request served track=" + track})
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

func TestFakeLoki(t *testing.T) {
	f := &fakeLoki{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	suite(t, srv.URL, "team-a")
	for _, tenant := range f.tenants {
		if tenant != "team-a" {
			t.Fatalf("X-Scope-OrgID %q, want team-a", tenant)
		}
	}
	r := f.lastReq.Load()
	if got := r.URL.Query().Get("direction"); got != "forward" {
		t.Errorf("direction %q", got)
	}
	if got := r.URL.Query().Get("step"); got != "60" {
		t.Errorf("step %q, want 60 (seconds)", got)
	}
	if got := r.URL.Query().Get("start"); len(got) < 19 {
		t.Errorf("start %q, want unix nanoseconds", got)
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
			f := &fakeLoki{fail: tt.fail}
			srv := httptest.NewServer(f)
			defer srv.Close()
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
			if got := f.calls.Load(); got != tt.wantCalls {
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
	f := &fakeLoki{fail: func(w http.ResponseWriter, r *http.Request, call int) bool {
		if call == 1 {
			return plain(429, "too many outstanding requests")(w, r, call)
		}
		writeBody(w, `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"track":"canary"},"values":[[1704067200,"1.5"],[1704067260.25,"NaN"],[1704067320,"+Inf"],[1704067380,"-Inf"]]}]},
			"warnings":["query was split"]}`)
		return true
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	src, err := New(Config{URL: srv.URL, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: `sum(rate({a="b"}[1m]))`}, nil,
		metrics.Window{Start: time.Unix(1704067200, 0), End: time.Unix(1704067500, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() != 2 {
		t.Errorf("%d calls, want 2", f.calls.Load())
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
			f := &fakeLoki{fail: tc.fail}
			srv := httptest.NewServer(f)
			defer srv.Close()
			src, err := New(Config{URL: srv.URL, RetryWait: time.Millisecond, HTTP: sourcehttp.Config{MaxResponseBytes: 256 << 10}})
			if err != nil {
				t.Fatal(err)
			}
			q := metrics.Query{Signal: "errors", Expr: `sum(rate({app="shop",track="{{.track}}"}[1m]))`}
			_, err = src.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, metrics.Window{Start: time.Unix(0, 0), End: time.Unix(3600, 0)})
			var qe *query.Error
			if !errors.As(err, &qe) || qe.Kind != tc.wantKind || f.calls.Load() != tc.wantCalls {
				t.Fatalf("err = %v after %d requests, want %v after %d", err, f.calls.Load(), tc.wantKind, tc.wantCalls)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), `track="canary"`) || len(err.Error()) > 500 {
				t.Errorf("error of %d bytes %.600q, want it short, naming %q and the query", len(err.Error()), err, tc.wantMsg)
			}
		})
	}
}
