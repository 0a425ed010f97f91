package query

import (
	"errors"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

func TestStep(t *testing.T) {
	start := time.Unix(1704067200, 0)
	h := time.Hour
	for _, tt := range []struct {
		w    metrics.Window
		want time.Duration
	}{
		{metrics.Window{Start: start, End: start.Add(h), Step: 15 * time.Second}, 15 * time.Second},
		{metrics.Window{Start: start, End: start.Add(h)}, time.Minute},
		{metrics.Window{Start: start, End: start.Add(365 * 24 * h)}, 2867 * time.Second},
	} {
		got := Step(tt.w)
		if got != tt.want {
			t.Errorf("Step(%v) = %v, want %v", tt.w.End.Sub(tt.w.Start), got, tt.want)
		}
		if pts := tt.w.End.Sub(tt.w.Start) / got; pts > MaxPoints {
			t.Errorf("%v at %v is %d points", tt.w.End.Sub(tt.w.Start), got, pts)
		}
	}
}

// TestPrepare: the template is rendered at the window's step, a template
// that does not render names the template and an empty window names the
// rendered query, both KindBadQuery.
func TestPrepare(t *testing.T) {
	start := time.Unix(1704067200, 0)
	render := func(expr string, _ metrics.Scope, w metrics.Window) (string, error) {
		if expr == "broken" {
			return "", errors.New("does not render")
		}
		return expr + " at " + w.Step.String(), nil
	}
	for _, tt := range []struct {
		name, expr      string
		w               metrics.Window
		want, wantQuery string
		wantErr         string
	}{
		{name: "default step", expr: "q", w: metrics.Window{Start: start, End: start.Add(time.Hour)}, want: "q at 1m0s"},
		{name: "own step", expr: "q", w: metrics.Window{Start: start, End: start.Add(time.Hour), Step: 10 * time.Second}, want: "q at 10s"},
		{name: "does not render", expr: "broken", w: metrics.Window{Start: start, End: start.Add(time.Hour)}, wantQuery: "broken", wantErr: "does not render"},
		{name: "empty window", expr: "q", w: metrics.Window{Start: start, End: start}, wantQuery: "q at 1m0s", wantErr: "empty window: end 2024-01-01T00:00:00Z is not after start 2024-01-01T00:00:00Z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.w.Start, tt.w.End = tt.w.Start.UTC(), tt.w.End.UTC()
			got, w, err := Prepare(metrics.Query{Signal: "s", Expr: tt.expr}, nil, tt.w, render)
			if tt.wantErr == "" {
				if err != nil || got != tt.want || w.Step != Step(tt.w) {
					t.Fatalf("got %q at step %s, %v; want %q at %s", got, w.Step, err, tt.want, Step(tt.w))
				}
				return
			}
			var qe *Error
			if !errors.As(err, &qe) || qe.Kind != KindBadQuery || qe.Signal != "s" || qe.Query != tt.wantQuery || qe.Err.Error() != tt.wantErr {
				t.Fatalf("got %#v; want a KindBadQuery error on %q saying %q", err, tt.wantQuery, tt.wantErr)
			}
		})
	}
}

func TestCeilUnix(t *testing.T) {
	at := time.Unix(1704067200, 0)
	for _, tt := range []struct {
		t    time.Time
		want int64
	}{
		{at, 1704067200},
		{at.Add(time.Nanosecond), 1704067201},
		{at.Add(999 * time.Millisecond), 1704067201},
	} {
		if got := CeilUnix(tt.t); got != tt.want {
			t.Errorf("CeilUnix(%s) = %d, want %d", tt.t, got, tt.want)
		}
	}
}
