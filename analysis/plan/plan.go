package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
)

// Schema identifies the JSON form of Plan.
const Schema = "verdict/plan/v1"

// The bounds of a plan's simulation.
const (
	// DefaultReplicates is the number of simulated canaries per step and
	// signal: the promised power is then within about 1.3 points (one
	// standard error at 80%) of what the model gives.
	DefaultReplicates = 1000
	// MaxReplicates bounds the simulation's work.
	MaxReplicates = 20000
	// MaxPoints is the most points (windows) one side of one step may
	// have, as for a live query (analysis.MaxPoints).
	MaxPoints = analysis.MaxPoints
)

// Input is what a plan is made of.
type Input struct {
	Config *analysis.Config
	// Baseline is the stable version's data, one per signal of the config
	// in its order (analysis.Config.SamplesOf, analysis.FetchSide).
	Baseline []analysis.SignalData
	// Origin names where the baseline came from (a file, a scope and window).
	Origin string
	// BaselineShare is the share of the service's traffic the baseline
	// data served (1, the default: all of it, the stable version before
	// the rollout).
	BaselineShare float64
	// Step is the time one point or window covers, for data that do not
	// say (files without timestamps); data that say win.
	Step time.Duration
	Ramp []Step
	// Replicates is the number of simulated canaries per step and signal
	// (default DefaultReplicates), Seed the simulation's seed.
	Replicates int
	Seed       uint64
	// Parallelism is the number of goroutines simulating (default
	// GOMAXPROCS).
	Parallelism int
}

// Plan is what each step of a ramp can detect, signal by signal. Its JSON
// form is the verdict/plan/v1 contract.
type Plan struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Baseline names the data the plan was made from, and BaselineShare
	// the share of the traffic they served.
	Baseline      string  `json:"baseline"`
	BaselineShare float64 `json:"baselineShare"`
	Confidence    float64 `json:"confidence"`
	// Sequential is the config's sequential mode ("" off, planned,
	// anytime); Horizon the anytime horizon the steps are judged against
	// ("" when each step is its own horizon).
	Sequential string `json:"sequential,omitempty"`
	Horizon    string `json:"horizon,omitempty"`
	Replicates int    `json:"replicates"`
	Seed       uint64 `json:"seed"`
	// Signals describe each signal's baseline as the simulation draws it.
	Signals []SignalModel `json:"signals"`
	Steps   []StepPlan    `json:"steps"`
}

// SignalModel is what the plan read from a signal's baseline.
type SignalModel struct {
	Name      string          `json:"name"`
	Test      judge.Method    `json:"test"`
	Direction judge.Direction `json:"direction"`
	Critical  bool            `json:"critical,omitempty"`
	// Unit is what the signal's changes are measured in (see Unit);
	// AllowedChange and CriticalChange are in it.
	Unit           Unit     `json:"unit,omitempty"`
	AllowedChange  float64  `json:"allowedChange"`
	CriticalChange *float64 `json:"criticalChange,omitempty"`
	// Step is the time one point or window of the data covers.
	Step string `json:"step,omitempty"`
	// Counts and histograms: the baseline's ratio (events per exposure,
	// success ratio, share above the bound; for counts without an
	// exposure, events per window, Per "window"), the service's exposure
	// per minute, what it is of, and the dispersion the judge finds in the
	// baseline's counts.
	Ratio             *float64 `json:"ratio,omitempty"`
	ExposurePerMinute *float64 `json:"exposurePerMinute,omitempty"`
	Per               string   `json:"per,omitempty"`
	Dispersion        *float64 `json:"dispersion,omitempty"`
	// Points: the baseline's median and its lag-one rank autocorrelation.
	Median          *float64 `json:"median,omitempty"`
	Autocorrelation *float64 `json:"autocorrelation,omitempty"`
	// Spread is, for a histogram, the spread (standard deviation on the
	// log scale) of the latency's scale from window to window, shared by
	// both sides, with which simulated baselines show the dispersion the
	// judge finds in the real one's tail (Dispersion).
	Spread *float64 `json:"spread,omitempty"`
	// BucketResolution is, for a histogram's quantile whose buckets are
	// coarser than its allowance, the smallest change of the quantile they
	// resolve at the baseline's quantile (the judge compares the canary's
	// share above the next bound with the baseline's above this one).
	BucketResolution *float64 `json:"bucketResolution,omitempty"`
	// Note says why the signal is not planned, when it is not.
	Note string `json:"note,omitempty"`

	model model
	spec  judge.Spec
	step  time.Duration
}

// StepPlan is one step of the ramp.
type StepPlan struct {
	Weight   float64 `json:"weight"`
	Duration string  `json:"duration"`
	// Tested is the number of signals with a decision p-value at this
	// step when the canary is unchanged: those among which Holm's
	// correction shares the level (with the changed signal, when it has
	// none unchanged: a baseline without errors).
	Tested  int    `json:"tested"`
	Signals []Cell `json:"signals"`
	// Summary says, in sentences, what this step cannot do.
	Summary []string `json:"summary"`
}

