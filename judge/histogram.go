package judge

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// Buckets is one side's histogram over the windows of an analysis, as
// Prometheus' classic histograms count it: for each window, the cumulative
// number of observations at or below each bucket's upper bound (le).
type Buckets struct {
	// Bounds are the buckets' upper bounds, strictly ascending, the last +Inf.
	Bounds []float64
	// Counts holds len(Bounds) cumulative counts per window, window after
	// window; the +Inf count is the window's number of observations.
	Counts []float64
}

// Windows is the number of windows the histogram covers.
func (h *Buckets) Windows() int {
	if h == nil || len(h.Bounds) == 0 {
		return 0
	}
	return len(h.Counts) / len(h.Bounds)
}

// DefaultHistogramQuantile is the quantile a histogram test compares when
// neither above nor quantile is set.
const DefaultHistogramQuantile = 0.99

// histogramTotals is one side's histogram summed over its windows.
type histogramTotals struct {
	cum   []float64 // cumulative count per bound, summed over windows
	total float64
}

// checkHistogram refuses a histogram that is not one: bounds not ascending
// or without +Inf, counts that are not whole windows, not cumulative, not
// counts, and a side whose buckets differ from the other's.
func checkHistogram(spec Spec, side string, h *Buckets) (*Buckets, error) {
	if h == nil {
		return nil, nil
	}
	nb := len(h.Bounds)
	if nb < 2 {
		return nil, fmt.Errorf("%s: the %s histogram has %d buckets; at least one bound and +Inf are needed", spec.Name, side, nb)
	}
	for i := 1; i < nb; i++ {
		if !(h.Bounds[i] > h.Bounds[i-1]) {
			return nil, fmt.Errorf("%s: the %s histogram's bounds are not ascending (%s after %s)", spec.Name, side, formatBound(h.Bounds[i]), formatBound(h.Bounds[i-1]))
		}
	}
	if !math.IsInf(h.Bounds[nb-1], 1) {
		return nil, fmt.Errorf("%s: the %s histogram has no +Inf bucket; the last bound must be +Inf (every observation)", spec.Name, side)
	}
	if math.IsNaN(h.Bounds[0]) {
		return nil, fmt.Errorf("%s: the %s histogram has a NaN bound", spec.Name, side)
	}
	if len(h.Counts)%nb != 0 {
		return nil, fmt.Errorf("%s: the %s histogram has %d counts, not a whole number of windows of %d buckets", spec.Name, side, len(h.Counts), nb)
	}
	// The counts are used as given unless a window holds NaN (the judge
	// never writes to them).
	out := &Buckets{Bounds: h.Bounds, Counts: h.Counts}
	copied := false
	for w := 0; w < len(h.Counts)/nb; w++ {
		row := h.Counts[w*nb : (w+1)*nb]
		if plainCounts(row) {
			if copied {
				out.Counts = append(out.Counts, row...)
			}
			continue
		}
		// Something to clean or to refuse: the whole check.
		if slices.ContainsFunc(row, math.IsNaN) {
			if !copied {
				out.Counts, copied = slices.Clone(h.Counts[:w*nb]), true
			}
			if spec.NaN != NaNZero {
				continue
			}
			row = slices.Clone(row)
			for i, v := range row {
				if math.IsNaN(v) {
					row[i] = 0
				}
			}
		}
		for i, v := range row {
			if v >= 1 && v < 1e15 || v == 0 {
				// The common case, a count: only the order is left to check.
			} else if err := checkCount(v); err != nil {
				return nil, fmt.Errorf("%s: %s window %d, bucket le=%s holds %s; %v", spec.Name, side, w+1, formatBound(h.Bounds[i]), formatCount(v), err)
			}
			// increase() extrapolates each bucket alike; allow rounding.
			if i > 0 && v < float64(row[i-1]*(1-1e-9))-1e-9 {
				return nil, fmt.Errorf("%s: %s window %d is not cumulative: bucket le=%s holds %s, fewer than the %s of le=%s; give each bucket the count of observations at or below its bound (Prometheus' _bucket series)",
					spec.Name, side, w+1, formatBound(h.Bounds[i]), formatCount(v), formatCount(row[i-1]), formatBound(h.Bounds[i-1]))
			}
		}
		if copied {
			out.Counts = append(out.Counts, row...)
		}
	}
	return out, nil
}

