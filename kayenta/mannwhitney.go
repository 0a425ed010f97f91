package kayenta

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// ErrAllTied is returned when every observation of both samples is tied at
// the shift being evaluated: the rank statistic has no variance, so no
// confidence interval exists. The judge turns it into an Error result.
var ErrAllTied = errors.New("cannot compute confidence interval when all observations are tied")

// Zeroin solver constants (R's zeroin as ported by Kayenta's BrentSolver).
const (
	zeroinTol   = 1e-4
	zeroinMaxIt = 1000
)

// MannWhitneyResult is the Kayenta Mann-Whitney output: the confidence
// interval of the location shift experiment - control and its estimate.
// On tied data CILower can exceed CIUpper (quirk Q3); both are reported as
// computed.
type MannWhitneyResult struct {
	CILower  float64
	CIUpper  float64
	Estimate float64
}

// rankSampler evaluates the standardised rank-sum statistic of x - mu against
// y. Both samples are sorted once; x - mu keeps x's order, so each evaluation
// is a merge in O(n + m). The result equals ranking concat(x - mu, y) with
// average ties (NaN as +Inf) and summing the ranks of the x part.
type rankSampler struct {
	x, y []float64 // sorted by rankKey
}

func newRankSampler(x, y []float64) *rankSampler {
	xs := append([]float64(nil), x...)
	ys := append([]float64(nil), y...)
	byKey := func(s []float64) { sort.SliceStable(s, func(a, b int) bool { return rankKey(s[a]) < rankKey(s[b]) }) }
	byKey(xs)
	byKey(ys)
	return &rankSampler{x: xs, y: ys}
}

// wdiff returns W(mu) - q: (dz - 0.5*sign(dz)) / sigma - q, with
// dz = rank sum of the x part - nx(nx+1)/2 - nx*ny/2 and sigma the tie-corrected
// standard deviation of the rank sum.
func (r *rankSampler) wdiff(mu, q float64, correct bool) (float64, error) {
	nx, ny := float64(len(r.x)), float64(len(r.y))
	// Keys of x - mu. Subtracting a constant keeps the order except in
	// non-finite corner cases (e.g. -Inf - -Inf = NaN), which are re-sorted.
	xk := make([]float64, len(r.x))
	for i, v := range r.x {
		xk[i] = rankKey(v - mu)
	}
	if !sort.Float64sAreSorted(xk) {
		sort.Float64s(xk)
	}
	var rankSumX, ties float64
	i, j, pos := 0, 0, 0
	for i < len(xk) || j < len(r.y) {
		// key of the smallest remaining element
		var k float64
		switch {
		case i >= len(xk):
			k = rankKey(r.y[j])
		case j >= len(r.y):
			k = xk[i]
		default:
			k = math.Min(xk[i], rankKey(r.y[j]))
		}
		cx, cy := 0, 0
		for i < len(xk) && xk[i] == k {
			cx++
			i++
		}
		for j < len(r.y) && rankKey(r.y[j]) == k {
			cy++
			j++
		}
		t := cx + cy
		avg := (float64(pos+1) + float64(pos+t)) / 2
		rankSumX += float64(float64(cx) * avg)
		tf := float64(t)
		ties += float64(tf*tf*tf) - tf
		pos += t
	}
	dz := rankSumX - float64(nx*(nx+1)/2) - float64(nx*ny/2)
	corr := 0.0
	if correct {
		switch {
		case dz > 0:
			corr = 0.5
		case dz < 0:
			corr = -0.5
		}
	}
	sigma := math.Sqrt((nx * ny / 12) * ((nx + ny + 1) - ties/((nx+ny)*(nx+ny-1))))
	if sigma == 0 {
		return math.NaN(), ErrAllTied
	}
	return (dz-corr)/sigma - q, nil
}

// wilcoxonDiff returns the standardised rank statistic W(mu) - quantile of the
// shift x - y with continuity correction (upstream wilcoxonDiff). It is
// non-increasing and piecewise constant in mu.
func wilcoxonDiff(mu, quantile float64, x, y []float64) (float64, error) {
	if len(x) == 0 || len(y) == 0 {
		return math.NaN(), errors.New("wilcoxon statistic needs two non-empty samples")
	}
	return newRankSampler(x, y).wdiff(mu, quantile, true)
}

// normalQuantile is the standard normal quantile Phi^-1(p): R's qnorm
// (numeric.Qnorm), within 1-2 ulps of commons-math's erfInv-based one.
func normalQuantile(p float64) float64 {
	return numeric.Qnorm(p, true)
}

// NormalApproxPValue is the two-sided normal-approximation p-value
// 2*Phi(-|z|) of the rank statistic at mu = 0 (R's wilcox.test with
// exact = FALSE, correct = TRUE). Kayenta never computes it; Verdict reports it.
func NormalApproxPValue(x, y []float64) (float64, error) {
	z, err := wilcoxonDiff(0, 0, x, y)
	if err != nil {
		return math.NaN(), err
	}
	return 2 * numeric.Pnorm(-math.Abs(z), true), nil
}

