package judge

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/verdict-aca/verdict/judge/stat"
)

// Classification is the judge's answer for one signal.
type Classification string

// The classifications of a signal.
const (
	Pass   Classification = "pass"   // no harmful change beyond what is allowed
	High   Classification = "high"   // the canary is higher, harmfully
	Low    Classification = "low"    // the canary is lower, harmfully
	NoData Classification = "nodata" // too few points to judge
	Error  Classification = "error"  // the data could not be judged (bad values, source failure)
)

// Gate names the rule that decided a classification, so a reader can tell
// "no significant change" from "a real change, but within the allowed one".
type Gate string

// The gates a decision can come from.
const (
	GateMinSamples     Gate = "minSamples"     // too few points: nodata
	GateMustHaveData   Gate = "mustHaveData"   // too few points, and data was required: failure
	GateIdentical      Gate = "identical"      // both sides one and the same constant
	GateInterval       Gate = "interval"       // the interval contains no change: pass
	GateAllowedChange  Gate = "allowedChange"  // significant; compared with the allowed change
	GateCriticalChange Gate = "criticalChange" // significant and beyond the critical change
	GateDirection      Gate = "direction"      // significant, in the harmless direction: pass
	GateThreshold      Gate = "threshold"      // threshold test bound
	GateResolution     Gate = "resolution"     // too few points in the tail to reach the level: nodata
	GateInvalid        Gate = "invalid"        // the data cannot be judged
	GateSource         Gate = "source"         // the data could not be fetched
	GateUndecided      Gate = "undecided"      // no harm shown, and not yet shown within the allowance: no verdict yet

	// Gates of the Kayenta-compatible judge (judge: kayenta).
	GateMissingData        Gate = "missingData"        // a side has no points after NaN handling
	GateIdenticalData      Gate = "identicalData"      // both sides hold the same values: pass
	GateToleranceBand      Gate = "toleranceBand"      // the interval is compared with ±25% of the estimate
	GateEffectSize         Gate = "effectSize"         // the interval cleared the band; the effect size did not
	GateCriticalEffectSize Gate = "criticalEffectSize" // a critical signal's effect size reached its critical bound
)

// Options are the judgement settings shared by all signals of an analysis.
type Options struct {
	// Confidence is the confidence level of the reported two-sided interval
	// (default 0.95). The decision compares a one-sided p-value with
	// 1 − Confidence, split between the two sides for direction either (see
	// DecisionLevel).
	Confidence float64
	// Look and Looks number the judgements of a multi-interval run that
	// looks at the same canary repeatedly (look 1 of Looks, ...). Zero means
	// a single judgement.
	Look, Looks int
	// Step is the time each point (window) covers, when known (live
	// analyses): a signal without enough data then says how many more
	// minutes it needs.
	Step time.Duration
	// Extrapolated says that counts may have been extrapolated to their
	// windows (live sources: Prometheus' increase()), so that events a
	// little above their exposure are noise, not a mistake.
	Extrapolated bool
	// Anytime, when set, makes the decision valid at every look of the
	// same canary (see Anytime). The caller sets it per signal.
	Anytime *Anytime
	// Elapsed is how long the data cover, when known: a signal not yet
	// shown within its allowance says how much longer it needs.
	Elapsed time.Duration

	// levelOverride, when set, replaces DecisionLevel (Anytime's second
	// judgement); criticalOverride, when set, replaces the critical level
	// CriticalLevelFactor × level (a known horizon's critical boundary).
	levelOverride, criticalOverride float64
}

// DefaultConfidence is the confidence level used when Options.Confidence is 0.
const DefaultConfidence = 0.95

// Result is the judgement of one signal. Its JSON form is part of the
// verdict/report/v1 contract.
type Result struct {
	Name           string         `json:"name"`
	Group          string         `json:"group"`
	Classification Classification `json:"classification"`
	// Critical copies the signal's critical flag.
	Critical bool `json:"critical"`
	// CriticalFailure is true when this signal alone fails the canary.
	CriticalFailure bool `json:"criticalFailure"`
	// Failed is true when the signal counts as a failure in scoring: high,
	// low, or nodata with mustHaveData.
	Failed bool `json:"failed"`
	// Gate is the rule that decided the classification.
	Gate   Gate   `json:"gate"`
	Reason string `json:"reason"`
	// Baseline and Canary describe the points the test used (after cleaning).
	Baseline stat.Summary `json:"baseline"`
	Canary   stat.Summary `json:"canary"`
	// Test holds the test's figures; nil when no test ran.
	Test *TestResult `json:"test"`
}

