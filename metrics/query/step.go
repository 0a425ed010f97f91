package query

import (
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
