package query

import (
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// DefaultStep is the step sources use when a window has none: one point a
// minute, close to typical scrape intervals, so that points are not mostly
// repeats of each other.
const DefaultStep = 60 * time.Second

// MaxPoints is the most points per series a range query may ask for
// (Prometheus' and Loki's limit).
const MaxPoints = 11000

// Step returns the step a window is queried at: w.Step, or DefaultStep
// widened (to whole seconds) to keep the window under MaxPoints.
func Step(w metrics.Window) time.Duration {
	if w.Step > 0 {
		return w.Step
	}
	step := DefaultStep
	if span := w.End.Sub(w.Start); span/step > MaxPoints {
		step = (span/MaxPoints + time.Second).Truncate(time.Second)
	}
	return step
}

// AlignToStep moves a window's ends back to multiples of its step (Step:
// the default step when step is 0), as the Argo endpoint ends its window
// at now truncated to the step. Counts and histograms are counted over the
// steps that end on the step's multiples inside the window (CountGrid), so
// a window whose ends fall between two of them holds one step fewer than
// its length: Argo Rollouts' kayenta provider sends now−interval..now when
// its scopes set no start and end, and a 5-minute window at a 60 s step
// was judged on 4 minutes of traffic. A window too short to keep a whole
// step is left as it is.
func AlignToStep(start, end time.Time, step time.Duration) (time.Time, time.Time) {
	if step <= 0 {
		step = Step(metrics.Window{Start: start, End: end})
	}
	s, e := floorToStep(start, step), floorToStep(end, step)
	if !e.After(s) {
		return start, end
	}
	return s, e
}

// floorToStep is the latest multiple of step since the Unix epoch at or
// before t (time.Truncate counts from year 1, which differs for steps that
// do not divide a day), in t's location.
func floorToStep(t time.Time, step time.Duration) time.Time {
	n, d := t.UnixNano(), int64(step)
	q := n / d
	if n%d < 0 {
		q--
	}
	return time.Unix(0, q*d).In(t.Location())
}

// Prepare is how every source's Fetch starts: the window gets its step
// (Step), q.Expr is rendered for scope and the window by render, and the
// window must not be empty. A template that does not render is a
// KindBadQuery *Error naming q.Expr; an empty window one naming the
// rendered query.
func Prepare(q metrics.Query, scope metrics.Scope, w metrics.Window, render func(string, metrics.Scope, metrics.Window) (string, error)) (string, metrics.Window, error) {
	w.Step = Step(w)
	rendered, err := render(q.Expr, scope, w)
	if err != nil {
		return "", w, &Error{Signal: q.Signal, Query: q.Expr, Kind: KindBadQuery, Err: err}
	}
	if !w.End.After(w.Start) {
		return "", w, &Error{Signal: q.Signal, Query: rendered, Kind: KindBadQuery,
			Err: fmt.Errorf("empty window: end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))}
	}
	return rendered, w, nil
}

// CeilUnix is t in unix seconds, rounded up to the next whole second when
// t falls between two.
func CeilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
