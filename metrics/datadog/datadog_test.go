package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/datadogtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

const (
	testAPIKey = "0123456789abcdef0123456789abcdef"
	testAppKey = "fedcba9876543210fedcba9876543210fedcba98"
)

// recorded is an exchange of testdata (see testdata/README.md).
type recorded struct {
	Request struct {
		Method string            `json:"method"`
		Path   string            `json:"path"`
		Query  map[string]string `json:"query"`
	} `json:"request"`
	Response recordedResponse `json:"response"`
}

type recordedResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

func (r recordedResponse) write(w http.ResponseWriter) {
	for k, v := range r.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func newSource(t *testing.T, url string, retries int) *Source {
	t.Helper()
	s, err := New(Config{URL: url, APIKey: testAPIKey, AppKey: testAppKey, Retries: retries, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRecordedAnswer replays Datadog's published answer to "Query
// timeseries points": the source sends the recorded request (path, from,
// to, query; the keys in headers, not in the URL) and reads the points.
func TestRecordedAnswer(t *testing.T) {
	var ex recorded
	readJSON(t, "v1-query-ok.json", &ex)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := map[string]string{}
		for k, v := range r.URL.Query() {
			got[k] = strings.Join(v, ",")
		}
		if r.Method != ex.Request.Method || r.URL.Path != ex.Request.Path || !reflect.DeepEqual(got, ex.Request.Query) {
			t.Errorf("request %s %s %v, want the recorded %s %s %v", r.Method, r.URL.Path, got, ex.Request.Method, ex.Request.Path, ex.Request.Query)
		}
		if r.Header.Get("DD-API-KEY") != testAPIKey || r.Header.Get("DD-APPLICATION-KEY") != testAppKey {
			t.Errorf("keys not sent in DD-API-KEY and DD-APPLICATION-KEY")
		}
		if strings.Contains(r.URL.String(), testAPIKey) || strings.Contains(r.URL.String(), testAppKey) {
			t.Errorf("a key travels in the URL %s", r.URL)
		}
		ex.Response.write(w)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, -1)
	// The recorded request's from and to: the gauge's points in [start, end).
	w := metrics.Window{Start: time.Unix(1623846101, 0), End: time.Unix(1623932502, 0), Step: 5 * time.Minute}
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu_idle", Expr: "system.cpu.idle{*}"}, nil, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 {
		t.Fatalf("%d series, want 1", len(res.Series))
	}
	got := res.Series[0]
	wantValues := []float64{94.31900300343831, 94.1221435991923, 94.4046950785319, 94.35738808949789, 94.17893098195394, 94.34093508402506}
	if !slices.Equal(got.Values, wantValues) {
		t.Errorf("values %v, want %v", got.Values, wantValues)
	}
	for i, tm := range got.Times {
		if want := time.Unix(1623846300+int64(i)*300, 0); !tm.Equal(want) {
			t.Errorf("point %d at %s, want %s", i, tm, want)
		}
	}
	if got.Labels["expression"] != "system.cpu.idle{*}" || got.Labels["scope"] != "*" {
		t.Errorf("labels %v, want the expression and scope", got.Labels)
	}
	// The recorded answer (trimmed to six points) stops 23 hours short.
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "partial data: no returned series has a point after 2021-06-16T12:50:00Z") {
		t.Errorf("warnings %q, want one saying the data stops after the sixth point", res.Warnings)
	}
}

// TestAnswerShape checks that datadogtest, which the end-to-end tests
// run against, answers with every field of Datadog's recorded answer.
func TestAnswerShape(t *testing.T) {
	var ex recorded
	readJSON(t, "v1-query-ok.json", &ex)
	srv := datadogtest.Start(t, testAPIKey, testAppKey)
	start := time.Unix(1_700_000_000, 0)
	srv.Add("system.cpu.idle", map[string]string{"host": "a"}, []time.Time{start, start.Add(10 * time.Second)}, []float64{1, 2})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/query?from=1700000000&to=1700000100&query=system.cpu.idle%7B%2A%7D", nil)
	req.Header.Set("DD-API-KEY", testAPIKey)
	req.Header.Set("DD-APPLICATION-KEY", testAppKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var fake map[string]any
	if err := json.NewDecoder(res.Body).Decode(&fake); err != nil {
		t.Fatal(err)
	}
	var real map[string]any
	if err := json.Unmarshal(ex.Response.Body, &real); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(keys(fake), keys(real)) {
		t.Errorf("answer fields %v, Datadog's %v", keys(fake), keys(real))
	}
	fs, rs := fake["series"].([]any), real["series"].([]any)
	if len(fs) != 1 {
		t.Fatalf("stand-in answered %d series, want 1", len(fs))
	}
	if f, r := keys(fs[0].(map[string]any)), keys(rs[0].(map[string]any)); !slices.Equal(f, r) {
		t.Errorf("series fields %v, Datadog's %v", f, r)
	}
}

// TestRecordedErrors replays Datadog's published error answers.
func TestRecordedErrors(t *testing.T) {
	var answers []recordedResponse
	readJSON(t, "v1-query-errors.json", &answers)
	byStatus := map[int]recordedResponse{}
	for _, a := range answers {
		byStatus[a.Status] = a
	}
	tests := []struct {
		status   int
		kind     query.Kind
		contains string
	}{
		{400, query.KindBadQuery, "HTTP 400: Bad Request"},
		{403, query.KindRejected, "Datadog refused the keys (Forbidden); check the API and application keys"},
		{429, query.KindRateLimited, "rate limited at 100 requests per 10s, reset in 1s: Too many requests"},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { byStatus[tt.status].write(w) }))
		s := newSource(t, srv.URL, -1)
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "avg:system.cpu.idle{*}"}, nil, testWindow)
		srv.Close()
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != tt.kind || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("HTTP %d: %v, want a %s error containing %q", tt.status, err, tt.kind, tt.contains)
		}
	}
}

