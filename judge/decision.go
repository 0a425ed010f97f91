package judge

import (
	"fmt"
	"math"
	"sort"

	"github.com/verdict-aca/verdict/internal/numeric"
	"gonum.org/v1/gonum/mathext"
)

// CriticalLevelFactor makes a critical failure (a critical signal, or a
// change beyond criticalChange) need stronger evidence than an ordinary
// failure: its decision p-value must be at most CriticalLevelFactor × the
// decision level (0.01 at the default confidence 0.95 for a signal with one
// harmful direction). A signal whose
// evidence is between the two levels is an ordinary failure.
const CriticalLevelFactor = 0.2

// MaxAutocorrelation caps the lag-1 autocorrelation used by the
// effective-sample-size correction (variance inflation at most 39).
const MaxAutocorrelation = 0.95

// GateMultiplicity is the gate of a signal that was significant on its own
// but not after Holm's correction across the canary's signals: pass.
const GateMultiplicity Gate = "multiplicity"

// DecisionLevel is the one-sided level the decision compares the p-value
// of the side the canary moved with, before any correction across signals.
// It is 1 − confidence for a signal with one harmful direction (increase or
// decrease): the canary fails when the one-sided bound at confidence on the
// harmful side clears zero (0.05 by default, TestResult.DecisionBound), a
// level the harness chose over the two-sided interval's 0.025 because it
// catches 95% of 10% latency regressions even among 10 signals while Holm's
// correction keeps false alarms at 5% per canary (docs/quality.md). For
// direction either it is half of 1 − confidence per side, so that the
// two-sided level is 1 − confidence. For look k of a multi-interval run of K
// looks, it is the share of that level an O'Brien–Fleming-type spending
// function (Lan & DeMets 1983) gives to look k, with information fraction
// k/K: α(t) = 2 − 2Φ(z₁₋α/₂ / √t), spent as α(k/K) − α((k−1)/K). The shares
// add up to the level, so by the union bound the chance that any look of an
// A/A run fails stays below it, whatever the correlation between looks.
func DecisionLevel(opts Options, d Direction) float64 {
	if opts.levelOverride > 0 {
		return opts.levelOverride
	}
	conf := opts.Confidence
	if conf == 0 {
		conf = DefaultConfidence
	}
	alpha := 1 - conf
	if d == Either || d == "" {
		alpha /= 2
	}
	if opts.Looks <= 1 || opts.Look < 1 || opts.Look > opts.Looks {
		return alpha
	}
	spent := func(t float64) float64 {
		if t <= 0 {
			return 0
		}
		z := upperQuantile(alpha / 2)
		return 2 * numeric.Pnorm(z/math.Sqrt(t), false)
	}
	k, n := float64(opts.Look), float64(opts.Looks)
	return (spent(k/n) - spent((k-1)/n)) * alpha / spent(1)
}

// criticalLevel is the level a critical failure's p-value must reach:
// CriticalLevelFactor × level, or a known horizon's critical boundary.
func criticalLevel(opts Options, level float64) float64 {
	if opts.criticalOverride > 0 {
		return opts.criticalOverride
	}
	return CriticalLevelFactor * level
}

// inflateP turns a one-sided p-value into the p-value of the same statistic
// whose variance is multiplied by f ≥ 1: the normal deviate is divided by √f.
func inflateP(p, f float64) float64 {
	if f <= 1 || math.IsNaN(p) || p >= 0.5 {
		return p
	}
	return numeric.Pnorm(upperQuantile(p)/math.Sqrt(f), false)
}

// inflatePT is inflateP with a Student t reference on df degrees of freedom
// instead of the normal: with few effective points the estimated inflation
// is itself uncertain, which fattens the tails of the corrected statistic.
func inflatePT(p, f, df float64) float64 {
	if f <= 1 || math.IsNaN(p) || p >= 0.5 {
		return p
	}
	t := upperQuantile(p) / math.Sqrt(f)
	df = math.Max(df, 1)
	return 0.5 * mathext.RegIncBeta(df/2, 0.5, df/(df+float64(t*t)))
}

// upperQuantile is the standard normal z with upper tail p, R's
// qnorm(p, lower.tail = FALSE) (numeric.Qnorm: accurate also for a tiny
// p); +Inf for p <= 0.
func upperQuantile(p float64) float64 {
	if p <= 0 {
		return math.Inf(1)
	}
	return numeric.Qnorm(p, false)
}

// levelUnderInflation is the level at which the uncorrected statistic's
// one-sided bound equals the corrected bound at level: Φ̄(√f · z₁₋level).
func levelUnderInflation(level, f float64) float64 {
	if f <= 1 {
		return level
	}
	return numeric.Pnorm(math.Sqrt(f)*upperQuantile(level), false)
}

// VarianceInflation estimates how much serial correlation inflates the
// variance of the rank-sum statistic: 1 for independent points. Under "no
// change" the canary is the same process as the baseline, so the baseline
// alone tells how correlated the process is: ρ is the lag-1 autocorrelation
// of the baseline's ranks (in the pooled sample). Reading the canary would
// mistake a regression that starts inside the window (a step) for
// correlation. A trend or spikes shared by both sides would also look like
// correlation in the baseline; with equal lengths (points taken at the same
// times), ρ is therefore at most the lag-1 autocorrelation of the paired
// rank differences, in which shared movements cancel. The factor is the
// AR(1) variance inflation of a mean, (1+ρ)/(1−ρ), with ρ corrected for its
// small-sample bias when clearly positive and clamped to
// [0, MaxAutocorrelation]. It returns the factor and ρ.
func VarianceInflation(baseline, canary []float64) (f, rho float64) {
	var w Workspace
	return w.varianceInflation(w.sample(0, baseline), w.sample(1, canary))
}

