package stat

// rootCounter evaluates, for the estimate's root finder, the count behind
// W(d), Σ_i #{j: y[j] < x[i] - d} (see countBelow), ever more cheaply as
// the root is closed in.
//
// Each row's count can only fall as d grows. So once the counts are known
// at two shifts lo < hi, tie-free, a row whose count is the same at both
// has that count at every shift between them, and a row whose counts
// differ is found between them. As the bracket [lo, hi] around the root
// narrows, fewer and fewer rows still differ (a few dozen of 360 after the
// first few evaluations), and a shift inside the bracket costs a scan of
// those rows only, not a walk of all rows and columns. A tie at such a
// shift can only lie in a row that differs (a row that does not would tie
// at lo too), and separates holds between two shifts where it held.
//
// The bracket's ends are the largest shift evaluated with W > 0 (more
// than half of the differences above it, so the root lies above) and the
// smallest with W < 0, both tie-free. Shifts outside the bracket, and
// shifts while too many rows differ, take the full walk, which records
// every row's count for the bracket.
type rootCounter struct {
	t        *MannWhitney
	half2    int64   // nx·ny: below·2 compared with it gives W's sign
	cur      []int32 // counts at the shift being evaluated
	lo, hi   []int32 // counts at the bracket's ends
	loD, hiD float64 // the ends
	haveLo   bool
	haveHi   bool
	active   []int32 // rows whose counts differ between lo and hi
	fixed    int64   // the sum of the other rows' counts
	ready    bool    // active and fixed describe [loD, hiD]
}

// maxActiveShare is the share of rows above which a full walk, with no
// branch on the data, is cheaper than scanning the rows that still differ.
const maxActiveShare = 3

// newRootCounter prepares a counter for t's rows in buf (4·len(t.x) long).
func newRootCounter(t *MannWhitney, buf []int32) *rootCounter {
	n := len(t.x)
	return &rootCounter{t: t, half2: int64(n) * int64(len(t.y)),
		cur: buf[:n:n], lo: buf[n : 2*n : 2*n], hi: buf[2*n : 3*n : 3*n], active: buf[3*n : 3*n : 4*n]}
}

// count returns Σ_i #{j: y[j] < x[i] - d} and reports false where
// countBelow would (a tie across the samples at d, x - d not separated):
// the caller then ranks the pooled sample itself.
func (c *rootCounter) count(d float64) (below int64, ok bool) {
	if c.ready && c.loD < d && d < c.hiD && len(c.active)*maxActiveShare <= len(c.cur) {
		if !c.t.separates(d) {
			return 0, false
		}
		x, ys := c.t.x, c.t.ys
		below = c.fixed
		for _, r := range c.active {
			v := x[r] - d
			p, end := c.hi[r], c.lo[r]
			for p < end && ys[p+1] < v {
				p++
			}
			if ys[p+1] == v {
				return 0, false // a tie across the samples
			}
			c.cur[r] = p
			below += int64(p)
		}
		c.narrow(d, below, true)
		return below, true
	}
	below, ok = c.t.countBelow(d, c.cur)
	if ok {
		c.narrow(d, below, false)
	}
	return below, ok
}

// narrow moves an end of the bracket to d, where the counts are below in
// total and cur by row (only the active rows' when partial), if d is
// inside it and W(d) is not zero; then it drops the rows that no longer
// differ.
func (c *rootCounter) narrow(d float64, below int64, partial bool) {
	var end []int32
	switch {
	case 2*below > c.half2 && (!c.haveLo || d > c.loD):
		c.loD, c.haveLo, end = d, true, c.lo
	case 2*below < c.half2 && (!c.haveHi || d < c.hiD):
		c.hiD, c.haveHi, end = d, true, c.hi
	default:
		return
	}
	if partial {
		for _, r := range c.active {
			end[r] = c.cur[r]
		}
	} else {
		copy(end, c.cur)
	}
	if !c.haveLo || !c.haveHi {
		return
	}
	if !partial {
		// Every row may have changed: list the rows anew.
		c.active, c.fixed = c.active[:0], 0
		for r := range c.lo {
			if c.lo[r] != c.hi[r] {
				c.active = append(c.active, int32(r))
			} else {
				c.fixed += int64(c.lo[r])
			}
		}
		c.ready = true
		return
	}
	kept := c.active[:0]
	for _, r := range c.active {
		if c.lo[r] != c.hi[r] {
			kept = append(kept, r)
		} else {
			c.fixed += int64(c.lo[r])
		}
	}
	c.active = kept
}
