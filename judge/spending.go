package judge

import (
	"math"
	"slices"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// Lan–DeMets alpha spending over the looks of a known horizon (Horizon).
//
// Under "no harm beyond the allowance" a signal's S = z·√u, u its
// information as a share of the horizon's expected information, behaves
// as a Brownian motion in u. A look at elapsed share τ of the horizon may
// have spent α(τ) of the level in all, α(τ) = 2 − 2Φ(z_{α/2}/√τ) (the
// O'Brien–Fleming-type function of Lan & DeMets 1983, "Discrete sequential
// boundaries for clinical trials", Biometrika 70), so its boundary c_k
// solves P(S₁ < b₁, …, S_{k−1} < b_{k−1}, S_k ≥ c_k√u_k) = α(τ_k) −
// α(τ_{k−1}), the recursion of Armitage, McPherson & Rowe (1969) that
// Jennison & Turnbull (2000, "Group Sequential Methods with Applications
// to Clinical Trials", ch. 7 and §19.2) give for unplanned looks. Spending
// runs on elapsed time, which the looks know before any data; the
// correlation of successive looks comes from their information, as Lan &
// DeMets (1989, "Group sequential procedures: calendar versus information
// time", Stat. Med. 8) ask, so neither irregular looks nor traffic that
// varies over the hour breaks the level, as long as when a look happens
// does not depend on the data.
//
// The sub-density of S among the paths not yet stopped is kept on a fixed
// grid, piecewise linear between its points and cut at the last bound;
// each look convolves it exactly with the Gaussian increment (closed forms
// in Φ and φ: exact for a piecewise-linear density however small the
// increment), and the crossing probability for a candidate bound is
// integrated in closed form too, so the bound is found by Newton's method
// on an exact function of the stored density.

const (
	// spendingGridHalf bounds the grid of S: [−10, 10] holds an
	// information share u up to spendingMaxShare at five standard
	// deviations.
	spendingGridHalf = 10.0
	// spendingGridStep is the grid's spacing.
	spendingGridStep = 0.025
	// spendingMaxShare is the information share beyond which the looks
	// have outrun the horizon's expected information: the boundary falls
	// back to the mixture with the level left.
	spendingMaxShare = 4.0
	// spendingMinSpend is the smallest increment of spent level a look
	// computes a bound for: less is carried to the next look (a bound at
	// infinity), since the density's rounding cannot resolve it.
	spendingMinSpend = 1e-11
)

// spendingGridSize is the number of grid points.
var spendingGridSize = int(math.Round(2*spendingGridHalf/spendingGridStep)) + 1

// spentOBF is the O'Brien–Fleming-type spending function at level alpha:
// the share of alpha spent by elapsed share tau of the horizon.
func spentOBF(alpha, tau float64) float64 {
	if tau <= 0 {
		return 0
	}
	if tau >= 1 {
		return alpha
	}
	return 2 * numeric.Pnorm(upperQuantile(alpha/2)/math.Sqrt(tau), false)
}

// gridPoint is the i-th point of the grid.
func gridPoint(i int) float64 { return -spendingGridHalf + float64(float64(i)*spendingGridStep) }

// spendingPath is one level's boundary over the looks of one signal: the
// sub-density of S among paths that have not crossed, cut at the last
// bound.
type spendingPath struct {
	total float64 // the level of the whole run
	alpha float64 // the part of it spent over the horizon
	// closed says the looks went past the horizon: the path is judged by
	// the mixture with total − spent.
	closed bool
	spent  float64 // the level spent so far
	// dens holds the sub-density at the grid points up to cut, the
	// last point below the bound b; top is its value at b. nil before the
	// first look.
	dens      []float64
	cut       int
	b, top    float64
	lastU     float64
	lastTau   float64
	lastBound float64 // the z bound of the last look (+Inf: none)
}

// pdf is the standard normal density.
func pdf(x float64) float64 { return numeric.Exp(-0.5*float64(x*x)) / math.Sqrt(2*math.Pi) }

// cdf is the standard normal distribution function.
func cdf(x float64) float64 { return numeric.Pnorm(x, true) }

// piece is one linear piece of the density: from (a, fa) to (c, fc).
type piece struct{ a, fa, c, fc float64 }

// pieces calls f for every linear piece of the stored density that
// reaches [lo, hi].
func (p *spendingPath) pieces(lo, hi float64, f func(piece)) {
	first := max(0, int(math.Floor((lo+spendingGridHalf)/spendingGridStep)))
	for i := first; i < p.cut; i++ {
		a := gridPoint(i)
		if a > hi {
			return
		}
		f(piece{a, p.dens[i], gridPoint(i + 1), p.dens[i+1]})
	}
	if a := gridPoint(p.cut); a <= hi && p.b > a {
		f(piece{a, p.dens[p.cut], p.b, p.top})
	}
}

// convolved is the density at x of S after a Gaussian increment of
// standard deviation sigma: ∫ f(s) φ((x − s)/σ)/σ ds over the stored
// density, exact for its linear pieces.
func (p *spendingPath) convolved(x, sigma float64) float64 {
	sum := 0.0
	reach := float64(9*sigma) + spendingGridStep
	p.pieces(x-reach, x+reach, func(q piece) {
		slope := (q.fc - q.fa) / (q.c - q.a)
		wa, wc := (q.a-x)/sigma, (q.c-x)/sigma
		level := q.fa + float64(slope*(x-q.a))
		sum += float64(level*(cdf(wc)-cdf(wa))) + float64(float64(slope*sigma)*(pdf(wa)-pdf(wc)))
	})
	return sum
}

// tail is the probability of S ≥ bound after a Gaussian increment of
// standard deviation sigma among the paths not yet stopped:
// ∫ f(s) Φ((s − bound)/σ) ds, exact for the density's linear pieces.
func (p *spendingPath) tail(bound, sigma float64) float64 {
	// With w = (s − bound)/σ: ∫Φ = wΦ + φ and ∫wΦ = ((w² − 1)Φ + wφ)/2,
	// taken at each end of a piece once.
	prims := func(w float64) (i0, i1 float64) {
		c, d := cdf(w), pdf(w)
		return float64(w*c) + d, (float64(float64(float64(w*w)-1)*c) + float64(w*d)) / 2
	}
	sum := 0.0
	havePrev, prevX, prev0, prev1 := false, 0.0, 0.0, 0.0
	p.pieces(bound-float64(9*sigma)-spendingGridStep, math.Inf(1), func(q piece) {
		slope := (q.fc - q.fa) / (q.c - q.a)
		wa, wc := (q.a-bound)/sigma, (q.c-bound)/sigma
		if wa > 9 {
			// The whole piece is beyond the bound.
			sum += float64((q.fa + q.fc) * (q.c - q.a) / 2)
			havePrev = false
			return
		}
		a0, a1 := prev0, prev1
		if !havePrev || prevX != q.a {
			a0, a1 = prims(wa)
		}
		c0, c1 := prims(wc)
		havePrev, prevX, prev0, prev1 = true, q.c, c0, c1
		level := q.fa + float64(slope*(bound-q.a))
		sum += float64(sigma * (float64(level*(c0-a0)) + float64(float64(slope*sigma)*(c1-a1))))
	})
	return sum
}

// look advances the path to a look at elapsed share tau with information
// share u and returns its bound on the z scale (+Inf when the look may
// spend nothing). Looks must come with tau and u not decreasing; the
// caller (Horizon) sees to it.
func (p *spendingPath) look(tau, u float64) float64 {
	target := spentOBF(p.alpha, tau) - p.spent
	if p.dens == nil {
		// The first look: S is N(0, u).
		c := math.Inf(1)
		if target >= spendingMinSpend {
			c = upperQuantile(target)
			p.spent += target
		}
		sd := math.Sqrt(u)
		p.setDensity(c*sd, func(x float64) float64 { return pdf(x/sd) / sd })
		p.lastU, p.lastTau, p.lastBound = u, tau, c
		return c
	}
	sigma := math.Sqrt(max(u-p.lastU, 0))
	sigma = max(sigma, 1e-6)
	c := math.Inf(1)
	bound := math.Inf(1)
	if target >= spendingMinSpend {
		bound = p.solve(target, sigma)
		p.spent += p.tail(bound, sigma)
		c = bound / math.Sqrt(u)
	}
	p.convolve(sigma, bound)
	p.lastU, p.lastTau, p.lastBound = u, tau, c
	return c
}

// convolve replaces the stored density by its convolution with a Gaussian
// increment of standard deviation sigma, cut at bound. The linear pieces
// between grid points give a Toeplitz kernel (their integrals against the
// Gaussian depend only on how many steps apart the points are), computed
// once; the last, partial piece is integrated on its own.
func (p *spendingPath) convolve(sigma, bound float64) {
	h := spendingGridStep
	band := int(math.Ceil(8*sigma/h)) + 1
	// The piece [s_i, s_{i+1}] weighs f_i by left(i − j) and f_{i+1} by
	// right(i − j) in the density at s_j; kernel[d+band] = left(d) +
	// right(d − 1) is the weight of f_i, d = i − j, in the two pieces it
	// bounds.
	left := func(w0, w1 float64, d int) (l, r float64) {
		a := cdf(w1) - cdf(w0)
		b := float64(float64(sigma/h) * (pdf(w0) - pdf(w1)))
		return float64(a*float64(1+d)) - b, b - float64(a*float64(d))
	}
	kernel := make([]float64, 2*band+1)
	_, prevRight := left(float64(-band-1)*h/sigma, float64(-band)*h/sigma, -band-1)
	for d := -band; d <= band; d++ {
		l, r := left(float64(d)*h/sigma, float64(d+1)*h/sigma, d)
		kernel[d+band] = l + prevRight
		prevRight = r
	}
	// rightOf is right(d) for the last full piece's upper point.
	rightOf := func(d int) float64 {
		if d < -band-1 || d > band {
			return 0
		}
		_, r := left(float64(d)*h/sigma, float64(d+1)*h/sigma, d)
		return r
	}
	old := append([]float64(nil), p.dens[:p.cut+1]...)
	oldCut, oldB, oldTop := p.cut, p.b, p.top
	partial := func(x float64) float64 {
		a := gridPoint(oldCut)
		if oldB <= a {
			return 0
		}
		slope := (oldTop - old[oldCut]) / (oldB - a)
		wa, wc := (a-x)/sigma, (oldB-x)/sigma
		if wa > 9 || wc < -9 {
			return 0
		}
		level := old[oldCut] + float64(slope*(x-a))
		return float64(level*(cdf(wc)-cdf(wa))) + float64(float64(slope*sigma)*(pdf(wa)-pdf(wc)))
	}
	at := func(j int, x float64) float64 {
		sum := partial(x)
		lo, hi := max(0, j-band), min(oldCut-1, j+band)
		for i := lo; i <= hi; i++ {
			sum += float64(old[i] * kernel[i-j+band])
		}
		if oldCut > 0 && oldCut-1-j >= -band-1 && oldCut-1-j <= band {
			// The upper point of the last full piece bounds one piece only.
			sum += float64(old[oldCut] * rightOf(oldCut-1-j))
		}
		return max(sum, 0)
	}
	n := spendingGridSize
	cut := n - 1
	if bound < gridPoint(n-1) {
		cut = int(math.Floor((bound + spendingGridHalf) / h))
	}
	cut = max(0, min(cut, n-1))
	// The density is negligible (below 1e-20) under the old support's
	// lowest point by more than the band.
	first := 0
	for first < oldCut && old[first] < 1e-20 {
		first++
	}
	first = max(0, first-band)
	for j := range p.dens {
		p.dens[j] = 0
		if j >= first && j <= cut {
			p.dens[j] = at(j, gridPoint(j))
		}
	}
	p.cut = cut
	p.b = min(bound, gridPoint(n-1))
	p.top = p.dens[cut]
	if p.b > gridPoint(cut) {
		// The density at the bound itself, from every piece.
		prev := spendingPath{dens: old, cut: oldCut, b: oldB, top: oldTop}
		p.top = prev.convolved(p.b, sigma)
	}
}

// setDensity stores density f on the grid, cut at bound.
func (p *spendingPath) setDensity(bound float64, f func(float64) float64) {
	n := spendingGridSize
	if p.dens == nil {
		p.dens = make([]float64, n)
	}
	cut := n - 1
	if bound < gridPoint(n-1) {
		cut = int(math.Floor((bound + spendingGridHalf) / spendingGridStep))
	}
	cut = max(0, min(cut, n-1))
	for i := range p.dens {
		p.dens[i] = 0
		if i <= cut {
			p.dens[i] = f(gridPoint(i))
		}
	}
	p.cut = cut
	p.b = min(bound, gridPoint(n-1))
	p.top = p.dens[cut]
	if p.b > gridPoint(cut) {
		p.top = f(p.b)
	}
}

// solve finds the bound on S whose crossing probability at this look is
// target: Newton's method on tail, safeguarded by bisection.
func (p *spendingPath) solve(target, sigma float64) float64 {
	lo, hi := -spendingGridHalf, p.b+float64(10*sigma)
	if p.tail(hi, sigma) >= target {
		return hi
	}
	// Start from the last look's bound on the z scale, carried to this
	// look's information (an O'Brien–Fleming bound is about flat in S).
	x := min(p.b, p.lastBound*math.Sqrt(p.lastU+float64(sigma*sigma)))
	if math.IsInf(x, 0) || math.IsNaN(x) {
		x = p.b
	}
	for range 100 {
		t := p.tail(x, sigma)
		if math.Abs(t-target) <= 1e-9*target {
			return x
		}
		if t > target {
			lo = x
		} else {
			hi = x
		}
		next := x
		if d := p.convolved(x, sigma); d > 0 {
			next = x + (t-target)/d
		}
		if !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if hi-lo < 1e-12 {
			return hi
		}
		x = next
	}
	return x
}

// Horizon is what an anytime decision (Anytime) needs when the run's
// horizon is known: a multi-interval analysis (interval × count), an Argo
// AnalysisRun (count × interval), a config's sequential horizon. Instead
// of the normal-mixture boundary, which holds for ever and so asks more at
// every look, the decision spends its level over the horizon by
// Lan–DeMets' O'Brien–Fleming-type function of the elapsed share, with a
// boundary computed at each look from the looks before (see the comment at
// the top of spending.go): a z of about 2.54 at the end of an hour of 120
// looks at the 1% level of a critical failure, against 2.33 for one test
// and 3.25 for the mixture.
//
// HorizonReserve of each level is kept for looks past the horizon (or
// whose information outruns it fourfold, or beyond MaxHorizonLooks looks):
// they are judged by the mixture boundary with the level left, so the run
// stays valid however long it goes on (the two parts add up to the level by
// the union bound).
//
// A Horizon belongs to one signal of one run and is not safe for
// concurrent use: each judgement with it records its look in Looks (a look
// at the elapsed share of the last one is that look judged again, and
// replaces it). The caller keeps Looks with its evidence; they are all a
// restart needs to rebuild the boundary.
type Horizon struct {
	// Elapsed is the share of the horizon's time this look is at, from the
	// clock, never from the data (1 at the horizon, more past it).
	Elapsed float64
	// Signals and CriticalSignals are how many signals of the canary take
	// part in AdjustFamily's ordinary and critical families (0 counts as
	// 1): the boundary is also computed at the level each family's Holm
	// step asks of its first signal, so that DecisionPValue can reach it.
	Signals, CriticalSignals int
	// FailsAlone says that an ordinary failure of this signal fails the
	// canary on its own (scoring.FailsAlone: a canary of one signal, or a
	// group whose loss alone brings the score below the marginal
	// threshold). Its failure is then decided by the critical level's
	// boundary, as a critical failure's is, since it costs the same;
	// evidence between the two boundaries passes (GateFailsAlone), and
	// what the data rule out (RulesOut, the early pass) stays at the
	// ordinary level.
	// Spending the whole ordinary level (5%) against "no change" over the
	// horizon failed 2.9–3.2% of unchanged one-signal latency canaries
	// within the hour: the allowance, which shelters a single test at the end
	// (there an unchanged canary's estimate rarely exceeds it), holds back
	// few of the crossings before the end, where the estimate is noisier
	// (docs/quality.md, the sequential study).
	FailsAlone bool
	// Looks are the signal's looks so far under this horizon.
	Looks []HorizonLook

	// paths is the boundary at each level over Looks, rebuilt from them
	// when absent (after a restart) or when the levels change.
	paths []spendingPath
}

// GateFailsAlone is the gate of a signal whose failure alone fails the
// canary (Horizon.FailsAlone) with evidence beyond the ordinary boundary of
// a known horizon but not the critical one: pass.
const GateFailsAlone Gate = "failsAlone"

// HorizonLook is one look of a signal under a known horizon: its elapsed
// share of the horizon and its information as a share of the horizon's
// expected information (TestResult.Information / Reference).
type HorizonLook struct {
	Elapsed     float64 `json:"elapsed"`
	Information float64 `json:"information"`
}

// HorizonReserve is the share of the level a known horizon keeps for looks
// past it.
const HorizonReserve = 0.1

// MaxHorizonLooks bounds the looks a signal's boundary is computed over
// (a look every 10 s for almost three hours); later looks use the mixture
// boundary with the level left.
const MaxHorizonLooks = 1000

// horizonBound is the boundary of one level at one look.
type horizonBound struct {
	level float64 // the level the boundary holds over the whole run
	z     float64 // the bound on the one-sided z (+Inf: none this look)
	past  bool    // past the horizon: the mixture with the level left
}

// levels are the levels a signal's boundary is computed at, largest first.
func (h *Horizon) levels(level float64, critical bool) []float64 {
	out := []float64{level}
	if m := h.Signals; m > 1 {
		out = append(out, level/float64(m))
	}
	if critical {
		c := CriticalLevelFactor * level
		out = append(out, c)
		if m := h.CriticalSignals; m > 1 {
			out = append(out, c/float64(m))
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return slices.Compact(out)
}

// closed says whether a look is judged by the mixture: past the horizon,
// its information far beyond what was expected, or too many looks.
func closed(l HorizonLook, n int) bool {
	return l.Elapsed > 1+1e-9 || l.Information > spendingMaxShare || n >= MaxHorizonLooks
}

// advance takes every path through look l, the n-th (from 0).
func advance(paths []spendingPath, l HorizonLook, n int) {
	for i := range paths {
		p := &paths[i]
		if p.closed || closed(l, n) {
			p.closed = true
			continue
		}
		p.look(l.Elapsed, l.Information)
	}
}

// look records this look (elapsed share h.Elapsed, information v of a
// horizon expected to hold ref) and returns its bound at each level. A
// look at the elapsed share of the last one is that look judged again
// (after a restart, or with data that came late): it replaces it.
func (h *Horizon) look(level float64, critical bool, v, ref float64) []horizonBound {
	levels := h.levels(level, critical)
	cur := HorizonLook{Elapsed: h.Elapsed, Information: v / ref}
	n := len(h.Looks)
	again := n > 0 && cur.Elapsed <= h.Looks[n-1].Elapsed
	if again && cur.Information == h.Looks[n-1].Information && h.paths != nil {
		cur = h.Looks[n-1] // the same look: its bounds stand
	} else if again {
		cur.Elapsed = h.Looks[n-1].Elapsed
		h.Looks, h.paths, n = h.Looks[:n-1], nil, n-1
	}
	if n > 0 {
		cur.Information = max(cur.Information, h.Looks[n-1].Information)
	}
	if len(h.paths) != len(levels) || h.paths[0].total != levels[0] || h.paths[len(levels)-1].total != levels[len(levels)-1] {
		h.paths = make([]spendingPath, len(levels))
		for i, l := range levels {
			h.paths[i] = spendingPath{total: l, alpha: (1 - HorizonReserve) * l}
		}
		for k, l := range h.Looks {
			advance(h.paths, l, k)
		}
	}
	if n == len(h.Looks) && (n == 0 || cur != h.Looks[n-1]) {
		advance(h.paths, cur, n)
		h.Looks = append(h.Looks, cur)
	}
	out := make([]horizonBound, len(levels))
	for i, p := range h.paths {
		out[i] = horizonBound{level: p.total, z: p.lastBound}
		if p.closed {
			left := p.total - p.spent
			eff := anytimeLevel(left, v, mixtureConstant(left)/ref)
			out[i].z, out[i].past = upperQuantile(eff), true
		}
	}
	return out
}
