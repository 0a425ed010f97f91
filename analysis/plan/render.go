package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/verdict-aca/verdict/internal/cell"
)

// Formats are the forms a plan can be written in.
var Formats = []string{"table", "markdown", "json"}

// Write writes the plan in a format of Formats.
func Write(w io.Writer, p *Plan, format string) error {
	switch format {
	case "table":
		return WriteTable(w, p)
	case "markdown":
		return WriteMarkdown(w, p)
	case "json":
		return WriteJSON(w, p)
	}
	return fmt.Errorf("%q is not a plan format (want %s)", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the plan's verdict/plan/v1 JSON form.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	return nil
}

// header is the columns of the table and the Markdown table.
var header = []string{"Step", "Signal", "Test", "Canary has", "Detects 80%", "Detects 95%", "Allowed", "Critical"}

// rows are the table's rows, a step's signals after one another.
func rows(p *Plan) [][]string {
	var out [][]string
	for _, sp := range p.Steps {
		step := formatWeight(sp.Weight) + " for " + sp.Duration
		for i, c := range sp.Signals {
			sm := p.Signals[i]
			row := []string{step, sm.Name, string(sm.Test), holds(sm, c), "", "", "", ""}
			switch {
			case sm.model == nil:
				row[4] = "not simulated"
			case !c.Judged:
				row[4] = "no verdict"
			default:
				row[4], row[5] = detects(sm, c.Detect80, c.Rate80, Power, c.MaxChange), detects(sm, c.Detect95, c.Rate95, Power95, c.MaxChange)
			}
			row[6], row[7] = checkCell(sm, c.Allowed), checkCell(sm, c.Critical)
			out = append(out, row)
		}
	}
	return out
}

// holds says what the canary's side holds at a step.
func holds(sm SignalModel, c Cell) string {
	switch {
	case c.Points > 0:
		return fmt.Sprintf("%d points", c.Points)
	case c.CanaryExposure == nil:
		return ""
	case c.CanaryEvents != nil && sm.Unit != Share:
		return fmt.Sprintf("%s %s (%s events)", cell.Count(math.Round(*c.CanaryExposure)), sm.Per, events(*c.CanaryEvents))
	}
	return cell.Count(math.Round(*c.CanaryExposure)) + " " + sm.Per
}

// events writes an expected number of events: whole from 100 on, else
// with a decimal.
func events(v float64) string {
	if v >= 100 {
		return cell.Count(math.Round(v))
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// detects writes a promised change, with the share of canaries that
// detect it when detection jumps past the power there.
func detects(sm SignalModel, v, rate *float64, power, maxChange float64) string {
	if v == nil {
		return "beyond " + formatChange(sm, maxChange)
	}
	if jumps(rate, power) {
		return fmt.Sprintf("%s (%s)", formatChange(sm, *v), percent(*rate))
	}
	return formatChange(sm, *v)
}

// jumps says whether a figure's measured rate lies Jump or more above its
// power.
func jumps(rate *float64, power float64) bool {
	return rate != nil && *rate-power >= Jump-1e-9
}

// Promised is what a cell's figure at power (Power or Power95) promises:
// the power, or the measured rate printed beside it when detection jumps
// past the power there.
func Promised(c Cell, power float64) float64 {
	rate := c.Rate80
	if power == Power95 {
		rate = c.Rate95
	}
	if jumps(rate, power) {
		return *rate
	}
	return power
}

func checkCell(sm SignalModel, c *Check) string {
	if c == nil {
		return "—"
	}
	mark := "✘"
	if c.Detectable {
		mark = "✔"
	}
	return fmt.Sprintf("%s %s (%s)", mark, formatChange(sm, c.Change), percent(c.Rate))
}

// intro is the lines before the table.
func intro(p *Plan) []string {
	lines := []string{
		fmt.Sprintf("The smallest harmful change that fails each signal in 80%% and 95%% of canaries, by step, simulated on %s (%d canaries per step and signal through Verdict's judge, at confidence %g).",
			p.Baseline, p.Replicates, p.Confidence),
		"Allowed: the share of unchanged canaries whose data rule out a change beyond the allowance (✔ from 80%); critical: the share of canaries that change by the critical change whose signal fails (✔ from 80%).",
	}
	if anyJump(p) {
		lines = append(lines, "A share beside a change is how often it is detected where detection jumps past 80% (95%) between one printed change and the next (a histogram's regression crossing a bucket bound).")
	}
	if p.Sequential == "anytime" {
		h := "its own duration"
		if p.Horizon != "" {
			h = "a horizon of " + p.Horizon
		}
		lines = append(lines, "Sequential: anytime; each step is judged at its end as an anytime analysis tuned to "+h+".")
	}
	if p.Sequential == "planned" {
		lines = append(lines, "Sequential: planned; each step is judged once, at its end, at the whole level: a multi-interval run of the step spends the level over its looks, so its last look alone detects less.")
	}
	return lines
}

// anyJump says whether a figure of the plan is printed with its rate.
func anyJump(p *Plan) bool {
	for _, sp := range p.Steps {
		for _, c := range sp.Signals {
			if jumps(c.Rate80, Power) || jumps(c.Rate95, Power95) {
				return true
			}
		}
	}
	return false
}

// WriteTable writes the plan as a terminal table with its summary.
func WriteTable(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: what each step of the ramp detects\n", nameOf(p))
	for _, l := range intro(p) {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	t := tablewriter.NewTable(w, tablewriter.WithRowAlignment(tw.AlignLeft), tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(header)
	for _, r := range rows(p) {
		if err := t.Append(r); err != nil {
			return fmt.Errorf("writing the plan: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	b.Reset()
	b.WriteString("\n")
	writeSummary(&b, p, "  ")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	return nil
}

// writeSummary writes each step's summary, or that the ramp does it all.
func writeSummary(b *strings.Builder, p *Plan, indent string) {
	any := false
	for _, sp := range p.Steps {
		if len(sp.Summary) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(b, "%s%s for %s: %s.\n", indent, formatWeight(sp.Weight), sp.Duration, strings.Join(sp.Summary, "; "))
	}
	if !any {
		fmt.Fprintf(b, "%sEvery step tells every allowance from no change and detects every critical change.\n", indent)
	}
}

// WriteMarkdown writes the plan for a release packet or a pull request.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Rollout plan: %s\n\n", escape(nameOf(p)))
	for _, l := range intro(p) {
		b.WriteString(escape(l) + "\n")
	}
	b.WriteString("\n| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows(p) {
		for i := range r {
			r[i] = escape(r[i])
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
	var summary strings.Builder
	writeSummary(&summary, p, "- ")
	for _, line := range strings.SplitAfter(summary.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "- "); ok {
			line = "- " + escape(rest)
		}
		b.WriteString(line)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	return nil
}

// escape keeps text from being read as Markdown: table pipes, emphasis,
// code, links and HTML.
func escape(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func nameOf(p *Plan) string {
	if p.Name == "" {
		return "canary"
	}
	return p.Name
}
