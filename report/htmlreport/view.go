package htmlreport

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/verdict-aca/verdict/internal/cell"
	"html"
	"html/template"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/report/internal/looks"
	"github.com/verdict-aca/verdict/scoring"
)

// page is what the template renders: every text already formatted.
type page struct {
	Title       string
	BackLink    string
	AutoRefresh int
	Generated   string

	Name, Verdict, VerdictWord, Mark string
	Score, Pass, Marginal, Reason    string
	Judge                            string
	Scopes                           []labelled
	Window                           string
	Warnings                         []string
	Intervals                        []intervalView
	IntervalsPlot                    template.HTML
	// Looks says where a multi-interval run stopped and, per signal, what
	// its looks came to (empty for other reports).
	Looks     string
	LookLines []lookLine
	Groups    []groupView
	Counts    []labelled
	Signals   []signalView
}

type labelled struct{ Label, Value string }

type intervalView struct {
	Index                     int
	Start, End, Verdict, Mark string
	Score, Reason             string
}

// lookLine is a signal's looks in one line, linked to its section.
type lookLine struct {
	Name, Anchor, Mark, Outcome, Line string
}

type groupView struct {
	Name, Weight, Score, Mark string
	// Note names the group's signals that had no data or could not be
	// judged: the score counts only judged signals.
	Note    string
	Signals []string
}

type signalView struct {
	Name, Group, Classification, Mark, Word string
	Anchor                                  string
	Critical, CriticalFailure, Failed       bool
	Reason, Gate, GateName                  string
	Change                                  string
	Stats                                   []statRow
	Test                                    []labelled
	Plots                                   []template.HTML
	// Legend says how to read the plots; PlotNote why there are none (or
	// what they lack).
	Legend, PlotNote string
	// Looks is what the signal's looks came to, LooksOutcome its
	// looks.Outcome; LooksPlot draws them and LooksLegend says how to
	// read it (a multi-interval analysis only).
	Looks, LooksOutcome, LooksLegend string
	LooksPlot                        template.HTML
}

type statRow struct{ Name, Baseline, Canary, Change string }

// severity orders signals: critical failures, failures, no data or
// errors, then passes.
func severity(r judge.Result) int {
	switch {
	case r.CriticalFailure:
		return 0
	case r.Failed:
		return 1
	case r.Classification == judge.NoData || r.Classification == judge.Error:
		return 2
	case r.Classification == judge.High || r.Classification == judge.Low:
		return 1
	}
	return 3
}

