package newrelic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/newrelictest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

const (
	testKey     = "NRAK-0123456789ABCDEFGHIJKLMNOPQ"
	testAccount = 1234567
)

func newSource(t *testing.T, url string, retries int) *Source {
	t.Helper()
	s, err := New(Config{URL: url, AccountID: testAccount, APIKey: testKey, Retries: retries, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRecordedAnswer replays the recorded NerdGraph answer of a FACET
// TIMESERIES count: the source posts the NRQL as a variable with the
// window's SINCE and UNTIL, the key in API-Key, and reads one series per
// facet value.
func TestRecordedAnswer(t *testing.T) {
	answer, err := os.ReadFile(filepath.Join("testdata", "nerdgraph-facet-timeseries.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("request body: %v", err)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/graphql" || r.Header.Get("API-Key") != testKey {
			t.Errorf("request %s %s with API-Key %q", r.Method, r.URL.Path, r.Header.Get("API-Key"))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, -1)
	w := metrics.Window{Start: time.Unix(1748910826, 0), End: time.Unix(1748918026, 0), Step: time.Hour}
	q := metrics.Query{Signal: "requests", Expr: "SELECT count(*) FROM Transaction FACET appName TIMESERIES {{.step}}"}
	_, err = s.Fetch(context.Background(), q, nil, w)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindAmbiguous || !strings.Contains(err.Error(), "appName") {
		t.Errorf("two facets without an aggregate: %v, want an ambiguity naming appName", err)
	}
	if want := "SELECT count(*) FROM Transaction FACET appName TIMESERIES 3600 seconds SINCE 1748910826 UNTIL 1748918026"; got.Variables["nrql"] != want {
		t.Errorf("nrql variable %q, want %q", got.Variables["nrql"], want)
	}
	if got.Variables["accountId"] != float64(testAccount) || !strings.Contains(got.Query, "account(id: $accountId) { nrql(query: $nrql") {
		t.Errorf("GraphQL %q with %v", got.Query, got.Variables)
	}
	q.Aggregate = "sum"
	res, err := s.Fetch(context.Background(), q, nil, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, []float64{150}) || !res.Series[0].Times[0].Equal(time.Unix(1748910826, 0)) {
		t.Errorf("series %+v, want App1 and App2 summed at the bucket's begin", res.Series)
	}
}

// TestRecordedErrors replays NerdGraph's error answers: each becomes the
// kind the source's callers act on, and a throttled answer is retried.
func TestRecordedErrors(t *testing.T) {
	var recorded []struct {
		Name    string            `json:"name"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}
	data, err := os.ReadFile(filepath.Join("testdata", "nerdgraph-errors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &recorded); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		kind     query.Kind
		contains string
	}{
		"too many requests": {query.KindRateLimited, "rate limited: some error"},
		"timeout":           {query.KindTimeout, "some error"},
		"server error":      {query.KindUnavailable, "some error"},
		"bad api key":       {query.KindRejected, "New Relic refused the API key (Invalid API key); check the user API key"},
		"throttled":         {query.KindRateLimited, "HTTP 429: Too many requests"},
	}
	for _, rec := range recorded {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range rec.Headers {
				w.Header().Set(k, v)
			}
			w.WriteHeader(rec.Status)
			_, _ = w.Write(rec.Body)
		}))
		s := newSource(t, srv.URL, -1)
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "SELECT count(*) FROM Transaction TIMESERIES {{.step}}"}, nil, testWindow)
		srv.Close()
		w := want[rec.Name]
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != w.kind || !strings.Contains(err.Error(), w.contains) {
			t.Errorf("%s: %v, want a %s error containing %q", rec.Name, err, w.kind, w.contains)
		}
		if rec.Name == "throttled" && qe != nil && qe.RetryAfter != time.Second {
			t.Errorf("throttled: RetryAfter %s, want the 1s of Retry-After", qe.RetryAfter)
		}
	}
}

// TestThrottledRetried: NerdGraph's TOO_MANY_REQUESTS and an HTTP 429
// with Retry-After are retried, and the query then succeeds.
func TestThrottledRetried(t *testing.T) {
	for _, http429 := range []bool{false, true} {
		srv := newrelictest.Start(t, testKey, testAccount)
		srv.Add(newrelictest.Event{Type: "Metric", Attrs: map[string]string{"track": "canary"}, Fields: map[string]float64{"cpu": 42}, Time: testWindow.Start})
		srv.Throttle(1, http429)
		s := newSource(t, srv.URL, 2)
		began := time.Now()
		res, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: "SELECT average(cpu) FROM Metric WHERE track = '{{.track}}' TIMESERIES {{.step}}"}, metrics.Scope{"track": "canary"}, testWindow)
		if err != nil {
			t.Fatalf("http429=%v: %v", http429, err)
		}
		if len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, []float64{42}) {
			t.Errorf("http429=%v: series %+v, want the one point", http429, res.Series)
		}
		if n := len(srv.Requests()); n != 2 {
			t.Errorf("http429=%v: %d requests, want 2", http429, n)
		}
		if http429 && time.Since(began) < time.Second {
			t.Errorf("retried before the 1s of Retry-After")
		}
	}
}

// TestKeyNeverInErrors: an answer that echoes the key has it redacted.
func TestKeyNeverInErrors(t *testing.T) {
	for _, status := range []int{200, 400, 401, 429, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": "bad key " + r.Header.Get("API-Key")}}})
		}))
		s := newSource(t, srv.URL, -1)
		_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "SELECT count(*) FROM Transaction TIMESERIES {{.step}}"}, nil, testWindow)
		srv.Close()
		if err == nil {
			t.Fatalf("HTTP %d: no error", status)
		}
		msg := err.Error()
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			msg += " " + e.Error()
		}
		if strings.Contains(msg, testKey) || !strings.Contains(msg, "[redacted]") {
			t.Errorf("HTTP %d: error %q holds the key or does not show where it was", status, msg)
		}
	}
}

// TestCountsWithExposure: a count(*) and its exposure come back whole on
// the count grid, each step counting (t−step, t]; a FACET splits them
// per value, summed by the signal's aggregate.
func TestCountsWithExposure(t *testing.T) {
	srv := newrelictest.Start(t, testKey, testAccount)
	start := testWindow.Start // a multiple of 60s
	for i := range 36 {       // six minutes, one request event every 10s per host, an error every 3rd
		at := start.Add(time.Duration(i) * 10 * time.Second)
		for _, host := range []string{"a", "b"} {
			srv.Add(newrelictest.Event{Type: "Transaction", Attrs: map[string]string{"track": "canary", "host": host}, Time: at})
			if i%3 == 0 {
				srv.Add(newrelictest.Event{Type: "TransactionError", Attrs: map[string]string{"track": "canary", "host": host}, Time: at})
			}
		}
	}
	s := newSource(t, srv.URL, -1)
	w := metrics.Window{Start: start, End: start.Add(6 * time.Minute), Step: time.Minute}
	for _, tt := range []struct {
		event string
		want  float64
	}{{"TransactionError", 4}, {"Transaction", 12}} {
		q := metrics.Query{Signal: tt.event, Kind: metrics.Count, Aggregate: "sum",
			Expr: "SELECT count(*) FROM " + tt.event + " WHERE track = '{{.track}}' FACET host TIMESERIES {{.step}}"}
		res, err := s.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || len(res.Series[0].Values) != 6 {
			t.Fatalf("%s: %+v, want one series of 6 steps", tt.event, res.Series)
		}
		for i, v := range res.Series[0].Values {
			if at := start.Add(time.Duration(i+1) * time.Minute); v != tt.want || !res.Series[0].Times[i].Equal(at) {
				t.Errorf("%s step %d: %v at %s, want %v at %s", tt.event, i, v, res.Series[0].Times[i], tt.want, at)
			}
		}
	}
	// More steps than NRQL's 366 buckets: refused with the step to use.
	long := metrics.Window{Start: start, End: start.Add(7 * time.Hour), Step: time.Minute}
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "x", Kind: metrics.Count, Expr: "SELECT count(*) FROM Transaction TIMESERIES {{.step}}"}, nil, long)
	if err == nil || !strings.Contains(err.Error(), "more than the 366 buckets") {
		t.Errorf("a 7h window at 1m: %v, want refused", err)
	}
}

func TestNewSettings(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		setting string
		want    string
	}{
		{"no key", Config{AccountID: 1}, "apiKeyFile", "missing: give apiKeyFile or set NEW_RELIC_API_KEY"},
		{"no account", Config{APIKey: "k"}, "accountId", "missing: give accountId or set NEW_RELIC_ACCOUNT_ID"},
		{"region", Config{APIKey: "k", AccountID: 1, Region: "APAC"}, "region", `"APAC" is not a New Relic region`},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		var se *SettingError
		if !errors.As(err, &se) || se.Setting != tt.setting || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a %s error containing %q", tt.name, err, tt.setting, tt.want)
		}
	}
	s, err := New(Config{APIKey: "k", AccountID: 1, Region: "eu"})
	if err != nil || s.endpoint != "https://api.eu.newrelic.com/graphql" {
		t.Errorf("EU: %v, endpoint %v", err, s)
	}
}

// TestFacetLimit: a FACET without LIMIT that answers NRQL's default 10
// values is flagged partial; with LIMIT MAX every value is summed.
func TestFacetLimit(t *testing.T) {
	srv := newrelictest.Start(t, testKey, testAccount)
	for h := range 12 {
		srv.Add(newrelictest.Event{Type: "Transaction", Attrs: map[string]string{"track": "canary", "host": string(rune('a' + h))}, Time: testWindow.Start})
	}
	s := newSource(t, srv.URL, -1)
	w := metrics.Window{Start: testWindow.Start, End: testWindow.Start.Add(2 * time.Minute), Step: time.Minute}
	for _, tt := range []struct {
		limit   string
		want    float64
		partial bool
	}{{"", 10, true}, {" LIMIT MAX", 12, false}} {
		q := metrics.Query{Signal: "requests", Kind: metrics.Count, Aggregate: "sum",
			Expr: "SELECT count(*) FROM Transaction WHERE track = '{{.track}}' FACET host" + tt.limit + " TIMESERIES {{.step}}"}
		res, err := s.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || res.Series[0].Values[0] != tt.want {
			t.Errorf("limit %q: %+v, want %v requests in the first step", tt.limit, res.Series, tt.want)
		}
		if partial := len(res.Warnings) == 1 && strings.Contains(res.Warnings[0], "NRQL's default limit"); partial != tt.partial {
			t.Errorf("limit %q: warnings %q, want partial=%v", tt.limit, res.Warnings, tt.partial)
		}
	}
}

// TestTimeout: an attempt that gets no answer ends at the source's
// timeout as a KindTimeout error (retried, then given up).
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers while the test runs
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := New(Config{URL: srv.URL, AccountID: 1, APIKey: "a", Timeout: 50 * time.Millisecond, Retries: 1, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), metrics.Query{Signal: "x", Expr: "SELECT count(*) FROM Transaction TIMESERIES {{.step}}"}, nil, testWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTimeout || !strings.Contains(err.Error(), "timeout after 50ms (gave up after 2 attempts)") {
		t.Errorf("%v, want a timeout after 2 attempts", err)
	}
}
