package htmlreport

import (
	"bytes"
	"errors"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
	"gonum.org/v1/plot/plotter"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/judge/stat"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
	"github.com/verdict-aca/verdict/scoring"
)

// maxPageBytes is the hard limit on a 50-signal page (360 points per side).
const maxPageBytes = 2 << 20

func renderPage(t testing.TB, r *analysis.Report, opts PageOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WritePage(&b, r, opts); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("VERDICT_HTML_DUMP"); dir != "" {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".html"
		if err := os.WriteFile(dir+"/"+name, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestDumpFixtures(t *testing.T) {
	if os.Getenv("VERDICT_HTML_DUMP") == "" {
		t.Skip("set VERDICT_HTML_DUMP to a directory to write the pages")
	}
	for _, sc := range []string{"latency-regression", "error-spike", "healthy"} {
		t.Run(sc, func(t *testing.T) { renderPage(t, fixtureReport(t, sc), PageOptions{}) })
	}
	t.Run("synthetic", func(t *testing.T) { renderPage(t, syntheticReport(50, 360), PageOptions{}) })
	t.Run("counts", func(t *testing.T) { rep, _ := reporttest.Counts(); renderPage(t, rep, PageOptions{}) })
	t.Run("sample", func(t *testing.T) { renderPage(t, sample(), PageOptions{}) })
	for name, r := range sequentialRuns(t) {
		t.Run("sequential-"+name, func(t *testing.T) { renderPage(t, r, PageOptions{}) })
	}
}

// sample is a hand-built report with everything a page can show: a
// critical failure, a threshold pass, a no-data signal without series, a
// reason that contains markup, scopes, a window, warnings and intervals.
func sample() *analysis.Report {
	f := func(v float64) *float64 { return &v }
	t0 := time.Date(2025, 6, 4, 17, 0, 0, 0, time.UTC)
	series := func(name string, level float64, n int) analysis.SignalSeries {
		s := analysis.SignalSeries{Name: name}
		for i := range n {
			s.Baseline.Times = append(s.Baseline.Times, t0.Add(time.Duration(i)*10*time.Second))
			s.Canary.Times = append(s.Canary.Times, t0.Add(time.Duration(i)*10*time.Second))
			s.Baseline.Values = append(s.Baseline.Values, level+float64(i%7))
			s.Canary.Values = append(s.Canary.Values, 1.3*level+float64(i%5))
		}
		return s
	}
	return &analysis.Report{
		Schema: analysis.ReportSchema, Name: "checkout", Judge: analysis.JudgeVerdict,
		Verdict: scoring.Fail, Score: f(0), Reason: "fail: critical signal p99_latency_ms failed",
		Thresholds: scoring.Thresholds{Pass: 95, Marginal: 75},
		Groups:     []scoring.GroupScore{{Name: "latency", Weight: 60, Score: f(0), Signals: []string{"p99_latency_ms"}}},
		Signals: []judge.Result{
			{Name: "error_ratio", Group: "errors", Classification: judge.Pass, Gate: judge.GateThreshold,
				Reason:   "error_ratio canary p95 0.004 is within the maximum 0.01 <script>alert(1)</script>",
				Baseline: stat.Summary{Count: 60, Median: 0.003}, Canary: stat.Summary{Count: 60, Median: 0.004},
				Test: &judge.TestResult{Method: judge.Threshold, Estimate: f(0.004), Statistic: judge.StatP95, Max: f(0.01)}},
			{Name: "cpu_percent", Group: "saturation", Classification: judge.NoData, Gate: judge.GateMinSamples,
				Reason: "cpu_percent has too little data"},
			{Name: "p99_latency_ms", Group: "latency", Classification: judge.High, Failed: true, CriticalFailure: true, Gate: judge.GateCriticalChange,
				Reason:   "p99_latency_ms rose 31%",
				Baseline: stat.Summary{Count: 60, Median: 100, Mean: 101}, Canary: stat.Summary{Count: 60, Median: 131, Mean: 132},
				Test: &judge.TestResult{Method: judge.MannWhitney, PValue: f(1e-12), Estimate: f(31), CILow: f(29), CIHigh: f(33), Confidence: 0.95,
					RelativeShift: f(0.31), Allowed: f(0.1), CriticalAllowed: f(0.25), DecisionBound: f(0.29)}},
		},
		Warnings: []string{"query for cpu_percent returned fewer points than the window holds"},
		Scopes:   &analysis.Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}},
		Window:   &analysis.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: "10s"},
		Intervals: []analysis.IntervalResult{
			{Index: 1, Start: t0, End: t0.Add(5 * time.Minute), Verdict: "pass", Score: f(100), Reason: "pass"},
			{Index: 2, Start: t0.Add(5 * time.Minute), End: t0.Add(10 * time.Minute), Verdict: "fail", Score: f(0), Reason: "fail"},
		},
		Series: []analysis.SignalSeries{series("error_ratio", 0.003, 60), series("p99_latency_ms", 100, 60)},
	}
}

