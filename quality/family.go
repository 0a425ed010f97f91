package quality

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/scoring"
)

// The 10-signal family (docs/quality.md, "Errors shared by consequence"):
// a realistic canary of ten signals in three scoring groups, two of them
// critical, judged at a fixed horizon of 360 points a side by the default
// judge (judge + scoring, whose errors are shared by consequence:
// judge.AdjustFamily's two Holm families) and by Kayenta's algorithm.

// FamilySize is the points per side of the 10-signal family.
const FamilySize = 360

// FamilyConfigYAML is the family's config, as an operator would write it
// for files: each signal's group, direction, test, allowance and whether
// it is critical.
const FamilyConfigYAML = `name: checkout
signals:
  - {name: latency, group: latency, critical: true, direction: increase, allowedChange: 5%}
  - {name: http_5xx, group: errors, critical: true, direction: increase, test: rate}
  - {name: db_latency, group: latency, direction: increase, allowedChange: 10%}
  - {name: cache_latency, group: latency, direction: increase, allowedChange: 10%}
  - {name: http_4xx, group: errors, direction: increase, test: rate}
  - {name: timeouts, group: errors, direction: increase, test: rate}
  - {name: cpu, group: saturation, direction: increase, allowedChange: 10%}
  - {name: db_cpu, group: saturation, direction: increase, allowedChange: 10%}
  - {name: network_in, group: saturation, direction: increase, allowedChange: 10%}
  - {name: disk_write, group: saturation, direction: increase, allowedChange: 10%}
`

// familyMember draws one signal of the family: n points a side, the
// canary's level (values, or the events' rate) multiplied by scale.
type familyMember struct {
	name, description string
	draw              func(r *rand.Rand, n int, scale float64) (baseline, canary []float64)
}

// The rate of 5xx responses per point: sparse, about 18 an hour a side.
const family5xxRate = 0.05

// familyMembers are the family's signals in the config's order; the real
// series are read once.
func familyMembers() ([]familyMember, error) {
	scaled := func(draw func(r *rand.Rand, n int) []float64) func(*rand.Rand, int, float64) ([]float64, []float64) {
		return func(r *rand.Rand, n int, scale float64) ([]float64, []float64) {
			b, c := draw(r, n), draw(r, n)
			for i := range c {
				c[i] *= scale
			}
			return b, c
		}
	}
	counts := func(draw func(r *rand.Rand, n int, scale float64) []float64) func(*rand.Rand, int, float64) ([]float64, []float64) {
		return func(r *rand.Rand, n int, scale float64) ([]float64, []float64) {
			return draw(r, n, 1), draw(r, n, scale)
		}
	}
	real := func(name string) (func(*rand.Rand, int, float64) ([]float64, []float64), error) {
		s, err := LoadRealSeries(name)
		if err != nil {
			return nil, err
		}
		return func(r *rand.Rand, n int, scale float64) ([]float64, []float64) {
			b, c := s.Pair(r, n)
			for i := range c {
				c[i] *= scale
			}
			return b, c
		}, nil
	}
	out := []familyMember{
		{name: "latency", description: "lognormal latency, median 100 ms, σ = 0.3 (critical, allowedChange 5%)",
			draw: scaled(func(r *rand.Rand, n int) []float64 { return Lognormal(r, n, baseMedian, 0.3) })},
		{name: "http_5xx", description: fmt.Sprintf("5xx count, Poisson, %g a point (critical)", family5xxRate),
			draw: counts(func(r *rand.Rand, n int, scale float64) []float64 {
				return PoissonSeries(r, n, family5xxRate*scale, nil)
			})},
		{name: "db_latency", description: "gamma latency, shape 2, mean 100 ms",
			draw: scaled(func(r *rand.Rand, n int) []float64 {
				v := make([]float64, n)
				for i := range v {
					v[i] = Gamma(r, 2, 50)
				}
				return v
			})},
		{name: "cache_latency", description: "bimodal latency: 80% lognormal(5 ms, 0.25), 20% lognormal(80 ms, 0.3)",
			draw: scaled(func(r *rand.Rand, n int) []float64 { return Bimodal(r, n, 0.8, 5, 0.25, 80, 0.3) })},
		{name: "http_4xx", description: "4xx count, bursty: negative binomial, mean 2, size 0.5",
			draw: counts(func(r *rand.Rand, n int, scale float64) []float64 { return NegBinomialSeries(r, n, 2*scale, 0.5, nil) })},
		{name: "timeouts", description: "timeout count, bursty: negative binomial, mean 0.5, size 0.3",
			draw: counts(func(r *rand.Rand, n int, scale float64) []float64 {
				return NegBinomialSeries(r, n, 0.5*scale, 0.3, nil)
			})},
	}
	for _, m := range []struct{ name, description string }{
		{"cpu", "real EC2 CPU utilisation (NAB)"},
		{"db_cpu", "real RDS CPU utilisation, two levels (NAB)"},
		{"network_in", "real EC2 network in, bytes, bursty (NAB)"},
		{"disk_write", "real EC2 disk write bytes, 81% zeros (NAB)"},
	} {
		draw, err := real(m.name)
		if err != nil {
			return nil, err
		}
		out = append(out, familyMember{name: m.name, description: m.description, draw: draw})
	}
	return out, nil
}

