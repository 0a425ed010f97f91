package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/verdict-aca/verdict/judge"
)

// shape is what a step makes of a signal: how many points (windows) each
// side has and how the traffic is split.
type shape struct {
	// windows is the number of points or windows per side.
	windows int
	// canary and stable are the canary's and the stable version's shares
	// of the service's traffic: the ramp's weight and the rest.
	canary, stable float64
}

// draws are one replicate's random numbers, fixed while the regression
// injected into its canary grows, and the buffers its samples are built in.
type draws struct {
	offset  int         // the window of the baseline data the step starts at
	streams [][]float64 // uniforms (or normal deviates) by purpose
	base    judge.Sample
	can     judge.Sample
	dist    []float64 // a histogram canary's distribution
}

// stream returns the replicate's i-th stream of n uniforms, drawn anew.
func (d *draws) stream(i, n int, rng *rand.Rand) []float64 {
	for len(d.streams) <= i {
		d.streams = append(d.streams, nil)
	}
	s := resize(d.streams[i], n)
	for k := range s {
		s[k] = rng.Float64()
	}
	d.streams[i] = s
	return s
}

// normals returns the replicate's i-th stream of n AR(1) normal deviates of
// lag-one correlation ar, drawn anew.
func (d *draws) normals(i, n int, ar float64, rng *rand.Rand) []float64 {
	for len(d.streams) <= i {
		d.streams = append(d.streams, nil)
	}
	s := resize(d.streams[i], n)
	innovation := math.Sqrt(1 - ar*ar)
	for k := range s {
		z := rng.NormFloat64()
		if k > 0 {
			z = ar*s[k-1] + innovation*z
		}
		s[k] = z
	}
	d.streams[i] = s
	return s
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// A model draws data shaped like one signal's baseline: new baseline and
// canary sides for a step, with a harmful change of a given size injected
// into the canary.
type model interface {
	// draw fixes a replicate's random numbers for a step of this shape.
	draw(st shape, rng *rand.Rand, d *draws)
	// baseline is the replicate's stable side; it does not depend on the
	// change injected.
	baseline(st shape, d *draws) judge.Sample
	// canary is the replicate's canary side with a harmful change of size
	// delta (in the model's unit) injected. A larger delta never makes
	// the canary look less harmful.
	canary(st shape, d *draws, delta float64) judge.Sample
	// maxChange is the largest change the model can inject.
	maxChange() float64
	// unit is what a change is measured in.
	unit() Unit
	// expect describes what a step of this shape holds, for the report.
	expect(st shape, c *Cell)
}

// Unit is what a plan's changes are measured in.
type Unit string

// The units of a change.
const (
	// Relative changes are fractions of the baseline's value (0.1: +10%).
	Relative Unit = "relative"
	// Points are differences of shares (0.005: half a percentage point),
	// for a proportion with an allowance in points.
	Points Unit = "points"
	// Share is the canary's own share (of events per exposure, of
	// observations above a bound) when the baseline had none, where a
	// relative change means nothing.
	Share Unit = "share"
)

// maxRise is the largest rise a plan looks for: tenfold (+900%). A step
// that cannot detect that detects nothing worth planning on.
const maxRise = 9.0

// maxFall is the largest fall a plan looks for: to a hundredth.
const maxFall = 0.99

// harm applies a harmful change delta to a positive level x in a unit.
func harm(x, delta float64, up bool, u Unit) float64 {
	switch {
	case u == Share && up:
		return delta
	case u == Points && up:
		return x + delta
	case u == Points:
		return x - delta
	case up:
		return x * (1 + delta)
	}
	return x * (1 - delta)
}

// countsModel draws events out of an exposure window by window (5xx out
// of requests for a rate test, successes out of trials for a proportion):
// each side's exposure is its share of the service's traffic in the
// baseline data's windows, taken in order from a random window on
// (wrapping), and its events are binomial at the baseline's ratio,
// overdispersed (in clusters, see clusteredBinomialQuantile) by the dispersion the judge finds in the
// baseline's own counts.
//
// A rate test without an exposure compares counts per window of sides of
// the same size: its model has no exposure (perWindow), and each side's
// counts are Poisson (binomial out of a vast exposure) at the baseline's
// mean count per window, overdispersed by the baseline's variance over its
// mean, whatever the traffic split.
type countsModel struct {
	traffic   []float64 // the service's exposure per window
	ratio     float64   // events per exposure
	phi       float64   // dispersion
	up        bool      // the harmful change is a rise
	u         Unit
	perWindow bool // counts without exposure
}

// vastExposure is the exposure a count without one is drawn out of: its
// binomial is then Poisson.
const vastExposure = 1e12

func (m *countsModel) unit() Unit { return m.u }

func (m *countsModel) maxChange() float64 {
	switch {
	case m.u == Share:
		return 1
	case m.u == Points && m.up:
		return 1 - m.ratio
	case m.u == Points:
		return m.ratio
	case m.up:
		return math.Min(maxRise, 1/m.ratio-1)
	}
	return maxFall
}

func (m *countsModel) draw(st shape, rng *rand.Rand, d *draws) {
	d.offset = rng.IntN(len(m.traffic))
	d.stream(0, st.windows, rng)
	d.stream(1, st.windows, rng)
	for i := 2; i < 6; i++ {
		d.stream(i, st.windows, rng)
	}
	d.base.Values, d.base.Exposure = resize(d.base.Values, st.windows), resize(d.base.Exposure, st.windows)
	d.can.Values, d.can.Exposure = resize(d.can.Values, st.windows), resize(d.can.Exposure, st.windows)
	for i := range st.windows {
		n := m.traffic[(d.offset+i)%len(m.traffic)]
		if m.perWindow {
			d.base.Exposure[i], d.can.Exposure[i] = n, n
			continue
		}
		d.base.Exposure[i] = stochasticRound(st.stable*n, d.streams[0][i])
		d.can.Exposure[i] = stochasticRound(st.canary*n, d.streams[1][i])
	}
}

func (m *countsModel) baseline(st shape, d *draws) judge.Sample {
	for i := range st.windows {
		d.base.Values[i] = clusteredBinomialQuantile(d.streams[2][i], d.streams[3][i], d.base.Exposure[i], m.ratio, m.phi)
	}
	if m.perWindow {
		return judge.Sample{Values: d.base.Values}
	}
	return judge.Sample{Values: d.base.Values, Exposure: d.base.Exposure}
}

func (m *countsModel) canary(st shape, d *draws, delta float64) judge.Sample {
	p := math.Min(1, math.Max(0, harm(m.ratio, delta, m.up, m.u)))
	for i := range st.windows {
		d.can.Values[i] = clusteredBinomialQuantile(d.streams[4][i], d.streams[5][i], d.can.Exposure[i], p, m.phi)
	}
	if m.perWindow {
		return judge.Sample{Values: d.can.Values}
	}
	return judge.Sample{Values: d.can.Values, Exposure: d.can.Exposure}
}

func (m *countsModel) expect(st shape, c *Cell) {
	if m.perWindow {
		c.Points = st.windows
		c.CanaryEvents = ptr(significant(float64(st.windows) * m.ratio * vastExposure))
		return
	}
	var total float64
	for i := range st.windows {
		total += m.traffic[i%len(m.traffic)]
	}
	c.CanaryExposure, c.BaselineExposure = ptr(significant(st.canary*total)), ptr(significant(st.stable*total))
	c.CanaryEvents = ptr(significant(st.canary * total * m.ratio))
}

// fitCounts fits a countsModel to a baseline's events and exposure; share
// is the share of the service's traffic they served.
func fitCounts(spec judge.Spec, s judge.Sample, share float64) (*countsModel, error) {
	if len(s.Values) != len(s.Exposure) {
		return nil, fmt.Errorf("the baseline has %d windows of events but %d of exposure", len(s.Values), len(s.Exposure))
	}
	m := &countsModel{up: spec.Direction != judge.Decrease, u: Relative, phi: 1}
	var events, exposure float64
	for i, e := range s.Values {
		n := s.Exposure[i]
		if spec.NaN == judge.NaNZero {
			e, n = zeroNaN(e), zeroNaN(n)
		}
		if math.IsNaN(e) || math.IsNaN(n) {
			continue
		}
		events += e
		exposure += n
		m.traffic = append(m.traffic, n/share)
	}
	if !(exposure > 0) {
		return nil, fmt.Errorf("the baseline has no %s", exposureName(spec))
	}
	m.ratio = events / exposure
	switch {
	case spec.AllowedChange.Points:
		m.u = Points
	case events == 0 && m.up:
		m.u = Share
	case events == 0 || m.ratio == 1 && m.up:
		return nil, fmt.Errorf("the baseline's ratio is %g, which cannot move the harmful way", m.ratio)
	}
	// The judge measures the baseline's clustering (its local dispersion)
	// when it compares the baseline with itself: the split of identical
	// sides has no dispersion of its own.
	self := spec
	self.RequireEvidence = false
	if r := judge.JudgeSamples(self, s, s, judge.Options{}); r.Test != nil && r.Test.Dispersion > 1 {
		m.phi = r.Test.Dispersion
	}
	return m, nil
}

// fitPerWindow fits a countsModel to a baseline's counts per window (a
// rate test without an exposure).
func fitPerWindow(spec judge.Spec, values []float64) (*countsModel, error) {
	m := &countsModel{up: spec.Direction != judge.Decrease, u: Relative, phi: 1, perWindow: true}
	var counts []float64
	for _, v := range values {
		if math.IsNaN(v) {
			if spec.NaN != judge.NaNZero {
				continue
			}
			v = 0
		}
		if v < 0 || math.IsInf(v, 0) {
			return nil, fmt.Errorf("the baseline holds %v, which is not a count", v)
		}
		counts = append(counts, math.Round(v))
		m.traffic = append(m.traffic, vastExposure)
	}
	if len(counts) < 2 {
		return nil, fmt.Errorf("the baseline has %d windows; at least 2 are needed", len(counts))
	}
	mu := mean(counts)
	if mu == 0 {
		return nil, fmt.Errorf("the baseline had no events, so a relative change of its rate means nothing; give the counts an exposure (exposure: requests) to plan on their share")
	}
	var ss float64
	for _, v := range counts {
		ss += (v - mu) * (v - mu)
	}
	// The judge's quasi-Poisson dispersion: variance over mean, at least 1.
	m.phi = math.Max(1, ss/float64(len(counts)-1)/mu)
	m.ratio = mu / vastExposure
	return m, nil
}

// histogramModel draws latency histograms: each side's observations per
// window are its share of the baseline's, window by window as countsModel
// takes them, spread over the buckets as the baseline's pooled
// distribution spreads them (multinomial). A regression of the quantile
// scales the whole distribution (every latency 1 + delta times the
// baseline's, interpolated within buckets as the judge does); a regression
// of the share above a bound moves observations from below it to above it.
type histogramModel struct {
	bounds  []float64
	cdf     []float64 // pooled share at or below each bound
	traffic []float64 // the service's observations per window
	above   int       // index of the bound a share above is judged at; -1 for a quantile
	up      bool
	u       Unit
	// resolution is the smallest change of the quantile the buckets
	// resolve beyond the allowance at the baseline's quantile (0: finer
	// than the allowance).
	resolution float64
	// sigma is the spread (on the log scale) of the latency's scale from
	// window to window, shared by both sides: the drift, load and
	// incidents that make the baseline's tail vary more than its requests
	// alone would (see calibrate).
	sigma float64
	// tailPhi is the dispersion the judge finds in the baseline's tail.
	tailPhi float64
}

func (m *histogramModel) unit() Unit { return m.u }

func (m *histogramModel) maxChange() float64 {
	if m.above < 0 {
		if m.up {
			return maxRise
		}
		return maxFall
	}
	s := 1 - m.cdf[m.above]
	switch {
	case m.u == Share:
		return 1
	case m.u == Points && m.up:
		return 1 - s
	case m.u == Points:
		return s
	case m.up:
		return math.Min(maxRise, 1/s-1)
	}
	return maxFall
}

func (m *histogramModel) draw(st shape, rng *rand.Rand, d *draws) {
	k := len(m.bounds)
	d.offset = rng.IntN(len(m.traffic))
	d.stream(0, st.windows, rng)
	d.stream(1, st.windows, rng)
	d.stream(2, st.windows*(k-1), rng)
	d.stream(3, st.windows*(k-1), rng)
	d.normals(4, st.windows, 0, rng)
	for _, side := range []*judge.Sample{&d.base, &d.can} {
		if side.Histogram == nil {
			side.Histogram = &judge.Buckets{}
		}
		side.Histogram.Bounds = m.bounds
		side.Histogram.Counts = resize(side.Histogram.Counts, st.windows*k)
	}
	d.base.Exposure, d.can.Exposure = resize(d.base.Exposure, st.windows), resize(d.can.Exposure, st.windows)
	for i := range st.windows {
		n := m.traffic[(d.offset+i)%len(m.traffic)]
		d.base.Exposure[i] = stochasticRound(st.stable*n, d.streams[0][i])
		d.can.Exposure[i] = stochasticRound(st.canary*n, d.streams[1][i])
	}
}

func (m *histogramModel) baseline(st shape, d *draws) judge.Sample {
	k := len(m.bounds)
	for i := range st.windows {
		d.dist = m.distribution(d.dist, m.scale(d, i), 0)
		drawBuckets(d.base.Histogram.Counts[i*k:(i+1)*k], d.base.Exposure[i], d.dist, d.streams[2][i*(k-1):(i+1)*(k-1)])
	}
	return judge.Sample{Histogram: d.base.Histogram}
}

func (m *histogramModel) canary(st shape, d *draws, delta float64) judge.Sample {
	k := len(m.bounds)
	for i := range st.windows {
		d.dist = m.distribution(d.dist, m.scale(d, i), delta)
		drawBuckets(d.can.Histogram.Counts[i*k:(i+1)*k], d.can.Exposure[i], d.dist, d.streams[3][i*(k-1):(i+1)*(k-1)])
	}
	return judge.Sample{Histogram: d.can.Histogram}
}

// scale is window i's latency factor, shared by both sides.
func (m *histogramModel) scale(d *draws, i int) float64 {
	if m.sigma == 0 {
		return 1
	}
	return math.Exp(m.sigma * d.streams[4][i])
}

// distribution is the canary's share at or below each bound in a window
// whose latencies are scale times the baseline's, with the change delta,
// in buf.
func (m *histogramModel) distribution(buf []float64, scale, delta float64) []float64 {
	k := len(m.bounds)
	g := resize(buf, k)
	f := scale
	if m.above < 0 {
		if m.up {
			f *= 1 + delta
		} else {
			f *= 1 - delta
		}
	}
	for i, b := range m.bounds[:k-1] {
		if f == 1 {
			g[i] = m.cdf[i]
		} else {
			g[i] = cdfAt(m.bounds, m.cdf, b/f)
		}
	}
	g[k-1] = 1
	if m.above >= 0 && delta != 0 {
		s := 1 - g[m.above]
		s2 := math.Min(1, math.Max(0, harm(s, delta, m.up, m.u)))
		below := g[m.above]
		for i := range m.bounds[:k-1] {
			switch {
			case i >= m.above && s > 0:
				g[i] = 1 - (1-g[i])*s2/s
			case i >= m.above:
				g[i] = 1 - s2 // all the new share in the first bucket above
			case below > 0:
				g[i] *= (1 - s2) / below
			}
		}
	}
	return g
}

// drawBuckets fills cum with the cumulative counts of n observations
// spread over buckets with cumulative shares g, drawn from the top bucket
// down (conditional binomials at the uniforms u, one per finite bound), so
// that a heavier tail never gives fewer observations above a bound.
func drawBuckets(cum []float64, n float64, g, u []float64) {
	k := len(g)
	above := 0.0 // observations above the bound being drawn
	cum[k-1] = n
	for i := k - 2; i >= 0; i-- {
		// Of the observations at or below bound i+1, the share above bound i.
		var p float64
		if g[i+1] > 0 {
			p = (g[i+1] - g[i]) / g[i+1]
		}
		above += binomialQuantile(u[i], n-above, math.Min(1, math.Max(0, p)))
		cum[i] = n - above
	}
}

// cdfAt is the share at or below x of cumulative shares at bounds,
// interpolated within a bucket as the judge does (log-linearly between
// positive bounds, else linearly, the first bucket from 0); beyond the last
// finite bound, the share at it.
func cdfAt(bounds, cdf []float64, x float64) float64 {
	i, found := slices.BinarySearch(bounds, x)
	if found {
		return cdf[i]
	}
	if i >= len(bounds)-1 {
		return cdf[len(bounds)-2]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = bounds[i-1], cdf[i-1]
	} else if bounds[0] <= 0 {
		return 0
	}
	if x <= lo {
		return below
	}
	if lo > 0 {
		return below + (cdf[i]-below)*math.Log(x/lo)/math.Log(bounds[i]/lo)
	}
	return below + (cdf[i]-below)*(x-lo)/(bounds[i]-lo)
}

func (m *histogramModel) expect(st shape, c *Cell) {
	var total float64
	for i := range st.windows {
		total += m.traffic[i%len(m.traffic)]
	}
	c.CanaryExposure, c.BaselineExposure = ptr(significant(st.canary*total)), ptr(significant(st.stable*total))
	if m.above >= 0 {
		c.CanaryEvents = ptr(significant(st.canary * total * (1 - m.cdf[m.above])))
	}
}

// fitHistogram fits a histogramModel to a baseline's buckets.
func fitHistogram(spec judge.Spec, h *judge.Buckets, share float64) (*histogramModel, error) {
	if h == nil || len(h.Bounds) < 2 || h.Windows() == 0 {
		return nil, fmt.Errorf("the baseline has no histogram buckets")
	}
	k := len(h.Bounds)
	if !math.IsInf(h.Bounds[k-1], 1) {
		return nil, fmt.Errorf("the baseline's histogram has no +Inf bucket")
	}
	m := &histogramModel{bounds: h.Bounds, cdf: make([]float64, k), above: -1, up: spec.Direction != judge.Decrease, u: Relative}
	var total float64
	for w := range h.Windows() {
		row := h.Counts[w*k : (w+1)*k]
		if slices.ContainsFunc(row, math.IsNaN) {
			continue
		}
		for i, v := range row {
			m.cdf[i] += v
		}
		total += row[k-1]
		m.traffic = append(m.traffic, row[k-1]/share)
	}
	if !(total > 0) {
		return nil, fmt.Errorf("the baseline's histogram holds no observations")
	}
	for i := range m.cdf {
		m.cdf[i] = math.Min(1, m.cdf[i]/total)
		if i > 0 && m.cdf[i] < m.cdf[i-1] {
			return nil, fmt.Errorf("the baseline's histogram is not cumulative")
		}
	}
	if spec.Above == nil && spec.AllowedChange.Value > 0 {
		m.resolution = bucketResolution(m.bounds, m.cdf, spec)
	}
	if spec.Above != nil {
		i, found := slices.BinarySearch(h.Bounds, *spec.Above)
		if !found || i == k-1 {
			return nil, fmt.Errorf("above: %g is not one of the histogram's finite bucket bounds", *spec.Above)
		}
		m.above = i
		s := 1 - m.cdf[i]
		switch {
		case spec.AllowedChange.Points:
			m.u = Points
		case s == 0 && m.up:
			m.u = Share
		case s == 0 || s == 1 && m.up:
			return nil, fmt.Errorf("the baseline's share above %g is %g, which cannot move the harmful way", *spec.Above, s)
		}
	}
	m.calibrate(spec, h, share)
	return m, nil
}

// tailBound is the index of the bound whose share above the judge
// compares: the above bound, or the one nearest the quantile.
func (m *histogramModel) tailBound(spec judge.Spec) int {
	if m.above >= 0 {
		return m.above
	}
	q := judge.DefaultHistogramQuantile
	if spec.Quantile != nil {
		q = *spec.Quantile
	}
	best, gap := 0, math.Inf(1)
	for i := range m.bounds[:len(m.bounds)-1] {
		if g := math.Abs(1 - m.cdf[i] - (1 - q)); g < gap {
			best, gap = i, g
		}
	}
	return best
}

// tailDispersion is the dispersion the judge finds in a histogram's
// counts above bound i: comparing the histogram with itself, the split
// has none, and the judge reports the baseline's own (localDispersion).
func tailDispersion(spec judge.Spec, h *judge.Buckets, bound float64) float64 {
	self := spec
	self.Above, self.Quantile, self.AllowedChange, self.CriticalChange, self.RequireEvidence = &bound, nil, judge.Change{}, nil, false
	r := judge.JudgeSamples(self, judge.Sample{Histogram: h}, judge.Sample{Histogram: h}, judge.Options{})
	if r.Test == nil || !(r.Test.Dispersion > 1) {
		return 1
	}
	return r.Test.Dispersion
}

// calibrationDraws is the number of simulated baselines whose tail
// variation is averaged for each spread tried.
const calibrationDraws = 12

// calibrate sets sigma, the spread of the windows' shared latency scale,
// so that simulated baselines (the data's windows and traffic) vary from
// window to window above the compared bound as much as the real one
// (tailVariation): a tail that moves with drift, load and incidents
// weakens the judge (its dispersion, the split of a regression that
// differs from window to window), and a model of independent requests
// alone promised 80% detection of a p99 regression that the traffic
// study's generator's canaries detected in 43% (docs/plan.md). The whole
// variation is matched, slow trends included, which errs on the safe
// side. It leaves sigma 0 when the real tail varies as independent
// requests make it.
func (m *histogramModel) calibrate(spec judge.Spec, h *judge.Buckets, share float64) {
	i := m.tailBound(spec)
	m.tailPhi = tailDispersion(spec, h, m.bounds[i])
	target := tailVariation(h, m.bounds[i])
	if target <= 1.1 {
		return
	}
	st := shape{windows: len(m.traffic), canary: 0, stable: 1}
	measure := func(sigma float64) float64 {
		m.sigma = sigma
		var d draws
		var sum float64
		for k := range calibrationDraws {
			m.draw(st, rand.New(rand.NewPCG(uint64(k), 1)), &d)
			d.offset = 0
			for w := range st.windows {
				d.base.Exposure[w] = m.traffic[w] * share
			}
			sum += tailVariation(m.baseline(st, &d).Histogram, m.bounds[i])
		}
		return sum / calibrationDraws
	}
	lo, hi := 0.0, 0.05
	for measure(hi) < target && hi < 1 {
		lo, hi = hi, 2*hi
	}
	for range 12 {
		mid := (lo + hi) / 2
		if measure(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	m.sigma = (lo + hi) / 2
}

// bucketResolution is the change of a histogram's quantile that its
// buckets resolve beyond the allowance, as the judge compares them: the
// canary's share above the smallest bound at or beyond t·(1 + allowed)
// (below t·(1 − allowed) for a fall) against the baseline's above t, the
// bound nearest the quantile. It is 0 when the buckets resolve the
// allowance itself.
func bucketResolution(bounds, cdf []float64, spec judge.Spec) float64 {
	q := judge.DefaultHistogramQuantile
	if spec.Quantile != nil {
		q = *spec.Quantile
	}
	best, gap := -1, math.Inf(1)
	for i := range bounds[:len(bounds)-1] {
		if g := math.Abs(1 - cdf[i] - (1 - q)); g < gap {
			best, gap = i, g
		}
	}
	t, a := bounds[best], spec.AllowedChange.Value
	if !(t > 0) {
		return 0
	}
	r := 0.0
	if spec.Direction != judge.Decrease {
		r = math.Inf(1) // beyond the last bucket: nothing resolves it
		for _, b := range bounds[:len(bounds)-1] {
			if b >= t*(1+a)*(1-1e-12) {
				r = b/t - 1
				break
			}
		}
	} else {
		r = 1
		for _, b := range bounds[:len(bounds)-1] {
			if b <= t*(1-a)*(1+1e-12) {
				r = 1 - b/t
			}
		}
	}
	if r <= a*1.001 {
		return 0
	}
	return r
}

// pointsModel draws points (mann-whitney, quantile): each side's points follow the baseline's
// distribution (drawn from its points) with its serial correlation (an
// AR(1) process on the normal scale whose lag-one rank correlation is the
// baseline's). A regression shifts every canary point by delta times the
// baseline's median (mann-whitney: the shift its estimate measures),
// or scales it by 1 + delta (quantile: every quantile delta higher).
type pointsModel struct {
	sorted []float64 // the baseline's points, ascending
	ar     float64   // AR(1) coefficient on the normal scale
	rho    float64   // the baseline's lag-one rank autocorrelation
	median float64
	test   judge.Method
	up     bool
}

func (m *pointsModel) unit() Unit { return Relative }

func (m *pointsModel) maxChange() float64 {
	if m.up {
		return maxRise
	}
	return maxFall
}

func (m *pointsModel) draw(st shape, rng *rand.Rand, d *draws) {
	zb := d.normals(0, st.windows, m.ar, rng)
	zc := d.normals(1, st.windows, m.ar, rng)
	d.base.Values = resize(d.base.Values, st.windows)
	d.can.Values = resize(d.can.Values, st.windows)
	// zc becomes the canary's unchanged points.
	for i := range st.windows {
		d.base.Values[i] = m.point(zb[i])
		zc[i] = m.point(zc[i])
	}
}

// point is the baseline's point at normal deviate z: its empirical
// quantile, so that ties and discreteness are kept.
func (m *pointsModel) point(z float64) float64 {
	u := 0.5 * math.Erfc(-z/math.Sqrt2)
	i := int(u * float64(len(m.sorted)))
	return m.sorted[min(max(i, 0), len(m.sorted)-1)]
}

func (m *pointsModel) baseline(st shape, d *draws) judge.Sample {
	return judge.Sample{Values: d.base.Values}
}

func (m *pointsModel) canary(st shape, d *draws, delta float64) judge.Sample {
	x := d.streams[1]
	for i := range st.windows {
		switch m.test {
		case judge.MannWhitney:
			d.can.Values[i] = harmShift(x[i], delta*math.Abs(m.median), m.up)
		default:
			d.can.Values[i] = harm(x[i], delta, m.up, Relative)
		}
	}
	return judge.Sample{Values: d.can.Values}
}

func harmShift(x, by float64, up bool) float64 {
	if up {
		return x + by
	}
	return x - by
}

func (m *pointsModel) expect(st shape, c *Cell) {
	c.Points = st.windows
}

// fitPoints fits a pointsModel to a baseline's points.
func fitPoints(spec judge.Spec, values []float64) (*pointsModel, error) {
	m := &pointsModel{test: spec.Test, up: spec.Direction != judge.Decrease}
	var clean []float64
	for _, v := range values {
		if math.IsNaN(v) {
			if spec.NaN != judge.NaNZero {
				continue
			}
			v = 0
		}
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("the baseline holds %v", v)
		}
		clean = append(clean, v)
	}
	if len(clean) < 3 {
		return nil, fmt.Errorf("the baseline has %d points; at least 3 are needed to draw more like them", len(clean))
	}
	m.sorted = slices.Sorted(slices.Values(clean))
	n := len(m.sorted)
	m.median = (m.sorted[(n-1)/2] + m.sorted[n/2]) / 2
	if spec.Test == judge.MannWhitney && m.median == 0 {
		return nil, fmt.Errorf("the baseline's median is 0, so a relative shift of it means nothing")
	}
	if spec.Test == judge.Quantile && m.sorted[0] < 0 {
		return nil, fmt.Errorf("the baseline has negative points, which a relative change of its quantile cannot scale")
	}
	m.rho = rankAutocorrelation(clean)
	// A Gaussian copula of correlation r has rank correlation
	// (6/π)·asin(r/2) (Pearson 1907).
	m.ar = 2 * math.Sin(math.Pi*m.rho/6)
	return m, nil
}

// rankAutocorrelation is the lag-one autocorrelation of a series' ranks,
// corrected for its small-sample bias as the judge corrects it
// (judge.VarianceInflation) and clamped to [0, MaxAutocorrelation].
func rankAutocorrelation(v []float64) float64 {
	n := len(v)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, n)
	for s := 0; s < n; {
		e := s + 1
		for e < n && v[idx[e]] == v[idx[s]] {
			e++
		}
		avg := float64(s+e+1) / 2
		for k := s; k < e; k++ {
			ranks[idx[k]] = avg
		}
		s = e
	}
	mean := float64(n+1) / 2
	var num, den float64
	for i, r := range ranks {
		d := r - mean
		den += d * d
		if i > 0 {
			num += d * (ranks[i-1] - mean)
		}
	}
	if den == 0 {
		return 0
	}
	rho := num / den
	if rho > 2/math.Sqrt(float64(n)) {
		rho += (1 + 4*rho) / float64(n)
	}
	return math.Min(math.Max(rho, 0), judge.MaxAutocorrelation)
}

func zeroNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// exposureName names what a count signal's events are out of.
func exposureName(spec judge.Spec) string {
	switch {
	case spec.Exposure != "":
		return spec.Exposure
	case spec.Trials != "":
		return spec.Trials
	}
	return "exposure"
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// tailVariation is the Pearson dispersion of a histogram's counts above
// bound around its pooled share, window by window: 1 for independent
// requests, more when the tail moves from window to window.
func tailVariation(h *judge.Buckets, bound float64) float64 {
	k := len(h.Bounds)
	i, _ := slices.BinarySearch(h.Bounds, bound)
	var above, total []float64
	var sa, st float64
	for w := range h.Windows() {
		row := h.Counts[w*k : (w+1)*k]
		if slices.ContainsFunc(row, math.IsNaN) {
			continue
		}
		above = append(above, row[k-1]-row[i])
		total = append(total, row[k-1])
		sa += row[k-1] - row[i]
		st += row[k-1]
	}
	if sa == 0 || len(above) < 2 {
		return 1
	}
	s := sa / st
	var x2 float64
	for w := range above {
		if e := s * total[w]; e > 0 {
			x2 += (above[w] - e) * (above[w] - e) / e
		}
	}
	return x2 / float64(len(above)-1)
}
