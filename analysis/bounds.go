package analysis

import (
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// The bounds of one live analysis (CheckExtent). Without them a request
// could ask a source for a query of billions of points (step: 1ns), or
// a server to hold a run of billions of judgements (interval: 1ns) for
// centuries (lifetime: 2562047h).
const (
	// MinStep is the finest query step: a second, finer than any scrape
	// interval, so a finer step only repeats points.
	MinStep = time.Second
	// MaxLifetime is the longest lifetime of a multi-interval analysis:
	// 7 days, longer than any canary a rollout waits for.
	MaxLifetime = 7 * 24 * time.Hour
	// MaxJudgements is the most judgements (lifetime / interval) of one
	// multi-interval analysis: 1,000, one every 10 minutes for 7 days, one
	// a minute for 16 hours. Each judgement queries every signal twice and
	// stores its result with the analysis.
	MaxJudgements = 1000
	// MaxPoints is the most points one query may ask for per series
	// (window / step): Prometheus' and Loki's own limit, 11,000.
	MaxPoints = query.MaxPoints
)

// Extent is how much time a live analysis covers, and how finely.
type Extent struct {
	// Window is the judged window and its step (0: the source's choice,
	// which keeps within MaxPoints); for a multi-interval analysis, from
	// its start to the end of its lifetime.
	Window metrics.Window
	// Lifetime, Interval and Lookback are a multi-interval analysis' (see
	// IntervalRequest); all 0 for a single judgement.
	Lifetime, Interval, Lookback time.Duration
}

// ExtentFields name the fields of an Extent as the caller's input spells
// them, for errors: "step" in the API, "--step" on the command line,
// "schedules[0].step" in a config.
type ExtentFields struct {
	Step, Lifetime, Interval string
}

// BoundError is an Extent beyond a bound of CheckExtent, naming the field
// that asks too much.
type BoundError struct {
	Field string
	Msg   string
}

func (e *BoundError) Error() string { return e.Field + ": " + e.Msg }

// CheckExtent checks a live analysis against the bounds: a step (when
// given) of at least MinStep, a lifetime of at most MaxLifetime, at most
// MaxJudgements judgements, and at most MaxPoints points per query over
// the longest window a judgement queries. It returns a *BoundError naming
// the field.
func CheckExtent(e Extent, f ExtentFields) error {
	step := e.Window.Step
	if step != 0 && step < MinStep {
		return &BoundError{f.Step, fmt.Sprintf("%s is finer than the finest step, %s", step, MinStep)}
	}
	span := e.Window.End.Sub(e.Window.Start)
	if e.Lifetime > 0 {
		if e.Lifetime > MaxLifetime {
			return &BoundError{f.Lifetime, fmt.Sprintf("%s is longer than the longest lifetime, %s (7 days)", e.Lifetime, MaxLifetime)}
		}
		interval := e.Interval
		if interval <= 0 || interval > e.Lifetime {
			interval = e.Lifetime
		}
		if n := e.Lifetime / interval; n > MaxJudgements {
			least := ceilSecond(e.Lifetime / MaxJudgements)
			return &BoundError{f.Interval, fmt.Sprintf("%s makes %d judgements over the lifetime of %s, more than %d; make it at least %s",
				interval, n, e.Lifetime, MaxJudgements, least)}
		}
		// A judgement's window grows to the whole lifetime, or slides with
		// the lookback.
		span = e.Lifetime
		if e.Lookback > 0 && e.Lookback < span {
			span = e.Lookback
		}
	}
	if step > 0 && span/step > MaxPoints {
		least := ceilSecond(span / MaxPoints)
		return &BoundError{f.Step, fmt.Sprintf("%s asks %d points per query over a window of %s, more than %d; make it at least %s or the window shorter",
			step, span/step, span, MaxPoints, least)}
	}
	return nil
}

// ceilSecond rounds d up to a whole second, and to at least one.
func ceilSecond(d time.Duration) time.Duration {
	s := d.Truncate(time.Second)
	if s < d {
		s += time.Second
	}
	return max(s, time.Second)
}