// TestResult holds the figures of the test that judged a signal. Fields
// that do not apply to a method are omitted; undefined values are null.
type TestResult struct {
	Method Method `json:"method"`
	// Direction is the change the signal holds harmful (increase,
	// decrease, either): the side Allowed applies to.
	Direction Direction `json:"direction,omitempty"`
	// PValue is the two-sided p-value of "no change".
	PValue *float64 `json:"pValue,omitempty"`
	// Estimate is the estimated change canary − baseline (Hodges–Lehmann
	// shift for mann-whitney, rate difference per point for rate) or the
	// canary statistic for threshold.
	Estimate *float64 `json:"estimate"`
	// CILow and CIHigh bound Estimate's two-sided interval at Confidence.
	CILow      *float64 `json:"ciLow,omitempty"`
	CIHigh     *float64 `json:"ciHigh,omitempty"`
	Confidence float64  `json:"confidence,omitempty"`
	// RelativeShift is Estimate relative to the baseline median (or the rate
	// ratio − 1); null when the baseline is zero.
	RelativeShift *float64 `json:"relativeShift"`
	// Allowed and CriticalAllowed are the relative changes the decision compared against.
	Allowed         *float64 `json:"allowed,omitempty"`
	CriticalAllowed *float64 `json:"criticalAllowed,omitempty"`
	// DecisionBound is the one-sided bound, on the side the canary moved,
	// at the decision's level (after the autocorrelation correction, before
	// the correction across signals), relative like RelativeShift: the
	// change is significant when it lies beyond zero.
	DecisionBound *float64 `json:"decisionBound,omitempty"`
	// DecisionPValue is the one-sided p-value of "no change" against a change
	// on the side the canary moved, after the autocorrelation correction;
	// DecisionLevel the level it is compared with (DecisionLevel); and
	// AdjustedPValue the p-value after Holm's correction across the canary's
	// signals (set by AdjustFamily, which scoring applies).
	DecisionPValue *float64 `json:"decisionPValue,omitempty"`
	DecisionLevel  float64  `json:"decisionLevel,omitempty"`
	AdjustedPValue *float64 `json:"adjustedPValue,omitempty"`
	// Autocorrelation is the lag-1 rank autocorrelation the decision
	// corrected for, and VarianceInflation the factor it applied to the
	// variance of the statistic (see VarianceInflation).
	Autocorrelation   *float64 `json:"autocorrelation,omitempty"`
	VarianceInflation float64  `json:"varianceInflation,omitempty"`

	// Rate test figures: events per point (per unit of exposure when the
	// signal has one; successes per trial for proportion) and their ratio
	// with its interval.
	BaselineRate *float64 `json:"baselineRate,omitempty"`
	CanaryRate   *float64 `json:"canaryRate,omitempty"`
	RateRatio    *float64 `json:"rateRatio,omitempty"`
	RatioLow     *float64 `json:"ratioLow,omitempty"`
	RatioHigh    *float64 `json:"ratioHigh,omitempty"`
	// Counts behind a rate with exposure, a proportion or a histogram test:
	// each side's events (successes; observations beyond the bound) and
	// exposure (trials; observations), and Per, the name of what the events
	// are out of.
	BaselineEvents   *float64 `json:"baselineEvents,omitempty"`
	CanaryEvents     *float64 `json:"canaryEvents,omitempty"`
	BaselineExposure *float64 `json:"baselineExposure,omitempty"`
	CanaryExposure   *float64 `json:"canaryExposure,omitempty"`
	Per              string   `json:"per,omitempty"`
	// Dispersion is the quasi-likelihood factor the counts' variance was
	// multiplied by (1: as binomial or Poisson), and Strata the number of
	// groups of windows the conditional test compared within.
	Dispersion float64 `json:"dispersion,omitempty"`
	Strata     int     `json:"strata,omitempty"`
	// Evidence: Information is the test's information on its decision
	// scale (1/variance of the estimate), what sequential decisions are
	// measured in; RulesOut the one-sided bound on the harmful side at the
	// decision level, relative like RelativeShift ("the data rule out a rise
	// above +4%"), null when the harmful side is unbounded; Detectable the
	// smallest harmful change a test of this information detects 80% of the
	// time at the decision level, relative. For direction either, RulesOut
	// and Detectable are the larger of the two sides.
	Information float64  `json:"information,omitempty"`
	RulesOut    *float64 `json:"rulesOut,omitempty"`
	Detectable  *float64 `json:"detectable,omitempty"`
	// Anytime-valid decisions (sequential: anytime): the information the
	// signal is expected to hold at its horizon (Reference, kept from its
	// first look), and AnytimeLevel, the fixed-sample level equivalent to
	// the normal-mixture boundary at this information, or, with a known
	// horizon, to this look's spent boundary (Horizon): DecisionBound and
	// RulesOut are taken at it, and DecisionPValue is the anytime p-value
	// (with a known horizon, the smallest level whose boundary the signal
	// reached at this look, 1 when none).
	Reference    float64 `json:"reference,omitempty"`
	AnytimeLevel float64 `json:"anytimeLevel,omitempty"`
	// Points says that Allowed, CriticalAllowed, Estimate, CILow, CIHigh
	// and DecisionBound are differences of shares (percentage points as
	// fractions), not relative changes: a proportion test with a margin in
	// points.
	Points bool `json:"points,omitempty"`

	// Quantile test figures (see judgeQuantile): the quantile Q, each
	// side's type-7 Q-quantile, the pooled Q-quantile the points were
	// counted against (Threshold), how many of each side lay above it (at or
	// above when ThresholdInclusive), and how many canary points "no
	// change" would put there (ExpectedAbove). PValue is Fisher's two-sided
	// p-value of that 2×2 table; Estimate is CanaryQuantile − BaselineQuantile
	// and CILow/CIHigh its distribution-free interval (null when a side has
	// too few points to bound its quantile).
	Q                  float64  `json:"quantile,omitempty"`
	BaselineQuantile   *float64 `json:"baselineQuantile,omitempty"`
	CanaryQuantile     *float64 `json:"canaryQuantile,omitempty"`
	Threshold          *float64 `json:"threshold,omitempty"`
	ThresholdInclusive bool     `json:"thresholdInclusive,omitempty"`
	BaselineAbove      *int     `json:"baselineAbove,omitempty"`
	CanaryAbove        *int     `json:"canaryAbove,omitempty"`
	ExpectedAbove      *float64 `json:"expectedAbove,omitempty"`

	// Threshold test figures.
	Statistic Statistic `json:"statistic,omitempty"`
	Min       *float64  `json:"min,omitempty"`
	Max       *float64  `json:"max,omitempty"`

	// Kayenta judge figures (judge: kayenta): Band is the margin the
	// interval had to clear (0.25 × |estimate|, in the signal's units), and
	// EffectSize the effect size its gates compared.
	Band       *float64    `json:"band,omitempty"`
	EffectSize *EffectSize `json:"effectSize,omitempty"`
}

