package judge

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mathext"
)

// Sample is one side of a signal: its points, and for the tests of counts
// what each point's window is out of.
//
// For mann-whitney, quantile and threshold tests only Values matter. For
// rate with an exposure, Values are event counts per window (5xx responses)
// and Exposure what they are out of in the same windows (requests); for
// proportion, Values are successes and Exposure trials. For histogram,
// Histogram holds the bucket counts and Values is unused. Windows are
// aligned across the two sides by position when both sides have the same
// number of them (the live path queries both over the same steps); the
// count tests then compare the sides window by window.
type Sample struct {
	Values    []float64
	Exposure  []float64
	Histogram *Buckets
}

// DefaultMinExposure is the exposure (requests, trials, observations) each
// side of a count or histogram test needs by default; less gives nodata.
const DefaultMinExposure = 100

// countScratch is the working memory of the tests of counts and
// histograms, kept in a Workspace and reused from signal to signal: a
// histogram test draws counts beyond several bounds from each side and
// measures their dispersion, and fresh memory for each of them (some
// 400 kB for the release payload's 8 count and histogram signals) cost
// more in allocation and collection than the arithmetic done in it. A nil
// *countScratch allocates as it goes.
type countScratch struct {
	floats  []float64 // handed out by take until reset
	used    int
	windows []oddsWindow // strataOf's, within one call
	blocks  []block      // localDispersion's, within one call
	terms   []float64    // localDispersion's, within one call
}

// reset makes all memory handed out by take free again: the slices from
// before must no longer be used. It starts each signal's test.
func (s *countScratch) reset() {
	if s != nil {
		s.used = 0
	}
}

// take returns n float64s (not cleared) that stay the caller's until the
// next reset.
func (s *countScratch) take(n int) []float64 {
	if s == nil {
		return make([]float64, n)
	}
	if s.used+n > len(s.floats) {
		// The slices handed out keep the old storage; the next signals
		// fit in the new one.
		s.floats, s.used = make([]float64, max(2*len(s.floats), s.used+n, 4096)), 0
	}
	out := s.floats[s.used : s.used+n : s.used+n]
	s.used += n
	return out
}

// counts is one side's events and exposure per window, cleaned.
type counts struct {
	events, exposure []float64
	totalEvents      float64
	totalExposure    float64
}

// cleanCounts checks one side's events and exposure (extrapolated: as
// Prometheus' increase() gives them) and applies the NaN policy window by
// window (a window with NaN in either is dropped, or
// counted as zero with nan: zero). It refuses what cannot be a count: a
// negative value, a value strictly between 0 and 1 (a per-second rate or
// a ratio, not a number of events; Prometheus' increase() may extrapolate
// a count to a fraction above 1, never below), more events than exposure,
// and infinite values.
func cleanCounts(s *countScratch, spec Spec, side string, events, exposure []float64, eventsWhat, exposureWhat string, extrapolated bool) (counts, error) {
	if len(events) != len(exposure) {
		return counts{}, fmt.Errorf("%s: the %s has %d windows of %s but %d of %s; they must cover the same windows",
			spec.Name, side, len(events), eventsWhat, len(exposure), exposureWhat)
	}
	c := counts{events: s.take(len(events))[:0], exposure: s.take(len(events))[:0]}
	for i := range events {
		e, n := events[i], exposure[i]
		if math.IsNaN(e) || math.IsNaN(n) {
			if spec.NaN != NaNZero {
				continue
			}
			if math.IsNaN(e) {
				e = 0
			}
			if math.IsNaN(n) {
				n = 0
			}
		}
		for _, v := range []struct {
			what  string
			value float64
		}{{eventsWhat, e}, {exposureWhat, n}} {
			if err := checkCount(v.value); err != nil {
				return counts{}, fmt.Errorf("%s: %s window %d of %s is %s; %v", spec.Name, side, i+1, v.what, formatCount(v.value), err)
			}
		}
		// Counts from files and requests are exact: more events than
		// exposure is a mistake (swapped series, a wrong query). Live
		// counts may come from increase(), which extrapolates the events'
		// and the exposure's series separately (a series that starts or is
		// scraped inside the window), so a canary failing nearly every
		// request may show a few more events than requests in a window:
		// up to 10% and one event more is taken as that and clamped.
		slack := float64(n*1e-6) + 1e-9
		if extrapolated {
			slack = float64(0.1*n) + 1
		}
		if e > n+slack {
			return counts{}, fmt.Errorf("%s: %s window %d has %s %s but only %s %s; the %s must count what the events are out of",
				spec.Name, side, i+1, formatCount(e), eventsWhat, formatCount(n), exposureWhat, exposureWhat)
		}
		e = math.Min(e, n)
		c.events = append(c.events, e)
		c.exposure = append(c.exposure, n)
		c.totalEvents += e
		c.totalExposure += n
	}
	return c, nil
}

