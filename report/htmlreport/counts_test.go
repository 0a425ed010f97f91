package htmlreport

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
	"github.com/verdict-aca/verdict/scoring"
)

// rows maps a signal's test figures by label.
func rows(s judge.Result) (map[string]string, []string) {
	m := map[string]string{}
	var labels []string
	for _, r := range testRows(s) {
		m[r.Label] = r.Value
		labels = append(labels, r.Label)
	}
	return m, labels
}

// TestCountTestRows checks the test figures of the tests of counts, judged
// by the real judge: each side's events out of its exposure, the ratio
// with its interval, the difference in points first when the allowance is
// in points, the dispersion when above 1, the allowed change on its side,
// the decision's one-sided bound named as a bound on the change, and for a
// histogram the bound compared and its quantiles.
func TestCountTestRows(t *testing.T) {
	rep, _ := reporttest.Counts()
	of := func(per string) *regexp.Regexp {
		return regexp.MustCompile(`^[0-9][0-9,]* of [0-9][0-9,]* ` + regexp.QuoteMeta(per) + ` \([0-9.]+%\)$`)
	}
	ratio := regexp.MustCompile(`^[0-9]+\.[0-9]{2,3}× \(95% CI [0-9.]+× \.\. [0-9.]+×\)$`)
	tests := map[string]map[string]*regexp.Regexp{
		"http_5xx": {
			"canary": of("http_requests"), "baseline": of("http_requests"), "ratio (canary / baseline)": ratio,
			"dispersion":     regexp.MustCompile(`^1\.[0-9]+ × the variance of independent counts`),
			"allowed change": regexp.MustCompile(`^\+10%$`),
			"one-sided bound of the change (decision level)": regexp.MustCompile(`^the change is at least \+[0-9.,]+% \(ratio [0-9.]+×\)$`),
		},
		"checkout": {
			"canary": of("checkouts_started"), "baseline": of("checkouts_started"),
			"difference":     regexp.MustCompile(`^-[0-9.]+ pp \(95% CI -[0-9.]+ pp \.\. -[0-9.]+ pp\)$`),
			"allowed change": regexp.MustCompile(`^-0\.5 pp$`),
			"one-sided bound of the change (decision level)": regexp.MustCompile(`^the change is at most -[0-9.]+ pp$`),
		},
		"latency": {
			"baseline p99": regexp.MustCompile(`^0\.[0-9]+$`), "canary p99": regexp.MustCompile(`^0\.[0-9]+$`),
			"bound compared (nearest the pooled p99)":        regexp.MustCompile(`^0\.5$`),
			"95% interval of the difference (bucket bounds)": regexp.MustCompile(`^[-+][0-9.]+ \([-+][0-9.]+%\) \.\. \+[0-9.]+ \(\+[0-9.]+%\)$`),
			"canary": of("observations above 0.5"),
		},
		"latency_slo": {
			"bound": regexp.MustCompile(`^0\.25$`), "canary": of("observations above 0.25"), "ratio (canary / baseline)": ratio,
			"difference": regexp.MustCompile(`^\+[0-9.]+ pp \(95% CI \+[0-9.]+ pp \.\. \+[0-9.]+ pp\)$`),
		},
	}
	for _, s := range rep.Signals {
		got, labels := rows(s)
		for label, re := range tests[s.Name] {
			if v, ok := got[label]; !ok || !re.MatchString(v) {
				t.Errorf("%s: %q is %q, want it to match %s (rows %v)", s.Name, label, v, re, labels)
			}
		}
		for _, label := range labels {
			if strings.Contains(label, "decision bound") || strings.Contains(label, "Hodges") {
				t.Errorf("%s: row %q", s.Name, label)
			}
		}
		for _, r := range statRows(s) {
			if slices.Contains([]string{"mean", "median", "stddev", "min", "max"}, r.Name) {
				t.Errorf("%s: the statistics show the %s of points the test of counts never had", s.Name, r.Name)
			}
		}
	}
	// What the decision tested comes first: the difference for an
	// allowance in points.
	_, labels := rows(rep.Signals[slices.IndexFunc(rep.Signals, func(r judge.Result) bool { return r.Name == "checkout" })])
	if d, r := slices.Index(labels, "difference"), slices.Index(labels, "ratio (canary / baseline)"); d < 0 || r < 0 || d > r {
		t.Errorf("checkout: difference at %d, ratio at %d; the points the decision tested come first", d, r)
	}
}

