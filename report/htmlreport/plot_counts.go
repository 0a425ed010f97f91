package htmlreport

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/cell"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// Plots of the tests of counts: histograms drawn from their bucket counts,
// and counts per window as their share of what they are out of.

// histogramWindows returns a histogram series' windows, each len(Bounds)
// cumulative counts, leaving out windows with a value that is not a finite
// count of at least 0 and a trailing partial window.
func histogramWindows(s metrics.Series) [][]float64 {
	nb := len(s.Bounds)
	if nb == 0 {
		return nil
	}
	var out [][]float64
	for w := 0; (w+1)*nb <= len(s.Values); w++ {
		row := s.Values[w*nb : (w+1)*nb]
		if !slices.ContainsFunc(row, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) || v < 0 }) {
			out = append(out, row)
		}
	}
	return out
}

// histogramTotals sums a histogram series' windows: the cumulative count
// of observations at or below each bound over the whole side.
func histogramTotals(s metrics.Series) []float64 {
	windows := histogramWindows(s)
	if len(windows) == 0 {
		return nil
	}
	cum := make([]float64, len(s.Bounds))
	for _, row := range windows {
		for i, v := range row {
			cum[i] += v
		}
	}
	return cum
}

// perWindow derives one value per window of a histogram series, with the
// window's time when the series has one per window.
func perWindow(s metrics.Series, value func(row []float64) float64) metrics.Series {
	out := metrics.Series{Signal: s.Signal}
	nb := len(s.Bounds)
	withTimes := nb > 0 && len(s.Times) == len(s.Values)/nb
	for w := 0; nb > 0 && (w+1)*nb <= len(s.Values); w++ {
		row := s.Values[w*nb : (w+1)*nb]
		v := math.NaN()
		if !slices.ContainsFunc(row, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
			v = value(row)
		}
		out.Values = append(out.Values, v)
		if withTimes {
			out.Times = append(out.Times, s.Times[w])
		}
	}
	return out
}

// shareAbove is the share of one window's (or the totals') observations
// above bound x, read at the bucket bound x; NaN without observations or
// when x is not a bound.
func shareAbove(bounds, cum []float64, x float64) float64 {
	i, found := slices.BinarySearch(bounds, x)
	total := cum[len(cum)-1]
	if !found || !(total > 0) {
		return math.NaN()
	}
	return (total - cum[i]) / total
}

// histogramSeries is what a histogram signal's time plot shows: each
// window's quantile for a test of a quantile, else each window's share of
// observations above the bound; with what that is ("p99").
func histogramSeries(s analysis.SignalSeries, t *judge.TestResult) (analysis.SignalSeries, string) {
	out := analysis.SignalSeries{Name: s.Name}
	var label string
	var value func(bounds []float64) func(row []float64) float64
	switch {
	case t != nil && t.Q > 0:
		label = quantileLabel(t.Q)
		value = func(bounds []float64) func([]float64) float64 {
			return func(row []float64) float64 { return judge.HistogramQuantile(bounds, row, t.Q) }
		}
	case t != nil && t.Threshold != nil:
		label = "share above " + cell.Number(*t.Threshold)
		value = func(bounds []float64) func([]float64) float64 {
			return func(row []float64) float64 { return shareAbove(bounds, row, *t.Threshold) }
		}
	default:
		label = "observations"
		value = func([]float64) func([]float64) float64 {
			return func(row []float64) float64 { return row[len(row)-1] }
		}
	}
	out.Baseline = perWindow(s.Baseline, value(s.Baseline.Bounds))
	out.Canary = perWindow(s.Canary, value(s.Canary.Bounds))
	return out, label
}

// shareSeries is each window's events out of its exposure (NaN for a
// window without exposure), timed as the events; ok is false when the
// exposure does not cover the same windows.
func shareSeries(events, exposure metrics.Series) (metrics.Series, bool) {
	if len(exposure.Values) != len(events.Values) || len(events.Values) == 0 {
		return metrics.Series{}, false
	}
	out := metrics.Series{Signal: events.Signal, Times: events.Times, Values: make([]float64, len(events.Values))}
	for i, e := range events.Values {
		out.Values[i] = math.NaN()
		if n := exposure.Values[i]; n > 0 {
			out.Values[i] = e / n
		}
	}
	return out, true
}