// checkCount refuses a value that is not a number of events.
func checkCount(v float64) error {
	switch {
	case math.IsInf(v, 0):
		return fmt.Errorf("an infinite count cannot be judged")
	case v < 0:
		return fmt.Errorf("counts cannot be negative")
	case v > 0 && v < 1:
		return fmt.Errorf("a count below one event is a per-second rate or a ratio, not a count: query increase(...[{{.step}}]) or count_over_time(...[{{.step}}]), never rate()")
	}
	return nil
}

// formatCount prints a count: whole numbers with thousands separators,
// others with four significant digits.
func formatCount(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		s := strconv.FormatInt(int64(math.Abs(v)), 10)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		if v < 0 {
			s = "-" + s
		}
		return s
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// stratum is a group of windows whose canary shares of exposure are close:
// events in it are the canary's, under "no change", with one probability.
type stratum struct {
	events float64 // both sides
	canary float64 // the canary's events
	odds   float64 // canary exposure / baseline exposure, event-weighted
}

// maxOddsSpread is how far apart (as a ratio) the canary's exposure odds of
// the windows in one stratum may be. Within it, treating the stratum's
// events as one binomial moves its mean by well under 1%.
const maxOddsSpread = 1.1

// maxStrata bounds the strata of one test (their cost is linear in them).
const maxStrata = 64

// strataOf groups aligned windows with events into strata of similar
// exposure odds, sorted by odds. Windows where a side had no exposure say
// nothing about the ratio and are left out.
func strataOf(s *countScratch, b, c counts) []stratum {
	var ws []oddsWindow
	if s != nil {
		ws = s.windows[:0]
		defer func() { s.windows = ws }()
	}
	for i := range b.events {
		k := b.events[i] + c.events[i]
		if k == 0 || b.exposure[i] == 0 || c.exposure[i] == 0 {
			continue
		}
		ws = append(ws, oddsWindow{k: k, x: c.events[i], odds: c.exposure[i] / b.exposure[i]})
	}
	slices.SortFunc(ws, func(a, b oddsWindow) int {
		switch {
		case a.odds < b.odds:
			return -1
		case a.odds > b.odds:
			return 1
		}
		return 0
	})
	for spread := maxOddsSpread; ; spread *= spread {
		var out []stratum
		var share float64 // Σ k·p of the current stratum
		start := 0
		for i, w := range ws {
			if i > start && w.odds > ws[start].odds*spread {
				start = i
			}
			if i == start {
				if len(out) > 0 {
					last := &out[len(out)-1]
					p := share / last.events
					last.odds = p / (1 - p)
				}
				out = append(out, stratum{})
				share = 0
			}
			s := &out[len(out)-1]
			s.events += w.k
			s.canary += w.x
			share += w.k * w.odds / (1 + w.odds)
		}
		if len(out) > 0 {
			last := &out[len(out)-1]
			p := share / last.events
			last.odds = p / (1 - p)
		}
		if len(out) <= maxStrata {
			return out
		}
	}
}

// oddsWindow is one window in strataOf: both sides' events k, the canary's
// x, and the canary's exposure odds.
type oddsWindow struct{ k, x, odds float64 }

// pooledStratum is the one stratum of sides whose windows do not align:
// all events, with the odds of the total exposures (exact when the rate is
// the same in every window).
func pooledStratum(b, c counts) []stratum {
	k := b.totalEvents + c.totalEvents
	if k == 0 || b.totalExposure == 0 || c.totalExposure == 0 {
		return nil
	}
	return []stratum{{events: k, canary: c.totalEvents, odds: c.totalExposure / b.totalExposure}}
}

// minDispersionBlocks is the number of blocks the dispersion estimate
// needs; with fewer the counts are taken as Poisson.
const minDispersionBlocks = 4

// minBlockExpected is the events each block needs on each side under the
// fitted ratio before its Pearson term counts (the χ² rule of five).
const minBlockExpected = 5

// rateDispersion is the quasi-likelihood dispersion of aligned windows:
// the Pearson statistic of the canary's events per block of consecutive
// windows around what the fitted ratio θ predicts given the block's events,
// over its degrees of freedom (McCullagh & Nelder, Generalized Linear
// Models, 2nd ed., §4.5). Windows are merged into blocks until each expects
// at least minBlockExpected events on each side, so that the terms are
// near-normal; with fewer than minDispersionBlocks blocks it is 1. Events
// that come in clusters (one client's retries landing on one side) spread
// the canary's share more than binomially and raise it; a rate that moves
// over time on both sides does not, since each window conditions on its own
// events. It is never below 1. It returns the factor and its degrees of
// freedom (0 when the factor is 1, estimated or not).
func rateDispersion(b, c counts, theta float64) (float64, int) {
	if !(theta > 0) || math.IsInf(theta, 0) {
		return 1, 0
	}
	var x2 float64
	blocks := 0
	var obs, exp, v, k float64
	flush := func() {
		if v > 0 {
			x2 += (obs - exp) * (obs - exp) / v
			blocks++
		}
		obs, exp, v, k = 0, 0, 0, 0
	}
	for i := range b.events {
		kt := b.events[i] + c.events[i]
		if kt == 0 || b.exposure[i] == 0 || c.exposure[i] == 0 {
			continue
		}
		o := theta * c.exposure[i] / b.exposure[i]
		p := o / (1 + o)
		obs += c.events[i]
		exp += float64(kt * p)
		v += float64(kt * p * (1 - p))
		k += kt
		if exp >= minBlockExpected && k-exp >= minBlockExpected {
			flush()
		}
	}
	// A last, short block is merged into the statistic only if it is not
	// tiny; its terms would be far from normal.
	if exp >= minBlockExpected/2 && k-exp >= minBlockExpected/2 {
		flush()
	}
	if blocks < minDispersionBlocks || x2 <= float64(blocks-1) {
		return 1, 0
	}
	return x2 / float64(blocks-1), blocks - 1
}

// dispersedP turns a one-sided p-value computed with the counts divided by
// an estimated dispersion into one read on Student's t with the estimate's
// degrees of freedom instead of the normal: the estimate is itself
// uncertain, which fattens the tails (the quasi-likelihood F/t reference,
// McCullagh & Nelder §9.2). With no estimated dispersion it is p.
func dispersedP(p float64, df int) float64 {
	if df <= 0 || math.IsNaN(p) || p >= 0.5 {
		return p
	}
	t := upperQuantile(p)
	d := float64(df)
	return 0.5 * mathext.RegIncBeta(d/2, 0.5, d/(d+float64(t*t)))
}

// pooledDispersion is the dispersion of sides whose windows do not align:
// each side's Pearson statistic of events per block around its own rate,
// pooled. It also counts changes of the rate over time, so it errs on the
// safe side. It returns the factor and its degrees of freedom, as
// rateDispersion does.
func pooledDispersion(sides ...counts) (float64, int) {
	var x2 float64
	df := 0
	for _, s := range sides {
		if s.totalExposure == 0 || s.totalEvents == 0 {
			continue
		}
		rate := s.totalEvents / s.totalExposure
		blocks := 0
		var obs, exp float64
		for i := range s.events {
			obs += s.events[i]
			exp += float64(rate * s.exposure[i])
			if exp >= minBlockExpected {
				x2 += (obs - exp) * (obs - exp) / exp
				blocks++
				obs, exp = 0, 0
			}
		}
		if blocks > 1 {
			df += blocks - 1
		}
	}
	if df < minDispersionBlocks-1 || x2 <= float64(df) {
		return 1, 0
	}
	return x2 / float64(df), df
}

// medianChiSquare1 is the median of χ² with one degree of freedom
// (TestMedianChiSquare computes it).
const medianChiSquare1 = 0.4549364231195725

// localDispersion is how much more one side's counts vary from window to
// window than binomial (Poisson when !binomial) sampling would make them,
// around the side's own rate in the neighbouring windows: the clustering
// of its events (a client retrying a failed request, one session's
// checkouts), which inflates the variance of the split between sides just
// as much, since under "no change" the canary's traffic behaves as the
// baseline's. Estimated on the baseline, it is available when the canary
// is too small to estimate the split's dispersion itself (a 1% canary
// expecting a handful of errors), where a Poisson test would take one
// retried request for a regression.
//
// Windows are merged into blocks expecting minBlockExpected events each;
// each block's Pearson term is taken against the median rate of the two
// blocks on either side of it, its variance corrected for that rate's own
// sampling error, so that the rate's slow changes over the window do not
// count; the estimate is the median term over its value under no
// dispersion (0.455 for χ² with one degree of freedom). Medians, because
// what moves a whole window's rate (an incident, a bad minute of one pod)
// is not clustering, and at the baseline's scale it would dwarf it: a
// three-fold burst in one window of ten made a trimmed mean read 32 where
// the split of a small canary varies hardly more than binomially. It
// returns 1 and 0 degrees of freedom with fewer than minDispersionBlocks+2
// blocks; the degrees of freedom are the blocks' less one, a generous
// count for a median.
func localDispersion(s *countScratch, c counts, binomial bool) (float64, int) {
	if c.totalExposure == 0 || c.totalEvents == 0 {
		return 1, 0
	}
	rate := c.totalEvents / c.totalExposure
	var blocks []block
	var terms []float64
	if s != nil {
		blocks, terms = s.blocks[:0], s.terms[:0]
		defer func() { s.blocks, s.terms = blocks, terms }()
	}
	var e, n float64
	for i := range c.events {
		e += c.events[i]
		n += c.exposure[i]
		expected := rate * n
		if binomial {
			expected = math.Min(rate, 1-rate) * n
		}
		if expected >= minBlockExpected {
			blocks = append(blocks, block{e, n})
			e, n = 0, 0
		}
	}
	if len(blocks) < minDispersionBlocks+2 {
		return 1, 0
	}
	var rates [4]float64
	for b := range blocks {
		k, nn := 0, 0.0
		for j := b - 2; j <= b+2; j++ {
			if j >= 0 && j < len(blocks) && j != b {
				rates[k] = blocks[j].e / blocks[j].n
				nn += blocks[j].n
				k++
			}
		}
		r := medianOfFour(rates[:k])
		if r <= 0 || binomial && r >= 1 {
			continue
		}
		v := blocks[b].n * r
		if binomial {
			v *= 1 - r
		}
		// The local rate's own sampling error: a median of the neighbours'
		// rates varies about π/2 times as much as their pooled rate.
		v *= 1 + math.Pi/2*blocks[b].n/nn
		d := blocks[b].e - float64(blocks[b].n*r)
		terms = append(terms, d*d/v)
	}
	if len(terms) < minDispersionBlocks {
		return 1, 0
	}
	phi := medianInPlace(terms) / medianChiSquare1
	if phi <= 1 {
		return 1, 0
	}
	return phi, len(terms) - 1
}

// block is a run of consecutive windows in localDispersion: its events
// and exposure.
type block struct{ e, n float64 }

// medianOfFour is the median of one to four numbers, none NaN (the
// neighbouring blocks' rates in localDispersion): the middle one, or the
// mean of the middle two, as sorting them would give. Of four, the middle
// two are the larger of the pairs' minima and the smaller of their maxima.
func medianOfFour(x []float64) float64 {
	switch len(x) {
	case 1:
		return x[0]
	case 2:
		return (x[0] + x[1]) / 2
	case 3:
		return max(min(x[0], x[1]), min(max(x[0], x[1]), x[2]))
	}
	return (max(min(x[0], x[1]), min(x[2], x[3])) + min(max(x[0], x[1]), max(x[2], x[3]))) / 2
}

// medianInPlace is the median of x, none NaN (the middle value, or the
// mean of the middle two), found by selection rather than a sort; it
// reorders x.
func medianInPlace(x []float64) float64 {
	n := len(x)
	hi := selectKth(x, n/2)
	if n%2 == 1 {
		return hi
	}
	// The lower middle is the largest of the values before the upper one.
	lo := x[0]
	for _, v := range x[1 : n/2] {
		lo = max(lo, v)
	}
	return (lo + hi) / 2
}

// selectKth puts the k-th smallest value of x (0-based; none NaN) at x[k],
// the smaller ones before it and the others after, and returns it
// (Hoare's selection, median-of-three pivots).
func selectKth(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for hi > lo {
		if hi-lo < 16 {
			for i := lo + 1; i <= hi; i++ {
				for j := i; j > lo && x[j] < x[j-1]; j-- {
					x[j], x[j-1] = x[j-1], x[j]
				}
			}
			break
		}
		mid := lo + (hi-lo)/2
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for pivot < x[j] {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		// x[lo..j] ≤ pivot ≤ x[i..hi], and x[j+1..i-1] equal the pivot.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}