// Cell is what one step can detect of one signal.
type Cell struct {
	Name string `json:"name"`
	// Judged says the signal has a verdict at this step (in most
	// simulated canaries); otherwise Note says why not.
	Judged bool   `json:"judged"`
	Note   string `json:"note,omitempty"`
	// Level is the one-sided level a failure needs: the decision level
	// shared by Holm's correction among the step's tested signals (for an
	// anytime config, the anytime p-value is compared with it), when the
	// others are unchanged.
	Level float64 `json:"level,omitempty"`
	// What a step of this length holds on each side, as expected from the
	// baseline: exposure (requests, trials, observations), the canary's
	// events at the baseline's ratio, points.
	CanaryExposure   *float64 `json:"canaryExposure,omitempty"`
	BaselineExposure *float64 `json:"baselineExposure,omitempty"`
	CanaryEvents     *float64 `json:"canaryEvents,omitempty"`
	Points           int      `json:"points,omitempty"`
	// Detect80 and Detect95 are the smallest harmful changes (in the
	// signal's unit, positive for a fall too) that fail the signal in 80%
	// and 95% of simulated canaries; null when even MaxChange does not.
	Detect80  *float64 `json:"detect80"`
	Detect95  *float64 `json:"detect95"`
	MaxChange float64  `json:"maxChange"`
	// Rate80 and Rate95 are the shares of simulated canaries that fail
	// the signal at Detect80 and Detect95: at least 80% and 95%, more
	// where detection jumps past them between two printed changes (a
	// histogram's regression crossing a bucket bound), which the table
	// then shows (see Jump).
	Rate80 *float64 `json:"rate80,omitempty"`
	Rate95 *float64 `json:"rate95,omitempty"`
	// Allowed says whether the step tells the allowance from no change;
	// Critical whether it detects the critical change.
	Allowed  *Check `json:"allowed,omitempty"`
	Critical *Check `json:"critical,omitempty"`

	why string // the judge's reason for no verdict, in a simulated canary
}

// Check is whether a step can do one thing for a signal, and how often.
type Check struct {
	Change float64 `json:"change"`
	// Detectable is Rate ≥ 80%.
	Detectable bool `json:"detectable"`
	// Rate is, for the allowance, the share of simulated unchanged
	// canaries whose data rule out a harmful change beyond it
	// (judge.ShownWithin: a pass with evidence); for the critical change,
	// the share of simulated canaries that change by it whose signal fails.
	Rate float64 `json:"rate"`
}

// Power is the detection rate a plan's figures promise; Power95 the other.
const (
	Power   = 0.80
	Power95 = 0.95
)

// Jump is how far a figure's measured rate (Cell.Rate80, Rate95) may lie
// above its power before the plan prints it beside the figure: that rate,
// not the power, is then what the figure promises.
const Jump = 0.03

// Build simulates every step of the ramp for every signal and says what it
// can detect (see the package doc). It fails on a config the plan cannot
// simulate (judge: kayenta) and on baseline data that do not fit it; a
// signal that cannot be planned (a threshold test, a baseline without
// traffic) gets a note instead.
func Build(ctx context.Context, in Input) (*Plan, error) {
	c := in.Config
	if c == nil {
		return nil, errors.New("a plan needs a config")
	}
	if c.Judge == analysis.JudgeKayenta {
		return nil, &analysis.ConfigError{File: c.File(), Field: "judge", Err: errors.New("verdict plan simulates Verdict's own judge; the Kayenta-compatible judge has no power figures to plan with")}
	}
	if len(in.Baseline) != len(c.Signals) {
		return nil, fmt.Errorf("the baseline has data for %d signals, the config %d", len(in.Baseline), len(c.Signals))
	}
	if len(in.Ramp) == 0 {
		return nil, errors.New("the ramp has no steps")
	}
	share := in.BaselineShare
	if share == 0 {
		share = 1
	}
	if !(share > 0 && share <= 1) {
		return nil, fmt.Errorf("the baseline's share of the traffic %g is not in (0, 1]", share)
	}
	reps := in.Replicates
	if reps == 0 {
		reps = DefaultReplicates
	}
	if reps < 100 || reps > MaxReplicates {
		return nil, fmt.Errorf("%d replicates: give between 100 and %d", reps, MaxReplicates)
	}
	p := &Plan{Schema: Schema, Name: c.Name, Baseline: in.Origin, BaselineShare: share, Confidence: c.Confidence,
		Sequential: string(c.Sequential), Replicates: reps, Seed: in.Seed}
	if h := c.StatedHorizon(); c.Sequential == analysis.SequentialAnytime && h > 0 {
		p.Horizon = formatDuration(h)
	}
	for i, s := range c.Signals {
		sm, err := fitSignal(s, in.Baseline[i], share, in.Step)
		if err != nil {
			return nil, &analysis.DataError{Origin: in.Origin, Msg: fmt.Sprintf("signal %q: %v", s.Name, err)}
		}
		p.Signals = append(p.Signals, sm)
	}
	sim := simulator{plan: p, config: c, replicates: reps, seed: in.Seed, parallelism: in.Parallelism}
	if sim.parallelism <= 0 {
		sim.parallelism = runtime.GOMAXPROCS(0)
	}
	for k, st := range in.Ramp {
		sp, err := sim.step(ctx, k, st)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, sp)
	}
	summarize(p)
	return p, nil
}