func buildPage(r *analysis.Report, opts PageOptions, withPlots bool) (*page, error) {
	name := r.Name
	if name == "" {
		name = "canary"
	}
	p := &page{
		Title:       cmp.Or(opts.Title, name+": "+strings.ToUpper(string(r.Verdict))+" — Verdict report"),
		BackLink:    opts.BackLink,
		Name:        name,
		Verdict:     string(r.Verdict),
		VerdictWord: strings.ToUpper(string(r.Verdict)),
		Mark:        cell.VerdictMark(r.Verdict),
		Score:       cell.Score(r.Score),
		Pass:        cell.Number(r.Thresholds.Pass),
		Marginal:    cell.Number(r.Thresholds.Marginal),
		Reason:      r.Reason,
		Judge:       string(r.Judge),
		Warnings:    r.Warnings,
	}
	if opts.AutoRefresh > 0 {
		p.AutoRefresh = int(math.Ceil(opts.AutoRefresh.Seconds()))
	}
	if !opts.Generated.IsZero() {
		p.Generated = opts.Generated.UTC().Format(time.RFC3339)
	}
	if r.Scopes != nil {
		p.Scopes = []labelled{{"baseline", scopeText(r.Scopes.Baseline)}, {"canary", scopeText(r.Scopes.Canary)}}
	}
	if r.Window != nil {
		p.Window = r.Window.Start.UTC().Format(time.RFC3339) + " .. " + r.Window.End.UTC().Format(time.RFC3339)
		if d := r.Window.End.Sub(r.Window.Start); d > 0 {
			p.Window += " (" + d.String() + ")"
		}
		if r.Window.Step != "" {
			p.Window += ", step " + r.Window.Step
		}
	}
	for _, iv := range r.Intervals {
		p.Intervals = append(p.Intervals, intervalView{
			Index: iv.Index, Start: iv.Start.UTC().Format(time.RFC3339), End: iv.End.UTC().Format(time.RFC3339),
			Verdict: iv.Verdict, Mark: cell.VerdictMark(scoring.Verdict(iv.Verdict)), Score: cell.Score(iv.Score), Reason: iv.Reason,
		})
	}
	if withPlots && len(r.Intervals) > 0 {
		svg, err := intervalsPlot(r)
		if err != nil && !errors.Is(err, errNoPoints) {
			return nil, err
		}
		p.IntervalsPlot = template.HTML(svg)
	}
	for _, g := range r.Groups {
		p.Groups = append(p.Groups, groupRow(g, r.Signals))
	}
	trackList := looks.Tracks(r)
	tracks := make(map[string]looks.Track, len(trackList))
	for _, tr := range trackList {
		tracks[tr.Name] = tr
	}
	stop, _ := looks.RunStop(r)

	series := make(map[string]analysis.SignalSeries, len(r.Series))
	for _, s := range r.Series {
		series[s.Name] = s
	}
	signals := slices.Clone(r.Signals)
	sort.SliceStable(signals, func(i, j int) bool { return severity(signals[i]) < severity(signals[j]) })
	var failed, noData, passed int
	for i, s := range signals {
		v := signalView{
			Name: s.Name, Group: s.Group, Classification: string(s.Classification),
			Mark: cell.ResultMark(s), Word: resultWord(s), Anchor: fmt.Sprintf("signal-%d", i+1),
			Critical: s.Critical, CriticalFailure: s.CriticalFailure, Failed: s.Failed,
			Reason: s.Reason, Gate: gateText(s), GateName: string(s.Gate),
			Change: changeText(s),
			Stats:  statRows(s), Test: testRows(s),
		}
		tr, hasLooks := tracks[s.Name]
		if hasLooks {
			v.Looks, v.LooksOutcome = tr.Line(), string(tr.Outcome)
			if withPlots {
				svg, clipped, err := looksPlot(tr, stop)
				if err != nil && !errors.Is(err, errNoPoints) {
					return nil, err
				}
				if svg != "" {
					v.LooksPlot, v.LooksLegend = template.HTML(svg), looksLegend(tr, clipped)
				}
			}
		}
		switch severity(s) {
		case 0, 1:
			failed++
		case 2:
			noData++
		default:
			passed++
		}
		if withPlots {
			sr, ok := series[s.Name]
			switch {
			case !ok && v.LooksPlot != "":
				v.PlotNote = "No raw points were kept for this signal: only its looks are plotted."
			case !ok:
				v.PlotNote = "No raw points were kept for this signal, so there is nothing to plot."
			default:
				// A count signal's plot shows its share per window when the
				// report carries its exposure, else its events per window.
				figs := signalFigures(s, sr, sr.BaselineExposure, sr.CanaryExposure)
				v.Legend, v.PlotNote = figs.legend, figs.note
				for _, draw := range figs.draw {
					svg, err := draw()
					if errors.Is(err, errNoPoints) {
						v.PlotNote, v.Plots = "Neither side has a finite point to plot.", nil
						break
					}
					if err != nil {
						return nil, err
					}
					v.Plots = append(v.Plots, template.HTML(svg))
				}
			}
		}
		p.Signals = append(p.Signals, v)
	}
	if len(trackList) > 0 {
		p.Looks = looks.StopText(stop)
		for _, tr := range trackList {
			i := slices.IndexFunc(p.Signals, func(v signalView) bool { return v.Name == tr.Name })
			if i < 0 {
				continue
			}
			p.LookLines = append(p.LookLines, lookLine{Name: tr.Name, Anchor: p.Signals[i].Anchor, Mark: tr.Mark(), Outcome: string(tr.Outcome), Line: tr.Line()})
		}
	}
	p.Counts = []labelled{{"failed", strconv.Itoa(failed)}, {"no data or error", strconv.Itoa(noData)}, {"passed", strconv.Itoa(passed)}}
	return p, nil
}

