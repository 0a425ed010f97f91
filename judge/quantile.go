package judge

import (
	"fmt"
	"math"
	"strconv"

	"github.com/verdict-aca/verdict/judge/stat"
)

// TailPoints is the number of pooled points a quantile test expects above
// the pooled quantile before it judges: with 5 of them, all on the canary's
// side, the exact test reaches p ≈ 2⁻⁵ ≈ 0.03, below the default level 0.05.
const TailPoints = 5

// QuantileMinSamples is the number of points each side needs for a quantile
// test of q: enough that the pooled sample of two such sides expects
// TailPoints points above its q-quantile, ⌈TailPoints / (2(1−q))⌉ (250 for
// the 99th percentile, 50 for the 95th), or minSamples when that is larger.
func QuantileMinSamples(q float64, minSamples int) int {
	need := int(math.Ceil(TailPoints/(2*(1-q)) - 1e-9))
	return max(need, minSamples)
}

// quantileLabel names a quantile the way dashboards do: p99, p99.9, p95.
func quantileLabel(q float64) string {
	return "p" + strconv.FormatFloat(math.Round(q*1e6)/1e4, 'f', -1, 64)
}

// judgeQuantile applies the quantile test (stat.QuantileTest): it compares
// how many of each side's points lie above the pooled sample's q-quantile,
// with the exact conditional (Fisher) test, so that a tail that grows while
// the median stays put is seen. The rule:
//
//   - Each side needs QuantileMinSamples points, else nodata (gate
//     minSamples). The points are counted strictly above the pooled
//     quantile; when ties there leave too few above it for the test to
//     reach the decision level, they are counted at or above it instead
//     (a choice made from the pooled sample alone, so the test stays
//     exact). When neither split can reach the level on a harmful side,
//     the signal has nodata (gate resolution): the data cannot say.
//   - allowedChange a: the canary's values are divided by 1+a (a rise) or
//     1−a (a fall) before they are counted, and the test asks whether the
//     canary's tail is beyond (1±a) times the baseline's. When the canary
//     is the baseline scaled by at most 1+a, the scaled canary is
//     stochastically no larger than the baseline, so a healthy canary
//     within its allowance fails with probability at most the level. For
//     signals with negative values scaling has no meaning, and the canary
//     is shifted by a × |baseline quantile| instead (approximate: that
//     quantile is estimated).
//   - Significant on a harmful side, the change must also show in the point
//     estimates: the canary's quantile beyond (1±a) × the baseline's, else
//     pass (gate allowedChange). Beyond criticalChange it is critical.
//
// The p-value compared is the exact one-sided tail on the side the canary
// moved, corrected for serial correlation as the Mann-Whitney decision is
// (its normal deviate divided by √f, read on a Student t with (n+m)/f − 2
// degrees of freedom, f from VarianceInflation: the baseline's lag-1 rank
// autocorrelation, capped by that of the paired rank differences), at
// DecisionLevel; it takes part in Holm's adjustment across the canary's
// signals (AdjustFamily). Exceedances of a correlated series come in
// clusters, so without the correction an AR(1) φ = 0.9 latency failed its
// p99 test in about one A/A canary in six (docs/quality.md). The rank
// correlation overstates the clustering of rare exceedances, so the
// correction is conservative there; for independent points f ≈ 1.
func (w *Workspace) judgeQuantile(r Result, spec Spec, b, c sample, opts Options) Result {
	q := DefaultQuantile
	if spec.Quantile != nil {
		q = *spec.Quantile
	}
	label := quantileLabel(q)
	if need := QuantileMinSamples(q, spec.MinSamples); len(b.values) < need || len(c.values) < need {
		r = r.noData(spec, len(b.values), len(c.values), opts.Step)
		r.Reason = fmt.Sprintf("%s has too little data for a %s test: %d baseline and %d canary points; it needs %d on each side, so that %d points are expected above the pooled %s",
			spec.Name, label, len(b.values), len(c.values), need, TailPoints, label)
		if spec.MustHaveData {
			r.Reason += "; data is required for this signal, so it counts as a failure"
		}
		return r
	}
	level := DecisionLevel(opts, spec.Direction)
	qt, err := chooseSplit(c.sorted, b.sorted, q, level, spec.Direction)
	if err != nil {
		return r.invalid(fmt.Sprintf("%s: %v", spec.Name, err))
	}
	qb, qc := stat.Percentile(b.sorted, q), stat.Percentile(c.sorted, q)
	est := qc - qb
	scale := math.Abs(qb)
	t := &TestResult{
		Method:             Quantile,
		PValue:             ptr(qt.PValue()),
		Estimate:           ptr(est),
		Confidence:         opts.Confidence,
		Allowed:            ptr(spec.AllowedChange.Value),
		DecisionLevel:      level,
		Q:                  q,
		BaselineQuantile:   ptr(qb),
		CanaryQuantile:     ptr(qc),
		Threshold:          ptr(qt.Threshold),
		ThresholdInclusive: qt.Inclusive,
		BaselineAbove:      &qt.BaselineAbove,
		CanaryAbove:        &qt.CanaryAbove,
		ExpectedAbove:      ptr(qt.Expected()),
	}
	if lo, hi, err := stat.QuantileDifferenceInterval(c.sorted, b.sorted, q, opts.Confidence); err == nil {
		t.CILow, t.CIHigh = ptr(lo), ptr(hi)
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	if scale > 0 {
		t.RelativeShift = ptr(est / scale)
	}
	r.Test = t
	above := "above"
	if qt.Inclusive {
		above = "at or above"
	}
	counts := fmt.Sprintf("%d of %d canary points %s the pooled %s (%s), %s expected", qt.CanaryAbove, qt.CanaryN, above, label, formatValue(qt.Threshold), formatExpected(qt.Expected()))
	if !qt.Informative() || !canReach(qt, level, spec.Direction) {
		r.Classification, r.Gate = NoData, GateResolution
		r.Reason = fmt.Sprintf("%s has too little tail to judge its %s: %d of %d pooled points lie %s the pooled %s (%s), too few for the exact test to reach p ≤ %s whatever their side",
			spec.Name, label, qt.Above(), qt.CanaryN+qt.BaselineN, above, label, formatValue(qt.Threshold), formatP(level))
		if spec.MustHaveData {
			r.Gate, r.Failed, r.CriticalFailure = GateMustHaveData, true, spec.Critical
			r.Reason += "; data is required for this signal, so it counts as a failure"
		}
		return r
	}

	// The one-sided p-values, with the canary brought back by the allowed
	// change on each side (the unscaled test when nothing is allowed).
	a := spec.AllowedChange.Value
	pUp, pDown := qt.PValueGreater(), qt.PValueLess()
	if a > 0 {
		pUp = allowedP(c.sorted, b.sorted, q, a, qb, level, spec.Direction, true)
		pDown = allowedP(c.sorted, b.sorted, q, a, qb, level, spec.Direction, false)
	}
	inflation, rho := w.varianceInflation(b, c)
	df := float64(len(b.values)+len(c.values))/inflation - 2
	pUp, pDown = inflatePT(pUp, inflation, df), inflatePT(pDown, inflation, df)
	t.Autocorrelation, t.VarianceInflation = ptr(rho), inflation
	// The information of the 2×2 table about its log odds ratio, widened for
	// autocorrelation.
	if a, b2, c2, d2 := float64(qt.CanaryAbove), float64(qt.CanaryN-qt.CanaryAbove), float64(qt.BaselineAbove), float64(qt.BaselineN-qt.BaselineAbove); a > 0 && b2 > 0 && c2 > 0 && d2 > 0 {
		t.Information = 1 / (1/a + 1/b2 + 1/c2 + 1/d2) / inflation
	}
	up := pUp <= pDown
	pSide := math.Min(pUp, pDown)
	t.DecisionPValue = ptr(pSide)
	move := fmt.Sprintf("%s → %s", formatValue(qb), formatValue(qc))
	rel := func() string {
		if scale > 0 {
			return signedPercentOf(est / scale)
		}
		return signedValue(est)
	}
	if pSide > level {
		r.Classification, r.Gate = Pass, GateInterval
		r.Reason = fmt.Sprintf("%s %s shows no significant change (%s, %s): %s", spec.Name, label, move, rel(), counts)
		return r
	}
	size := rel()
	if len(size) > 0 && (size[0] == '+' || size[0] == '-') {
		size = size[1:]
	}
	if scale == 0 {
		size = "by " + size
	}
	changed := fmt.Sprintf("%s %s %s %s (%s): %s", spec.Name, label, riseOrFall(up), size, move, counts)
	if !spec.Direction.harmful(up) {
		r.Classification, r.Gate = Pass, GateDirection
		r.Reason = changed + fmt.Sprintf("; a %s is harmless for this signal", riseOrFallNoun(up))
		return r
	}
	allowed := a * scale
	if (up && est <= allowed) || (!up && est >= -allowed) {
		r.Classification, r.Gate = Pass, GateAllowedChange
		r.Reason = changed + "; the " + label + " itself moved within the allowed " + signedPercent(a, up)
		return r
	}
	reason := changed + allowedText(spec.AllowedChange, up)
	if inflation > 1.5 {
		reason += fmt.Sprintf(" (significant after correcting for autocorrelation %.2f)", rho)
	}
	beyondCritical := spec.CriticalChange != nil && math.Abs(est) > spec.CriticalChange.Value*scale
	return r.harmful(spec, up, beyondCritical, pSide, criticalLevel(opts, level), reason)
}

// chooseSplit runs the quantile test strictly above the pooled quantile,
// or at or above it when ties leave the strict split unable to reach the
// level on a harmful side and the inclusive one can. The choice reads only
// the pooled sample and the sizes, never which side a point came from.
func chooseSplit(canary, baseline []float64, q, level float64, d Direction) (stat.QuantileTest, error) {
	strict, err := stat.NewQuantileTest(canary, baseline, q)
	if err != nil {
		return strict, err
	}
	if strict.Informative() && canReach(strict, level, d) {
		return strict, nil
	}
	incl, err := stat.NewQuantileTestInclusive(canary, baseline, q)
	if err != nil {
		return strict, err
	}
	if incl.Informative() && canReach(incl, level, d) {
		return incl, nil
	}
	return strict, nil
}

// canReach reports whether some arrangement of the pooled points could make
// the test significant at level on a harmful side: the smallest attainable
// one-sided p-value is at most level.
func canReach(t stat.QuantileTest, level float64, d Direction) bool {
	return (d.harmful(true) && t.MinPValueGreater() <= level) || (d.harmful(false) && t.MinPValueLess() <= level)
}

// allowedP is the one-sided p-value of a rise (up) or fall beyond the
// allowed change a: the test of the canary divided by 1+a (or 1−a), or,
// when a value is negative, shifted by a × |baseline quantile|, against the
// baseline, with the split (strict or inclusive) chosen by chooseSplit from
// that test's own pooled sample, so that it stays exact.
func allowedP(canary, baseline []float64, q, a, qb, level float64, d Direction, up bool) float64 {
	if !up && a >= 1 && canary[0] >= 0 && baseline[0] >= 0 {
		return 1 // a non-negative quantile cannot fall by 100% or more
	}
	moved := make([]float64, len(canary))
	nonNegative := canary[0] >= 0 && baseline[0] >= 0
	for i, v := range canary {
		switch {
		case nonNegative && up:
			moved[i] = v / (1 + a)
		case nonNegative:
			moved[i] = v / (1 - a)
		case up:
			moved[i] = v - float64(a*math.Abs(qb))
		default:
			moved[i] = v + float64(a*math.Abs(qb))
		}
	}
	t, err := chooseSplit(moved, baseline, q, level, d)
	if err != nil {
		return 1
	}
	if up {
		return t.PValueGreater()
	}
	return t.PValueLess()
}

// formatExpected prints an expected count with one decimal when it has a fraction.
func formatExpected(v float64) string {
	if v == math.Round(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
