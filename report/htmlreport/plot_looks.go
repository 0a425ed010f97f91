package htmlreport

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/verdict-aca/verdict/report/internal/looks"
)

// maxLookPoints bounds the points drawn per line of a looks plot; a run
// with more looks is reduced to per-bucket min/max envelopes, and its
// looks lose their marks, which would merge into a band.
const (
	maxLookPoints = 200
	maxLookMarks  = 60
)

// colorAllowed shades the allowed change of a looks plot.
var colorAllowed = color.NRGBA{R: 0x1b, G: 0x7a, B: 0x3a, A: 0x2e}

// looksParts are the elements of a looks plot, named for tests.
type looksParts struct {
	plot *plot.Plot
	// band is the allowed change, limits its edges (one, or two for
	// direction either).
	band   *plotter.Polygon
	limits []*plotter.Line
	// estimate is each look's estimated change; bounds the harmful
	// side's bound (two lines, ±, for direction either).
	estimate *plotter.Line
	bounds   []*plotter.Line
	// stop is the vertical line at the look where the run stopped, and
	// stopLabel its reason.
	stop      *plotter.Line
	stopLabel string
	// outcome rings the look the signal's outcome dates from, on the
	// estimate for a failure and on the bound otherwise; outcomeLabel
	// words it. Nil when the last look had no bound or estimate.
	outcome      *plotter.Scatter
	outcomeLabel string
	// clipped says some value lay beyond the plot and is drawn at its edge.
	clipped bool
}

// looksPlot draws a signal of a multi-interval analysis over its looks:
// the estimated change and the harmful side's bound at each look against
// the allowed change, shaded, with the look where the run stopped and why.
func looksPlot(tr looks.Track, stop looks.Stop) (string, bool, error) {
	parts, err := looksFigure(tr, stop)
	if err != nil {
		return "", false, err
	}
	svg, err := render(parts.plot, classLooks, tr.Name+": estimate and harmful-side bound at each look against the allowed "+tr.Allowance())
	return svg, parts.clipped, err
}

