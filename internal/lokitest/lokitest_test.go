package lokitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type matrix []struct {
	Metric map[string]string
	Values [][2]json.RawMessage
}

// get runs a query_range and returns the status, the body, and the
// matrix when there is one.
func get(t *testing.T, s *Server, params url.Values) (int, string, matrix) {
	t.Helper()
	resp, err := http.Get(s.URL + "/loki/api/v1/query_range?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Data struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	var m matrix
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if r.Data.ResultType == "matrix" {
			if err := json.Unmarshal(r.Data.Result, &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	return resp.StatusCode, string(body), m
}

func points(m matrix, i int) string {
	var parts []string
	for _, v := range m[i].Values {
		var val string
		_ = json.Unmarshal(v[1], &val)
		parts = append(parts, string(v[0])+"="+val)
	}
	return strings.Join(parts, " ")
}

func TestMetricQueries(t *testing.T) {
	s := Start(t, Options{})
	// Canary: a line on every minute's edge (t0, t0+1m, t0+2m) and one at
	// +1m30s with "error"; baseline: one line at +2m10s.
	s.Push(map[string]string{"app": "shop", "track": "canary"},
		Line{t0, "ok"}, Line{t0.Add(time.Minute), "ok"}, Line{t0.Add(90 * time.Second), "error"}, Line{t0.Add(2 * time.Minute), "ok"})
	s.Push(map[string]string{"app": "shop", "track": "baseline"}, Line{t0.Add(130 * time.Second), "ok"})
	// start and end off the minute: Loki's frontend rounds them to the step.
	params := func(q string) url.Values {
		return url.Values{"query": {q}, "start": {strconv.FormatInt(t0.Add(-30*time.Second).UnixNano(), 10)},
			"end": {strconv.FormatInt(t0.Add(3*time.Minute+5*time.Second).Unix(), 10)}, "step": {"1m"}}
	}
	base := t0.Unix()
	at := func(min int) string { return strconv.FormatInt(base+int64(60*min), 10) }
	tests := []struct {
		query string
		want  []string // per series: "time=value ..."
	}{
		// (t−1m, t]: the line at t0 is in the window ending at t0, not the next.
		{`count_over_time({app="shop", track="canary"}[1m])`, []string{at(0) + "=1 " + at(1) + "=1 " + at(2) + "=2"}},
		{`count_over_time({app="shop"} |= "error" [1m])`, []string{at(2) + "=1"}},
		{`count_over_time({app="shop"} != "error" [1m])`, []string{at(3) + "=1", at(0) + "=1 " + at(1) + "=1 " + at(2) + "=1"}},
		{`sum(count_over_time({app="shop"}[1m]))`, []string{at(0) + "=1 " + at(1) + "=1 " + at(2) + "=2 " + at(3) + "=1"}},
		{`sum by (track) (count_over_time({app=~"sh.p"}[1m]))`, []string{at(3) + "=1", at(0) + "=1 " + at(1) + "=1 " + at(2) + "=2"}},
		{`sum(count_over_time({app="shop"} |~ "err.r" [2m])) by (app)`, []string{at(2) + "=1 " + at(3) + "=1"}},
		{`rate({track="canary"}[2m])`, []string{at(0) + "=0.008333333333333333 " + at(1) + "=0.016666666666666666 " + at(2) + "=0.025 " + at(3) + "=0.016666666666666666"}},
		{`count_over_time({track="nobody"}[1m])`, nil},
	}
	for _, tt := range tests {
		code, body, m := get(t, s, params(tt.query))
		if code != 200 {
			t.Fatalf("%s: HTTP %d %s", tt.query, code, body)
		}
		if len(m) != len(tt.want) {
			t.Fatalf("%s: %d series, want %d: %s", tt.query, len(m), len(tt.want), body)
		}
		for i := range m {
			if got := points(m, i); got != tt.want[i] {
				t.Errorf("%s: series %d (%v) = %s, want %s", tt.query, i, m[i].Metric, got, tt.want[i])
			}
		}
	}
	if !strings.Contains(s.Queries()[0].Get("query"), "count_over_time") || s.Calls() != len(tests) {
		t.Errorf("recorded %d calls, queries %v", s.Calls(), s.Queries())
	}
}

func TestErrorsArePlainText(t *testing.T) {
	s := Start(t, Options{})
	for _, tt := range []struct {
		query, want string
	}{
		{`sum(count_over_time({a="b"}[1m])`, "parse error at line 1, col 33: syntax error: unexpected $end, expecting )"},
		{`count_over_time({a="b"})`, "syntax error: unexpected ), expecting RANGE"},
		{`{a=b}`, "parse error at line 1, col 4: syntax error: unexpected b, expecting STRING"},
		{`{a="b"} | json`, "lokitest: parser and format stages"},
		{`avg(count_over_time({a="b"}[1m]))`, "lokitest: avg is LogQL this test server does not evaluate"},
	} {
		code, body, _ := get(t, s, url.Values{"query": {tt.query}, "start": {"1704067200"}, "end": {"1704067800"}, "step": {"60"}})
		if code != 400 || !strings.Contains(body, tt.want) || strings.HasPrefix(body, "{") {
			t.Errorf("%s: HTTP %d %q, want a plain-text 400 saying %q", tt.query, code, body, tt.want)
		}
	}
	code, body, _ := get(t, s, url.Values{"query": {`count_over_time({a="b"}[1m])`}, "start": {"1704067200"}, "end": {"1704167200"}, "step": {"1"}})
	if code != 400 || !strings.Contains(body, "exceeded maximum resolution of 11,000 points") {
		t.Errorf("too many points: HTTP %d %q", code, body)
	}
	resp, err := http.Get(s.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("unknown path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestPushFormats(t *testing.T) {
	s := Start(t, Options{})
	body, _ := json.Marshal(map[string]any{"streams": []map[string]any{{"stream": map[string]string{"job": "json"},
		"values": [][2]string{{strconv.FormatInt(t0.UnixNano(), 10), "from json"}}}}})
	resp, err := http.Post(s.URL+"/loki/api/v1/push", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("JSON push: %v %v", resp, err)
	}
	resp.Body.Close()
	req := push.PushRequest{Streams: []push.Stream{{Labels: `{job="proto", app="a \"quoted\" one"}`, Entries: []push.Entry{{Timestamp: t0, Line: "from protobuf"}}}}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(s.URL+"/loki/api/v1/push", "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("protobuf push: %v %v", resp, err)
	}
	resp.Body.Close()
	if s.Pushes() != 2 {
		t.Errorf("%d pushes", s.Pushes())
	}
	code, out, _ := get(t, s, url.Values{"query": {`{app="a \"quoted\" one"}`}, "start": {strconv.FormatInt(t0.Unix(), 10)}, "end": {strconv.FormatInt(t0.Unix()+60, 10)}})
	if code != 200 || !strings.Contains(out, `"resultType":"streams"`) || !strings.Contains(out, "from protobuf") || strings.Contains(out, "from json") {
		t.Errorf("log query: HTTP %d %s", code, out)
	}
}

// TestRetention: with Retention, a stream keeps only the lines within it
// of its newest line, whatever order they came in; without, all of them.
func TestRetention(t *testing.T) {
	for _, tc := range []struct {
		retention time.Duration
		want      string
	}{
		{0, "0=1 60=1 120=1 180=1"},
		{90 * time.Second, "60=1 120=1"},
	} {
		s, err := Listen("127.0.0.1:0", Options{Retention: tc.retention})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		labels := map[string]string{"app": "shop"}
		s.Push(labels, Line{Time: t0.Add(-30 * time.Second), Text: "a"}, Line{Time: t0.Add(90 * time.Second), Text: "c"})
		s.Push(labels, Line{Time: t0.Add(30 * time.Second), Text: "b"})
		if tc.retention == 0 {
			s.Push(labels, Line{Time: t0.Add(150 * time.Second), Text: "d"})
		}
		_, body, m := get(t, s, url.Values{"query": {`count_over_time({app="shop"} [1m])`},
			"start": {strconv.FormatInt(t0.Unix(), 10)}, "end": {strconv.FormatInt(t0.Add(3*time.Minute).Unix(), 10)}, "step": {"60"}})
		if len(m) != 1 {
			t.Fatalf("retention %s: %s", tc.retention, body)
		}
		var got []string
		for _, v := range m[0].Values {
			var val string
			_ = json.Unmarshal(v[1], &val)
			sec, _ := strconv.ParseFloat(string(v[0]), 64)
			got = append(got, strconv.Itoa(int(sec)-int(t0.Unix()))+"="+val)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("retention %s: points %s, want %s", tc.retention, g, tc.want)
		}
	}
}
