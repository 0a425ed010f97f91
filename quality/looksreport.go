package quality

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Targets of the looks study.
const (
	// LooksFailTarget bounds the A/A runs judged fail at any look of the
	// hour (anytime), a canary's false-fail budget.
	LooksFailTarget = 0.01
	// LooksPowerMargin is how far below a single fixed-horizon test at
	// the end the anytime runs' share of regressions caught within the
	// hour may fall.
	LooksPowerMargin = 0.10
)

// FindLooks returns the row of a canary, effect, cadence and mode.
func FindLooks(rows []LooksRow, canary string, e Effect, cadence, mode string) (LooksRow, bool) {
	for _, r := range rows {
		if r.Canary == canary && r.Effect == e && r.Cadence == cadence && r.Mode == mode {
			return r, true
		}
	}
	return LooksRow{}, false
}

// looksCanaryNames lists the canaries of rows in first-appearance order.
func looksCanaryNames(rows []LooksRow) []string {
	var out []string
	for _, r := range rows {
		if !containsString(out, r.Canary) {
			out = append(out, r.Canary)
		}
	}
	return out
}

// looksEffects lists a canary's effects in first-appearance order.
func looksEffects(rows []LooksRow, canary string) []Effect {
	var out []Effect
	for _, r := range rows {
		if r.Canary == canary && !containsEffect(out, r.Effect) {
			out = append(out, r.Effect)
		}
	}
	return out
}

func containsEffect(list []Effect, e Effect) bool {
	for _, v := range list {
		if v == e {
			return true
		}
	}
	return false
}

// singleSignal reports whether a canary of the study has one signal (its
// every failure fails it).
func singleSignal(canary string) bool { return strings.HasPrefix(canary, "latency") }

// LooksChecks evaluates the looks study's targets, per canary and cadence,
// for anytime runs with and without the horizon known: A/A runs judged
// fail at any look at most 1%; and for every regression, the share of
// runs judged fail within the hour no more than 10 points below a single
// fixed-horizon test at the end. Canaries without regressions (the wider allowances, run for
// their time to a pass) have no checks.
func LooksChecks(rows []LooksRow) []Check {
	var out []Check
	for _, canary := range looksCanaryNames(rows) {
		effects := looksEffects(rows, canary)
		if len(effects) < 2 {
			continue
		}
		for _, mode := range []string{LooksAnytime, LooksKnownHorizon} {
			for _, c := range LooksCadences() {
				r, ok := FindLooks(rows, canary, Effect{Kind: None}, c.Name, mode)
				if !ok {
					continue
				}
				out = append(out, Check{Name: fmt.Sprintf("%s canary, looks %s: A/A runs judged fail at any look, %s", canary, c.Name, mode), Rate: r.FailRate(), Target: LooksFailTarget, Max: true})
			}
		}
		for _, mode := range []string{LooksAnytime, LooksKnownHorizon} {
			for _, e := range effects {
				if e.Kind == None {
					continue
				}
				for _, c := range LooksCadences() {
					a, ok1 := FindLooks(rows, canary, e, c.Name, mode)
					once, ok2 := FindLooks(rows, canary, e, c.Name, LooksOnce)
					if !ok1 || !ok2 {
						continue
					}
					out = append(out, Check{Name: fmt.Sprintf("%s canary, %s, looks %s: %s runs judged fail within the hour, against %s once at the end", canary, looksEffectLabel(e), c.Name, mode, once.FailRate()),
						Rate: a.FailRate(), Target: once.FailRate().Value - LooksPowerMargin})
				}
			}
		}
	}
	return out
}

// looksEffectLabel names an effect of the study: "A/A", "error ratio
// +10%", "latency +25%".
func looksEffectLabel(e Effect) string {
	switch e.Kind {
	case None:
		return "A/A"
	case ErrorRatio:
		return fmt.Sprintf("error ratio +%g%%", roundPct(e.Size-1))
	case Median:
		return fmt.Sprintf("latency +%g%%", roundPct(e.Size))
	}
	return e.EffectLabel()
}

func roundPct(v float64) float64 { return float64(int(1000*v+0.5)) / 10 }

// minutes formats a duration as minutes: "7.5 min".
func minutes(d time.Duration) string {
	m := d.Minutes()
	if m < 10 {
		return fmt.Sprintf("%.1f min", m)
	}
	return fmt.Sprintf("%.0f min", m)
}

