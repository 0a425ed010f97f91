package htmlreport

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/cell"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// Plot limits that keep a 50-signal page small (see the package doc).
const (
	// maxLinePoints bounds the points drawn per line of a time plot; longer
	// series are reduced to per-bucket min/max envelopes.
	maxLinePoints = 500
	// maxECDFSteps bounds the steps drawn per ECDF.
	maxECDFSteps = 200
)

// Plot kinds, used as the class of each inlined <svg>.
const (
	classSeries       = "plot plot-series"
	classDistribution = "plot plot-distribution"
	classIntervals    = "plot plot-intervals"
	classLooks        = "plot plot-looks"
)

// Colours: blue and orange stay apart for the common colour-vision
// deficiencies, and the canary is also dashed so that the plots read in
// grey print.
var (
	colorBaseline = color.RGBA{R: 0x1f, G: 0x5f, B: 0xa8, A: 0xff}
	colorCanary   = color.RGBA{R: 0xd0, G: 0x62, B: 0x0a, A: 0xff}
	colorBand     = color.NRGBA{R: 0x1f, G: 0x5f, B: 0xa8, A: 0x40}
	colorLimit    = color.RGBA{R: 0xb0, G: 0x10, B: 0x10, A: 0xff}
	colorGrey     = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	colorPass     = color.RGBA{R: 0x1b, G: 0x7a, B: 0x3a, A: 0xff}
	colorMarginal = color.RGBA{R: 0xa8, G: 0x6a, B: 0x00, A: 0xff}
)

var canaryDashes = []vg.Length{vg.Points(4), vg.Points(2)}

const (
	plotWidth  = 4.6 * vg.Inch
	plotHeight = 2.5 * vg.Inch
)

func sans(size vg.Length) font.Font {
	f := font.From(plot.DefaultFont, size)
	f.Variant = "Sans"
	return f
}

// newPlot returns a plot with small sans-serif text.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(10)
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(8)
		a.Tick.Label.Font = sans(7.5)
	}
	p.Legend.TextStyle.Font = sans(8)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(18)
	p.Add(plotter.NewGrid())
	return p
}

// svgOpen matches the prelude and the fixed-size <svg> start tag that
// vgsvg writes, so the tag can be replaced by a scalable one.
var svgOpen = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?s)^.*?<svg width="[^"]*" height="[^"]*"\s+viewBox="([^"]*)"`)
})

// render draws p as an inline <svg> element with the given class and
// accessible label, scaled by the page's CSS (viewBox, no fixed size).
func render(p *plot.Plot, class, label string) (string, error) {
	c := vgsvg.New(plotWidth, plotHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("drawing the %s plot: %w", class, err)
	}
	out := b.Bytes()
	m := svgOpen().FindSubmatchIndex(out)
	if m == nil {
		return "", fmt.Errorf("drawing the %s plot: unexpected SVG prelude", class)
	}
	head := fmt.Sprintf(`<svg class="%s" role="img" aria-label="%s" viewBox="%s" preserveAspectRatio="xMidYMid meet"`,
		class, escapeAttr(label), out[m[2]:m[3]])
	svg := compact(head + string(out[m[1]:]))
	// vgsvg leaves its outer transform group open; close every group so the
	// element is well-formed XML as well as HTML.
	if open := strings.Count(svg, "<g ") + strings.Count(svg, "<g>") - strings.Count(svg, "</g>"); open > 0 {
		svg = strings.Replace(svg, "</svg>", strings.Repeat("</g>", open)+"</svg>", 1)
	}
	return svg, nil
}

var (
	// fontStyle is the font description vgsvg repeats on every <text>; the
	// page's CSS sets the family once instead (vgsvg names the Liberation
	// faces it measured text with, which readers rarely have).
	fontStyle = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`font-family:[^;"]*;font-variant:[^;"]*;font-weight:normal;font-style:normal;`)
	})
	// coordinate matches the numbers of path data and text positions.
	coordinate = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-?\d+\.\d+`) })
	pathData   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?: d| x| y)="[^"]*"`) })
)