func (w *Workspace) varianceInflation(baseline, canary sample) (f, rho float64) {
	nb, nc := len(baseline.values), len(canary.values)
	if nb < 3 || nc < 3 {
		return 1, 0
	}
	rb, rc := w.pooledRanks(baseline, canary)
	rho = debias(lag1(rb), nb)
	if nb == nc {
		w.diffs = resize(w.diffs, nb)
		d := w.diffs
		for i := range d {
			d[i] = rc[i] - rb[i]
		}
		rho = math.Min(rho, debias(lag1(d), nb))
	}
	rho = math.Min(math.Max(rho, 0), MaxAutocorrelation)
	return (1 + rho) / (1 - rho), rho
}

// debias corrects a lag-1 autocorrelation estimated from n points for its
// downward bias, (1+4ρ)/n for an AR(1) series with unknown mean (Kendall
// 1954), when it is clearly positive (above 2/√n); otherwise it returns it
// unchanged, so that independent series keep their power.
func debias(rho float64, n int) float64 {
	if rho <= 2/math.Sqrt(float64(n)) {
		return rho
	}
	return rho + (1+float64(4*rho))/float64(n)
}

// lag1 is the lag-1 sample autocorrelation (0 for a constant series).
func lag1(v []float64) float64 {
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var num, den float64
	for i, x := range v {
		d := x - mean
		den += float64(d * d)
		if i > 0 {
			num += float64(d * (v[i-1] - mean))
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// AdjustFamily shares a canary's error rates among its signals by what a
// failure costs, in place, with Holm's step-down procedure (Holm 1979) in
// two families:
//
//   - Ordinary failures (they lower the score: marginal, or fail when
//     enough of them): every result with a DecisionPValue takes part; with
//     m of them, sorted by p/level ascending, the i-th (from 0) is
//     significant while p ≤ level/(m−i) for it and every one before it. An
//     unchanged canary then has any signal fail with probability at most
//     the level (5%: its false-marginal rate), however many signals it has.
//     The Holm-adjusted p-value is stored in AdjustedPValue; a failure not
//     significant after adjustment becomes a pass (gate multiplicity).
//   - Critical failures (they fail the canary alone): only the results
//     that can fail critically take part, the critical signals and those
//     with a criticalChange, at CriticalLevelFactor × level (1%: the
//     canary's false-fail rate); a critical failure needs its adjusted
//     p-value in this family within that level, else it is an ordinary
//     failure (subject to the first family). A critical signal is not
//     diluted by the canary's other signals: one critical signal of ten
//     fails the canary at p ≤ 1%, where Holm over all ten asked 0.5% for an
//     ordinary failure and 0.1% for a critical one, which is the power that
//     matters most.
//
// Results without a decision p-value (threshold tests, nodata, errors,
// Kayenta results) are left alone. Applying it twice gives the same
// results.
func AdjustFamily(results []Result) {
	ordinary := holm(results, func(Result) bool { return true })
	critical := holm(results, func(r Result) bool { return r.Critical || r.CriticalFailure || r.Test.CriticalAllowed != nil })
	m := len(ordinary)
	for i, adjusted := range ordinary {
		r := &results[i]
		t := *r.Test // never write through a pointer the caller may share
		level := t.DecisionLevel
		t.AdjustedPValue = ptr(adjusted * level)
		r.Test = &t
		// A critical failure stands on its own family's evidence.
		if r.CriticalFailure {
			// A family of one: the judge already held it to the critical level.
			if c, ok := critical[i]; ok && (len(critical) == 1 || c*level <= CriticalLevelFactor*level) {
				t.AdjustedPValue = ptr(c * level)
				continue
			}
			r.CriticalFailure = false
			r.Reason += fmt.Sprintf("; the evidence (Holm-adjusted p = %s across the canary's %d signals that can fail it alone) falls short of the p ≤ %s needed for a critical failure, so it counts as an ordinary failure",
				formatP(critical[i]*level), len(critical), formatP(CriticalLevelFactor*level))
		}
		if m > 1 && r.Failed && adjusted*level > level {
			r.Classification, r.Gate, r.Failed, r.CriticalFailure = Pass, GateMultiplicity, false, false
			r.Reason += fmt.Sprintf("; but not significant across the canary's %d tested signals (Holm-adjusted p = %s > %s), so it passes", m, formatP(adjusted*level), formatP(level))
		}
	}
}

// holm is Holm's step-down procedure over the results in, among those with
// a decision p-value: each one's adjusted p-value as a multiple of its own
// level (the running maximum of (m−i)·p/level, at most 1/level), by index.
func holm(results []Result, in func(Result) bool) map[int]float64 {
	type entry struct {
		i        int
		p, level float64
	}
	var es []entry
	for i, r := range results {
		if r.Test == nil || r.Test.DecisionPValue == nil || r.Test.DecisionLevel <= 0 || !in(r) {
			continue
		}
		es = append(es, entry{i, *r.Test.DecisionPValue, r.Test.DecisionLevel})
	}
	sort.SliceStable(es, func(a, b int) bool { return es[a].p/es[a].level < es[b].p/es[b].level })
	out := make(map[int]float64, len(es))
	running := 0.0
	for k, e := range es {
		running = math.Max(running, math.Min(1/e.level, float64(len(es)-k)*e.p/e.level))
		out[e.i] = running
	}
	return out
}

// formatP prints a p-value or level with two significant digits.
func formatP(p float64) string {
	if p < 1e-4 {
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.2g", p)
}