// TestThrottledRetried: a 429 is retried after the X-RateLimit-Reset
// Datadog's headers give, and the query then succeeds.
func TestThrottledRetried(t *testing.T) {
	srv := datadogtest.Start(t, testAPIKey, testAppKey)
	srv.Add("checkout.cpu", map[string]string{"track": "canary"}, []time.Time{testWindow.Start}, []float64{42})
	srv.Throttle(1, 1)
	s := newSource(t, srv.URL, 2)
	began := time.Now()
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "avg:checkout.cpu{track:{{.track}}}"}, metrics.Scope{"track": "canary"}, testWindow)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, []float64{42}) {
		t.Errorf("series %+v, want the one point", res.Series)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (one throttled, one answered)", n)
	}
	if waited := time.Since(began); waited < time.Second {
		t.Errorf("retried after %s, before the 1s X-RateLimit-Reset", waited)
	}
}

// TestKeysNeverInErrors: a server that echoes the keys in its error
// answers (or a proxy that does) gets them redacted from every error.
func TestKeysNeverInErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 429, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {"invalid key " + r.Header.Get("DD-API-KEY") + " for application " + r.Header.Get("DD-APPLICATION-KEY")}})
		}))
		s := newSource(t, srv.URL, -1)
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "avg:system.cpu.idle{*}"}, nil, testWindow)
		srv.Close()
		if err == nil {
			t.Fatalf("HTTP %d: no error", status)
		}
		msg := err.Error()
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			msg += " " + e.Error()
		}
		if strings.Contains(msg, testAPIKey) || strings.Contains(msg, testAppKey) {
			t.Errorf("HTTP %d: error holds a key: %s", status, msg)
		}
		if !strings.Contains(msg, "[redacted]") {
			t.Errorf("HTTP %d: error %q does not show where the keys were", status, msg)
		}
	}
}

