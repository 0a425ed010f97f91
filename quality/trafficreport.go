package quality

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Targets of the traffic study.
const (
	// TrafficFailTarget bounds the A/A canaries judged fail at unequal splits.
	TrafficFailTarget = 0.01
	// TrafficCatchTarget is the share of the headline regressions to catch.
	TrafficCatchTarget = 0.95
)

// FindTraffic returns the row of a scenario.
func FindTraffic(rows []TrafficRow, s TrafficScenario) (TrafficRow, bool) {
	for _, r := range rows {
		if r.Scenario == s {
			return r, true
		}
	}
	return TrafficRow{}, false
}

// TrafficChecks evaluates the traffic study's targets on the default
// release canary (classic buckets): A/A canaries at the unequal splits,
// both durations and every service size, judged fail at most 1%; error
// ratio ×2 at 95/5 over an hour judged fail, and completion −10% at 90/10
// over an hour judged fail or marginal (one failed non-critical signal
// among four groups is marginal by the default thresholds), at least 95%.
func TrafficChecks(rows []TrafficRow) []Check {
	var out []Check
	for _, r := range rows {
		s := r.Scenario
		if s.Effect.Kind != None || s.Split >= 0.5 {
			continue
		}
		out = append(out, Check{
			Name:   fmt.Sprintf("A/A canaries %s, %s, %s judged fail", s.SplitLabel(), s.DurationLabel(), perMinuteLabel(s.PerMinute)),
			Rate:   r.FailRate(CanaryClassic),
			Target: TrafficFailTarget, Max: true,
		})
	}
	var completion []Check
	for _, r := range rows {
		s := r.Scenario
		switch {
		case s.Effect == Effect{Kind: ErrorRatio, Size: 2} && s.Split == 0.05 && s.Minutes == 60:
			out = append(out, Check{
				Name: fmt.Sprintf("error ratio ×2 at 95/5 over 1 h, %s: canary judged fail", perMinuteLabel(s.PerMinute)),
				Rate: r.FailRate(CanaryClassic), Target: TrafficCatchTarget,
			})
		case s.Effect == Effect{Kind: Completion, Size: 0.10} && s.Split == 0.1 && s.Minutes == 60:
			completion = append(completion, Check{
				Name: fmt.Sprintf("completion −10%% at 90/10 over 1 h, %s: canary judged fail or marginal", perMinuteLabel(s.PerMinute)),
				Rate: r.NotPassRate(CanaryClassic), Target: TrafficCatchTarget,
			})
		}
	}
	return append(out, completion...)
}

// perMinuteLabel is "1,000 req/min".
func perMinuteLabel(v float64) string {
	return formatThousands(v) + " req/min"
}

func formatThousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// trafficRates lists the service sizes of rows in first-appearance order.
func trafficRates(rows []TrafficRow) []float64 {
	var out []float64
	for _, r := range rows {
		seen := false
		for _, v := range out {
			seen = seen || v == r.Scenario.PerMinute
		}
		if !seen {
			out = append(out, r.Scenario.PerMinute)
		}
	}
	return out
}

// noData formats a share of signals without enough traffic, empty when none.
func noData(r TrafficRow, t TrafficTest) string {
	if r.NoData[t] == 0 {
		return ""
	}
	return fmt.Sprintf(" (nodata %s)", pct(float64(r.NoData[t])/float64(r.Canaries)))
}

// TrafficHeadline is the table of the rows the targets read, with the old
// way and the oracle beside the judge.
func TrafficHeadline(rows []TrafficRow) string {
	var b strings.Builder
	b.WriteString("| service | split | duration | scenario | canary fail | canary fail or marginal | regressed signal alone | oracle at 5% | oracle at the canary's level | old canary: fail or marginal |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		s := r.Scenario
		var signal, oracle, strict string
		switch s.Effect.Kind {
		case None:
			if s.Split >= 0.5 {
				continue
			}
			signal, oracle, strict = "–", "–", "–"
		case ErrorRatio:
			if s.Effect.Size != 2 || s.Split != 0.05 || s.Minutes != 60 {
				continue
			}
			signal, oracle, strict = r.SignalRate(ErrVerdict).String(), r.SignalRate(ErrOracle).String(), r.SignalRate(ErrOracleStrict).String()+" (p ≤ 1%)"
		case Completion:
			if s.Effect.Size != 0.10 || s.Split != 0.1 || s.Minutes != 60 {
				continue
			}
			signal, oracle, strict = r.SignalRate(ComplVerdict).String(), r.SignalRate(ComplOracle).String(), r.SignalRate(ComplOracleHolm).String()+" (p ≤ 1.25%)"
		default:
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", perMinuteLabel(s.PerMinute), s.SplitLabel(), s.DurationLabel(), TrafficEffectLabel(s.Effect),
			r.FailRate(CanaryClassic), r.NotPassRate(CanaryClassic), signal, oracle, strict, r.NotPassRate(CanaryOld))
	}
	b.WriteString("\n")
	return b.String()
}

