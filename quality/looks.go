package quality

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/scoring"
)

// The looks study (docs/quality.md, "Looking again and again"): the same
// canaries judged at every look of an hour, looked at every 30 seconds,
// every minute or at irregular times, in four ways: the fixed-horizon test
// at every look (what every open-source judge does: sequential off), the
// level spent over planned looks (sequential: planned), the anytime-valid
// decision (sequential: anytime) and a single fixed-horizon test at the
// end. Each look judges all the data so far, as analysis.RunIntervals
// does, and a run stops at its first fail (and, anytime, on a pass once
// every signal is shown within its allowance).
//
// The study judges each look as analysis.Run does, from the config's
// signal specs with the same judge options, and scores it with the
// config's scoring spec: looks_test.go checks, on the same data served by
// a fake source, that analysis.RunIntervals stops at the same look with the
// same verdict in every mode.

// LooksHorizon is how long every canary of the study runs.
const LooksHorizon = time.Hour

// Cadence is how often a canary is looked at.
type Cadence struct {
	Name string
	// Every spaces regular looks; MeanGap, for irregular looks, is the
	// mean of their exponential gaps (the last look is at the horizon).
	Every, MeanGap time.Duration
}

// LooksCadences are the study's cadences: every 30 s, every minute, and
// irregular looks with exponential gaps of 2 minutes on average (people
// and schedules re-running a paused analysis).
func LooksCadences() []Cadence {
	return []Cadence{
		{Name: "every 30 s", Every: 30 * time.Second},
		{Name: "every minute", Every: time.Minute},
		{Name: "irregular (mean gap 2 min)", MeanGap: 2 * time.Minute},
	}
}

// times are the looks of one run over the horizon, the last at the horizon.
func (c Cadence) times(r *rand.Rand) []time.Duration {
	var out []time.Duration
	if c.Every > 0 {
		for t := c.Every; t <= LooksHorizon; t += c.Every {
			out = append(out, t)
		}
		return out
	}
	for t := time.Duration(r.ExpFloat64() * float64(c.MeanGap)); t < LooksHorizon; t += time.Duration(r.ExpFloat64() * float64(c.MeanGap)) {
		if t > 0 {
			out = append(out, t)
		}
	}
	return append(out, LooksHorizon)
}

// The modes of the looks study.
const (
	LooksFixed        = "fixed-horizon at every look"   // sequential off
	LooksPlanned      = "planned looks"                 // sequential: planned, over the run's looks
	LooksAnytime      = "anytime"                       // sequential: anytime, no horizon known
	LooksKnownHorizon = "anytime, horizon known"        // sequential: anytime over the run's known hour
	LooksOnce         = "fixed-horizon once at the end" // one judgement of the whole hour
)

// LooksModes lists the modes in report order.
func LooksModes() []string {
	return []string{LooksFixed, LooksPlanned, LooksAnytime, LooksKnownHorizon, LooksOnce}
}

// looksSample is one side of one signal over the whole horizon.
type looksSample struct {
	values, exposure []float64
	hist             *judge.Buckets
}

// upTo is the sample's first w windows.
func (s looksSample) upTo(w int) judge.Sample {
	var out judge.Sample
	if s.values != nil {
		out.Values = s.values[:w]
	}
	if s.exposure != nil {
		out.Exposure = s.exposure[:w]
	}
	if s.hist != nil {
		out.Histogram = &judge.Buckets{Bounds: s.hist.Bounds, Counts: s.hist.Counts[:w*len(s.hist.Bounds)]}
	}
	return out
}

// looksData is one canary's data over the horizon: both sides per signal,
// in the config's order.
type looksData struct{ baseline, canary []looksSample }

// looksWorker is what one goroutine of the study keeps.
type looksWorker struct {
	gen *generator
	ws  judge.Workspace
}

// LooksCanary is one canary of the study: its config (judged as written),
// the resolution of its data and how to draw them.
type LooksCanary struct {
	Name, Description string
	// ConfigYAML is the canary's config; Config the parsed one.
	ConfigYAML string
	Config     *analysis.Config
	// Step is the time each window (point) covers.
	Step time.Duration
	// Effects are the regressions the study applies.
	Effects []Effect
	draw    func(w *looksWorker, r *rand.Rand, e Effect) looksData
}

