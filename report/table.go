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
		name, cell.VerdictMark(r.Verdict), strings.ToUpper(string(r.Verdict)), cell.Score(r.Score),
		cell.Number(r.Thresholds.Pass), cell.Number(r.Thresholds.Marginal), r.Reason); err != nil {
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
		fmt.Fprintf(&b, "%s %s (weight %s)", g.Name, cell.Score(g.Score), cell.Number(g.Weight))
	}
	b.WriteString("\n\nReasons:\n")
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
		row[3] = cell.Number(s.Baseline.Median)
	}
	if s.Canary.Count > 0 {
		row[4] = cell.Number(s.Canary.Median)
	}
	t := s.Test
	if t == nil {
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
		row[5] = cell.Relative(t.RelativeShift)
		if t.RatioLow != nil {
			row[6] = "ratio " + cell.Number(*t.RatioLow) + " .. " + cell.RatioHigh(t.RatioHigh)
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
	if t.PValue != nil {
		row[7] = cell.PValue(*t.PValue)
	}
	return row
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
