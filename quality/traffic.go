package quality

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mathext"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/scoring"
)

// TrafficScenario is one cell of the traffic study: a service of PerMinute
// requests per minute whose canary receives Split of them for Minutes
// one-minute windows, with Effect applied to the canary.
type TrafficScenario struct {
	PerMinute float64
	Split     float64
	Minutes   int
	Effect    Effect
}

// SplitLabel is the split as operators write it: "95/5".
func (s TrafficScenario) SplitLabel() string {
	c := math.Round(100 * s.Split)
	return fmt.Sprintf("%g/%g", 100-c, c)
}

// DurationLabel is "15 min" or "1 h".
func (s TrafficScenario) DurationLabel() string {
	if s.Minutes%60 == 0 {
		return fmt.Sprintf("%d h", s.Minutes/60)
	}
	return fmt.Sprintf("%d min", s.Minutes)
}

// TrafficEffectLabel names a traffic study effect: "A/A", "error ratio ×2",
// "completion −10%", "latency median +10%", "latency p99 +25%".
func TrafficEffectLabel(e Effect) string {
	switch e.Kind {
	case None:
		return "A/A"
	case ErrorRatio:
		return fmt.Sprintf("error ratio ×%g", e.Size)
	case Completion:
		return fmt.Sprintf("completion −%g%%", math.Round(e.Size*1000)/10)
	case Median:
		return fmt.Sprintf("latency median +%g%%", math.Round(e.Size*1000)/10)
	case Tail:
		return fmt.Sprintf("latency p99 +%g%%", math.Round(e.Size*1000)/10)
	}
	return string(e.Kind)
}

// TrafficTest is one way the study judges one release signal.
type TrafficTest int

// The signal tests of the traffic study. "Verdict" tests are the tests of
// counts (judge.JudgeSamples); "old" tests are how these signals were
// judged before (mann-whitney on per-window ratios or per-window
// histogram_quantile values; rate on error counts without their traffic);
// "oracle" tests are the perfect test at the same information (see
// oraclePValues).
const (
	ErrVerdict TrafficTest = iota
	ErrOldRate
	ErrOldMW
	ErrOracle
	ComplVerdict
	ComplOldMW
	ComplOracle
	P50Classic
	P50Native
	P50OldMW
	P50Oracle
	P99Classic
	P99Native
	P99OldMW
	P99Oracle
	// ErrOracleStrict is the error oracle at the level a canary fail
	// demands of the critical error signal: the critical level
	// (judge.CriticalLevelFactor × 5%), one-sided p ≤ 1%, held by the
	// canary's only signal that can fail it alone (judge.AdjustFamily's
	// critical family).
	ErrOracleStrict
	// ComplOracleHolm is the completion oracle at Holm's first step in a
	// canary of four tested signals (5% ÷ 4): the level at which one
	// signal among four makes the canary marginal.
	ComplOracleHolm
	numTrafficTests
)

// trafficTestNames are the tests' labels in tables and CSV.
var trafficTestNames = [numTrafficTests]string{
	"error_ratio: rate with exposure", "error_ratio: old rate on counts", "error_ratio: old mann-whitney on ratios", "error_ratio: oracle",
	"checkout_completion: proportion", "checkout_completion: old mann-whitney on ratios", "checkout_completion: oracle",
	"latency_p50: histogram (classic buckets)", "latency_p50: histogram (native buckets)", "latency_p50: old mann-whitney on per-window p50", "latency_p50: oracle",
	"latency_p99: histogram (classic buckets)", "latency_p99: histogram (native buckets)", "latency_p99: old mann-whitney on per-window p99", "latency_p99: oracle",
	"error_ratio: oracle at the critical level", "checkout_completion: oracle at Holm's level",
}

func (t TrafficTest) String() string { return trafficTestNames[t] }

// TrafficCanary is one way of composing the release canary.
type TrafficCanary int

// The release canaries of the traffic study: four signals (error_ratio,
// critical; checkout_completion; latency_p50; latency_p99), each in its
// own group of weight 1, default thresholds, scored by scoring.Score
// (Holm across the four).
const (
	// CanaryClassic judges the tests of counts, latency from Prometheus'
	// default buckets.
	CanaryClassic TrafficCanary = iota
	// CanaryNative is CanaryClassic with latency from native buckets.
	CanaryNative
	// CanaryOld judges the four signals the old way: mann-whitney on
	// per-window ratios and per-window histogram_quantile values.
	CanaryOld
	numTrafficCanaries
)

