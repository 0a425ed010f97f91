package quality

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"context"
)

// Meta describes a harness run for the report.
type Meta struct {
	Seed       uint64
	Quick      bool
	Machine    string
	GoVersion  string
	GOMAXPROCS int
	Elapsed    time.Duration
	// Date is the day the run ended (UTC, 2006-01-02); empty when unknown.
	Date string
	// Share is the share of the full runs a study made (0: all of them;
	// the sequential study's -share).
	Share float64
}

// when is the run's date for a generated section: " on 2026-12-07", or
// nothing when unknown.
func (m Meta) when() string {
	if m.Date == "" {
		return ""
	}
	return " on " + m.Date
}

// Results are the outcome of RunAll.
type Results struct {
	Meta Meta
	// Rows is the scenario grid; Headline the headline scenarios with more
	// replications; Sequential the multi-interval study.
	Rows, Headline []Row
	Sequential     []SeqRow
}

// Headline scenario settings: the targets are checked on these cells.
const (
	HeadlineFamily = "lognormal-0.3"
	HeadlineN      = 360
)

// RunAll runs the grid, the headline scenarios and the multi-interval study.
func RunAll(ctx context.Context, cfg Config) (*Results, error) {
	rows, err := Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	head := rows
	if cfg.HeadlineFactor > 0 {
		h := cfg
		f, _ := FamilyByName(HeadlineFamily)
		z, _ := FamilyByName("errors-zero-baseline")
		h.Families = []Family{f, z}
		h.Sizes = []int{HeadlineN}
		h.Signals = []int{1, 10}
		h.MedianSizes = []float64{0.10}
		h.TailSizes = nil
		h.ErrorRates = []float64{0.05}
		h.NullPool *= cfg.HeadlineFactor
		h.EffectReps *= cfg.HeadlineFactor
		h.Seed ^= 0x5eed
		if head, err = Run(ctx, h); err != nil {
			return nil, err
		}
	}
	seq, err := RunSequential(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Results{Rows: rows, Headline: head, Sequential: seq}, nil
}

// Check is one target with its measured rate.
type Check struct {
	Name   string
	Rate   Rate
	Target float64
	Max    bool // the rate must stay at or below Target (else at or above)
}

// Met reports whether the point estimate meets the target.
func (c Check) Met() bool {
	if c.Max {
		return c.Rate.Value <= c.Target
	}
	return c.Rate.Value >= c.Target
}

func (c Check) String() string {
	op, status := "≥", "MET"
	if c.Max {
		op = "≤"
	}
	if !c.Met() {
		status = "MISSED"
	}
	return fmt.Sprintf("%-6s %s: %s (target %s %s)", status, c.Name, c.Rate, op, pct(c.Target))
}

// Checks evaluates the headline targets on the headline rows.
func (r *Results) Checks() []Check {
	var out []Check
	rows := r.Headline
	if row, ok := Find(rows, JudgeVerdict, HeadlineFamily, HeadlineN, 10, Effect{Kind: None}); ok {
		out = append(out, Check{Name: "A/A canaries with 10 signals judged fail", Rate: row.FailRate(), Target: 0.01, Max: true})
		out = append(out, Check{Name: "A/A canaries with 10 signals judged fail or marginal", Rate: row.NotPassRate(), Target: 0.05, Max: true})
	}
	for _, k := range []int{1, 10} {
		if row, ok := Find(rows, JudgeVerdict, HeadlineFamily, HeadlineN, k, Effect{Kind: Median, Size: 0.10}); ok {
			out = append(out, Check{Name: fmt.Sprintf("10%% median regression, lognormal σ=0.3, 360 points, %d-signal canary: regressed signal caught", k), Rate: row.SignalRate(), Target: 0.95})
		}
	}
	if row, ok := Find(rows, JudgeVerdict, "errors-zero-baseline", HeadlineN, 1, Effect{Kind: ErrorRate, Size: 0.05}); ok {
		out = append(out, Check{Name: "zero-error baseline vs canary with 0.05 errors/point, 360 points: caught", Rate: row.NotPassRate(), Target: 0.99})
	}
	return out
}

// Summary is a plain-text digest of the headline rows and the comparison.
func (r *Results) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %s, %s, GOMAXPROCS %d, %s\n", r.Meta.Seed, r.Meta.Machine, r.Meta.GoVersion, r.Meta.GOMAXPROCS, r.Meta.Elapsed)
	b.WriteString(MarkdownTables(r.Headline))
	b.WriteString(ComparisonSummary(r.Rows))
	b.WriteString(P99Tables(r.Rows))
	b.WriteString(SequentialTable(r.Sequential))
	return b.String()
}

