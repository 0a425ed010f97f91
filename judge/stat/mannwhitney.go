package stat

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// exactLimit is R's default for the exact test: both samples smaller than it.
const exactLimit = 50

// MannWhitney is the two-sample Wilcoxon rank-sum / Mann–Whitney U test of x
// (the canary) against y (the baseline), with the Hodges–Lehmann estimate of
// the shift x - y and its confidence intervals. Results equal R's
// wilcox.test(x, y, conf.int = TRUE, conf.level = c, correct = TRUE); see the
// package doc for the algorithms and the few documented differences.
//
// A MannWhitney is safe for concurrent use. Its results never change; the
// only state it keeps after construction is what selecting the median
// difference learnt, published atomically, which later interval selections
// start from.
type MannWhitney struct {
	x, y []float64 // sorted ascending copies
	ys   []float64 // y with -Inf before and +Inf after it: ys[j+1] == y[j]; padded

	w     float64 // R's W statistic
	ties  bool    // ties in the pooled sample
	exact bool

	// sigma is the standard deviation of W under the null hypothesis with
	// R's tie correction over the pooled sample; sigma0 uses only the ties
	// within x and within y, which is the variance of W(d) for every shift d
	// that is not a pairwise difference.
	sigma, sigma0 float64

	// counts[k] is the number of arrangements giving W = k (exact case only),
	// total their sum, choose(nx+ny, nx).
	counts []float64
	total  float64

	// within is the tie term of x and y on their own, exact unless
	// withinExact is false (see withinTieSum).
	within      uint64
	withinExact bool
	// gap is the smallest gap between consecutive different values of x
	// (see minGap), computed once.
	gapOnce sync.Once
	gap     float64

	// rows is the estimate's counter's memory (see rootCounter), lent by
	// a Buffer; rowsBusy makes sure only one estimate at a time uses it.
	rows     []int32
	rowsBusy atomic.Bool

	// centre is set once the middle differences have been selected (see
	// selectDiffs); an atomic pointer to an immutable value, so concurrent
	// use stays safe.
	centre atomic.Pointer[centre]
	// shape holds the shifts the estimate's root finder evaluated with the
	// number of differences at or below each, approximate (it counts
	// x - d against y as R's rank does, the selection counts x - y
	// against d, and halves ties): the selection aims its first windows
	// with them, and never narrows a bracket with them. Published once,
	// immutable.
	shape atomic.Pointer[[]point]
}

// NewMannWhitney prepares the test of x (canary) against y (baseline). It
// copies and sorts both samples. It returns an error when a sample is empty or
// holds a NaN or an infinite value.
func NewMannWhitney(x, y []float64) (*MannWhitney, error) {
	if len(x) == 0 {
		return nil, errors.New("mann-whitney: canary sample (x) is empty")
	}
	if len(y) == 0 {
		return nil, errors.New("mann-whitney: baseline sample (y) is empty")
	}
	return newMannWhitney(x, y, make([]float64, len(x)+len(y)+2+listPad))
}

// A Buffer lends its storage to the tests made with it, so that a caller
// testing many pairs of samples one after another (a judge answering
// requests) does not allocate new storage for each. A test made with a
// Buffer must not be used once the next one is made with it.
//
// The zero Buffer is ready to use. A Buffer is not safe for concurrent use.
type Buffer struct {
	floats []float64
	ints   []int32
}

// NewMannWhitney is the package's NewMannWhitney with the test's sorted
// copies kept in b's storage.
func (b *Buffer) NewMannWhitney(x, y []float64) (*MannWhitney, error) {
	if len(x) == 0 || len(y) == 0 {
		return NewMannWhitney(x, y) // its error
	}
	n := len(x) + len(y) + 2 + listPad
	if cap(b.floats) < n {
		b.floats = make([]float64, n)
	}
	if cap(b.ints) < 4*len(x) {
		b.ints = make([]int32, 4*len(x))
	}
	t, err := newMannWhitney(x, y, b.floats[:n])
	if t != nil {
		t.rows = b.ints[:4*len(x)]
	}
	return t, err
}