var (
	dataSignal = regexp.MustCompile(`<section class="signal[^"]*" id="[^"]*" data-signal="([^"]*)" data-classification="([^"]*)"`)
	svgClass   = regexp.MustCompile(`<svg class="plot (plot-[a-z]+)"`)
)

func TestPage(t *testing.T) {
	page := renderPage(t, sample(), PageOptions{BackLink: "/analyses", AutoRefresh: 9500 * time.Millisecond})
	for _, want := range []string{
		`data-verdict="fail"`,
		`<span class="verdict-word">FAIL</span>`,
		`score <strong data-score>0</strong> / 100 · pass ≥ 95 · marginal ≥ 75`,
		`<p class="reason" data-reason>fail: critical signal p99_latency_ms failed</p>`,
		`<dt>baseline</dt><dd>track=baseline</dd>`,
		`2025-06-04T17:00:00Z .. 2025-06-04T17:10:00Z (10m0s), step 10s`,
		`<li><span class="icon">!</span> query for cpu_percent returned fewer points than the window holds</li>`,
		`<meta http-equiv="refresh" content="10">`,
		`<a href="/analyses">← all analyses</a>`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`data-gate="criticalChange"`,
		`too high — critical failure, fails the canary`,
		`<th scope="row">95% interval of the shift</th><td class="num">29 .. 33</td>`,
		`<th scope="row">allowed range</th><td class="num">[-∞, 0.01]</td>`,
		`No raw points were kept for this signal`,
		`data-interval="2"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("a reason's markup reached the page unescaped")
	}
	// Failures first, then no data, then passes.
	var order []string
	for _, m := range dataSignal.FindAllStringSubmatch(page, -1) {
		order = append(order, m[1]+":"+m[2])
	}
	if want := []string{"p99_latency_ms:high", "cpu_percent:nodata", "error_ratio:pass"}; !slices.Equal(order, want) {
		t.Errorf("signal sections %v, want %v", order, want)
	}
	var kinds []string
	for _, m := range svgClass.FindAllStringSubmatch(page, -1) {
		kinds = append(kinds, m[1])
	}
	if want := []string{"plot-intervals", "plot-series", "plot-distribution", "plot-series", "plot-distribution"}; !slices.Equal(kinds, want) {
		t.Errorf("plots %v, want %v", kinds, want)
	}
}

// TestSelfContained checks that a page needs nothing but itself: no
// scripts, stylesheets, images or fonts from elsewhere, and well-formed
// markup (every element the tokenizer opens inside <svg> is closed).
func TestSelfContained(t *testing.T) {
	for name, r := range map[string]*analysis.Report{"sample": sample(), "latency-regression": fixtureReport(t, "latency-regression")} {
		t.Run(name, func(t *testing.T) {
			page := renderPage(t, r, PageOptions{})
			for _, bad := range []string{"<script", "<link", "<img", "<iframe", " src=", "@import", "url(", `href="http`, "xlink:href"} {
				if strings.Contains(page, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			z := xhtml.NewTokenizer(strings.NewReader(page))
			var stack []string
			inSVG := 0
			for {
				tt := z.Next()
				if tt == xhtml.ErrorToken {
					break
				}
				name, _ := z.TagName()
				switch tn := string(name); {
				case tt == xhtml.StartTagToken && (tn == "svg" || inSVG > 0):
					inSVG++
					stack = append(stack, tn)
				case tt == xhtml.EndTagToken && inSVG > 0:
					if top := stack[len(stack)-1]; top != tn {
						t.Fatalf("</%s> closes <%s> inside an svg", tn, top)
					}
					stack, inSVG = stack[:len(stack)-1], inSVG-1
				}
			}
			if inSVG != 0 {
				t.Errorf("%d svg elements left open: %v", inSVG, stack)
			}
		})
	}
}