// groupRow is a group's line: its mark is ✘ when a signal of it failed,
// ? when one had no data or could not be judged (a score of 100 then
// speaks only for the others) or none was judged, and ✔ otherwise.
func groupRow(g scoring.GroupScore, signals []judge.Result) groupView {
	v := groupView{Name: g.Name, Weight: cell.Number(g.Weight), Score: cell.Score(g.Score), Mark: "✔", Signals: g.Signals}
	var failed bool
	var missing []string
	for _, name := range g.Signals {
		i := slices.IndexFunc(signals, func(s judge.Result) bool { return s.Name == name })
		if i < 0 {
			continue
		}
		switch s := signals[i]; {
		case s.Failed:
			failed = true
		case s.Classification == judge.NoData || s.Classification == judge.Error:
			missing = append(missing, name)
		}
	}
	switch {
	case failed || g.Score != nil && *g.Score < 100:
		v.Mark = "✘"
	case len(missing) > 0 || g.Score == nil:
		v.Mark = "?"
	}
	if len(missing) > 0 {
		v.Note = "no data for " + strings.Join(missing, ", ")
	}
	return v
}

func scopeText(s metrics.Scope) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	return strings.Join(parts, ", ")
}

// resultWord is the classification for a reader.
func resultWord(s judge.Result) string {
	w := map[judge.Classification]string{
		judge.Pass: "pass", judge.High: "too high", judge.Low: "too low", judge.NoData: "no data", judge.Error: "error",
	}[s.Classification]
	if w == "" {
		w = string(s.Classification)
	}
	switch {
	case s.CriticalFailure:
		w += " — critical failure, fails the canary"
	case s.Failed && s.Classification == judge.NoData:
		w += " — counted as a failure"
	case s.Critical:
		w += " (critical signal)"
	}
	return w
}

// gateText says in words which rule decided the classification.
func gateText(s judge.Result) string {
	switch s.Gate {
	case judge.GateMinSamples:
		return "Too few points after cleaning on at least one side, so the signal was not judged (no data)."
	case judge.GateMustHaveData:
		return "Too few points, and this signal must have data: the missing data counts as a failure."
	case judge.GateIdentical:
		return "Both sides hold one and the same constant value: nothing changed."
	case judge.GateInterval:
		if s.Test != nil && s.Test.Method == judge.Rate {
			return "The interval of the rate ratio includes 1: no significant change, so it passes."
		}
		if s.Test != nil && s.Test.Method == judge.Quantile {
			return "The canary has no significantly more (or fewer) points above the pooled quantile than chance gives: it passes."
		}
		return "The confidence interval of the shift includes zero: no significant change, so it passes."
	case judge.GateAllowedChange:
		if s.Failed {
			return "The change is significant and its interval lies beyond the allowed change: it fails."
		}
		return "The change is significant but stays within the allowed change: it passes."
	case judge.GateCriticalChange:
		return "The change is significant and beyond the critical change: the whole canary fails."
	case judge.GateDirection:
		return "The change is significant but in the harmless direction: it passes."
	case judge.GateThreshold:
		if s.Failed {
			return "The canary's statistic is outside the configured bounds: it fails."
		}
		return "The canary's statistic is within the configured bounds: it passes."
	case judge.GateInvalid:
		return "The data cannot be judged (for example infinite or negative counts)."
	case judge.GateSource:
		return "The data could not be fetched from the source."
	case judge.GateMultiplicity:
		return "Significant on its own, but not after Holm's correction across the canary's tested signals: it passes."
	case judge.GateFailsAlone:
		return "Significant at the ordinary level of a known horizon, but its failure alone would fail the canary, which needs the critical level's boundary: it passes."
	case judge.GateResolution:
		return "Too few points lie above the pooled quantile for the exact test to reach its level, whatever their side: the tail was not judged (no data)."
	case judge.GateMissingData:
		return "A side has no points after NaN handling (Kayenta judge)."
	case judge.GateIdenticalData:
		return "Both sides hold the same values (Kayenta judge): it passes."
	case judge.GateToleranceBand:
		return "The interval was compared with the tolerance band of ±25% of the estimate (Kayenta judge)."
	case judge.GateEffectSize:
		return "The interval cleared the tolerance band; the effect size decided (Kayenta judge)."
	case judge.GateCriticalEffectSize:
		return "A critical signal's effect size reached its critical bound (Kayenta judge): the canary fails."
	case "":
		return ""
	}
	return "Decided by the " + string(s.Gate) + " rule."
}

