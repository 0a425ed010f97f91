package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/internal/cell"

	"github.com/verdict-aca/verdict/judge"
)

// summarize writes each step's summary: what it cannot do, and until
// which later step.
func summarize(p *Plan) {
	for k := range p.Steps {
		sp := &p.Steps[k]
		sp.Summary = []string{}
		for i, cell := range sp.Signals {
			sm := p.Signals[i]
			if sm.model == nil {
				continue
			}
			switch {
			case !cell.Judged:
				s := fmt.Sprintf("%s has no verdict at this step%s", sm.Name, until(p, k, i, func(c Cell) bool { return c.Judged }))
				if why := noVerdict(sm, cell, p.Steps[k].Weight); why != "" {
					s += " (" + why + ")"
				}
				sp.Summary = append(sp.Summary, s)
				continue
			case cell.Detect80 == nil:
				sp.Summary = append(sp.Summary, fmt.Sprintf("cannot detect even a %s of %s %s", riseOrFall(sm), sm.Name, formatChange(sm, cell.MaxChange)))
			}
			if a := cell.Allowed; a != nil && !a.Detectable {
				why := ""
				if r := sm.BucketResolution; r != nil {
					why = fmt.Sprintf(" (its buckets resolve only %s)", formatChange(sm, *r))
				}
				sp.Summary = append(sp.Summary, fmt.Sprintf("cannot tell %s's allowed %s from no change%s%s", sm.Name, formatChange(sm, a.Change),
					until(p, k, i, func(c Cell) bool { return c.Allowed != nil && c.Allowed.Detectable }), why))
			}
			if c := cell.Critical; c != nil && !c.Detectable {
				sp.Summary = append(sp.Summary, fmt.Sprintf("misses %s's critical %s (caught in %s of canaries)%s", sm.Name, formatChange(sm, c.Change), percent(c.Rate),
					until(p, k, i, func(c Cell) bool { return c.Critical != nil && c.Critical.Detectable })))
			}
		}
	}
}

// noVerdict says why a signal has no verdict at a step when it is too
// little data: what the canary holds on average against what the test
// needs, and how long the step would have to be; else the judge's reason
// in one simulated canary.
func noVerdict(sm SignalModel, c Cell, weight float64) string {
	spec := sm.spec
	switch {
	case c.Points > 0 && spec.Test != judge.Rate:
		need := spec.MinSamples
		if spec.Test == judge.Quantile {
			need = judge.QuantileMinSamples(*spec.Quantile, spec.MinSamples)
		}
		if c.Points < need {
			return fmt.Sprintf("%d points a side, %d needed: a step of %s", c.Points, need, formatDuration(time.Duration(need)*sm.step))
		}
	case c.CanaryExposure != nil && sm.ExposurePerMinute != nil:
		need := spec.MinExposure
		if spec.Test == judge.Histogram && spec.Above == nil {
			q := judge.DefaultHistogramQuantile
			if spec.Quantile != nil {
				q = *spec.Quantile
			}
			need = math.Max(need, math.Ceil(5/math.Min(q, 1-q)))
		}
		if *c.CanaryExposure < need {
			minutes := math.Ceil(need / (weight * *sm.ExposurePerMinute))
			return fmt.Sprintf("the canary has about %s %s, %s needed: about %s at this weight", cell.Count(math.Round(*c.CanaryExposure)), sm.Per, cell.Count(need),
				formatDuration(time.Duration(minutes)*time.Minute))
		}
	}
	return strings.TrimPrefix(c.why, sm.Name+" ")
}

// until names the first step after k at which ok holds for signal i:
// " until the 25% step", or " at any step of this ramp".
func until(p *Plan, k, i int, ok func(Cell) bool) string {
	for j := k + 1; j < len(p.Steps); j++ {
		if ok(p.Steps[j].Signals[i]) {
			return " until the " + formatWeight(p.Steps[j].Weight) + " step"
		}
	}
	if k == len(p.Steps)-1 {
		return ""
	}
	return " at any later step of this ramp"
}

func riseOrFall(sm SignalModel) string {
	if sm.Direction == judge.Decrease {
		return "fall"
	}
	return "rise"
}

// formatChange writes a harmful change of a signal in its unit: "+10%",
// "-2%", "±5%", "-0.5pp", "a ratio of 0.05%".
func formatChange(sm SignalModel, v float64) string {
	sign := "+"
	switch sm.Direction {
	case judge.Decrease:
		sign = "-"
	case judge.Either:
		sign = "±"
	}
	switch sm.Unit {
	case Points:
		return sign + figure(100*v) + "pp"
	case Share:
		return "a share of " + figure(100*v) + "%"
	}
	return sign + figure(100*v) + "%"
}

// figure writes a number (a percentage) with up to four significant
// digits, as the plan rounded it: "310", "11.1", "5.2", "0.52".
func figure(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return "—"
	case math.Abs(v) >= 1e4:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if strings.Contains(s, "e") {
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}
