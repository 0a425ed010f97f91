package quality

import (
	"math"
	"math/rand/v2"
	"slices"
)

// EffectKind says what a regression changes in the canary.
type EffectKind string

// The kinds of change a scenario can inject.
const (
	// None is an A/A scenario: baseline and canary from the same process.
	None EffectKind = "none"
	// Median scales every canary value (or, for counts, the event rate) by
	// 1 + Size, so the median and every quantile move by Size.
	Median EffectKind = "median"
	// Tail stretches the canary's values above the marginal p90 so that the
	// marginal p99 moves by Size while the median does not move at all.
	Tail EffectKind = "tail"
	// ErrorRate gives a canary Poisson errors at Size events per point
	// against a baseline with none (the zero-baseline family only).
	ErrorRate EffectKind = "errorRate"
)

// Effect is the change a scenario injects into the canary.
type Effect struct {
	Kind EffectKind
	Size float64
}

// Family is a labelled scenario family: how one signal's baseline and canary
// series are drawn. Every series of a family has the same marginal
// distribution before the effect; shared factors (a diurnal trend, load
// spikes) are drawn once per pair and multiply both sides point by point.
type Family struct {
	// Name is the short identifier used in tables and plots.
	Name string
	// Description says in one line what the series look like.
	Description string
	// Counts marks event counts (errors per interval): the default judge
	// compares them with its rate test.
	Counts bool
	// ZeroBaseline marks the family whose baseline has no events at all;
	// its effects are ErrorRate.
	ZeroBaseline bool

	// draw returns n points of the base process (time ordered).
	draw func(r *rand.Rand, n int) []float64
	// count returns n event counts whose rate is scaled by scale and by
	// the shared factor (nil means 1).
	count func(r *rand.Rand, n int, scale float64, shared []float64) []float64
	// shared returns a multiplicative factor per point, or nil.
	shared func(r *rand.Rand, n int) []float64
}

// Median latency of the latency families, in milliseconds.
const baseMedian = 100.0

// Families returns the scenario families of the harness, in report order.
func Families() []Family {
	lognormal := func(sigma float64) func(r *rand.Rand, n int) []float64 {
		return func(r *rand.Rand, n int) []float64 { return Lognormal(r, n, baseMedian, sigma) }
	}
	return []Family{
		{Name: "lognormal-0.3", Description: "lognormal latency, median 100 ms, σ = 0.3 on the log scale", draw: lognormal(0.3)},
		{Name: "lognormal-1.0", Description: "heavier lognormal latency, median 100 ms, σ = 1.0", draw: lognormal(1.0)},
		{Name: "gamma", Description: "gamma latency, shape 2, mean 100 ms", draw: func(r *rand.Rand, n int) []float64 {
			out := make([]float64, n)
			for i := range out {
				out[i] = Gamma(r, 2, 50)
			}
			return out
		}},
		{Name: "bimodal", Description: "cache hit/miss mixture: 80% lognormal(5 ms, 0.25), 20% lognormal(80 ms, 0.3)", draw: func(r *rand.Rand, n int) []float64 {
			return Bimodal(r, n, 0.8, 5, 0.25, 80, 0.3)
		}},
		{Name: "pareto", Description: "Pareto latency, minimum 50 ms, tail index 2.5 (infinite fourth moment)", draw: func(r *rand.Rand, n int) []float64 {
			out := make([]float64, n)
			for i := range out {
				out[i] = Pareto(r, 50, 2.5)
			}
			return out
		}},
		{Name: "log-t", Description: "log-t latency: exp(log 100 + 0.3·t₃), very heavy tails", draw: func(r *rand.Rand, n int) []float64 {
			out := make([]float64, n)
			for i := range out {
				out[i] = baseMedian * math.Exp(0.3*StudentT(r, 3))
			}
			return out
		}},
		{Name: "errors-sparse", Description: "Poisson error counts, 0.2 per point (82% zeros)", Counts: true,
			count: func(r *rand.Rand, n int, scale float64, shared []float64) []float64 {
				return PoissonSeries(r, n, 0.2*scale, shared)
			}},
		{Name: "errors-bursty", Description: "overdispersed error counts: negative binomial, mean 2, size 0.5 (variance 10)", Counts: true,
			count: func(r *rand.Rand, n int, scale float64, shared []float64) []float64 {
				return NegBinomialSeries(r, n, 2*scale, 0.5, shared)
			}},
		{Name: "errors-zero-baseline", Description: "no errors in the baseline; the canary has Poisson errors at the given rate per point", Counts: true, ZeroBaseline: true,
			count: func(r *rand.Rand, n int, scale float64, shared []float64) []float64 {
				return PoissonSeries(r, n, scale, shared)
			}},
		{Name: "diurnal", Description: "lognormal σ = 0.3 times a shared diurnal trend (±40%, one cycle per window)", draw: lognormal(0.3),
			shared: func(r *rand.Rand, n int) []float64 { return Diurnal(r, n, 0.4) }},
		{Name: "spikes", Description: "lognormal σ = 0.3 with shared load spikes (≈2 per 100 points, ×2..×4 for 3..10 points)", draw: lognormal(0.3),
			shared: func(r *rand.Rand, n int) []float64 { return Spikes(r, n, 0.02) }},
		{Name: "ar1-0.5", Description: "lognormal σ = 0.3 whose log follows AR(1) with φ = 0.5", draw: func(r *rand.Rand, n int) []float64 {
			return LognormalAR1(r, n, baseMedian, 0.3, 0.5)
		}},
		{Name: "ar1-0.9", Description: "lognormal σ = 0.3 whose log follows AR(1) with φ = 0.9", draw: func(r *rand.Rand, n int) []float64 {
			return LognormalAR1(r, n, baseMedian, 0.3, 0.9)
		}},
	}
}

