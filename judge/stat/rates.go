package stat

import (
	"fmt"
	"math"

	"github.com/verdict-aca/verdict/internal/numeric"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// RateComparison is the conditional test of two Poisson rates over strata:
// the comparison of a canary's event rate (errors per request, slow
// requests per request) with the baseline's when each side's events are
// counted window by window along with the exposure they are out of.
//
// In stratum g, K[g] events happened on the two sides together. If the
// canary's rate is θ times the baseline's, each of them is the canary's
// with probability p_g(θ) = θ·o_g / (1 + θ·o_g), where o_g is the canary's
// exposure over the baseline's in that stratum; given the K[g], the canary's
// events in each stratum are independent binomials, and their sum S is the
// test statistic (Lehmann & Romano, Testing Statistical Hypotheses, 3rd ed.,
// §4.5 and §4.8: the conditional test is uniformly most powerful unbiased
// for the ratio of two Poisson means, and conditioning on each stratum's
// total removes the rate's changes from stratum to stratum). Whatever the
// traffic split, and however the rate moves over time, "no change" then
// has a known distribution; a baseline without events is no free pass.
//
// With one stratum, S is Binomial(K, p(θ)) and every tail, bound and
// estimate is exact: tails through the regularised incomplete beta
// function, bounds as Clopper–Pearson limits of p turned into θ (Clopper &
// Pearson 1934). With several, S is a sum of binomials with different
// probabilities, and tails come from the saddlepoint approximation of
// Lugannani & Rice (1980) with the second continuity correction for lattice
// variables (Butler, Saddlepoint Approximations with Applications, 2007,
// §1.2.3, "Pr₂"), accurate to about 2% of the tail itself down to
// tails far below any decision level; the package's tests check it against
// the exact convolution. Because θ and the saddlepoint s enter only through
// θ·e^s, one saddlepoint per observed count serves every θ, so bounds cost a
// few evaluations of Σ K_g·log(1 + θ·o_g).
//
// Counts need not be whole: callers scale them by a dispersion factor
// (quasi-likelihood) and Prometheus' increase() extrapolates; the beta
// function and the cumulant generating function extend to them directly.
type RateComparison struct {
	k       []float64 // events per stratum, both sides together
	logOdds []float64 // log(o_g): canary exposure over baseline exposure
	x       float64   // the canary's events in all strata
	total   float64   // Σ k
}

// NewRateComparison builds the test for the canary's x events, with k[g]
// events in stratum g on both sides together and odds[g] the canary's
// exposure over the baseline's there. Strata with no events, or with an
// exposure on one side only (they say nothing about the ratio), are
// dropped; the caller checks that no events happened without exposure.
func NewRateComparison(k, odds []float64, x float64) (*RateComparison, error) {
	if len(k) != len(odds) {
		return nil, fmt.Errorf("stat: %d strata counts but %d odds", len(k), len(odds))
	}
	t := &RateComparison{x: x}
	for g := range k {
		if !(k[g] >= 0) || math.IsInf(k[g], 0) {
			return nil, fmt.Errorf("stat: stratum %d has %v events", g+1, k[g])
		}
		if !(odds[g] >= 0) {
			return nil, fmt.Errorf("stat: stratum %d has odds %v", g+1, odds[g])
		}
		if k[g] == 0 || odds[g] == 0 || math.IsInf(odds[g], 1) {
			continue
		}
		t.k = append(t.k, k[g])
		t.logOdds = append(t.logOdds, math.Log(odds[g]))
		t.total += k[g]
	}
	if !(x >= 0) || x > t.total*(1+1e-12) {
		return nil, fmt.Errorf("stat: %v canary events out of %v in the strata where both sides had exposure", x, t.total)
	}
	t.x = math.Min(x, t.total)
	return t, nil
}

// Events is the number of events the test conditions on (both sides, in
// the strata where both had exposure), and Canary the canary's share of them.
func (t *RateComparison) Events() float64 { return t.total }

// Canary is the canary's number of events, S.
func (t *RateComparison) Canary() float64 { return t.x }

// Strata is the number of strata with events.
func (t *RateComparison) Strata() int { return len(t.k) }

// Expected is the canary's expected number of events, E[S], at ratio θ.
func (t *RateComparison) Expected(theta float64) float64 {
	var e float64
	lt := math.Log(theta)
	for g, k := range t.k {
		e += float64(k * sigmoid(t.logOdds[g]+lt))
	}
	return e
}

// Variance is Var(S) at ratio θ: the test's information about log θ.
func (t *RateComparison) Variance(theta float64) float64 {
	var v float64
	lt := math.Log(theta)
	for g, k := range t.k {
		p := sigmoid(t.logOdds[g] + lt)
		v += float64(k * p * (1 - p))
	}
	return v
}

// UpperTail is P(S ≥ x) at rate ratio θ: the one-sided p-value of "the
// ratio is θ" against a larger one.
func (t *RateComparison) UpperTail(theta float64) float64 {
	if t.x <= 0 {
		return 1
	}
	if theta <= 0 {
		return 0
	}
	if math.IsInf(theta, 1) {
		return 1
	}
	if len(t.k) == 1 {
		p := sigmoid(t.logOdds[0] + math.Log(theta))
		return mathext.RegIncBeta(t.x, t.total-t.x+1, p)
	}
	if t.x <= 1 {
		return t.anyEvent(math.Log(theta)) // exact: 1 − P(S = 0)
	}
	return t.saddleUpper(t.x-0.5, math.Log(theta))
}

// LowerTail is P(S ≤ x) at rate ratio θ: the one-sided p-value of "the
// ratio is θ" against a smaller one.
func (t *RateComparison) LowerTail(theta float64) float64 {
	if t.x >= t.total {
		return 1
	}
	if theta <= 0 {
		return 1
	}
	if math.IsInf(theta, 1) {
		return 0
	}
	if len(t.k) == 1 {
		p := sigmoid(t.logOdds[0] + math.Log(theta))
		return mathext.RegIncBeta(t.total-t.x, t.x+1, 1-p)
	}
	switch {
	case t.x <= 0:
		return 1 - t.anyEvent(math.Log(theta)) // exact: P(S = 0)
	case t.x >= t.total-1:
		return 1 - t.allEvents(math.Log(theta)) // exact: 1 − P(S = K)
	}
	return 1 - t.saddleUpper(t.x+0.5, math.Log(theta))
}

// PValue is the two-sided p-value of "the ratio is θ": twice the smaller
// tail, at most 1.
func (t *RateComparison) PValue(theta float64) float64 {
	return math.Min(1, 2*math.Min(t.UpperTail(theta), t.LowerTail(theta)))
}

// Estimate is the conditional maximum-likelihood estimate of the rate
// ratio: the θ at which E[S] = x. It is 0 when the canary had no events and
// +Inf when it had them all.
func (t *RateComparison) Estimate() float64 {
	switch {
	case t.total == 0:
		return math.NaN()
	case t.x <= 0:
		return 0
	case t.x >= t.total:
		return math.Inf(1)
	}
	return math.Exp(t.solve(t.x))
}

// LowerBound is the one-sided lower confidence bound of the rate ratio at
// conf: the θ at which UpperTail(θ) = 1 − conf (0 when the canary had no
// events).
func (t *RateComparison) LowerBound(conf float64) float64 {
	alpha := 1 - conf
	if t.x <= 0 || t.total == 0 {
		return 0
	}
	if len(t.k) == 1 {
		p := distuv.Beta{Alpha: t.x, Beta: t.total - t.x + 1}.Quantile(alpha)
		return p / (1 - p) / math.Exp(t.logOdds[0])
	}
	if t.x <= 1 {
		// One event (or less, after scaling): P(S ≥ 1) is exact.
		return t.boundByBisection(func(lt float64) float64 { return t.anyEvent(lt) - alpha })
	}
	y := t.x - 0.5
	ts := t.solve(y)
	return t.boundByBisection(func(lt float64) float64 { return t.saddleUpperAt(y, ts, lt) - alpha })
}

// UpperBound is the one-sided upper confidence bound of the rate ratio at
// conf: the θ at which LowerTail(θ) = 1 − conf (+Inf when the canary had
// every event).
func (t *RateComparison) UpperBound(conf float64) float64 {
	alpha := 1 - conf
	if t.x >= t.total {
		return math.Inf(1)
	}
	if len(t.k) == 1 {
		p := distuv.Beta{Alpha: t.x + 1, Beta: t.total - t.x}.Quantile(conf)
		return p / (1 - p) / math.Exp(t.logOdds[0])
	}
	// LowerTail falls as θ grows: the bound is where alpha − LowerTail,
	// which rises, crosses zero.
	switch {
	case t.x <= 0:
		return t.boundByBisection(func(lt float64) float64 { return alpha - (1 - t.anyEvent(lt)) })
	case t.x >= t.total-1:
		return t.boundByBisection(func(lt float64) float64 { return alpha - (1 - t.allEvents(lt)) })
	}
	y := t.x + 0.5
	ts := t.solve(y)
	return t.boundByBisection(func(lt float64) float64 { return alpha - (1 - t.saddleUpperAt(y, ts, lt)) })
}

// Interval is the two-sided confidence interval of the rate ratio at conf:
// the one-sided bounds at (1 + conf)/2.
func (t *RateComparison) Interval(conf float64) (lo, hi float64) {
	c := (1 + conf) / 2
	return t.LowerBound(c), t.UpperBound(c)
}

// anyEvent is P(S ≥ 1) at log θ = lt (for bounds below one event).
func (t *RateComparison) anyEvent(lt float64) float64 {
	var logNone float64
	for g, k := range t.k {
		logNone -= float64(k * softplus(t.logOdds[g]+lt))
	}
	return -math.Expm1(logNone)
}

// allEvents is P(S = K) at log θ = lt.
func (t *RateComparison) allEvents(lt float64) float64 {
	var logAll float64
	for g, k := range t.k {
		logAll -= float64(k * softplus(-(t.logOdds[g] + lt)))
	}
	return math.Exp(logAll)
}

// boundByBisection finds the log θ where f, increasing in log θ, crosses
// zero, and returns θ. It brackets the root by doubling steps from 0 and
// bisects to a relative precision of about 1e-10 in θ.
func (t *RateComparison) boundByBisection(f func(lt float64) float64) float64 {
	lo, hi := -1.0, 1.0
	for f(lo) > 0 {
		lo *= 2
		if lo < -1e4 {
			return 0
		}
	}
	for f(hi) < 0 {
		hi *= 2
		if hi > 1e4 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if f(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-10 {
			break
		}
	}
	return math.Exp((lo + hi) / 2)
}

// solve returns the t at which Σ k_g·σ(a_g + t) = y, 0 < y < K: the
// saddlepoint of S for θ = 1 shifted by log θ (see saddleUpperAt), and at
// y = x the log of the conditional maximum-likelihood estimate.
func (t *RateComparison) solve(y float64) float64 {
	f := func(s float64) (float64, float64) {
		var m, v float64
		for g, k := range t.k {
			p := sigmoid(t.logOdds[g] + s)
			m += float64(k * p)
			v += float64(k * p * (1 - p))
		}
		return m - y, v
	}
	// Start from the single-stratum answer with the events' mean log odds.
	var meanLog float64
	for g, k := range t.k {
		meanLog += float64(k * t.logOdds[g])
	}
	meanLog /= t.total
	s := math.Log(y/(t.total-y)) - meanLog
	lo, hi := math.Inf(-1), math.Inf(1)
	for range 100 {
		d, v := f(s)
		if d == 0 {
			return s
		}
		if d < 0 {
			lo = s
		} else {
			hi = s
		}
		next := s - d/v
		if v == 0 || math.IsNaN(next) || next <= lo || next >= hi {
			// Newton left the bracket: bisect (or step out of a half-open one).
			switch {
			case math.IsInf(lo, -1):
				next = hi - math.Max(1, math.Abs(hi))
			case math.IsInf(hi, 1):
				next = lo + math.Max(1, math.Abs(lo))
			default:
				next = (lo + hi) / 2
			}
		}
		if math.Abs(next-s) < 1e-13*math.Max(1, math.Abs(s)) {
			return next
		}
		s = next
	}
	return s
}

// saddleUpper is the saddlepoint approximation of P(S ≥ y + ½) at log θ =
// lt, y the continuity-corrected count.
func (t *RateComparison) saddleUpper(y, lt float64) float64 {
	if y <= 0 {
		return 1
	}
	if y >= t.total {
		return 0
	}
	return t.saddleUpperAt(y, t.solve(y), lt)
}

// saddleUpperAt is Lugannani–Rice with the second continuity correction:
// with ŝ the saddlepoint of the cumulant generating function
// K(s) = Σ k_g·log(1 − p_g + p_g·e^s) at y (K'(ŝ) = y),
// w = sgn(ŝ)·√(2(ŝ·y − K(ŝ))) and u = 2·sinh(ŝ/2)·√K”(ŝ),
// P(S ≥ y + ½) ≈ 1 − Φ(w) − φ(w)·(1/w − 1/u).
// ts is the solution of K'(ŝ) = y at θ = 1, so ŝ = ts − lt.
func (t *RateComparison) saddleUpperAt(y, ts, lt float64) float64 {
	s := ts - lt
	var kS, k2 float64
	for g, k := range t.k {
		a := t.logOdds[g]
		kS += float64(k * (softplus(a+ts) - softplus(a+lt)))
		p := sigmoid(a + ts)
		k2 += float64(k * p * (1 - p))
	}
	r := float64(s*y) - kS
	if math.Abs(s) < 1e-5 || r <= 0 || k2 <= 0 {
		// At the mean: the normal approximation, continuity-corrected.
		var mean, v float64
		for g, k := range t.k {
			p := sigmoid(t.logOdds[g] + lt)
			mean += float64(k * p)
			v += float64(k * p * (1 - p))
		}
		if v <= 0 {
			if y < mean {
				return 1
			}
			return 0
		}
		return numeric.Pnorm((y-mean)/math.Sqrt(v), false)
	}
	w := math.Copysign(math.Sqrt(2*r), s)
	u := 2 * math.Sinh(s/2) * math.Sqrt(k2)
	p := numeric.Pnorm(w, false) - float64(normalDensity(w)*(1/w-1/u))
	return math.Min(1, math.Max(0, p))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1 + e^x), without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// normalUpper is 1 − Φ(z), accurate far into the upper tail.
func normalDensity(z float64) float64 { return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) }