// changeText is the one-figure change shown next to the signal's name.
func changeText(s judge.Result) string {
	t := s.Test
	if t == nil {
		return ""
	}
	if t.Method == judge.Threshold {
		return string(t.Statistic) + " " + cell.Optional(t.Estimate)
	}
	if cell.HasCounts(t) {
		return countChange(t)
	}
	if t.Method == judge.Rate && (t.RateRatio != nil || t.RatioLow != nil) {
		return ratioText(t)
	}
	if t.RelativeShift != nil {
		return cell.Relative(t.RelativeShift)
	}
	return cell.Optional(t.Estimate)
}

func statRows(s judge.Result) []statRow {
	if cell.HasCounts(s.Test) {
		// The summary of points says nothing here: a histogram's
		// observations are not kept one by one, and counts are compared
		// with their exposure.
		return countStatRows(s.Test)
	}
	if s.Baseline.Count == 0 && s.Canary.Count == 0 {
		return nil
	}
	b, c := s.Baseline, s.Canary
	rows := []struct {
		name string
		b, c float64
	}{
		{"mean", b.Mean, c.Mean}, {"median", b.Median, c.Median},
		{"p90", b.P90, c.P90}, {"p95", b.P95, c.P95}, {"p99", b.P99, c.P99},
		{"stddev", b.StdDev, c.StdDev}, {"min", b.Min, c.Min}, {"max", b.Max, c.Max},
	}
	out := []statRow{{"count", strconv.Itoa(b.Count), strconv.Itoa(c.Count), ""}}
	for _, r := range rows {
		row := statRow{Name: r.name, Baseline: "—", Canary: "—"}
		if b.Count > 0 {
			row.Baseline = cell.Number(r.b)
		}
		if c.Count > 0 {
			row.Canary = cell.Number(r.c)
		}
		if b.Count > 0 && c.Count > 0 && r.b != 0 && r.name != "stddev" {
			row.Change = cell.Relative(ptr((r.c - r.b) / math.Abs(r.b)))
		}
		out = append(out, row)
	}
	return out
}

func testRows(s judge.Result) []labelled {
	t := s.Test
	if t == nil {
		return nil
	}
	var rows []labelled
	add := func(label, value string) { rows = append(rows, labelled{label, value}) }
	conf := confidenceText(t.Confidence)
	add("test", string(t.Method))
	if t.PValue != nil {
		add("p-value (two-sided)", cell.PValue(*t.PValue))
	}
	switch {
	case cell.HasCounts(t):
		countTestRows(t, add)
	case t.Method == judge.Threshold:
		add("canary "+string(t.Statistic), cell.Optional(t.Estimate))
		add("allowed range", cell.Bounds(t.Min, t.Max))
	case t.Method == judge.Quantile:
		label := quantileLabel(t.Q)
		add("baseline "+label, cell.Optional(t.BaselineQuantile))
		add("canary "+label, cell.Optional(t.CanaryQuantile))
		above := "above"
		if t.ThresholdInclusive {
			above = "at or above"
		}
		add("pooled "+label+" (threshold)", cell.Optional(t.Threshold))
		if t.CanaryAbove != nil && t.BaselineAbove != nil && t.ExpectedAbove != nil {
			add("points "+above+" it", fmt.Sprintf("canary %d, baseline %d (canary expected %s)", *t.CanaryAbove, *t.BaselineAbove, cell.Number(*t.ExpectedAbove)))
		}
		add("difference of the "+label+"s", cell.Optional(t.Estimate))
		if t.CILow != nil && t.CIHigh != nil {
			add(conf+" interval of the difference (order statistics)", cell.Number(*t.CILow)+" .. "+cell.Number(*t.CIHigh))
		} else {
			add(conf+" interval of the difference", "unbounded: too few points to bound a "+label)
		}
		add("relative change", cell.Relative(t.RelativeShift))
	case t.Method == judge.Rate:
		add("baseline rate", cell.Optional(t.BaselineRate)+" per point")
		add("canary rate", cell.Optional(t.CanaryRate)+" per point")
		add("rate difference", cell.Optional(t.Estimate)+" per point")
		if t.RateRatio != nil {
			add("rate ratio", cell.Times(*t.RateRatio))
		}
		if t.RatioLow != nil {
			add(conf+" interval of the ratio", cell.TimesInterval(t.RatioLow, t.RatioHigh))
		}
		add("relative change", cell.Relative(t.RelativeShift))
	default:
		add("shift estimate (Hodges–Lehmann)", cell.Optional(t.Estimate))
		if t.CILow != nil && t.CIHigh != nil {
			add(conf+" interval of the shift", cell.Number(*t.CILow)+" .. "+cell.Number(*t.CIHigh))
			if m := s.Baseline.Median; m != 0 && t.RelativeShift != nil {
				add(conf+" interval, relative", cell.Relative(ptr(*t.CILow/math.Abs(m)))+" .. "+cell.Relative(ptr(*t.CIHigh/math.Abs(m))))
			}
		}
		add("relative shift (vs baseline median)", cell.Relative(t.RelativeShift))
	}
	side := cell.HarmfulSide(s)
	if t.Allowed != nil {
		add("allowed change", allowanceText(*t.Allowed, t.Points, side))
	}
	if t.CriticalAllowed != nil {
		// A critical change is relative unless the allowance is in points
		// (judge.Spec.Check compares them only when both are alike).
		add("critical change", allowanceText(*t.CriticalAllowed, t.Points, side))
	}
	if t.DecisionBound != nil {
		add("one-sided bound of the change (decision level)", decisionBoundText(t))
	}
	if t.Band != nil {
		add("tolerance band", cell.Number(*t.Band))
	}
	if e := t.EffectSize; e != nil {
		v := cell.Optional(e.Value)
		if e.Allowed != nil {
			v += ", allowed " + cell.Number(*e.Allowed)
		}
		if e.Critical != nil {
			v += ", critical " + cell.Number(*e.Critical)
		}
		add("effect size ("+e.Measure+")", v)
	}
	return rows
}