// FamilyByName returns the family with the given name.
func FamilyByName(name string) (Family, bool) {
	for _, f := range Families() {
		if f.Name == name {
			return f, true
		}
	}
	return Family{}, false
}

// Pair draws one signal's baseline and canary, n points each, with the effect
// applied to the canary. tail holds the family's marginal p90 and p99 (see
// MarginalQuantiles); it is read only for Tail effects.
func (f Family) Pair(r *rand.Rand, n int, e Effect, tail [2]float64) (baseline, canary []float64) {
	var shared []float64
	if f.shared != nil {
		shared = f.shared(r, n)
	}
	if f.Counts {
		switch {
		case f.ZeroBaseline:
			baseline = make([]float64, n)
			rate := 0.0
			if e.Kind == ErrorRate {
				rate = e.Size
			}
			canary = f.count(r, n, rate, shared)
		default:
			scale := 1.0
			if e.Kind == Median {
				scale += e.Size
			}
			baseline = f.count(r, n, 1, shared)
			canary = f.count(r, n, scale, shared)
		}
		return baseline, canary
	}
	baseline = f.draw(r, n)
	canary = f.draw(r, n)
	switch e.Kind {
	case Median:
		for i := range canary {
			canary[i] *= 1 + e.Size
		}
	case Tail:
		StretchTail(canary, tail[0], tail[1], e.Size)
	}
	for i := range shared {
		baseline[i] *= shared[i]
		canary[i] *= shared[i]
	}
	return baseline, canary
}

// MarginalQuantiles estimates the p90 and p99 of the family's base process
// from 200,000 draws of a fixed stream (deterministic), for tail effects.
func (f Family) MarginalQuantiles() [2]float64 {
	if f.draw == nil {
		return [2]float64{}
	}
	r := rand.New(rand.NewPCG(0x7a11, 0x9e3779b97f4a7c15))
	v := f.draw(r, 200000)
	slices.Sort(v)
	return [2]float64{Quantile7(v, 0.90), Quantile7(v, 0.99)}
}

// StretchTail moves the values above q90 away from it, linearly, so that a
// value at q99 lands at (1+size)·q99; values at or below q90 (and so the
// median) are unchanged and the order of the values is kept.
func StretchTail(values []float64, q90, q99, size float64) {
	if q99 <= q90 {
		return
	}
	s := ((1+size)*q99 - q90) / (q99 - q90)
	for i, v := range values {
		if v > q90 {
			values[i] = q90 + (v-q90)*s
		}
	}
}