var trafficCanaryNames = [numTrafficCanaries]string{"verdict (classic buckets)", "verdict (native buckets)", "old (mann-whitney on per-window values)"}

func (c TrafficCanary) String() string { return trafficCanaryNames[c] }

// TrafficRow is the outcome of one scenario.
type TrafficRow struct {
	Scenario TrafficScenario
	// Canaries is the number of canaries judged.
	Canaries int
	// Flagged counts, per test, the signals classified high or low on
	// their own (before the canary's Holm adjustment), or for the oracle
	// rejected at the one-sided 5% level; NoData those without enough
	// traffic; Errors those the judge could not judge (a bug if not 0).
	Flagged, NoData, Errors [numTrafficTests]int
	// Fail, Marginal and None count the canaries' verdicts per composition.
	Fail, Marginal, None [numTrafficCanaries]int
	// FailCritical counts the fails a critical failure decided; FailSingle
	// those with a single ordinary failure, which fails a canary only when
	// a group had no data (one failed group of three scores 66.7).
	FailCritical, FailSingle [numTrafficCanaries]int
}

// SignalRate is a test's rate of flagged signals.
func (r TrafficRow) SignalRate(t TrafficTest) Rate { return Wilson(r.Flagged[t], r.Canaries) }

// FailRate is a composition's rate of canaries judged fail.
func (r TrafficRow) FailRate(c TrafficCanary) Rate { return Wilson(r.Fail[c], r.Canaries) }

// NotPassRate is a composition's rate of canaries judged fail or marginal.
func (r TrafficRow) NotPassRate(c TrafficCanary) Rate {
	return Wilson(r.Fail[c]+r.Marginal[c], r.Canaries)
}

// TrafficConfig is one run of the traffic study.
type TrafficConfig struct {
	// Seed seeds every stream: a canary's stream depends only on the seed,
	// its scenario and its replicate.
	Seed uint64
	// Scenarios to run, in report order.
	Scenarios []TrafficScenario
	// NullReps A/A canaries per A/A scenario; EffectReps per regression.
	NullReps, EffectReps int
	// Workers bounds the goroutines (default GOMAXPROCS).
	Workers int
	// Confidence is passed to the judge (default 0.95).
	Confidence float64
}

// TrafficEffects are the regressions of the full study.
func TrafficEffects() []Effect {
	return []Effect{
		{Kind: ErrorRatio, Size: 1.5}, {Kind: ErrorRatio, Size: 2}, {Kind: ErrorRatio, Size: 4},
		{Kind: Completion, Size: 0.02}, {Kind: Completion, Size: 0.05}, {Kind: Completion, Size: 0.10},
		{Kind: Median, Size: 0.10}, {Kind: Tail, Size: 0.25},
	}
}

// TrafficFull is the traffic study of `make quality`: services of 1,000 and
// 10,000 requests per minute; splits 50/50, 90/10, 95/5 and 99/1; canaries
// of 15 minutes and 1 hour; A/A and every regression of TrafficEffects.
func TrafficFull(seed uint64) TrafficConfig {
	cfg := TrafficConfig{Seed: seed, NullReps: 1500, EffectReps: 300}
	for _, perMinute := range []float64{1000, 10000} {
		for _, split := range []float64{0.5, 0.1, 0.05, 0.01} {
			for _, minutes := range []int{15, 60} {
				s := TrafficScenario{PerMinute: perMinute, Split: split, Minutes: minutes, Effect: Effect{Kind: None}}
				cfg.Scenarios = append(cfg.Scenarios, s)
				for _, e := range TrafficEffects() {
					s.Effect = e
					cfg.Scenarios = append(cfg.Scenarios, s)
				}
			}
		}
	}
	return cfg
}