// TrafficTables writes the study's tables, per service size: the A/A
// canaries and signals, then each family of regressions.
func TrafficTables(rows []TrafficRow) string {
	var b strings.Builder
	for _, rate := range trafficRates(rows) {
		at := selectTraffic(rows, func(r TrafficRow) bool { return r.Scenario.PerMinute == rate })
		fmt.Fprintf(&b, "##### %s: A/A canaries\n\n", perMinuteLabel(rate))
		b.WriteString("| split | duration | canaries | verdict classic: fail | of which critical / single failure | verdict classic: fail or marginal | verdict native: fail | verdict native: fail or marginal | verdict: none | old: fail | old: fail or marginal |\n|---|---|---:|---|---|---|---|---|---|---|---|\n")
		for _, r := range at {
			s := r.Scenario
			if s.Effect.Kind != None {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %d / %d | %s | %s | %s | %s | %s | %s |\n", s.SplitLabel(), s.DurationLabel(), r.Canaries,
				r.FailRate(CanaryClassic), r.FailCritical[CanaryClassic], r.FailSingle[CanaryClassic], r.NotPassRate(CanaryClassic), r.FailRate(CanaryNative), r.NotPassRate(CanaryNative),
				Wilson(r.None[CanaryClassic], r.Canaries), r.FailRate(CanaryOld), r.NotPassRate(CanaryOld))
		}
		fmt.Fprintf(&b, "\n##### %s: A/A signals flagged (false alarms of each signal alone, before Holm)\n\n", perMinuteLabel(rate))
		b.WriteString("| split | duration | error_ratio | error_ratio: old rate on counts | error_ratio: old MW | completion | completion: old MW | p50 classic | p50 native | p50: old MW | p99 classic | p99 native | p99: old MW | oracles (error, completion, p50, p99) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range at {
			s := r.Scenario
			if s.Effect.Kind != None {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s, %s, %s, %s |\n", s.SplitLabel(), s.DurationLabel(),
				r.SignalRate(ErrVerdict), r.SignalRate(ErrOldRate), r.SignalRate(ErrOldMW),
				r.SignalRate(ComplVerdict), noData(r, ComplVerdict), r.SignalRate(ComplOldMW),
				r.SignalRate(P50Classic), r.SignalRate(P50Native), r.SignalRate(P50OldMW),
				r.SignalRate(P99Classic), r.SignalRate(P99Native), r.SignalRate(P99OldMW),
				pct(r.SignalRate(ErrOracle).Value), pct(r.SignalRate(ComplOracle).Value), pct(r.SignalRate(P50Oracle).Value), pct(r.SignalRate(P99Oracle).Value))
		}
		fmt.Fprintf(&b, "\n##### %s: error ratio regressions\n\n", perMinuteLabel(rate))
		b.WriteString("| split | duration | scenario | rate with exposure | old rate on counts | old MW on ratios | oracle | oracle at p ≤ 1% | canary fail | canary fail or marginal | old canary: fail or marginal |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range at {
			s := r.Scenario
			if s.Effect.Kind != ErrorRatio {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.SplitLabel(), s.DurationLabel(), TrafficEffectLabel(s.Effect),
				r.SignalRate(ErrVerdict), r.SignalRate(ErrOldRate), r.SignalRate(ErrOldMW), r.SignalRate(ErrOracle), r.SignalRate(ErrOracleStrict),
				r.FailRate(CanaryClassic), r.NotPassRate(CanaryClassic), r.NotPassRate(CanaryOld))
		}
		fmt.Fprintf(&b, "\n##### %s: checkout completion regressions\n\n", perMinuteLabel(rate))
		b.WriteString("| split | duration | scenario | proportion | old MW on ratios | oracle | oracle at p ≤ 1.25% | canary fail | canary fail or marginal | old canary: fail or marginal |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range at {
			s := r.Scenario
			if s.Effect.Kind != Completion {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s |\n", s.SplitLabel(), s.DurationLabel(), TrafficEffectLabel(s.Effect),
				r.SignalRate(ComplVerdict), noData(r, ComplVerdict), r.SignalRate(ComplOldMW), r.SignalRate(ComplOracle), r.SignalRate(ComplOracleHolm),
				r.FailRate(CanaryClassic), r.NotPassRate(CanaryClassic), r.NotPassRate(CanaryOld))
		}
		fmt.Fprintf(&b, "\n##### %s: latency regressions\n\n", perMinuteLabel(rate))
		b.WriteString("| split | duration | scenario | signal | histogram, classic buckets | histogram, native buckets | old MW on per-window quantiles | oracle | canary classic: fail or marginal | canary native: fail or marginal | old canary: fail or marginal |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range at {
			s := r.Scenario
			if s.Effect.Kind != Median && s.Effect.Kind != Tail {
				continue
			}
			for _, sig := range []struct {
				name                       string
				classic, native, old, orcl TrafficTest
			}{{"p50", P50Classic, P50Native, P50OldMW, P50Oracle}, {"p99", P99Classic, P99Native, P99OldMW, P99Oracle}} {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.SplitLabel(), s.DurationLabel(), TrafficEffectLabel(s.Effect), sig.name,
					r.SignalRate(sig.classic), r.SignalRate(sig.native), r.SignalRate(sig.old), r.SignalRate(sig.orcl),
					r.NotPassRate(CanaryClassic), r.NotPassRate(CanaryNative), r.NotPassRate(CanaryOld))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// selectTraffic returns the traffic rows for which keep is true.
func selectTraffic(rows []TrafficRow, keep func(TrafficRow) bool) []TrafficRow {
	var out []TrafficRow
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// TrafficMeta describes a traffic study run for its generated section.
type TrafficMeta struct {
	Meta
	NullReps, EffectReps int
}

// TrafficSummary is the plain-text digest `quality -study traffic` prints.
func TrafficSummary(rows []TrafficRow) string {
	return TrafficHeadline(rows) + TrafficTables(rows)
}

// Markers of the traffic study's generated section of quality.md.
const (
	BeginTraffic = "<!-- BEGIN GENERATED traffic study by quality/cmd/quality: do not edit by hand -->"
	EndTraffic   = "<!-- END GENERATED traffic study -->"
)

// TrafficGenerated is the traffic study's generated section.
func TrafficGenerated(rows []TrafficRow, m TrafficMeta) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCommand: `make quality-docs`, or this study alone: `go run ./quality/cmd/quality -study traffic -write -seed %d`. Machine: %s, %s, GOMAXPROCS %d; wall time %s. %d A/A canaries per A/A row, %d per regression row.\n\n",
		m.Seed, m.Machine, m.GoVersion, m.GOMAXPROCS, m.Elapsed, m.NullReps, m.EffectReps)
	b.WriteString("#### Targets\n\n")
	for _, c := range TrafficChecks(rows) {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	b.WriteString("\n#### Headline rows\n\n")
	b.WriteString(TrafficHeadline(rows))
	b.WriteString("#### All scenarios\n\n")
	b.WriteString("Rates with Wilson 95% intervals. *Signal* columns: the signal judged on its own (before the canary's Holm adjustment) classified high or low, or for the oracle rejected at the one-sided 5% level; *nodata*: the share of signals with too little traffic (fewer than 100 trials per side). *Canary* columns: the release canary of four signals (classic or native buckets for latency; *old*: every signal by mann-whitney on per-window values) judged fail, or fail or marginal.\n\n")
	b.WriteString(TrafficTables(rows))
	return b.String()
}

// WriteTrafficDocs writes the traffic study's rows (dir/quality/traffic.csv)
// and its generated section of dir/quality.md, leaving the rest of the
// document alone.
func WriteTrafficDocs(dir string, rows []TrafficRow, m TrafficMeta) error {
	out := filepath.Join(dir, "quality")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("writing traffic rows: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "traffic.csv"), TrafficCSV(rows), 0o644); err != nil {
		return fmt.Errorf("writing traffic rows: %w", err)
	}
	md := filepath.Join(dir, "quality.md")
	old, err := os.ReadFile(md)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", md, err)
	}
	doc, err := replaceSection(string(old), BeginTraffic, EndTraffic, TrafficGenerated(rows, m))
	if err != nil {
		return fmt.Errorf("%s: %w", md, err)
	}
	if err := os.WriteFile(md, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", md, err)
	}
	return nil
}

// TrafficCSV renders the traffic rows as CSV with a header: one line per
// scenario and test (signal rows) or composition (canary rows).
func TrafficCSV(rows []TrafficRow) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"per_minute", "split", "minutes", "effect", "size", "what", "canaries", "flagged", "nodata", "errors", "fail", "marginal", "none"})
	for _, r := range rows {
		s := r.Scenario
		head := []string{strconv.FormatFloat(s.PerMinute, 'g', -1, 64), strconv.FormatFloat(s.Split, 'g', -1, 64), strconv.Itoa(s.Minutes),
			string(s.Effect.Kind), strconv.FormatFloat(s.Effect.Size, 'g', -1, 64)}
		for t := range numTrafficTests {
			_ = w.Write(append(append([]string{}, head...), t.String(), strconv.Itoa(r.Canaries),
				strconv.Itoa(r.Flagged[t]), strconv.Itoa(r.NoData[t]), strconv.Itoa(r.Errors[t]), "", "", ""))
		}
		for c := range numTrafficCanaries {
			_ = w.Write(append(append([]string{}, head...), "canary: "+c.String(), strconv.Itoa(r.Canaries),
				"", "", "", strconv.Itoa(r.Fail[c]), strconv.Itoa(r.Marginal[c]), strconv.Itoa(r.None[c])))
		}
	}
	w.Flush()
	return buf.Bytes()
}
