package stat

import (
	"math"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// Difference returns the k-th smallest (1-based) of the nx·ny pairwise
// differences x[i] - y[j] (each computed in float64), without materialising
// them (see the package doc). It returns NaN when k is outside [1, nx·ny]. A
// zero result is +0.
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

// selectDiff returns the k-th smallest difference, 1 <= k <= nx·ny.
func (t *MannWhitney) selectDiff(k int64) float64 {
	var out [1]float64
	t.selectDiffs([]int64{k}, out[:])
	return out[0]
}

// Tuning of the selection, chosen by measurement (BenchmarkMannWhitney).
const (
	// minList is the least number of candidates listed at once; below a few
	// hundred a pass over the samples costs more than selecting among them.
	minList = 512
	// maxFast is how many interpolated pair passes one order statistic may
	// take before the guaranteed bisection takes over.
	maxFast = 8
)

// selector is the state of one selection: the order statistics wanted, every
// count learnt so far (shared by all of them) and the candidate buffer. It
// lives on the stack: fixed arrays, no slices into itself.
type selector struct {
	t       *MannWhitney
	n       int64 // nx·ny
	list    int   // most candidates listed at once
	targets [maxTargets]target
	nt      int
	pts     [48]point // probed values and their counts, in probing order
	np      int
	small   [smallList + listPad]float64 // the candidate buffer when list <= smallList
	big     []float64                    // else
	// Each row's first column at or below b and a (see pass), with one
	// scratch entry at the end: in smallB/smallA when nx < smallList.
	smallB, smallA [smallList + 1]int32
	bigB, bigA     []int32
	listed         centre // the last window that listed a target
	hasListed      bool
}

// maxTargets is the most order statistics one selection shares counts for.
const maxTargets = 4

// smallList is the largest candidate buffer kept on the stack (8 kB).
const smallList = 1024

// listPad is how many differences the listing writes per row at least.
const listPad = 4

// point is a probe: c = count(v), the number of differences <= v.
type point struct {
	v float64
	c int64
}

// target is one wanted order statistic k with its bracket: count(lo) = cLo
// < k <= cHi = count(hi), the ends kept as ordered bits (see numeric.OrderedBits).
// cLo == 0 means no lower limit: loBits is then not a float's code.
type target struct {
	k              int64
	loBits, hiBits uint64
	cLo, cHi       int64
	done           bool
	val            float64
	hint           float64 // a guess of the value, tried first when useHint
	useHint        bool
}

func (g *target) lo() float64 { return numeric.FromOrderedBits(g.loBits) }
func (g *target) hi() float64 { return numeric.FromOrderedBits(g.hiBits) }

// selectDiffs sets out[i] to the ks[i]-th smallest difference, for 1 <=
// ks[i] <= nx·ny; all the order statistics share the counts, and start from
// those the estimate learnt (t.centre). It returns the window of the last
// pass that listed a target (for the estimate to publish).
//
// Every order statistic keeps a bracket (lo, hi] of float64 values with
// count(lo) < k <= count(hi). A pass over the two sorted samples counts the
// differences <= a and <= b for a <= b and lists the differences in (a, b]
// when there are few enough; when it does not, it finds the differences
// next to a and to b (the bracket's ends are snapped to them: no difference
// lies in between, so the counts are the same and a bracket holding a single
// distinct value is closed). (a, b] is placed around the value
// predicted for k by the secant through the two counts nearest k, first
// around the difference of the medians with a width from the samples'
// spread, and made wide enough to catch k when the prediction is uncertain,
// narrow enough to list when it is not. When the listing holds k, the answer
// is selected from it directly. After maxFast passes without that (heavy
// ties, odd shapes) the bracket is halved by single probes, alternately by
// value and by ordered bit pattern, which closes it after at most 128 probes.
func (t *MannWhitney) selectDiffs(ks []int64, out []float64) (listed centre, ok bool) {
	for len(ks) > maxTargets {
		t.selectDiffs(ks[:maxTargets], out[:maxTargets])
		ks, out = ks[maxTargets:], out[maxTargets:]
	}
	nx, ny := len(t.x), len(t.y)
	var s selector
	s.t, s.n = t, int64(nx)*int64(ny)
	s.list = max(nx+ny, minList)
	if int64(s.list) > s.n {
		s.list = int(s.n)
	}
	if s.list > smallList {
		s.big = make([]float64, s.list+listPad)
	}
	if nx >= smallList {
		s.bigB, s.bigA = make([]int32, nx+1), make([]int32, nx+1)
	}
	minD, maxD := t.minDiff(), t.maxDiff()
	for i, k := range ks {
		s.targets[i] = target{
			k:      k,
			loBits: numeric.OrderedBits(minD) - 1, // below every difference
			hiBits: numeric.OrderedBits(maxD),
			cLo:    0,
			cHi:    s.n,
		}
	}
	s.nt = len(ks)
	c := t.centre.Load()
	if c != nil {
		for _, p := range c.pts {
			s.learn(p)
		}
	}
	if sh := t.shape.Load(); sh != nil {
		// Approximate counts: for the predictions only.
		for _, p := range *sh {
			if p.c > 0 && p.c < s.n && !math.IsNaN(p.v) && !math.IsInf(p.v, 0) {
				s.record(p)
			}
		}
	}
	for i := range s.nt {
		g := &s.targets[i]
		if i > 0 && c != nil && s.targets[0].done {
			// The differences of two samples of one shape are about
			// symmetric around their median: order statistics symmetric
			// in rank are about symmetric in value.
			g0 := &s.targets[0]
			if d := g0.k + g.k - (s.n + 1); d > -int64(s.list)/4 && d < int64(s.list)/4 {
				g.hint, g.useHint = 2*c.mid-g0.val, true
			}
		}
		for iter := 0; !g.done && iter < maxFast; iter++ {
			s.step(g)
		}
		if !g.done {
			s.bisect(g)
		}
		out[i] = g.val
	}
	return s.listed, s.hasListed
}

// centre is what selecting the middle order statistics learnt: the counts
// at the ends of the window that listed them, and the median difference.
// Later selections (the interval's ends) start from it.
type centre struct {
	pts [2]point
	mid float64
}

// learn tightens every target's bracket with a count known from elsewhere.
func (s *selector) learn(p point) {
	s.record(p)
	b := numeric.OrderedBits(p.v)
	for i := range s.nt {
		g := &s.targets[i]
		switch {
		case p.c < g.k && (b > g.loBits || g.cLo == 0):
			g.loBits, g.cLo = b, p.c
		case p.c >= g.k && b < g.hiBits:
			g.hiBits, g.cHi = b, p.c
		}
	}
}

// step makes one pass for target g: the final listing when its bracket is
// small, else a pair (a, b] around the predicted value.
func (s *selector) step(g *target) {
	if g.hiBits-g.loBits <= 1 {
		g.val, g.done = g.hi(), true // (lo, hi] holds the single float64 hi
		return
	}
	if g.cHi-g.cLo <= int64(s.list) {
		s.pass(g.loBits, g.cLo == 0, g.hiBits)
		return
	}
	a, b, noA, ok := s.window(g)
	if !ok {
		// No usable prediction: halve the bracket by value.
		m := g.hiBits - (g.hiBits-g.loBits)/2
		if g.cLo > 0 {
			if v := float64(g.lo()/2) + float64(g.hi()/2); !math.IsInf(v, 0) {
				if bv := numeric.OrderedBits(v); bv > g.loBits && bv < g.hiBits {
					m = bv
				}
			}
		}
		s.pass(m, false, m)
		return
	}
	s.pass(a, noA, b)
}

// window returns the ordered bits of a pass (a, b] strictly inside g's
// bracket around the value predicted for g.k by the secant through the two
// counts nearest to it (or, before any count, the difference of the sample
// medians and a spread from the interquartile ranges). ok is false when no
// prediction can be made.
func (s *selector) window(g *target) (a, b uint64, noA, ok bool) {
	k := float64(g.k)
	var v, slope, dist float64
	if g.useHint && s.np >= 2 {
		g.useHint = false
		p, q := s.nearest(g.k)
		slope = float64(q.c-p.c) / (q.v - p.v)
		v = g.hint
	} else if s.np < 2 {
		x, y := s.t.x, s.t.y
		v = x[len(x)/2] - y[len(y)/2]
		// For a normal sample of spread σ the differences near their
		// median have density 1/(2σ√π) per unit and per pair.
		sigma := (iqr(x) + iqr(y)) / 2 / 1.349
		slope = float64(s.n) / (2 * sigma * math.SqrtPi)
		dist = math.Abs(k - float64(float64(s.n)/2))
		if dist < float64(s.list) {
			dist = 0
		} else {
			dist *= 2 // the spread is a rough guess; aim wide
		}
	} else {
		p, q := s.nearest(g.k)
		slope = float64(q.c-p.c) / (q.v - p.v)
		v = p.v + (k-float64(p.c))/slope
		dist = math.Min(math.Abs(k-float64(p.c)), math.Abs(k-float64(q.c)))
	}
	// Half-width in counts: wide enough for the likely miss of the
	// prediction, at least enough to list around an exact one.
	h := math.Max(0.45*float64(s.list), 0.05*dist)
	w := h / slope
	lo, hi := v-w, v+w
	if !(slope > 0) || math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, false, false
	}
	a, b = numeric.OrderedBits(lo), numeric.OrderedBits(hi)
	switch {
	case b <= g.loBits+1:
		// At or below the bracket's least value: probe that value (with
		// ties, it may hold k).
		return g.loBits + 1, g.loBits + 1, false, true
	case a >= g.hiBits-1:
		// At or above its greatest value: probe just below it.
		return g.hiBits - 1, g.hiBits - 1, false, true
	}
	if a <= g.loBits {
		a, noA = g.loBits, g.cLo == 0
	}
	b = min(b, g.hiBits)
	if a <= g.loBits && b >= g.hiBits {
		return 0, 0, false, false
	}
	return a, b, noA, true
}

