package quality

import (
	"bytes"
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot is one rendered SVG file.
type Plot struct {
	Name string // file name, e.g. "detection-lognormal-0.3.svg"
	SVG  []byte
}

var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// DetectionPlots draws, per family, the canary-level detection rate (fail
// or marginal) against the regression size, for each size in sizes and both
// judges (solid: default judge; dashed: Kayenta; for tail regressions also
// dotted: verdict+p99), in canaries of the given number of signals.
func DetectionPlots(rows []Row, kind EffectKind, signals int, sizes []int) ([]Plot, error) {
	var out []Plot
	for _, fam := range familyNames(rows) {
		fr := Select(rows, func(r Row) bool { return r.Family == fam && r.Signals == signals && r.Effect.Kind == kind })
		if len(fr) == 0 {
			continue
		}
		// The A/A rows are the curves' starting points (size 0): the false alarms.
		fr = append(fr, Select(rows, func(r Row) bool { return r.Family == fam && r.Signals == signals && r.Effect.Kind == None })...)
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: %s regressions caught (%d-signal canaries)", fam, kind, signals)
		p.X.Label.Text = "regression size (%)"
		if kind == ErrorRate {
			p.X.Label.Text = "canary error rate (events per point)"
		}
		p.Y.Label.Text = "canaries judged fail or marginal"
		if kind != ErrorRate {
			p.X.Label.Text = "regression size (%); 0 = A/A"
		}
		p.Y.Min, p.Y.Max = 0, 1
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.YOffs = vg.Points(20)
		judges := []string{JudgeVerdict, JudgeKayenta}
		if kind == Tail {
			judges = append(judges, JudgeVerdictP99) // dotted
		}
		for si, n := range sizes {
			for ji, j := range judges {
				pts := plotter.XYs{}
				for _, r := range fr {
					if r.N == n && r.Judge == j {
						x := 100 * r.Effect.Size
						if kind == ErrorRate {
							x = r.Effect.Size
						}
						pts = append(pts, plotter.XY{X: x, Y: r.NotPassRate().Value})
					}
				}
				if len(pts) == 0 {
					continue
				}
				sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
				l, s, err := plotter.NewLinePoints(pts)
				if err != nil {
					return nil, fmt.Errorf("detection plot %s: %w", fam, err)
				}
				c := palette[si%len(palette)]
				l.Color, s.Color = c, c
				l.Width = vg.Points(1.5)
				switch ji {
				case 1:
					l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
					s.Shape = draw.BoxGlyph{}
				case 2:
					l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
					s.Shape = draw.TriangleGlyph{}
				}
				p.Add(l, s)
				p.Legend.Add(fmt.Sprintf("%s n=%d", j, n), l, s)
			}
		}
		svg, err := render(p, 16*vg.Centimeter, 10*vg.Centimeter)
		if err != nil {
			return nil, fmt.Errorf("detection plot %s: %w", fam, err)
		}
		out = append(out, Plot{Name: fmt.Sprintf("detection-%s-%s.svg", kind, fam), SVG: svg})
	}
	return out, nil
}

// FalseAlarmPlot draws, per family, the A/A canary false-alarm rate (fail or
// marginal) of both judges at one size and signal count, as grouped bars.
func FalseAlarmPlot(rows []Row, n, signals int) (Plot, error) {
	fams := familyNames(rows)
	vals := map[string]plotter.Values{}
	var names []string
	for _, fam := range fams {
		v, ok1 := Find(rows, JudgeVerdict, fam, n, signals, Effect{Kind: None})
		k, ok2 := Find(rows, JudgeKayenta, fam, n, signals, Effect{Kind: None})
		if !ok1 || !ok2 {
			continue
		}
		names = append(names, fam)
		vals[JudgeVerdict] = append(vals[JudgeVerdict], 100*v.NotPassRate().Value)
		vals[JudgeKayenta] = append(vals[JudgeKayenta], 100*k.NotPassRate().Value)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("A/A canaries judged fail or marginal (%d signals, %d points/side)", signals, n)
	p.Y.Label.Text = "false alarms (%)"
	p.Y.Min = 0
	w := vg.Points(9)
	for i, j := range []string{JudgeVerdict, JudgeKayenta} {
		if len(vals[j]) == 0 {
			continue
		}
		bars, err := plotter.NewBarChart(vals[j], w)
		if err != nil {
			return Plot{}, fmt.Errorf("false-alarm plot: %w", err)
		}
		bars.Color = palette[i]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(2*i-1)) * w / 2
		p.Add(bars)
		p.Legend.Add(j, bars)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(10)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.6
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	svg, err := render(p, 18*vg.Centimeter, 10*vg.Centimeter)
	if err != nil {
		return Plot{}, fmt.Errorf("false-alarm plot: %w", err)
	}
	return Plot{Name: fmt.Sprintf("false-alarms-n%d-k%d.svg", n, signals), SVG: svg}, nil
}

func render(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