// looksFigure builds the looks plot of a track.
func looksFigure(tr looks.Track, stop looks.Stop) (*looksParts, error) {
	if len(tr.Looks) == 0 {
		return nil, errNoPoints
	}
	minutes := func(l looks.Look) float64 { return l.Elapsed.Minutes() }
	var est, upper, lower plotter.XYs
	for _, l := range tr.Looks {
		x := minutes(l)
		if l.Shift != nil {
			est = append(est, plotter.XY{X: x, Y: *l.Shift})
		}
		if l.Bound == nil {
			continue
		}
		switch tr.Side {
		case looks.Both:
			upper = append(upper, plotter.XY{X: x, Y: math.Abs(*l.Bound)})
			lower = append(lower, plotter.XY{X: x, Y: -math.Abs(*l.Bound)})
		case looks.Fall:
			lower = append(lower, plotter.XY{X: x, Y: *l.Bound})
		default:
			upper = append(upper, plotter.XY{X: x, Y: *l.Bound})
		}
	}
	if len(est) == 0 && len(upper) == 0 && len(lower) == 0 {
		return nil, errNoPoints
	}

	// The y axis holds the allowance, no change and every estimate; a
	// bound far beyond them (the first looks', on little data) is drawn
	// at the edge rather than flatten the rest.
	a := tr.Allowed
	last := tr.Looks[len(tr.Looks)-1]
	core := a
	for _, p := range est {
		core = math.Max(core, math.Abs(p.Y))
	}
	if last.Bound != nil {
		core = math.Max(core, math.Abs(*last.Bound))
	}
	if core == 0 {
		core = 0.01
	}
	limit := 5 * core
	parts := &looksParts{}
	clip := func(xys plotter.XYs) plotter.XYs {
		out := make(plotter.XYs, len(xys))
		for i, p := range xys {
			if math.Abs(p.Y) > limit {
				p.Y = math.Copysign(limit, p.Y)
				parts.clipped = true
			}
			out[i] = p
		}
		return envelope(out, maxLookPoints)
	}
	est, upper, lower = clip(est), clip(upper), clip(lower)
	lo, hi := 0.0, 0.0
	switch tr.Side {
	case looks.Fall:
		lo = -a
	case looks.Both:
		lo, hi = -a, a
	default:
		hi = a
	}
	_, _, ymin, ymax := dataRange(est, upper, lower, plotter.XYs{{Y: lo}, {Y: hi}})
	ymin, ymax = padRange(ymin, ymax, 0.08, 0.4) // room above for the legend

	xmax := minutes(last)
	if xmax <= 0 {
		xmax = 1
	}
	p := newPlot("", "minutes since the start", "change")
	parts.plot = p
	p.X.Min, p.X.Max = 0, 1.04*xmax
	p.X.Tick.Marker = minuteTicks{}
	p.Y.Min, p.Y.Max = ymin, ymax
	if tr.Points {
		p.Y.Tick.Marker = pointTicks{}
	} else {
		p.Y.Tick.Marker = percentTicks{}
	}
	p.Legend.Left = true

	// The allowed change, shaded up to its edge(s).
	bandLo, bandHi := ymin, ymax
	switch tr.Side {
	case looks.Fall:
		bandLo = -a
	case looks.Both:
		bandLo, bandHi = -a, a
	default:
		bandHi = a
	}
	band, err := plotter.NewPolygon(plotter.XYs{{X: p.X.Min, Y: bandLo}, {X: p.X.Max, Y: bandLo}, {X: p.X.Max, Y: bandHi}, {X: p.X.Min, Y: bandHi}})
	if err != nil {
		return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
	}
	band.Color, band.LineStyle.Width = colorAllowed, 0
	parts.band = band
	p.Add(band)
	if zero, err := hline(0, p.X.Min, p.X.Max, colorGrey, nil); err == nil {
		zero.Width = vg.Points(0.5)
		p.Add(zero)
	}
	var edges []float64
	switch tr.Side {
	case looks.Fall:
		edges = []float64{-a}
	case looks.Both:
		edges = []float64{-a, a}
	default:
		edges = []float64{a}
	}
	for _, y := range edges {
		l, err := hline(y, p.X.Min, p.X.Max, colorLimit, []vg.Length{vg.Points(1.5), vg.Points(1.5)})
		if err != nil {
			return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
		}
		parts.limits = append(parts.limits, l)
		p.Add(l)
	}

	marks := len(tr.Looks) <= maxLookMarks
	if len(est) > 0 {
		l, s, err := plotter.NewLinePoints(est)
		if err != nil {
			return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
		}
		l.Color, l.Width = color.Black, vg.Points(1.1)
		s.Color, s.Radius, s.Shape = color.Black, vg.Points(2), draw.CircleGlyph{}
		parts.estimate = l
		p.Add(l)
		if marks {
			p.Add(s)
			p.Legend.Add("estimate", l, s)
		} else {
			p.Legend.Add("estimate", l)
		}
	}
	boundLabel := "bound"
	if tr.Anytime {
		boundLabel = "bound (anytime)"
	}
	legendDone := false
	for _, side := range []struct {
		xys   plotter.XYs
		glyph draw.GlyphDrawer
	}{{upper, draw.PyramidGlyph{}}, {lower, downTriangle{}}} {
		if len(side.xys) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(side.xys)
		if err != nil {
			return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
		}
		l.Color, l.Width, l.Dashes = colorCanary, vg.Points(1.1), canaryDashes
		s.Color, s.Radius, s.Shape = colorCanary, vg.Points(2.6), side.glyph
		parts.bounds = append(parts.bounds, l)
		p.Add(l)
		if marks {
			p.Add(s)
		}
		if !legendDone {
			if marks {
				p.Legend.Add(boundLabel, l, s)
			} else {
				p.Legend.Add(boundLabel, l)
			}
			legendDone = true
		}
	}
	p.Legend.Add("allowed "+tr.Allowance(), band)

	// Where the run stopped, and why.
	stopColor := colorGrey
	switch {
	case stop.Early && stop.Why == "fail":
		stopColor, parts.stopLabel = colorLimit, "stopped: fail"
	case stop.Early:
		stopColor, parts.stopLabel = colorPass, "stopped: all within"
	default:
		parts.stopLabel = "last look"
	}
	sx := minutes(last)
	sl, err := vline(sx, ymin, ymax, stopColor, []vg.Length{vg.Points(5), vg.Points(2)})
	if err != nil {
		return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
	}
	parts.stop = sl
	p.Add(sl)
	texts := plotter.XYLabels{XYs: plotter.XYs{{X: sx, Y: ymax}}, Labels: []string{parts.stopLabel}}
	aligns := []draw.XAlignment{draw.XRight}
	colors := []color.Color{stopColor}

	// The look the signal's outcome dates from, ringed.
	at := tr.Looks[tr.At]
	var ring *plotter.XY
	switch tr.Outcome {
	case looks.Failed:
		if at.Shift != nil {
			ring, parts.outcomeLabel = &plotter.XY{X: minutes(at), Y: *at.Shift}, "failed"
		}
	case looks.ShownWithin:
		ring, parts.outcomeLabel = boundPoint(tr, at), "within"
	case looks.NotShown:
		ring, parts.outcomeLabel = boundPoint(tr, last), "not within"
	}
	if ring != nil {
		ring.Y = math.Max(-limit, math.Min(limit, ring.Y))
		s, err := plotter.NewScatter(plotter.XYs{*ring})
		if err != nil {
			return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
		}
		c := map[looks.Outcome]color.Color{looks.Failed: colorLimit, looks.ShownWithin: colorPass, looks.NotShown: colorMarginal}[tr.Outcome]
		s.Shape, s.Radius, s.Color = ringGlyph{}, vg.Points(5.5), c
		parts.outcome = s
		p.Add(s)
		// The label goes on the side of the ring with more room.
		align := draw.XRight
		if ring.X < xmax/2 {
			align = draw.XLeft
		}
		texts.XYs = append(texts.XYs, *ring)
		texts.Labels = append(texts.Labels, parts.outcomeLabel)
		aligns, colors = append(aligns, align), append(colors, c)
	}
	labels, err := plotter.NewLabels(texts)
	if err != nil {
		return nil, fmt.Errorf("plotting the looks of %s: %w", tr.Name, err)
	}
	for i := range labels.TextStyle {
		ts := &labels.TextStyle[i]
		ts.Font, ts.Color, ts.XAlign = sans(7.5), colors[i], aligns[i]
		ts.YAlign = draw.YCenter
		if i == 0 {
			ts.YAlign = draw.YTop
		}
	}
	p.Add(&ringLabels{Labels: labels, aligns: aligns})
	return parts, nil
}

