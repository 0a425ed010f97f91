package quality

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/verdict-aca/verdict/judge"
)

// The traffic model of the traffic study (docs/quality.md, "Release
// signals with their traffic"): what a service's release signals look like
// minute by minute, both sides sharing the service's load, incidents and
// slowdowns.
const (
	// BaseErrorRatio is the share of requests that fail (5xx) outside
	// incidents, on average over the slow drift.
	BaseErrorRatio = 0.01
	// ErrorRetries is k in the error clusters: a failure comes with
	// Poisson(k) more (a client's retries, one bad connection).
	ErrorRetries = 1.0
	// CheckoutShare is the share of requests that start a checkout.
	CheckoutShare = 0.10
	// BaseCompletion is the share of checkouts that complete.
	BaseCompletion = 0.70
	// SessionRetries makes checkouts come in sessions of 1 + Poisson(0.3)
	// trials that complete, or fail, together.
	SessionRetries = 0.3
	// LatencyMedian (seconds) and LatencySigma describe each request's
	// latency: lognormal, median 100 ms, σ = 0.5 on the log scale.
	LatencyMedian = 0.1
	LatencySigma  = 0.5
	// TailFrom is the quantile above which a tail effect stretches the
	// canary's latencies (the slowest 2% of requests get slower).
	TailFrom = 0.98

	// Shared factors.
	trafficRampMax  = 0.4  // traffic slope: up to ±40% per hour (a diurnal ramp)
	trafficNoise    = 0.1  // per-minute lognormal noise of the traffic
	errorDriftSigma = 0.25 // slow drift of the error ratio (AR(1) on the log scale)
	latencyDrift    = 0.05 // slow drift of the latency (AR(1) on the log scale)
	driftPhi        = 0.8  // AR(1) coefficient of both drifts, per minute
	// Incidents hit every pod: one starts in a minute with probability
	// incidentRate (once in two hours on average), lasts 2 to 6 minutes,
	// multiplies the error ratio by 3 to 8 and slows every request by 25%.
	incidentRate        = 1.0 / 120
	incidentMinLen      = 2
	incidentLenRange    = 5
	incidentErrorsMin   = 3
	incidentErrorsRange = 5
	incidentLatency     = 1.25
	incidentBurnIn      = 10 // minutes simulated before the canary starts
)

// ClassicBounds are Prometheus' default histogram buckets (seconds).
func ClassicBounds() []float64 {
	return []float64{.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 10, math.Inf(1)}
}

// NativeBounds are the bounds of a native histogram of schema 2 (bucket
// boundaries at powers of 2^(1/4), 19% apart) from 7.8 ms to 8 s, where
// the traffic model's latencies fall (beyond them the buckets would be
// empty), and +Inf.
func NativeBounds() []float64 {
	var out []float64
	for i := -28; i <= 12; i++ {
		out = append(out, math.Exp2(float64(i)/4))
	}
	return append(out, math.Inf(1))
}

// The regressions of the traffic study on counts.
const (
	// ErrorRatio multiplies the canary's error ratio by Size.
	ErrorRatio EffectKind = "errorRatio"
	// Completion lowers the canary's checkout completion by Size (relative).
	Completion EffectKind = "completion"
)

// Median (every canary request slower by Size) and Tail (the slowest 2%
// stretched so that p99 rises by Size, p98 and below unchanged) apply to
// the latency histograms.

// trafficEnv is what both sides of one canary share, per minute: the
// service's expected traffic, the error ratio's multiplier (drift and
// incidents hitting every pod) and the latency's.
type trafficEnv struct {
	traffic, errMult, latMult []float64
	incident                  []bool
}

