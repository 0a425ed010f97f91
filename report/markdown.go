package report

import (
	"fmt"
	"github.com/verdict-aca/verdict/internal/cell"
	"io"
	"slices"
	"strings"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/report/internal/looks"
)

// WriteMarkdown writes r as a compact GitHub-flavoured Markdown summary for
// pull-request comments and chat: the verdict line with its mark, the
// reason, the terminal table's signal table, for a multi-interval analysis
// a line per signal on what its looks came to, the reasons of the signals
// that need attention as a list, and the passing signals' reasons folded
// in a <details> block. Text in cells is escaped so that a reason cannot
// break the table or inject markup.
func WriteMarkdown(w io.Writer, r *analysis.Report) error {
	name := r.Name
	if name == "" {
		name = "canary"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s %s: **%s** (score %s; pass ≥ %s, marginal ≥ %s)\n\n",
		markdownVerdictMark(r), mdText(name), strings.ToUpper(string(r.Verdict)), cell.Score(r.Score),
		cell.Number(r.Thresholds.Pass), cell.Number(r.Thresholds.Marginal))
	fmt.Fprintf(&b, "%s\n\n", mdText(r.Reason))

	if r.Scopes != nil {
		fmt.Fprintf(&b, "Baseline `%s` vs canary `%s`", scopeCode(r.Scopes.Baseline), scopeCode(r.Scopes.Canary))
		if r.Window != nil {
			fmt.Fprintf(&b, ", %s .. %s", r.Window.Start.UTC().Format("2006-01-02 15:04:05Z"), r.Window.End.UTC().Format("2006-01-02 15:04:05Z"))
		}
		b.WriteString(".\n\n")
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(&b, "> ! %s\n", mdText(warning))
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n")
	}

	b.WriteString("| Signal | Group | Result | Baseline | Canary | Change | Interval | p-value |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|--:|\n")
	for _, s := range r.Signals {
		row := signalRow(s)
		for i := range row {
			row[i] = mdCell(row[i])
		}
		row[0] = "`" + strings.ReplaceAll(s.Name, "`", "'") + "`"
		if s.Failed || s.CriticalFailure {
			row[0] = "**" + row[0] + "**"
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
	}

	if len(r.Groups) > 0 {
		b.WriteString("\nGroups: " + groupsText(r, mdText) + "\n")
	}

	if tracks := looks.Tracks(r); len(tracks) > 0 {
		stop, _ := looks.RunStop(r)
		fmt.Fprintf(&b, "\n**Looks**: %s.\n\n", mdText(looks.StopText(stop)))
		for _, tr := range tracks {
			name := "`" + strings.ReplaceAll(tr.Name, "`", "'") + "`"
			if tr.Outcome == looks.Failed {
				name = "**" + name + "**"
			}
			fmt.Fprintf(&b, "- %s %s: %s\n", tr.Mark(), name, mdText(tr.Line()))
		}
	}

	var attention, passing []judge.Result
	for _, s := range r.Signals {
		if s.Classification == judge.Pass && !s.Failed {
			passing = append(passing, s)
		} else {
			attention = append(attention, s)
		}
	}
	if len(attention) > 0 {
		b.WriteString("\n**Needs attention**\n\n")
		for _, s := range attention {
			fmt.Fprintf(&b, "- %s **%s** (%s): %s\n", cell.ResultMark(s), mdText(s.Name), mdText(string(s.Classification)), mdText(s.Reason))
		}
	}
	if len(passing) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>%d passing signal%s</summary>\n\n", len(passing), plural(len(passing)))
		for _, s := range passing {
			fmt.Fprintf(&b, "- %s %s: %s\n", cell.ResultMark(s), mdText(s.Name), mdText(s.Reason))
		}
		b.WriteString("\n</details>\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the Markdown report: %w", err)
	}
	return nil
}

// markdownVerdictMark is the table's verdict mark, except that a marginal
// verdict shows "!" (a warning), which reads better than "~" in a heading.
func markdownVerdictMark(r *analysis.Report) string {
	if r.Verdict == "marginal" {
		return "!"
	}
	return cell.VerdictMark(r.Verdict)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// mdEscaper escapes the characters that start Markdown markup inside
// running text. Underscores are left alone: signal names are full of them,
// and GitHub-flavoured Markdown does not emphasise inside words.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`, "|", `\|`, "#", `\#`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

// mdText makes s safe as inline Markdown text on one line. "<" and "&" are
// escaped only where they could start a tag or an entity, so that figures
// like "<0.0001" stay readable in the raw text.
func mdText(s string) string {
	s = mdEscaper.Replace(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		next := byte(0)
		if i+1 < len(s) {
			next = s[i+1]
		}
		isLetter := next >= 'a' && next <= 'z' || next >= 'A' && next <= 'Z'
		switch {
		case c == '<' && (isLetter || next == '/' || next == '!' || next == '?'):
			b.WriteString("&lt;")
		case c == '&' && (isLetter || next == '#'):
			b.WriteString("&amp;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mdCell makes s safe inside a table cell.
func mdCell(s string) string { return mdText(s) }

// scopeCode prints a scope for an inline code span (backticks removed).
func scopeCode(s map[string]string) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	return strings.ReplaceAll(strings.Join(parts, ","), "`", "'")
}
