package stat

import (
	"errors"
	"fmt"
	"math"
)

// ErrAllTied is returned (wrapped) by the interval methods when every pooled
// observation is tied at an end of the range of shifts, so the variance of
// the statistic is zero and R's wilcox.test stops with an error.
var ErrAllTied = errors.New("cannot compute a confidence interval: all observations are tied")

// alternative selects R's continuity correction of the standardised W(d).
type alternative int

const (
	twoSided alternative = iota
	greater
	less
	noCorrection
)

// Estimate returns the Hodges–Lehmann estimate of the shift x - y: the median
// of the nx·ny pairwise differences (the mean of the two middle ones when
// nx·ny is even). This is R's "difference in location" in the exact case; in
// the normal case R's uniroot returns a point within 1e-4 of it or, for nx·ny
// even, between the two middle differences (see the package doc).
func (t *MannWhitney) Estimate() float64 {
	n := int64(len(t.x)) * int64(len(t.y))
	if n%2 == 1 {
		return t.selectDiff((n + 1) / 2)
	}
	a, b := t.middlePair(n / 2)
	return mid(a, b)
}

// mid returns (a+b)/2 without overflow.
func mid(a, b float64) float64 {
	s := a + b
	if math.IsInf(s, 0) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
		return a/2 + b/2
	}
	return s / 2
}

func checkConf(conf float64) error {
	if !(conf > 0 && conf < 1) {
		return fmt.Errorf("confidence level %v is not in (0, 1)", conf)
	}
	return nil
}

// Interval returns the two-sided confidence interval for the shift x - y at
// level conf in (0, 1), equal to R's conf.int with alternative "two.sided".
// It returns an error for a level outside (0, 1) and, in the normal case, when
// all pooled observations are tied (R errors too).
func (t *MannWhitney) Interval(conf float64) (lo, hi float64, err error) {
	if err := checkConf(conf); err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("mann-whitney interval: %w", err)
	}
	alpha := 1 - conf
	n := int64(len(t.x)) * int64(len(t.y))
	if t.exact {
		qu := t.qwilcox(alpha / 2)
		if qu == 0 {
			qu = 1
		}
		return t.selectDiff(qu), t.selectDiff(n - qu + 1), nil
	}
	lo, err = t.root(qnorm(1-alpha/2), twoSided)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("mann-whitney interval: %w", err)
	}
	hi, err = t.root(qnorm(alpha/2), twoSided)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("mann-whitney interval: %w", err)
	}
	return lo, hi, nil
}

// LowerBound returns the lower end of the one-sided interval [lower, +Inf) at
// level conf, R's conf.int with alternative "greater": with confidence conf
// the shift x - y is at least this.
func (t *MannWhitney) LowerBound(conf float64) (float64, error) {
	if err := checkConf(conf); err != nil {
		return math.NaN(), fmt.Errorf("mann-whitney lower bound: %w", err)
	}
	alpha := 1 - conf
	if t.exact {
		qu := t.qwilcox(alpha)
		if qu == 0 {
			qu = 1
		}
		return t.selectDiff(qu), nil
	}
	v, err := t.root(qnorm(1-alpha), greater)
	if err != nil {
		return math.NaN(), fmt.Errorf("mann-whitney lower bound: %w", err)
	}
	return v, nil
}

// UpperBound returns the upper end of the one-sided interval (-Inf, upper] at
// level conf, R's conf.int with alternative "less": with confidence conf the
// shift x - y is at most this.
func (t *MannWhitney) UpperBound(conf float64) (float64, error) {
	if err := checkConf(conf); err != nil {
		return math.NaN(), fmt.Errorf("mann-whitney upper bound: %w", err)
	}
	alpha := 1 - conf
	if t.exact {
		qu := t.qwilcox(alpha)
		if qu == 0 {
			qu = 1
		}
		n := int64(len(t.x)) * int64(len(t.y))
		return t.selectDiff(n - qu + 1), nil
	}
	v, err := t.root(qnorm(alpha), less)
	if err != nil {
		return math.NaN(), fmt.Errorf("mann-whitney upper bound: %w", err)
	}
	return v, nil
}

// correction is R's CORRECTION.CI for a centred statistic dz.
func correction(alt alternative, dz float64) float64 {
	switch alt {
	case twoSided:
		return sign(dz) * 0.5
	case greater:
		return 0.5
	case less:
		return -0.5
	}
	return 0
}

// wAt evaluates R's standardised statistic W(d) exactly as wilcox.test does:
// rank the pooled sample (x - d, y) with average ranks and its own ties, and
// return (dz - correction)/sigma. It is used at the two ends of the range of
// shifts, where ties between x - d and y matter. O(nx+ny).
func (t *MannWhitney) wAt(d float64, alt alternative) (w, sigma float64) {
	x, y := t.x, t.y
	nx, ny := float64(len(x)), float64(len(y))
	i, j := 0, 0
	var pos, rankSum2 int64
	var ties float64
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j >= len(y):
			v = x[i] - d
		case i >= len(x):
			v = y[j]
		default:
			v = math.Min(x[i]-d, y[j])
		}
		var cx, cy int64
		for i < len(x) && x[i]-d == v {
			i++
			cx++
		}
		for j < len(y) && y[j] == v {
			j++
			cy++
		}
		tt := cx + cy
		rankSum2 += cx * (2*pos + tt + 1)
		if tt > 1 {
			ft := float64(tt)
			ties += ft*ft*ft - ft
		}
		pos += tt
	}
	dz := float64(rankSum2)/2 - nx*(nx+1)/2 - nx*ny/2
	sigma = sigmaW(nx, ny, ties)
	return (dz - correction(alt, dz)) / sigma, sigma
}

// root returns R's root(zq): the shift d at which the standardised statistic
// W(d) crosses zq, with R's short cuts at the ends of [min d, max d].
//
// Between consecutive distinct differences W(d) is constant: with j
// differences below d, dz = nx·ny/2 - j and the variance is sigma0 (ties within
// each sample only). h(j) = (dz - correction)/sigma0 - zq does not increase
// with j, so the sign change R's uniroot converges to sits at the difference
// d(j*) for the smallest j* with h(j*) <= 0.
func (t *MannWhitney) root(zq float64, alt alternative) (float64, error) {
	mumin, mumax := t.minDiff(), t.maxDiff()
	// With a zero variance at either end R's wilcox.test stops (the estimate's
	// uniroot gets NaN there even when the interval's short cut would not).
	wmin, smin := t.wAt(mumin, alt)
	wmax, smax := t.wAt(mumax, alt)
	if smin == 0 || smax == 0 || math.IsNaN(wmin) || math.IsNaN(wmax) {
		return math.NaN(), ErrAllTied
	}
	if wmin-zq <= 0 {
		return mumin, nil
	}
	if wmax-zq >= 0 {
		return mumax, nil
	}
	n := int64(len(t.x)) * int64(len(t.y))
	half := float64(n) / 2
	h := func(j int64) float64 {
		dz := half - float64(j)
		return (dz-correction(alt, dz))/t.sigma0 - zq
	}
	// Start from the uncorrected solution and step to the exact one: the
	// correction moves it by at most one.
	j := int64(math.Round(half - zq*t.sigma0))
	j = max(0, min(n, j))
	for j > 0 && h(j-1) <= 0 {
		j--
	}
	for j <= n && h(j) > 0 {
		j++
	}
	j = max(1, min(n, j))
	return t.selectDiff(j), nil
}