// windows is the number of windows over the horizon.
func (c *LooksCanary) windows() int { return int(LooksHorizon / c.Step) }

// Traffic of the release canary.
const (
	releasePerMinute = 10000
	releaseSplit     = 0.1
)

// releaseConfigYAML is the traffic study's release canary as a live config.
const releaseConfigYAML = `name: release
signals:
  - name: error_ratio
    group: errors
    critical: true
    test: rate
    direction: increase
    query: 'sum(increase(http_requests_total{track="{{.track}}",code=~"5.."}[{{.step}}]))'
    exposureQuery: 'sum(increase(http_requests_total{track="{{.track}}"}[{{.step}}]))'
  - name: checkout_completion
    group: checkout
    test: proportion
    direction: decrease
    query: 'sum(increase(checkouts_completed_total{track="{{.track}}"}[{{.step}}]))'
    trialsQuery: 'sum(increase(checkouts_started_total{track="{{.track}}"}[{{.step}}]))'
  - name: latency_p50
    group: latency_p50
    test: histogram
    quantile: 0.5
    direction: increase
    query: 'sum by (le) (increase(http_request_duration_seconds_bucket{track="{{.track}}"}[{{.step}}]))'
  - name: latency_p99
    group: latency_p99
    test: histogram
    quantile: 0.99
    direction: increase
    query: 'sum by (le) (increase(http_request_duration_seconds_bucket{track="{{.track}}"}[{{.step}}]))'
`

// ReleaseCanary is the traffic study's release canary (error ratio with
// its requests, critical; checkout completion; latency p50 and p99 from
// Prometheus' default buckets; each its own group) on a service of 10,000
// requests a minute at 90/10, in 30-second windows; its regressions raise
// the error ratio by 10, 25 and 50%.
func ReleaseCanary() (*LooksCanary, error) {
	cfg, err := analysis.ParseConfig("release.yaml", []byte(releaseConfigYAML))
	if err != nil {
		return nil, fmt.Errorf("the release canary's config: %w", err)
	}
	return &LooksCanary{
		Name: "release",
		Description: fmt.Sprintf("the traffic study's release canary (error_ratio critical, checkout_completion, latency_p50 and latency_p99 from Prometheus' default buckets, each its own group, no allowances) on a service of %s at %s, 30-second windows",
			perMinuteLabel(releasePerMinute), TrafficScenario{Split: releaseSplit}.SplitLabel()),
		ConfigYAML: releaseConfigYAML,
		Config:     cfg,
		Step:       30 * time.Second,
		Effects:    []Effect{{Kind: ErrorRatio, Size: 1.10}, {Kind: ErrorRatio, Size: 1.25}, {Kind: ErrorRatio, Size: 1.50}},
		draw: func(w *looksWorker, r *rand.Rand, e Effect) looksData {
			p := w.gen.drawWindows(r, TrafficScenario{PerMinute: releasePerMinute, Split: releaseSplit, Minutes: int(LooksHorizon / time.Minute), Effect: e}, 2)
			side := func(s *side) []looksSample {
				return []looksSample{
					{values: s.errors, exposure: s.requests},
					{values: s.completions, exposure: s.trials},
					{hist: &s.classic},
					{hist: &s.classic},
				}
			}
			return looksData{baseline: side(&p.baseline), canary: side(&p.canary)}
		},
	}, nil
}

// latencyConfigYAML is the latency canary's config; %g is its allowance.
const latencyConfigYAML = `name: latency
signals:
  - name: latency
    critical: true
    direction: increase
    allowedChange: %g%%
    query: 'avg(rate(http_request_duration_seconds_sum{track="{{.track}}"}[{{.step}}]) / rate(http_request_duration_seconds_count{track="{{.track}}"}[{{.step}}]))'
`

