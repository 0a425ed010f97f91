package quality

import (
	"fmt"
	"math"
	"strings"
)

// Rate is a proportion with its Wilson score interval.
type Rate struct {
	Hits, Trials int
	// Value is Hits/Trials (NaN without trials); Low and High bound the
	// Wilson 95% interval.
	Value, Low, High float64
}

// Wilson returns hits/trials with the Wilson score interval at 95%
// (Wilson 1927; z = 1.959964).
func Wilson(hits, trials int) Rate {
	r := Rate{Hits: hits, Trials: trials, Value: math.NaN(), Low: math.NaN(), High: math.NaN()}
	if trials <= 0 {
		return r
	}
	const z = 1.959963984540054
	n := float64(trials)
	p := float64(hits) / n
	den := 1 + z*z/n
	centre := (p + z*z/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / den
	r.Value, r.Low, r.High = p, math.Max(0, centre-half), math.Min(1, centre+half)
	return r
}

// String formats the rate as "12.3% [10.1, 14.8]".
func (r Rate) String() string {
	if r.Trials == 0 {
		return "–"
	}
	return fmt.Sprintf("%s [%s, %s]", pct(r.Value), pctBare(r.Low), pctBare(r.High))
}

func pct(v float64) string { return pctBare(v) + "%" }

func pctBare(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v*100 < 0.95:
		return fmt.Sprintf("%.2f", 100*v)
	}
	return fmt.Sprintf("%.1f", 100*v)
}

// NotPassRate is the canary-level rate of fail-or-marginal verdicts: the
// false-alarm rate on A/A rows, the detection rate on regression rows.
func (r Row) NotPassRate() Rate { return Wilson(r.NotPass, r.Canaries) }

// NoneRate is the canary-level rate of none verdicts (too little data).
func (r Row) NoneRate() Rate { return Wilson(r.None, r.Canaries) }

// FailRate is the canary-level rate of fail verdicts.
func (r Row) FailRate() Rate { return Wilson(r.Fail, r.Canaries) }

// SignalRate is the signal-level rate of high/low classifications (after
// scoring): per A/A signal, or for the regressed signal.
func (r Row) SignalRate() Rate { return Wilson(r.SignalFlagged, r.SignalTrials) }

// Key identifies a row without its judge.
type Key struct {
	Family  string
	N       int
	Signals int
	Effect  Effect
}

// Key returns the row's key.
func (r Row) Key() Key { return Key{r.Family, r.N, r.Signals, r.Effect} }

// Pairs groups rows by key: for each scenario the default judge's row and
// Kayenta's, in the order the scenarios first appear.
func Pairs(rows []Row) (keys []Key, byJudge map[Key]map[string]Row) {
	byJudge = map[Key]map[string]Row{}
	for _, r := range rows {
		k := r.Key()
		if _, ok := byJudge[k]; !ok {
			byJudge[k] = map[string]Row{}
			keys = append(keys, k)
		}
		byJudge[k][r.Judge] = r
	}
	return keys, byJudge
}