// plainCounts reports whether one window's cumulative counts need no more
// checking: whole or extrapolated counts (0, or at least 1 and below
// 10^15), none NaN, none fewer than the bucket's before it beyond
// checkHistogram's rounding. It is checkHistogram's test for a window with
// nothing to clean or refuse, in one pass.
func plainCounts(row []float64) bool {
	prev := 0.0
	for _, v := range row {
		if !(v >= 1 && v < 1e15 || v == 0) || v < float64(prev*(1-1e-9))-1e-9 {
			return false
		}
		prev = v
	}
	return true
}

func totalsOf(h *Buckets) histogramTotals {
	if h == nil {
		return histogramTotals{}
	}
	nb := len(h.Bounds)
	t := histogramTotals{cum: make([]float64, nb)}
	for w := 0; w < h.Windows(); w++ {
		row := h.Counts[w*nb : (w+1)*nb]
		cum := t.cum[:len(row)]
		for i, v := range row {
			cum[i] += v
		}
	}
	t.total = t.cum[nb-1]
	return t
}

// cumAt is the cumulative count at x of one window's (or the totals')
// cumulative counts, interpolated within the bucket holding x: on the log
// scale when both its bounds are positive (latencies are close to
// log-normal, whose density is far more even across a bucket in log x than
// in x: for a canary at +10% on Prometheus' default buckets, linear
// interpolation misplaces 1.4% of the observations, log-linear 0.3%), else
// linearly as histogram_quantile does, the first bucket starting at 0 when
// its bound is positive. Beyond the last finite bound it is the count at
// that bound: the histogram cannot see past it.
func cumAt(bounds, cum []float64, x float64) float64 {
	i, found := slices.BinarySearch(bounds, x)
	if found {
		return cum[i]
	}
	if i >= len(bounds)-1 { // in the +Inf bucket
		return cum[len(bounds)-2]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = bounds[i-1], cum[i-1]
	} else if bounds[0] <= 0 {
		return 0 // below a non-positive first bound: nothing known below it
	}
	if x <= lo {
		return below
	}
	if lo > 0 {
		return below + (cum[i]-below)*math.Log(x/lo)/math.Log(bounds[i]/lo)
	}
	return below + (cum[i]-below)*(x-lo)/(bounds[i]-lo)
}

// HistogramQuantile is the q-quantile of cumulative bucket counts cum
// (one per upper bound in bounds, the last +Inf) as Prometheus'
// histogram_quantile computes it: the bucket holding rank q·total, linear
// within it, the first bucket starting at 0 when its bound is positive; the
// last finite bound when the rank falls in the +Inf bucket; NaN without
// observations or when bounds and cum do not pair up. The judge's histogram
// test and the report's plots both read quantiles with it.
func HistogramQuantile(bounds, cum []float64, q float64) float64 {
	if len(bounds) < 2 || len(cum) != len(bounds) {
		return math.NaN()
	}
	total := cum[len(cum)-1]
	if !(total > 0) {
		return math.NaN()
	}
	rank := float64(q * total)
	i := 0
	for i < len(cum)-1 && cum[i] < rank {
		i++
	}
	if i == len(bounds)-1 {
		return bounds[len(bounds)-2]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = bounds[i-1], cum[i-1]
	} else if bounds[0] <= 0 {
		return bounds[0]
	}
	inBucket := cum[i] - below
	if inBucket <= 0 {
		return bounds[i]
	}
	return lo + float64((bounds[i]-lo)*(rank-below)/inBucket)
}