// LatencyCanary is a canary of one critical latency judged by
// mann-whitney on a point series of 6 points a minute, drawn from the
// grid's family (lognormal-0.3 for the headline), with the given
// allowance; its regressions raise every point by 10, 25 and 50%.
func LatencyCanary(familyName string, allowance float64) (*LooksCanary, error) {
	f, ok := FamilyByName(familyName)
	if !ok || f.Counts {
		return nil, fmt.Errorf("latency canary: %q is not a latency family of the grid", familyName)
	}
	text := fmt.Sprintf(latencyConfigYAML, 100*allowance)
	cfg, err := analysis.ParseConfig("latency.yaml", []byte(text))
	if err != nil {
		return nil, fmt.Errorf("the latency canary's config: %w", err)
	}
	const step = 10 * time.Second
	n := int(LooksHorizon / step)
	return &LooksCanary{
		Name:        fmt.Sprintf("latency (%s, allowance %g%%)", f.Name, 100*allowance),
		Description: fmt.Sprintf("one critical latency judged by mann-whitney with allowedChange %g%%, a point every 10 s: %s", 100*allowance, f.Description),
		ConfigYAML:  text,
		Config:      cfg,
		Step:        step,
		Effects:     []Effect{{Kind: Median, Size: 0.10}, {Kind: Median, Size: 0.25}, {Kind: Median, Size: 0.50}},
		draw: func(_ *looksWorker, r *rand.Rand, e Effect) looksData {
			b, c := f.Pair(r, n, e, [2]float64{})
			return looksData{baseline: []looksSample{{values: b}}, canary: []looksSample{{values: c}}}
		},
	}, nil
}

// looksOutcome is one run in one mode: when it first failed, when a
// critical failure first came (the run goes on after an ordinary failure
// only to find that), when it stopped early on a pass (anytime), and the
// verdict of the look it stopped at (the last look when it did not stop).
type looksOutcome struct {
	failAt, criticalAt, passAt time.Duration // -1: never
	verdict                    scoring.Verdict
	// looks are the verdicts of the looks judged, for tests; tallyLooks
	// drops them.
	looks []scoring.Verdict
}

// look is what one look of a run gave.
type look struct {
	verdict  scoring.Verdict
	critical bool // a critical failure decided it
	shown    bool // every signal shown within its allowance (anytime's early pass)
}

// judgeLook judges every signal on the first w windows, as analysis.Run
// does for a window of length at, and scores them. refs and fraction are
// the anytime evidence (nil refs: not anytime), horizons each signal's
// boundary over the known hour (nil: no horizon known); look and looks
// number a planned look (0: none). It records each signal's reference in
// refs.
func (c *LooksCanary) judgeLook(ws *judge.Workspace, d looksData, w int, at time.Duration, refs []float64, horizons []*judge.Horizon, fraction float64, lk, looks int) look {
	results := make([]judge.Result, len(c.Config.Signals))
	for i, s := range c.Config.Signals {
		opts := judge.Options{Confidence: c.Config.Confidence, Look: lk, Looks: looks, Step: c.Step, Extrapolated: true, Elapsed: at}
		if refs != nil {
			opts.Anytime = &judge.Anytime{Reference: refs[i], Fraction: fraction}
			if horizons != nil {
				horizons[i].Elapsed = fraction
				opts.Anytime.Horizon = horizons[i]
			}
		}
		results[i] = ws.JudgeSamples(s.Spec, d.baseline[i].upTo(w), d.canary[i].upTo(w), opts)
	}
	out := scoring.Score(c.Config.ScoringSpec(), results)
	l := look{verdict: out.Verdict, shown: true}
	for i, r := range results {
		l.critical = l.critical || r.CriticalFailure
		l.shown = l.shown && shownWithin(c.Config.Signals[i].Spec, r)
		if refs != nil && refs[i] == 0 && r.Test != nil && r.Test.Reference > 0 {
			refs[i] = r.Test.Reference
		}
	}
	return l
}

// shownWithin is analysis' rule for an anytime run's early pass, signal
// by signal: shown within its allowance (judge.ShownWithin), or moved the
// harmless way, or identical, or a threshold met.
func shownWithin(spec judge.Spec, r judge.Result) bool {
	if r.Gate == judge.GateDirection || r.Gate == judge.GateIdentical || r.Gate == judge.GateThreshold && !r.Failed {
		return true
	}
	return judge.ShownWithin(spec, r)
}

