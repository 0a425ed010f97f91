package htmlreport

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/report/internal/looks"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
)

// sequentialRuns are multi-interval analyses with sequential: anytime run
// by analysis.RunIntervals: one that stops early on a pass, one that stops
// early on a fail and one that runs all its looks.
func sequentialRuns(t testing.TB) map[string]*analysis.Report {
	t.Helper()
	out := map[string]*analysis.Report{}
	for name, run := range map[string]struct {
		scenario reporttest.Scenario
		lifetime time.Duration
	}{
		"healthy":   {reporttest.Scenario{}, time.Hour},
		"slow":      {reporttest.Scenario{"latency": 1.15}, time.Hour},
		"undecided": {reporttest.Scenario{"latency": 1.08, "cpu": 0.9}, 20 * time.Minute},
	} {
		r, err := reporttest.Sequential(run.scenario, run.lifetime, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	return out
}

// TestLooksFigure checks every element of the looks plots of real runs
// against the looks they draw: the estimate and the bound at each look,
// the allowed change shaded up to its edge(s) on the harmful side(s), the
// stop line at the last look with the run's reason, and the ring on the
// look the signal's outcome dates from.
func TestLooksFigure(t *testing.T) {
	stopLabels := map[string]string{"healthy": "stopped: all within", "slow": "stopped: fail", "undecided": "last look"}
	for name, r := range sequentialRuns(t) {
		stop, _ := looks.RunStop(r)
		for _, tr := range looks.Tracks(r) {
			t.Run(name+"/"+tr.Name, func(t *testing.T) {
				parts, err := looksFigure(tr, stop)
				if err != nil {
					t.Fatal(err)
				}
				if parts.clipped {
					t.Fatal("a value was clipped; these runs' values all fit")
				}
				var est, upper, lower plotter.XYs
				for _, l := range tr.Looks {
					x := l.Elapsed.Minutes()
					est = append(est, plotter.XY{X: x, Y: *l.Shift})
					if l.Bound == nil {
						// A look that spends none of the level (the first
						// of an hour known in advance) bounds nothing.
						continue
					}
					switch b := *l.Bound; tr.Side {
					case looks.Both:
						upper, lower = append(upper, plotter.XY{X: x, Y: math.Abs(b)}), append(lower, plotter.XY{X: x, Y: -math.Abs(b)})
					case looks.Fall:
						lower = append(lower, plotter.XY{X: x, Y: b})
					default:
						upper = append(upper, plotter.XY{X: x, Y: b})
					}
				}
				if parts.estimate == nil || !slices.Equal(parts.estimate.XYs, est) {
					t.Errorf("estimate %v, want %v", lineXYs(parts.estimate), est)
				}
				var bounds []plotter.XYs
				for _, b := range []plotter.XYs{upper, lower} {
					if len(b) > 0 {
						bounds = append(bounds, b)
					}
				}
				if len(parts.bounds) != len(bounds) {
					t.Fatalf("%d bound lines, want %d", len(parts.bounds), len(bounds))
				}
				for i, b := range bounds {
					if !slices.Equal(parts.bounds[i].XYs, b) {
						t.Errorf("bound line %d %v, want %v", i, parts.bounds[i].XYs, b)
					}
				}

				// The band: the allowance on the harmful side, the plot's
				// edge on the other.
				p, a := parts.plot, tr.Allowed
				want := map[looks.Side][2]float64{looks.Rise: {p.Y.Min, a}, looks.Fall: {-a, p.Y.Max}, looks.Both: {-a, a}}[tr.Side]
				_, _, lo, hi := dataRange(parts.band.XYs...)
				if lo != want[0] || hi != want[1] {
					t.Errorf("band %g .. %g, want %g .. %g (side %s)", lo, hi, want[0], want[1], tr.Side)
				}
				var edges []float64
				for _, l := range parts.limits {
					edges = append(edges, l.XYs[0].Y)
				}
				wantEdges := map[looks.Side][]float64{looks.Rise: {a}, looks.Fall: {-a}, looks.Both: {-a, a}}[tr.Side]
				if !slices.Equal(edges, wantEdges) {
					t.Errorf("allowance lines at %v, want %v", edges, wantEdges)
				}

				lastX := tr.Looks[len(tr.Looks)-1].Elapsed.Minutes()
				if parts.stop.XYs[0].X != lastX || parts.stop.XYs[1].X != lastX || parts.stopLabel != stopLabels[name] {
					t.Errorf("stop line %v labelled %q, want at %g minutes labelled %q", parts.stop.XYs, parts.stopLabel, lastX, stopLabels[name])
				}

				at := tr.Looks[tr.At]
				wantRing := map[looks.Outcome]plotter.XY{
					looks.Failed:      {X: at.Elapsed.Minutes(), Y: *at.Shift},
					looks.ShownWithin: *boundPoint(tr, at),
					looks.NotShown:    *boundPoint(tr, tr.Looks[len(tr.Looks)-1]),
				}[tr.Outcome]
				wantLabel := map[looks.Outcome]string{looks.Failed: "failed", looks.ShownWithin: "within", looks.NotShown: "not within"}[tr.Outcome]
				if parts.outcome == nil || len(parts.outcome.XYs) != 1 || parts.outcome.XYs[0] != wantRing || parts.outcomeLabel != wantLabel {
					t.Errorf("outcome %s: ring %v labelled %q, want at %v labelled %q", tr.Outcome, scatterXYs(parts.outcome), parts.outcomeLabel, wantRing, wantLabel)
				}
				if tr.Outcome == looks.ShownWithin && !tr.Within(at) || tr.Outcome == looks.Failed && at.Classification != judge.High {
					t.Errorf("outcome %s dated from look %d, which is %s with bound %v", tr.Outcome, at.Index, at.Classification, *at.Bound)
				}
			})
		}
	}
}

func lineXYs(l *plotter.Line) plotter.XYs {
	if l == nil {
		return nil
	}
	return l.XYs
}

func scatterXYs(s *plotter.Scatter) plotter.XYs {
	if s == nil {
		return nil
	}
	return s.XYs
}

// svgPath is one <path> of an inlined plot: its points and its style.
type svgPath struct {
	points [][2]float64
	style  string
}

var (
	pathElement = regexp.MustCompile(`<path d="([^"]*)" style="([^"]*)"`)
	pathPoint   = regexp.MustCompile(`[ML](-?[\d.]+),(-?[\d.]+)`)
	svgText     = regexp.MustCompile(`>([^<]+)</text>`)
)

func svgPaths(svg string) []svgPath {
	var out []svgPath
	for _, m := range pathElement.FindAllStringSubmatch(svg, -1) {
		p := svgPath{style: m[2]}
		for _, pt := range pathPoint.FindAllStringSubmatch(m[1], -1) {
			x, _ := strconv.ParseFloat(pt[1], 64)
			y, _ := strconv.ParseFloat(pt[2], 64)
			p.points = append(p.points, [2]float64{x, y})
		}
		out = append(out, p)
	}
	return out
}

// TestLooksPage checks what a reader of a sequential analysis' page gets:
// the line of every signal under the intervals, and in each signal's
// section its line and its looks plot, whose SVG holds the estimate, the
// bound, the shaded allowance meeting the allowance's line, and the stop
// line with its reason.
func TestLooksPage(t *testing.T) {
	looksSection := regexp.MustCompile(`(?s)<section class="signal[^"]*" id="[^"]*" data-signal="([^"]*)".*?</section>`)
	looksSVG := regexp.MustCompile(`(?s)<svg class="plot plot-looks".*?</svg>`)
	for name, r := range sequentialRuns(t) {
		t.Run(name, func(t *testing.T) {
			// The texts as read: html/template writes + as &#43;.
			page := html.UnescapeString(renderPage(t, r, PageOptions{}))
			stop, _ := looks.RunStop(r)
			if want := "Signals over the looks: " + looks.StopText(stop); !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
			tracks := looks.Tracks(r)
			for _, tr := range tracks {
				li := fmt.Sprintf(`<li class="looks-%s" data-looks="%s"><span class="icon">%s</span> <a href="#`, tr.Outcome, tr.Outcome, tr.Mark())
				line := fmt.Sprintf(`>%s</a>: %s</li>`, tr.Name, tr.Line())
				if !strings.Contains(page, li) || !strings.Contains(page, line) {
					t.Errorf("the intervals' list lacks %s: %s", tr.Name, tr.Line())
				}
			}
			sections := looksSection.FindAllStringSubmatch(page, -1)
			if len(sections) != len(tracks) {
				t.Fatalf("%d sections, %d tracks", len(sections), len(tracks))
			}
			for _, sec := range sections {
				i := slices.IndexFunc(tracks, func(tr looks.Track) bool { return tr.Name == sec[1] })
				if i < 0 {
					t.Fatalf("section %s has no track", sec[1])
				}
				tr := tracks[i]
				if want := fmt.Sprintf(`<p class="looks" data-looks="%s"><strong>Over the looks:</strong> %s</p>`, tr.Outcome, tr.Line()); !strings.Contains(sec[0], want) {
					t.Errorf("%s: section lacks %q", tr.Name, want)
				}
				svgs := looksSVG.FindAllString(sec[0], -1)
				if len(svgs) != 1 {
					t.Fatalf("%s: %d looks plots, want 1", tr.Name, len(svgs))
				}
				checkLooksSVG(t, tr, stop, svgs[0])
			}
		})
	}
}

// checkLooksSVG reads a looks plot as drawn: its texts, the estimate and
// bound lines, the stop line at the last look, and the shaded band, whose
// edge on the harmful side(s) is drawn where the allowance's dashed line is.
func checkLooksSVG(t *testing.T, tr looks.Track, stop looks.Stop, svg string) {
	t.Helper()
	var texts []string
	for _, m := range svgText.FindAllStringSubmatch(svg, -1) {
		texts = append(texts, html.UnescapeString(m[1]))
	}
	parts, err := looksFigure(tr, stop)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"estimate", "bound (anytime)", "allowed " + tr.Allowance(), parts.stopLabel, parts.outcomeLabel} {
		if !slices.Contains(texts, want) {
			t.Errorf("%s: plot texts %q lack %q", tr.Name, texts, want)
		}
	}
	paths := svgPaths(svg)
	var band *svgPath
	var limits []float64
	estimates, bounds := 0, 0
	bounded := 0 // looks with a bound: not those that spent none of the level
	for _, l := range tr.Looks {
		if l.Bound != nil {
			bounded++
		}
	}
	var lastX float64
	var stops [][][2]float64
	for i, p := range paths {
		switch {
		case strings.Contains(p.style, "stroke-dasharray:5,2") && len(p.points) == 2 && p.points[0][0] == p.points[1][0]:
			stops = append(stops, p.points)
		case strings.Contains(p.style, "fill-opacity") && len(p.points) == 4 && band == nil:
			band = &paths[i] // the first is the band; the legend's swatch comes last
		case strings.Contains(p.style, "stroke:#B01010;stroke-dasharray:1.5,1.5") && len(p.points) == 2:
			limits = append(limits, p.points[0][1])
		case strings.HasPrefix(p.style, "fill:none;stroke:#000000;stroke-width:1.1") && len(p.points) == len(tr.Looks):
			estimates++
			lastX = p.points[len(p.points)-1][0]
		case strings.Contains(p.style, "stroke:#D0620A;stroke-width:1.1;stroke-dasharray:4,2") && len(p.points) == bounded:
			bounds++
		}
	}
	if estimates != 1 || bounds != len(parts.bounds) {
		t.Errorf("%s: %d estimate lines and %d bound lines of %d looks, want 1 and %d", tr.Name, estimates, bounds, len(tr.Looks), len(parts.bounds))
	}
	if len(stops) != 1 || stops[0][0][0] != lastX {
		t.Errorf("%s: stop lines %v, want one at the last look's x %g", tr.Name, stops, lastX)
	}
	if band == nil {
		t.Fatalf("%s: no shaded band", tr.Name)
	}
	if len(limits) != len(parts.limits) {
		t.Fatalf("%s: %d allowance lines drawn, want %d", tr.Name, len(limits), len(parts.limits))
	}
	ys := []float64{band.points[0][1], band.points[2][1]}
	for _, y := range limits {
		if !slices.Contains(ys, y) {
			t.Errorf("%s: the allowance line at y=%g is not an edge of the band %v", tr.Name, y, band.points)
		}
	}
}

// handRun is a run of n one-minute looks of one signal, latency (rise
// harmful, allowed +10%), whose estimate stays at +2% and whose bound at
// look i (from 1) is bound(i).
func handRun(n int, bound func(i int) float64) *analysis.Report {
	t0 := reporttest.Start
	f := func(v float64) *float64 { return &v }
	r := &analysis.Report{Name: "shop", Verdict: "pass", Reason: "pass"}
	for i := 1; i <= n; i++ {
		r.Intervals = append(r.Intervals, analysis.IntervalResult{Index: i, Start: t0, End: t0.Add(time.Duration(i) * time.Minute), Verdict: "pass",
			Signals: []analysis.IntervalSignal{{Name: "latency", Classification: judge.Pass, Shift: f(0.02), RulesOut: f(bound(i)), Allowed: 0.1, Level: 0.001}}})
	}
	r.Signals = []judge.Result{{Name: "latency", Classification: judge.Pass,
		Test: &judge.TestResult{Method: judge.MannWhitney, Direction: judge.Increase, RelativeShift: f(0.02), RulesOut: f(bound(n)), Allowed: f(0.1), AnytimeLevel: 0.001}}}
	return r
}

// TestLooksClipped checks that a first look's bound far beyond the rest
// does not flatten the plot: it is drawn at the edge, and the legend says so.
func TestLooksClipped(t *testing.T) {
	r := handRun(4, func(i int) float64 { return map[int]float64{1: 50, 2: 0.3, 3: 0.15, 4: 0.08}[i] })
	tr := looks.Tracks(r)[0]
	stop, _ := looks.RunStop(r)
	parts, err := looksFigure(tr, stop)
	if err != nil {
		t.Fatal(err)
	}
	if !parts.clipped || parts.plot.Y.Max > 1 || parts.bounds[0].XYs[0].Y >= 50 || parts.bounds[0].XYs[3].Y != 0.08 {
		t.Errorf("clipped %v, y axis up to %g, bounds %v; want the first bound at the edge of an axis below 100%%", parts.clipped, parts.plot.Y.Max, parts.bounds[0].XYs)
	}
	if page := renderPage(t, r, PageOptions{}); !strings.Contains(page, "Values beyond the plot are drawn at its edge.") {
		t.Error("the legend does not say a value was drawn at the edge")
	}
	r = handRun(4, func(i int) float64 { return 0.4 / float64(i) })
	if parts, _ := looksFigure(looks.Tracks(r)[0], stop); parts.clipped {
		t.Error("bounds of the same size as the rest were clipped")
	}
}

// TestLooksManyLooks checks that a run of many looks (a day, looked at
// every minute) keeps its plot small: lines reduced to envelopes, no mark
// per look.
func TestLooksManyLooks(t *testing.T) {
	looksSVG := regexp.MustCompile(`(?s)<svg class="plot plot-looks".*?</svg>`)
	size := func(n int) (int, int) {
		r := handRun(n, func(i int) float64 { return 0.3/math.Sqrt(float64(i)) + 0.01*math.Sin(float64(i)) })
		svg := looksSVG.FindString(renderPage(t, r, PageOptions{}))
		return len(svg), strings.Count(svg, "<path")
	}
	few, fewPaths := size(12)
	many, manyPaths := size(1440)
	if many > 3*few || manyPaths > fewPaths {
		t.Errorf("1,440 looks: %d bytes, %d paths; 12 looks: %d bytes, %d paths", many, manyPaths, few, fewPaths)
	}
	t.Logf("looks plot: %d bytes for 12 looks, %d for 1,440", few, many)
}

// TestLooksWithoutBounds checks a signal whose looks have neither an
// estimate nor a bound (a threshold test, no data): it has its line, and
// no looks plot rather than an empty one.
func TestLooksWithoutBounds(t *testing.T) {
	r := handRun(3, func(int) float64 { return 0 })
	for i := range r.Intervals {
		r.Intervals[i].Signals[0].Shift, r.Intervals[i].Signals[0].RulesOut = nil, nil
	}
	page := renderPage(t, r, PageOptions{})
	if strings.Contains(page, `<svg class="plot plot-looks"`) {
		t.Error("a signal without estimates or bounds has a looks plot")
	}
	if !strings.Contains(page, `data-looks="no-bound"><strong>Over the looks:</strong> no bound at look 3 (3 min): pass</p>`) {
		t.Errorf("the signal's section lacks its line:\n%s", regexp.MustCompile(`<p class="looks".*`).FindString(page))
	}
}

// TestLooksStored checks the page of a stored analysis, read back from
// its JSON document, which keeps the looks but not the raw points: the
// looks are still plotted, and the note says that only they are.
func TestLooksStored(t *testing.T) {
	r := sequentialRuns(t)["slow"]
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var stored analysis.Report
	if err := json.Unmarshal(doc, &stored); err != nil {
		t.Fatal(err)
	}
	page := renderPage(t, &stored, PageOptions{})
	if n, want := strings.Count(page, `<svg class="plot plot-looks"`), len(stored.Signals); n != want || want == 0 {
		t.Errorf("%d looks plots, want %d", n, want)
	}
	if n := strings.Count(page, "only its looks are plotted"); n != len(stored.Signals) {
		t.Errorf("%d notes that only the looks are plotted, want %d", n, len(stored.Signals))
	}
	if strings.Contains(page, `<svg class="plot plot-series"`) {
		t.Error("a page without raw points plots series")
	}
}