// quantileOver is the q-quantile of runs values of which times are the
// finite ones (ascending): ok is false when it lies beyond the hour.
func quantileOver(times []time.Duration, runs int, q float64) (time.Duration, bool) {
	k := int(q*float64(runs) + 0.999999) // the k-th smallest, 1-based
	k = max(k, 1)
	if runs == 0 || len(times) < k {
		return 0, false
	}
	return times[k-1], true
}

// timeText formats a quantile of times: "7.5 min", or "> 1 h".
func timeText(times []time.Duration, runs int, q float64) string {
	if d, ok := quantileOver(times, runs, q); ok {
		return minutes(d)
	}
	return "> 1 h"
}

// LooksAATable is a canary's A/A runs: per cadence, the runs judged fail at
// any look in every mode, and the anytime runs' early passes.
func LooksAATable(rows []LooksRow, canary string) string {
	var b strings.Builder
	single := singleSignal(canary)
	b.WriteString("| looks | runs | fixed-horizon at every look: fail | planned looks: fail | anytime: fail | anytime, horizon known: fail |")
	if single {
		b.WriteString(" anytime: critical failure | anytime, horizon known: critical failure | fixed-horizon at every look: critical failure |")
	}
	b.WriteString(" fixed-horizon once at the end: fail | anytime: stopped early on a pass, time to a pass, median [quartiles] | anytime, horizon known: the same |\n|---|---:|---|---|---|---|")
	if single {
		b.WriteString("---|---|---|")
	}
	b.WriteString("---|---|---|\n")
	for _, c := range LooksCadences() {
		get := func(mode string) LooksRow {
			r, _ := FindLooks(rows, canary, Effect{Kind: None}, c.Name, mode)
			return r
		}
		fx, pl, an, hz, on := get(LooksFixed), get(LooksPlanned), get(LooksAnytime), get(LooksKnownHorizon), get(LooksOnce)
		if an.Runs == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |", c.Name, an.Runs, fx.FailRate(), pl.FailRate(), an.FailRate(), hz.FailRate())
		if single {
			fmt.Fprintf(&b, " %s | %s | %s |", an.CriticalRate(), hz.CriticalRate(), fx.CriticalRate())
		}
		fmt.Fprintf(&b, " %s | %s | %s |\n", on.FailRate(), passText(an), passText(hz))
	}
	b.WriteString("\n")
	return b.String()
}

// passText is a row's early passes and the quartiles of the time to a
// pass: "41.1% [38.6, 43.6]; > 1 h [40 min, > 1 h]".
func passText(r LooksRow) string {
	return fmt.Sprintf("%s; %s [%s, %s]", r.PassEarlyRate(), timeText(r.PassTimes, r.Runs, 0.5), timeText(r.PassTimes, r.Runs, 0.25), timeText(r.PassTimes, r.Runs, 0.75))
}