// walk runs one mode over the looks at times: judgeAt gives look i.
func walk(times []time.Duration, anytime bool, judgeAt func(i int) look) looksOutcome {
	o := looksOutcome{failAt: -1, criticalAt: -1, passAt: -1}
	for i, t := range times {
		l := judgeAt(i)
		o.looks = append(o.looks, l.verdict)
		if o.failAt < 0 {
			o.verdict = l.verdict
		}
		if l.verdict == scoring.Fail && o.failAt < 0 {
			o.failAt = t
		}
		if l.critical {
			o.criticalAt = t
			break
		}
		if o.failAt < 0 && anytime && i < len(times)-1 && l.verdict == scoring.Pass && l.shown {
			o.passAt = t
			break
		}
	}
	return o
}

// runOutcomes are one run's outcomes: per cadence, per mode (LooksModes' order).
type runOutcomes [][5]looksOutcome

// run judges one canary's data at every cadence's looks in every mode.
func (c *LooksCanary) run(w *looksWorker, d looksData, cadenceTimes [][]time.Duration) runOutcomes {
	n := c.windows()
	fixed := make([]*look, n+1)
	fixedAt := func(win int, at time.Duration) look {
		if fixed[win] == nil {
			l := c.judgeLook(&w.ws, d, win, at, nil, nil, 0, 0, 0)
			fixed[win] = &l
		}
		return *fixed[win]
	}
	windowsAt := func(t time.Duration) int { return min(n, int(t/c.Step)) }
	out := make(runOutcomes, len(cadenceTimes))
	once := walk([]time.Duration{LooksHorizon}, false, func(int) look { return fixedAt(n, LooksHorizon) })
	for ci, times := range cadenceTimes {
		out[ci][0] = walk(times, false, func(i int) look { return fixedAt(windowsAt(times[i]), times[i]) })
		out[ci][1] = walk(times, false, func(i int) look {
			return c.judgeLook(&w.ws, d, windowsAt(times[i]), times[i], nil, nil, 0, i+1, len(times))
		})
		refs := make([]float64, len(c.Config.Signals))
		// As analysis.RunIntervals: a signal judged for the first time
		// (the first look with its data) takes its reference from the
		// share of the horizon this look covers.
		out[ci][2] = walk(times, true, func(i int) look {
			return c.judgeLook(&w.ws, d, windowsAt(times[i]), times[i], refs, nil, float64(times[i])/float64(LooksHorizon), 0, 0)
		})
		// The same, spending the level over the known hour.
		refs = make([]float64, len(c.Config.Signals))
		horizons := c.horizons()
		out[ci][3] = walk(times, true, func(i int) look {
			return c.judgeLook(&w.ws, d, windowsAt(times[i]), times[i], refs, horizons, float64(times[i])/float64(LooksHorizon), 0, 0)
		})
		out[ci][4] = once
	}
	return out
}

// horizons are a run's fresh boundaries over the known hour, one per
// signal, with the sizes of the config's Holm families and whether its
// failure alone fails the canary, as analysis.RunIntervals makes them.
func (c *LooksCanary) horizons() []*judge.Horizon {
	critical := 0
	for _, s := range c.Config.Signals {
		if s.Critical || s.CriticalChange != nil {
			critical++
		}
	}
	alone := c.Config.FailsAlone()
	out := make([]*judge.Horizon, len(c.Config.Signals))
	for i := range out {
		out[i] = &judge.Horizon{Signals: len(c.Config.Signals), CriticalSignals: critical, FailsAlone: alone[i]}
	}
	return out
}

// LooksScenario is one set of runs: a canary, A/A or one of its effects.
type LooksScenario struct {
	Canary *LooksCanary
	Effect Effect
	Runs   int
}

