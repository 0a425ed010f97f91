package judge

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// judgeRate compares event counts (errors, 5xx per interval) as rates.
//
// Each point is a count of events in one interval. With kb events in n
// baseline intervals and kc in m canary intervals, the canary's share of all
// K = kb + kc events is, if the two rates are equal, Binomial(K, m/(n+m)):
// the exact conditional test for two Poisson rates (Przyborowski & Wilenski
// 1940; Lehmann & Romano, Testing Statistical Hypotheses, §4.5). The
// Clopper–Pearson interval of that share converts into an interval for the
// rate ratio canary/baseline. Because the test conditions on the total, a
// baseline with no events is no free pass: 8 canary errors against 0 give a
// ratio interval above 1, while 2 errors against 0 are not yet evidence.
//
// Production error counts are burstier than Poisson. The counts are scaled
// down by a quasi-Poisson dispersion factor φ (the pooled within-side
// variance over the mean, at least 1; McCullagh & Nelder, Generalized Linear
// Models, §6.2), so a bursty baseline does not turn noise into a verdict.
// Values are rounded to whole counts; a negative count is an error.
func judgeRate(r Result, spec Spec, b, c []float64, opts Options) Result {
	kb, err := countEvents(b)
	if err != nil {
		return r.invalid(fmt.Sprintf("%s: baseline %v", spec.Name, err))
	}
	kc, err := countEvents(c)
	if err != nil {
		return r.invalid(fmt.Sprintf("%s: canary %v", spec.Name, err))
	}
	n, m := float64(len(b)), float64(len(c))
	rb, rc := kb/n, kc/m
	t := &TestResult{
		Method:       Rate,
		Estimate:     ptr(rc - rb),
		Confidence:   opts.Confidence,
		BaselineRate: ptr(rb),
		CanaryRate:   ptr(rc),
		Allowed:      ptr(spec.AllowedChange.Value),
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	r.Test = t
	if kb+kc == 0 {
		r.Classification, r.Gate = Pass, GateInterval
		r.Reason = fmt.Sprintf("%s had no events on either side", spec.Name)
		return r
	}
	ratio := math.Inf(1)
	if rb > 0 {
		ratio = rc / rb
		t.RateRatio = ptr(ratio)
		t.RelativeShift = ptr(ratio - 1)
	}

	phi := dispersion(b, c)
	eb, ec := kb/phi, kc/phi
	total := eb + ec
	alpha := 1 - opts.Confidence
	shareLow, shareHigh := clopperPearson(ec, total, alpha)
	toRatio := func(share float64) float64 { return share / (1 - share) * n / m }
	ratioLow, ratioHigh := toRatio(shareLow), toRatio(shareHigh)
	t.RatioLow, t.RatioHigh = ptr(ratioLow), ptr(ratioHigh)
	t.PValue = ptr(binomialTwoSided(ec, total, m/(n+m)))

	describe := fmt.Sprintf("%s rate went from %s to %s per interval", spec.Name, formatValue(rb), formatValue(rc))
	if rb > 0 {
		describe += fmt.Sprintf(" (%s, %g%% CI ratio %s .. %s)", signedPercentOf(ratio-1), 100*opts.Confidence, formatValue(ratioLow), formatRatioBound(ratioHigh))
	} else {
		describe += fmt.Sprintf(" (%d vs %d events, %g%% CI ratio above %s)", int(kb), int(kc), 100*opts.Confidence, formatValue(ratioLow))
	}
	// The decision: the one-sided exact p-value on the side the canary
	// moved, at DecisionLevel.
	level := DecisionLevel(opts, spec.Direction)
	pUp, pDown := binomialUpper(ec, total, m/(n+m)), binomialLower(ec, total, m/(n+m))
	up := pUp <= pDown
	pSide := math.Min(pUp, pDown)
	t.DecisionLevel, t.DecisionPValue = level, ptr(pSide)
	if pSide > level {
		r.Classification, r.Gate = Pass, GateInterval
		r.Reason = describe + "; not a significant change"
		return r
	}
	oneLow, oneHigh := clopperPearson(ec, total, 2*level)
	if up {
		t.DecisionBound = ptr(toRatio(oneLow) - 1)
	} else {
		t.DecisionBound = ptr(toRatio(oneHigh) - 1)
	}
	if !spec.Direction.harmful(up) {
		r.Classification, r.Gate = Pass, GateDirection
		r.Reason = describe + fmt.Sprintf("; a %s is harmless for this signal", riseOrFall(up))
		return r
	}
	change := math.Abs(ratio - 1)
	if change <= spec.AllowedChange.Value {
		r.Classification, r.Gate = Pass, GateAllowedChange
		r.Reason = describe + ", within the allowed " + signedPercent(spec.AllowedChange.Value, up)
		return r
	}
	beyondCritical := spec.CriticalChange != nil && change > spec.CriticalChange.Value
	return r.harmful(spec, up, beyondCritical, pSide, level, describe+allowedText(spec.AllowedChange, up))
}

// binomialUpper is P(X ≥ x) for X ~ Binomial(total, p), via the regularized
// incomplete beta function (non-integer, dispersion-scaled counts allowed).
func binomialUpper(x, total, p float64) float64 {
	if x <= 0 {
		return 1
	}
	return mathext.RegIncBeta(x, total-x+1, p)
}

// binomialLower is P(X ≤ x) for X ~ Binomial(total, p).
func binomialLower(x, total, p float64) float64 {
	if x >= total {
		return 1
	}
	return 1 - mathext.RegIncBeta(x+1, total-x, p)
}

// countEvents sums the rounded counts, refusing negative ones.
func countEvents(values []float64) (float64, error) {
	var k float64
	for i, v := range values {
		if v < 0 {
			return 0, fmt.Errorf("point %d is %g; a rate test needs counts of events, which cannot be negative", i+1, v)
		}
		k += math.Round(v)
	}
	return k, nil
}

// dispersion is the quasi-Poisson factor: the pooled within-side variance of
// the counts divided by their pooled mean, never below 1.
func dispersion(b, c []float64) float64 {
	var ss, sum float64
	df := 0
	for _, side := range [][]float64{b, c} {
		if len(side) < 2 {
			continue
		}
		var mean float64
		for _, v := range side {
			mean += math.Round(v)
		}
		mean /= float64(len(side))
		for _, v := range side {
			d := math.Round(v) - mean
			ss += d * d
		}
		sum += mean * float64(len(side))
		df += len(side) - 1
	}
	if df == 0 || sum == 0 {
		return 1
	}
	pooledMean := sum / float64(len(b)+len(c))
	return math.Max(1, ss/float64(df)/pooledMean)
}

// clopperPearson is the exact two-sided interval at level 1-alpha for a
// binomial proportion with x successes in total trials (Clopper & Pearson
// 1934), via Beta quantiles so that non-integer (dispersion-scaled) counts work.
func clopperPearson(x, total, alpha float64) (lo, hi float64) {
	lo, hi = 0, 1
	if x > 0 {
		lo = distuv.Beta{Alpha: x, Beta: total - x + 1}.Quantile(alpha / 2)
	}
	if x < total {
		hi = distuv.Beta{Alpha: x + 1, Beta: total - x}.Quantile(1 - alpha/2)
	}
	return lo, hi
}

// binomialTwoSided is the two-sided p-value of x successes in total trials
// under success probability p: twice the smaller tail, at most 1. Tails use
// the regularized incomplete beta function, P(X >= x) = I_p(x, total-x+1).
func binomialTwoSided(x, total, p float64) float64 {
	upper, lower := 1.0, 1.0
	if x > 0 {
		upper = mathext.RegIncBeta(x, total-x+1, p)
	}
	if x < total {
		lower = 1 - mathext.RegIncBeta(x+1, total-x, p)
	}
	return math.Min(1, 2*math.Min(upper, lower))
}