// nearest returns the two probes with distinct counts whose counts are
// nearest to k, in increasing order of value (twice the same probe when all
// have one count).
func (s *selector) nearest(k int64) (p, q point) {
	dist := func(c int64) int64 {
		if c > k {
			return c - k
		}
		return k - c
	}
	pts := s.pts[:s.np]
	best := 0
	for i, pt := range pts {
		if dist(pt.c) < dist(pts[best].c) {
			best = i
		}
	}
	second := -1
	for i, pt := range pts {
		if pt.c != pts[best].c && (second < 0 || dist(pt.c) < dist(pts[second].c)) {
			second = i
		}
	}
	p, q = pts[best], pts[best]
	if second >= 0 {
		q = pts[second]
	}
	if q.v < p.v {
		p, q = q, p
	}
	return p, q
}

// starts fills bound[i], for every row i, with row i's first column j at
// which x[i]-y[j] <= v (ny when none), and, when two is 1, bound1 likewise
// for v1. The rows are cut into four chunks (two per value when two), each
// walked by a chain of runChains from its first row's column, found by
// bisection; a chain takes exactly the steps that lead to its next chunk's
// first column, so the chains neither overlap in what they write nor
// depend on one another.
func (s *selector) starts(v float64, bound []int32, two int, v1 float64, bound1 []int32) {
	x, y := s.t.x, s.t.y
	n := len(x)
	var cs [4]chain
	per := 4 >> two // chunks per value
	for c := range cs {
		val, bd, part := v, bound, c
		if c >= per {
			val, bd, part = v1, bound1, c-per
		}
		r0, r1 := part*n/per, (part+1)*n/per
		ch := chain{i: r0, v: val, bound: bd}
		if r0 < r1 {
			ch.j = firstAtOrBelow(x[r0], y, val)
			end := firstAtOrBelow(x[r1-1], y, val)
			if r1 < n {
				end = firstAtOrBelow(x[r1], y, val)
			}
			ch.steps = r1 - r0 + end - ch.j
		}
		cs[c] = ch
	}
	runChains(x, s.t.ys, &cs)
}

