package flux

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// TestReadCSV reads the annotated CSV answers recorded in testdata (see
// testdata/README.md for where each comes from).
func TestReadCSV(t *testing.T) {
	tests := []struct {
		file    string
		tables  int
		labels  map[string]string // the first table's
		points  int               // the first table's
		first   float64
		wantErr string
	}{
		{file: "spec-two-tables.csv", tables: 2, labels: map[string]string{"region": "east"}, points: 3, first: 15.43},
		{file: "docs-annotated-csv.csv", tables: 3, labels: map[string]string{"_field": "mem", "_measurement": "m", "host": "A", "region": "east"}, points: 1, first: 15.43},
		{file: "spec-differing-schemas.csv", wantErr: "no _time and _value columns"},
		{file: "spec-error-after-table.csv", wantErr: "query terminated: reached maximum allowed memory limits"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tables, err := readCSV(f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tables) != tc.tables {
				t.Fatalf("%d tables, want %d", len(tables), tc.tables)
			}
			got := tables[0]
			if len(got.labels) != len(tc.labels) {
				t.Errorf("labels %v, want %v", got.labels, tc.labels)
			}
			for k, v := range tc.labels {
				if got.labels[k] != v {
					t.Errorf("labels %v, want %v", got.labels, tc.labels)
				}
			}
			if len(got.values) != tc.points || got.values[0] != tc.first {
				t.Errorf("values %v, want %d starting %v", got.values, tc.points, tc.first)
			}
		})
	}
}

// exchange is one answer of the replaying server.
type exchange struct {
	status  int
	header  map[string]string
	file    string // testdata file of the body
	body    string // or the body itself
	csvBody bool
}

// replay serves the exchanges in order (the last one again once they
// run out) and records each request's body and headers.
type replay struct {
	t         *testing.T
	exchanges []exchange
	calls     atomic.Int32
	bodies    chan request
	auth      chan string
}

func newReplay(t *testing.T, ex ...exchange) (*replay, *httptest.Server) {
	r := &replay{t: t, exchanges: ex, bodies: make(chan request, 16), auth: make(chan string, 16)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := int(r.calls.Add(1)) - 1
	if req.Method != http.MethodPost || req.URL.Path != "/api/v2/query" || req.URL.Query().Get("org") != "shop" {
		http.Error(w, "unexpected "+req.Method+" "+req.URL.String(), http.StatusNotFound)
		return
	}
	var body request
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.bodies <- body
	r.auth <- req.Header.Get("Authorization")
	ex := r.exchanges[min(n, len(r.exchanges)-1)]
	for k, v := range ex.header {
		w.Header().Set(k, v)
	}
	data := []byte(ex.body)
	if ex.file != "" {
		var err error
		if data, err = os.ReadFile(filepath.Join("testdata", ex.file)); err != nil {
			r.t.Error(err)
		}
	}
	if ex.csvBody {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(ex.status)
	w.Write(data)
}

const secretToken = "s3cr3t-t0ken-value"

func newTestSource(t *testing.T, url string) *Source {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(secretToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{URL: url, Org: "shop", TokenFile: tokenFile, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SPEC's two tables, the region the scope selects: a query for the east
// region answered with the recorded tables reads them as two series.
const regionQuery = `from(bucket: "shop")
  |> range(start: {{.start}}, stop: {{.end}})
  |> filter(fn: (r) => r.region == "{{.region}}")`

var specWindow = metrics.Window{Start: time.Date(2018, 5, 8, 20, 50, 0, 0, time.UTC), End: time.Date(2018, 5, 8, 20, 51, 0, 0, time.UTC), Step: 20 * time.Second}

func TestFetchReplaysRecordedAnswer(t *testing.T) {
	r, srv := newReplay(t, exchange{status: 200, file: "spec-two-tables.csv", csvBody: true})
	s := newTestSource(t, srv.URL)
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: regionQuery, Aggregate: "max"}, metrics.Scope{"region": `east" or true or r.region == "`}, specWindow)
	if err != nil {
		t.Fatal(err)
	}
	body := <-r.bodies
	if body.Type != "flux" || !body.Dialect.Header || strings.Join(body.Dialect.Annotations, ",") != "datatype,group,default" {
		t.Errorf("request %+v", body)
	}
	wantQuery := `from(bucket: "shop")
  |> range(start: 2018-05-08T20:50:00Z, stop: 2018-05-08T20:51:00Z)
  |> filter(fn: (r) => r.region == "east\" or true or r.region == \"")`
	if body.Query != wantQuery {
		t.Errorf("query\n%s\nwant\n%s", body.Query, wantQuery)
	}
	if a := <-r.auth; a != "Token "+secretToken {
		t.Errorf("Authorization %q", a)
	}
	if len(res.Series) != 1 {
		t.Fatalf("%d series", len(res.Series))
	}
	// max of east (15.43, 59.25, 52.62) and west (62.73, 12.83, 51.62) at
	// :00, :20, :40.
	want := []float64{62.73, 59.25, 52.62}
	for i, v := range res.Series[0].Values {
		if v != want[i] {
			t.Errorf("values %v, want %v", res.Series[0].Values, want)
			break
		}
	}
}

func TestFetchRetriesThrottled(t *testing.T) {
	r, srv := newReplay(t,
		exchange{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}, file: "too-many-requests.json"},
		exchange{status: 200, file: "docs-annotated-csv.csv", csvBody: true})
	s := newTestSource(t, srv.URL)
	w := metrics.Window{Start: time.Date(2023, 1, 1, 0, 50, 0, 0, time.UTC), End: time.Date(2023, 1, 1, 1, 0, 0, 0, time.UTC)}
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "mem", Expr: regionQuery, Aggregate: "sum"}, metrics.Scope{"region": "east"}, w)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (the 429, then the answer)", n)
	}
	if len(res.Series) != 1 || math.Abs(res.Series[0].Values[0]-(15.43+59.25+52.62)) > 1e-9 {
		t.Errorf("series %+v", res.Series)
	}
}

