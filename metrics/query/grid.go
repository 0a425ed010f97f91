package query

import (
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// Grid is the evaluation times of a count or histogram query: First,
// First+Step, ..., First+(N−1)·Step. The value at t counts the events of
// (t−Step, t] (a [{{.step}}] range), so consecutive steps' windows tile the
// time from First−Step to the last time without overlapping.
type Grid struct {
	First time.Time
	Step  time.Duration
	N     int
}

// CountGrid returns the grid a count or histogram query is evaluated on for
// w (at query.Step(w)): the multiples of the step since the Unix epoch t
// with w.Start ≤ t−step and t ≤ w.End. Both sides of an analysis are
// queried over the same window, so they get the same grid.
//
// Multiples of the step because Loki's query frontend rounds a metric
// query's start down and its end up to them (so does Thanos' with
// --query-range.align-range-with-step): asking for exactly those times
// makes every server evaluate the grid Verdict fills, with no point before
// the window's start or after its end. The first window starts at or after
// w.Start rather than ending at it, so that no window counts events from
// before the analysis.
//
// The step must be a whole number of milliseconds (Prometheus' and Loki's
// resolution) and the window must hold at least one whole step; at most
// MaxPoints steps.
func CountGrid(w metrics.Window) (Grid, error) {
	step := Step(w)
	if step <= 0 || step%time.Millisecond != 0 {
		return Grid{}, fmt.Errorf("step %s is not a whole number of milliseconds", step)
	}
	s := int64(step)
	first := ceilDiv(w.Start.UnixNano(), s)*s + s
	last := floorDiv(w.End.UnixNano(), s) * s
	if last < first {
		return Grid{}, fmt.Errorf("the window %s to %s holds no whole step of %s counted from the clock's multiples of %s; widen the window or shorten the step",
			w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), Duration(step), Duration(step))
	}
	n := (last-first)/s + 1
	if n > MaxPoints {
		return Grid{}, fmt.Errorf("the window %s to %s at a step of %s is %d steps, more than %d; use a longer step",
			w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), Duration(step), n, MaxPoints)
	}
	return Grid{First: time.Unix(0, first).UTC(), Step: step, N: int(n)}, nil
}

// Last is the grid's last time.
func (g Grid) Last() time.Time { return g.First.Add(time.Duration(g.N-1) * g.Step) }

// Times lists the grid's times.
func (g Grid) Times() []time.Time {
	out := make([]time.Time, g.N)
	for i := range out {
		out[i] = g.First.Add(time.Duration(i) * g.Step)
	}
	return out
}

// index places t on the grid: its position, or ok false when t lies
// outside [First, Last] (a server that widened the range); an error when t
// lies inside but between two grid times. Times are compared to the
// millisecond, the resolution of both servers' timestamps.
func (g Grid) index(t time.Time) (i int, ok bool, err error) {
	d := t.UnixMilli() - g.First.UnixMilli()
	step := g.Step.Milliseconds()
	if d < 0 || d > int64(g.N-1)*step {
		return 0, false, nil
	}
	if d%step != 0 {
		return 0, false, fmt.Errorf("the source answered a point at %s, between the steps of %s from %s it was asked for",
			t.UTC().Format(time.RFC3339Nano), Duration(g.Step), g.First.Format(time.RFC3339))
	}
	return int(d / step), true, nil
}

// FillCounts puts count series on the grid: each returned series gets one
// value per grid time, its own where it has one and 0 where it has none (a
// step the source evaluated without a value counted nothing). Points
// outside the grid are dropped; a point between grid times is a
// KindBadResponse error. No series in, no series out: a query that
// returned nothing at all for the window is no data, not zeros.
func FillCounts(q metrics.Query, rendered string, g Grid, series []metrics.Series) ([]metrics.Series, error) {
	out := make([]metrics.Series, 0, len(series))
	for _, s := range series {
		if len(s.Times) != len(s.Values) {
			return nil, &Error{Signal: q.Signal, Query: rendered, Kind: KindInternal,
				Err: fmt.Errorf("series has %d timestamps for %d values", len(s.Times), len(s.Values))}
		}
		values := make([]float64, g.N)
		for j, t := range s.Times {
			i, ok, err := g.index(t)
			if err != nil {
				return nil, &Error{Signal: q.Signal, Query: rendered, Kind: KindBadResponse, Err: err}
			}
			if ok {
				values[i] = s.Values[j]
			}
		}
		s.Times, s.Values = g.Times(), values
		out = append(out, s)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
