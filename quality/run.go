package quality

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/scoring"
)

// The judges the harness compares.
const (
	JudgeVerdict = "verdict" // judge.Judge + scoring.Score with their defaults
	JudgeKayenta = "kayenta" // kayenta's NetflixACAJudge-v1.0 classifier and scorer
	// JudgeVerdictP99 is the default judge with a p99 signal added on the
	// canary's first series (the regressed one in regression canaries):
	// that latency is judged twice, its median by Mann-Whitney and its p99
	// by the quantile test (P99Spec), and the k+1 results are scored
	// together (one Holm family). The first series counts as flagged when
	// either of its two results is. Latency families only.
	JudgeVerdictP99 = "verdict+p99"
)

// Config is one harness run. The zero value of a field means its default
// (see Full and Quick).
type Config struct {
	// Seed seeds every stream: a pair's stream depends only on the seed,
	// the family, the size, the effect and the replicate, so results do not
	// depend on scheduling or on which other scenarios run.
	Seed uint64
	// Families to run (default all).
	Families []Family
	// Sizes are the points per side.
	Sizes []int
	// Signals are the numbers of signals per canary.
	Signals []int
	// NullPool is the number of A/A signals judged per family and size; A/A
	// canaries of k signals use disjoint groups of k of them.
	NullPool int
	// EffectReps is the number of regressed signals judged per effect.
	EffectReps int
	// MedianSizes and TailSizes are the relative regressions; ErrorRates the
	// canary error rates of the zero-baseline family.
	MedianSizes, TailSizes, ErrorRates []float64
	// Workers bounds the goroutines (default GOMAXPROCS).
	Workers int
	// Confidence is passed to the default judge (default 0.95).
	Confidence float64
	// HeadlineFactor multiplies the replications of the headline scenarios
	// (run separately); 0 reads the headline rows from the grid.
	HeadlineFactor int
	// SeqRuns is the number of A/A runs of 1-signal canaries in the
	// multi-interval study (a tenth as many 10-signal runs; SeqEffectReps
	// regression runs of each).
	SeqRuns, SeqEffectReps int
}

// Full is the configuration of `make quality` (and `make quality-docs`).
func Full(seed uint64) Config {
	return Config{
		Seed:        seed,
		Families:    Families(),
		Sizes:       []int{30, 100, 360, 1000, 2000},
		Signals:     []int{1, 10, 30},
		NullPool:    600,
		EffectReps:  80,
		MedianSizes: []float64{0.02, 0.05, 0.10, 0.25, 0.50},
		TailSizes:   []float64{0.10, 0.50},
		ErrorRates:  []float64{0.005, 0.01, 0.02, 0.05, 0.10},

		HeadlineFactor: 4,
		SeqRuns:        400,
		SeqEffectReps:  80,
	}
}

// Quick is a reduced run (a few seconds) that exercises every part of the
// harness and the headline scenarios.
func Quick(seed uint64) Config {
	var fams []Family
	for _, name := range []string{"lognormal-0.3", "errors-zero-baseline", "ar1-0.9"} {
		f, _ := FamilyByName(name)
		fams = append(fams, f)
	}
	return Config{
		Seed:        seed,
		Families:    fams,
		Sizes:       []int{360},
		Signals:     []int{1, 10},
		NullPool:    300,
		EffectReps:  60,
		MedianSizes: []float64{0.10},
		TailSizes:   []float64{0.50},
		ErrorRates:  []float64{0.05},

		SeqRuns:       60,
		SeqEffectReps: 20,
	}
}

// Row is one cell of the rate tables: a judge on one scenario.
type Row struct {
	Family  string
	N       int // points per side
	Signals int // signals per canary
	Effect  Effect
	Judge   string
	// Canaries is the number of canaries judged; NotPass those judged fail
	// or marginal, Fail those judged fail.
	Canaries, NotPass, Fail int
	// None counts the canaries judged none (too little data): they are among
	// NotPass, since a none stops a rollout too.
	None int
	// SignalTrials is the number of signals counted at the signal level (every
	// signal of an A/A canary; the regressed one otherwise), SignalFlagged
	// those classified high or low after scoring.
	SignalTrials, SignalFlagged int
}

// judged is one signal pair judged by both judges; p99 is the same pair
// judged by the quantile test (nil for count families).
type judged struct {
	verdict judge.Result
	kayenta kayenta.AnalysisResult
	p99     *judge.Result
}

// Run runs the harness and returns its rows in a stable order. It stops
// early, with ctx's error, when ctx is done.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Confidence == 0 {
		cfg.Confidence = judge.DefaultConfidence
	}
	if len(cfg.Families) == 0 {
		cfg.Families = Families()
	}
	var rows []Row
	for fi, f := range cfg.Families {
		tail := f.MarginalQuantiles()
		for _, n := range cfg.Sizes {
			null, err := judgeMany(ctx, cfg, f, fi, n, Effect{Kind: None}, cfg.NullPool, tail)
			if err != nil {
				return nil, err
			}
			for _, k := range cfg.Signals {
				rows = append(rows, scoreNull(cfg, f, n, k, null)...)
			}
			for ei, e := range effectsOf(cfg, f) {
				reg, err := judgeMany(ctx, cfg, f, fi, n, e, cfg.EffectReps, tail)
				if err != nil {
					return nil, err
				}
				for _, k := range cfg.Signals {
					rows = append(rows, scoreRegressed(cfg, f, fi, n, k, ei, e, reg, null)...)
				}
			}
		}
	}
	return rows, nil
}