// drawEnv draws the shared factors of a canary of the given minutes on a
// service of perMinute requests per minute.
func drawEnv(r *rand.Rand, minutes int, perMinute float64) trafficEnv {
	e := trafficEnv{
		traffic:  make([]float64, minutes),
		errMult:  make([]float64, minutes),
		latMult:  make([]float64, minutes),
		incident: make([]bool, minutes),
	}
	slope := trafficRampMax * (2*r.Float64() - 1)
	mid := float64(minutes) / 2
	innov := math.Sqrt(1 - driftPhi*driftPhi)
	xe, xl := r.NormFloat64(), r.NormFloat64()
	// Incidents: a start each minute with probability incidentRate, from
	// incidentBurnIn minutes before the canary starts.
	var factor float64
	left := 0
	for m := -incidentBurnIn; m < minutes; m++ {
		if left == 0 && r.Float64() < incidentRate {
			left = incidentMinLen + r.IntN(incidentLenRange)
			factor = incidentErrorsMin + incidentErrorsRange*r.Float64()
		}
		if m < 0 {
			if left > 0 {
				left--
			}
			continue
		}
		xe = driftPhi*xe + innov*r.NormFloat64()
		xl = driftPhi*xl + innov*r.NormFloat64()
		e.traffic[m] = perMinute * (1 + slope*(float64(m)+0.5-mid)/60) *
			math.Exp(trafficNoise*r.NormFloat64()-trafficNoise*trafficNoise/2)
		e.errMult[m] = math.Exp(errorDriftSigma*xe - errorDriftSigma*errorDriftSigma/2)
		e.latMult[m] = math.Exp(latencyDrift * xl)
		if left > 0 {
			e.incident[m] = true
			e.errMult[m] *= factor
			e.latMult[m] *= incidentLatency
			left--
		}
	}
	return e
}

// side is one side's series of one canary, with what the oracle sees.
type side struct {
	requests, errors     []float64
	trials, completions  []float64
	classic, native      judge.Buckets
	errorClusters        float64 // independent failures (a client's first)
	expectedClusters     float64 // what "no change" would give this side
	sessions, sessionsOK float64
	observations         float64
	above50, above99     float64 // requests above the baseline's true p50, p99
}

// latencyShape is one side's latency distribution in one window: lognormal
// with median, stretched above stretchFrom by stretch (1: no stretch).
type latencyShape struct {
	median, stretchFrom, stretch float64
	logMedian                    float64
}

func newShape(median, stretchFrom, stretch float64) latencyShape {
	return latencyShape{median: median, stretchFrom: stretchFrom, stretch: stretch, logMedian: math.Log(median)}
}

// survival is P(latency > x), x > 0.
func (s latencyShape) survival(x float64) float64 {
	return s.survivalAt(edge{x: x, logx: math.Log(x)})
}

