package stat

import "math"

// Difference returns the k-th smallest (1-based) of the nx·ny pairwise
// differences x[i] - y[j] (each computed in float64), without materialising
// them: a bisection over the ordered bit patterns of float64 between the
// smallest and the largest difference, each probe counting the differences
// <= v in O(nx+ny). It returns NaN when k is outside [1, nx·ny]. A zero
// result is +0.
func (t *MannWhitney) Difference(k int64) float64 {
	n := int64(len(t.x)) * int64(len(t.y))
	if k < 1 || k > n {
		return math.NaN()
	}
	return t.selectDiff(k)
}

// minDiff and maxDiff are the smallest and largest pairwise differences.
func (t *MannWhitney) minDiff() float64 { return t.x[0] - t.y[len(t.y)-1] }
func (t *MannWhitney) maxDiff() float64 { return t.x[len(t.x)-1] - t.y[0] }

// countLE returns #{(i, j): x[i]-y[j] <= v}. For fixed i the differences fall
// as j grows, so the pairs with x[i]-y[j] <= v are a suffix j >= start(i), and
// start(i) never decreases with i: two pointers, O(nx+ny). Float subtraction
// is monotone in each argument, so this holds for the rounded differences.
func (t *MannWhitney) countLE(v float64) int64 {
	x, y := t.x, t.y
	m := len(y)
	j := 0
	var c int64
	for _, xi := range x {
		for j < m && xi-y[j] > v {
			j++
		}
		if j == m {
			break // no later row has any difference <= v
		}
		c += int64(m - j)
	}
	return c
}

// countAndAbove returns #{x[i]-y[j] <= v} and the smallest difference > v
// (+Inf when none).
func (t *MannWhitney) countAndAbove(v float64) (int64, float64) {
	x, y := t.x, t.y
	m := len(y)
	j := 0
	var c int64
	above := math.Inf(1)
	for _, xi := range x {
		for j < m && xi-y[j] > v {
			j++
		}
		c += int64(m - j)
		if j > 0 {
			// y[j-1] gives the smallest difference > v in this row.
			if d := xi - y[j-1]; d < above {
				above = d
			}
		}
	}
	return c, above
}

// selectDiff returns the k-th smallest difference, 1 <= k <= nx·ny: the
// smallest float64 v with countLE(v) >= k, which is always one of the
// differences since the count only changes there.
func (t *MannWhitney) selectDiff(k int64) float64 {
	lo, hi := orderedBits(t.minDiff()), orderedBits(t.maxDiff())
	for lo < hi {
		mid := lo + (hi-lo)/2
		if t.countLE(fromOrderedBits(mid)) >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return fromOrderedBits(lo) + 0 // -0 + 0 == +0
}

// middlePair returns the order statistics k and k+1 of the differences.
func (t *MannWhitney) middlePair(k int64) (a, b float64) {
	a = t.selectDiff(k)
	c, above := t.countAndAbove(a)
	if c >= k+1 {
		return a, a
	}
	return a, above + 0
}

// orderedBits maps a float64 (not NaN) to a uint64 with the same order
// (-0 sorts just below +0).
func orderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderedBits(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}
