package graphite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/graphitetest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// TestGraphiteServer runs the source against a real carbon-cache and
// graphite-web: counts with their exposure on the same steps, and what
// graphite-web answers for targets it cannot evaluate.
func TestGraphiteServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts carbon-cache and graphite-web")
	}
	ctx := context.Background()
	srv := graphitetest.Start(t)
	// 30 minutes ending 10 minutes ago, one point every 10s per pod:
	// requests = 10 + i, errors = 1 every third slot (slot i = 0, 3, ...).
	start := time.Now().Add(-40 * time.Minute).Truncate(time.Minute)
	var lines strings.Builder
	n := 0
	for i := range 180 {
		ts := start.Add(time.Duration(i) * 10 * time.Second).Unix()
		for _, pod := range []string{"a", "b"} {
			fmt.Fprintf(&lines, "t.canary.%s.requests %d %d\n", pod, 10+i, ts)
			n++
			if i%3 == 0 {
				fmt.Fprintf(&lines, "t.canary.%s.errors 1 %d\n", pod, ts)
				n++
			}
		}
	}
	if err := srv.Send(ctx, lines.String()); err != nil {
		t.Fatal(err)
	}
	end := start.Add(30 * time.Minute)
	if err := srv.WaitForPoints(ctx, "t.canary.*.*", start.Unix()-1, end.Unix(), n); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{URL: srv.URL, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	scope := metrics.Scope{"track": "canary"}
	w := metrics.Window{Start: start, End: end, Step: time.Minute}

	t.Run("events and exposure are counted on the same steps", func(t *testing.T) {
		events, err := src.Fetch(ctx, metrics.Query{Signal: "e", Kind: metrics.Count,
			Expr: `summarize(sumSeries(t.{{.track}}.*.errors), "{{.step}}", "sum")`}, scope, w)
		if err != nil {
			t.Fatal(err)
		}
		exposure, err := src.Fetch(ctx, metrics.Query{Signal: "e", Kind: metrics.Count,
			Expr: `summarize(sumSeries(t.{{.track}}.*.requests), "{{.step}}", "sum")`}, scope, w)
		if err != nil {
			t.Fatal(err)
		}
		grid, err := query.CountGrid(w)
		if err != nil {
			t.Fatal(err)
		}
		ev, ex := events.Series[0], exposure.Series[0]
		if len(ev.Values) != grid.N || len(ex.Values) != grid.N {
			t.Fatalf("%d and %d steps, want the grid's %d", len(ev.Values), len(ex.Values), grid.N)
		}
		for k := range grid.N {
			if !ev.Times[k].Equal(grid.Times()[k]) || !ex.Times[k].Equal(ev.Times[k]) {
				t.Fatalf("step %d at %s and %s, want %s", k, ev.Times[k], ex.Times[k], grid.Times()[k])
			}
			// The step ending at grid time T counts the slots [T−1m, T):
			// slots i = 6(k) .. 6(k)+5 counted from the window's start.
			first := 6 * k
			wantRequests, wantErrors := 0.0, 0.0
			for i := first; i < first+6; i++ {
				wantRequests += 2 * float64(10+i)
				if i%3 == 0 {
					wantErrors += 2
				}
			}
			if ex.Values[k] != wantRequests || ev.Values[k] != wantErrors {
				t.Errorf("step %d (%s): %g errors of %g requests, want %g of %g", k, ev.Times[k], ev.Values[k], ex.Values[k], wantErrors, wantRequests)
			}
		}
	})

	t.Run("a count without summarize lands between the steps", func(t *testing.T) {
		_, err := src.Fetch(ctx, metrics.Query{Signal: "e", Kind: metrics.Count, Expr: `sumSeries(t.{{.track}}.*.errors)`}, scope, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadResponse || !strings.Contains(err.Error(), `summarize(X, "{{.step}}", "sum")`) {
			t.Fatalf("err = %v, want a bad response saying to summarize", err)
		}
	})

	t.Run("graphite-web's errors", func(t *testing.T) {
		tests := []struct {
			expr     string
			wantKind query.Kind
			wantMsg  string
		}{
			{`summarize(t.{{.track}}.a.errors, "1min", "sum")`, -1, ""},
			{`nosuchFunction(t.{{.track}}.a.errors)`, query.KindBadQuery, "HTTP 400: Invalid parameters (Received request for unknown function: nosuchFunction)"},
			{`summarize(t.{{.track}}.a.errors, "1m", "sum")`, query.KindBadQuery, "HTTP 500: graphite-web could not evaluate the target: ValueError: Invalid offset unit 'm'"},
		}
		for _, tt := range tests {
			_, err := src.Fetch(ctx, metrics.Query{Signal: "e", Expr: tt.expr}, scope, w)
			if tt.wantKind < 0 {
				if err != nil {
					t.Errorf("%s: %v", tt.expr, err)
				}
				continue
			}
			var qe *query.Error
			if !errors.As(err, &qe) || qe.Kind != tt.wantKind || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("%s: err = %v, want %s saying %q", tt.expr, err, tt.wantKind, tt.wantMsg)
			}
			if err != nil && strings.Contains(err.Error(), ".py") {
				t.Errorf("%s: the error carries the server's paths: %v", tt.expr, err)
			}
		}
	})

	t.Run("no data is an empty answer", func(t *testing.T) {
		res, err := src.Fetch(ctx, metrics.Query{Signal: "e", Expr: `sumSeries(t.{{.track}}.*.requests)`}, metrics.Scope{"track": "baseline"}, w)
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("series %v, err %v; want none", res.Series, err)
		}
	})
}
