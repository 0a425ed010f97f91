package stat

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/verdict-aca/verdict/internal/numeric"
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

// Estimate returns R's "difference in location", the Hodges–Lehmann estimate
// of the shift x - y. In the exact case it is the median of the nx·ny
// pairwise differences (the mean of the two middle ones when nx·ny is even).
// In the normal case it is the root R's uniroot finds for the standardised
// statistic without continuity correction, replayed step for step (see
// unirootEstimate and the package doc): within 1e-4 of that median, or
// between the two middle differences when nx·ny is even. Where R's uniroot
// would stop with an error it falls back to the median.
func (t *MannWhitney) Estimate() float64 {
	if !t.exact {
		if v, ok := t.unirootEstimate(); ok {
			return v
		}
	}
	n := int64(len(t.x)) * int64(len(t.y))
	if n%2 == 1 {
		var out [1]float64
		c, ok := t.selectDiffs([]int64{(n + 1) / 2}, out[:])
		if ok && t.centre.Load() == nil {
			c.mid = out[0]
			t.centre.Store(&c)
		}
		return out[0]
	}
	a, b := t.middlePair(n / 2)
	return mid(a, b)
}

// mid returns (a+b)/2 without overflow.
func mid(a, b float64) float64 {
	s := a + b
	if math.IsInf(s, 0) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
		return float64(a/2) + float64(b/2)
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
		var ends [2]float64
		t.selectDiffs([]int64{qu, n - qu + 1}, ends[:])
		return ends[0], ends[1], nil
	}
	ends, err := t.roots([]float64{numeric.Qnorm(alpha/2, false), numeric.Qnorm(alpha/2, true)}, twoSided)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("mann-whitney interval: %w", err)
	}
	return ends[0], ends[1], nil
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
	v, err := t.root(numeric.Qnorm(alpha, false), greater)
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
	v, err := t.root(numeric.Qnorm(alpha, true), less)
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
	nx, ny := float64(len(t.x)), float64(len(t.y))
	rankSum2, ties := t.shiftedRanks(d, nil)
	dz := float64(float64(rankSum2)/2) - float64(nx*(nx+1)/2) - float64(nx*ny/2)
	sigma = sigmaW(nx, ny, ties)
	return (dz - correction(alt, dz)) / sigma, sigma
}

// shiftedRanks ranks the pooled sample (x - d, y) as R's rank and table see
// it, x[i] - d rounded to float64 and ties being exact equality (-0 == +0):
// it returns twice the rank sum of x - d with average ranks (exact) and R's
// sum(NTIES^3 - NTIES) over the tie groups. Each term t³-t is rounded to
// float64 as R computes it and the terms are summed exactly, as R's long
// double sum does for integers below 2^64, then rounded once. x - d is sorted
// because x is and subtraction is monotone, so one merge, O(nx+ny). The
// estimate's root finder passes its counter (see rootCounter); other
// callers nil.
func (t *MannWhitney) shiftedRanks(d float64, counter *rootCounter) (rankSum2 int64, ties float64) {
	if within, exact := t.withinTies(); exact {
		var below int64
		var ok bool
		if counter != nil {
			below, ok = counter.count(d)
		} else {
			below, ok = t.countBelow(d, make([]int32, len(t.x)))
		}
		if ok {
			n := int64(len(t.x))
			return n*(n+1) + 2*below, float64(within)
		}
	}
	if rankSum2, ties, ok := t.shiftedRanksOnePass(d); ok {
		return rankSum2, ties
	}
	return t.shiftedRanksMerge(d)
}

// shiftedRanksMerge is shiftedRanks for every shift: one merge that follows
// each tie group of the pooled sample.
func (t *MannWhitney) shiftedRanksMerge(d float64) (rankSum2 int64, ties float64) {
	x, y := t.x, t.y
	i, j := 0, 0
	var pos int64
	var exact uint64
	var inexact float64 // terms beyond the exact sum (2^64 and more)
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j >= len(y):
			v = x[i] - d
		case i >= len(x):
			v = y[j]
		default:
			v = x[i] - d
			if y[j] < v {
				v = y[j]
			}
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
			term := float64(ft*ft*ft) - ft
			if term < 0x1p63 && exact < 1<<63 {
				exact += uint64(term)
			} else {
				inexact += term
			}
		}
		pos += tt
	}
	return rankSum2, float64(exact) + inexact
}