// FamilyScenario is what one set of the family's canaries has changed:
// nothing (Signal empty), or Signal's level by Effect.
type FamilyScenario struct {
	// Signal names the regressed signal; empty for A/A.
	Signal string
	// Effect is Median (the values, or the events' rate, × 1 + Size) or
	// ErrorRate (a baseline without events against a canary with Size
	// events a point: the zero-error baseline).
	Effect Effect
}

// Label is "A/A", "latency +10%" or "http_5xx: zero baseline vs 0.05/pt".
func (s FamilyScenario) Label() string {
	switch {
	case s.Signal == "":
		return "A/A"
	case s.Effect.Kind == ErrorRate:
		return fmt.Sprintf("%s: zero baseline vs %g a point", s.Signal, s.Effect.Size)
	}
	return fmt.Sprintf("%s +%g%%", s.Signal, 100*s.Effect.Size)
}

// FamilyConfig is one run of the 10-signal family study.
type FamilyConfig struct {
	// Seed seeds every stream: a canary's depends only on the seed, its
	// scenario and its replicate.
	Seed uint64
	// NullRuns A/A canaries; CriticalRuns for each regression of a
	// critical signal (latency +10%, 5xx from a zero baseline);
	// SignalRuns for each other signal's regression (+25%).
	NullRuns, CriticalRuns, SignalRuns int
	// Workers bounds the goroutines (default GOMAXPROCS).
	Workers int
	// Confidence is passed to the default judge (default 0.95).
	Confidence float64
}

// FamilyFull is the study `make quality` runs.
func FamilyFull(seed uint64) FamilyConfig {
	return FamilyConfig{Seed: seed, NullRuns: 3000, CriticalRuns: 1000, SignalRuns: 400}
}

// FamilyQuick is a reduced run for tests (seconds): A/A and the two
// regressions of critical signals.
func FamilyQuick(seed uint64) FamilyConfig {
	return FamilyConfig{Seed: seed, NullRuns: 300, CriticalRuns: 120}
}

// FamilyScenarios are the study's scenarios: A/A, a 10% rise of the
// critical latency, 5xx errors from a zero-error baseline, and a 25% rise
// of each other signal (signalRuns > 0).
func FamilyScenarios(withSignals bool) []FamilyScenario {
	out := []FamilyScenario{
		{},
		{Signal: "latency", Effect: Effect{Kind: Median, Size: 0.10}},
		{Signal: "http_5xx", Effect: Effect{Kind: ErrorRate, Size: family5xxRate}},
	}
	if withSignals {
		for _, name := range []string{"db_latency", "cache_latency", "http_4xx", "timeouts", "cpu", "db_cpu", "network_in", "disk_write"} {
			out = append(out, FamilyScenario{Signal: name, Effect: Effect{Kind: Median, Size: 0.25}})
		}
	}
	return out
}

