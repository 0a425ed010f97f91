package stat

import (
	"math"
	"slices"
)

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

// countAndAbove returns #{x[i]-y[j] <= v} and the smallest difference > v
// (+Inf when none).
func (t *MannWhitney) countAndAbove(v float64) (int64, float64) {
	c, _, above := t.probe(v)
	return c, above
}

// probe returns #{(i, j): x[i]-y[j] <= v}, the largest difference <= v (-Inf
// when none) and the smallest difference > v (+Inf when none). For fixed i the
// differences fall as j grows, so the pairs with x[i]-y[j] <= v are a suffix
// j >= start(i), and start(i) never decreases with i: two pointers, O(nx+ny).
// Float subtraction is monotone in each argument, so this holds for the
// rounded differences. In row i the column start(i) holds the row's largest
// difference <= v and the column before it the row's smallest one > v.
func (t *MannWhitney) probe(v float64) (c int64, below, above float64) {
	x, y := t.x, t.y
	m := len(y)
	j := 0
	below, above = math.Inf(-1), math.Inf(1)
	for _, xi := range x {
		for j < m && xi-y[j] > v {
			j++
		}
		c += int64(m - j)
		if j < m {
			if d := xi - y[j]; d > below {
				below = d
			}
		}
		if j > 0 {
			if d := xi - y[j-1]; d < above {
				above = d
			}
		}
	}
	return c, below, above
}

// selectDiff returns the k-th smallest difference, 1 <= k <= nx·ny: the
// smallest float64 v with count(v) >= k, which is always one of the
// differences since the count only changes there.
//
// It keeps a bracket (lo, hi] of float64 values with count(lo) < k <=
// count(hi) and narrows it with counting probes until it holds at most
// nx+ny differences, which are then listed and selected directly. A probe is
// placed by interpolating the count linearly between the ends (aimed a little
// past k, alternately above and below, so both ends close in), and falls back
// to halving the bracket's range of ordered bit patterns when interpolation
// did not halve the number of differences inside: at most 64 halvings, so the
// result is exact after O(64·(nx+ny)) work in the worst case and typically
// after a handful of probes.
func (t *MannWhitney) selectDiff(k int64) float64 {
	limit := int64(len(t.x) + len(t.y))
	minD, maxD := t.minDiff(), t.maxDiff()
	// lo is represented by its ordered bits; loBits = bits(minD)-1 stands for
	// "below every difference" (count 0) and is never converted to a float.
	loBits, hiBits := orderedBits(minD)-1, orderedBits(maxD)
	cLo, cHi := int64(0), int64(len(t.x))*int64(len(t.y))
	interpolate, aimAbove := true, true
	// update probes v and moves one end of the bracket. It snaps the end to
	// the neighbouring differences: no difference lies strictly between the
	// probe and them, so the counts are the same, and the bracket closes as
	// soon as it holds a single distinct value.
	var last int64 // count at the last probe
	update := func(v float64) {
		c, below, above := t.probe(v)
		last = c
		if c >= k {
			hiBits, cHi = orderedBits(below), c
			aimAbove = false
		} else {
			loBits, cLo = orderedBits(above)-1, c
			aimAbove = true
		}
	}
	// Seed the bracket with two guesses from a grid of sample quantiles: the
	// differences of 64 evenly spaced order statistics of each sample estimate
	// the quantiles of all differences well enough to start close to k.
	if cHi-cLo > limit {
		for _, v := range t.gridGuesses(float64(k) / float64(cHi)) {
			if b := orderedBits(v); cHi-cLo > limit && b > loBits && b < hiBits {
				update(v)
			}
		}
	}
	// offset is how far past k the interpolation aims: twice its last miss,
	// so that the probe lands on the far side of k and both ends close in.
	offset := max(limit/4, (cHi-cLo)/16)
	// Halving steps alternate between value and bit pattern, so the 64-step
	// bound of the bit bisection holds within a factor of two.
	halvedByValue := false
	for cHi-cLo > limit && hiBits-loBits > 1 {
		before := cHi - cLo
		var probe uint64
		target := k
		if interpolate {
			loV := minD
			if cLo > 0 {
				loV = fromOrderedBits(loBits)
			}
			hiV := fromOrderedBits(hiBits)
			if aimAbove {
				target = min(cHi-1, k+offset)
			} else {
				target = max(cLo+1, k-offset)
			}
			frac := float64(target-cLo) / float64(cHi-cLo)
			v := loV + (hiV-loV)*frac
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = loV/2 + hiV/2
			}
			probe = orderedBits(v)
		}
		if !interpolate || probe <= loBits || probe >= hiBits {
			// Halve the bracket: by value while that lands strictly inside,
			// else by ordered bit pattern (at most 64 times in all).
			probe = loBits + (hiBits-loBits)/2
			if cLo > 0 {
				if v := fromOrderedBits(loBits)/2 + fromOrderedBits(hiBits)/2; !math.IsInf(v, 0) {
					if b := orderedBits(v); b > loBits && b < hiBits && !halvedByValue {
						probe = b
					}
				}
			}
			halvedByValue = !halvedByValue
		}
		update(fromOrderedBits(probe))
		if interpolate {
			miss := last - target
			if miss < 0 {
				miss = -miss
			}
			offset = max(limit/4, 2*miss)
		}
		interpolate = 2*(cHi-cLo) <= before
	}
	hi := fromOrderedBits(hiBits)
	if hiBits-loBits <= 1 {
		return hi // (lo, hi] holds the single float64 hi
	}
	cand := t.between(loBits, cLo, hi, int(cHi-cLo))
	return quickSelect(cand, int(k-cLo)-1) + 0
}