// shiftedRanksOnePass is shiftedRanks for the usual case, a shift d at
// which no two different x[i] round to the same x[i] - d. The pooled tie
// groups are then those of x and of y, merged where an x[i] - d equals a
// y[j]. The average ranks of x - d among themselves add up to nx(nx+1)/2,
// so
//
//	2·rankSum = nx(nx+1) + Σ_i (2·#{j: y[j] < x[i] - d} + #{j: y[j] = x[i] - d}),
//
// and a group of cx values of x - d and cy of y adds (cx+cy)³ - (cx+cy) -
// (cx³ - cx) - (cy³ - cy) = 3·cx·cy·(cx+cy) to the tie term of x and y
// alone: one pass with two pointers, with integer tie terms (exact, as R's
// long double sum of its exact float64 terms is while the total stays below
// 2^53). It reports false, having computed nothing usable, for other shifts
// and for tie terms too large for that.
func (t *MannWhitney) shiftedRanksOnePass(d float64) (rankSum2 int64, ties float64, ok bool) {
	within, exact := t.withinTies()
	if !exact {
		return 0, 0, false
	}
	x, ys := t.x, t.ys[1:] // ys[1:] is y followed by +Inf padding
	nx := len(x)
	var sum, cross int64
	j := 0
	prev := math.Inf(-1)
	for i := 0; i < nx; {
		xi := x[i]
		v := xi - d
		for ys[j] < v {
			j++
		}
		if v == prev && i > 0 && xi != x[i-1] {
			return 0, 0, false // two different x merged by rounding
		}
		prev = v
		if ys[j] != v {
			sum += 2 * int64(j)
			i++
			continue
		}
		// A cross tie: the x equal to x[i] and the y equal to v.
		if math.IsInf(v, 0) {
			return 0, 0, false // v met the padding
		}
		cy := 1
		for ys[j+cy] == v {
			cy++
		}
		cx := 1
		for i+cx < nx && x[i+cx] == xi {
			cx++
		}
		if i+cx < nx && x[i+cx]-d == v {
			return 0, 0, false
		}
		if cx+cy >= 1<<17 {
			return 0, 0, false
		}
		sum += int64(cx) * (2*int64(j) + int64(cy))
		cross += 3 * int64(cx) * int64(cy) * int64(cx+cy)
		if cross >= 1<<53 {
			return 0, 0, false
		}
		i += cx
	}
	if within+uint64(cross) >= 1<<53 {
		return 0, 0, false
	}
	n := int64(nx)
	return n*(n+1) + sum, float64(within + uint64(cross)), true
}

// withinTies returns R's tie term for x and y on their own, Σ(t³-t) over
// the tie groups of x and of y, summed exactly; exact is false when the sum
// may reach 2^53 (see tieSumInt).
func (t *MannWhitney) withinTies() (sum uint64, exact bool) {
	return t.within, t.withinExact
}

// unirootEstimate returns R's estimate in the normal case:
//
//	uniroot(W, lower = mumin, upper = mumax, tol = 1e-4)$root
//
// with W(d) the standardised statistic of x - d against y without continuity
// correction, (dz - 0)/SIGMA.CI, evaluated as R does (see shiftedRanks) and
// the root found by the port of R's zeroin. It reports false where R's
// uniroot stops with an error (mumin == mumax, W NA at an end, no sign
// change) and where an end of the range is infinite (the differences
// overflow), in which cases Estimate falls back to the median difference.
func (t *MannWhitney) unirootEstimate() (float64, bool) {
	mumin, mumax := t.minDiff(), t.maxDiff()
	if !(mumin < mumax) || math.IsInf(mumin, 0) || math.IsInf(mumax, 0) {
		return math.NaN(), false
	}
	nx, ny := float64(len(t.x)), float64(len(t.y))
	// Every W(d) also tells about how many differences lie at or below d
	// (nx·ny/2 - dz, ties halved): kept for the interval's selection to
	// aim its first passes with (see MannWhitney.shape).
	var seen [32]point
	ns := 0
	rows := t.rows
	if rows == nil || !t.rowsBusy.CompareAndSwap(false, true) {
		rows = make([]int32, 4*len(t.x))
	} else {
		defer t.rowsBusy.Store(false)
	}
	counter := newRootCounter(t, rows)
	w := func(d float64) float64 {
		rankSum2, ties := t.shiftedRanks(d, counter)
		dz := float64(float64(rankSum2)/2) - float64(nx*(nx+1)/2) - float64(nx*ny/2)
		if ns < len(seen) {
			seen[ns] = point{d, int64(float64(nx*ny/2) - dz)}
			ns++
		}
		sigma := math.Sqrt((nx * ny / 12) * ((nx + ny + 1) - ties/((nx+ny)*(nx+ny-1))))
		return (dz - 0) / sigma
	}
	fl, fu := w(mumin), w(mumax)
	if math.IsNaN(fl) || math.IsNaN(fu) || sign(fl)*sign(fu) > 0 {
		return math.NaN(), false
	}
	root := zeroin(mumin, mumax, fl, fu, func(d float64) float64 { return rValue(w(d)) }, zeroinTol, zeroinMaxIter)
	if t.shape.Load() == nil {
		pts := slices.Clone(seen[:ns])
		t.shape.Store(&pts)
	}
	return root, true
}