// TrafficQuick is a reduced traffic study (seconds) holding the headline
// scenarios: A/A canaries at the unequal splits on a service of 1,000
// requests per minute (two of them also at 10,000), and error ratio ×2 at
// 95/5 and completion −10% at 90/10 over an hour at both sizes.
func TrafficQuick(seed uint64) TrafficConfig {
	cfg := TrafficConfig{Seed: seed, NullReps: 300, EffectReps: 100}
	aa := func(perMinute, split float64, minutes int) TrafficScenario {
		return TrafficScenario{PerMinute: perMinute, Split: split, Minutes: minutes, Effect: Effect{Kind: None}}
	}
	for _, split := range []float64{0.1, 0.05, 0.01} {
		for _, minutes := range []int{15, 60} {
			cfg.Scenarios = append(cfg.Scenarios, aa(1000, split, minutes))
		}
	}
	cfg.Scenarios = append(cfg.Scenarios, aa(10000, 0.05, 60), aa(10000, 0.01, 15))
	for _, perMinute := range []float64{1000, 10000} {
		cfg.Scenarios = append(cfg.Scenarios,
			TrafficScenario{PerMinute: perMinute, Split: 0.05, Minutes: 60, Effect: Effect{Kind: ErrorRatio, Size: 2}},
			TrafficScenario{PerMinute: perMinute, Split: 0.1, Minutes: 60, Effect: Effect{Kind: Completion, Size: 0.10}})
	}
	return cfg
}

// RunTraffic runs the traffic study and returns one row per scenario, in
// the configuration's order. It stops early, with ctx's error, when ctx is
// done.
func RunTraffic(ctx context.Context, cfg TrafficConfig) ([]TrafficRow, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Confidence == 0 {
		cfg.Confidence = judge.DefaultConfidence
	}
	rows := make([]TrafficRow, 0, len(cfg.Scenarios))
	for _, s := range cfg.Scenarios {
		reps := cfg.EffectReps
		if s.Effect.Kind == None {
			reps = cfg.NullReps
		}
		row, err := runTrafficScenario(ctx, cfg, s, reps)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// trafficStream is the random stream of one canary: it depends only on the
// seed, the scenario and the replicate.
func trafficStream(seed uint64, s TrafficScenario, rep int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%g/%g/%d/%s/%g", s.PerMinute, s.Split, s.Minutes, s.Effect.Kind, s.Effect.Size)
	return rand.New(rand.NewPCG(seed^h.Sum64(), uint64(rep)+1))
}

// trafficOutcome is one canary judged every way.
type trafficOutcome struct {
	status   [numTrafficTests]judge.Classification // pass, high, low, nodata, error
	verdicts [numTrafficCanaries]scoring.Verdict
	// critical and single say how a fail came about (see TrafficRow).
	critical, single [numTrafficCanaries]bool
}

func runTrafficScenario(ctx context.Context, cfg TrafficConfig, s TrafficScenario, reps int) (TrafficRow, error) {
	outs := make([]trafficOutcome, reps)
	var wg sync.WaitGroup
	next := make(chan int)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := newTrafficJudge(cfg.Confidence)
			for i := range next {
				p := j.gen.draw(trafficStream(cfg.Seed, s, i), s)
				outs[i] = j.judge(p)
			}
		}()
	}
	var err error
	for i := range reps {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return TrafficRow{}, fmt.Errorf("traffic study %s %s %s: %w", s.SplitLabel(), s.DurationLabel(), TrafficEffectLabel(s.Effect), err)
	}
	row := TrafficRow{Scenario: s, Canaries: reps}
	for _, o := range outs {
		for t, st := range o.status {
			switch st {
			case judge.High, judge.Low:
				row.Flagged[t]++
			case judge.NoData:
				row.NoData[t]++
			case judge.Error:
				row.Errors[t]++
			}
		}
		for c, v := range o.verdicts {
			switch v {
			case scoring.Fail:
				row.Fail[c]++
				if o.critical[c] {
					row.FailCritical[c]++
				} else if o.single[c] {
					row.FailSingle[c]++
				}
			case scoring.Marginal:
				row.Marginal[c]++
			case scoring.None:
				row.None[c]++
			}
		}
	}
	return row, nil
}

// trafficJudge judges canaries; one per goroutine.
type trafficJudge struct {
	gen   *generator
	ws    judge.Workspace
	opts  judge.Options
	level float64
}