func TestFetchAuthFailure(t *testing.T) {
	r, srv := newReplay(t, exchange{status: http.StatusUnauthorized, file: "unauthorized.json"})
	s := newTestSource(t, srv.URL)
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: regionQuery}, metrics.Scope{"region": "east"}, specWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindRejected {
		t.Fatalf("err = %v, want a rejected query.Error", err)
	}
	cause := qe.Err.Error()
	if !strings.HasPrefix(cause, "HTTP 401: InfluxDB refused the token (unauthorized access); check the source's tokenFile or INFLUX_TOKEN") || strings.Contains(cause, "\n") {
		t.Errorf("cause %q: want one sentence naming the refusal", cause)
	}
	if strings.Contains(err.Error(), secretToken) {
		t.Errorf("the error %q holds the token", err)
	}
	if n := r.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (a refused token is not retried)", n)
	}

	// An answer that echoes the token does not bring it into the error.
	_, srv = newReplay(t, exchange{status: http.StatusForbidden, body: `{"code":"forbidden","message":"token ` + secretToken + ` has no read permission on bucket shop"}`})
	s = newTestSource(t, srv.URL)
	_, err = s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: regionQuery}, metrics.Scope{"region": "east"}, specWindow)
	if err == nil || strings.Contains(err.Error(), secretToken) || !strings.Contains(err.Error(), "token [token] has no read permission") {
		t.Errorf("err = %v, want the 403's message without the token", err)
	}
}

func TestFetchErrorInAnswer(t *testing.T) {
	_, srv := newReplay(t, exchange{status: 200, file: "spec-error-after-table.csv", csvBody: true})
	s := newTestSource(t, srv.URL)
	_, err := s.Fetch(context.Background(), metrics.Query{Signal: "cpu", Expr: regionQuery}, metrics.Scope{"region": "east"}, specWindow)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "maximum allowed memory limits") {
		t.Fatalf("err = %v, want a bad query naming InfluxDB's error", err)
	}
}

// TestFetchCount: a count asks for the grid's windows, [first−step,
// last), and reads aggregateWindow's answer at each window's _stop; a
// window without a row counts 0.
func TestFetchCount(t *testing.T) {
	answer := `#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,long,string,string
#group,false,false,true,true,false,false,true,true
#default,_result,,,,,,,
,result,table,_start,_stop,_time,_value,_field,_measurement
,,0,2023-11-14T22:14:00Z,2023-11-14T22:17:00Z,2023-11-14T22:15:00Z,4,count,http_errors
,,0,2023-11-14T22:14:00Z,2023-11-14T22:17:00Z,2023-11-14T22:16:00Z,,count,http_errors
,,0,2023-11-14T22:14:00Z,2023-11-14T22:17:00Z,2023-11-14T22:17:00Z,7,count,http_errors
`
	r, srv := newReplay(t, exchange{status: 200, body: answer, csvBody: true})
	s := newTestSource(t, srv.URL)
	w := metrics.Window{Start: time.Date(2023, 11, 14, 22, 13, 30, 0, time.UTC), End: time.Date(2023, 11, 14, 22, 17, 10, 0, time.UTC), Step: time.Minute}
	expr := `from(bucket: "shop")
  |> range(start: {{.start}}, stop: {{.end}})
  |> filter(fn: (r) => r._measurement == "http_errors" and r.track == "{{.track}}")
  |> aggregateWindow(every: {{.step}}, fn: sum, createEmpty: true)`
	res, err := s.Fetch(context.Background(), metrics.Query{Signal: "errors", Expr: expr, Kind: metrics.Count}, metrics.Scope{"track": "canary"}, w)
	if err != nil {
		t.Fatal(err)
	}
	body := <-r.bodies
	if !strings.Contains(body.Query, "range(start: 2023-11-14T22:14:00Z, stop: 2023-11-14T22:17:00Z)") || !strings.Contains(body.Query, "every: 60s") {
		t.Errorf("query %s", body.Query)
	}
	want := []float64{4, 0, 7}
	if len(res.Series) != 1 || len(res.Series[0].Values) != len(want) {
		t.Fatalf("series %+v", res.Series)
	}
	for i, v := range res.Series[0].Values {
		if v != want[i] || !res.Series[0].Times[i].Equal(time.Date(2023, 11, 14, 22, 15+i, 0, 0, time.UTC)) {
			t.Errorf("point %d: %v at %v", i, v, res.Series[0].Times[i])
		}
	}

	// A count without aggregateWindow is refused before any request.
	_, err = s.Fetch(context.Background(), metrics.Query{Signal: "errors", Expr: regionQuery, Kind: metrics.Count}, metrics.Scope{"region": "east"}, w)
	if err == nil || !strings.Contains(err.Error(), "aggregateWindow(every: {{.step}}") {
		t.Errorf("err = %v", err)
	}
}