// TestAllowedChangeSide checks that the allowed change is shown on the
// side it applies to, never ±x% for a signal with one harmful direction.
func TestAllowedChangeSide(t *testing.T) {
	base := make([]float64, 60)
	for i := range base {
		base[i] = 100 + float64(i%10)
	}
	higher := make([]float64, 60)
	for i := range higher {
		higher[i] = 1.3 * base[i]
	}
	tests := []struct {
		name      string
		direction judge.Direction
		canary    []float64
		want      string
	}{
		{"rise that fails", judge.Increase, higher, "+10%"},
		{"rise that is harmless", judge.Decrease, higher, "-10%"},
		{"either direction", judge.Either, base, "±10%"},
		{"one direction, no change", judge.Increase, base, "+10%"},
		{"fall that is harmful, no change", judge.Decrease, base, "-10%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := judge.Judge(judge.Spec{Name: "latency", Direction: tc.direction, AllowedChange: judge.Rel(0.1)}, base, tc.canary, judge.Options{})
			if got, _ := rows(s); got["allowed change"] != tc.want {
				t.Errorf("allowed change %q, want %q (gate %s)", got["allowed change"], tc.want, s.Gate)
			}
		})
	}
}

// TestDecisionBoundWording checks that the decision's one-sided bound
// reads as a bound on the change, not as a threshold: a failed shift of
// +30% shows "the change is at least +2x%".
func TestDecisionBoundWording(t *testing.T) {
	base := make([]float64, 60)
	for i := range base {
		base[i] = 100 + float64(i%10)
	}
	canary := make([]float64, 60)
	for i := range canary {
		canary[i] = 1.3 * base[i]
	}
	s := judge.Judge(judge.Spec{Name: "latency", Direction: judge.Increase, AllowedChange: judge.Rel(0.1)}, base, canary, judge.Options{})
	got, labels := rows(s)
	if v := got["one-sided bound of the change (decision level)"]; !regexp.MustCompile(`^the change is at least \+2[0-9]\.[0-9]%$`).MatchString(v) {
		t.Errorf("one-sided bound %q (rows %v)", v, labels)
	}
}

// TestGroupMarks checks a group's mark: a group whose critical signal had
// no data is not ✔ 100 (its score counts only the judged signals) and
// names the signal.
func TestGroupMarks(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	signals := []judge.Result{
		{Name: "p50", Group: "latency", Classification: judge.Pass},
		{Name: "errors", Group: "latency", Critical: true, Classification: judge.NoData},
		{Name: "cpu", Group: "saturation", Classification: judge.High, Failed: true},
		{Name: "p99", Group: "tail", Classification: judge.Pass},
	}
	tests := []struct {
		group      scoring.GroupScore
		mark, note string
	}{
		{scoring.GroupScore{Name: "latency", Score: f(100), Signals: []string{"p50", "errors"}}, "?", "no data for errors"},
		{scoring.GroupScore{Name: "saturation", Score: f(0), Signals: []string{"cpu"}}, "✘", ""},
		{scoring.GroupScore{Name: "tail", Score: f(100), Signals: []string{"p99"}}, "✔", ""},
		{scoring.GroupScore{Name: "empty", Signals: []string{}}, "?", ""},
	}
	for _, tc := range tests {
		if g := groupRow(tc.group, signals); g.Mark != tc.mark || g.Note != tc.note {
			t.Errorf("group %s: mark %q note %q, want %q %q", tc.group.Name, g.Mark, g.Note, tc.mark, tc.note)
		}
	}
	r := sample()
	r.Signals = append(r.Signals, judge.Result{Name: "errors", Group: "errors", Critical: true, Classification: judge.NoData, Gate: judge.GateMinSamples, Reason: "no data"})
	r.Groups = append(r.Groups, scoring.GroupScore{Name: "errors", Weight: 40, Score: f(100), Signals: []string{"error_ratio", "errors"}})
	page := renderPage(t, r, PageOptions{NoPlots: true})
	if want := `<span class="icon">?</span> 100<br><span class="group-note">no data for errors</span>`; !strings.Contains(page, want) {
		t.Errorf("page lacks %q", want)
	}
}

// TestIntervalsAxis checks that the score axis of a multi-interval run
// runs from 0 to 100, the range of a score.
func TestIntervalsAxis(t *testing.T) {
	p, err := intervalsFigure(sample())
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min != 0 || p.Y.Max != 100 {
		t.Errorf("score axis %g .. %g, want 0 .. 100", p.Y.Min, p.Y.Max)
	}
	var labels []string
	for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if want := []string{"0", "25", "50", "75", "100"}; !slices.Equal(labels, want) {
		t.Errorf("score ticks %v, want %v", labels, want)
	}
}