// bucketOfRank returns the bounds of the bucket holding the observation of
// the given rank (1-based) in cumulative counts: its lower and upper edge.
func bucketOfRank(bounds, cum []float64, rank float64) (lo, hi float64) {
	i := 0
	for i < len(cum)-1 && cum[i] < rank {
		i++
	}
	hi = bounds[i]
	switch {
	case i > 0:
		lo = bounds[i-1]
	case bounds[0] > 0:
		lo = 0
	default:
		lo = math.Inf(-1)
	}
	return lo, hi
}

// aboveCounts is one side's observations beyond x per window, with the
// window's observations as exposure.
func aboveCounts(s *countScratch, h *Buckets, x float64) counts {
	return newHistogramSide(s, h).above(x, s.take(h.Windows()))
}

// histogramSide is one side's histogram with its windows' totals, the
// exposure of every count drawn from it: a quantile test compares the
// sides at several bounds, which share them.
type histogramSide struct {
	h             *Buckets
	exposure      []float64 // each window's observations (never written to)
	totalExposure float64
}

func newHistogramSide(s *countScratch, h *Buckets) histogramSide {
	side := histogramSide{h: h, exposure: windowsOf(s, h)}
	for _, n := range side.exposure {
		side.totalExposure += n
	}
	return side
}

// above is the side's observations beyond x per window, in events (one
// per window, or more; reused).
func (s histogramSide) above(x float64, events []float64) counts {
	if s.h == nil {
		return counts{}
	}
	nb := len(s.h.Bounds)
	c := counts{events: events[:len(s.exposure)], exposure: s.exposure, totalExposure: s.totalExposure}
	if i, found := slices.BinarySearch(s.h.Bounds, x); found {
		// On a bound, as the tests compare: each window's count there, as
		// cumAt gives it, without searching every window's row.
		for w, total := range s.exposure {
			c.events[w] = math.Max(0, total-s.h.Counts[w*nb+i])
			c.totalEvents += c.events[w]
		}
		return c
	}
	for w, total := range s.exposure {
		row := s.h.Counts[w*nb : (w+1)*nb]
		c.events[w] = math.Max(0, total-cumAt(s.h.Bounds, row, x))
		c.totalEvents += c.events[w]
	}
	return c
}

// judgeHistogram compares two sides' histograms as request-level
// distributions, either the share of observations beyond a bound (above:
// the SLO bucket) or a quantile (quantile, default 0.99), both through the
// Mantel–Haenszel comparison of shares over windows (compareShares).
//
// For a quantile q, the bound t is the bucket bound where the pooled share
// of observations above is closest to 1 − q. The canary's share above t′,
// the smallest bound at or beyond t·(1 + allowedChange), is compared with
// the baseline's share above t: under "the canary's distribution is at most
// 1 + allowedChange times the baseline's" it cannot be larger, so a canary
// within its allowance fails no more often than the level. Interpolating
// inside a bucket instead would assume a shape the buckets do not show (a
// log-normal canary exactly at +10% on Prometheus' default buckets then
// failed 13% of the time at the 5% level, more with more traffic), so with
// an allowance finer than the buckets the test resolves only changes beyond
// t′/t − 1, and the reason says so: finer buckets (native histograms) or
// above: on an SLO bound are the remedy. The report gives each side's q-quantile as histogram_quantile would
// and an interval for their difference whose ends are bucket bounds: the
// buckets holding the order statistics that bound each side's quantile at
// √confidence (normal approximation to the binomial ranks), so it is never
// narrower than the buckets allow.
func judgeHistogram(s *countScratch, spec Spec, baseline, canary *Buckets, opts Options) Result {
	r := Result{Name: spec.Name, Group: spec.Group, Critical: spec.Critical}
	b, err := checkHistogram(spec, "baseline", baseline)
	if err != nil {
		return r.invalid(err.Error())
	}
	c, err := checkHistogram(spec, "canary", canary)
	if err != nil {
		return r.invalid(err.Error())
	}
	if b != nil && c != nil && !slices.Equal(b.Bounds, c.Bounds) {
		return r.invalid(fmt.Sprintf("%s: the baseline's and the canary's histograms have different buckets (%s vs %s); both sides must use the same bounds",
			spec.Name, formatBounds(b.Bounds), formatBounds(c.Bounds)))
	}
	bt, ct := totalsOf(b), totalsOf(c)
	r.Baseline.Count, r.Canary.Count = int(math.Min(bt.total, math.MaxInt32)), int(math.Min(ct.total, math.MaxInt32))
	bounds := []float64(nil)
	if b != nil {
		bounds = b.Bounds
	} else if c != nil {
		bounds = c.Bounds
	}
	if spec.Above != nil {
		return judgeHistogramAbove(s, r, spec, b, c, bounds, opts)
	}
	return judgeHistogramQuantile(s, r, spec, b, c, bt, ct, bounds, opts)
}