// TestCountsOnGrid: a count's query sums each step itself; both the
// events and their exposure come back whole, on the count grid, each step
// counting (t−step, t].
func TestCountsOnGrid(t *testing.T) {
	srv := datadogtest.Start(t, testAPIKey, testAppKey)
	start := time.Unix(1_699_999_980, 0).UTC() // a multiple of 60s
	var times []time.Time
	var errs, reqs []float64
	for i := range 36 { // six minutes at 10s
		times = append(times, start.Add(time.Duration(i)*10*time.Second))
		errs = append(errs, float64(i%3))
		reqs = append(reqs, 100)
	}
	srv.Add("checkout.errors", map[string]string{"track": "canary"}, times, errs)
	srv.Add("checkout.requests", map[string]string{"track": "canary"}, times, reqs)
	s := newSource(t, srv.URL, -1)
	w := metrics.Window{Start: start, End: start.Add(6 * time.Minute), Step: time.Minute}
	scope := metrics.Scope{"track": "canary"}
	for _, tt := range []struct {
		metric string
		want   float64
	}{{"errors", 6}, {"requests", 600}} {
		res, err := s.Fetch(context.Background(), metrics.Query{Signal: tt.metric, Kind: metrics.Count,
			Expr: "sum:checkout." + tt.metric + "{track:{{.track}}}.as_count().rollup(sum, {{.step}})"}, scope, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 {
			t.Fatalf("%s: %d series", tt.metric, len(res.Series))
		}
		got := res.Series[0]
		if len(got.Values) != 6 {
			t.Fatalf("%s: %d steps, want 6", tt.metric, len(got.Values))
		}
		for i, v := range got.Values {
			if v != tt.want || !got.Times[i].Equal(start.Add(time.Duration(i+1)*time.Minute)) {
				t.Errorf("%s step %d: %v at %s, want %v at %s", tt.metric, i, v, got.Times[i], tt.want, start.Add(time.Duration(i+1)*time.Minute))
			}
		}
	}
	// Without a rollup at the step, Datadog answers at another interval:
	// refused, not counted over the wrong windows.
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "errors", Kind: metrics.Count,
		Expr: "sum:checkout.errors{track:{{.track}}}.as_count()"}, scope, w)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "interval is 10s, not the step 1m") {
		t.Errorf("count without rollup: %v, want a bad query naming the interval", err)
	}
}

func TestHistogramRefused(t *testing.T) {
	s := newSource(t, "http://127.0.0.1:1", -1)
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "latency", Kind: metrics.Histogram, Expr: "p99:checkout.latency{*}"}, nil, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "returns no buckets") {
		t.Errorf("histogram: %v, want refused", err)
	}
}

func TestNewSettings(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(testAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		setting string
		wantErr string
	}{
		{"no api key", Config{AppKey: "x"}, "apiKeyFile", "missing: give apiKeyFile or set DD_API_KEY"},
		{"no app key", Config{APIKey: "x"}, "appKeyFile", "missing: give appKeyFile or set DD_APP_KEY"},
		{"unknown site", Config{Site: "datadoghq.example", APIKey: "x", AppKey: "y"}, "site", `"datadoghq.example" is not a Datadog site`},
		{"missing key file", Config{APIKeyFile: filepath.Join(dir, "absent"), AppKey: "y"}, "apiKeyFile", "no such file"},
		{"url with user", Config{URL: "https://u:p@api.datadoghq.com", APIKey: "x", AppKey: "y"}, "url", "is not a URL"},
		{"key file", Config{APIKeyFile: keyFile, AppKey: "y", Site: "datadoghq.eu"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.base.String() != "https://api.datadoghq.eu" {
					t.Errorf("base %s, want the site's API", s.base)
				}
				if k, _ := s.apiKey.Get(); k != testAPIKey {
					t.Errorf("key read as %q", k)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Setting != tt.setting || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New: %v, want a %s error containing %q", err, tt.setting, tt.wantErr)
			}
		})
	}
}

// TestAnswerCapped: an answer over the source's cap is a KindTooLarge
// error, not retried.
func TestAnswerCapped(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`{"status":"ok","series":[{"pointlist":[` + strings.Repeat(`[1.0,2.0],`, 1<<16) + `[1.0,2.0]]}]}`))
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, APIKey: "a", AppKey: "b", Retries: 2, RetryWait: time.Millisecond, HTTP: sourcehttp.Config{MaxResponseBytes: 64 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "avg:a{*}"}, nil, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTooLarge || calls.Load() != 1 {
		t.Errorf("%v after %d calls, want one too-large error", err, calls.Load())
	}
}

// TestTimeout: an attempt that gets no answer ends at the source's
// timeout as a KindTimeout error (retried, then given up).
func TestTimeout(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // never answers while the test runs
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := New(Config{URL: srv.URL, APIKey: "a", AppKey: "b", Timeout: 50 * time.Millisecond, Retries: 1, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "avg:a{*}"}, nil, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTimeout || !strings.Contains(err.Error(), "timeout after 50ms (gave up after 2 attempts)") || calls.Load() != 2 {
		t.Errorf("%v after %d calls, want a timeout after 2 attempts", err, calls.Load())
	}
}