// survivalAt is P(latency > e.x), from e's logarithm when no stretch applies.
func (s latencyShape) survivalAt(e edge) float64 {
	lx := e.logx
	if s.stretch != 1 && e.x > s.stretchFrom {
		lx = math.Log(s.stretchFrom + (e.x-s.stretchFrom)/s.stretch)
	}
	z := (lx - s.logMedian) / LatencySigma
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// quantile is the latency's p-quantile.
func (s latencyShape) quantile(p float64) float64 {
	x := s.median * math.Exp(LatencySigma*normalQuantile(p))
	if s.stretch != 1 && x > s.stretchFrom {
		x = s.stretchFrom + (x-s.stretchFrom)*s.stretch
	}
	return x
}

// normalQuantile is the standard normal p-quantile.
func normalQuantile(p float64) float64 { return distuv.UnitNormal.Quantile(p) }

// tailStretch is the stretch above the p98 that moves the p99 by size.
func tailStretch(size float64) float64 {
	q98 := math.Exp(LatencySigma * normalQuantile(TailFrom))
	q99 := math.Exp(LatencySigma * normalQuantile(0.99))
	return ((1+size)*q99 - q98) / (q99 - q98)
}

// Edge tags: which series an edge of the merged bucket grid belongs to.
const (
	tagClassic = 1 << iota
	tagNative
	tagP50
	tagP99
)

// edge is one boundary of the merged grid a window's requests are counted in.
type edge struct {
	x, logx float64
	tag     uint8
}

// generator draws canaries; it holds the merged bucket grid and buffers,
// and is not safe for concurrent use.
type generator struct {
	classic, native []float64
	static          []edge // classic and native finite bounds, merged
	window          []edge
	counts          []float64
}

func newGenerator() *generator {
	g := &generator{classic: ClassicBounds(), native: NativeBounds()}
	for _, b := range g.classic[:len(g.classic)-1] {
		g.static = append(g.static, edge{b, math.Log(b), tagClassic})
	}
	for _, b := range g.native[:len(g.native)-1] {
		g.static = append(g.static, edge{b, math.Log(b), tagNative})
	}
	g.static = mergeEdges(g.static)
	return g
}

// mergeEdges sorts edges and merges equal ones, keeping every tag.
func mergeEdges(es []edge) []edge {
	slices.SortFunc(es, func(a, b edge) int { return cmp.Compare(a.x, b.x) })
	out := es[:0]
	for _, e := range es {
		if n := len(out); n > 0 && out[n-1].x == e.x {
			out[n-1].tag |= e.tag
			continue
		}
		out = append(out, e)
	}
	return out
}

// insertEdge inserts e into the sorted edges es, merging it with an equal edge.
func insertEdge(es []edge, e edge) []edge {
	i, found := slices.BinarySearchFunc(es, e.x, func(a edge, x float64) int { return cmp.Compare(a.x, x) })
	if found {
		es[i].tag |= e.tag
		return es
	}
	return slices.Insert(es, i, e)
}

// canaryPair is one canary: the baseline's and the canary's series.
type canaryPair struct {
	baseline, canary side
}

// draw draws one canary of the scenario: the shared environment, the
// traffic split, then each side's errors, checkouts and latencies, the
// effect applied to the canary.
func (g *generator) draw(r *rand.Rand, s TrafficScenario) canaryPair {
	return g.drawWindows(r, s, 1)
}

// drawWindows is draw with perMinute windows a minute (30-second windows
// for 2): each window holds its share of the minute's traffic and shares
// the minute's drift and incidents. With one window a minute it draws the
// very same canary as draw.
func (g *generator) drawWindows(r *rand.Rand, s TrafficScenario, perMinute int) canaryPair {
	env := drawEnv(r, s.Minutes, s.PerMinute)
	var p canaryPair
	p.baseline = g.newSide(s.Minutes * perMinute)
	p.canary = g.newSide(s.Minutes * perMinute)
	errFactor, completion, medianFactor, stretch := 1.0, BaseCompletion, 1.0, 1.0
	switch s.Effect.Kind {
	case ErrorRatio:
		errFactor = s.Effect.Size
	case Completion:
		completion *= 1 - s.Effect.Size
	case Median:
		medianFactor += s.Effect.Size
	case Tail:
		stretch = tailStretch(s.Effect.Size)
	}
	z98 := math.Exp(LatencySigma * normalQuantile(TailFrom))
	for m := range s.Minutes {
		for k := range perMinute {
			w := m*perMinute + k
			total := poisson(r, env.traffic[m]/float64(perMinute))
			nc := binomial(r, total, s.Split)
			base := newShape(LatencyMedian*env.latMult[m], 0, 1)
			t50, t99 := base.quantile(0.5), base.quantile(0.99)
			can := newShape(base.median*medianFactor, base.median*z98, stretch)
			g.drawWindow(&p.baseline, r, w, total-nc, env.errMult[m], 1, BaseCompletion, base, t50, t99)
			g.drawWindow(&p.canary, r, w, nc, env.errMult[m], errFactor, completion, can, t50, t99)
		}
	}
	return p
}

func (g *generator) newSide(windows int) side {
	return side{
		requests:    make([]float64, windows),
		errors:      make([]float64, windows),
		trials:      make([]float64, windows),
		completions: make([]float64, windows),
		classic:     judge.Buckets{Bounds: g.classic, Counts: make([]float64, 0, windows*len(g.classic))},
		native:      judge.Buckets{Bounds: g.native, Counts: make([]float64, 0, windows*len(g.native))},
	}
}

// drawWindow draws one side's window m: n requests, their errors (clusters of
// 1 + Poisson(ErrorRetries) at errFactor times the shared error ratio),
// checkouts (sessions of 1 + Poisson(SessionRetries) trials completing
// together with probability completion) and latencies (counted in both
// histograms and against the baseline's true p50 and p99, t50 and t99).
func (g *generator) drawWindow(sd *side, r *rand.Rand, m int, n, errMult, errFactor, completion float64, lat latencyShape, t50, t99 float64) {
	sd.requests[m] = n
	clusterRate := BaseErrorRatio * errMult / (1 + ErrorRetries)
	clusters := poisson(r, n*clusterRate*errFactor)
	sd.errorClusters += clusters
	sd.expectedClusters += n * clusterRate
	sd.errors[m] = math.Min(n, clusters+poisson(r, ErrorRetries*clusters))

	sessions := poisson(r, n*CheckoutShare/(1+SessionRetries))
	ok := binomial(r, sessions, completion)
	done := ok + poisson(r, SessionRetries*ok)
	sd.completions[m] = done
	sd.trials[m] = done + (sessions - ok) + poisson(r, SessionRetries*(sessions-ok))
	sd.sessions += sessions
	sd.sessionsOK += ok

	// The window's grid: the buckets' bounds and the two oracle thresholds.
	g.window = append(g.window[:0], g.static...)
	g.window = insertEdge(g.window, edge{t50, math.Log(t50), tagP50})
	g.window = insertEdge(g.window, edge{t99, math.Log(t99), tagP99})
	g.counts = g.counts[:0]
	remaining := n
	prev := 1.0 // survival at the previous edge
	for _, e := range g.window {
		if remaining == 0 {
			g.counts = append(g.counts, 0)
			continue
		}
		s := lat.survivalAt(e)
		x := 0.0
		if prev > 0 {
			x = binomial(r, remaining, math.Min(1, math.Max(0, (prev-s)/prev)))
		}
		g.counts = append(g.counts, x)
		remaining -= x
		prev = s
	}
	cum := 0.0
	for i, e := range g.window {
		cum += g.counts[i]
		if e.tag&tagClassic != 0 {
			sd.classic.Counts = append(sd.classic.Counts, cum)
		}
		if e.tag&tagNative != 0 {
			sd.native.Counts = append(sd.native.Counts, cum)
		}
		if e.tag&tagP50 != 0 {
			sd.above50 += n - cum
		}
		if e.tag&tagP99 != 0 {
			sd.above99 += n - cum
		}
	}
	sd.classic.Counts = append(sd.classic.Counts, n)
	sd.native.Counts = append(sd.native.Counts, n)
	sd.observations += n
}

// poisson draws a Poisson count with mean lambda (exact: gonum's PTRS
// above 10, the direct method below).
func poisson(r *rand.Rand, lambda float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	return distuv.Poisson{Lambda: lambda, Src: r}.Rand()
}

// binomial draws a Binomial(n, p) count exactly: by inversion when the
// smaller of n·p and n·(1−p) is below 10 (cost proportional to it), else by
// Hörmann's transformed rejection with squeeze (BTRS; W. Hörmann, "The
// generation of binomial random variates", Journal of Statistical
// Computation and Simulation 46, 1993), whose squeeze accepts most draws
// with two uniforms and no logarithm.
func binomial(r *rand.Rand, n, p float64) float64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(r, n, 1-p)
	case n*p >= 10:
		return binomialBTRS(r, n, p)
	}
	// Inversion: walk the probabilities up from 0.
	u := r.Float64()
	f := math.Exp(n * math.Log1p(-p))
	odds := p / (1 - p)
	k := 0.0
	for u > f && k < n {
		u -= f
		f *= (n - k) / (k + 1) * odds
		k++
		if f == 0 {
			break
		}
	}
	return k
}