// boundPoint is where a look's bound is drawn (the harmful side's for
// direction either: above zero when the estimate is), or nil.
func boundPoint(tr looks.Track, l looks.Look) *plotter.XY {
	if l.Bound == nil {
		return nil
	}
	y := *l.Bound
	if tr.Side == looks.Both {
		y = math.Abs(y)
		if l.Shift != nil && *l.Shift < 0 {
			y = -y
		}
	}
	return &plotter.XY{X: l.Elapsed.Minutes(), Y: y}
}

// ringLabels draws labels clear of the marks they name: each label moves
// away from its point on the side it is aligned to.
type ringLabels struct {
	*plotter.Labels
	aligns []draw.XAlignment
}

// Plot implements plot.Plotter.
func (r *ringLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, xy := range r.XYs {
		ts := r.TextStyle[i]
		dx := -vg.Points(3)
		if i > 0 { // a ring's label clears the ring
			dx = -vg.Points(9)
		}
		if r.aligns[i] == draw.XLeft {
			dx = -dx
		}
		dy := vg.Length(0)
		if i == 0 {
			dy = -vg.Points(2)
		}
		c.FillText(ts, vg.Point{X: trX(xy.X) + dx, Y: trY(xy.Y) + dy}, r.Labels.Labels[i])
	}
}

// ringGlyph is a circle drawn with a line that stands out from the plot's.
type ringGlyph struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (ringGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.3)})
	var path vg.Path
	path.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	path.Arc(pt, sty.Radius, 0, 2*math.Pi)
	path.Close()
	c.Stroke(path)
}

// downTriangle is a filled triangle pointing down: a bound below the
// estimate (a fall's).
type downTriangle struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (downTriangle) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 1.25
	h := r * vg.Length(math.Sqrt(3)) / 2
	var path vg.Path
	path.Move(vg.Point{X: pt.X, Y: pt.Y - r})
	path.Line(vg.Point{X: pt.X - h, Y: pt.Y + r/2})
	path.Line(vg.Point{X: pt.X + h, Y: pt.Y + r/2})
	path.Close()
	c.SetColor(sty.Color)
	c.Fill(path)
}

// pointTicks are gonum's default ticks of an axis of differences of
// shares, labelled in percentage points: 0.005 is +0.5 pp.
type pointTicks struct{}

// Ticks implements plot.Ticker.
func (pointTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(100*t.Value, 'g', 10, 64) + " pp"
		}
	}
	return ticks
}

// minuteTicks mark an axis of minutes at round steps (½, 1, 2, 5, 10, 15,
// 20 or 30 minutes, or whole hours), about five labelled ticks.
type minuteTicks struct{}

var minuteSteps = []float64{0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440}

// Ticks implements plot.Ticker.
func (minuteTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	step := minuteSteps[len(minuteSteps)-1]
	for _, s := range minuteSteps {
		if (hi-lo)/s <= 6 {
			step = s
			break
		}
	}
	for (hi-lo)/step > 6 {
		step *= 2
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