// gridGuesses returns two values expected to bracket the q-quantile of the
// differences: order statistics of the differences between the 64 order
// statistics of x and of y at the centres of 64 equal slices, 1.5% of the grid
// below and above q.
func (t *MannWhitney) gridGuesses(q float64) []float64 {
	const g = 64
	if len(t.x) < g || len(t.y) < g {
		return nil
	}
	grid := make([]float64, 0, g*g)
	for a := range g {
		xa := t.x[(2*a+1)*len(t.x)/(2*g)]
		for b := range g {
			grid = append(grid, xa-t.y[(2*b+1)*len(t.y)/(2*g)])
		}
	}
	slices.Sort(grid)
	i := int(q * float64(len(grid)-1))
	const margin = g * g * 3 / 200
	return []float64{grid[max(0, i-margin)], grid[min(len(grid)-1, i+margin)]}
}

// between lists the differences in (lo, hi], where lo is given by its ordered
// bits and cLo = count(lo) (cLo == 0 means no lower limit). For each row the
// differences in the range are a contiguous run of columns, found with two
// pointers.
func (t *MannWhitney) between(loBits uint64, cLo int64, hi float64, size int) []float64 {
	x, y := t.x, t.y
	m := len(y)
	out := make([]float64, 0, size)
	lo := math.Inf(-1)
	if cLo > 0 {
		lo = fromOrderedBits(loBits)
	}
	jh, jl := 0, 0
	for _, xi := range x {
		for jh < m && xi-y[jh] > hi {
			jh++
		}
		for jl < m && xi-y[jl] > lo {
			jl++
		}
		if cLo == 0 {
			jl = m
		}
		for j := jh; j < jl; j++ {
			out = append(out, xi-y[j])
		}
	}
	return out
}

// quickSelect returns the k-th smallest (0-based) of v, reordering v.
// Hoare partitioning around the median of three; O(len(v)) expected.
func quickSelect(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for hi > lo {
		m := lo + (hi-lo)/2
		if v[m] < v[lo] {
			v[m], v[lo] = v[lo], v[m]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[m] {
			v[hi], v[m] = v[m], v[hi]
		}
		pivot := v[m]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
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

// orderedBits maps a float64 (not NaN) to a uint64 with the same order,
// consecutive floats to consecutive integers; -0 and +0 both map to the code
// of +0, so the codes are in one-to-one correspondence with the distinct
// float64 values (fromOrderedBits never returns -0).
func orderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if f == 0 {
		return 1 << 63
	}
	if b>>63 == 1 {
		return ^b + 1
	}
	return b | 1<<63
}

func fromOrderedBits(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^(u - 1))
}