// allowanceText prints an allowed change on the side(s) it applies to:
// +10% when only a rise is harmful, -10% for a fall, ±10% for both, and
// "10% on the harmful side" when the result does not tell which.
func allowanceText(v float64, points bool, side string) string {
	s := cell.Allowance(v, points, side)
	if side == "" {
		s += " on the harmful side"
	}
	return s
}

// decisionBoundText words the one-sided bound the decision compared with
// zero as what it is, a bound on the change on the side the canary moved:
// "at least +3,125%" (the data rule out less), or "at most -12.0%".
func decisionBoundText(t *judge.TestResult) string {
	up, _ := cell.Moved(t)
	v := cell.Relative(t.DecisionBound)
	switch {
	case t.Points:
		v = cell.Points(*t.DecisionBound)
	case t.RateRatio != nil || t.RatioLow != nil:
		// A test of a ratio: the bound is the ratio's, less one.
		v += " (ratio " + cell.Times(1+*t.DecisionBound) + ")"
	}
	if up {
		return "the change is at least " + v
	}
	return "the change is at most " + v
}

// ratioText is the change of a rate test as the ratio of the rates,
// canary over baseline: 1.39×, or "from 0" when the baseline had none.
func ratioText(t *judge.TestResult) string {
	if t.RateRatio != nil {
		return cell.Times(*t.RateRatio)
	}
	return "from 0"
}

func trimFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ptr(v float64) *float64 { return &v }

func escapeAttr(s string) string { return html.EscapeString(s) }

// quantileLabel names a tested quantile as dashboards do: p99, p99.9, p95.
func quantileLabel(q float64) string {
	return "p" + strconv.FormatFloat(math.Round(q*1e6)/1e4, 'f', -1, 64)
}

// looksLegend says how to read a signal's looks plot.
func looksLegend(tr looks.Track, clipped bool) string {
	bound := "the harmful side's bound at the decision level"
	if tr.Anytime {
		bound = "the harmful side's confidence-sequence bound, valid at every look however often the canary is looked at"
	}
	shaded := map[looks.Side]string{
		looks.Rise: "shaded up to the red dashed line",
		looks.Fall: "shaded down to the red dashed line",
		looks.Both: "shaded between the red dashed lines; either change is harmful, so the bound is drawn on both sides",
	}[tr.Side]
	s := "Each look's estimated change (solid, dots) and " + bound + " (dashed, triangles), against the allowed change " +
		tr.Allowance() + " (" + shaded + ")."
	if l := tr.Looks[len(tr.Looks)-1]; l.Level > 0 {
		s += " The last look's bound is one-sided at level " + cell.Number(l.Level) + "."
	}
	s += " The dashed vertical line is the look where the run stopped; the ring marks the look from which the signal failed (on its estimate) " +
		"or came within its allowance (on its bound), or its last bound when it is not within."
	if clipped {
		s += " Values beyond the plot are drawn at its edge."
	}
	return s
}