// Quantile7 is the R type-7 quantile of an ascending sorted sample.
func Quantile7(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := p * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Lognormal draws n independent lognormal values with the given median and
// log-scale standard deviation sigma.
func Lognormal(r *rand.Rand, n int, median, sigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(sigma*r.NormFloat64())
	}
	return out
}

// LognormalAR1 draws n lognormal values whose logarithm is a stationary
// Gaussian AR(1) series with coefficient phi: the marginal is lognormal with
// the given median and sigma, and the lag-1 autocorrelation of the logs is phi.
func LognormalAR1(r *rand.Rand, n int, median, sigma, phi float64) []float64 {
	out := make([]float64, n)
	innov := math.Sqrt(1 - phi*phi)
	x := r.NormFloat64()
	for i := range out {
		if i > 0 {
			x = phi*x + innov*r.NormFloat64()
		}
		out[i] = median * math.Exp(sigma*x)
	}
	return out
}

// Gamma draws one gamma variate with the given shape and scale
// (Marsaglia & Tsang 2000; shapes below 1 by Stuart's boost U^(1/shape)).
func Gamma(r *rand.Rand, shape, scale float64) float64 {
	if shape < 1 {
		u := 1 - r.Float64() // (0, 1]
		return Gamma(r, shape+1, scale) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v * scale
		}
	}
}

// Pareto draws one Pareto variate with minimum xm and tail index alpha.
func Pareto(r *rand.Rand, xm, alpha float64) float64 {
	u := 1 - r.Float64() // (0, 1]
	return xm * math.Pow(u, -1/alpha)
}

// StudentT draws one Student t variate with nu degrees of freedom.
func StudentT(r *rand.Rand, nu float64) float64 {
	chi2 := 2 * Gamma(r, nu/2, 1)
	return r.NormFloat64() / math.Sqrt(chi2/nu)
}

// Bimodal draws n values from a two-component lognormal mixture: with
// probability pHit lognormal(hitMedian, hitSigma), else lognormal(missMedian, missSigma).
func Bimodal(r *rand.Rand, n int, pHit, hitMedian, hitSigma, missMedian, missSigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		if r.Float64() < pHit {
			out[i] = hitMedian * math.Exp(hitSigma*r.NormFloat64())
		} else {
			out[i] = missMedian * math.Exp(missSigma*r.NormFloat64())
		}
	}
	return out
}

// Poisson draws one Poisson variate with mean lambda (Knuth's product method
// below 30, a rounded normal approximation above).
func Poisson(r *rand.Rand, lambda float64) float64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda >= 30:
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l := math.Exp(-lambda)
	k := 0.0
	p := r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// PoissonSeries draws n Poisson counts with mean rate (times shared[i] when given).
func PoissonSeries(r *rand.Rand, n int, rate float64, shared []float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		l := rate
		if shared != nil {
			l *= shared[i]
		}
		out[i] = Poisson(r, l)
	}
	return out
}

// NegBinomialSeries draws n overdispersed counts with the given mean and
// size (a gamma-Poisson mixture: variance mean + mean²/size).
func NegBinomialSeries(r *rand.Rand, n int, mean, size float64, shared []float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		m := mean
		if shared != nil {
			m *= shared[i]
		}
		out[i] = Poisson(r, Gamma(r, size, m/size))
	}
	return out
}

// Diurnal returns a shared multiplicative trend 1 + amp·sin(2π i/n + phase)
// with a random phase: one daily cycle across the window.
func Diurnal(r *rand.Rand, n int, amp float64) []float64 {
	phase := 2 * math.Pi * r.Float64()
	out := make([]float64, n)
	for i := range out {
		out[i] = 1 + amp*math.Sin(2*math.Pi*float64(i)/float64(n)+phase)
	}
	return out
}

// Spikes returns a shared multiplicative factor that is 1 except during load
// spikes: each point starts a spike with probability rate; a spike lasts 3 to
// 10 points and multiplies the load by 2 to 4.
func Spikes(r *rand.Rand, n int, rate float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	for i := 0; i < n; i++ {
		if r.Float64() >= rate {
			continue
		}
		length := 3 + r.IntN(8)
		factor := 2 + 2*r.Float64()
		for j := i; j < n && j < i+length; j++ {
			out[j] = math.Max(out[j], factor)
		}
	}
	return out
}
