package judge

import (
	"fmt"
	"math"
	"time"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// Anytime makes a signal's decision valid however often, and whenever,
// the same canary is looked at (sequential: anytime). At each look the
// signal is judged on all its data so far, as a fixed-sample test, which
// gives its one-sided statistic z and its information V (TestResult
// Information); S = z·√V then behaves, under "no harm beyond the
// allowance", as a Brownian motion in V, however the looks are spaced.
// The decision crosses Robbins' one-sided normal-mixture boundary for S
// (Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
// nonasymptotic confidence sequences", Ann. Statist. 49, §3.5, the
// half-normal mixture), which an unchanged canary crosses at any look with
// probability at most the level (Ville's inequality); for rank, count and
// share statistics, which are sums only asymptotically, the guarantee is
// asymptotic (Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas 2024,
// "Time-uniform central limit theory and asymptotic confidence
// sequences", Ann. Statist.). The mixture
//
//	M(S, V) = 2 exp(S² / (2(V + 1/ρ))) Φ(S / √(V + 1/ρ)) / √(1 + ρV)
//
// is tuned by ρ to be tightest at the information the signal is expected
// to hold at its horizon (Reference): ρ = c/Reference with c = −2 log(2α)
// + log(1 − 2 log(2α)), Howard et al.'s choice for the two-sided mixture
// at 2α, which the one-sided one approaches. The anytime p-value is
// min(1, 1/M); the decision is the fixed-sample one at AnytimeLevel, the
// level whose z equals the boundary at this V, so every bound the report
// shows (DecisionBound, RulesOut) is a confidence-sequence bound.
type Anytime struct {
	// Reference is the information the signal is expected to hold at the
	// horizon. Zero at the first look: it is then this look's information
	// divided by Fraction, and the result reports it (TestResult.Reference)
	// for the next looks to reuse.
	Reference float64
	// Fraction is the share of the horizon the first look covers (its
	// window over the planned duration), in (0, 1]; zero means 1.
	Fraction float64
	// Horizon, when the run's horizon is known, replaces the mixture
	// boundary by the level spent over that horizon (see Horizon); the
	// judgement records its look in it.
	Horizon *Horizon
}

// mixtureConstant is c in ρ = c / Reference for a one-sided level alpha.
func mixtureConstant(alpha float64) float64 {
	l := float64(-2 * math.Log(2*alpha))
	return l + math.Log(1+l)
}

// mixture is M(S, V) for the one-sided half-normal mixture of variance ρ.
func mixture(s, v, rho float64) float64 {
	a := v + float64(1/rho)
	return 2 * math.Exp(s*s/(2*a)) * numeric.Pnorm(s/math.Sqrt(a), true) / math.Sqrt(1+float64(rho*v))
}

// anytimeP is the anytime-valid one-sided p-value of a fixed-sample
// one-sided p with information v: 1/M(z√v, v), at most 1.
func anytimeP(p, v, rho float64) float64 {
	if p >= 0.5 || v <= 0 {
		return 1
	}
	z := upperQuantile(p)
	return math.Min(1, 1/mixture(z*math.Sqrt(v), v, rho))
}

// anytimeLevel is the fixed-sample one-sided level at which a test with
// information v crosses the mixture boundary at level alpha: Φ̄(S*/√v),
// M(S*, v) = 1/alpha.
func anytimeLevel(alpha, v, rho float64) float64 {
	if v <= 0 {
		return alpha
	}
	target := 1 / alpha
	lo, hi := 0.0, math.Sqrt(v)
	for mixture(hi, v, rho) < target {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if mixture(mid, v, rho) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return numeric.Pnorm(hi/math.Sqrt(v), false)
}

// anytime redoes a judgement so that its decision holds at every look: it
// takes the fixed-sample result r (at the usual level), computes the
// anytime p-value and level from its information, and judges again at that
// level, so that classification and bounds follow the confidence sequence.
func (w *Workspace) anytime(spec Spec, b, c Sample, opts Options, r Result) Result {
	t := r.Test
	if t == nil || t.DecisionPValue == nil || t.Information <= 0 {
		return r
	}
	a := *opts.Anytime
	ref := a.Reference
	if ref <= 0 {
		f := a.Fraction
		if !(f > 0 && f <= 1) {
			f = 1
		}
		ref = t.Information / f
	}
	level := DecisionLevel(opts, spec.Direction)
	if a.Horizon != nil {
		return w.anytimeHorizon(spec, b, c, opts, r, ref, level)
	}
	rho := mixtureConstant(level) / ref
	pAny := anytimeP(*t.DecisionPValue, t.Information, rho)
	eff := anytimeLevel(level, t.Information, rho)
	o := opts
	o.Anytime, o.levelOverride = nil, eff
	again := w.judgeOnce(spec, b, c, o)
	if again.Test == nil {
		return r
	}
	again.Test.Reference, again.Test.AnytimeLevel = ref, eff
	again.Test.DecisionPValue, again.Test.DecisionLevel = ptr(pAny), level
	again.Reason += fmt.Sprintf(" [anytime: %s of the horizon's information, level %s]", formatPercent(t.Information/ref), formatP(eff))
	return again
}

// anytimeHorizon is anytime with a known horizon: the bounds of this look
// at every level (Horizon.look) decide, the ordinary level's for a
// failure and the critical level's for a critical failure; the decision
// p-value is the smallest level whose bound the signal reached (1 when
// none), which is what Holm's step-down in AdjustFamily compares with
// the level divided among the signals.
func (w *Workspace) anytimeHorizon(spec Spec, b, c Sample, opts Options, r Result, ref, level float64) Result {
	t := r.Test
	h := opts.Anytime.Horizon
	critical := spec.Critical || spec.CriticalChange != nil || h.FailsAlone
	bounds := h.look(level, critical, t.Information, ref)
	z := upperQuantile(*t.DecisionPValue)
	pAny, eff, crit, past := 1.0, level, CriticalLevelFactor*level, false
	for _, hb := range bounds {
		// Just below the level, so that Holm's comparisons with level/m
		// hold whatever the rounding.
		if z >= hb.z {
			pAny = min(pAny, hb.level*(1-1e-12))
		}
		e := max(numeric.Pnorm(hb.z, false), math.SmallestNonzeroFloat64)
		switch hb.level {
		case level:
			eff, past = e, hb.past
		case CriticalLevelFactor * level:
			crit = e
		}
	}
	o := opts
	o.Anytime, o.levelOverride, o.criticalOverride = nil, eff, crit
	again := w.judgeOnce(spec, b, c, o)
	if again.Test == nil {
		return r
	}
	again.Test.Reference, again.Test.AnytimeLevel = ref, eff
	again.Test.DecisionPValue, again.Test.DecisionLevel = ptr(pAny), level
	if h.FailsAlone && again.Failed && !again.CriticalFailure && *t.DecisionPValue > crit {
		// A failure that fails the canary alone is held to the critical
		// level's boundary; the evidence (RulesOut) stays at the ordinary
		// level's, as for any pass.
		again.Classification, again.Gate, again.Failed = Pass, GateFailsAlone, false
		again.Reason += fmt.Sprintf("; but its failure alone would fail the canary, which needs p ≤ %s at this look, so it passes", formatP(crit))
	}
	elapsed := h.Looks[len(h.Looks)-1].Elapsed
	if past {
		again.Reason += fmt.Sprintf(" [anytime past the known horizon (%s of it): the mixture boundary with the level left, level %s]", formatPercent(elapsed), formatP(eff))
	} else {
		again.Reason += fmt.Sprintf(" [anytime over a known horizon: %s of it elapsed, level %s]", formatPercent(elapsed), formatP(eff))
	}
	return again
}

// ShownWithin reports whether a passing signal's data rule out a harmful
// change beyond its allowance: the harmful side's bound (RulesOut) lies
// within it. An anytime analysis stops early on a pass only when every
// signal is.
func ShownWithin(spec Spec, r Result) bool {
	return r.Classification == Pass && shownWithin(spec, r.Test)
}

// shownWithin reports whether the data rule out a harmful change beyond the
// allowance: the harmful side's bound (TestResult.RulesOut) lies within it.
func shownWithin(spec Spec, t *TestResult) bool {
	if t == nil || t.RulesOut == nil {
		return false
	}
	a := spec.AllowedChange.Value
	switch spec.Direction {
	case Decrease:
		return *t.RulesOut >= -a
	default:
		return *t.RulesOut <= a
	}
}

// requireEvidence turns a pass that the data do not show to be within the
// allowance into no verdict yet, saying what the data rule out and about
// how much longer the canary needs at its current traffic (elapsed is how
// long its data cover, 0 when unknown).
func requireEvidence(spec Spec, r Result, elapsed time.Duration) Result {
	if r.Classification != Pass || r.Gate == GateDirection || r.Gate == GateIdentical || shownWithin(spec, r.Test) {
		return r
	}
	t := r.Test
	r.Classification, r.Gate = NoData, GateUndecided
	a := spec.AllowedChange
	allowed := allowedOnHarmfulSide(a, spec.Direction)
	if t == nil || t.RulesOut == nil {
		r.Reason += fmt.Sprintf("; not yet shown within the allowed %s", allowed)
		return r
	}
	r.Reason += fmt.Sprintf("; not yet shown within the allowed %s: the data rule out only %s", allowed, rulesOutText(spec, t))
	est := 0.0
	if t.RelativeShift != nil && !t.Points {
		est = *t.RelativeShift
	} else if t.Points && t.Estimate != nil {
		est = *t.Estimate
	}
	bound, limit := math.Abs(*t.RulesOut), a.Value
	if spec.Direction == Decrease {
		est = -est
	}
	if half, room := bound-est, limit-est; elapsed > 0 && half > 0 && room > 0 {
		more := time.Duration(float64(elapsed) * (float64((half/room)*(half/room)) - 1))
		r.Reason += fmt.Sprintf("; about %s more at this traffic", formatDuration(more.Round(time.Minute)+time.Minute))
	}
	return r
}

// rulesOutText words what the data rule out: "a rise above +4.2%".
func rulesOutText(spec Spec, t *TestResult) string {
	v := *t.RulesOut
	var size string
	if t.Points {
		size = signedPoints(v) + "pp"
	} else {
		size = signedPercentOf(v)
	}
	switch spec.Direction {
	case Increase:
		return "a rise above " + size
	case Decrease:
		return "a fall below " + size
	}
	return "a change beyond ±" + size[1:]
}
