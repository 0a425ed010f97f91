package stat

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// exactLimit is R's default for the exact test: both samples smaller than it.
const exactLimit = 50

// MannWhitney is the two-sample Wilcoxon rank-sum / Mann–Whitney U test of x
// (the canary) against y (the baseline), with the Hodges–Lehmann estimate of
// the shift x - y and its confidence intervals. Results equal R's
// wilcox.test(x, y, conf.int = TRUE, conf.level = c, correct = TRUE); see the
// package doc for the algorithms and the few documented differences.
//
// A MannWhitney is immutable and safe for concurrent use.
type MannWhitney struct {
	x, y []float64 // sorted ascending copies

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
	if err := checkFinite(x); err != nil {
		return nil, fmt.Errorf("mann-whitney: canary sample (x): %w", err)
	}
	if err := checkFinite(y); err != nil {
		return nil, fmt.Errorf("mann-whitney: baseline sample (y): %w", err)
	}
	t := &MannWhitney{x: slices.Clone(x), y: slices.Clone(y)}
	slices.Sort(t.x)
	slices.Sort(t.y)

	nx, ny := float64(len(x)), float64(len(y))
	rankSum2, tiePooled, ties := rankSum(t.x, t.y)
	t.w = float64(rankSum2)/2 - nx*(nx+1)/2
	t.ties = ties
	t.sigma = sigmaW(nx, ny, tiePooled)
	t.sigma0 = sigmaW(nx, ny, tieSum(t.x)+tieSum(t.y))
	t.exact = len(x) < exactLimit && len(y) < exactLimit && !ties
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
			s += t*t*t - t
		}
		i = j
	}
	return s
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
		default:
			v = math.Min(x[i], y[j])
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
			ties += ft*ft*ft - ft
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
	z := t.w - float64(len(t.x))*float64(len(t.y))/2
	z = (z - sign(z)*0.5) / t.sigma
	return 2 * math.Min(pnorm(z, true), pnorm(z, false))
}

// PValueGreater returns the one-sided p-value for the alternative that x is
// shifted up relative to y (R's alternative = "greater").
func (t *MannWhitney) PValueGreater() float64 {
	if t.exact {
		return t.pwilcox(t.w-1, false)
	}
	z := (t.w - float64(len(t.x))*float64(len(t.y))/2 - 0.5) / t.sigma
	return pnorm(z, false)
}

// PValueLess returns the one-sided p-value for the alternative that x is
// shifted down relative to y (R's alternative = "less").
func (t *MannWhitney) PValueLess() float64 {
	if t.exact {
		return t.pwilcox(t.w, true)
	}
	z := (t.w - float64(len(t.x))*float64(len(t.y))/2 + 0.5) / t.sigma
	return pnorm(z, true)
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

// pnorm is the standard normal distribution function, lower or upper tail.
func pnorm(z float64, lower bool) float64 {
	if !lower {
		z = -z
	}
	return 0.5 * math.Erfc(-z/math.Sqrt2)
}

// qnorm is the standard normal quantile function (lower tail), for p in (0, 1).
// Go's math.Erfinv is Wichura's AS 241, the algorithm of R's qnorm.
func qnorm(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}