// zeroin finds a root of f in [ax, bx] given fa = f(ax) and fb = f(bx), step
// for step as R's zeroin (Brent's method) with tolerance 1e-4 and at most
// 1000 iterations, as ported by Kayenta's BrentSolver: numeric.Zeroin with a
// value within one ulp of 0 counting as a root (commons-math's
// Precision.equals). It does not check that fa and fb have opposite signs,
// and on non-convergence returns the last iterate without error (quirk Q4).
// Errors come only from f.
func zeroin(ax, bx, fa, fb float64, f func(float64) (float64, error)) (float64, error) {
	return numeric.Zeroin(ax, bx, fa, fb, f, numeric.ZeroinOptions{Tol: zeroinTol, MaxIter: zeroinMaxIt, ZeroULP: true})
}

// MannWhitneyInternals exposes the intermediate quantities of the interval
// search, for tests and for reports that explain a decision.
type MannWhitneyInternals struct {
	MuMin, MuMax float64 // min(x)-max(y), max(x)-min(y)
	ZqLower      float64 // -Phi^-1(alpha/2), positive
	ZqUpper      float64 // Phi^-1(alpha/2), negative
}

func mwInternals(x, y []float64, conf float64) MannWhitneyInternals {
	zq := normalQuantile((1 - conf) / 2)
	return MannWhitneyInternals{
		MuMin:   minOf(x) - maxOf(y),
		MuMax:   maxOf(x) - minOf(y),
		ZqLower: -zq,
		ZqUpper: zq,
	}
}

// MannWhitney computes Kayenta's confidence interval (at level conf) and
// estimate of the shift x - y, x the experiment and y the control. CI bounds
// are roots of W(mu) = ±|zq| found by Zeroin on [min(x)-max(y),
// max(x)-min(y)], with the endpoint short-circuits of upstream (a bound is
// the search endpoint when the statistic already crosses there). The estimate
// is the Zeroin root of W(mu) = 0 with the continuity correction kept and no
// short-circuit (quirk Q4). Samples must be non-empty; ErrAllTied is
// returned when the statistic has zero variance.
func MannWhitney(x, y []float64, conf float64) (MannWhitneyResult, error) {
	if len(x) == 0 || len(y) == 0 {
		return MannWhitneyResult{}, errors.New("mann-whitney needs two non-empty samples")
	}
	rs := newRankSampler(x, y)
	in := mwInternals(x, y, conf)
	root := func(q float64) (float64, error) {
		fL, err := rs.wdiff(in.MuMin, q, true)
		if err != nil {
			return math.NaN(), err
		}
		fU, err := rs.wdiff(in.MuMax, q, true)
		if err != nil {
			return math.NaN(), err
		}
		if fL <= 0 {
			return in.MuMin, nil
		}
		if fU >= 0 {
			return in.MuMax, nil
		}
		return zeroin(in.MuMin, in.MuMax, fL, fU, func(mu float64) (float64, error) { return rs.wdiff(mu, q, true) })
	}
	lo, err := root(in.ZqLower)
	if err != nil {
		return MannWhitneyResult{}, fmt.Errorf("lower confidence bound: %w", err)
	}
	hi, err := root(in.ZqUpper)
	if err != nil {
		return MannWhitneyResult{}, fmt.Errorf("upper confidence bound: %w", err)
	}
	est, err := estimate(rs, in, true)
	if err != nil {
		return MannWhitneyResult{}, fmt.Errorf("estimate: %w", err)
	}
	return MannWhitneyResult{CILower: lo, CIUpper: hi, Estimate: est}, nil
}

func estimate(rs *rankSampler, in MannWhitneyInternals, correct bool) (float64, error) {
	fL, err := rs.wdiff(in.MuMin, 0, correct)
	if err != nil {
		return math.NaN(), err
	}
	fU, err := rs.wdiff(in.MuMax, 0, correct)
	if err != nil {
		return math.NaN(), err
	}
	return zeroin(in.MuMin, in.MuMax, fL, fU, func(mu float64) (float64, error) { return rs.wdiff(mu, 0, correct) })
}

// EstimateR is the location estimate R's wilcox.test(conf.int = TRUE,
// exact = FALSE, correct = TRUE) reports: the Zeroin root of W(mu) = 0 with
// the continuity correction switched off. Kayenta's decision does not use it
// (quirk Q4); it is offered for reports that want R's number.
func EstimateR(x, y []float64) (float64, error) {
	if len(x) == 0 || len(y) == 0 {
		return math.NaN(), errors.New("estimate needs two non-empty samples")
	}
	return estimate(newRankSampler(x, y), mwInternals(x, y, 0.95), false)
}