// newMannWhitney is NewMannWhitney with its storage given: buf holds both
// sorted copies, y between -Inf and +Inf (and listPad more +Inf, so that
// listing may read past the end), len(x)+len(y)+2+listPad values.
func newMannWhitney(x, y, buf []float64) (*MannWhitney, error) {
	if err := checkFinite(x); err != nil {
		return nil, fmt.Errorf("mann-whitney: canary sample (x): %w", err)
	}
	if err := checkFinite(y); err != nil {
		return nil, fmt.Errorf("mann-whitney: baseline sample (y): %w", err)
	}
	nx, ny := len(x), len(y)
	t := &MannWhitney{x: buf[:nx:nx], y: buf[nx+1 : nx+1+ny : nx+1+ny], ys: buf[nx:]}
	t.ys[0] = math.Inf(-1)
	for i := ny + 1; i < len(t.ys); i++ {
		t.ys[i] = math.Inf(1)
	}
	copy(t.x, x)
	copy(t.y, y)
	sortFloats(t.x)
	sortFloats(t.y)

	t.within, t.withinExact = withinTieSum(t.x, t.y)
	within := float64(t.within) // exact below 2^53, as R's sum is
	if !t.withinExact {
		within = tieSum(t.x) + tieSum(t.y)
	}
	w2, tiePooled := pairCounts(t.x, t.y, t.within, t.withinExact)
	t.w = float64(w2) / 2
	t.ties = tiePooled > 0
	t.sigma = sigmaW(float64(len(x)), float64(len(y)), tiePooled)
	t.sigma0 = sigmaW(float64(len(x)), float64(len(y)), within)
	t.exact = len(x) < exactLimit && len(y) < exactLimit && !t.ties
	if t.exact {
		t.counts = wilcoxCounts(len(x), len(y))
		for _, c := range t.counts {
			t.total += c
		}
	}
	return t, nil
}

func checkFinite(v []float64) error {
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("value %d is %v; only finite values can be ranked", i, f)
		}
	}
	return nil
}

// sigmaW is R's standard deviation of W with tie term ties = Σ(t³-t):
// sqrt((nx·ny/12)·((nx+ny+1) - ties/((nx+ny)(nx+ny-1)))).
func sigmaW(nx, ny, ties float64) float64 {
	n := nx + ny
	if n < 2 {
		return 0
	}
	v := (nx * ny / 12) * ((n + 1) - ties/(n*(n-1)))
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}

// tieSum returns Σ(t³-t) over the groups of equal values of sorted.
func tieSum(sorted []float64) float64 {
	var s float64
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			s += float64(t*t*t) - t
		}
		i = j
	}
	return s
}

// pairCounts returns twice R's W statistic, 2·#{x[i] > y[j]} + #{x[i] ==
// y[j]} (W is the rank sum of x with average ranks minus nx(nx+1)/2), and
// the tie term Σ(t³-t) over the groups of equal values of the pooled sample,
// for sorted x and y.
//
// For each x[i] the y below it are a prefix that only grows with i: two
// pointers, O(nx+ny), with a slower step only at values present in both
// samples. The pooled tie term is the within-sample terms plus, for each
// value present in both with cx and cy copies, (cx+cy)³-(cx+cy) -
// (cx³-cx) - (cy³-cy) = 3·cx·cy·(cx+cy). It is summed in integers; when it
// reaches 2^53 (huge tie groups) it is recomputed by rankSum, whose
// floating-point sum over the groups in increasing order is the reference.
// within and withinExact are x's and y's own tie terms (withinTieSum).
func pairCounts(x, y []float64, within uint64, withinExact bool) (w2 int64, ties float64) {
	m := len(y)
	var below, equal int64 // #{x[i] > y[j]}, #{x[i] == y[j]}
	var cross uint64
	crossOK := true
	j := 0
	for i := 0; i < len(x); {
		xi := x[i]
		for j < m && y[j] < xi {
			j++
		}
		if j == m || y[j] != xi {
			below += int64(j)
			i++
			continue
		}
		// xi occurs in both samples.
		k := j + 1
		for k < m && y[k] == xi {
			k++
		}
		e := i + 1
		for e < len(x) && x[e] == xi {
			e++
		}
		cx, cy := uint64(e-i), uint64(k-j)
		below += int64(e-i) * int64(j)
		equal += int64(cx * cy)
		if c := 3 * cx * cy * (cx + cy); cx+cy < 1<<20 && cross+c < 1<<53 {
			cross += c
		} else {
			crossOK = false
		}
		i, j = e, k
	}
	w2 = 2*below + equal
	if total := within + cross; crossOK && withinExact && total < 1<<53 {
		return w2, float64(total)
	}
	_, ties, _ = rankSum(x, y)
	return w2, ties
}