func newTrafficJudge(confidence float64) *trafficJudge {
	return &trafficJudge{gen: newGenerator(), opts: judge.Options{Confidence: confidence}, level: 1 - confidence}
}

// strictLevel is the one-sided level a critical signal must reach to fail
// a canary of four tested signals on its own (ErrOracleStrict).
func (j *trafficJudge) strictLevel() float64 { return j.level * judge.CriticalLevelFactor }

// The release canary's signals as the study configures them.
func errorRatioSpec() judge.Spec {
	return judge.Spec{Name: "error_ratio", Group: "errors", Direction: judge.Increase, Critical: true, Test: judge.Rate, Exposure: "requests"}
}

func completionSpec() judge.Spec {
	return judge.Spec{Name: "checkout_completion", Group: "checkout", Direction: judge.Decrease, Test: judge.Proportion, Trials: "checkouts_started"}
}

func latencySpec(q float64) judge.Spec {
	name := fmt.Sprintf("latency_p%g", 100*q)
	return judge.Spec{Name: name, Group: name, Direction: judge.Increase, Test: judge.Histogram, Quantile: &q}
}

// oldSpec is a signal judged the old way: mann-whitney on per-window values.
func oldSpec(s judge.Spec) judge.Spec {
	return judge.Spec{Name: s.Name, Group: s.Group, Direction: s.Direction, Critical: s.Critical, Test: judge.MannWhitney}
}

// judge judges one canary every way and scores the three compositions.
func (j *trafficJudge) judge(p canaryPair) trafficOutcome {
	var o trafficOutcome
	b, c := &p.baseline, &p.canary
	var res [numTrafficTests]judge.Result
	errSpec, complSpec := errorRatioSpec(), completionSpec()
	p50, p99 := latencySpec(0.5), latencySpec(0.99)

	res[ErrVerdict] = j.ws.JudgeSamples(errSpec, judge.Sample{Values: b.errors, Exposure: b.requests}, judge.Sample{Values: c.errors, Exposure: c.requests}, j.opts)
	res[ErrOldRate] = j.ws.Judge(judge.Spec{Name: "errors", Direction: judge.Increase, Test: judge.Rate}, b.errors, c.errors, j.opts)
	res[ErrOldMW] = j.ws.Judge(oldSpec(errSpec), ratios(b.errors, b.requests), ratios(c.errors, c.requests), j.opts)
	res[ComplVerdict] = j.ws.JudgeSamples(complSpec, judge.Sample{Values: b.completions, Exposure: b.trials}, judge.Sample{Values: c.completions, Exposure: c.trials}, j.opts)
	res[ComplOldMW] = j.ws.Judge(oldSpec(complSpec), ratios(b.completions, b.trials), ratios(c.completions, c.trials), j.opts)
	res[P50Classic] = j.ws.JudgeSamples(p50, judge.Sample{Histogram: &b.classic}, judge.Sample{Histogram: &c.classic}, j.opts)
	res[P50Native] = j.ws.JudgeSamples(p50, judge.Sample{Histogram: &b.native}, judge.Sample{Histogram: &c.native}, j.opts)
	res[P50OldMW] = j.ws.Judge(oldSpec(p50), windowQuantiles(&b.classic, 0.5), windowQuantiles(&c.classic, 0.5), j.opts)
	res[P99Classic] = j.ws.JudgeSamples(p99, judge.Sample{Histogram: &b.classic}, judge.Sample{Histogram: &c.classic}, j.opts)
	res[P99Native] = j.ws.JudgeSamples(p99, judge.Sample{Histogram: &b.native}, judge.Sample{Histogram: &c.native}, j.opts)
	res[P99OldMW] = j.ws.Judge(oldSpec(p99), windowQuantiles(&b.classic, 0.99), windowQuantiles(&c.classic, 0.99), j.opts)
	for t := range res {
		if res[t].Classification != "" {
			o.status[t] = res[t].Classification
		}
	}
	pe, pc, p5, p9 := oraclePValues(c)
	for _, or := range []struct {
		t        TrafficTest
		p, level float64
	}{{ErrOracle, pe, j.level}, {ErrOracleStrict, pe, j.strictLevel()}, {ComplOracle, pc, j.level}, {ComplOracleHolm, pc, j.level / 4}, {P50Oracle, p5, j.level}, {P99Oracle, p9, j.level}} {
		o.status[or.t] = judge.Pass
		if or.p <= or.level {
			o.status[or.t] = judge.High
		}
	}
	compositions := [numTrafficCanaries][4]TrafficTest{
		CanaryClassic: {ErrVerdict, ComplVerdict, P50Classic, P99Classic},
		CanaryNative:  {ErrVerdict, ComplVerdict, P50Native, P99Native},
		CanaryOld:     {ErrOldMW, ComplOldMW, P50OldMW, P99OldMW},
	}
	for k, tests := range compositions {
		rs := make([]judge.Result, len(tests))
		for i, t := range tests {
			rs[i] = copyResult(res[t])
		}
		o.verdicts[k] = scoring.Score(scoring.Spec{Thresholds: scoring.DefaultThresholds()}, rs).Verdict
		failed := 0
		for _, r := range rs {
			o.critical[k] = o.critical[k] || r.CriticalFailure
			if r.Failed {
				failed++
			}
		}
		o.single[k] = failed == 1
	}
	return o
}