// EffectSize is the effect size a Kayenta-compatible judgement compared
// with its allowed and critical bounds.
type EffectSize struct {
	// Measure is meanRatio (canary mean / baseline mean) or cles (the
	// probability that a canary point exceeds a baseline point).
	Measure string `json:"measure"`
	// Value is null when undefined (a mean ratio with a zero mean).
	Value *float64 `json:"value"`
	// Allowed and Critical are the bounds on the harmful side the decision
	// compared Value with, when it did.
	Allowed  *float64 `json:"allowed,omitempty"`
	Critical *float64 `json:"critical,omitempty"`
}

// Judge classifies one signal: the canary's points against the baseline's.
// It is a pure function of its inputs and never panics on data: values it
// cannot judge (±Inf, negative counts) give an Error result with a reason.
// It works in a new Workspace; Workspace.Judge reuses one.
func Judge(spec Spec, baseline, canary []float64, opts Options) Result {
	var w Workspace
	return w.Judge(spec, baseline, canary, opts)
}

// JudgeSamples classifies one signal whose sides may carry exposures or
// histograms (see Sample). It works in a new Workspace.
func JudgeSamples(spec Spec, baseline, canary Sample, opts Options) Result {
	var w Workspace
	return w.JudgeSamples(spec, baseline, canary, opts)
}

