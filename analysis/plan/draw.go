package plan

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// The simulations draw every random count by inverting its distribution
// function at a uniform number fixed for the replicate: the same uniforms
// with a larger mean give a count at least as large, so that a replicate's
// data grow with the regression injected into them and the smallest
// regression it detects is well defined (see search).

// exactBelow is the mean (of the rarer outcome) below which counts are
// drawn exactly; above it a Cornish–Fisher expansion of the normal is
// within a count of the exact quantile where it matters.
const exactBelow = 60

// normalQuantile is the standard normal quantile of u.
func normalQuantile(u float64) float64 {
	return mathext.NormalQuantile(math.Min(math.Max(u, 1e-300), 1-1e-16))
}

// poissonQuantile is the smallest k with P(X ≤ k) ≥ u, X ~ Poisson(mean).
func poissonQuantile(u, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean >= exactBelow {
		z := normalQuantile(u)
		// Cornish–Fisher with the Poisson's skewness 1/√mean.
		k := mean + math.Sqrt(mean)*z + (z*z-1)/6
		return math.Max(0, math.Floor(k+0.5))
	}
	p := math.Exp(-mean)
	cum := p
	k := 0.0
	limit := mean + 40*math.Sqrt(mean) + 40
	for cum < u && k < limit {
		k++
		p *= mean / k
		cum += p
	}
	return k
}

// binomialQuantile is the smallest k with P(X ≤ k) ≥ u, X ~ Binomial(n, p).
func binomialQuantile(u, n, p float64) float64 {
	n = math.Floor(n)
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		// Count the rarer outcome: X = n − Y, Y ~ Binomial(n, 1 − p).
		return n - binomialQuantile(1-u, n, 1-p)
	}
	mean := n * p
	if mean >= exactBelow {
		sd := math.Sqrt(mean * (1 - p))
		z := normalQuantile(u)
		skew := (1 - 2*p) / sd
		k := mean + sd*(z+skew*(z*z-1)/6)
		return math.Min(n, math.Max(0, math.Floor(k+0.5)))
	}
	q := 1 - p
	prob := math.Exp(n * math.Log1p(-p))
	cum := prob
	k := 0.0
	for cum < u && k < n {
		prob *= (n - k) / (k + 1) * p / q
		k++
		cum += prob
	}
	return k
}

// clusteredBinomialQuantile draws a count of n trials with success
// probability p whose variance is phi times the binomial's, as trials that
// succeed or fail together (one client's retries, one session's checkouts)
// make it: the trials come in clusters of phi, each succeeding or failing
// as a whole, so the count is phi times a binomial count of n/phi clusters
// (rounded), whatever the window's size. The number of clusters is rounded
// at the uniform r, the clusters' count drawn at the uniform u; a larger p
// gives a count at least as large.
func clusteredBinomialQuantile(r, u, n, p, phi float64) float64 {
	if phi <= 1.001 {
		return binomialQuantile(u, n, p)
	}
	k := binomialQuantile(u, stochasticRound(n/phi, r), p)
	return math.Min(n, math.Round(phi*k))
}

// stochasticRound rounds x down or up with the chance that keeps its mean:
// up when u < the fraction.
func stochasticRound(x, u float64) float64 {
	f := math.Floor(x)
	if u < x-f {
		return f + 1
	}
	return f
}