// effectsOf lists the regressions that apply to a family.
func effectsOf(cfg Config, f Family) []Effect {
	var out []Effect
	if f.ZeroBaseline {
		for _, s := range cfg.ErrorRates {
			out = append(out, Effect{Kind: ErrorRate, Size: s})
		}
		return out
	}
	for _, s := range cfg.MedianSizes {
		out = append(out, Effect{Kind: Median, Size: s})
	}
	if !f.Counts {
		for _, s := range cfg.TailSizes {
			out = append(out, Effect{Kind: Tail, Size: s})
		}
	}
	return out
}

// pairStream returns the random stream of one replicate of one scenario.
func pairStream(seed uint64, fi, n int, e Effect, rep int) *rand.Rand {
	key := uint64(fi)<<48 ^ uint64(n)<<24 ^ uint64(e.Size*1e6)<<4 ^ uint64(len(e.Kind))
	return rand.New(rand.NewPCG(seed^key*0x9e3779b97f4a7c15, uint64(rep)+1))
}

// judgeMany draws and judges count pairs of one scenario, in parallel.
func judgeMany(ctx context.Context, cfg Config, f Family, fi, n int, e Effect, count int, tail [2]float64) ([]judged, error) {
	out := make([]judged, count)
	spec := DefaultSpec(f)
	kp := KayentaParams()
	var wg sync.WaitGroup
	next := make(chan int)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w judge.Workspace
			for i := range next {
				b, c := f.Pair(pairStream(cfg.Seed, fi, n, e, i), n, e, tail)
				out[i].verdict = w.Judge(spec, b, c, judge.Options{Confidence: cfg.Confidence})
				out[i].kayenta = ClassifyKayenta(b, c, kp)
				if !f.Counts {
					p := w.Judge(P99Spec(), b, c, judge.Options{Confidence: cfg.Confidence})
					out[i].p99 = &p
				}
			}
		}()
	}
	var err error
	for i := range count {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("judging %s n=%d %s %g: %w", f.Name, n, e.Kind, e.Size, err)
	}
	return out, nil
}

// DefaultSpec is the signal spec the harness gives the default judge: a
// rise is harmful, no allowed change, the rate test for counts and
// Mann-Whitney otherwise; every other field at its default.
func DefaultSpec(f Family) judge.Spec {
	s := judge.Spec{Name: "signal", Direction: judge.Increase, Test: judge.MannWhitney}
	if f.Counts {
		s.Test = judge.Rate
	}
	return s
}

// P99Spec is the signal the verdict+p99 rows add on a canary's first
// latency series: the quantile test of its p99, a rise harmful, every other field
// at its default (so 250 points per side are needed).
func P99Spec() judge.Spec {
	return judge.Spec{Name: "signal_p99", Direction: judge.Increase, Test: judge.Quantile}
}

// KayentaParams are the Kayenta classifier settings of the harness: the
// judge's constants, a rise is harmful, NaN removal, meanRatio effect size
// with its defaults.
func KayentaParams() kayenta.ClassifierParams {
	return kayenta.JudgeClassifierParams("signal", kayenta.MetricSettings{
		Direction:   kayenta.Increase,
		NaNStrategy: kayenta.NaNRemove,
		Outliers:    kayenta.OutliersKeep,
		Effect:      kayenta.DefaultEffectSize(kayenta.MeanRatioMeasure),
	})
}

// ClassifyKayenta classifies one pair as the Kayenta judge does (the data
// hold no NaN, so preprocessing is the identity) and returns the result the
// Kayenta scorer reads.
func ClassifyKayenta(baseline, canary []float64, p kayenta.ClassifierParams) kayenta.AnalysisResult {
	res := kayenta.AnalysisResult{Name: p.Name, Groups: []string{"all"}}
	c, err := kayenta.Classify(baseline, canary, p)
	if err != nil {
		res.Label = kayenta.Error
		return res
	}
	res.Label, res.Critical = c.Label, c.Critical
	return res
}

// kayentaConfig is the canary config the Kayenta scorer reads: one group
// holding every signal.
func kayentaConfig() kayenta.CanaryConfig {
	return kayenta.CanaryConfig{Classifier: kayenta.ClassifierConfig{GroupWeights: map[string]float64{"all": 100}}}
}

// KayentaThresholds are the harness's score thresholds for the Kayenta
// judge, the same as the default judge's: pass 95, marginal 75.
func KayentaThresholds() kayenta.Thresholds { return kayenta.Thresholds{Pass: 95, Marginal: 75} }

// outcome is one canary's verdict under one judge, with the flags of its
// signals (a series is flagged when its result, or one of its two results
// for verdict+p99, is high or low after scoring).
type outcome struct {
	verdict string
	flags   []bool
}