// JudgeSamples is the package's JudgeSamples working in w's memory.
func (w *Workspace) JudgeSamples(spec Spec, baseline, canary Sample, opts Options) Result {
	spec = spec.WithDefaults()
	if opts.Confidence == 0 {
		opts.Confidence = DefaultConfidence
	}
	r := w.judgeOnce(spec, baseline, canary, opts)
	if opts.Anytime != nil {
		r = w.anytime(spec, baseline, canary, opts, r)
	}
	if spec.RequireEvidence {
		r = requireEvidence(spec, r, opts.Elapsed)
	}
	return withDirection(r, spec)
}

// judgeOnce runs the signal's test once, at opts' level.
func (w *Workspace) judgeOnce(spec Spec, baseline, canary Sample, opts Options) Result {
	switch {
	case spec.Test == Histogram:
		w.counts.reset()
		return judgeHistogram(&w.counts, spec, baseline.Histogram, canary.Histogram, opts)
	case spec.Test == Proportion, spec.Test == Rate && spec.Exposure != "":
		w.counts.reset()
		return judgeCounts(&w.counts, spec, baseline, canary, opts)
	}
	return w.judgeValues(spec, baseline.Values, canary.Values, opts)
}

// withDirection records in the test figures which change the signal holds
// harmful, so that a report can word its allowance on that side.
func withDirection(r Result, spec Spec) Result {
	if r.Test != nil {
		r.Test.Direction = spec.Direction
	}
	return r
}

// judgeCounts runs a rate test with exposure or a proportion test.
func judgeCounts(s *countScratch, spec Spec, baseline, canary Sample, opts Options) Result {
	r := Result{Name: spec.Name, Group: spec.Group, Critical: spec.Critical}
	eventsWhat, exposureWhat := "events", exposureWord(spec)
	if spec.Test == Proportion {
		eventsWhat = "successes"
	}
	for _, side := range []struct {
		name string
		s    Sample
	}{{"baseline", baseline}, {"canary", canary}} {
		if side.s.Exposure == nil && len(side.s.Values) > 0 {
			return r.invalid(fmt.Sprintf("%s: the %s has no %s series, which a %s test needs beside the %s", spec.Name, side.name, exposureWhat, spec.Test, eventsWhat))
		}
	}
	b, err := cleanCounts(s, spec, "baseline", baseline.Values, baseline.Exposure, eventsWhat, exposureWhat, opts.Extrapolated)
	if err != nil {
		return r.invalid(err.Error())
	}
	c, err := cleanCounts(s, spec, "canary", canary.Values, canary.Exposure, eventsWhat, exposureWhat, opts.Extrapolated)
	if err != nil {
		return r.invalid(err.Error())
	}
	if spec.Test == Proportion {
		return judgeProportion(s, r, spec, b, c, opts)
	}
	return judgeRatePerExposure(s, r, spec, b, c, opts)
}

// Judge is the package's Judge working in w's memory.
func (w *Workspace) Judge(spec Spec, baseline, canary []float64, opts Options) Result {
	return w.JudgeSamples(spec, Sample{Values: baseline}, Sample{Values: canary}, opts)
}