// Select returns the rows for which keep is true.
func Select(rows []Row, keep func(Row) bool) []Row {
	var out []Row
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// Find returns the row of a judge on a scenario.
func Find(rows []Row, judgeName, family string, n, signals int, e Effect) (Row, bool) {
	for _, r := range rows {
		if r.Judge == judgeName && r.Family == family && r.N == n && r.Signals == signals && r.Effect == e {
			return r, true
		}
	}
	return Row{}, false
}

// Comparison says, for one scenario, whether the default judge is at least as
// good as Kayenta: a canary false-alarm rate (fail or marginal) no higher on
// A/A rows, and on regression rows a detection rate of the regressed signal
// (classified high or low after scoring, within its canary) no lower,
// judged on the point estimates. Signal-level detection is compared because
// a canary-level one credits false alarms of the other signals (Kayenta's,
// on autocorrelated series) and, with 30 signals in one group, one failed
// signal leaves the score at 96.7, a pass, for both judges. Diff is
// default − Kayenta (positive is worse on A/A rows, better otherwise), and
// Clear is true when the Wilson intervals do not overlap.
type Comparison struct {
	Key
	Verdict, Kayenta Rate
	Diff             float64
	AtLeastAsGood    bool
	Clear            bool
}

// Compare lists the scenarios where both judges ran, with the canary-level
// rate (fail or marginal).
func Compare(rows []Row) []Comparison {
	keys, by := Pairs(rows)
	var out []Comparison
	for _, k := range keys {
		v, ok1 := by[k][JudgeVerdict]
		ky, ok2 := by[k][JudgeKayenta]
		if !ok1 || !ok2 {
			continue
		}
		c := Comparison{Key: k, Verdict: v.NotPassRate(), Kayenta: ky.NotPassRate()}
		if k.Effect.Kind != None {
			c.Verdict, c.Kayenta = v.SignalRate(), ky.SignalRate()
		}
		c.Diff = c.Verdict.Value - c.Kayenta.Value
		if k.Effect.Kind == None {
			c.AtLeastAsGood = c.Verdict.Value <= c.Kayenta.Value
			c.Clear = c.Verdict.Low > c.Kayenta.High || c.Verdict.High < c.Kayenta.Low
		} else {
			c.AtLeastAsGood = c.Verdict.Value >= c.Kayenta.Value
			c.Clear = c.Verdict.Low > c.Kayenta.High || c.Verdict.High < c.Kayenta.Low
		}
		out = append(out, c)
	}
	return out
}

// EffectLabel is a short label such as "median +10%", "tail +50%", "errors 0.05/pt" or "A/A".
func (e Effect) EffectLabel() string {
	switch e.Kind {
	case None:
		return "A/A"
	case ErrorRate:
		return fmt.Sprintf("errors %g/pt", e.Size)
	}
	return fmt.Sprintf("%s +%g%%", e.Kind, math.Round(e.Size*1000)/10)
}

// familyNames lists the families of rows in first-appearance order.
func familyNames(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if !containsString(out, r.Family) {
			out = append(out, r.Family)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// MarkdownTables writes the rate tables: per family, the canary-level
// false-alarm rates (A/A) and detection rates, both judges side by side.
func MarkdownTables(rows []Row) string {
	var b strings.Builder
	for _, fam := range familyNames(rows) {
		fr := Select(rows, func(r Row) bool { return r.Family == fam })
		fmt.Fprintf(&b, "### %s\n\n", fam)
		if f, ok := FamilyByName(fam); ok {
			fmt.Fprintf(&b, "%s.\n\n", f.Description)
		}
		b.WriteString("| points/side | signals | scenario | verdict: not pass | kayenta: not pass | verdict: fail | kayenta: fail | verdict: per signal | kayenta: per signal |\n")
		b.WriteString("|---:|---:|---|---|---|---|---|---|---|\n")
		keys, by := Pairs(fr)
		for _, k := range keys {
			v, ky := by[k][JudgeVerdict], by[k][JudgeKayenta]
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", k.N, k.Signals, k.Effect.EffectLabel(),
				v.NotPassRate(), ky.NotPassRate(), v.FailRate(), ky.FailRate(), v.SignalRate(), ky.SignalRate())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// P99Tables writes, per latency family, the default judge beside
// verdict+p99 (a p99 quantile signal added on the canary's first series)
// on the A/A, median +10% and tail scenarios: what adding the p99
// signal costs in false alarms and gains in detection.
func P99Tables(rows []Row) string {
	var b strings.Builder
	for _, fam := range familyNames(rows) {
		fr := Select(rows, func(r Row) bool {
			return r.Family == fam && (r.Effect.Kind == None || r.Effect.Kind == Tail || r.Effect == Effect{Kind: Median, Size: 0.10})
		})
		keys, by := Pairs(fr)
		if len(keys) == 0 {
			continue
		}
		if _, ok := by[keys[0]][JudgeVerdictP99]; !ok {
			continue
		}
		fmt.Fprintf(&b, "##### %s\n\n", fam)
		b.WriteString("| points/side | series | scenario | verdict: not pass | verdict+p99: not pass | verdict+p99: none | verdict: per series | verdict+p99: per series |\n")
		b.WriteString("|---:|---:|---|---|---|---|---|---|\n")
		for _, k := range keys {
			v, p := by[k][JudgeVerdict], by[k][JudgeVerdictP99]
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s |\n", k.N, k.Signals, k.Effect.EffectLabel(),
				v.NotPassRate(), p.NotPassRate(), p.NoneRate(), v.SignalRate(), p.SignalRate())
		}
		b.WriteString("\n")
	}
	return b.String()
}
