package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

var window = metrics.Window{
	Start: time.Unix(1704067200, 0),
	End:   time.Unix(1704067200+3600, 0),
	Step:  10 * time.Second,
}

// fake answers range queries with canned responses and counts requests.
type fake struct {
	calls   atomic.Int32
	handler func(w http.ResponseWriter, r *http.Request, call int)
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	f.handler(w, r, n)
}

func newSource(t *testing.T, h func(w http.ResponseWriter, r *http.Request, call int), cfg Config) (*Source, *fake) {
	t.Helper()
	f := &fake{handler: h}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL
	if cfg.RetryWait == 0 {
		cfg.RetryWait = time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// attemptTimeout is a test's per-attempt timeout: 50ms where the server
// sleeps past it, and otherwise long enough that an attempt on a loaded
// machine does not time out before the server answers.
func attemptTimeout(serverSleep time.Duration) time.Duration {
	if serverSleep > 0 {
		return 50 * time.Millisecond
	}
	return 10 * time.Second
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

const matrixBody = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"__name__":"lat","track":"canary"},"values":[[1704067200,"1.5"],[1704067210,"NaN"],[1704067220,"+Inf"],[1704067230,"-Inf"]]}
]},"warnings":["too many samples, results may be partial"],"infos":["metric might not be a counter"]}`

func TestFetchParsesMatrix(t *testing.T) {
	var form map[string][]string
	s, _ := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		form = r.Form
		writeJSON(w, 200, matrixBody)
	}, Config{Timeout: 7 * time.Second})
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "lat", Expr: `lat{track="{{.track}}"}`}, metrics.Scope{"track": "canary"}, window)
	if err != nil {
		t.Fatal(err)
	}
	wantForm := map[string]string{"query": `lat{track="canary"}`, "start": "1704067200", "end": "1704070800", "step": "10", "timeout": "7s"}
	for k, v := range wantForm {
		if got := strings.Join(form[k], ","); got != v {
			t.Errorf("request %s = %q, want %q", k, got, v)
		}
	}
	if len(res.Series) != 1 {
		t.Fatalf("got %d series", len(res.Series))
	}
	sr := res.Series[0]
	if sr.Signal != "lat" || sr.Labels["track"] != "canary" || sr.Labels["__name__"] != "lat" {
		t.Errorf("signal %q labels %v", sr.Signal, sr.Labels)
	}
	if len(sr.Values) != 4 || sr.Values[0] != 1.5 || !math.IsNaN(sr.Values[1]) || !math.IsInf(sr.Values[2], 1) || !math.IsInf(sr.Values[3], -1) {
		t.Errorf("values %v, want [1.5 NaN +Inf -Inf]", sr.Values)
	}
	if !sr.Times[1].Equal(time.Unix(1704067210, 0)) {
		t.Errorf("times %v", sr.Times)
	}
	want := []string{"too many samples, results may be partial", "info: metric might not be a counter"}
	if fmt.Sprint(res.Warnings) != fmt.Sprint(want) {
		t.Errorf("warnings %q, want %q", res.Warnings, want)
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		body      string
		sleep     time.Duration
		wantKind  query.Kind
		wantCalls int32
		wantMsg   string
	}{
		{"bad_data", 400, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""}`, 0, query.KindBadQuery, 1, "bad_data: 1:5: parse error"},
		{"execution", 422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`, 0, query.KindBadQuery, 1, "many-to-many"},
		{"query timeout", 503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, 0, query.KindTimeout, 3, "HTTP 503: timeout: query timed out in expression evaluation"},
		{"HTTP 503", 503, "upstream connect error", 0, query.KindUnavailable, 3, "HTTP 503: upstream connect error"},
		{"HTTP 502", 502, "<html>bad gateway</html>", 0, query.KindUnavailable, 3, "HTTP 502"},
		{"HTTP 429", 429, "slow down", 0, query.KindRateLimited, 3, "HTTP 429"},
		{"HTTP 401", 401, "unauthorized", 0, query.KindRejected, 1, "HTTP 401: unauthorized"},
		{"HTTP 404", 404, "404 page not found", 0, query.KindRejected, 1, "HTTP 404"},
		{"not JSON", 200, "hello", 0, query.KindBadResponse, 1, "bad_response"},
		{"vector result", 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`, 0, query.KindBadResponse, 1, "want a matrix"},
		{"client timeout", 200, matrixBody, 300 * time.Millisecond, query.KindTimeout, 3, "timeout after 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if tt.sleep > 0 {
					select {
					case <-time.After(tt.sleep):
					case <-r.Context().Done():
						return
					}
				}
				writeJSON(w, tt.code, tt.body)
			}, Config{Timeout: attemptTimeout(tt.sleep)})
			q := metrics.Query{Signal: "errors", Expr: `up{track="{{.track}}"}`}
			_, err := s.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, window)
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
			if qe.Signal != "errors" || qe.Query != `up{track="canary"}` {
				t.Errorf("error names signal %q query %q", qe.Signal, qe.Query)
			}
			for _, want := range []string{tt.wantMsg, "signal errors", `up{track="canary"}`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestFetchRetriesThenSucceeds(t *testing.T) {
	s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, call int) {
		if call < 3 {
			writeJSON(w, 503, "busy")
			return
		}
		writeJSON(w, 200, matrixBody)
	}, Config{})
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "lat", Expr: "lat"}, nil, window)
	if err != nil || len(res.Series) != 1 || f.calls.Load() != 3 {
		t.Fatalf("err %v, %d series, %d calls", err, len(res.Series), f.calls.Load())
	}
}