func (w *Workspace) judgeValues(spec Spec, baseline, canary []float64, opts Options) Result {
	if opts.Confidence == 0 {
		opts.Confidence = DefaultConfidence
	}
	r := Result{Name: spec.Name, Group: spec.Group, Critical: spec.Critical}
	switch {
	case spec.Test == Histogram:
		return r.invalid(fmt.Sprintf("%s: a histogram test needs bucket counts, not points", spec.Name))
	case spec.Test == Proportion || spec.Test == Rate && spec.Exposure != "":
		w.counts.reset()
		return judgeCounts(&w.counts, spec, Sample{Values: baseline}, Sample{Values: canary}, opts)
	}

	for _, side := range []struct {
		name   string
		values []float64
	}{{"baseline", baseline}, {"canary", canary}} {
		if i := slices.IndexFunc(side.values, func(v float64) bool { return math.IsInf(v, 0) }); i >= 0 {
			return r.invalid(fmt.Sprintf("%s: %s point %d is %v; infinite values cannot be judged", spec.Name, side.name, i+1, side.values[i]))
		}
	}
	b := w.sample(0, w.clean(0, baseline, spec))
	c := w.sample(1, w.clean(1, canary, spec))
	r.Baseline, r.Canary = stat.DescribeSorted(b.sorted), stat.DescribeSorted(c.sorted)

	// The quantile test checks its own, larger need (QuantileMinSamples)
	// and words it.
	if spec.Test != Quantile && (len(b.values) < spec.MinSamples || len(c.values) < spec.MinSamples) {
		return r.noData(spec, len(b.values), len(c.values), opts.Step)
	}
	switch spec.Test {
	case Threshold:
		return judgeThreshold(r, spec)
	case Rate:
		return judgeRate(r, spec, b.values, c.values, opts)
	case Quantile:
		return w.judgeQuantile(r, spec, b, c, opts)
	default:
		return w.judgeShift(r, spec, b, c, opts)
	}
}

// clean applies the NaN and outlier policies to one side. It returns values
// itself when they need no change (the judge never writes to them), else
// the side's cleaned buffer or, removing outliers, a new slice.
func (w *Workspace) clean(side int, values []float64, spec Spec) []float64 {
	if spec.Outliers != OutliersRemove && !slices.ContainsFunc(values, math.IsNaN) {
		return values
	}
	out := w.sides[side].cleaned[:0]
	for _, v := range values {
		if math.IsNaN(v) {
			if spec.NaN != NaNZero {
				continue
			}
			v = 0
		}
		out = append(out, v)
	}
	w.sides[side].cleaned = out
	if spec.Outliers == OutliersRemove && len(out) > 0 {
		out = stat.RemoveOutliers(out, OutlierFactor)
	}
	return out
}

// Unavailable is the result of a signal whose data could not be fetched
// (a source down, a bad query): classification error, with the reason given.
func Unavailable(spec Spec, reason string) Result {
	return Result{Name: spec.Name, Group: spec.Group, Critical: spec.Critical,
		Classification: Error, Gate: GateSource, Reason: spec.Name + ": " + reason}
}

func (r Result) invalid(reason string) Result {
	r.Classification, r.Gate, r.Reason = Error, GateInvalid, reason
	return r
}

func (r Result) noData(spec Spec, nb, nc int, step time.Duration) Result {
	r.Classification, r.Gate = NoData, GateMinSamples
	r.Reason = fmt.Sprintf("%s has too little data: %d baseline and %d canary points, %d needed on each side", spec.Name, nb, nc, spec.MinSamples)
	if short := spec.MinSamples - min(nb, nc); step > 0 && short > 0 {
		r.Reason += fmt.Sprintf(" (at one point per %s, %s more; or a finer step)", formatDuration(step), formatDuration(time.Duration(short)*step))
	}
	if spec.MustHaveData {
		r.Gate, r.Failed = GateMustHaveData, true
		r.CriticalFailure = spec.Critical
		r.Reason += "; data is required for this signal, so it counts as a failure"
	}
	return r
}

// harmful reports whether a change upwards (up) or downwards is harmful.
func (d Direction) harmful(up bool) bool {
	return d == Either || (up && d == Increase) || (!up && d == Decrease)
}