// fitSignal reads what the simulation needs from one signal's baseline.
func fitSignal(s analysis.Signal, data analysis.SignalData, share float64, step time.Duration) (SignalModel, error) {
	spec := s.Spec.WithDefaults()
	sm := SignalModel{Name: s.Name, Test: spec.Test, Direction: spec.Direction, Critical: spec.Critical,
		AllowedChange: spec.AllowedChange.Value, spec: spec}
	if spec.CriticalChange != nil {
		sm.CriticalChange = ptr(spec.CriticalChange.Value)
	}
	sm.step = data.Step
	if sm.step == 0 {
		sm.step = step
	}
	if spec.Test == judge.Threshold {
		sm.Note = "a threshold test holds the canary to fixed bounds; it compares nothing with the baseline, so no change is more or less detectable"
		return sm, nil
	}
	if sm.step <= 0 {
		return sm, errors.New("the data do not say how long each point covers (no timestamps); give the step")
	}
	sm.Step = formatDuration(sm.step)
	perMinute := float64(time.Minute) / float64(sm.step)
	switch {
	case spec.Test == judge.Histogram:
		m, err := fitHistogram(spec, data.Sample.Histogram, share)
		if err != nil {
			return sm, err
		}
		sm.model, sm.Unit = m, m.unit()
		sm.ExposurePerMinute, sm.Per = ptr(significant(mean(m.traffic)*perMinute)), "observations"
		if m.above >= 0 {
			sm.Ratio = ptr(significant(1 - m.cdf[m.above]))
		}
		if m.resolution > 0 {
			sm.BucketResolution = ptr(roundTo(m.resolution, 0.001))
		}
		sm.Dispersion = ptr(significant(m.tailPhi))
		if m.sigma > 0 {
			sm.Spread = ptr(significant(m.sigma))
		}
	case spec.Test == judge.Proportion, spec.Test == judge.Rate && spec.Exposure != "":
		m, err := fitCounts(spec, data.Sample, share)
		if err != nil {
			return sm, err
		}
		sm.model, sm.Unit = m, m.unit()
		sm.Ratio, sm.ExposurePerMinute, sm.Per, sm.Dispersion = ptr(significant(m.ratio)), ptr(significant(mean(m.traffic)*perMinute)), exposureName(spec), ptr(significant(m.phi))
	case spec.Test == judge.Rate:
		m, err := fitPerWindow(spec, data.Sample.Values)
		if err != nil {
			return sm, err
		}
		sm.model, sm.Unit = m, Relative
		sm.Ratio, sm.Per, sm.Dispersion = ptr(significant(m.ratio*vastExposure)), "window", ptr(significant(m.phi))
	default:
		m, err := fitPoints(spec, data.Sample.Values)
		if err != nil {
			return sm, err
		}
		sm.model, sm.Unit = m, Relative
		sm.Median, sm.Autocorrelation = ptr(significant(m.median)), ptr(significant(m.rho))
	}
	return sm, nil
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// rounded rounds the two promised changes for print: to the nearest
// multiple of a power of ten at most a twentieth of the gap between them
// (a steep power curve, where a rounding would move the power, keeps more
// digits), with at least two and at most four significant digits. The
// plan measures its power at the change it prints (promise).
func rounded(d80, d95 float64) (float64, float64) {
	unit := roundingUnit(d80, d95)
	return roundTo(d80, unit), roundTo(d95, unit)
}

// roundingUnit is the power of ten rounded figures are multiples of (see
// rounded).
func roundingUnit(d80, d95 float64) float64 {
	gap := d95 - d80
	if math.IsInf(d95, 1) || !(gap > 0) {
		gap = d80 / 5
	}
	unit := math.Pow(10, math.Floor(math.Log10(gap/20)))
	if finite(d80) && d80 > 0 {
		unit = math.Min(unit, math.Pow(10, math.Floor(math.Log10(d80))-1))
		unit = math.Max(unit, math.Pow(10, math.Floor(math.Log10(d80))-3))
	}
	return unit
}

// roundTo rounds v to the nearest multiple of unit (a power of ten),
// written as its decimal digits say.
func roundTo(v, unit float64) float64 {
	if !finite(v) || !(unit > 0) {
		return v
	}
	decimals := max(0, int(-math.Round(math.Log10(unit))))
	r, err := strconv.ParseFloat(strconv.FormatFloat(math.Round(v/unit)*unit, 'f', decimals, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// significant rounds a figure of the report to four significant digits.
func significant(v float64) float64 {
	if !finite(v) || v == 0 {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	if err != nil {
		return v
	}
	return r
}

func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
