package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
)

// Step is one step of a rollout: the canary serves Weight of the traffic
// (the stable version the rest) for Duration.
type Step struct {
	Weight   float64
	Duration time.Duration
}

// String writes the step as a ramp spells it: "5%:30m".
func (s Step) String() string {
	return formatWeight(s.Weight) + ":" + formatDuration(s.Duration)
}

// The bounds of a ramp.
const (
	// MaxSteps is the most steps a ramp may have.
	MaxSteps = 20
	// MaxStepDuration is the longest step: 7 days, as the longest lifetime
	// of a live analysis.
	MaxStepDuration = analysis.MaxLifetime
)

// ParseRamp reads a ramp written as weight:duration steps separated by
// commas: "1%:15m,5%:30m,25%:1h,50%:1h". A weight is a percentage (or a
// fraction below 1) strictly between 0% and 100%; a duration is written
// as in configs (Go's 1h30m or Prometheus' 90m, 1d).
func ParseRamp(text string) ([]Step, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("the ramp is empty; write steps such as 1%%:15m,5%%:30m,25%%:1h")
	}
	parts := strings.Split(text, ",")
	if len(parts) > MaxSteps {
		return nil, fmt.Errorf("the ramp has %d steps, more than %d", len(parts), MaxSteps)
	}
	steps := make([]Step, 0, len(parts))
	for i, part := range parts {
		part = strings.TrimSpace(part)
		weight, duration, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("step %d %q is not weight:duration (such as 5%%:30m)", i+1, part)
		}
		var w judge.Change
		if err := w.UnmarshalText([]byte(weight)); err != nil || w.Points || !(w.Value > 0 && w.Value < 1) {
			return nil, fmt.Errorf("step %d %q: %q is not a share of the traffic between 0%% and 100%% (such as 5%%)", i+1, part, weight)
		}
		var d analysis.Duration
		if err := d.UnmarshalText([]byte(strings.TrimSpace(duration))); err != nil || d <= 0 {
			return nil, fmt.Errorf("step %d %q: %q is not a duration such as 15m, 1h or 1d", i+1, part, duration)
		}
		if time.Duration(d) > MaxStepDuration {
			return nil, fmt.Errorf("step %d %q: %s is longer than the longest step, %s (7 days)", i+1, part, time.Duration(d), MaxStepDuration)
		}
		steps = append(steps, Step{Weight: w.Value, Duration: time.Duration(d)})
	}
	return steps, nil
}

// formatWeight writes a share of the traffic as a percentage: "5%", "0.5%".
func formatWeight(w float64) string {
	return strconv.FormatFloat(100*w, 'g', 4, 64) + "%"
}

// formatDuration writes a duration as briefly as a ramp would: "15m",
// "1h", "1h30m", "1d", "45s".
func formatDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		if d >= time.Hour {
			return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
		}
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