// LooksEffectTable is a canary's regressions: per effect and cadence, the
// runs judged fail within the hour and the median time to that fail, in
// every mode.
func LooksEffectTable(rows []LooksRow, canary string) string {
	var b strings.Builder
	b.WriteString("| regression | looks | runs | fail within the hour: fixed-horizon at every look | planned looks | anytime | anytime, horizon known | fixed-horizon once at the end | median time to a fail: fixed-horizon at every look | planned looks | anytime | anytime, horizon known |\n|---|---|---:|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range looksEffects(rows, canary) {
		if e.Kind == None {
			continue
		}
		for _, c := range LooksCadences() {
			get := func(mode string) LooksRow { r, _ := FindLooks(rows, canary, e, c.Name, mode); return r }
			fx, pl, an, hz, on := get(LooksFixed), get(LooksPlanned), get(LooksAnytime), get(LooksKnownHorizon), get(LooksOnce)
			if an.Runs == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", looksEffectLabel(e), c.Name, an.Runs,
				fx.FailRate(), pl.FailRate(), an.FailRate(), hz.FailRate(), on.FailRate(),
				timeText(fx.FailTimes, fx.Runs, 0.5), timeText(pl.FailTimes, pl.Runs, 0.5), timeText(an.FailTimes, an.Runs, 0.5), timeText(hz.FailTimes, hz.Runs, 0.5))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// LooksPassTable is the time to a pass of healthy runs of the canaries
// whose names start with prefix, one row per canary and cadence.
func LooksPassTable(rows []LooksRow, prefix string) string {
	var b strings.Builder
	b.WriteString("| canary | looks | mode | runs | stopped early on a pass | time to a pass: 25% | median | 75% | judged fail at any look |\n|---|---|---|---:|---|---|---|---|---|\n")
	for _, canary := range looksCanaryNames(rows) {
		if !strings.HasPrefix(canary, prefix) {
			continue
		}
		for _, c := range LooksCadences() {
			for _, mode := range []string{LooksAnytime, LooksKnownHorizon} {
				an, ok := FindLooks(rows, canary, Effect{Kind: None}, c.Name, mode)
				if !ok {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", canary, c.Name, mode, an.Runs, an.PassEarlyRate(),
					timeText(an.PassTimes, an.Runs, 0.25), timeText(an.PassTimes, an.Runs, 0.5), timeText(an.PassTimes, an.Runs, 0.75), an.FailRate())
			}
		}
	}
	b.WriteString("\n")
	return b.String()
}

// LooksSummary is the plain-text digest `quality -study sequential` prints.
func LooksSummary(rows []LooksRow) string {
	var b strings.Builder
	for _, canary := range looksCanaryNames(rows) {
		if len(looksEffects(rows, canary)) < 2 {
			continue
		}
		fmt.Fprintf(&b, "%s canary, A/A:\n\n%s", canary, LooksAATable(rows, canary))
		fmt.Fprintf(&b, "%s canary, regressions:\n\n%s", canary, LooksEffectTable(rows, canary))
	}
	b.WriteString(LooksPassTable(rows, "latency"))
	return b.String()
}

// LooksMeta describes a run of the looks study for its generated section.
type LooksMeta struct {
	Meta
	Config LooksConfig
}

// Markers of the looks study's generated section of quality.md.
const (
	BeginLooks = "<!-- BEGIN GENERATED sequential study by quality/cmd/quality: do not edit by hand -->"
	EndLooks   = "<!-- END GENERATED sequential study -->"
)

// LooksGenerated is the looks study's generated section.
func LooksGenerated(rows []LooksRow, m LooksMeta) string {
	var b strings.Builder
	var runs []string
	for _, s := range m.Config.Scenarios {
		runs = append(runs, fmt.Sprintf("%s %s: %d", s.Canary.Name, looksEffectLabel(s.Effect), s.Runs))
	}
	command := fmt.Sprintf("`make quality-docs`, or this study alone: `go run ./quality/cmd/quality -study sequential -write -seed %d`", m.Seed)
	if m.Share > 0 && m.Share < 1 {
		command = fmt.Sprintf("`go run ./quality/cmd/quality -study sequential -write -share %g -seed %d` (%g of the full runs of `make quality-docs`)", m.Share, m.Seed, m.Share)
	}
	fmt.Fprintf(&b, "\nCommand: %s. Machine: %s, %s, GOMAXPROCS %d; wall time %s%s. Runs: %s.\n\n",
		command, m.Machine, m.GoVersion, m.GOMAXPROCS, m.Elapsed, m.when(), strings.Join(runs, ", "))
	b.WriteString("#### Targets\n\n")
	for _, c := range LooksChecks(rows) {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	b.WriteString("\n")
	seen := map[string]bool{}
	for _, s := range m.Config.Scenarios {
		c := s.Canary
		if seen[c.Name] || len(looksEffects(rows, c.Name)) < 2 {
			continue
		}
		seen[c.Name] = true
		fmt.Fprintf(&b, "#### The %s canary\n\n%s.\n\n```yaml\n%s```\n\n", c.Name, upperFirst(c.Description), c.ConfigYAML)
		b.WriteString("A/A runs (rates with Wilson 95% intervals; a time to a pass is over all runs, *> 1 h* when fewer runs stopped early):\n\n")
		b.WriteString(LooksAATable(rows, c.Name))
		b.WriteString("Regressions (a median time to a fail is over all runs, *> 1 h* when fewer than half failed within the hour):\n\n")
		b.WriteString(LooksEffectTable(rows, c.Name))
	}
	b.WriteString("#### Time to a pass and the allowance\n\n")
	b.WriteString("A/A runs of the latency canary, anytime with and without the horizon known, with a wider allowance (the same config otherwise):\n\n")
	b.WriteString(LooksPassTable(rows, "latency"))
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// WriteLooksDocs writes the looks study's generated section of
// dir/quality.md, leaving the rest of the document alone.
func WriteLooksDocs(dir string, rows []LooksRow, m LooksMeta) error {
	return writeSection(filepath.Join(dir, "quality.md"), BeginLooks, EndLooks, LooksGenerated(rows, m))
}
