package stat

import (
	"errors"
	"fmt"
	"math"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// QuantileTest is the two-sample quantile test of a high quantile: the
// generalised median test of Mood (1950) as Conover describes it (Practical
// Nonparametric Statistics, 3rd ed. 1999, §4.3 "the median test" and its
// extension to any quantile, §4.4), for x the canary and y the baseline.
//
//   - Threshold is the q-quantile of the pooled sample (R's type 7, like
//     Percentile).
//   - Each side's points strictly above Threshold are counted: a of the
//     canary's m points, b of the baseline's n points, T = a + b in all.
//   - Under "no change" (the two samples exchangeable), and conditional on
//     the margins, a is hypergeometric: T points above, drawn m at a time
//     from N = n + m. The one-sided p-values are the exact tails P(A ≥ a)
//     (PValueGreater: the canary has more points above, its quantile rose)
//     and P(A ≤ a) (PValueLess); PValue is two-sided as R's fisher.test
//     computes it: the sum of the probabilities of the tables no more likely
//     than the observed one (relative tolerance 1e-7). These equal
//     fisher.test(matrix(c(a, b, m - a, n - b), 2), alternative = ...).
//
// The test is distribution-free and exact whatever the data: the threshold
// is a function of the pooled sample only, so permuting the labels leaves
// the set of points above it unchanged. Ties at the threshold are never
// above it: they lower T, which costs power and never the level. When T is
// 0 (all points equal, or every point at or below a tied threshold) there is
// nothing to compare: both p-values are 1 and Informative is false.
//
// NewQuantileTestInclusive counts the points at or above the threshold
// instead. That variant is as exact (the split is still a function of the
// pooled sample), and a caller may choose between the two from the pooled
// sample alone (for example, the inclusive split when ties at the threshold
// leave too few points strictly above it) without losing exactness; a
// choice that looked at the labels would.
type QuantileTest struct {
	// Q is the quantile tested, in (0, 1).
	Q float64
	// Threshold is the pooled sample's type-7 Q-quantile.
	Threshold float64
	// CanaryN and BaselineN are the sample sizes m and n.
	CanaryN, BaselineN int
	// CanaryAbove and BaselineAbove count the points strictly above
	// Threshold (at or above it when Inclusive).
	CanaryAbove, BaselineAbove int
	// Inclusive is true for NewQuantileTestInclusive.
	Inclusive bool

	greater, less, twoSided, minGreater, minLess float64
}

// NewQuantileTest runs the quantile test of canary against baseline at q.
// Both samples must be sorted ascending, non-empty and finite (no NaN, no
// ±Inf); q must lie strictly between 0 and 1.
func NewQuantileTest(canary, baseline []float64, q float64) (QuantileTest, error) {
	return newQuantileTest(canary, baseline, q, false)
}

// NewQuantileTestInclusive is NewQuantileTest counting the points at or
// above the threshold.
func NewQuantileTestInclusive(canary, baseline []float64, q float64) (QuantileTest, error) {
	return newQuantileTest(canary, baseline, q, true)
}

func newQuantileTest(canary, baseline []float64, q float64, inclusive bool) (QuantileTest, error) {
	switch {
	case !(q > 0 && q < 1):
		return QuantileTest{}, fmt.Errorf("quantile test: q = %g is not strictly between 0 and 1", q)
	case len(canary) == 0:
		return QuantileTest{}, errors.New("quantile test: canary sample is empty")
	case len(baseline) == 0:
		return QuantileTest{}, errors.New("quantile test: baseline sample is empty")
	}
	if err := checkFinite(canary); err != nil {
		return QuantileTest{}, fmt.Errorf("quantile test: canary sample: %w", err)
	}
	if err := checkFinite(baseline); err != nil {
		return QuantileTest{}, fmt.Errorf("quantile test: baseline sample: %w", err)
	}
	m, n := len(canary), len(baseline)
	t := QuantileTest{Q: q, CanaryN: m, BaselineN: n, Inclusive: inclusive}
	t.Threshold = pooledPercentile(canary, baseline, q)
	if inclusive {
		t.CanaryAbove = m - countBelow(canary, t.Threshold)
		t.BaselineAbove = n - countBelow(baseline, t.Threshold)
	} else {
		t.CanaryAbove = m - countAtMost(canary, t.Threshold)
		t.BaselineAbove = n - countAtMost(baseline, t.Threshold)
	}
	t.greater, t.less, t.twoSided, t.minGreater, t.minLess = fisherTails(t.CanaryAbove, m, t.CanaryAbove+t.BaselineAbove, n+m)
	return t, nil
}

// Above is the number of pooled points strictly above Threshold.
func (t QuantileTest) Above() int { return t.CanaryAbove + t.BaselineAbove }

// Expected is the number of canary points above Threshold expected under
// "no change": Above × m / (n + m).
func (t QuantileTest) Expected() float64 {
	return float64(t.Above()) * float64(t.CanaryN) / float64(t.CanaryN+t.BaselineN)
}

// Informative reports whether the split separates the pooled sample: some
// points above Threshold and some not. Otherwise the test cannot tell the
// samples apart.
func (t QuantileTest) Informative() bool {
	return t.Above() > 0 && t.Above() < t.CanaryN+t.BaselineN
}

// PValueGreater is the exact one-sided p-value P(A ≥ a) of "no change"
// against "the canary has more points above the threshold".
func (t QuantileTest) PValueGreater() float64 { return t.greater }

// PValueLess is the exact one-sided p-value P(A ≤ a) of "no change" against
// "the canary has fewer points above the threshold".
func (t QuantileTest) PValueLess() float64 { return t.less }

// PValue is the two-sided p-value of R's fisher.test.
func (t QuantileTest) PValue() float64 { return t.twoSided }

// MinPValueGreater is the smallest PValueGreater these margins allow (every
// point above the threshold on the canary's side, as far as m allows): when
// it exceeds a level, no data with these margins could be significant.
// MinPValueLess is the same for PValueLess.
func (t QuantileTest) MinPValueGreater() float64 { return t.minGreater }

// MinPValueLess is the smallest PValueLess these margins allow.
func (t QuantileTest) MinPValueLess() float64 { return t.minLess }

// pooledPercentile is Percentile of the union of two sorted samples,
// without merging them: it walks both to the two order statistics it needs.
func pooledPercentile(a, b []float64, p float64) float64 {
	index, lo, hi := type7Index(len(a)+len(b), p)
	return type7Value(index, lo, kthOfTwo(a, b, lo), kthOfTwo(a, b, hi))
}

// kthOfTwo returns the k-th smallest (1-based) value of the union of two
// sorted slices, by bisection on how many come from a: O(log) time.
func kthOfTwo(a, b []float64, k int) float64 {
	// i values from a and k-i from b: find the smallest i with
	// a[i] >= b[k-i-1] (0-based), i.e. the split where the k smallest end.
	lo, hi := max(0, k-len(b)), min(k, len(a))
	for lo < hi {
		i := (lo + hi) / 2
		if a[i] < b[k-i-1] {
			lo = i + 1
		} else {
			hi = i
		}
	}
	i := lo
	switch {
	case i == 0:
		return b[k-1]
	case i == k:
		return a[k-1]
	}
	return math.Max(a[i-1], b[k-i-1])
}

// countAtMost is the number of values of sorted that are <= v.
func countAtMost(sorted []float64, v float64) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sorted[mid] <= v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// countBelow is the number of values of sorted that are < v.
func countBelow(sorted []float64, v float64) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sorted[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// fisherTails returns, for A hypergeometric (m draws from N points of which
// above are marked), P(A ≥ a), P(A ≤ a), R's two-sided fisher.test p-value
// and the smallest attainable values of the two one-sided tails. The
// probabilities are built by the ratio recurrence
// P(k+1)/P(k) = (above−k)(m−k) / ((k+1)(N−above−m+k+1)) in logarithms,
// relative to the largest, and normalised by their sum: no factorials, so
// no loss of precision for large N.
func fisherTails(a, m, above, total int) (greater, less, twoSided, minGreater, minLess float64) {
	lo, hi := max(0, m+above-total), min(above, m)
	if lo == hi {
		return 1, 1, 1, 1, 1
	}
	logs := make([]float64, hi-lo+1)
	peak := 0.0
	for k := lo; k < hi; k++ {
		num := float64(above-k) * float64(m-k)
		den := float64(k+1) * float64(total-above-m+k+1)
		logs[k-lo+1] = logs[k-lo] + numeric.Log(num/den)
		peak = math.Max(peak, logs[k-lo+1])
	}
	d := make([]float64, len(logs))
	var sum float64
	for i, l := range logs {
		d[i] = numeric.Exp(l - peak)
		sum += d[i]
	}
	for i := range d {
		d[i] /= sum
	}
	obs := d[a-lo]
	for i, p := range d {
		k := lo + i
		if k >= a {
			greater += p
		}
		if k <= a {
			less += p
		}
		if p <= obs*(1+1e-7) {
			twoSided += p
		}
	}
	return math.Min(1, greater), math.Min(1, less), math.Min(1, twoSided), d[len(d)-1], d[0]
}

// QuantileInterval is the distribution-free confidence interval for the
// population q-quantile from order statistics (Conover §3.2): with Y
// the number of points at or below the quantile, Binomial(n, q) for
// continuous data, [x(r), x(s)] covers it with probability at least
// P(r ≤ Y ≤ s−1). r is the largest index with P(Y ≤ r−1) ≤ (1−conf)/2 and s
// the smallest with P(Y ≤ s−1) ≥ 1 − (1−conf)/2, so each side misses with
// probability at most (1−conf)/2. When r would be 0 the lower end is −Inf;
// when s would be n+1 the upper end is +Inf (too few points to bound the
// quantile at that confidence: with 360 points, the upper end of a 95%
// interval for the 99th percentile). With ties (discrete data) the coverage
// is still at least conf. sorted must be sorted ascending and free of NaN;
// conf must lie in (0, 1). r and s are 1-based; r = 0 and s = n+1 mean
// unbounded.
func QuantileInterval(sorted []float64, q, conf float64) (lo, hi float64, r, s int, err error) {
	n := len(sorted)
	switch {
	case n == 0:
		return 0, 0, 0, 0, errors.New("quantile interval: empty sample")
	case !(q > 0 && q < 1):
		return 0, 0, 0, 0, fmt.Errorf("quantile interval: q = %g is not strictly between 0 and 1", q)
	case !(conf > 0 && conf < 1):
		return 0, 0, 0, 0, fmt.Errorf("quantile interval: confidence %g is not strictly between 0 and 1", conf)
	}
	tail := float64((1 - conf) / 2)
	cdf := binomialCDF(n, q)
	// cdf[k] = P(Y ≤ k). r − 1 is the largest k with cdf[k] ≤ tail; r = 0
	// (no lower bound) when even P(Y ≤ 0) exceeds it.
	r = 0
	for k := 0; k <= n; k++ {
		if cdf[k] <= tail {
			r = k + 1
		} else {
			break
		}
	}
	s = n + 1
	for k := 0; k <= n; k++ {
		if cdf[k] >= 1-tail {
			s = k + 1
			break
		}
	}
	lo, hi = math.Inf(-1), math.Inf(1)
	if r >= 1 && r <= n {
		lo = sorted[r-1]
	}
	if s <= n {
		hi = sorted[s-1]
	}
	return lo, hi, r, s, nil
}

// binomialCDF returns P(Y ≤ k) for k = 0..n, Y ~ Binomial(n, p). The
// probabilities are built outward from the mode by the ratio recurrence
// P(k+1)/P(k) = (n−k)/(k+1) · p/(1−p), relative to the mode's (so large n
// neither underflows nor needs factorials), and dropped once below 1e-30 of
// it: the rest of a tail then adds less than one part in 10^29 (the ratios
// shrink away from the mode). Values below the mode are summed from 0 up,
// those above it as 1 − the upper tail summed from n down, so that both
// tails keep their digits. One array, no logarithms.
func binomialCDF(n int, p float64) []float64 {
	const negligible = 1e-30
	odds := p / (1 - p)
	mode := min(int(math.Floor(float64(n+1)*p)), n)
	d := make([]float64, n+1)
	d[mode] = 1
	sum := 1.0
	for k := mode; k < n && d[k] > negligible; k++ {
		d[k+1] = float64(d[k] * float64(n-k) / float64(k+1) * odds)
		sum += d[k+1]
	}
	for k := mode; k > 0 && d[k] > negligible; k-- {
		d[k-1] = d[k] * float64(k) / float64(n-k+1) / odds
		sum += d[k-1]
	}
	// d becomes the distribution function in place.
	var acc float64
	for k := 0; k <= mode; k++ {
		acc += d[k] / sum
		d[k] = acc
	}
	var upper float64 // P(Y > k)
	for k := n; k > mode; k-- {
		pk := d[k] / sum
		d[k] = 1 - upper
		upper += pk
	}
	return d
}

// QuantileDifferenceInterval is a distribution-free confidence interval, at
// least conf, for the difference canary − baseline of the two population
// q-quantiles: each side's QuantileInterval at √conf, combined as
// [loC − hiB, hiC − loB]. The two samples are independent, so both
// intervals cover together with probability at least √conf·√conf = conf
// (conservative: the coverage of the difference is higher still). Ends are
// ±Inf when a side's interval is unbounded there. Both samples must be
// sorted ascending and free of NaN.
func QuantileDifferenceInterval(canary, baseline []float64, q, conf float64) (lo, hi float64, err error) {
	if !(conf > 0 && conf < 1) {
		return 0, 0, fmt.Errorf("quantile interval: confidence %g is not strictly between 0 and 1", conf)
	}
	each := math.Sqrt(conf)
	loC, hiC, _, _, err := QuantileInterval(canary, q, each)
	if err != nil {
		return 0, 0, fmt.Errorf("canary: %w", err)
	}
	loB, hiB, _, _, err := QuantileInterval(baseline, q, each)
	if err != nil {
		return 0, 0, fmt.Errorf("baseline: %w", err)
	}
	lo, hi = loC-hiB, hiC-loB
	if math.IsNaN(lo) { // -Inf - +Inf
		lo = math.Inf(-1)
	}
	if math.IsNaN(hi) {
		hi = math.Inf(1)
	}
	return lo, hi, nil
}