func TestWritePageErrors(t *testing.T) {
	var b bytes.Buffer
	if err := WritePage(&b, nil, PageOptions{}); err == nil || b.Len() != 0 {
		t.Errorf("nil report: err %v, %d bytes written", err, b.Len())
	}
	if err := Write(failingWriter{}, sample()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("a failing writer gave %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestSizeLimit is the hard limit on a large report: 50 signals with 360
// points per side must stay under 2 MB.
func TestSizeLimit(t *testing.T) {
	page := renderPage(t, syntheticReport(50, 360), PageOptions{})
	if len(page) >= maxPageBytes {
		t.Errorf("50-signal page is %d bytes, limit %d", len(page), maxPageBytes)
	}
	if n := strings.Count(page, "<svg"); n != 100 {
		t.Errorf("%d plots, want 100", n)
	}
	// Long series are reduced, so a page with 10x the points is not 10x larger.
	long := renderPage(t, syntheticReport(5, 3600), PageOptions{})
	short := renderPage(t, syntheticReport(5, 360), PageOptions{})
	if float64(len(long)) > 1.3*float64(len(short)) {
		t.Errorf("5 signals: %d bytes with 3600 points per side, %d with 360", len(long), len(short))
	}
}

func TestGateText(t *testing.T) {
	for _, g := range []judge.Gate{
		judge.GateMinSamples, judge.GateMustHaveData, judge.GateIdentical, judge.GateInterval, judge.GateAllowedChange,
		judge.GateCriticalChange, judge.GateDirection, judge.GateThreshold, judge.GateInvalid, judge.GateSource,
		judge.GateMissingData, judge.GateIdenticalData, judge.GateToleranceBand, judge.GateEffectSize, judge.GateCriticalEffectSize,
		judge.GateResolution, judge.GateMultiplicity,
	} {
		if text := gateText(judge.Result{Gate: g}); text == "" || strings.HasPrefix(text, "Decided by the") {
			t.Errorf("gate %s has no sentence: %q", g, text)
		}
	}
}

// TestQuantileTestRows checks that a quantile signal's figures are labelled
// as quantiles, never as a Hodges–Lehmann shift.
func TestQuantileTestRows(t *testing.T) {
	q := func(v float64) *float64 { return &v }
	above, below := 6, 0
	s := judge.Result{Test: &judge.TestResult{Method: judge.Quantile, Q: 0.999, BaselineQuantile: q(297), CanaryQuantile: q(1006),
		Threshold: q(1003), CanaryAbove: &above, BaselineAbove: &below, ExpectedAbove: q(3), Estimate: q(709), Confidence: 0.95}}
	var text []string
	for _, r := range testRows(s) {
		text = append(text, r.Label+": "+r.Value)
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"canary p99.9: 1006", "points above it: canary 6, baseline 0", "unbounded"} {
		if !strings.Contains(all, want) {
			t.Errorf("rows lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Hodges") {
		t.Errorf("a quantile test described as a shift:\n%s", all)
	}
}

func TestEnvelope(t *testing.T) {
	xy := func(ys ...float64) plotter.XYs {
		out := make(plotter.XYs, len(ys))
		for i, y := range ys {
			out[i] = plotter.XY{X: float64(i), Y: y}
		}
		return out
	}
	tests := []struct {
		name  string
		in    plotter.XYs
		limit int
		want  plotter.XYs
	}{
		{"short series unchanged", xy(3, 1, 2), 4, xy(3, 1, 2)},
		// Two buckets of four: each keeps its min and max in x order.
		{"min and max per bucket", xy(5, 1, 9, 4, 2, 2, 8, 0), 4,
			plotter.XYs{{X: 1, Y: 1}, {X: 2, Y: 9}, {X: 6, Y: 8}, {X: 7, Y: 0}}},
		{"flat bucket keeps one point", xy(1, 1, 1, 1), 2, plotter.XYs{{X: 0, Y: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := envelope(tc.in, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("envelope = %v, want %v", got, tc.want)
			}
		})
	}
	long := make(plotter.XYs, 10_000)
	for i := range long {
		long[i] = plotter.XY{X: float64(i), Y: math.Sin(float64(i))}
	}
	long[1234].Y = 50 // a spike must survive
	got := envelope(long, maxLinePoints)
	if len(got) > maxLinePoints || !slices.ContainsFunc(got, func(p plotter.XY) bool { return p.Y == 50 }) {
		t.Errorf("10,000 points: %d kept, spike kept %v", len(got), slices.ContainsFunc(got, func(p plotter.XY) bool { return p.Y == 50 }))
	}
}

func TestECDF(t *testing.T) {
	// Hand-computed: of {3, 1, 2, 2, NaN}, the finite points are 1, 2, 2, 3.
	got := ecdf([]float64{3, 1, 2, 2, math.NaN()}, 10)
	want := plotter.XYs{{X: 1, Y: 0}, {X: 1, Y: 0.25}, {X: 2, Y: 0.75}, {X: 3, Y: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("ecdf = %v, want %v", got, want)
	}
	if got := ecdf([]float64{math.NaN()}, 10); got != nil {
		t.Errorf("ecdf of no finite points = %v, want nil", got)
	}
	// 1..1000 reduced to 200 steps: each step is exact (F(x) = x/1000).
	v := make([]float64, 1000)
	for i := range v {
		v[i] = float64(1000 - i)
	}
	got = ecdf(v, 200)
	if len(got) != 201 || got[len(got)-1] != (plotter.XY{X: 1000, Y: 1}) {
		t.Fatalf("%d steps ending at %v", len(got), got[len(got)-1])
	}
	for _, p := range got[1:] {
		if math.Abs(p.Y-p.X/1000) > 1e-12 {
			t.Fatalf("step %v is not on the ECDF", p)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	t0 := float64(time.Date(2025, 6, 4, 17, 0, 3, 0, time.UTC).Unix())
	ticks := timeTicks{}.Ticks(t0, t0+3597)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
	}
	if want := []string{"17:10", "17:20", "17:30", "17:40", "17:50", "18:00"}; !slices.Equal(labels, want) {
		t.Errorf("ticks over an hour: %v, want %v", labels, want)
	}
	if got := (timeTicks{}).Ticks(5, 5); got != nil {
		t.Errorf("empty range gave %v", got)
	}
}

func BenchmarkWrite50Signals(b *testing.B) {
	r := syntheticReport(50, 360)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := Write(&buf, r); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