// ratios are per-window ratios, NaN where the window had nothing to divide by.
func ratios(num, den []float64) []float64 {
	out := make([]float64, len(num))
	for i := range num {
		out[i] = math.NaN()
		if den[i] > 0 {
			out[i] = num[i] / den[i]
		}
	}
	return out
}

// windowQuantiles is histogram_quantile(q, ...) of each window, as a
// dashboard or a per-step query reads it: NaN for a window without
// observations.
func windowQuantiles(h *judge.Buckets, q float64) []float64 {
	nb := len(h.Bounds)
	out := make([]float64, h.Windows())
	for w := range out {
		out[w] = PromQuantile(h.Bounds, h.Counts[w*nb:(w+1)*nb], q)
	}
	return out
}

// PromQuantile is Prometheus' histogram_quantile of one window's cumulative
// bucket counts: the bucket holding rank q·total, linear within it (the
// first bucket from 0), the last finite bound when the rank falls in the
// +Inf bucket, NaN without observations.
func PromQuantile(bounds, cum []float64, q float64) float64 {
	total := cum[len(cum)-1]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
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
	}
	if in := cum[i] - below; in > 0 {
		return lo + (bounds[i]-lo)*(rank-below)/in
	}
	return bounds[i]
}

// oraclePValues are the one-sided p-values of the perfect test at the
// canary's information: a test that knows the baseline's true error ratio,
// completion and latency distribution (minute by minute, incidents
// included) and sees the canary's unbinned data.
//
//   - errors: the exact Poisson test of the canary's independent failures
//     (each cluster's first error; the retries that follow carry no
//     information about the rate) against what the true ratio predicts for
//     its requests;
//   - completion: the exact binomial test of the completed checkout
//     sessions (sessions complete or fail as a whole) against the true
//     completion;
//   - latency: the sign test of the canary's requests above the baseline's
//     true median and p99 (exact binomial, 50% and 1% expected above).
func oraclePValues(c *side) (errors, completion, p50, p99 float64) {
	errors = poissonUpper(c.errorClusters, c.expectedClusters)
	completion = binomialLowerTail(c.sessionsOK, c.sessions, BaseCompletion)
	p50 = binomialUpperTail(c.above50, c.observations, 0.5)
	p99 = binomialUpperTail(c.above99, c.observations, 0.01)
	return errors, completion, p50, p99
}

// poissonUpper is P(X ≥ x) for X ~ Poisson(mu).
func poissonUpper(x, mu float64) float64 {
	if x <= 0 {
		return 1
	}
	if mu <= 0 {
		return 0
	}
	return mathext.GammaIncReg(x, mu)
}

// binomialUpperTail is P(X ≥ x) for X ~ Binomial(n, p).
func binomialUpperTail(x, n, p float64) float64 {
	if x <= 0 {
		return 1
	}
	if x > n {
		return 0
	}
	return mathext.RegIncBeta(x, n-x+1, p)
}

// binomialLowerTail is P(X ≤ x) for X ~ Binomial(n, p).
func binomialLowerTail(x, n, p float64) float64 {
	if x >= n {
		return 1
	}
	return 1 - mathext.RegIncBeta(x+1, n-x, p)
}