// firstAtOrBelow returns the first j with xi-y[j] <= v, len(y) when none.
func firstAtOrBelow(xi float64, y []float64, v float64) int {
	lo, hi := 0, len(y)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if xi-y[mid] > v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// iqr is the distance between the order statistics at a quarter and three
// quarters of a sorted sample.
func iqr(v []float64) float64 {
	return v[len(v)*3/4] - v[len(v)/4]
}

// pass counts the differences <= a and <= b (a <= b, both ordered bits; noA:
// a is below every difference), records both counts, tightens every target's
// bracket, and lists the differences in (a, b] when there are at most s.list
// of them, resolving the targets inside.
//
// For fixed i the differences fall as j grows, so the pairs with x[i]-y[j] <=
// v are a suffix j >= start(i), and start(i) never decreases with i: a walk
// with two pointers, O(nx+ny), done by runChains without data-dependent
// branches. In row i the column start(i) holds the row's largest difference
// <= v and the column before it the row's smallest one > v.
func (s *selector) pass(aBits uint64, noA bool, bBits uint64) {
	x, ys := s.t.x, s.t.ys
	n, m := len(x), len(s.t.y)
	a, b := numeric.FromOrderedBits(aBits), numeric.FromOrderedBits(bBits)
	jb, ja := s.bigB, s.bigA
	if jb == nil {
		jb, ja = s.smallB[:n+1], s.smallA[:n+1]
	}
	switch {
	case noA:
		s.starts(b, jb, 0, 0, nil)
	case aBits == bBits:
		s.starts(b, jb, 0, 0, nil)
		ja = jb
	default:
		s.starts(b, jb, 1, a, ja)
	}
	var ca, cb int64
	jb = jb[:n]
	for _, j := range jb {
		cb += int64(m - int(j))
	}
	if !noA {
		ja = ja[:n]
		for _, j := range ja {
			ca += int64(m - int(j))
		}
	}
	listing := cb-ca <= int64(s.list) && (noA || aBits != bBits)
	// Unless the differences in (a, b] are listed, snap the ends to the
	// neighbouring differences: no difference lies strictly between a probe
	// and them, so the counts are the same.
	loA, hiA, loB, hiB := aBits, aBits, bBits, bBits
	if !listing {
		aboveA, belowB := math.Inf(1), math.Inf(-1)
		aboveB, belowA := math.Inf(1), math.Inf(-1)
		for i, xi := range x {
			j := int(jb[i])
			belowB = max(belowB, xi-ys[j+1])
			aboveB = min(aboveB, xi-ys[j])
		}
		if !noA {
			for i, xi := range x {
				k := int(ja[i])
				belowA = max(belowA, xi-ys[k+1])
				aboveA = min(aboveA, xi-ys[k])
			}
		}
		loA, hiA = numeric.OrderedBits(aboveA)-1, numeric.OrderedBits(belowA)
		loB, hiB = numeric.OrderedBits(aboveB)-1, numeric.OrderedBits(belowB)
	}
	buf := s.big
	if buf == nil {
		buf = s.small[:s.list+listPad]
	}
	nb := 0 // candidates listed in buf
	if listing {
		// Each row writes listPad differences whether or not they are in
		// (a, b] (the next row overwrites the extra ones): no branch on
		// short rows; ys and buf are padded for it.
		for i, xi := range x {
			lo, hi := int(jb[i]), m
			if !noA {
				hi = int(ja[i])
			}
			w := ys[lo+1 : lo+1+listPad : lo+1+listPad]
			d := buf[nb : nb+listPad : nb+listPad]
			d[0], d[1], d[2], d[3] = xi-w[0], xi-w[1], xi-w[2], xi-w[3]
			if cnt := hi - lo; cnt > listPad {
				for j := lo + listPad; j < hi; j++ {
					buf[nb+j-lo] = xi - ys[j+1]
				}
			}
			nb += hi - lo
		}
	}
	s.record(point{b, cb})
	if !noA && aBits != bBits {
		s.record(point{a, ca})
	}
	for i := range s.nt {
		g := &s.targets[i]
		if g.done {
			continue
		}
		switch {
		case cb < g.k:
			if loB > g.loBits || g.cLo == 0 {
				g.loBits, g.cLo = loB, cb
			}
		case ca >= g.k && !noA:
			if hiA < g.hiBits {
				g.hiBits, g.cHi = hiA, ca
			}
		default: // ca < k <= cb
			if !noA && (loA > g.loBits || g.cLo == 0) {
				g.loBits, g.cLo = loA, ca
			}
			if hiB < g.hiBits {
				g.hiBits, g.cHi = hiB, cb
			}
			if listing {
				g.val, g.done = quickSelect(buf[:nb], int(g.k-ca)-1)+0, true
				if !noA {
					s.listed.pts = [2]point{{a, ca}, {b, cb}}
					s.hasListed = true
				}
			} else if g.hiBits-g.loBits <= 1 {
				g.val, g.done = g.hi(), true
			}
		}
	}
}

// record keeps a probe for the predictions, while there is room (the
// bisection does not need them).
func (s *selector) record(p point) {
	if s.np < len(s.pts) {
		s.pts[s.np] = p
		s.np++
	}
}

// bisect finishes g with single probes, halving its bracket alternately by
// value and by ordered bit pattern (so at most 128 probes), then lists the
// at most s.list remaining candidates.
func (s *selector) bisect(g *target) {
	byValue := true
	for !g.done {
		if g.hiBits-g.loBits <= 1 {
			g.val, g.done = g.hi(), true
			break
		}
		if g.cHi-g.cLo <= int64(s.list) {
			s.pass(g.loBits, g.cLo == 0, g.hiBits)
			continue
		}
		m := g.loBits + (g.hiBits-g.loBits)/2
		if byValue && g.cLo > 0 {
			if v := float64(g.lo()/2) + float64(g.hi()/2); !math.IsInf(v, 0) {
				if b := numeric.OrderedBits(v); b > g.loBits && b < g.hiBits {
					m = b
				}
			}
		}
		byValue = !byValue
		s.pass(m, false, m)
	}
}

// middlePair returns the order statistics k and k+1 of the differences.
func (t *MannWhitney) middlePair(k int64) (a, b float64) {
	var out [2]float64
	c, ok := t.selectDiffs([]int64{k, k + 1}, out[:])
	if ok && t.centre.Load() == nil {
		c.mid = mid(out[0], out[1])
		t.centre.Store(&c)
	}
	return out[0], out[1]
}