// ComparisonSummary counts, per family, the scenarios where the default
// judge is at least as good as Kayenta, and lists the worst shortfalls.
func ComparisonSummary(rows []Row) string {
	cmp := Compare(rows)
	var b strings.Builder
	b.WriteString("| family | A/A scenarios at least as good | A/A worst (verdict − kayenta) | regression scenarios at least as good | regression worst (verdict − kayenta) |\n|---|---|---|---|---|\n")
	for _, fam := range familyNames(rows) {
		var aaOK, aaN, regOK, regN int
		aaWorst, regWorst := 0.0, 0.0
		var aaWhere, regWhere string
		for _, c := range cmp {
			if c.Family != fam {
				continue
			}
			where := fmt.Sprintf("n=%d k=%d %s", c.N, c.Signals, c.Effect.EffectLabel())
			if c.Effect.Kind == None {
				aaN++
				if c.AtLeastAsGood {
					aaOK++
				}
				if c.Diff > aaWorst {
					aaWorst, aaWhere = c.Diff, where
				}
			} else {
				regN++
				if c.AtLeastAsGood {
					regOK++
				}
				if c.Diff < regWorst {
					regWorst, regWhere = c.Diff, where
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %d/%d | %s | %d/%d | %s |\n", fam, aaOK, aaN, signedPP(aaWorst, aaWhere), regOK, regN, signedPP(regWorst, regWhere))
	}
	b.WriteString("\n")
	return b.String()
}

func signedPP(d float64, where string) string {
	if where == "" {
		return "–"
	}
	return fmt.Sprintf("%+.1f pp (%s)", 100*d, where)
}

// WriteDocs writes the plots, rows.csv and the generated section of quality.md under dir.
func (r *Results) WriteDocs(dir string) error {
	out := filepath.Join(dir, "quality")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("writing plots: %w", err)
	}
	var plots []Plot
	for _, kind := range []EffectKind{Median, Tail, ErrorRate} {
		ps, err := DetectionPlots(r.Rows, kind, 1, []int{30, 100, 360, 2000})
		if err != nil {
			return err
		}
		plots = append(plots, ps...)
	}
	for _, k := range []int{1, 10, 30} {
		p, err := FalseAlarmPlot(r.Rows, HeadlineN, k)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	for _, p := range plots {
		if err := os.WriteFile(filepath.Join(out, p.Name), p.SVG, 0o644); err != nil {
			return fmt.Errorf("writing plot: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "rows.csv"), RowsCSV(append(append([]Row{}, r.Rows...), r.Headline...)), 0o644); err != nil {
		return fmt.Errorf("writing rows: %w", err)
	}
	md := filepath.Join(dir, "quality.md")
	old, err := os.ReadFile(md)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", md, err)
	}
	doc, err := ReplaceGenerated(string(old), r.Generated(plots))
	if err != nil {
		return fmt.Errorf("%s: %w", md, err)
	}
	if err := os.WriteFile(md, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", md, err)
	}
	return nil
}

// Markers of the generated section of quality.md.
const (
	BeginGenerated = "<!-- BEGIN GENERATED by quality/cmd/quality: do not edit by hand -->"
	EndGenerated   = "<!-- END GENERATED -->"
)

// ReplaceGenerated replaces the generated section of doc (or appends one).
func ReplaceGenerated(doc, section string) (string, error) {
	return replaceSection(doc, BeginGenerated, EndGenerated, section)
}

// replaceSection replaces what lies between the markers begin and end in
// doc with section (or appends the markers and section).
func replaceSection(doc, begin, end, section string) (string, error) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	block := begin + "\n" + section + end
	switch {
	case i < 0 && j < 0:
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + "\n" + block + "\n", nil
	case i < 0 || j < i:
		return "", fmt.Errorf("the generated-section markers are unbalanced")
	}
	return doc[:i] + block + doc[j+len(end):], nil
}

// Generated is the generated section: run facts, headline, comparison, plots, tables.
func (r *Results) Generated(plots []Plot) string {
	var b strings.Builder
	m := r.Meta
	fmt.Fprintf(&b, "\nCommand: `make quality-docs` (`go run ./quality/cmd/quality -write -seed %d`). Machine: %s, %s, GOMAXPROCS %d; wall time %s.\n\n", m.Seed, m.Machine, m.GoVersion, m.GOMAXPROCS, m.Elapsed)
	b.WriteString("#### Targets (headline scenarios, with more replications than the grid)\n\n")
	for _, c := range r.Checks() {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	b.WriteString("\n#### Headline scenarios\n\n")
	b.WriteString(MarkdownTables(r.Headline))
	b.WriteString("#### Default judge against Kayenta, per family\n\nA/A scenarios: canaries judged fail or marginal; regression scenarios: the regressed signal classified high/low (see Compare). Worst: the largest shortfall of the default judge, in percentage points, and where.\n\n")
	b.WriteString(ComparisonSummary(r.Rows))
	b.WriteString("#### Tail regressions: adding a p99 quantile signal\n\n")
	b.WriteString("verdict+p99: the canary's first latency series (the regressed one) is judged twice, its median by Mann-Whitney and its p99 by `test: quantile`, so a canary of k series has k+1 signals, one Holm family; beside it the default judge with the median signals alone. *none*: canaries judged none because the p99 signal had too little data (the quantile test needs 250 points per side for a p99; with one series, one signal of two without data makes the verdict none). *per series*: A/A series (A/A rows) or the regressed series flagged by either of its signals.\n\n")
	b.WriteString(P99Tables(r.Rows))
	b.WriteString("#### Multi-interval runs\n\n")
	b.WriteString(SequentialTable(r.Sequential))
	b.WriteString("#### Plots\n\n")
	for _, p := range plots {
		fmt.Fprintf(&b, "![%s](quality/%s)\n\n", strings.TrimSuffix(p.Name, ".svg"), p.Name)
	}
	b.WriteString("#### All scenarios\n\n")
	b.WriteString("Rates with Wilson 95% intervals. *not pass*: canaries judged fail or marginal (false alarms on A/A rows, detections otherwise); *fail*: canaries judged fail; *per signal*: A/A signals (A/A rows) or the regressed signal classified high/low after scoring.\n\n")
	b.WriteString(MarkdownTables(r.Rows))
	return b.String()
}

// RowsCSV renders rows as CSV with a header.
func RowsCSV(rows []Row) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"family", "n", "signals", "effect", "size", "judge", "canaries", "not_pass", "fail", "signal_trials", "signal_flagged", "none"})
	for _, r := range rows {
		_ = w.Write([]string{r.Family, strconv.Itoa(r.N), strconv.Itoa(r.Signals), string(r.Effect.Kind), strconv.FormatFloat(r.Effect.Size, 'g', -1, 64),
			r.Judge, strconv.Itoa(r.Canaries), strconv.Itoa(r.NotPass), strconv.Itoa(r.Fail), strconv.Itoa(r.SignalTrials), strconv.Itoa(r.SignalFlagged), strconv.Itoa(r.None)})
	}
	w.Flush()
	return buf.Bytes()
}