// TestHistogramQuantileMatchesJudge checks the plots' reading of bucket
// counts against the judge's: summed over the windows, each side's
// quantile is the one the test reported.
func TestHistogramQuantileMatchesJudge(t *testing.T) {
	rep, signals := reporttest.Counts()
	i := slices.IndexFunc(signals, func(s reporttest.Signal) bool { return s.Spec.Name == "latency" })
	test := rep.Signals[i].Test
	for _, side := range []struct {
		name   string
		series metrics.Series
		want   float64
	}{{"baseline", rep.Series[i].Baseline, *test.BaselineQuantile}, {"canary", rep.Series[i].Canary, *test.CanaryQuantile}} {
		got := judge.HistogramQuantile(side.series.Bounds, histogramTotals(side.series), test.Q)
		if math.Abs(got-side.want) > 1e-12 {
			t.Errorf("%s p99 from the series' buckets %g, the judge's %g", side.name, got, side.want)
		}
	}
}

func TestHistogramHelpers(t *testing.T) {
	inf := math.Inf(1)
	s := metrics.Series{Bounds: []float64{1, 2, inf}, Values: []float64{
		1, 3, 4, // window 1
		math.NaN(), 1, 1, // a window with a gap: left out
		2, 2, 6, // window 3
		5, // a partial window: left out
	}}
	if got, want := histogramTotals(s), []float64{3, 5, 10}; !slices.Equal(got, want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	if got := shareAbove([]float64{1, 2, inf}, []float64{3, 5, 10}, 1); got != 0.7 {
		t.Errorf("share above 1: %g, want 0.7", got)
	}
	per := perWindow(s, func(row []float64) float64 { return row[len(row)-1] })
	if len(per.Values) != 3 || per.Values[0] != 4 || !math.IsNaN(per.Values[1]) || per.Values[2] != 6 {
		t.Errorf("per window %v, want [4 NaN 6]", per.Values)
	}
	shares, ok := shareSeries(metrics.Series{Values: []float64{1, 0, 2}}, metrics.Series{Values: []float64{100, 0, 50}})
	if !ok || shares.Values[0] != 0.01 || !math.IsNaN(shares.Values[1]) || shares.Values[2] != 0.04 {
		t.Errorf("shares %v %v, want [0.01 NaN 0.04]", shares.Values, ok)
	}
	if _, ok := shareSeries(metrics.Series{Values: []float64{1}}, metrics.Series{Values: []float64{1, 2}}); ok {
		t.Error("an exposure of other windows was accepted")
	}
}

// TestTailPlot checks the histogram's distribution plot: log axes labelled
// with the bucket bounds and shares in per cent, the bound compared and
// the quantile's level in the legend; and a histogram whose first bound is
// not positive drawn on a linear x axis.
func TestTailPlot(t *testing.T) {
	rep, _ := reporttest.Counts()
	svg, err := tailPlot("latency", rep.Series[2], rep.Signals[2].Test)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`class="plot plot-distribution"`, ">0.25</text>", ">1%</text>", ">100%</text>", ">bound compared 0.5</text>", ">p99 level (1.0% above)</text>", ">canary p99</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("tail plot lacks %q", want)
		}
	}
	inf := math.Inf(1)
	linear := analysis.SignalSeries{Name: "delta",
		Baseline: metrics.Series{Bounds: []float64{-1, 0, 1, inf}, Values: []float64{10, 50, 90, 100}},
		Canary:   metrics.Series{Bounds: []float64{-1, 0, 1, inf}, Values: []float64{5, 40, 80, 100}}}
	above := 0.0
	res := judge.JudgeSamples(judge.Spec{Name: "delta", Test: judge.Histogram, Above: &above, MinExposure: 10},
		judge.Sample{Histogram: &judge.Buckets{Bounds: linear.Baseline.Bounds, Counts: linear.Baseline.Values}},
		judge.Sample{Histogram: &judge.Buckets{Bounds: linear.Canary.Bounds, Counts: linear.Canary.Values}}, judge.Options{})
	svg, err = tailPlot("delta", linear, res.Test)
	if err != nil || !strings.Contains(svg, ">bound 0</text>") {
		t.Errorf("a histogram with bounds ≤ 0: %v\n%.300s", err, svg)
	}
	if _, err := tailPlot("none", analysis.SignalSeries{}, nil); err != errNoPoints {
		t.Errorf("no buckets: %v, want errNoPoints", err)
	}
}