// tailPlot draws each side's share of observations above every bucket
// bound, summed over its windows (the complement of the cumulative
// distribution), on a logarithmic y axis so that the tail a p99 or an SLO
// bound lives in is as readable as the body, and on a logarithmic x axis
// when the bounds are positive (latency buckets grow geometrically). It
// marks the bound the test compared and, for a quantile, the level 1 − q
// and each side's quantile. Logarithmic axes are drawn as linear axes of
// log10 values with ticks labelled in the data's units, so that no value
// can reach gonum/plot's log scale, which panics on values ≤ 0.
func tailPlot(name string, s analysis.SignalSeries, t *judge.TestResult) (string, error) {
	bounds := s.Baseline.Bounds
	if len(bounds) == 0 {
		bounds = s.Canary.Bounds
	}
	if len(bounds) < 2 {
		return "", errNoPoints
	}
	finite := bounds[:len(bounds)-1]
	logX := finite[0] > 0 && !math.IsInf(finite[len(finite)-1], 0)
	xOf := func(v float64) float64 {
		if logX {
			return math.Log10(v)
		}
		return v
	}
	sideXYs := func(side metrics.Series) plotter.XYs {
		cum := histogramTotals(side)
		if cum == nil || !slices.Equal(side.Bounds, bounds) || !(cum[len(cum)-1] > 0) {
			return nil
		}
		total := cum[len(cum)-1]
		var out plotter.XYs
		for i, b := range finite {
			if share := (total - cum[i]) / total; share > 0 && !math.IsInf(b, 0) {
				out = append(out, plotter.XY{X: xOf(b), Y: math.Log10(share)})
			}
		}
		return out
	}
	b, c := sideXYs(s.Baseline), sideXYs(s.Canary)
	if len(b) == 0 && len(c) == 0 {
		return "", errNoPoints
	}
	xmin, xmax, ymin, _ := dataRange(b, c)
	// Marks: the bound compared, and for a quantile its level and each
	// side's quantile.
	type mark struct {
		x, y   float64 // a vertical line at x up to y, or a horizontal one at y when x is NaN
		color  color.Color
		dashes []vg.Length
		label  string
	}
	var marks []mark
	if t != nil && t.Q > 0 && t.Q < 1 {
		level := math.Log10(1 - t.Q)
		ymin = math.Min(ymin, level)
		marks = append(marks, mark{x: math.NaN(), y: level, color: colorGrey, dashes: []vg.Length{vg.Points(4), vg.Points(2)},
			label: quantileLabel(t.Q) + " level (" + cell.Share(1-t.Q) + " above)"})
		for _, q := range []struct {
			v     *float64
			color color.Color
			label string
		}{{t.BaselineQuantile, colorBaseline, "baseline "}, {t.CanaryQuantile, colorCanary, "canary "}} {
			if q.v != nil && (!logX || *q.v > 0) {
				x := xOf(*q.v)
				marks = append(marks, mark{x: x, y: level, color: q.color, dashes: []vg.Length{vg.Points(1), vg.Points(2)}, label: q.label + quantileLabel(t.Q)})
				xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			}
		}
	}
	if t != nil && t.Threshold != nil && (!logX || *t.Threshold > 0) {
		label := "bound compared"
		if t.Q == 0 {
			label = "bound"
		}
		x := xOf(*t.Threshold)
		marks = append(marks, mark{x: x, y: 0, color: colorLimit, dashes: []vg.Length{vg.Points(1.5), vg.Points(1.5)}, label: label + " " + cell.Number(*t.Threshold)})
		xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
	}
	// The y axis runs from the decade below the smallest share drawn to 100%.
	ymin = math.Min(math.Floor(ymin), -1)
	x0, x1 := padRange(xmin, xmax, 0.04, 0.04)

	p := newPlot("", name+" (bucket bound)", "share above x")
	// The curves fall from the top left: the bottom left stays empty.
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(4), vg.Points(4)
	p.Y.Tick.Marker = shareTicks{}
	if logX {
		p.X.Tick.Marker = boundTicks(finite)
	}
	for _, m := range marks {
		var l *plotter.Line
		var err error
		if math.IsNaN(m.x) {
			l, err = hline(m.y, x0, x1, m.color, m.dashes)
		} else {
			l, err = vline(m.x, ymin, m.y, m.color, m.dashes)
		}
		if err != nil {
			return "", fmt.Errorf("plotting %s: %w", name, err)
		}
		p.Add(l)
		p.Legend.Add(m.label, l)
	}
	for _, side := range []struct {
		label  string
		xys    plotter.XYs
		color  color.Color
		dashed bool
	}{{"baseline", b, colorBaseline, false}, {"canary", c, colorCanary, true}} {
		if len(side.xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(side.xys)
		if err != nil {
			return "", fmt.Errorf("plotting %s: %w", name, err)
		}
		l.Color, l.Width = side.color, vg.Points(1.1)
		if side.dashed {
			l.Dashes = canaryDashes
		}
		pts.Color, pts.Radius = side.color, vg.Points(1.6)
		p.Add(l, pts)
		p.Legend.Add(side.label, l)
	}
	p.X.Min, p.X.Max = x0, x1
	p.Y.Min, p.Y.Max = ymin, 0
	return render(p, classDistribution, name+": share of observations above each bucket bound, baseline and canary")
}

// boundTicks marks an axis of log10 values at the histogram's bucket
// bounds, labelled in the bounds' units as many as fit without overlapping
// (at least 9% of the axis apart); the others are unlabelled ticks.
type boundTicks []float64

// Ticks implements plot.Ticker.
func (bt boundTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	var ticks []plot.Tick
	last := math.Inf(-1)
	for _, b := range bt {
		x := math.Log10(b)
		if !(x >= lo && x <= hi) {
			continue
		}
		t := plot.Tick{Value: x}
		if pos := (x - lo) / (hi - lo); pos-last >= 0.09 {
			t.Label, last = cell.Number(b), pos
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// shareTicks marks an axis of log10 shares at each decade, labelled as a
// percentage (0.1%, 1%, 10%, 100%), with unlabelled ticks between.
type shareTicks struct{}

// Ticks implements plot.Ticker.
func (shareTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for k := 1.0; k < 10; k++ {
			v := e + math.Log10(k)
			if v < lo-1e-9 || v > hi+1e-9 {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 {
				t.Label = strconv.FormatFloat(math.Pow10(int(e)+2), 'f', -1, 64) + "%"
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// figures are a signal's plots, a sentence on how to read them, and a note
// on what they lack.
type figures struct {
	draw   []func() (string, error)
	legend string
	note   string
}

const sidesLegend = "Baseline: solid blue line. Canary: dashed orange line."

// signalFigures chooses a signal's plots by its test. Points (mann-whitney,
// quantile, threshold, rate per point): both series over time and both
// ECDFs. A histogram: each window's quantile (or share above the bound)
// over time, and the share of observations above each bucket bound. A rate
// with an exposure or a proportion: each window's events out of its
// exposure over time, from the exposure series when given (with none, the
// events per window, and a note saying so).
func signalFigures(r judge.Result, s analysis.SignalSeries, baselineExposure, canaryExposure metrics.Series) figures {
	t := r.Test
	switch {
	case t != nil && t.Method == judge.Histogram:
		if len(s.Baseline.Bounds) == 0 && len(s.Canary.Bounds) == 0 {
			return figures{note: "The report carries no bucket counts for this histogram, so there is nothing to plot."}
		}
		windows, what := histogramSeries(s, t)
		return figures{
			draw: []func() (string, error){
				func() (string, error) {
					return seriesPlot(r.Name+" "+what+" per window", windows, t.Q == 0 && t.Threshold != nil)
				},
				func() (string, error) { return tailPlot(r.Name, s, t) },
			},
			legend: sidesLegend + " Left: each window's " + what + ". Right: the share of observations above each bucket bound over all windows, on logarithmic axes; " +
				"the red dotted line is the bound the test compared" + map[bool]string{true: ", the grey dashed line the quantile's level and the short dotted lines each side's quantile as histogram_quantile interpolates it.", false: "."}[t.Q > 0],
		}
	case cell.HasCounts(t):
		what := t.Per
		if what == "" {
			what = "exposure"
		}
		b, okB := shareSeries(s.Baseline, baselineExposure)
		c, okC := shareSeries(s.Canary, canaryExposure)
		if okB && okC {
			label := r.Name + " / " + what
			if t.Method == judge.Proportion {
				label = r.Name + " success ratio"
			}
			shares := analysis.SignalSeries{Name: s.Name, Baseline: b, Canary: c}
			return figures{
				draw:   []func() (string, error){func() (string, error) { return seriesPlot(label, shares, true) }},
				legend: sidesLegend + " Each window's " + eventsWord(t) + " out of its " + what + ".",
			}
		}
		return figures{
			draw:   []func() (string, error){func() (string, error) { return seriesPlot(r.Name+" per window", s, false) }},
			legend: sidesLegend + " Each window's " + eventsWord(t) + ".",
			note:   "The report carries no " + what + " series, so the plot shows the " + eventsWord(t) + " per window, not their share of the " + what + ": a side with more traffic has more of them.",
		}
	}
	return figures{
		draw: []func() (string, error){
			func() (string, error) { return seriesPlot(r.Name, s, false) },
			func() (string, error) { return distributionPlot(r.Name, s, r) },
		},
		legend: sidesLegend + " Right: the share of points at or below each value; the shaded band is the baseline median moved by the estimated shift's interval, the red dotted line the allowed change or bound.",
	}
}
