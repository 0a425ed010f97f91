package judge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/verdict-aca/verdict/judge/stat"
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
	t.Information = total * m / (n + m) * n / (n + m) // Var of the canary's share, dispersion-scaled

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
		r.Reason = describe + fmt.Sprintf("; a %s is harmless for this signal", riseOrFallNoun(up))
		return r
	}
	change := math.Abs(ratio - 1)
	if change <= spec.AllowedChange.Value {
		r.Classification, r.Gate = Pass, GateAllowedChange
		r.Reason = describe + ", within the allowed " + signedPercent(spec.AllowedChange.Value, up)
		return r
	}
	beyondCritical := spec.CriticalChange != nil && change > spec.CriticalChange.Value
	return r.harmful(spec, up, beyondCritical, pSide, criticalLevel(opts, level), describe+allowedText(spec.AllowedChange, up))
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

// countEvents sums the counts, refusing what cannot be a count (negative,
// or a fraction of one event: a per-second rate); extrapolated counts above
// one are rounded, as the test counts whole events.
func countEvents(values []float64) (float64, error) {
	var k float64
	for i, v := range values {
		if err := checkCount(v); err != nil {
			return 0, fmt.Errorf("point %d is %s; %v", i+1, formatCount(v), err)
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
			ss += float64(d * d)
		}
		sum += float64(mean * float64(len(side)))
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
		hi = distuv.Beta{Alpha: x + 1, Beta: total - x}.Quantile(1 - float64(alpha/2))
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

// judgeRatePerExposure compares the canary's events per unit of exposure
// (5xx per request) with the baseline's: the conditional test of two
// Poisson rates over windows (stat.RateComparison).
//
// Each window (or, for sides that do not align, the whole of each side)
// conditions on its own events, so neither the traffic split nor a rate
// that moves over time can make an unchanged canary look worse; windows
// with similar canary shares of exposure are grouped into strata. Counts
// are divided by the dispersion factor (rateDispersion) before the test.
// The decision tests "the ratio is at most 1 + allowedChange" (at least
// 1 − allowedChange for a fall), so a canary exactly at its allowance fails
// no more often than the level; the two-sided p-value, estimate (the
// conditional maximum-likelihood ratio) and interval are reported beside it.
func judgeRatePerExposure(s *countScratch, r Result, spec Spec, b, c counts, opts Options) Result {
	what := exposureWord(spec)
	t := &TestResult{
		Method:           Rate,
		Confidence:       opts.Confidence,
		Allowed:          ptr(spec.AllowedChange.Value),
		BaselineEvents:   ptr(b.totalEvents),
		CanaryEvents:     ptr(c.totalEvents),
		BaselineExposure: ptr(b.totalExposure),
		CanaryExposure:   ptr(c.totalExposure),
		Per:              what,
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	r.Test = t
	if res, done := noExposure(r, spec, b, c, what, opts.Step); done {
		return res
	}
	rb, rc := b.totalEvents/b.totalExposure, c.totalEvents/c.totalExposure
	t.BaselineRate, t.CanaryRate, t.Estimate = ptr(rb), ptr(rc), ptr(rc-rb)
	if b.totalEvents+c.totalEvents == 0 {
		r.Classification, r.Gate = Pass, GateInterval
		r.Reason = fmt.Sprintf("%s had no events on either side (%s vs %s %s)", spec.Name, formatCount(c.totalExposure), formatCount(b.totalExposure), what)
		return r
	}
	aligned := len(b.events) == len(c.events)
	var strata []stratum
	if aligned {
		strata = strataOf(s, b, c)
	} else {
		strata = pooledStratum(b, c)
	}
	rc0, err := rateComparison(strata, 1)
	if err != nil {
		return r.invalid(fmt.Sprintf("%s: %v", spec.Name, err))
	}
	theta := rc0.Estimate()
	phi, df := 1.0, 0
	if aligned {
		phi, df = rateDispersion(b, c, theta)
	} else {
		phi, df = pooledDispersion(b, c)
	}
	// The baseline's own clustering, which a small canary cannot show.
	if local, ldf := localDispersion(s, b, false); local > phi {
		phi, df = local, ldf
	}
	rcmp := rc0
	if phi > 1 {
		if rcmp, err = rateComparison(strata, phi); err != nil {
			return r.invalid(fmt.Sprintf("%s: %v", spec.Name, err))
		}
	}
	t.Dispersion, t.Strata = phi, rcmp.Strata()
	lo, hi := rcmp.Interval(opts.Confidence)
	t.RateRatio, t.RatioLow, t.RatioHigh = ptr(theta), ptr(lo), ptr(hi)
	t.RelativeShift = ptr(theta - 1)
	t.PValue = ptr(rcmp.PValue(1))

	describe := describeRatio(spec.Name, rc, rb, c, b, what, theta, lo, hi, opts.Confidence)
	level := DecisionLevel(opts, spec.Direction)
	a := spec.AllowedChange.Value
	// The evidence: information about log θ, the harmful side's bound.
	at := theta
	if !(at > 0) || math.IsInf(at, 0) {
		at = 1
	}
	if v := rcmp.Variance(at); v > 0 {
		t.Information = v
		t.Detectable = ptr(math.Expm1((upperQuantile(level) + upperQuantile(0.2)) / math.Sqrt(v)))
	}
	t.RulesOut = rulesOutRatio(spec.Direction, func() float64 { return rcmp.UpperBound(1-level) - 1 }, func() float64 { return rcmp.LowerBound(1-level) - 1 })
	pUp := dispersedP(rcmp.UpperTail(1+a), df)
	pDown := 1.0
	if a < 1 {
		pDown = dispersedP(rcmp.LowerTail(1-a), df)
	}
	up := pUp <= pDown
	pSide := math.Min(pUp, pDown)
	t.DecisionLevel, t.DecisionPValue = level, ptr(pSide)
	if up {
		t.DecisionBound = ptr(rcmp.LowerBound(1-level) - 1)
	} else {
		t.DecisionBound = ptr(rcmp.UpperBound(1-level) - 1)
	}
	if pSide > level {
		r.Classification, r.Gate = Pass, GateInterval
		if a > 0 {
			r.Gate = GateAllowedChange
			r.Reason = describe + fmt.Sprintf("; not significantly beyond the allowed %s", allowedOnHarmfulSide(spec.AllowedChange, spec.Direction))
		} else {
			r.Reason = describe + "; not a significant change"
		}
		return r
	}
	if !spec.Direction.harmful(up) {
		r.Classification, r.Gate = Pass, GateDirection
		r.Reason = describe + fmt.Sprintf("; a %s is harmless for this signal", riseOrFallNoun(up))
		return r
	}
	beyondCritical := false
	if spec.CriticalChange != nil {
		cv := spec.CriticalChange.Value
		if up {
			beyondCritical = dispersedP(rcmp.UpperTail(1+cv), df) <= level
		} else if cv < 1 {
			beyondCritical = dispersedP(rcmp.LowerTail(1-cv), df) <= level
		}
	}
	return r.harmful(spec, up, beyondCritical, pSide, criticalLevel(opts, level), describe+allowedText(spec.AllowedChange, up))
}

// rulesOutRatio is what a test of a ratio rules out on the harmful side:
// the upper bound of the relative change for a rise, the lower for a fall
// (negative), the larger in size for either; nil when unbounded.
func rulesOutRatio(d Direction, upper, lower func() float64) *float64 {
	switch d {
	case Increase:
		return ptr(upper())
	case Decrease:
		return ptr(lower())
	}
	u, l := upper(), lower()
	return ptr(math.Max(u, -l))
}

// rateComparison builds the conditional test on strata, each count divided
// by the dispersion phi.
func rateComparison(strata []stratum, phi float64) (*stat.RateComparison, error) {
	k := make([]float64, len(strata))
	odds := make([]float64, len(strata))
	var x float64
	for i, s := range strata {
		k[i], odds[i] = s.events/phi, s.odds
		x += s.canary / phi
	}
	return stat.NewRateComparison(k, odds, x)
}

// noExposure gives nodata when a side had too little exposure to judge,
// saying how many more windows (minutes, when the step is known) the
// canary needs at its current traffic.
func noExposure(r Result, spec Spec, b, c counts, what string, step time.Duration) (Result, bool) {
	need := float64(spec.MinExposure)
	var short []string
	if b.totalExposure < need {
		short = append(short, fmt.Sprintf("the baseline had %s %s", formatCount(b.totalExposure), what))
	}
	if c.totalExposure < need {
		short = append(short, fmt.Sprintf("the canary had %s %s", formatCount(c.totalExposure), what))
	}
	if len(short) == 0 {
		return r, false
	}
	r.Classification, r.Gate = NoData, GateMinSamples
	r.Reason = fmt.Sprintf("%s has too little traffic to judge: %s, and at least %s are needed on each side", spec.Name, joinAnd(short), formatCount(need))
	if c.totalExposure > 0 && c.totalExposure < need && len(c.exposure) > 0 {
		perWindow := c.totalExposure / float64(len(c.exposure))
		more := int(math.Ceil((need - c.totalExposure) / perWindow))
		if step > 0 {
			r.Reason += fmt.Sprintf(" (at the canary's %s %s per %s, about %s more)", formatCount(math.Round(perWindow)), what, formatDuration(step), formatDuration(time.Duration(more)*step))
		} else {
			r.Reason += fmt.Sprintf(" (at the canary's %s per window, %d more windows)", formatCount(math.Round(perWindow)), more)
		}
	}
	if spec.MustHaveData {
		r.Gate, r.Failed = GateMustHaveData, true
		r.CriticalFailure = spec.Critical
		r.Reason += "; data is required for this signal, so it counts as a failure"
	}
	return r, true
}

// describeRatio words a comparison of rates: "error_ratio: 1.90% vs 1.00%
// of requests (41 of 2,154 vs 20,304 of 2,031,480), ratio 1.9× (95% CI
// 1.4× .. 2.5×)".
func describeRatio(name string, rc, rb float64, c, b counts, what string, theta, lo, hi, conf float64) string {
	s := fmt.Sprintf("%s: %s vs %s of %s (canary %s of %s, baseline %s of %s)", name, formatShare(rc), formatShare(rb), what,
		formatCount(c.totalEvents), formatCount(c.totalExposure), formatCount(b.totalEvents), formatCount(b.totalExposure))
	if math.IsInf(theta, 1) {
		return s + fmt.Sprintf(", none on the baseline (%g%% CI ratio above %s)", 100*conf, formatTimes(lo))
	}
	return s + fmt.Sprintf(", ratio %s (%g%% CI %s .. %s)", formatTimes(theta), 100*conf, formatTimes(lo), formatTimes(hi))
}

// formatShare prints a share as a percentage with two significant digits
// of the share, or of what it lacks of 100% when that is smaller: "0.052%",
// "1.9%", "23%", "99.50%", "99.95%".
func formatShare(v float64) string {
	p := float64(100 * v)
	switch {
	case p == 0 || p == 100:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	case p > 50:
		lack := 100 - p
		digits := max(0, 1-int(math.Floor(math.Log10(lack))))
		return strconv.FormatFloat(p, 'f', digits, 64) + "%"
	case p >= 10:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	default:
		return strconv.FormatFloat(p, 'g', 2, 64) + "%"
	}
}

// formatTimes prints a ratio as "1.9×" ("∞" for an unbounded one).
func formatTimes(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	case v >= 0.1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	}
	return strconv.FormatFloat(v, 'g', 2, 64) + "×"
}

// exposureWord names what a count signal's events are out of: its exposure
// (or trials) series, or "exposure".
func exposureWord(spec Spec) string {
	switch {
	case spec.Exposure != "":
		return spec.Exposure
	case spec.Trials != "":
		return spec.Trials
	}
	return "exposure"
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