// judgeShift applies the Mann-Whitney rule: the canary is high when the
// one-sided p-value of a rise, corrected for autocorrelation, is at most the
// decision level and the estimate exceeds the allowed change (relative to
// the baseline median); low symmetrically. For one signal of independent
// points this is "the one-sided bound at Confidence on the harmful side lies
// beyond zero" (for direction either: the two-sided interval excludes zero).
func (w *Workspace) judgeShift(r Result, spec Spec, b, c sample, opts Options) Result {
	mw, err := w.mw.NewMannWhitney(c.sorted, b.sorted)
	if err != nil {
		return r.invalid(fmt.Sprintf("%s: %v", spec.Name, err))
	}
	bConst, cConst := r.Baseline.Min == r.Baseline.Max, r.Canary.Min == r.Canary.Max
	if bConst && cConst && r.Baseline.Min == r.Canary.Min {
		r.Classification, r.Gate = Pass, GateIdentical
		r.Reason = fmt.Sprintf("%s is the constant %g on both sides", spec.Name, r.Baseline.Min)
		return r
	}
	est := mw.Estimate()
	lo, hi, err := mw.Interval(opts.Confidence)
	level := DecisionLevel(opts, spec.Direction)
	inflation, rho := w.varianceInflation(b, c)
	df := float64(len(b.values)+len(c.values))/inflation - 2
	pUp, pDown := inflatePT(mw.PValueGreater(), inflation, df), inflatePT(mw.PValueLess(), inflation, df)
	known := false
	if err != nil {
		if !bConst || !cConst {
			return r.invalid(fmt.Sprintf("%s: %v", spec.Name, err))
		}
		// Two different constants: every pairwise difference is the same
		// number, so the shift is known exactly (R refuses the interval, and
		// Kayenta adds random noise; a fixed rule is reproducible).
		est = r.Canary.Min - r.Baseline.Min
		lo, hi = est, est
		known = true
		pUp, pDown = 1, 1
		if est > 0 {
			pUp = 0
		} else {
			pDown = 0
		}
	}
	scale := math.Abs(r.Baseline.Median)
	t := &TestResult{
		Method:            MannWhitney,
		PValue:            ptr(mw.PValue()),
		Estimate:          ptr(est),
		CILow:             ptr(lo),
		CIHigh:            ptr(hi),
		Confidence:        opts.Confidence,
		Allowed:           ptr(spec.AllowedChange.Value),
		DecisionLevel:     level,
		Autocorrelation:   ptr(rho),
		VarianceInflation: inflation,
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	if scale > 0 {
		t.RelativeShift = ptr(est / scale)
	}
	r.Test = t
	d := shiftDescriber{name: spec.Name, scale: scale, confidence: opts.Confidence}
	if !known {
		// The evidence: the interval's normal-equivalent standard error,
		// widened for autocorrelation, and the harmful side's bound.
		se := (hi - lo) / (2 * upperQuantile((1-opts.Confidence)/2)) * math.Sqrt(inflation)
		if se > 0 && !math.IsInf(se, 0) {
			t.Information = 1 / (se * se)
			if scale > 0 {
				t.Detectable = ptr((upperQuantile(level) + upperQuantile(0.2)) * se / scale)
			}
		}
		conf := 1 - levelUnderInflation(level, inflation)
		var rules float64
		for _, side := range []bool{true, false} {
			if !spec.Direction.harmful(side) {
				continue
			}
			var b float64
			var err error
			if side {
				b, err = mw.UpperBound(conf)
			} else {
				b, err = mw.LowerBound(conf)
				b = -b
			}
			if err != nil {
				rules = math.NaN()
				break
			}
			rules = math.Max(rules, b)
		}
		if scale > 0 {
			t.RulesOut = ptr(rules / scale)
			if spec.Direction == Decrease {
				t.RulesOut = ptr(-rules / scale)
			}
		}
	}

	// The side the canary moved: the harmful one when only one is harmful
	// and the data point that way, else the side with the smaller p-value.
	up := pUp <= pDown
	pSide := math.Min(pUp, pDown)
	t.DecisionPValue = ptr(pSide)
	if pSide > level {
		r.Classification, r.Gate = Pass, GateInterval
		r.Reason = d.noChange(est, lo, hi)
		return r
	}
	bound := est
	if !known {
		// The one-sided bound at the decision's level, corrected for
		// autocorrelation (the uncorrected bound at the stricter level).
		conf := 1 - levelUnderInflation(level, inflation)
		if up {
			bound, err = mw.LowerBound(conf)
		} else {
			bound, err = mw.UpperBound(conf)
		}
		if err != nil {
			bound = math.NaN()
		}
	}
	if scale > 0 {
		t.DecisionBound = ptr(bound / scale)
	}
	if !spec.Direction.harmful(up) {
		r.Classification, r.Gate = Pass, GateDirection
		r.Reason = d.change(est, lo, hi) + fmt.Sprintf("; a %s is harmless for this signal", riseOrFallNoun(up))
		return r
	}
	allowed := spec.AllowedChange.Value * scale
	if math.Abs(est) <= allowed {
		r.Classification, r.Gate = Pass, GateAllowedChange
		r.Reason = d.change(est, lo, hi) + ", within the allowed " + signedPercent(spec.AllowedChange.Value, up)
		return r
	}
	reason := d.change(est, lo, hi) + allowedText(spec.AllowedChange, up)
	if inflation > 1.5 {
		reason += fmt.Sprintf(" (significant after correcting for autocorrelation %.2f)", rho)
	}
	beyondCritical := spec.CriticalChange != nil && math.Abs(est) > spec.CriticalChange.Value*scale
	return r.harmful(spec, up, beyondCritical, pSide, criticalLevel(opts, level), reason)
}

// harmful marks r as a significant change beyond the allowance on the
// harmful side: high or low. It is a critical failure when the change is
// beyond criticalChange or the signal is critical, provided the evidence
// meets the stricter critical level (criticalLevel); weaker
// evidence counts as an ordinary failure, and the reason says so.
func (r Result) harmful(spec Spec, up, beyondCritical bool, pSide, critical float64, reason string) Result {
	r.Classification, r.Gate, r.Failed = High, GateAllowedChange, true
	if !up {
		r.Classification = Low
	}
	r.Reason = reason
	strong := pSide <= critical
	if beyondCritical {
		r.Gate, r.CriticalFailure = GateCriticalChange, strong
		r.Reason += ", critical beyond " + signedPercent(spec.CriticalChange.Value, up)
	}
	if spec.Critical {
		r.CriticalFailure = strong
	}
	if (spec.Critical || beyondCritical) && !strong {
		r.Reason += fmt.Sprintf("; the evidence (p = %s) falls short of the p ≤ %s needed for a critical failure, so it counts as an ordinary failure", formatP(pSide), formatP(critical))
	}
	return r
}

// judgeThreshold checks a statistic of the canary against fixed bounds.
func judgeThreshold(r Result, spec Spec) Result {
	v := canaryStatistic(r.Canary, spec.Statistic)
	r.Test = &TestResult{Method: Threshold, Estimate: ptr(v), Statistic: spec.Statistic, Min: spec.Min, Max: spec.Max}
	r.Gate = GateThreshold
	switch {
	case spec.Max != nil && v > *spec.Max:
		r.Classification, r.Failed = High, true
		r.Reason = fmt.Sprintf("%s canary %s %s is above the maximum %s", spec.Name, spec.Statistic, formatValue(v), formatValue(*spec.Max))
	case spec.Min != nil && v < *spec.Min:
		r.Classification, r.Failed = Low, true
		r.Reason = fmt.Sprintf("%s canary %s %s is below the minimum %s", spec.Name, spec.Statistic, formatValue(v), formatValue(*spec.Min))
	default:
		r.Classification = Pass
		r.Reason = fmt.Sprintf("%s canary %s %s is within %s", spec.Name, spec.Statistic, formatValue(v), boundsText(spec.Min, spec.Max))
	}
	r.CriticalFailure = r.Failed && spec.Critical
	return r
}

func canaryStatistic(s stat.Summary, which Statistic) float64 {
	switch which {
	case StatMedian:
		return s.Median
	case StatP90:
		return s.P90
	case StatP95:
		return s.P95
	case StatP99:
		return s.P99
	case StatMax:
		return s.Max
	default:
		return s.Mean
	}
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