// FamilyRow is one scenario judged by one judge.
type FamilyRow struct {
	Scenario FamilyScenario
	Judge    string // JudgeVerdict or JudgeKayenta
	// Canaries judged; Fail, NotPass (fail or marginal) and None count
	// their verdicts; Flagged counts the regressed signal classified high
	// or low after scoring (every signal of A/A canaries: Flagged of
	// Signals).
	Canaries, Fail, NotPass, None int
	Flagged, Signals              int
}

// FailRate is the rate of canaries judged fail.
func (r FamilyRow) FailRate() Rate { return Wilson(r.Fail, r.Canaries) }

// NotPassRate is the rate of canaries judged fail or marginal.
func (r FamilyRow) NotPassRate() Rate { return Wilson(r.NotPass, r.Canaries) }

// SignalRate is the rate of regressed (A/A: any) signals flagged.
func (r FamilyRow) SignalRate() Rate { return Wilson(r.Flagged, r.Signals) }

// family is the study's judging set-up.
type family struct {
	cfg     *analysis.Config
	members []familyMember
	kayenta []kayenta.ClassifierParams
}

func newFamily() (*family, error) {
	cfg, err := analysis.ParseConfig("family.yaml", []byte(FamilyConfigYAML))
	if err != nil {
		return nil, fmt.Errorf("the family's config: %w", err)
	}
	members, err := familyMembers()
	if err != nil {
		return nil, err
	}
	f := &family{cfg: cfg, members: members}
	for i, s := range cfg.Signals {
		if members[i].name != s.Name {
			return nil, fmt.Errorf("the family's signal %d is %s in the config and %s in the generator", i, s.Name, members[i].name)
		}
		f.kayenta = append(f.kayenta, kayentaParamsFor(s.Spec))
	}
	return f, nil
}

// kayentaParamsFor gives Kayenta's classifier the signal's settings: its
// direction, whether it is critical, and its allowance as the effect size
// (a mean ratio of at least 1 + allowedChange).
func kayentaParamsFor(s judge.Spec) kayenta.ClassifierParams {
	effect := kayenta.DefaultEffectSize(kayenta.MeanRatioMeasure)
	effect.AllowedIncrease = 1 + s.AllowedChange.Value
	return kayenta.JudgeClassifierParams(s.Name, kayenta.MetricSettings{
		Direction:   kayenta.Increase,
		NaNStrategy: kayenta.NaNRemove,
		Outliers:    kayenta.OutliersKeep,
		Critical:    s.Critical,
		Effect:      effect,
	})
}

// familyOutcome is one canary under both judges.
type familyOutcome struct {
	verdict, kayenta           string // pass, marginal, fail, none
	verdictFlags, kayentaFlags []bool
}

// draw draws one canary of the scenario.
func (f *family) draw(r *rand.Rand, s FamilyScenario) (baseline, canary [][]float64) {
	baseline, canary = make([][]float64, len(f.members)), make([][]float64, len(f.members))
	for i, m := range f.members {
		scale := 1.0
		if m.name == s.Signal && s.Effect.Kind == Median {
			scale += s.Effect.Size
		}
		baseline[i], canary[i] = m.draw(r, FamilySize, scale)
		if m.name == s.Signal && s.Effect.Kind == ErrorRate {
			clear(baseline[i])
			canary[i] = PoissonSeries(r, FamilySize, s.Effect.Size, nil)
		}
	}
	return baseline, canary
}

// judge judges one canary with both judges.
func (f *family) judge(ws *judge.Workspace, confidence float64, baseline, canary [][]float64) familyOutcome {
	n := len(f.members)
	results := make([]judge.Result, n)
	kr := make([]kayenta.AnalysisResult, n)
	for i, s := range f.cfg.Signals {
		results[i] = ws.Judge(s.Spec, baseline[i], canary[i], judge.Options{Confidence: confidence})
		kr[i] = ClassifyKayenta(baseline[i], canary[i], f.kayenta[i])
		kr[i].Groups = []string{s.Group}
		kr[i].Critical = kr[i].Critical && s.Critical
	}
	out := scoring.Score(f.cfg.ScoringSpec(), results)
	ks := kayenta.ScoreResults(kayenta.CanaryConfig{}, KayentaThresholds(), kr)
	o := familyOutcome{verdict: string(out.Verdict), kayenta: kayentaVerdict(ks.Score.Classification),
		verdictFlags: make([]bool, n), kayentaFlags: make([]bool, n)}
	for i := range results {
		o.verdictFlags[i] = results[i].Failed
		o.kayentaFlags[i] = kr[i].Label == kayenta.High || kr[i].Label == kayenta.Low
	}
	return o
}