// LooksRow is one scenario at one cadence in one mode.
type LooksRow struct {
	Canary  string
	Effect  Effect
	Cadence string
	Mode    string
	// Runs judged; Fail those judged fail at some look of the hour,
	// Critical those with a critical failure at some look, NotPass those
	// failed or whose last look (or the look they stopped at) was not a
	// pass, PassEarly those stopped early on a pass (anytime).
	Runs, Fail, Critical, NotPass, PassEarly int
	// FailTimes and PassTimes are the times of the first fail and of the
	// early pass of the runs that had them, ascending.
	FailTimes, PassTimes []time.Duration
}

// FailRate is the share of runs judged fail at some look.
func (r LooksRow) FailRate() Rate { return Wilson(r.Fail, r.Runs) }

// CriticalRate is the share of runs with a critical failure at some look.
func (r LooksRow) CriticalRate() Rate { return Wilson(r.Critical, r.Runs) }

// NotPassRate is the share of runs failed or not ending on a pass.
func (r LooksRow) NotPassRate() Rate { return Wilson(r.NotPass, r.Runs) }

// PassEarlyRate is the share of runs stopped early on a pass.
func (r LooksRow) PassEarlyRate() Rate { return Wilson(r.PassEarly, r.Runs) }

// MedianFail is the time by which half the runs had failed; ok is false
// when fewer than half failed within the hour.
func (r LooksRow) MedianFail() (time.Duration, bool) { return quantileOver(r.FailTimes, r.Runs, 0.5) }

// MedianPass is the time by which half the runs had stopped on a pass.
func (r LooksRow) MedianPass() (time.Duration, bool) { return quantileOver(r.PassTimes, r.Runs, 0.5) }

// LooksConfig is one run of the looks study.
type LooksConfig struct {
	// Seed seeds every stream: a run's data and irregular looks depend
	// only on the seed, its scenario and its replicate.
	Seed uint64
	// Scenarios to run, in report order.
	Scenarios []LooksScenario
	// Cadences to look at each run with (default LooksCadences).
	Cadences []Cadence
	// Workers bounds the goroutines (default GOMAXPROCS).
	Workers int
}

// looksCanaries builds the study's canaries: the release canary and the
// lognormal latency canary (allowance 5%), and the latency canary at
// wider allowances whose healthy runs can stop early on a pass.
func looksCanaries() (release, latency *LooksCanary, wider []*LooksCanary, err error) {
	if release, err = ReleaseCanary(); err != nil {
		return nil, nil, nil, err
	}
	if latency, err = LatencyCanary("lognormal-0.3", 0.05); err != nil {
		return nil, nil, nil, err
	}
	for _, a := range []float64{0.10, 0.20} {
		c, err := LatencyCanary("lognormal-0.3", a)
		if err != nil {
			return nil, nil, nil, err
		}
		wider = append(wider, c)
	}
	return release, latency, wider, nil
}

// LooksFull is the study `make quality` runs: per canary nullRuns A/A runs
// and effectRuns per regression, and passRuns A/A runs of the latency
// canary at each wider allowance.
func LooksFull(seed uint64) (LooksConfig, error) { return LooksScaled(seed, 1) }

// LooksScaled is LooksFull with every scenario's runs multiplied by share
// (in (0, 1]; at least 10 runs each): a smaller run to check the study
// before the full one.
func LooksScaled(seed uint64, share float64) (LooksConfig, error) {
	if !(share > 0 && share <= 1) {
		return LooksConfig{}, fmt.Errorf("the share of the sequential study's runs is %g, want within (0, 1]", share)
	}
	n := func(runs int) int { return max(10, int(float64(runs)*share+0.5)) }
	return looksConfig(seed, n(1500), n(200), n(300))
}

// LooksQuick is a reduced study for tests (seconds): A/A runs and a 50%
// slowdown of the latency canary at every cadence, and the release
// canary's error ratio +50% looked at every minute.
func LooksQuick(seed uint64) (LooksConfig, error) {
	release, latency, _, err := looksCanaries()
	if err != nil {
		return LooksConfig{}, err
	}
	return LooksConfig{Seed: seed, Scenarios: []LooksScenario{
		{Canary: latency, Effect: Effect{Kind: None}, Runs: 100},
		{Canary: latency, Effect: Effect{Kind: Median, Size: 0.50}, Runs: 30},
		{Canary: release, Effect: Effect{Kind: ErrorRatio, Size: 1.50}, Runs: 20},
	}}, nil
}