// judgeHistogramAbove compares the share of observations beyond the bound above.
func judgeHistogramAbove(s *countScratch, r Result, spec Spec, b, c *Buckets, bounds []float64, opts Options) Result {
	x := *spec.Above
	if bounds != nil {
		i, found := slices.BinarySearch(bounds, x)
		if !found || i == len(bounds)-1 {
			return r.invalid(fmt.Sprintf("%s: above: %s is not one of the histogram's finite bucket bounds (%s)", spec.Name, formatBound(x), formatBounds(bounds)))
		}
	}
	bc, cc := aboveCounts(s, b, x), aboveCounts(s, c, x)
	what := "observations"
	t := &TestResult{
		Method:           Histogram,
		Confidence:       opts.Confidence,
		Allowed:          ptr(spec.AllowedChange.Value),
		Points:           spec.AllowedChange.Points,
		Threshold:        ptr(x),
		BaselineEvents:   ptr(bc.totalEvents),
		CanaryEvents:     ptr(cc.totalEvents),
		BaselineExposure: ptr(bc.totalExposure),
		CanaryExposure:   ptr(cc.totalExposure),
		Per:              what,
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	r.Test = t
	if res, done := noExposure(r, spec, bc, cc, what, opts.Step); done {
		return res
	}
	pb, pc := bc.totalEvents/bc.totalExposure, cc.totalEvents/cc.totalExposure
	t.BaselineRate, t.CanaryRate = ptr(pb), ptr(pc)
	if pooled := (bc.totalEvents + cc.totalEvents) / (bc.totalExposure + cc.totalExposure); pooled < rareShare && !spec.AllowedChange.Points {
		// Few observations beyond the bound: the exact conditional test of
		// their rates, not a normal approximation.
		rs := spec
		rs.Exposure = "observations above " + formatBound(x)
		res := judgeRatePerExposure(s, r, rs, bc, cc, opts)
		res.Test.Method, res.Test.Threshold, res.Test.Per = Histogram, ptr(x), what
		// The difference of the shares, its interval from the ratio's with
		// the baseline's share taken as known (it holds most observations).
		res.Test.Estimate = ptr(pc - pb)
		if lo, hi := res.Test.RatioLow, res.Test.RatioHigh; lo != nil {
			res.Test.CILow = ptr(pb * (*lo - 1))
			if hi != nil {
				res.Test.CIHigh = ptr(pb * (*hi - 1))
			}
		}
		return res
	}
	describe := fmt.Sprintf("%s: %s vs %s of observations above %s (canary %s of %s, baseline %s of %s)", spec.Name, formatShare(pc), formatShare(pb), formatBound(x),
		formatCount(cc.totalEvents), formatCount(cc.totalExposure), formatCount(bc.totalEvents), formatCount(bc.totalExposure))
	return decideShares(r, spec, compareShares(s, bc, cc), opts, describe)
}

// rareShare is the share of observations beyond a bound below which a
// histogram test counts them as rare events (the exact conditional test of
// two rates, stat.RateComparison) rather than with the normal
// approximation of the Mantel–Haenszel comparison, which is too liberal
// when a small canary expects a handful of them: at 1,000 requests a
// minute, 11% of unchanged 1% canaries failed their p99 over 15 minutes.
// Below 10%, treating binomial counts as Poisson overstates their variance
// by at most a ninth, on the safe side.
const rareShare = 0.1

// minAboveExpected is the observations above the compared bound each side
// must expect for a quantile to be judged (as the quantile test's rule of
// five expected points in the tail).
const minAboveExpected = 5

// rareShareTails are the one-sided p-values that the canary's share beyond
// a bound is larger, and smaller, than the baseline's by the exact
// conditional test, for a pooled share below rareShare; ok is false when
// the Mantel–Haenszel comparison (sharesTails) is to be used instead.
func rareShareTails(s *countScratch, b, c counts, poisson dispersionEstimate) (up, down, phi float64, ok bool) {
	pooled := (b.totalEvents + c.totalEvents) / (b.totalExposure + c.totalExposure)
	if !(pooled < rareShare) {
		return 0, 0, 0, false
	}
	var strata []stratum
	if len(b.events) == len(c.events) {
		strata = strataOf(s, b, c)
	} else {
		strata = pooledStratum(b, c)
	}
	rc, err := rateComparison(strata, 1)
	if err != nil {
		return 0, 0, 0, false
	}
	if rc.Events() == 0 {
		return 1, 1, 1, true // no observation beyond the bound on either side
	}
	phi, df := 1.0, 0
	if len(b.events) == len(c.events) {
		phi, df = rateDispersion(b, c, rc.Estimate())
	}
	if poisson.phi > phi {
		phi, df = poisson.phi, poisson.df
	}
	if phi > 1 {
		if rc, err = rateComparison(strata, phi); err != nil {
			return 1, 1, phi, true
		}
	}
	return dispersedP(rc.UpperTail(1), df), dispersedP(rc.LowerTail(1), df), phi, true
}

// sharesTails are the one-sided p-values of the Mantel–Haenszel comparison
// of shares sh, and its dispersion.
func sharesTails(sh shares) (up, down, phi float64) {
	up, down = shareTails(sh, Change{}, math.Sqrt(sh.phi*sh.varLogRR), math.Sqrt(sh.phi*sh.varRD))
	return up, down, sh.phi
}

// boundComparisons are a quantile test's comparisons of the canary's share
// beyond a bound with the baseline's beyond the compared bound x: the test
// asks for the same bound several times (the allowance's, the critical
// change's, and again while it looks for what the data rule out), so each
// bound is compared once and its results kept.
type boundComparisons struct {
	scratch           *countScratch
	bAbove            counts
	cSide             histogramSide
	binomial, poisson dispersionEstimate
	events            []float64 // the canary's beyond the bound being compared
	at                []boundComparison
}

// boundComparison is one bound's results in boundComparisons.
type boundComparison struct {
	bound                 float64
	haveTails, haveShares bool
	up, down, phi         float64
	shares                shares
}

// find is the index of the bound's entry, added when it has none; the
// bounds compared are a few of the histogram's.
func (bc *boundComparisons) find(bound float64) int {
	for i := range bc.at {
		if bc.at[i].bound == bound {
			return i
		}
	}
	bc.at = append(bc.at, boundComparison{bound: bound})
	return len(bc.at) - 1
}

// canaryAbove is the canary's observations beyond bound per window, in
// memory reused by the next call.
func (bc *boundComparisons) canaryAbove(bound float64) counts {
	if bc.events == nil {
		bc.events = bc.scratch.take(len(bc.cSide.exposure))
	}
	return bc.cSide.above(bound, bc.events)
}

// tails are the one-sided p-values that the canary's share beyond bound
// is larger, and smaller, than the baseline's beyond x, and the dispersion
// they were read with: the exact conditional test for rare shares (see
// rareShare), the Mantel–Haenszel comparison otherwise.
func (bc *boundComparisons) tails(bound float64) (up, down, phi float64) {
	i := bc.find(bound)
	if e := &bc.at[i]; !e.haveTails {
		if up, down, phi, ok := rareShareTails(bc.scratch, bc.bAbove, bc.canaryAbove(bound), bc.poisson); ok {
			e.up, e.down, e.phi = up, down, phi
		} else {
			e.up, e.down, e.phi = sharesTails(bc.compare(bound))
		}
		e.haveTails = true
	}
	return bc.at[i].up, bc.at[i].down, bc.at[i].phi
}

// compare is compareSharesWith for the canary beyond bound, with the
// baseline's binomial dispersion.
func (bc *boundComparisons) compare(bound float64) shares {
	i := bc.find(bound)
	if e := &bc.at[i]; !e.haveShares {
		e.shares, e.haveShares = compareSharesWith(bc.bAbove, bc.canaryAbove(bound), bc.binomial), true
	}
	return bc.at[i].shares
}

// judgeHistogramQuantile compares a quantile of the two distributions.
func judgeHistogramQuantile(s *countScratch, r Result, spec Spec, b, c *Buckets, bt, ct histogramTotals, bounds []float64, opts Options) Result {
	q := DefaultHistogramQuantile
	if spec.Quantile != nil {
		q = *spec.Quantile
	}
	t := &TestResult{
		Method:           Histogram,
		Confidence:       opts.Confidence,
		Allowed:          ptr(spec.AllowedChange.Value),
		Q:                q,
		BaselineExposure: ptr(bt.total),
		CanaryExposure:   ptr(ct.total),
		Per:              "observations",
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	r.Test = t
	// A quantile needs its tail observed: five expected observations beyond
	// it on each side (as the quantile test's rule; 500 for a p99).
	need := spec
	need.MinExposure = math.Max(spec.MinExposure, math.Ceil(minAboveExpected/math.Min(q, 1-q)))
	if res, done := noExposure(r, need, counts{totalExposure: bt.total, exposure: windowsOf(s, b)}, counts{totalExposure: ct.total, exposure: windowsOf(s, c)}, "observations", opts.Step); done {
		return res
	}
	qb, qc := HistogramQuantile(bounds, bt.cum, q), HistogramQuantile(bounds, ct.cum, q)
	t.BaselineQuantile, t.CanaryQuantile = ptr(qb), ptr(qc)
	t.Estimate = ptr(qc - qb)
	if qb != 0 {
		t.RelativeShift = ptr(qc/qb - 1)
	}
	// The interval of the difference from each side's order-statistic bounds.
	gamma := math.Sqrt(opts.Confidence)
	z := upperQuantile((1 - gamma) / 2)
	bLo, _ := rankBucket(bounds, bt, q, -z)
	_, bHi := rankBucket(bounds, bt, q, z)
	cLo, _ := rankBucket(bounds, ct, q, -z)
	_, cHi := rankBucket(bounds, ct, q, z)
	t.CILow, t.CIHigh = ptr(cLo-bHi), ptr(cHi-bLo)

	// The bound whose pooled share above is closest to 1 − q, among those
	// above which each side expects minAboveExpected observations.
	total := bt.total + ct.total
	best, bestGap := -1, math.Inf(1)
	for i := 0; i < len(bounds)-1; i++ {
		above := 1 - (bt.cum[i]+ct.cum[i])/total
		if above*math.Min(bt.total, ct.total) < minAboveExpected {
			continue
		}
		if gap := math.Abs(above - (1 - q)); gap < bestGap {
			best, bestGap = i, gap
		}
	}
	if best < 0 {
		r.Classification, r.Gate = NoData, GateResolution
		r.Reason = fmt.Sprintf("%s: no bucket bound has %d observations above it expected on each side (the canary had %s), so the histogram cannot tell its p%s apart",
			spec.Name, minAboveExpected, formatCount(ct.total), formatQuantile(q))
		return r
	}
	x := bounds[best]
	t.Threshold = ptr(x)
	cSide := newHistogramSide(s, c)
	bAbove, cAtX := newHistogramSide(s, b).above(x, s.take(b.Windows())), cSide.above(x, s.take(c.Windows()))
	t.BaselineEvents, t.CanaryEvents = ptr(bAbove.totalEvents), ptr(cAtX.totalEvents)
	a := spec.AllowedChange.Value
	upBound, downBound := boundAtOrAbove(bounds, x*(1+a)), boundAtOrBelow(bounds, x*(1-math.Min(a, 1)))
	// The baseline's clustering beyond x, measured once for every bound.
	cmp := boundComparisons{scratch: s, bAbove: bAbove, cSide: cSide}
	cmp.binomial.phi, cmp.binomial.df = localDispersion(s, bAbove, true)
	cmp.poisson.phi, cmp.poisson.df = localDispersion(s, bAbove, false)
	pUp, _, phi := cmp.tails(upBound)
	_, pDown, _ := cmp.tails(downBound)
	if a >= 1 {
		pDown = 1
	}
	up := cmp.compare(upBound)
	down := cmp.compare(downBound)
	t.Dispersion = phi
	mid := cmp.compare(x)
	t.PValue = ptr(2 * numeric.Pnorm(-math.Abs(math.Log(mid.rr))/math.Sqrt(mid.phi*mid.varLogRR), true))
	t.RateRatio = ptr(mid.rr)
	if v := mid.phi * mid.varLogRR; v > 0 {
		t.Information = 1 / v
	}
	// What the data rule out: the smallest bound beyond x (below it, for a
	// fall) whose canary share is shown not to exceed the baseline's share
	// beyond x; as a ratio of bounds, within the buckets' resolution.
	{
		lvl := DecisionLevel(opts, spec.Direction)
		var rules float64
		bounded := true
		for _, side := range []bool{true, false} {
			if !spec.Direction.harmful(side) {
				continue
			}
			found := false
			for i := range len(bounds) - 1 {
				j := i
				if !side {
					j = len(bounds) - 2 - i
				}
				bj := bounds[j]
				if side && bj < x || !side && bj > x {
					continue
				}
				up, down, _ := cmp.tails(bj)
				if side && down <= lvl || !side && up <= lvl {
					rules = math.Max(rules, math.Abs(bj/x-1))
					found = true
					break
				}
			}
			if !found {
				bounded = false
			}
		}
		if bounded {
			if spec.Direction == Decrease {
				rules = -rules
			}
			t.RulesOut = ptr(rules)
		}
	}

	name := "p" + formatQuantile(q)
	qcText, qbText := quantileText(bounds, ct.cum, q, qc), quantileText(bounds, bt.cum, q, qb)
	describe := fmt.Sprintf("%s: %s %s vs %s (%g%% CI of the difference %s .. %s, from buckets %s)", spec.Name, name, qcText, qbText,
		100*opts.Confidence, signedValue(cLo-bHi), signedValue(cHi-bLo), resolutionText(bounds, qb))
	if qb != 0 && !math.IsNaN(qc) {
		describe = fmt.Sprintf("%s: %s %s vs %s (%s; %g%% CI %s .. %s, from buckets %s)", spec.Name, name, qcText, qbText, signedPercentOf(qc/qb-1),
			100*opts.Confidence, signedPercentOf((cLo-bHi)/qb), signedPercentOf((cHi-bLo)/qb), resolutionText(bounds, qb))
	}
	if a > 0 {
		if ratio := upBound/x - 1; ratio > a*1.001 {
			describe += fmt.Sprintf("; at this quantile the buckets resolve a rise only beyond %s (le=%s against le=%s)",
				signedPercentOf(ratio), formatBound(x), formatBound(upBound))
		}
	}
	if up.degenerate && down.degenerate {
		r.Classification, r.Gate = Pass, GateIdentical
		r.Reason = describe + "; no variation on either side"
		return r
	}
	level := DecisionLevel(opts, spec.Direction)
	upSide := pUp <= pDown
	pSide := math.Min(pUp, pDown)
	t.DecisionLevel, t.DecisionPValue = level, ptr(pSide)
	if pSide > level {
		r.Classification, r.Gate = Pass, GateInterval
		if a > 0 {
			r.Gate = GateAllowedChange
			r.Reason = describe + fmt.Sprintf("; not significantly beyond the allowed %s", allowedOnHarmfulSide(spec.AllowedChange, spec.Direction))
		} else {
			r.Reason = describe + "; not a significant change"
		}
		return r
	}
	if !spec.Direction.harmful(upSide) {
		r.Classification, r.Gate = Pass, GateDirection
		r.Reason = describe + fmt.Sprintf("; a %s is harmless for this signal", riseOrFallNoun(upSide))
		return r
	}
	beyondCritical := false
	if spec.CriticalChange != nil {
		cv := spec.CriticalChange.Value
		if upSide {
			p, _, _ := cmp.tails(boundAtOrAbove(bounds, x*(1+cv)))
			beyondCritical = p <= level
		} else if cv < 1 {
			_, p, _ := cmp.tails(boundAtOrBelow(bounds, x*(1-cv)))
			beyondCritical = p <= level
		}
	}
	return r.harmful(spec, upSide, beyondCritical, pSide, criticalLevel(opts, level), describe+allowedText(spec.AllowedChange, upSide))
}

// windowsOf lists a histogram's windows' totals (for nodata's wording).
func windowsOf(s *countScratch, h *Buckets) []float64 {
	if h == nil {
		return nil
	}
	out := s.take(h.Windows())
	nb := len(h.Bounds)
	for w := range out {
		out[w] = h.Counts[(w+1)*nb-1]
	}
	return out
}

// rankBucket is the bucket holding the order statistic of rank
// q·n + z·√(n·q·(1−q)), clamped to [1, n].
func rankBucket(bounds []float64, t histogramTotals, q, z float64) (lo, hi float64) {
	n := t.total
	rank := float64(q*n) + float64(z*math.Sqrt(n*q*(1-q)))
	rank = math.Min(math.Max(math.Ceil(rank), 1), n)
	return bucketOfRank(bounds, t.cum, rank)
}

// resolutionText names the bucket holding x: "0.25 .. 0.5".
func resolutionText(bounds []float64, x float64) string {
	i, _ := slices.BinarySearch(bounds, x)
	if i >= len(bounds) {
		i = len(bounds) - 1
	}
	lo := 0.0
	if i > 0 {
		lo = bounds[i-1]
	}
	return formatValue(lo) + " .. " + formatValue(bounds[i])
}

func formatBound(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func formatBounds(bounds []float64) string {
	s := ""
	for i, v := range bounds {
		if i > 0 {
			s += ", "
		}
		if i == 6 && len(bounds) > 8 {
			s += fmt.Sprintf("… %d more", len(bounds)-i)
			break
		}
		s += formatBound(v)
	}
	return s
}

// formatQuantile prints 0.99 as "99", 0.5 as "50", 0.999 as "99.9".
func formatQuantile(q float64) string {
	return strconv.FormatFloat(100*q, 'f', -1, 64)
}

// boundAtOrAbove is the smallest bucket bound at or above x (within
// rounding), or x itself beyond the last finite bound (nothing is counted
// past it).
func boundAtOrAbove(bounds []float64, x float64) float64 {
	for _, b := range bounds[:len(bounds)-1] {
		if b >= x*(1-1e-12) {
			return b
		}
	}
	return x
}

// boundAtOrBelow is the largest bucket bound at or below x (within
// rounding), or 0 below the first.
func boundAtOrBelow(bounds []float64, x float64) float64 {
	best := 0.0
	for _, b := range bounds[:len(bounds)-1] {
		if b <= x*(1+1e-12) {
			best = b
		}
	}
	return best
}

// quantileText prints a side's quantile, or "above B" when it lies in the
// +Inf bucket, where the histogram only says it is beyond the last bound B.
func quantileText(bounds, cum []float64, q, v float64) string {
	n := len(bounds)
	if total := cum[n-1]; total > 0 && n >= 2 && cum[n-2] < q*total {
		return "above " + formatBound(bounds[n-2])
	}
	return formatValue(v)
}