// TestCountsPage checks the plots of the tests of counts on the page: a
// histogram's windows over time and its distribution from the buckets; a
// count signal's events per window with a note that the report carries no
// exposure series; a histogram without its buckets explained.
func TestCountsPage(t *testing.T) {
	rep, _ := reporttest.Counts()
	rep.Signals = append(rep.Signals, judge.Result{Name: "bare_histogram", Group: "latency", Classification: judge.Pass,
		Test: &judge.TestResult{Method: judge.Histogram, Q: 0.99, BaselineExposure: new(float64), CanaryExposure: new(float64)}})
	rep.Series = append(rep.Series, analysis.SignalSeries{Name: "bare_histogram",
		Baseline: metrics.Series{Values: []float64{1, 2}, Times: []time.Time{reporttest.Start, reporttest.Start}}})
	page := renderPage(t, rep, PageOptions{})
	sections := map[string]string{}
	for _, part := range strings.Split(page, `<section class="signal`)[1:] {
		name := regexp.MustCompile(`data-signal="([^"]*)"`).FindStringSubmatch(part)[1]
		sections[name] = part
	}
	want := map[string][]string{
		"http_5xx":       {"plot-series"},
		"checkout":       {"plot-series"},
		"latency":        {"plot-series", "plot-distribution"},
		"latency_slo":    {"plot-series", "plot-distribution"},
		"bare_histogram": nil,
	}
	for name, kinds := range want {
		var got []string
		for _, m := range svgClass.FindAllStringSubmatch(sections[name], -1) {
			got = append(got, m[1])
		}
		if !slices.Equal(got, kinds) {
			t.Errorf("%s: plots %v, want %v", name, got, kinds)
		}
	}
	for name, text := range map[string]string{
		"http_5xx":       "The report carries no http_requests series, so the plot shows the events per window",
		"checkout":       "The report carries no checkouts_started series",
		"latency":        "Left: each window&#39;s p99.",
		"latency_slo":    ">latency_slo share above 0.25 per window</text>",
		"bare_histogram": "The report carries no bucket counts for this histogram",
	} {
		if !strings.Contains(sections[name], text) {
			t.Errorf("%s: section lacks %q", name, text)
		}
	}
}

// TestCountSharesPlot checks that with the exposure series a count
// signal's plot shows each window's share of it, in per cent.
func TestCountSharesPlot(t *testing.T) {
	rep, signals := reporttest.Counts()
	i := slices.IndexFunc(signals, func(s reporttest.Signal) bool { return s.Spec.Name == "http_5xx" })
	exposure := func(values []float64) metrics.Series {
		return metrics.Series{Values: values, Times: rep.Series[i].Baseline.Times}
	}
	figs := signalFigures(rep.Signals[i], rep.Series[i], exposure(signals[i].Baseline.Exposure), exposure(signals[i].Canary.Exposure))
	if len(figs.draw) != 1 || figs.note != "" {
		t.Fatalf("%d plots, note %q; want one plot and no note", len(figs.draw), figs.note)
	}
	svg, err := figs.draw[0]()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg, ">http_5xx / http_requests</text>") || !regexp.MustCompile(`>[0-9.]+%</text>`).MatchString(svg) {
		t.Errorf("the share plot is not labelled as shares in per cent:\n%.600s", svg)
	}
}

// TestCountEdgeCaseRows checks the test figures and statistics of the edge
// cases of the tests of counts (reporttest.EdgeCases): nothing undefined
// or doubly signed shows, and each page renders.
func TestCountEdgeCaseRows(t *testing.T) {
	for name, res := range reporttest.EdgeCases() {
		var text []string
		for _, r := range testRows(res) {
			text = append(text, r.Label+": "+r.Value)
		}
		for _, r := range statRows(res) {
			text = append(text, r.Name+": "+r.Baseline+" "+r.Canary+" "+r.Change)
		}
		text = append(text, "change: "+changeText(res))
		for _, line := range text {
			if strings.Contains(line, "++") || strings.Contains(line, "NaN") || strings.Contains(line, "Inf") || strings.Contains(line, "n/a") {
				t.Errorf("%s: %q", name, line)
			}
		}
		rep := sample()
		rep.Signals = []judge.Result{res}
		renderPage(t, rep, PageOptions{})
	}
	got, _ := rows(reporttest.EdgeCases()["none on the baseline"])
	if got := got["ratio (canary / baseline)"]; !strings.HasPrefix(got, "none on the baseline; 95% CI from ") {
		t.Errorf("a ratio with no baseline events reads %q", got)
	}
	got, _ = rows(reporttest.EdgeCases()["a canary quantile beyond the last bound"])
	if got := got["95% interval of the difference (bucket bounds)"]; !strings.HasSuffix(got, " .. +∞") {
		t.Errorf("an interval unbounded above reads %q", got)
	}
}