func TestFetchRetriesSetting(t *testing.T) {
	for _, tt := range []struct {
		retries int
		want    int32
	}{{-1, 1}, {0, 3}, {4, 5}} {
		s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) { writeJSON(w, 500, "boom") }, Config{Retries: tt.retries})
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "x"}, nil, window)
		if err == nil || f.calls.Load() != tt.want {
			t.Errorf("Retries %d: %d calls, want %d (err %v)", tt.retries, f.calls.Load(), tt.want, err)
		}
	}
}

func TestFetchRefusesBadTemplateWithoutQuerying(t *testing.T) {
	s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) { writeJSON(w, 200, matrixBody) }, Config{})
	for _, expr := range []string{`up{track={{.track}}}`, `up{track="{{.nope}}"}`} {
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: expr}, metrics.Scope{"track": "canary"}, window)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || qe.Query != expr {
			t.Errorf("%s: err = %v, want KindBadQuery naming the template", expr, err)
		}
	}
	if f.calls.Load() != 0 {
		t.Fatalf("%d requests for invalid templates", f.calls.Load())
	}
}

func TestFetchCallerCancel(t *testing.T) {
	s, _ := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) { writeJSON(w, 503, "busy") }, Config{RetryWait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Fetch(ctx, metrics.Query{Signal: "x", Expr: "x"}, nil, window)
	if time.Since(start) > 5*time.Second {
		t.Fatal("Fetch did not stop when the caller's context ended")
	}
	var qe *query.Error
	if !errors.As(err, &qe) || !qe.Kind.SourceDown() {
		t.Fatalf("err = %v", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: ""},
		{URL: "127.0.0.1:9090"},
		{URL: "ftp://x"},
		{URL: "http://x", HTTP: sourcehttp.Config{BearerTokenFile: filepath.Join(t.TempDir(), "missing")}},
		{URL: "http://x", HTTP: sourcehttp.Config{MaxConns: -1}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestFetchSendsBearerToken(t *testing.T) {
	var auth string
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		auth = r.Header.Get("Authorization")
		writeJSON(w, 200, matrixBody)
	}, Config{HTTP: sourcehttp.Config{BearerTokenFile: token}})
	if _, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "x"}, nil, window); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer s3cret" {
		t.Fatalf("Authorization %q", auth)
	}
}

// TestFetchAnswerCap: a matrix answer far over the source's cap is a
// KindTooLarge error naming the cap and the query, asked once (retrying
// gets the same answer), and the client stops reading at the cap instead of
// buffering the whole answer.
func TestFetchAnswerCap(t *testing.T) {
	const limit = 1 << 20
	var written atomic.Int64
	huge := promtest.HugeMatrix(256<<20, 0)
	s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		cw := &countingWriter{ResponseWriter: w, n: &written}
		huge.ServeHTTP(cw, r)
	}, Config{HTTP: sourcehttp.Config{MaxResponseBytes: limit}})
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "huge", Expr: `huge{track="{{.track}}"}`}, metrics.Scope{"track": "canary"}, window)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTooLarge {
		t.Fatalf("err = %v, want a KindTooLarge *query.Error", err)
	}
	for _, want := range []string{"signal huge", "limit of 1MiB (maxResponseBytes)", `(query: huge{track="canary"})`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
	if f.calls.Load() != 1 {
		t.Errorf("%d requests, want 1 (an answer over the cap is not retried)", f.calls.Load())
	}
	if w := written.Load(); w > 64<<20 {
		t.Errorf("the server wrote %d bytes before the client stopped reading", w)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// TestFetchErrorTextIsShort: a megabyte error page is cut to one short
// line in the error, which a report would keep.
func TestFetchErrorTextIsShort(t *testing.T) {
	page := "<html>" + strings.Repeat("internal detail ", 1<<16) + "</html>"
	s, _ := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) { writeJSON(w, 404, page) }, Config{})
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "x"}, nil, window)
	if err == nil || !strings.Contains(err.Error(), "HTTP 404: <html>internal detail") || len(err.Error()) > 400 {
		t.Errorf("error of %d bytes: %.500s", len(fmt.Sprint(err)), err)
	}
}

