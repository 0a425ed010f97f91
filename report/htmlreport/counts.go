package htmlreport

import (
	"github.com/verdict-aca/verdict/internal/cell"
	"github.com/verdict-aca/verdict/judge"
)

// The figures of the tests of counts: a rate with an exposure (5xx out of
// requests), a proportion (successes out of trials) and a histogram
// (observations beyond a bucket bound, out of all observations).

// histogramQuantile reports whether t compared a quantile of two
// histograms (rather than the share beyond a configured bound).
func histogramQuantile(t *judge.TestResult) bool {
	return t.Method == judge.Histogram && t.Q > 0
}

// eventsWord names what a count test counted.
func eventsWord(t *judge.TestResult) string {
	switch {
	case t.Method == judge.Proportion:
		return "successes"
	case t.Method == judge.Histogram && t.Threshold != nil:
		return "above " + cell.Number(*t.Threshold)
	case t.Method == judge.Histogram:
		return "above the bound"
	}
	return "events"
}

// shareWord names the share a count test compared.
func shareWord(t *judge.TestResult) string {
	switch {
	case t.Method == judge.Proportion:
		return "success ratio"
	case t.Method == judge.Histogram:
		return "share " + eventsWord(t)
	}
	return "share of " + t.Per
}

// countChange is the one-figure change of a count test: the ratio of the
// shares (1.90×), the difference in points when the allowance is in points
// (-1.9 pp), or the relative change of a histogram's quantile (+12.0%).
func countChange(t *judge.TestResult) string {
	switch {
	case histogramQuantile(t):
		if t.RelativeShift == nil {
			return cell.Optional(t.Estimate)
		}
		return cell.Relative(t.RelativeShift)
	case t.Points && t.Estimate != nil:
		return cell.Points(*t.Estimate)
	case t.RateRatio != nil:
		return cell.Times(*t.RateRatio)
	case t.RatioLow != nil:
		return "from 0"
	case t.BaselineEvents != nil && t.CanaryEvents != nil && *t.BaselineEvents+*t.CanaryEvents == 0:
		return "no events"
	}
	return ""
}

// countStatRows are each side's counts: the exposure, the events and
// their share; for a histogram's quantile also the quantile and the
// observations above the bound it was compared at.
func countStatRows(t *judge.TestResult) []statRow {
	count := func(v *float64) string {
		if v == nil {
			return "—"
		}
		return cell.Count(*v)
	}
	share := func(events, exposure *float64) string {
		if events == nil || exposure == nil || *exposure <= 0 {
			return "—"
		}
		return cell.Share(*events / *exposure)
	}
	rows := []statRow{{Name: t.Per, Baseline: count(t.BaselineExposure), Canary: count(t.CanaryExposure)}}
	if histogramQuantile(t) {
		label := quantileLabel(t.Q)
		rows = append(rows, statRow{Name: label, Baseline: cell.Optional(t.BaselineQuantile), Canary: cell.Optional(t.CanaryQuantile), Change: countChange(t)})
		if t.Threshold == nil {
			return rows
		}
		name := eventsWord(t) + " (the bound compared)"
		rows = append(rows,
			statRow{Name: name, Baseline: count(t.BaselineEvents), Canary: count(t.CanaryEvents)},
			statRow{Name: "share " + eventsWord(t), Baseline: share(t.BaselineEvents, t.BaselineExposure), Canary: share(t.CanaryEvents, t.CanaryExposure)})
		if t.RateRatio != nil {
			rows[len(rows)-1].Change = cell.Times(*t.RateRatio)
		}
		return rows
	}
	return append(rows,
		statRow{Name: eventsWord(t), Baseline: count(t.BaselineEvents), Canary: count(t.CanaryEvents)},
		statRow{Name: shareWord(t), Baseline: share(t.BaselineEvents, t.BaselineExposure), Canary: share(t.CanaryEvents, t.CanaryExposure), Change: countChange(t)})
}

