package report

import (
	"fmt"
	"github.com/verdict-aca/verdict/internal/cell"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/report/internal/looks"
)

// WriteTable writes r as a terminal summary: the verdict line, a table of
// signals with their figures, the group scores, for a multi-interval
// analysis a line per signal on what its looks came to and where the run
// stopped, and each signal's reason.
// Meaning is carried by words and marks, not colour.
func WriteTable(w io.Writer, r *analysis.Report) error {
	name := r.Name
	if name == "" {
		name = "canary"
	}
	if _, err := fmt.Fprintf(w, "%s: %s %s (score %s; pass ≥ %s, marginal ≥ %s)\n%s\n\n",
		name, cell.VerdictMark(r.Verdict), strings.ToUpper(string(r.Verdict)), cell.Score(r.Score),
		cell.Number(r.Thresholds.Pass), cell.Number(r.Thresholds.Marginal), r.Reason); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}

	t := tablewriter.NewTable(w, tablewriter.WithRowAlignment(tw.AlignLeft), tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("Signal", "Group", "Result", "Baseline", "Canary", "Change", "Interval", "p-value")
	for _, s := range r.Signals {
		if err := t.Append(signalRow(s)); err != nil {
			return fmt.Errorf("writing the table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}

	var b strings.Builder
	b.WriteString("\nGroups: " + groupsText(r, func(s string) string { return s }))
	if tracks := looks.Tracks(r); len(tracks) > 0 {
		stop, _ := looks.RunStop(r)
		fmt.Fprintf(&b, "\n\nLooks: %s\n", looks.StopText(stop))
		for _, tr := range tracks {
			fmt.Fprintf(&b, "  %s %s: %s\n", tr.Mark(), tr.Name, tr.Line())
		}
		b.WriteString("\nReasons:\n")
	} else {
		b.WriteString("\n\nReasons:\n")
	}
	for _, s := range r.Signals {
		fmt.Fprintf(&b, "  %s %s\n", cell.ResultMark(s), s.Reason)
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(&b, "  ! %s\n", warning)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
}

func signalRow(s judge.Result) []string {
	row := []string{s.Name, s.Group, cell.ResultMark(s) + " " + string(s.Classification), "", "", "", "", ""}
	if s.Baseline.Count > 0 {
		row[3] = "median " + cell.Number(s.Baseline.Median)
	}
	if s.Canary.Count > 0 {
		row[4] = "median " + cell.Number(s.Canary.Median)
	}
	t := s.Test
	if t == nil {
		return row
	}
	if t.PValue != nil {
		row[7] = cell.PValue(*t.PValue)
	}
	if cell.HasCounts(t) {
		countCells(row, t)
		return row
	}
	switch t.Method {
	case judge.Threshold:
		row[5] = fmt.Sprintf("%s %s", t.Statistic, cell.Optional(t.Estimate))
		row[6] = cell.Bounds(t.Min, t.Max)
	case judge.Quantile:
		// The quantile itself replaces the medians: it is what was tested.
		label := quantileLabel(t.Q)
		row[3], row[4] = label+" "+cell.Optional(t.BaselineQuantile), label+" "+cell.Optional(t.CanaryQuantile)
		row[5] = cell.Relative(t.RelativeShift)
		if t.RelativeShift == nil {
			row[5] = cell.Optional(t.Estimate)
		}
		// The order-statistic interval of the difference; a side with too
		// few points to bound its quantile leaves it unbounded.
		switch {
		case t.CILow == nil || t.CIHigh == nil:
			row[6] = "unbounded"
		case t.RelativeShift != nil && t.BaselineQuantile != nil && *t.BaselineQuantile != 0:
			q := abs(*t.BaselineQuantile)
			row[6] = cell.Relative(ptr(*t.CILow/q)) + " .. " + cell.Relative(ptr(*t.CIHigh/q))
		default:
			row[6] = cell.Number(*t.CILow) + " .. " + cell.Number(*t.CIHigh)
		}
	case judge.Rate:
		row[3], row[4] = cell.Optional(t.BaselineRate)+"/pt", cell.Optional(t.CanaryRate)+"/pt"
		row[5] = ratioText(t)
		if t.RatioLow != nil {
			row[6] = cell.TimesInterval(t.RatioLow, t.RatioHigh)
		}
	default:
		row[5] = cell.Relative(t.RelativeShift)
		if t.RelativeShift == nil {
			row[5] = cell.Optional(t.Estimate)
		}
		switch m := s.Baseline.Median; {
		case t.CILow == nil || t.CIHigh == nil:
		case t.RelativeShift != nil && m != 0:
			row[6] = cell.Relative(ptr(*t.CILow/abs(m))) + " .. " + cell.Relative(ptr(*t.CIHigh/abs(m)))
		default:
			row[6] = cell.Number(*t.CILow) + " .. " + cell.Number(*t.CIHigh)
		}
	}
	return row
}

// countCells fills the cells of a test of counts (a rate with an
// exposure, a proportion, a histogram): each side's events out of its
// exposure, or its quantile and share beyond the bound compared; the
// ratio or the difference in points with its interval, and the dispersion
// when the counts varied more than binomially or as Poisson.
func countCells(row []string, t *judge.TestResult) {
	side := func(events, exposure *float64) string {
		switch {
		case exposure == nil:
			return ""
		case events == nil:
			return cell.Count(*exposure) + " " + t.Per
		}
		per := t.Per
		if t.Method == judge.Histogram && t.Threshold != nil {
			per = "above " + cell.Number(*t.Threshold)
		}
		return cell.Of(*events, *exposure, per)
	}
	row[3], row[4] = side(t.BaselineEvents, t.BaselineExposure), side(t.CanaryEvents, t.CanaryExposure)
	if t.Method == judge.Histogram && t.Q > 0 {
		// A quantile of the histograms: each side's quantile, with its
		// share of observations above the bound the test compared.
		label := quantileLabel(t.Q)
		for i, q := range []struct{ quantile, events, exposure *float64 }{
			{t.BaselineQuantile, t.BaselineEvents, t.BaselineExposure}, {t.CanaryQuantile, t.CanaryEvents, t.CanaryExposure},
		} {
			if q.quantile == nil {
				continue
			}
			row[3+i] = label + " " + cell.Number(*q.quantile)
			if t.Threshold != nil && q.events != nil && q.exposure != nil && *q.exposure > 0 {
				row[3+i] += ", " + cell.Share(*q.events / *q.exposure) + " above " + cell.Number(*t.Threshold)
			}
		}
		row[5] = cell.Relative(t.RelativeShift)
		if t.RelativeShift == nil && t.Estimate != nil {
			row[5] = cell.Number(*t.Estimate)
		}
		row[6] = differenceInterval(t)
	} else if t.RateRatio != nil || t.Estimate != nil {
		row[5], row[6] = ratioText(t), cell.TimesInterval(t.RatioLow, t.RatioHigh)
		if t.RatioLow == nil {
			row[6] = ""
		}
		if t.Points && t.Estimate != nil {
			row[5] = cell.Points(*t.Estimate)
			row[6] = ""
			if t.CILow != nil && t.CIHigh != nil {
				row[6] = cell.Points(*t.CILow) + " .. " + cell.Points(*t.CIHigh)
			}
		}
	}
	if t.Dispersion > 1 && row[6] != "" {
		row[6] += ", dispersion " + cell.Number(t.Dispersion)
	}
}

// ratioText is the change of a test of rates or shares as their ratio,
// canary over baseline: 1.90×; "from 0" when the baseline had no events.
func ratioText(t *judge.TestResult) string {
	switch {
	case t.RateRatio != nil:
		return cell.Times(*t.RateRatio)
	case t.RatioLow != nil:
		return "from 0"
	case t.BaselineEvents != nil && t.CanaryEvents != nil && *t.BaselineEvents+*t.CanaryEvents == 0:
		return "no events"
	}
	return "n/a"
}

// differenceInterval is the interval of a quantile difference, relative
// to the baseline's quantile when that is not zero; a missing end (a
// quantile beyond the last finite bucket bound) is unbounded.
func differenceInterval(t *judge.TestResult) string {
	if t.CILow == nil && t.CIHigh == nil {
		return "unbounded"
	}
	relative := t.RelativeShift != nil && t.BaselineQuantile != nil && *t.BaselineQuantile != 0
	end := func(v *float64, unbounded string) string {
		switch {
		case v == nil:
			return unbounded
		case relative:
			return cell.Relative(ptr(*v / abs(*t.BaselineQuantile)))
		}
		return cell.Number(*v)
	}
	return end(t.CILow, "-∞") + " .. " + end(t.CIHigh, "+∞")
}

// groupsText lists the groups with their scores and weights, and the
// signals of each that had no data or could not be judged: a group's score
// counts only its judged signals, so "100" alone would hide them. text
// escapes names for the output form.
func groupsText(r *analysis.Report, text func(string) string) string {
	unjudged := map[string]bool{}
	for _, s := range r.Signals {
		unjudged[s.Name] = !s.Failed && (s.Classification == judge.NoData || s.Classification == judge.Error)
	}
	var b strings.Builder
	for i, g := range r.Groups {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s (weight %s", text(g.Name), cell.Score(g.Score), cell.Number(g.Weight))
		var missing []string
		for _, name := range g.Signals {
			if unjudged[name] {
				missing = append(missing, text(name))
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(&b, "; no data for %s", strings.Join(missing, ", "))
		}
		b.WriteString(")")
	}
	return b.String()
}

func ptr(v float64) *float64 { return &v }

// quantileLabel names a tested quantile as dashboards do: p99, p99.9, p95.
func quantileLabel(q float64) string {
	return "p" + strconv.FormatFloat(math.Round(q*1e6)/1e4, 'f', -1, 64)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