// TestSourceBoundsConnections: many queries at once through one Source
// leave no more connections open than its MaxConns, and open few more
// (see sourcehttp's TestMaxConns for the allowance), however many queries
// there are.
func TestSourceBoundsConnections(t *testing.T) {
	var opened, closed atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // keep connections busy, so queries overlap
		writeJSON(w, 200, matrixBody)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, HTTP: sourcehttp.Config{MaxConns: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if _, err := s.Fetch(context.Background(), metrics.Query{Signal: "lat", Expr: "lat"}, nil, window); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	open := opened.Load() - closed.Load()
	for deadline := time.Now().Add(10 * time.Second); open > 2 && time.Now().Before(deadline); open = opened.Load() - closed.Load() {
		time.Sleep(10 * time.Millisecond) // closes reach the server asynchronously
	}
	if open > 2 {
		t.Errorf("%d connections open after 40 concurrent queries, want at most MaxConns 2", open)
	}
	if n := opened.Load(); n > 2+40/20 {
		t.Errorf("40 concurrent queries opened %d connections, want at most MaxConns 2 (+ 2)", n)
	}
}

func TestFetchKinds(t *testing.T) {
	// The window 00:00:05 .. 00:05:00 at 1m: the grid is 00:02 .. 00:05.
	w := metrics.Window{Start: time.Unix(1704067205, 0), End: time.Unix(1704067500, 0), Step: time.Minute}
	const (
		counts = `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"job":"api"},"values":[[1704067320,"3"],[1704067500,"1.5"]]}]}}`
		native = `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"job":"api"},"histograms":[[1704067380,{"count":"6","sum":"1.25","buckets":[
				[1,"-0.25","-0.125","1"],[3,"-1e-9","1e-9","2"],[0,"0.5","1","3"]]}]]}]}}`
		mixed = `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"le":"+Inf"},"values":[[1704067320,"3"]]},
			{"metric":{},"histograms":[[1704067380,{"count":"1","sum":"1","buckets":[[0,"0.5","1","1"]]}]]}]}}`
		empty = `{"status":"success","data":{"resultType":"matrix","result":[]}}`
	)
	tests := []struct {
		name       string
		kind       metrics.Kind
		body       string
		wantBounds []float64
		wantValues []float64
		wantNone   bool
		wantErr    string
	}{
		{name: "count: missing steps are zero", kind: metrics.Count, body: counts, wantValues: []float64{3, 0, 0, 1.5}},
		{name: "count: nothing returned is no data", kind: metrics.Count, body: empty, wantNone: true},
		{name: "count of native histograms", kind: metrics.Count, body: native, wantErr: "histogram_count()"},
		{name: "native histogram", kind: metrics.Histogram, body: native, wantBounds: []float64{0, 1e-9, 1, math.Inf(1)},
			wantValues: []float64{0, 0, 0, 0, 1, 3, 6, 6, 0, 0, 0, 0, 0, 0, 0, 0}},
		{name: "native and classic mixed", kind: metrics.Histogram, body: mixed, wantErr: "both native histograms and numbers"},
		{name: "histogram: nothing returned is no data", kind: metrics.Histogram, body: empty, wantNone: true},
		{name: "gauge of native histograms", kind: metrics.Gauge, body: native, wantErr: "histogram_quantile()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var form map[string][]string
			s, _ := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				_ = r.ParseForm()
				form = r.Form
				writeJSON(w, 200, tt.body)
			}, Config{})
			res, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "x", Kind: tt.kind}, nil, w)
			if tt.wantErr != "" {
				var qe *query.Error
				if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want KindBadQuery saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind != metrics.Gauge && (form["start"][0] != "1704067320" || form["end"][0] != "1704067500" || form["step"][0] != "60") {
				t.Errorf("asked for start %v end %v step %v; want the grid 1704067320..1704067500 at 60", form["start"], form["end"], form["step"])
			}
			if tt.wantNone {
				if len(res.Series) != 0 {
					t.Fatalf("got %+v, want no series", res.Series)
				}
				return
			}
			if len(res.Series) != 1 {
				t.Fatalf("%d series", len(res.Series))
			}
			got := res.Series[0]
			if fmt.Sprint(got.Bounds) != fmt.Sprint(tt.wantBounds) || fmt.Sprint(got.Values) != fmt.Sprint(tt.wantValues) {
				t.Fatalf("bounds %v values %v, want %v %v", got.Bounds, got.Values, tt.wantBounds, tt.wantValues)
			}
			if len(got.Times) != 4 || !got.Times[0].Equal(time.Unix(1704067320, 0)) || got.Labels["job"] != "api" {
				t.Errorf("times %v labels %v", got.Times, got.Labels)
			}
		})
	}
}

// TestFetchHonoursRetryAfter: a 429 whose Retry-After asks for more than a
// query waits is not asked again, and says so; one that asks for a second
// is retried.
func TestFetchHonoursRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		retryAfter string
		wantCalls  int32
		wantMsg    string
	}{
		{"600", 1, "asked to wait 10m"},
		{"1", 3, "gave up after 3 attempts"},
	} {
		s, f := newSource(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			w.Header().Set("Retry-After", tt.retryAfter)
			writeJSON(w, 429, "slow down")
		}, Config{})
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: `up{track="{{.track}}"}`}, metrics.Scope{"track": "canary"}, window)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindRateLimited || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("Retry-After %s: err = %v, want rate limited saying %q", tt.retryAfter, err, tt.wantMsg)
		}
		if got := f.calls.Load(); got != tt.wantCalls {
			t.Errorf("Retry-After %s: %d requests, want %d", tt.retryAfter, got, tt.wantCalls)
		}
	}
}