// kayentaVerdict maps Kayenta's classification to the default judge's words.
func kayentaVerdict(c string) string {
	switch c {
	case kayenta.ScorePass:
		return string(scoring.Pass)
	case kayenta.ScoreMarginal:
		return string(scoring.Marginal)
	case kayenta.ScoreFail:
		return string(scoring.Fail)
	}
	return c
}

// familyStream is the random stream of one canary.
func familyStream(seed uint64, s FamilyScenario, rep int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "family/%s/%s/%g", s.Signal, s.Effect.Kind, s.Effect.Size)
	return rand.New(rand.NewPCG(seed^h.Sum64(), uint64(rep)+1))
}

// RunFamily runs the 10-signal family study: two rows (the default judge,
// Kayenta) per scenario, in FamilyScenarios' order. It stops early, with
// ctx's error, when ctx is done.
func RunFamily(ctx context.Context, cfg FamilyConfig) ([]FamilyRow, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Confidence == 0 {
		cfg.Confidence = judge.DefaultConfidence
	}
	f, err := newFamily()
	if err != nil {
		return nil, err
	}
	var rows []FamilyRow
	for _, s := range FamilyScenarios(cfg.SignalRuns > 0) {
		runs := cfg.SignalRuns
		switch {
		case s.Signal == "":
			runs = cfg.NullRuns
		case f.critical(s.Signal):
			runs = cfg.CriticalRuns
		}
		outs, err := f.runScenario(ctx, cfg, s, runs)
		if err != nil {
			return nil, err
		}
		rows = append(rows, f.tally(s, outs)...)
	}
	return rows, nil
}

// critical reports whether the named signal is critical.
func (f *family) critical(name string) bool {
	for _, s := range f.cfg.Signals {
		if s.Name == name {
			return s.Critical
		}
	}
	return false
}

func (f *family) runScenario(ctx context.Context, cfg FamilyConfig, s FamilyScenario, runs int) ([]familyOutcome, error) {
	outs := make([]familyOutcome, runs)
	var wg sync.WaitGroup
	next := make(chan int)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws judge.Workspace
			for i := range next {
				b, c := f.draw(familyStream(cfg.Seed, s, i), s)
				outs[i] = f.judge(&ws, cfg.Confidence, b, c)
			}
		}()
	}
	var err error
	for i := range runs {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("10-signal family %s: %w", s.Label(), err)
	}
	return outs, nil
}

// tally counts one scenario's outcomes into a row per judge.
func (f *family) tally(s FamilyScenario, outs []familyOutcome) []FamilyRow {
	only := -1
	for i, m := range f.members {
		if m.name == s.Signal {
			only = i
		}
	}
	v := FamilyRow{Scenario: s, Judge: JudgeVerdict}
	k := FamilyRow{Scenario: s, Judge: JudgeKayenta}
	add := func(r *FamilyRow, verdict string, flags []bool) {
		r.Canaries++
		switch verdict {
		case string(scoring.Fail):
			r.Fail++
			r.NotPass++
		case string(scoring.Marginal):
			r.NotPass++
		case string(scoring.None):
			r.None++
			r.NotPass++
		}
		for i, fl := range flags {
			if only >= 0 && i != only {
				continue
			}
			r.Signals++
			if fl {
				r.Flagged++
			}
		}
	}
	for _, o := range outs {
		add(&v, o.verdict, o.verdictFlags)
		add(&k, o.kayenta, o.kayentaFlags)
	}
	return []FamilyRow{v, k}
}