// root returns R's root(zq): the shift d at which the standardised statistic
// W(d) crosses zq, with R's short cuts at the ends of [min d, max d].
func (t *MannWhitney) root(zq float64, alt alternative) (float64, error) {
	v, err := t.roots([]float64{zq}, alt)
	if err != nil {
		return math.NaN(), err
	}
	return v[0], nil
}

// roots returns root(zq) for each of the (at most two) zq, selecting the
// order statistics together.
//
// Between consecutive distinct differences W(d) is constant: with j
// differences below d, dz = nx·ny/2 - j and the variance is sigma0 (ties within
// each sample only). h(j) = (dz - correction)/sigma0 - zq does not increase
// with j, so the sign change R's uniroot converges to sits at the difference
// d(j*) for the smallest j* with h(j*) <= 0.
//
// Except when h(j*) is exactly 0 and d(j*) < d(j*+1): W(d) - zq is then
// zero on the whole gap between them (a one-sided bound at level 0.5, where
// zq = 0 and dz - correction = 0), and R's uniroot returns the first point
// of its path that lands in the gap, anywhere in it. That root is replayed
// (see unirootBound).
func (t *MannWhitney) roots(zqs []float64, alt alternative) ([]float64, error) {
	mumin, mumax := t.minDiff(), t.maxDiff()
	out := make([]float64, len(zqs))
	var ks [2]int64
	var at [2]int // out index of each selected order statistic
	nk := 0
	var ends endValues
	for i, zq := range zqs {
		cut, v, err := t.shortCut(zq, alt, mumin, mumax, &ends)
		if err != nil {
			return nil, err
		}
		if cut {
			out[i] = v
			continue
		}
		ks[nk], at[nk] = t.rootIndex(zq, alt), i
		nk++
	}
	if nk == 2 && ks[0] > ks[1] {
		ks[0], ks[1] = ks[1], ks[0]
		at[0], at[1] = at[1], at[0]
	}
	var vals [2]float64
	t.selectDiffs(ks[:nk], vals[:nk])
	for i := range nk {
		v := vals[i]
		if zq := zqs[at[i]]; t.flatAbove(zq, alt, ks[i], v) && !math.IsInf(mumin, 0) && !math.IsInf(mumax, 0) {
			v = t.unirootBound(zq, alt, mumin, mumax)
		}
		out[at[i]] = v
	}
	return out, nil
}

// gapValue returns h(j) (see roots): R's W(d) - zq on the gap above the
// j-th difference, computed in R's order of operations.
func (t *MannWhitney) gapValue(zq float64, alt alternative, j int64) float64 {
	dz := float64(float64(int64(len(t.x))*int64(len(t.y)))/2) - float64(j)
	return (dz-correction(alt, dz))/t.sigma0 - zq
}

// rootIndex returns the smallest j* with h(j*) <= 0 (see roots), in [1, nx·ny].
func (t *MannWhitney) rootIndex(zq float64, alt alternative) int64 {
	n := int64(len(t.x)) * int64(len(t.y))
	half := float64(float64(n) / 2)
	// Start from the uncorrected solution and step to the exact one: the
	// correction moves it by at most one.
	j := int64(math.Round(half - float64(zq*t.sigma0)))
	j = max(0, min(n, j))
	for j > 0 && t.gapValue(zq, alt, j-1) <= 0 {
		j--
	}
	for j <= n && t.gapValue(zq, alt, j) > 0 {
		j++
	}
	return max(1, min(n, j))
}

// flatAbove reports whether R's W(d) - zq is exactly zero on a non-empty
// gap above dj, the j-th difference: h(j) == 0 and d(j+1) > dj.
func (t *MannWhitney) flatAbove(zq float64, alt alternative, j int64, dj float64) bool {
	n := int64(len(t.x)) * int64(len(t.y))
	return j < n && t.gapValue(zq, alt, j) == 0 && t.selectDiff(j+1) > dj
}

