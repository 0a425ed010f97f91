package prometheus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/vmtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// TestVictoriaMetricsServer checks the differences of VictoriaMetrics'
// query_range that the victoriametrics flavor handles, against a real
// server (Debian's victoria-metrics).
func TestVictoriaMetricsServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaMetrics")
	}
	ctx := context.Background()
	srv := vmtest.Start(t)
	// A gauge g = i and a counter c_total = 1000 + 3i every 10s for an hour
	// of 2025-06-02, and a counter live_total = i² around now.
	t0 := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	now := time.Now().Truncate(10 * time.Second)
	var om strings.Builder
	for i := range 361 {
		ts := t0.Add(time.Duration(i) * 10 * time.Second).Unix()
		fmt.Fprintf(&om, "g{track=\"canary\"} %d %d\nc_total{track=\"canary\"} %d %d\n", i, ts, 1000+3*i, ts)
	}
	// live_total runs from 10 minutes before now to 5 minutes after, so
	// every step up to the cutoff has its samples however long the test
	// takes to get there.
	liveStart := now.Add(-10 * time.Minute)
	for i := range 91 {
		ts := liveStart.Add(time.Duration(i) * 10 * time.Second).Unix()
		fmt.Fprintf(&om, "live_total{track=\"canary\"} %d %d\n", i*i, ts)
	}
	om.WriteString("# EOF\n")
	if err := srv.ImportOpenMetrics(ctx, om.String()); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{URL: srv.URL, Flavor: FlavorVictoriaMetrics, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	scope := metrics.Scope{"track": "canary"}

	t.Run("a gauge is answered at the window's own times", func(t *testing.T) {
		// 3s off the step: without nocache=1 VictoriaMetrics moves start
		// down to 12:00:00 and answers a point before the window.
		w := metrics.Window{Start: t0.Add(3 * time.Second), End: t0.Add(time.Hour + 3*time.Second), Step: 10 * time.Second}
		res, err := src.Fetch(ctx, metrics.Query{Signal: "g", Expr: `g{track="{{.track}}"}`}, scope, w)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Series[0]
		if len(s.Times) != 361 || !s.Times[0].Equal(w.Start) || !s.Times[360].Equal(w.End) {
			t.Fatalf("%d points from %s to %s, want 361 from %s to %s", len(s.Times), s.Times[0], s.Times[len(s.Times)-1], w.Start, w.End)
		}
	})

	t.Run("a count's steps add up to the counter's increase", func(t *testing.T) {
		w := metrics.Window{Start: t0, End: t0.Add(time.Hour), Step: time.Minute}
		res, err := src.Fetch(ctx, metrics.Query{Signal: "c", Expr: `increase(c_total{track="{{.track}}"}[{{.step}}])`, Kind: metrics.Count}, scope, w)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Series[0]
		total := 0.0
		for i, v := range s.Values {
			if v != 18 { // 6 samples a minute, +3 each: no extrapolation
				t.Errorf("step %d (%s): %g, want 18", i, s.Times[i], v)
			}
			total += v
		}
		if len(s.Values) != 60 || total != 60*18 {
			t.Errorf("%d steps totalling %g, want 60 totalling %d (the hour's increase)", len(s.Values), total, 60*18)
		}
	})

	t.Run("the steps within the latency offset are left out, not repeated", func(t *testing.T) {
		w := metrics.Window{Start: now.Add(-5 * time.Minute), End: time.Now(), Step: 10 * time.Second}
		res, err := src.Fetch(ctx, metrics.Query{Signal: "live", Expr: `increase(live_total{track="{{.track}}"}[{{.step}}])`, Kind: metrics.Count}, scope, w)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Series[0]
		cutoff := time.Now().Add(-DefaultLatencyOffset)
		for i, v := range s.Values {
			if s.Times[i].After(cutoff) {
				t.Errorf("a step at %s, within %s of now", s.Times[i], DefaultLatencyOffset)
			}
			// Sample k is k²; the step ending at it increased by
			// k² − (k−1)² = 2k − 1, different at every step.
			k := int(s.Times[i].Sub(liveStart) / (10 * time.Second))
			if want := float64(2*k - 1); v != want {
				t.Errorf("step %s: %g, want %g", s.Times[i], v, want)
			}
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "latencyOffset") {
			t.Errorf("warnings %q, want one naming the latency offset", res.Warnings)
		}
	})

	t.Run("a bad query is a bad query", func(t *testing.T) {
		w := metrics.Window{Start: t0, End: t0.Add(time.Hour), Step: 10 * time.Second}
		_, err := src.Fetch(ctx, metrics.Query{Signal: "g", Expr: `sum(g{track="{{.track}}"}`}, scope, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "HTTP 422") {
			t.Fatalf("err = %v, want a bad query quoting HTTP 422", err)
		}
	})

	t.Run("no data is an empty answer", func(t *testing.T) {
		w := metrics.Window{Start: t0, End: t0.Add(time.Hour), Step: 10 * time.Second}
		res, err := src.Fetch(ctx, metrics.Query{Signal: "g", Expr: `g{track="{{.track}}"}`}, metrics.Scope{"track": `canary"} or vector(1) #`}, w)
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("series %v, err %v; want none", res.Series, err)
		}
	})
}