// compact shrinks vgsvg's output about by half without visible change:
// coordinates are rounded to 0.1 pt (a fraction of a screen pixel at the
// page's plot width) and the repeated font description is dropped.
func compact(svg string) string {
	svg = fontStyle().ReplaceAllString(svg, "")
	svg = strings.ReplaceAll(svg, "\n\tstyle=\"font-size", " style=\"font-size")
	return pathData().ReplaceAllStringFunc(svg, func(attr string) string {
		return coordinate().ReplaceAllStringFunc(attr, func(num string) string {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return num
			}
			r := strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
			if r == "-0" {
				return "0"
			}
			return r
		})
	})
}

// xAxis describes how a signal's points are placed horizontally.
type xAxis struct {
	times bool // x is unix seconds; otherwise the point index
}

// hasTimes reports whether s carries one time per value.
func hasTimes(s metrics.Series) bool {
	return len(s.Values) > 0 && len(s.Times) == len(s.Values)
}

// points turns a series into plottable (x, y) pairs, dropping NaN and
// infinite values (a line cannot draw them).
func points(s metrics.Series, ax xAxis) plotter.XYs {
	out := make(plotter.XYs, 0, len(s.Values))
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		x := float64(i)
		if ax.times {
			x = float64(s.Times[i].UnixNano()) / 1e9
		}
		out = append(out, plotter.XY{X: x, Y: v})
	}
	return out
}

// envelope reduces xys (ordered by x) to at most limit points: the points
// are cut into limit/2 buckets of consecutive points and each bucket
// keeps its minimum and maximum, in x order. Spikes survive; the line
// looks like the original at plot resolution.
func envelope(xys plotter.XYs, limit int) plotter.XYs {
	if limit < 2 {
		limit = 2
	}
	if len(xys) <= limit {
		return xys
	}
	buckets := limit / 2
	out := make(plotter.XYs, 0, 2*buckets)
	for b := range buckets {
		lo, hi := b*len(xys)/buckets, (b+1)*len(xys)/buckets
		bucket := xys[lo:hi]
		minI, maxI := 0, 0
		for i, p := range bucket {
			if p.Y < bucket[minI].Y {
				minI = i
			}
			if p.Y > bucket[maxI].Y {
				maxI = i
			}
		}
		first, second := bucket[minI], bucket[maxI]
		if maxI < minI {
			first, second = second, first
		}
		out = append(out, first)
		if minI != maxI {
			out = append(out, second)
		}
	}
	return out
}

// ecdf returns the steps of the empirical distribution function of the
// finite values, at most limit of them: with more distinct points it
// keeps the values at limit evenly spaced probabilities (type-1
// quantiles), so each kept step is exact and the curve stays within
// 1/limit of the true ECDF vertically.
func ecdf(values []float64, limit int) plotter.XYs {
	v := make([]float64, 0, len(values))
	for _, x := range values {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	n := len(v)
	var out plotter.XYs
	add := func(i int) { // step at v[i] up to the share of points ≤ v[i]
		j := i
		for j+1 < n && v[j+1] == v[i] {
			j++
		}
		p := plotter.XY{X: v[i], Y: float64(j+1) / float64(n)}
		if k := len(out); k > 0 && out[k-1].X == p.X {
			out[k-1] = p
			return
		}
		out = append(out, p)
	}
	if n <= limit {
		for i := range n {
			add(i)
		}
	} else {
		for k := 1; k <= limit; k++ {
			add(int(math.Ceil(float64(k)*float64(n)/float64(limit))) - 1)
		}
	}
	// Start the curve at 0 at the smallest value.
	return append(plotter.XYs{{X: v[0], Y: 0}}, out...)
}

func line(xys plotter.XYs, c color.Color, dashed bool, step plotter.StepKind) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = vg.Points(1.1)
	l.StepStyle = step
	if dashed {
		l.Dashes = canaryDashes
	}
	return l, nil
}

// vline is a vertical line at x across [y0, y1].
func vline(x, y0, y1 float64, c color.Color, dashes []vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}})
	if err != nil {
		return nil, err
	}
	l.Color, l.Width, l.Dashes = c, vg.Points(1.2), dashes
	return l, nil
}