// binomialBTRS is Hörmann's BTRS for p ≤ 0.5 and n·p ≥ 10.
func binomialBTRS(r *rand.Rand, n, p float64) float64 {
	q := 1 - p
	spq := math.Sqrt(n * p * q)
	b := 1.15 + 2.53*spq
	a := -0.0873 + 0.0248*b + 0.01*p
	c := n*p + 0.5
	vr := 0.92 - 4.2/b
	odds := p / q
	alpha := (2.83 + 5.1/b) * spq
	m := math.Floor((n + 1) * p)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + c)
		if k < 0 || k > n {
			continue
		}
		if us >= 0.07 && v <= vr {
			return k
		}
		v = math.Log(v * alpha / (a/(us*us) + b))
		bound := (m+0.5)*math.Log((m+1)/(odds*(n-m+1))) +
			(n+1)*math.Log((n-m+1)/(n-k+1)) +
			(k+0.5)*math.Log(odds*(n-k+1)/(k+1)) +
			stirlingTail(m) + stirlingTail(n-m) - stirlingTail(k) - stirlingTail(n-k)
		if v <= bound {
			return k
		}
	}
}

// stirlingTail is log(k!) − [(k + ½)·log(k + 1) − (k + 1) + ½·log(2π)],
// the error of Stirling's approximation of log((k+1)!) / (k+1), tabulated
// below 10 and from its series above.
func stirlingTail(k float64) float64 {
	table := [10]float64{
		0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
		0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
		0.00925546218271273, 0.00833056343336287,
	}
	if k <= 9 {
		return table[int(k)]
	}
	kp1sq := (k + 1) * (k + 1)
	return (1.0/12 - (1.0/360-1.0/1260/kp1sq)/kp1sq) / (k + 1)
}