// canaryOutcome scores one canary under both judges, and under verdict+p99
// when its first signal has a p99 result (ok). The default judge's results
// are copied first: scoring may adjust them in place.
func canaryOutcome(sigs []judged) (v, k, p outcome, ok bool) {
	vr := make([]judge.Result, len(sigs))
	kr := make([]kayenta.AnalysisResult, len(sigs))
	for i, s := range sigs {
		vr[i] = copyResult(s.verdict)
		kr[i] = s.kayenta
	}
	out := scoring.Score(scoring.Spec{Thresholds: scoring.DefaultThresholds()}, vr)
	ks := kayenta.ScoreResults(kayentaConfig(), KayentaThresholds(), kr)
	v = outcome{verdict: string(out.Verdict), flags: make([]bool, len(sigs))}
	k = outcome{verdict: ks.Score.Classification, flags: make([]bool, len(sigs))}
	for i := range sigs {
		v.flags[i] = vr[i].Failed
		k.flags[i] = kr[i].Label == kayenta.High || kr[i].Label == kayenta.Low
	}
	if len(sigs) == 0 || sigs[0].p99 == nil {
		return v, k, p, false
	}
	with := make([]judge.Result, 0, len(sigs)+1)
	for _, s := range sigs {
		with = append(with, copyResult(s.verdict))
	}
	with = append(with, copyResult(*sigs[0].p99))
	pout := scoring.Score(scoring.Spec{Thresholds: scoring.DefaultThresholds()}, with)
	p = outcome{verdict: string(pout.Verdict), flags: make([]bool, len(sigs))}
	for i := range sigs {
		p.flags[i] = with[i].Failed
	}
	p.flags[0] = p.flags[0] || with[len(sigs)].Failed
	return v, k, p, true
}

// copyResult copies r and its test block, which scoring may adjust.
func copyResult(r judge.Result) judge.Result {
	if r.Test != nil {
		t := *r.Test
		r.Test = &t
	}
	return r
}

// tally accumulates one row per judge (p only for latency families).
type tally struct {
	v, k, p Row
	hasP    bool
}

func (t *tally) add(v, k, p outcome, hasP bool, only int) {
	count(&t.v, v, only, string(scoring.Pass), string(scoring.Fail), string(scoring.None))
	count(&t.k, k, only, kayenta.ScorePass, kayenta.ScoreFail, "")
	if hasP {
		t.hasP = true
		count(&t.p, p, only, string(scoring.Pass), string(scoring.Fail), string(scoring.None))
	}
}

// count adds one canary's outcome to a row: every signal's flag, or only
// the signal at index only when it is not negative.
func count(r *Row, o outcome, only int, pass, fail, none string) {
	r.Canaries++
	if o.verdict != pass {
		r.NotPass++
	}
	if o.verdict == fail {
		r.Fail++
	}
	if none != "" && o.verdict == none {
		r.None++
	}
	for i, f := range o.flags {
		if only >= 0 && i != only {
			continue
		}
		r.SignalTrials++
		if f {
			r.SignalFlagged++
		}
	}
}

func (t *tally) rows() []Row {
	if t.hasP {
		return []Row{t.v, t.k, t.p}
	}
	return []Row{t.v, t.k}
}

func newTally(f Family, n, k int, e Effect) *tally {
	r := Row{Family: f.Name, N: n, Signals: k, Effect: e}
	t := &tally{v: r, k: r, p: r}
	t.v.Judge, t.k.Judge, t.p.Judge = JudgeVerdict, JudgeKayenta, JudgeVerdictP99
	return t
}

// scoreNull scores A/A canaries of k signals from disjoint groups of the pool.
func scoreNull(_ Config, f Family, n, k int, null []judged) []Row {
	t := newTally(f, n, k, Effect{Kind: None})
	for start := 0; start+k <= len(null); start += k {
		v, kay, p, ok := canaryOutcome(null[start : start+k])
		t.add(v, kay, p, ok, -1)
	}
	return t.rows()
}

// scoreRegressed scores canaries of one regressed signal and k-1 A/A signals
// drawn from the pool (a seeded draw; pool signals are reused across
// canaries, never within one).
func scoreRegressed(cfg Config, f Family, fi, n, k, ei int, e Effect, reg, null []judged) []Row {
	t := newTally(f, n, k, e)
	r := rand.New(rand.NewPCG(cfg.Seed^0xc0ffee, uint64(fi)<<40^uint64(n)<<16^uint64(k)<<8^uint64(ei)))
	sigs := make([]judged, k)
	for _, one := range reg {
		sigs[0] = one
		for j, idx := range sample(r, len(null), k-1) {
			sigs[j+1] = null[idx]
		}
		v, kay, p, ok := canaryOutcome(sigs)
		t.add(v, kay, p, ok, 0)
	}
	return t.rows()
}

// sample draws k distinct indices below n (k small against n).
func sample(r *rand.Rand, n, k int) []int {
	out := make([]int, 0, k)
	for len(out) < k && len(out) < n {
		i := r.IntN(n)
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}