// withinTieSum returns R's tie term for x and y on their own, Σ(t³-t)
// over the tie groups of x and of y, summed exactly; exact is false when
// the sum may reach 2^53 (see tieSumInt).
func withinTieSum(x, y []float64) (sum uint64, exact bool) {
	tx, okx := tieSumInt(x)
	ty, oky := tieSumInt(y)
	return tx + ty, okx && oky && tx+ty < 1<<53
}

// tieSumInt returns Σ(t³-t) over the groups of equal values of sorted in
// integers, and false when it may not be below 2^53.
func tieSumInt(sorted []float64) (uint64, bool) {
	var s uint64
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if t := uint64(j - i); t > 1 {
			if t >= 1<<17 {
				return 0, false
			}
			s += t*t*t - t
			if s >= 1<<53 {
				return 0, false
			}
		}
		i = j
	}
	return s, true
}

// rankSum merges sorted x and sorted y and returns twice the rank sum of x
// with average ranks, the tie term Σ(t³-t) of the pooled sample and whether it
// has ties.
func rankSum(x, y []float64) (rankSum2 int64, ties float64, anyTie bool) {
	i, j := 0, 0
	var pos int64 // number of pooled values before the current group
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j >= len(y):
			v = x[i]
		case i >= len(x):
			v = y[j]
		case y[j] < x[i]:
			v = y[j]
		default:
			v = x[i]
		}
		var cx, cy int64
		for i < len(x) && x[i] == v {
			i++
			cx++
		}
		for j < len(y) && y[j] == v {
			j++
			cy++
		}
		t := cx + cy
		rankSum2 += cx * (2*pos + t + 1)
		if t > 1 {
			anyTie = true
			ft := float64(t)
			ties += float64(ft*ft*ft) - ft
		}
		pos += t
	}
	return rankSum2, ties, anyTie
}

// W returns R's W statistic: the rank sum of x in the pooled sample (average
// ranks for ties) minus nx(nx+1)/2, i.e. the number of pairs with x[i] > y[j]
// plus half the number of tied pairs.
func (t *MannWhitney) W() float64 { return t.w }

// Exact reports whether the exact null distribution is used: R's default,
// true when both samples have fewer than 50 points and the pooled sample has
// no ties.
func (t *MannWhitney) Exact() bool { return t.exact }

// NX returns the size of the canary sample x.
func (t *MannWhitney) NX() int { return len(t.x) }

// NY returns the size of the baseline sample y.
func (t *MannWhitney) NY() int { return len(t.y) }

// PValue returns the two-sided p-value. It is NaN when every pooled
// observation is tied (R returns NaN too).
func (t *MannWhitney) PValue() float64 {
	if t.exact {
		mn := float64(len(t.x)) * float64(len(t.y))
		var p float64
		if t.w > mn/2 {
			p = t.pwilcox(t.w-1, false)
		} else {
			p = t.pwilcox(t.w, true)
		}
		return math.Min(2*p, 1)
	}
	z := t.w - float64(float64(len(t.x))*float64(len(t.y))/2)
	z = (z - float64(sign(z)*0.5)) / t.sigma
	return 2 * math.Min(numeric.Pnorm(z, true), numeric.Pnorm(z, false))
}

// PValueGreater returns the one-sided p-value for the alternative that x is
// shifted up relative to y (R's alternative = "greater").
func (t *MannWhitney) PValueGreater() float64 {
	if t.exact {
		return t.pwilcox(t.w-1, false)
	}
	z := (t.w - float64(float64(len(t.x))*float64(len(t.y))/2) - 0.5) / t.sigma
	return numeric.Pnorm(z, false)
}

// PValueLess returns the one-sided p-value for the alternative that x is
// shifted down relative to y (R's alternative = "less").
func (t *MannWhitney) PValueLess() float64 {
	if t.exact {
		return t.pwilcox(t.w, true)
	}
	z := (t.w - float64(float64(len(t.x))*float64(len(t.y))/2) + 0.5) / t.sigma
	return numeric.Pnorm(z, true)
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
