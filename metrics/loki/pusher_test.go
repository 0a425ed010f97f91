package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/verdict-aca/verdict/metrics"
)

// pushSink decodes Loki push requests (snappy-compressed protobuf, as
// Loki's distributor receives them).
type pushSink struct {
	mu       sync.Mutex
	streams  []push.Stream
	tenants  []string
	types    []string
	statuses []int // answers to give, in order; then 204
}

func (s *pushSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != "/loki/api/v1/push" || r.Method != http.MethodPost {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if len(s.statuses) > 0 {
		code := s.statuses[0]
		s.statuses = s.statuses[1:]
		http.Error(w, "push refused for the test", code)
		return
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "not snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, "not a PushRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.streams = append(s.streams, req.Streams...)
	s.tenants = append(s.tenants, r.Header.Get("X-Scope-OrgID"))
	s.types = append(s.types, r.Header.Get("Content-Type"))
	w.WriteHeader(http.StatusNoContent)
}

func score(v float64) *float64 { return &v }

func TestEventPusherPushesOneLinePerEvent(t *testing.T) {
	sink := &pushSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	p, err := NewEventPusher(PusherConfig{URL: srv.URL, Tenant: "team-a", BatchWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 12, 0, 0, 123_000_000, time.UTC)
	events := []Event{
		{Time: at, Config: "checkout", Verdict: "fail", Score: score(42.5), Reason: `p99 rose 23% "a lot"`,
			Scopes: map[string]metrics.Scope{"baseline": {"track": "baseline"}, "canary": {"track": "canary"}},
			Start:  at.Add(-time.Hour), End: at},
		{Time: at.Add(time.Second), Config: "checkout", Verdict: "none", Reason: "source down"},
	}
	for _, e := range events {
		if err := p.Push(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()

	sink.mu.Lock()
	defer sink.mu.Unlock()
	type got struct {
		labels string
		ts     time.Time
		line   string
	}
	var entries []got
	for _, s := range sink.streams {
		for _, e := range s.Entries {
			entries = append(entries, got{s.Labels, e.Timestamp, e.Line})
		}
	}
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2: %+v", len(entries), entries)
	}
	for _, tenant := range sink.tenants {
		if tenant != "team-a" {
			t.Errorf("X-Scope-OrgID %q", tenant)
		}
	}
	for _, ct := range sink.types {
		if ct != "application/x-protobuf" {
			t.Errorf("Content-Type %q", ct)
		}
	}
	var first string // the line of events[0]: streams arrive in no fixed order
	for i, e := range events {
		var g *got
		for j := range entries {
			if entries[j].ts.Equal(e.Time) {
				g = &entries[j]
			}
		}
		if g == nil {
			t.Fatalf("event %d: no entry at %v", i, e.Time)
		}
		// The stream labels must be a valid selector: job, config, verdict.
		m, err := parser.ParseMetricSelector(g.labels)
		if err != nil {
			t.Fatalf("stream labels %q: %v", g.labels, err)
		}
		labels := map[string]string{}
		for _, mm := range m {
			labels[mm.Name] = mm.Value
		}
		if len(labels) != 3 || labels["job"] != "verdict" || labels["config"] != "checkout" || labels["verdict"] != e.Verdict {
			t.Errorf("stream labels %v", labels)
		}
		if i == 0 {
			first = g.line
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(g.line), &line); err != nil {
			t.Fatalf("line %q is not JSON: %v", g.line, err)
		}
		if line["config"] != "checkout" || line["verdict"] != e.Verdict || line["reason"] != e.Reason {
			t.Errorf("line %v", line)
		}
		if e.Score == nil {
			if v, ok := line["score"]; !ok || v != nil {
				t.Errorf("score %v, want null", v)
			}
		} else if line["score"] != *e.Score {
			t.Errorf("score %v, want %v", line["score"], *e.Score)
		}
	}
	if !strings.Contains(first, `"scopes":{"baseline":{"track":"baseline"},"canary":{"track":"canary"}}`) || !strings.Contains(first, `"start":"2024-01-01T11:00:00.123Z"`) {
		t.Errorf("line %s lacks scopes or window", first)
	}
}

func TestEventPusherRetriesAndLogsFailures(t *testing.T) {
	sink := &pushSink{statuses: []int{503}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	p, err := NewEventPusher(PusherConfig{URL: srv.URL + "/loki/api/v1/push", BatchWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(context.Background(), Event{Config: "c", Verdict: "pass", Score: score(100)}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	sink.mu.Lock()
	if len(sink.streams) != 1 {
		t.Errorf("after a 503 and a retry, %d streams arrived, want 1", len(sink.streams))
	}
	sink.mu.Unlock()

	// A 400 is not retried: the batch is dropped and the failure logged.
	var logs bytes.Buffer
	sink2 := &pushSink{statuses: []int{400}}
	srv2 := httptest.NewServer(sink2)
	defer srv2.Close()
	p2, err := NewEventPusher(PusherConfig{URL: srv2.URL, BatchWait: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Push(context.Background(), Event{Config: "c", Verdict: "pass"}); err != nil {
		t.Fatal(err)
	}
	p2.Close()
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "400") {
		t.Errorf("log %q does not report the 400", logs.String())
	}
}

func TestEventPusherRefusals(t *testing.T) {
	for _, cfg := range []PusherConfig{
		{URL: "localhost:3100"},
		{URL: "http://x", Labels: map[string]string{"bad-name": "x"}},
		{URL: "http://x", Labels: map[string]string{"__reserved": "x"}},
	} {
		if p, err := NewEventPusher(cfg); err == nil {
			p.Close()
			t.Errorf("NewEventPusher(%+v) accepted", cfg)
		}
	}
	srv := httptest.NewServer(&pushSink{})
	defer srv.Close()
	p, err := NewEventPusher(PusherConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Push(ctx, Event{}); err == nil {
		t.Error("Push with a canceled context succeeded")
	}
	p.Close()
	p.Close() // twice is fine
	if err := p.Push(context.Background(), Event{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Push after Close: %v, want ErrClosed", err)
	}
}

// TestEventPusherRealLoki pushes an event to the Loki at
// VERDICT_TEST_LOKI_URL and reads it back with a metric query.
func TestEventPusherRealLoki(t *testing.T) {
	u := os.Getenv("VERDICT_TEST_LOKI_URL")
	if u == "" {
		t.Skip("VERDICT_TEST_LOKI_URL not set")
	}
	tenant := os.Getenv("VERDICT_TEST_LOKI_TENANT")
	name := "verdict-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	p, err := NewEventPusher(PusherConfig{URL: u, Tenant: tenant, BatchWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute)
	if err := p.Push(context.Background(), Event{Time: at, Config: name, Verdict: "pass", Score: score(100)}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	src, err := New(Config{URL: u, Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	q := metrics.Query{Signal: "events", Expr: `sum(count_over_time({job="verdict",config="{{.config}}"} | json | verdict="pass" [5m]))`}
	w := metrics.Window{Start: at.Add(-time.Minute), End: at.Add(2 * time.Minute), Step: time.Minute}
	var res metrics.Result
	for range 20 { // ingestion is quick but not instantaneous
		res, err = src.Fetch(context.Background(), q, metrics.Scope{"config": name}, w)
		if err == nil && len(res.Series) == 1 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil || len(res.Series) != 1 {
		t.Fatalf("event not found: %+v, %v", res, err)
	}
}