func looksConfig(seed uint64, nullRuns, effectRuns, passRuns int) (LooksConfig, error) {
	release, latency, wider, err := looksCanaries()
	if err != nil {
		return LooksConfig{}, err
	}
	cfg := LooksConfig{Seed: seed}
	for _, c := range []*LooksCanary{release, latency} {
		cfg.Scenarios = append(cfg.Scenarios, LooksScenario{Canary: c, Effect: Effect{Kind: None}, Runs: nullRuns})
		for _, e := range c.Effects {
			cfg.Scenarios = append(cfg.Scenarios, LooksScenario{Canary: c, Effect: e, Runs: effectRuns})
		}
	}
	for _, c := range wider {
		cfg.Scenarios = append(cfg.Scenarios, LooksScenario{Canary: c, Effect: Effect{Kind: None}, Runs: passRuns})
	}
	return cfg, nil
}

// looksStreams are the random streams of one run: its data, and its
// irregular looks.
func looksStreams(seed uint64, s LooksScenario, rep int) (data, looks *rand.Rand) {
	h := fnv.New64a()
	fmt.Fprintf(h, "looks/%s/%s/%g", s.Canary.Name, s.Effect.Kind, s.Effect.Size)
	k := seed ^ h.Sum64()
	return rand.New(rand.NewPCG(k, uint64(rep)+1)), rand.New(rand.NewPCG(k^0x100c5, uint64(rep)+1))
}

// RunLooks runs the looks study: one row per scenario, cadence and mode.
// It stops early, with ctx's error, when ctx is done.
func RunLooks(ctx context.Context, cfg LooksConfig) ([]LooksRow, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if len(cfg.Cadences) == 0 {
		cfg.Cadences = LooksCadences()
	}
	var rows []LooksRow
	for _, s := range cfg.Scenarios {
		outs, err := runLooksScenario(ctx, cfg, s)
		if err != nil {
			return nil, err
		}
		rows = append(rows, tallyLooks(s, cfg.Cadences, outs)...)
	}
	return rows, nil
}

func runLooksScenario(ctx context.Context, cfg LooksConfig, s LooksScenario) ([]runOutcomes, error) {
	outs := make([]runOutcomes, s.Runs)
	cadences := cfg.Cadences
	var wg sync.WaitGroup
	next := make(chan int)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &looksWorker{gen: newGenerator()}
			for i := range next {
				data, lr := looksStreams(cfg.Seed, s, i)
				times := make([][]time.Duration, len(cadences))
				for ci, c := range cadences {
					times[ci] = c.times(lr)
				}
				outs[i] = s.Canary.run(w, s.Canary.draw(w, data, s.Effect), times)
				for ci := range outs[i] {
					for mi := range outs[i][ci] {
						outs[i][ci][mi].looks = nil
					}
				}
			}
		}()
	}
	var err error
	for i := range s.Runs {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("looks study %s %s: %w", s.Canary.Name, s.Effect.EffectLabel(), err)
	}
	return outs, nil
}

// tallyLooks counts one scenario's runs into a row per cadence and mode.
func tallyLooks(s LooksScenario, cadences []Cadence, outs []runOutcomes) []LooksRow {
	var rows []LooksRow
	for ci, c := range cadences {
		for mi, mode := range LooksModes() {
			r := LooksRow{Canary: s.Canary.Name, Effect: s.Effect, Cadence: c.Name, Mode: mode, Runs: len(outs)}
			for _, o := range outs {
				m := o[ci][mi]
				if m.failAt >= 0 {
					r.Fail++
					r.FailTimes = append(r.FailTimes, m.failAt)
				}
				if m.criticalAt >= 0 {
					r.Critical++
				}
				if m.passAt >= 0 {
					r.PassEarly++
					r.PassTimes = append(r.PassTimes, m.passAt)
				}
				if m.failAt >= 0 || m.verdict != scoring.Pass {
					r.NotPass++
				}
			}
			slices.Sort(r.FailTimes)
			slices.Sort(r.PassTimes)
			rows = append(rows, r)
		}
	}
	return rows
}