// unirootBound replays R's
//
//	uniroot(wdiff, lower = mumin, upper = mumax, f.lower = W(mumin) - zq,
//	        f.upper = W(mumax) - zq, tol = 1e-4, zq = zq)$root
//
// with W(d) evaluated exactly as wilcox.test does (see wAt) and the port
// of R's zeroin. roots uses it only where the exact breakpoint is not R's
// root: W(d) - zq is zero on a whole gap and R stops wherever it first
// lands in it. The ends must be finite, and W(mumin) - zq > 0 > W(mumax) - zq
// (R's short cuts did not apply). O(nx+ny) per evaluation, a few tens of
// evaluations.
func (t *MannWhitney) unirootBound(zq float64, alt alternative, mumin, mumax float64) float64 {
	wdiff := func(d float64) float64 {
		w, _ := t.wAt(d, alt)
		return w - zq
	}
	return zeroin(mumin, mumax, wdiff(mumin), wdiff(mumax), func(d float64) float64 { return rValue(wdiff(d)) }, zeroinTol, zeroinMaxIter)
}

// endValues caches W(d) at the two ends of the range of shifts, for one
// alternative.
type endValues struct {
	known                  bool
	wmin, smin, wmax, smax float64
}

// shortCut applies R's short cuts: when W(min d) - zq <= 0 the root is min
// d, when W(max d) - zq >= 0 it is max d; a zero variance at either end is
// ErrAllTied (R's wilcox.test stops; the estimate's uniroot gets NaN there
// even when the interval's short cut would not). W at the ends is evaluated
// exactly as R does only when a cheap bound does not already settle both
// questions (see endsSettled).
func (t *MannWhitney) shortCut(zq float64, alt alternative, mumin, mumax float64, ends *endValues) (cut bool, v float64, err error) {
	if !ends.known && t.endsSettled(zq, mumin, mumax) {
		return false, 0, nil
	}
	if !ends.known {
		ends.wmin, ends.smin = t.wAt(mumin, alt)
		ends.wmax, ends.smax = t.wAt(mumax, alt)
		ends.known = true
	}
	if ends.smin == 0 || ends.smax == 0 || math.IsNaN(ends.wmin) || math.IsNaN(ends.wmax) {
		return false, math.NaN(), ErrAllTied
	}
	if ends.wmin-zq <= 0 {
		return true, mumin, nil
	}
	if ends.wmax-zq >= 0 {
		return true, mumax, nil
	}
	return false, 0, nil
}

// endsSettled reports whether, without evaluating W at the ends, it is
// certain that neither short cut applies and neither end has a zero
// variance: W(min d) > zq and W(max d) < zq.
//
// At d = min d = x[0]-y[ny-1], a pair (i, j) can fail x[i]-d > y[j] only if
// x[i]-d <= y[ny-1] and y[j] >= x[0]-d (rounding is monotone): with P rows and
// Q columns meeting these, at most P·Q pairs are not above, so dz >= nx·ny/2 -
// P·Q. Ties only lower the variance, so sigma <= sigmaW(nx, ny, 0), and a
// pair above means not all values are tied (sigma > 0). When dz > 1/2 the
// corrected statistic is then at least (dz - 1/2)/sigmaW(nx, ny, 0) for
// every alternative (each correction lies in [-1/2, 1/2]). The maximum is
// symmetric. A small relative margin covers rounding.
func (t *MannWhitney) endsSettled(zq, mumin, mumax float64) bool {
	const scan = 64 // give up on longer runs of near-ties at the ends
	x, y := t.x, t.y
	nx, ny := len(x), len(y)
	// Rows and columns that may not be strictly above at min d.
	p := 0
	for p < nx && p < scan && x[p]-mumin <= y[ny-1] {
		p++
	}
	q := 0
	for q < ny && q < scan && y[ny-1-q] >= x[0]-mumin {
		q++
	}
	// ... and strictly below at max d.
	p2 := 0
	for p2 < nx && p2 < scan && x[nx-1-p2]-mumax >= y[0] {
		p2++
	}
	q2 := 0
	for q2 < ny && q2 < scan && y[q2] <= x[nx-1]-mumax {
		q2++
	}
	if p == scan || q == scan || p2 == scan || q2 == scan {
		return false
	}
	half := float64(float64(nx) * float64(ny) / 2)
	smax := sigmaW(float64(nx), float64(ny), 0)
	margin := float64(1e-9 * (1 + math.Abs(zq)))
	dmin := half - float64(p*q)   // dz at min d is at least this
	dmax := float64(p2*q2) - half // dz at max d is at most this
	return dmin > 0.5 && (dmin-0.5)/smax > zq+margin &&
		dmax < -0.5 && (dmax+0.5)/smax < zq-margin
}
