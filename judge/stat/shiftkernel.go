package stat

import "math"

// belowChain is one interleaved walk of the estimate's count: rows [i, end)
// of x against y for the shift d, starting at column j = #{y < x[i] - d}.
type belowChain struct {
	i, j, steps int
}

// countBelow returns Σ_i #{j: y[j] < x[i] - d}, the count behind R's rank
// sum of x - d, with x[i] - d rounded to float64 as R computes it, and
// records each row's count #{j: y[j] < x[i] - d} in pos[i] (len(pos) >=
// len(x)). It reports false when the count alone does not give the rank
// sum: when some x[i] - d equals a y[j] (a tie across the samples), when
// two different x could round to one x[i] - d (see separates), or when an
// x[i] - d is infinite; pos is then unusable.
//
// It walks four chains of rows at once, as runChains does for the
// selection: each step either moves a chain's column right or adds the
// row's column to the sum and moves to the next row, without a branch on
// the data, so the four walks overlap in the processor. Each step writes
// its column to its row's place; the last write, at the step that ends
// the row, stays.
func (t *MannWhitney) countBelow(d float64, pos []int32) (below int64, ok bool) {
	x, ys := t.x, t.ys // ys[j+1] == y[j]; +Inf after y
	n := len(x)
	if !t.separates(d) {
		return 0, false
	}
	pos = pos[:n]
	var cs [4]belowChain
	for c := range cs {
		r0, r1 := c*n/4, (c+1)*n/4
		ch := belowChain{i: r0}
		if r0 < r1 {
			ch.j = countLess(t.y, x[r0]-d)
			ch.steps = r1 - r0 + countLess(t.y, x[r1-1]-d) - ch.j
		}
		cs[c] = ch
	}
	var eq int64
	i0, j0 := cs[0].i, cs[0].j
	i1, j1 := cs[1].i, cs[1].j
	i2, j2 := cs[2].i, cs[2].j
	i3, j3 := cs[3].i, cs[3].j
	var s0, s1, s2, s3 int64
	steps := min(cs[0].steps, cs[1].steps, cs[2].steps, cs[3].steps)
	for range steps {
		v0, y0 := x[i0]-d, ys[j0+1]
		pos[i0] = int32(j0)
		a0 := b2i(y0 < v0)
		eq |= (1 - a0) & b2i(y0 == v0)
		s0 += (1 - a0) * int64(j0)
		j0 += int(a0)
		i0 += int(1 - a0)

		v1, y1 := x[i1]-d, ys[j1+1]
		pos[i1] = int32(j1)
		a1 := b2i(y1 < v1)
		eq |= (1 - a1) & b2i(y1 == v1)
		s1 += (1 - a1) * int64(j1)
		j1 += int(a1)
		i1 += int(1 - a1)

		v2, y2 := x[i2]-d, ys[j2+1]
		pos[i2] = int32(j2)
		a2 := b2i(y2 < v2)
		eq |= (1 - a2) & b2i(y2 == v2)
		s2 += (1 - a2) * int64(j2)
		j2 += int(a2)
		i2 += int(1 - a2)

		v3, y3 := x[i3]-d, ys[j3+1]
		pos[i3] = int32(j3)
		a3 := b2i(y3 < v3)
		eq |= (1 - a3) & b2i(y3 == v3)
		s3 += (1 - a3) * int64(j3)
		j3 += int(a3)
		i3 += int(1 - a3)
	}
	cs[0].i, cs[0].j = i0, j0
	cs[1].i, cs[1].j = i1, j1
	cs[2].i, cs[2].j = i2, j2
	cs[3].i, cs[3].j = i3, j3
	below = s0 + s1 + s2 + s3
	for c := range cs {
		i, j := cs[c].i, cs[c].j
		for range cs[c].steps - steps {
			v, yj := x[i]-d, ys[j+1]
			pos[i] = int32(j)
			a := b2i(yj < v)
			eq |= (1 - a) & b2i(yj == v)
			below += (1 - a) * int64(j)
			j += int(a)
			i += int(1 - a)
		}
	}
	return below, eq == 0
}

// separates reports whether subtracting d keeps different x different and
// finite: when their smallest gap exceeds the spacing of float64 values at
// the largest |x[i] - d|, as each subtraction is off by at most half that
// spacing. As that largest value is a convex function of d, a check passed
// at two shifts holds at every shift between them.
func (t *MannWhitney) separates(d float64) bool {
	x := t.x
	lo, hi := x[0]-d, x[len(x)-1]-d
	limit := math.Max(math.Abs(lo), math.Abs(hi))
	return !math.IsInf(limit, 0) && t.minGap() > math.Nextafter(limit, math.Inf(1))-limit
}

// countLess returns #{j: y[j] < v} for sorted y.
func countLess(y []float64, v float64) int {
	lo, hi := 0, len(y)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if y[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// b2i is 1 for true and 0 for false, without a branch.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// minGap returns the smallest difference between consecutive different
// values of x (+Inf when all are equal), computed once.
func (t *MannWhitney) minGap() float64 {
	t.gapOnce.Do(func() {
		t.gap = math.Inf(1)
		for i := 1; i < len(t.x); i++ {
			if g := t.x[i] - t.x[i-1]; g > 0 && g < t.gap {
				t.gap = g
			}
		}
	})
	return t.gap
}