// hline is a horizontal line at y across [x0, x1].
func hline(y, x0, x1 float64, c color.Color, dashes []vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	if err != nil {
		return nil, err
	}
	l.Color, l.Width, l.Dashes = c, vg.Points(1), dashes
	return l, nil
}

var errNoPoints = errors.New("no points to plot")

// seriesPlot draws the baseline and the canary over time on one axis, or
// over the point index when either side has no times; yLabel names what
// the points are, and shares labels the y axis in per cent (the points are
// fractions of a whole).
func seriesPlot(yLabel string, s analysis.SignalSeries, shares bool) (string, error) {
	ax := xAxis{times: hasTimes(s.Baseline) && hasTimes(s.Canary)}
	b := envelope(points(s.Baseline, ax), maxLinePoints)
	c := envelope(points(s.Canary, ax), maxLinePoints)
	if len(b) == 0 && len(c) == 0 {
		return "", errNoPoints
	}
	xLabel := "point index"
	if ax.times {
		xLabel = "time (UTC)"
	}
	p := newPlot("", xLabel, yLabel)
	if ax.times {
		p.X.Tick.Marker = timeTicks{}
	}
	if shares {
		p.Y.Tick.Marker = percentTicks{}
	}
	p.Legend.Left = false
	if err := addSides(p, b, c, plotter.NoStep); err != nil {
		return "", fmt.Errorf("plotting %s: %w", yLabel, err)
	}
	// Leave room above the data for the legend.
	_, _, ymin, ymax := dataRange(b, c)
	p.Y.Min, p.Y.Max = padRange(ymin, ymax, 0.05, 0.28)
	return render(p, classSeries, yLabel+": baseline and canary over "+xLabel)
}

// percentTicks are gonum's default ticks of a share axis, labelled in per
// cent: 0.02 is 2%.
type percentTicks struct{}

// Ticks implements plot.Ticker.
func (percentTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			// Round away the float noise of 100 × a tick (0.07 × 100 = 7.000000000000001).
			ticks[i].Label = strconv.FormatFloat(100*t.Value, 'g', 10, 64) + "%"
		}
	}
	return ticks
}

// timeTicks marks a unix-seconds axis at round clock times (every 1, 2,
// 5, 10, 15 or 30 seconds or minutes, or 1, 2, 3, 6 or 12 hours, or days),
// about five labelled ticks, in UTC.
type timeTicks struct{}

var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// Ticks implements plot.Ticker.
func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	span := time.Duration((hi - lo) * 1e9)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 6 {
			step = s
			break
		}
	}
	for span/step > 6 { // spans of weeks: whole days
		step *= 2
	}
	format := "15:04"
	switch {
	case step < time.Minute:
		format = "15:04:05"
	case span > 36*time.Hour:
		format = "01-02 15:04"
	}
	sec := step.Seconds()
	var ticks []plot.Tick
	for v := math.Ceil(lo/sec) * sec; v <= hi; v += sec {
		ticks = append(ticks, plot.Tick{Value: v, Label: time.Unix(int64(v), 0).UTC().Format(format)})
	}
	return ticks
}

func dataRange(sets ...plotter.XYs) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range sets {
		for _, p := range s {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
		}
	}
	return xmin, xmax, ymin, ymax
}

// padRange widens [lo, hi] by the given shares of its width below and
// above; a zero-width range becomes a unit-wide one.
func padRange(lo, hi, below, above float64) (float64, float64) {
	w := hi - lo
	if w <= 0 || math.IsNaN(w) || math.IsInf(w, 0) {
		w = math.Max(math.Abs(lo), 1)
		if math.IsInf(w, 0) || math.IsNaN(w) {
			return 0, 1
		}
	}
	return lo - below*w, hi + above*w
}

