package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/scoring"
)

// WriteTable writes r as a terminal summary: the verdict line, a table of
// signals with their figures, the group scores, and each signal's reason.
// Meaning is carried by words and marks, not colour.
func WriteTable(w io.Writer, r *analysis.Report) error {
	name := r.Name
	if name == "" {
		name = "canary"
	}
	if _, err := fmt.Fprintf(w, "%s: %s %s (score %s; pass ≥ %s, marginal ≥ %s)\n%s\n\n",
		name, verdictMark(r.Verdict), strings.ToUpper(string(r.Verdict)), scoreText(r.Score),
		number(r.Thresholds.Pass), number(r.Thresholds.Marginal), r.Reason); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}

	t := tablewriter.NewTable(w, tablewriter.WithRowAlignment(tw.AlignLeft), tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("Signal", "Group", "Result", "Baseline median", "Canary median", "Change", "Interval", "p-value")
	for _, s := range r.Signals {
		if err := t.Append(signalRow(s)); err != nil {
			return fmt.Errorf("writing the table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}

	var b strings.Builder
	b.WriteString("\nGroups: ")
	for i, g := range r.Groups {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s (weight %s)", g.Name, scoreText(g.Score), number(g.Weight))
	}
	b.WriteString("\n\nReasons:\n")
	for _, s := range r.Signals {
		fmt.Fprintf(&b, "  %s %s\n", resultMark(s), s.Reason)
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
	row := []string{s.Name, s.Group, resultMark(s) + " " + string(s.Classification), "", "", "", "", ""}
	if s.Baseline.Count > 0 {
		row[3] = number(s.Baseline.Median)
	}
	if s.Canary.Count > 0 {
		row[4] = number(s.Canary.Median)
	}
	t := s.Test
	if t == nil {
		return row
	}
	switch t.Method {
	case judge.Threshold:
		row[5] = fmt.Sprintf("%s %s", t.Statistic, optional(t.Estimate))
		row[6] = boundsRange(t.Min, t.Max)
	case judge.Rate:
		row[3], row[4] = optional(t.BaselineRate)+"/pt", optional(t.CanaryRate)+"/pt"
		row[5] = relative(t.RelativeShift)
		if t.RatioLow != nil {
			row[6] = "ratio " + number(*t.RatioLow) + " .. " + ratioHigh(t.RatioHigh)
		}
	default:
		row[5] = relative(t.RelativeShift)
		if t.RelativeShift == nil {
			row[5] = optional(t.Estimate)
		}
		switch m := s.Baseline.Median; {
		case t.CILow == nil || t.CIHigh == nil:
		case t.RelativeShift != nil && m != 0:
			row[6] = relative(ptr(*t.CILow/abs(m))) + " .. " + relative(ptr(*t.CIHigh/abs(m)))
		default:
			row[6] = number(*t.CILow) + " .. " + number(*t.CIHigh)
		}
	}
	if t.PValue != nil {
		row[7] = pValue(*t.PValue)
	}
	return row
}

func verdictMark(v scoring.Verdict) string {
	switch v {
	case scoring.Pass:
		return "✔"
	case scoring.Fail:
		return "✘"
	case scoring.Marginal:
		return "~"
	}
	return "?"
}

// resultMark marks a signal: ✔ passed, ✘ failed, ! critical failure, ? no data or error.
func resultMark(s judge.Result) string {
	switch {
	case s.CriticalFailure:
		return "!"
	case s.Failed:
		return "✘"
	case s.Classification == judge.Pass:
		return "✔"
	}
	return "?"
}

func scoreText(s *float64) string {
	if s == nil {
		return "none"
	}
	return number(*s)
}

func optional(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return number(*v)
}

func relative(v *float64) string {
	if v == nil {
		return "n/a"
	}
	p := 100 * *v
	s := strconv.FormatFloat(p, 'f', 1, 64) + "%"
	if p >= 0 {
		s = "+" + s
	}
	return s
}

func ratioHigh(v *float64) string {
	if v == nil {
		return "∞"
	}
	return number(*v)
}

func boundsRange(lo, hi *float64) string {
	l, h := "-∞", "+∞"
	if lo != nil {
		l = number(*lo)
	}
	if hi != nil {
		h = number(*hi)
	}
	return "[" + l + ", " + h + "]"
}

// number prints a value with up to four significant digits.
func number(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func pValue(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func ptr(v float64) *float64 { return &v }

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