// countTestRows are the comparison of a count test: canary against
// baseline in words, the ratio and the difference with their intervals,
// the dispersion when the counts varied more than chance gives, and for a
// histogram's quantile the quantiles, the bound compared and the interval
// of their difference.
func countTestRows(t *judge.TestResult, add func(label, value string)) {
	conf := confidenceText(t.Confidence)
	side := func(events, exposure *float64) string {
		switch {
		case exposure == nil:
			return "—"
		case events == nil:
			return cell.Count(*exposure) + " " + t.Per
		}
		per := t.Per
		if t.Method == judge.Histogram {
			per = t.Per + " " + eventsWord(t)
		}
		return cell.Of(*events, *exposure, per)
	}
	if histogramQuantile(t) {
		label := quantileLabel(t.Q)
		add("baseline "+label, cell.Optional(t.BaselineQuantile))
		add("canary "+label, cell.Optional(t.CanaryQuantile))
		if t.Estimate != nil {
			add("difference of the "+label+"s", signedNumber(*t.Estimate)+", "+cell.Relative(t.RelativeShift))
		}
		if t.CILow != nil || t.CIHigh != nil {
			add(conf+" interval of the difference (bucket bounds)", quantileInterval(t))
		}
		if t.Threshold != nil {
			add("bound compared (nearest the pooled "+label+")", cell.Number(*t.Threshold))
			add("canary", side(t.CanaryEvents, t.CanaryExposure))
			add("baseline", side(t.BaselineEvents, t.BaselineExposure))
		}
		if t.RateRatio != nil {
			add("ratio of the shares above it", cell.Times(*t.RateRatio))
		}
	} else {
		if t.Method == judge.Histogram && t.Threshold != nil {
			add("bound", cell.Number(*t.Threshold))
		}
		add("canary", side(t.CanaryEvents, t.CanaryExposure))
		add("baseline", side(t.BaselineEvents, t.BaselineExposure))
		ratio := func() {
			switch {
			case t.RateRatio != nil:
				v := cell.Times(*t.RateRatio)
				if t.RatioLow != nil {
					v += " (" + conf + " CI " + cell.TimesInterval(t.RatioLow, t.RatioHigh) + ")"
				}
				add("ratio (canary / baseline)", v)
			case t.RatioLow != nil:
				add("ratio (canary / baseline)", "none on the baseline; "+conf+" CI from "+cell.Times(*t.RatioLow))
			}
		}
		difference := func() {
			if t.Estimate == nil {
				return
			}
			v := cell.Points(*t.Estimate)
			if t.CILow != nil && t.CIHigh != nil {
				v += " (" + conf + " CI " + cell.Points(*t.CILow) + " .. " + cell.Points(*t.CIHigh) + ")"
			}
			add("difference", v)
		}
		// What the decision tested comes first.
		if t.Points {
			difference()
			ratio()
		} else {
			ratio()
			difference()
		}
	}
	if t.Dispersion > 1 {
		add("dispersion", cell.Number(t.Dispersion)+" × the variance of independent counts (the interval is widened by its root)")
	}
	if t.Strata > 1 {
		add("strata", cell.Count(float64(t.Strata))+" groups of windows with similar traffic splits")
	}
}

// quantileInterval is the interval of a quantile difference, relative to
// the baseline's quantile when that is not zero; a missing end (a side's
// quantile beyond the last finite bucket bound) is unbounded.
func quantileInterval(t *judge.TestResult) string {
	relative := t.BaselineQuantile != nil && *t.BaselineQuantile != 0
	end := func(v *float64, unbounded string) string {
		switch {
		case v == nil:
			return unbounded
		case relative:
			q := *t.BaselineQuantile
			if q < 0 {
				q = -q
			}
			return signedNumber(*v) + " (" + cell.Relative(ptr(*v/q)) + ")"
		}
		return signedNumber(*v)
	}
	return end(t.CILow, "-∞") + " .. " + end(t.CIHigh, "+∞")
}

func signedNumber(v float64) string {
	if v >= 0 {
		return "+" + cell.Number(v)
	}
	return cell.Number(v)
}