// distributionPlot draws both sides' ECDFs with the baseline and canary
// medians and, for a shift test, the baseline median moved by the
// estimated shift with its interval as a band (where the canary's median
// is expected to lie) and the allowed change as a limit line. For a
// threshold test it draws the configured bounds.
func distributionPlot(name string, s analysis.SignalSeries, r judge.Result) (string, error) {
	b := ecdf(s.Baseline.Values, maxECDFSteps)
	c := ecdf(s.Canary.Values, maxECDFSteps)
	if len(b) == 0 && len(c) == 0 {
		return "", errNoPoints
	}
	p := newPlot("", name, "share of points ≤ x")
	// An ECDF rises from bottom left to top right: bottom right stays empty.
	p.Legend.Left, p.Legend.Top = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(4), vg.Points(4)
	xmin, xmax, _, _ := dataRange(b, c)

	t := r.Test
	var marks []plot.Plotter
	var legend []struct {
		label string
		thumb plot.Thumbnailer
	}
	addLegend := func(label string, th plot.Thumbnailer) {
		legend = append(legend, struct {
			label string
			thumb plot.Thumbnailer
		}{label, th})
	}
	if t != nil && t.Method == judge.MannWhitney && t.Estimate != nil && r.Baseline.Count > 0 {
		m := r.Baseline.Median
		var bandLegend plot.Thumbnailer
		if t.CILow != nil && t.CIHigh != nil && !math.IsNaN(*t.CILow) && !math.IsNaN(*t.CIHigh) {
			lo, hi := m+*t.CILow, m+*t.CIHigh
			band, err := plotter.NewPolygon(plotter.XYs{{X: lo, Y: 0}, {X: hi, Y: 0}, {X: hi, Y: 1}, {X: lo, Y: 1}})
			if err == nil {
				band.Color = colorBand
				band.LineStyle.Width = 0
				marks = append(marks, band)
				bandLegend = band
				xmin, xmax = math.Min(xmin, lo), math.Max(xmax, hi)
			}
		}
		if l, err := vline(m+*t.Estimate, 0, 1, colorCanary, nil); err == nil {
			marks = append(marks, l)
			addLegend("baseline median + shift", l)
			xmin, xmax = math.Min(xmin, m+*t.Estimate), math.Max(xmax, m+*t.Estimate)
		}
		if bandLegend != nil {
			addLegend(fmt.Sprintf("… its %s interval", confidenceText(t.Confidence)), bandLegend)
		}
		if t.Allowed != nil && m != 0 {
			for _, limit := range allowedLimits(m, *t.Allowed, r) {
				if l, err := vline(limit, 0, 1, colorLimit, []vg.Length{vg.Points(1.5), vg.Points(1.5)}); err == nil {
					marks = append(marks, l)
					if !slices.ContainsFunc(legend, func(e struct {
						label string
						thumb plot.Thumbnailer
					}) bool {
						return e.label == "allowed change"
					}) {
						addLegend("allowed change", l)
					}
				}
			}
		}
		if l, err := vline(m, 0, 1, colorBaseline, []vg.Length{vg.Points(1), vg.Points(2)}); err == nil {
			marks = append(marks, l)
			addLegend("baseline median", l)
		}
	}
	if t != nil && t.Method == judge.Threshold {
		for _, bound := range []*float64{t.Min, t.Max} {
			if bound == nil || math.IsNaN(*bound) {
				continue
			}
			if l, err := vline(*bound, 0, 1, colorLimit, []vg.Length{vg.Points(1.5), vg.Points(1.5)}); err == nil {
				marks = append(marks, l)
				addLegend("bound", l)
				xmin, xmax = math.Min(xmin, *bound), math.Max(xmax, *bound)
			}
		}
	}
	for _, m := range marks {
		p.Add(m)
	}
	if err := addSides(p, b, c, plotter.PostStep); err != nil {
		return "", fmt.Errorf("plotting %s: %w", name, err)
	}
	for _, e := range legend {
		p.Legend.Add(e.label, e.thumb)
	}
	p.X.Min, p.X.Max = padRange(xmin, xmax, 0.02, 0.02)
	p.Y.Min, p.Y.Max = 0, 1
	return render(p, classDistribution, name+": distributions of baseline and canary")
}

