package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInfluxDBScopeValues: through the API, a template that places a
// scope variable outside an InfluxQL string is a 400 naming the signal's
// query before the server sends anything to the operator's InfluxDB; a
// value that tries to leave its string reaches InfluxDB as one string
// (its quote escaped), in the database the operator configured.
func TestInfluxDBScopeValues(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	influx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" db="+r.URL.Query().Get("db")+" q="+r.URL.Query().Get("q"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0}]}`))
	}))
	t.Cleanup(influx.Close)
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
	ts := newSourcesServer(t, fmt.Sprintf("influx:\n  type: influxdb\n  url: %s\n  database: shop\n  retries: -1\n", influx.URL))

	unquoted := `{"name":"i","signals":[{"name":"cpu","source":"influx","query":"SELECT mean(\"cpu\") FROM \"pods\" WHERE \"track\" = {{.track}}"}]}`
	if code, answer := startTrackAnalysis(t, ts, unquoted, "canary", nil); code != 400 || !strings.Contains(answer, "signals[0].query") || !strings.Contains(answer, "stands outside a string") {
		t.Errorf("%d %s, want 400 naming signals[0].query and where a value may stand", code, answer)
	}
	if got := requests(); len(got) != 0 {
		t.Fatalf("InfluxDB received %v for a refused template", got)
	}

	config := `{"name":"i","signals":[{"name":"cpu","source":"influx","query":"SELECT mean(\"cpu\") FROM \"pods\" WHERE \"track\" = '{{.track}}'"}]}`
	evil := `canary' OR "track" = 'baseline`
	if code, answer := startTrackAnalysis(t, ts, config, evil, nil); code != 202 {
		t.Fatalf("%d %s, want 202", code, answer)
	}
	deadline := time.Now().Add(time.Minute) // a hang guard
	want := `track = 'canary\' OR "track" = \'baseline'`
	for time.Now().Before(deadline) {
		for _, r := range requests() {
			if strings.Contains(r, want) {
				if !strings.HasPrefix(r, "GET /query db=shop q=SELECT mean(cpu) FROM pods WHERE (track = ") {
					t.Errorf("InfluxDB received %s, want a GET of /query in the operator's database", r)
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("InfluxDB received %v, none with %s", requests(), want)
}