// allowedLimits are the values the canary's median may reach before the
// allowed change is exceeded, on the harmful side(s).
func allowedLimits(median, allowed float64, r judge.Result) []float64 {
	up, down := median+allowed*math.Abs(median), median-allowed*math.Abs(median)
	switch cell.HarmfulSide(r) {
	case "+":
		return []float64{up}
	case "-":
		return []float64{down}
	case "±":
		return []float64{down, up}
	}
	switch {
	case r.Test.DecisionBound != nil && *r.Test.DecisionBound < 0:
		return []float64{down}
	case r.Test.DecisionBound != nil && *r.Test.DecisionBound > 0:
		return []float64{up}
	}
	return []float64{down, up}
}

func confidenceText(c float64) string {
	if c <= 0 {
		return ""
	}
	return trimFloat(100*c) + "%"
}

// intervalsPlot draws the score of every interval of a multi-interval
// analysis over time, with the pass and marginal thresholds.
func intervalsPlot(r *analysis.Report) (string, error) {
	p, err := intervalsFigure(r)
	if err != nil {
		return "", err
	}
	return render(p, classIntervals, "score of each interval with the thresholds")
}

// intervalsFigure is the plot intervalsPlot draws.
func intervalsFigure(r *analysis.Report) (*plot.Plot, error) {
	var xys plotter.XYs
	var x0, x1 float64
	for i, iv := range r.Intervals {
		x := float64(iv.End.UnixNano()) / 1e9
		if i == 0 {
			x0 = float64(iv.Start.UnixNano()) / 1e9
		}
		x1 = x
		if iv.Score != nil && !math.IsNaN(*iv.Score) {
			xys = append(xys, plotter.XY{X: x, Y: *iv.Score})
		}
	}
	if len(r.Intervals) == 0 {
		return nil, errNoPoints
	}
	p := newPlot("", "end of interval (UTC)", "score")
	p.X.Tick.Marker = timeTicks{}
	if x1 <= x0 {
		x0, x1 = x1-60, x1+60
	}
	// Scores run from 0 to 100, and so does the axis; the thresholds are
	// labelled on their lines instead of in a legend that would need room
	// above 100.
	var names plotter.XYLabels
	for _, th := range []struct {
		label string
		value float64
		color color.Color
	}{{"pass ≥ " + trimFloat(r.Thresholds.Pass), r.Thresholds.Pass, colorPass}, {"marginal ≥ " + trimFloat(r.Thresholds.Marginal), r.Thresholds.Marginal, colorMarginal}} {
		l, err := hline(th.value, x0, x1, th.color, []vg.Length{vg.Points(4), vg.Points(2)})
		if err != nil {
			return nil, fmt.Errorf("plotting the intervals: %w", err)
		}
		p.Add(l)
		names.XYs = append(names.XYs, plotter.XY{X: x0, Y: th.value})
		names.Labels = append(names.Labels, th.label)
	}
	labels, err := plotter.NewLabels(names)
	if err != nil {
		return nil, fmt.Errorf("plotting the intervals: %w", err)
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font = sans(7.5)
		labels.TextStyle[i].Color = colorGrey
		labels.TextStyle[i].YAlign = draw.YTop
	}
	labels.Offset = vg.Point{X: vg.Points(3), Y: -vg.Points(1.5)}
	p.Add(labels)
	if len(xys) > 0 {
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plotting the intervals: %w", err)
		}
		l.Color, s.Color = colorGrey, color.Black
		s.Radius = vg.Points(2.5)
		p.Add(l, s)
	}
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}}
	p.X.Min, p.X.Max = x0, x1
	return p, nil
}

// addSides draws the baseline (solid) and the canary (dashed) as lines with
// the given step style and names them in the legend; an empty side is left out.
func addSides(p *plot.Plot, b, c plotter.XYs, step plotter.StepKind) error {
	for _, side := range []struct {
		label  string
		xys    plotter.XYs
		color  color.Color
		dashed bool
	}{{"baseline", b, colorBaseline, false}, {"canary", c, colorCanary, true}} {
		if len(side.xys) == 0 {
			continue
		}
		l, err := line(side.xys, side.color, side.dashed, step)
		if err != nil {
			return err
		}
		p.Add(l)
		p.Legend.Add(side.label, l)
	}
	return nil
}
