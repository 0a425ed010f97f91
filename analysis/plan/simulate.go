package plan

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
)

// simulator runs the simulated canaries of a plan.
type simulator struct {
	plan        *Plan
	config      *analysis.Config
	replicates  int
	seed        uint64
	parallelism int
}

// chunk is the number of replicates one task simulates.
const chunk = 25

// A replicate's smallest detected change is found within a factor of
// resolution (0.5%), between most·minChangeRatio and the model's largest
// change, most.
const (
	resolution     = 1.005
	minChangeRatio = 1e-5
)

// options are the judge's options for a signal at a step: the config's
// confidence, and for an anytime config the look at the step's end.
func (s *simulator) options(sm *SignalModel, st Step) judge.Options {
	o := judge.Options{Confidence: s.config.Confidence, Step: sm.step, Elapsed: st.Duration}
	if s.config.Sequential == analysis.SequentialAnytime {
		// Each step is an anytime analysis of its own: tuned to the
		// config's horizon when it sets one, else to the step (a
		// multi-interval run whose lifetime is the step). The step's end
		// is the look the plan judges, with the mixture boundary even
		// when the horizon is known: the known horizon's boundary depends
		// on the looks before, which the plan does not know. (It is
		// higher than the mixture's early in the horizon, lower near its
		// end.)
		fraction := 1.0
		if h := s.config.StatedHorizon(); h > 0 {
			fraction = math.Min(1, float64(st.Duration)/float64(h))
		}
		o.Anytime = &judge.Anytime{Fraction: fraction}
	}
	return o
}

// shapeOf is what a step makes of a signal.
func shapeOf(sm *SignalModel, st Step) shape {
	return shape{windows: int(st.Duration / sm.step), canary: st.Weight, stable: 1 - st.Weight}
}

// rngFor is the random source of one replicate of one signal at one step
// in one phase: the same whatever the order the replicates run in.
func (s *simulator) rngFor(phase, step, signal, rep int) *rand.Rand {
	return rand.New(rand.NewPCG(s.seed, uint64(phase)<<60|uint64(step)<<44|uint64(signal)<<28|uint64(rep)))
}

// unchanged is what one simulated unchanged canary showed of a signal.
type unchanged struct {
	judged bool // a verdict: not nodata for too little data, not an error
	tested bool // a decision p-value, which takes part in Holm's correction
	shown  bool // the data rule out a harmful change beyond the allowance
	reason string
}

// step simulates one step of the ramp for every signal.
func (s *simulator) step(ctx context.Context, k int, st Step) (StepPlan, error) {
	p := s.plan
	sp := StepPlan{Weight: st.Weight, Duration: formatDuration(st.Duration), Signals: make([]Cell, len(p.Signals))}
	active := make([]bool, len(p.Signals))
	for i := range p.Signals {
		sm := &p.Signals[i]
		cell := &sp.Signals[i]
		cell.Name = sm.Name
		if sm.model == nil {
			cell.Note = sm.Note
			continue
		}
		sh := shapeOf(sm, st)
		switch {
		case sh.windows < 1:
			cell.Note = fmt.Sprintf("the step is shorter than one point of the data (%s)", formatDuration(sm.step))
			continue
		case sh.windows > MaxPoints:
			return sp, &analysis.BoundError{Field: "--ramp", Msg: fmt.Sprintf("step %s asks for %d points of signal %s (one per %s), more than %d; give data with a coarser step or a shorter step",
				st, sh.windows, sm.Name, formatDuration(sm.step), MaxPoints)}
		}
		sm.model.expect(sh, cell)
		cell.MaxChange = sm.model.maxChange()
		active[i] = true
	}

	// The unchanged canary: which signals have a test at this step, and
	// how often the data show each within its allowance.
	aa := make([][]unchanged, len(p.Signals))
	for i := range aa {
		if active[i] {
			aa[i] = make([]unchanged, s.replicates)
		}
	}
	err := s.each(ctx, active, [2]int{0, s.replicates}, func(w *judge.Workspace, d *draws, i, rep int) {
		sm := &p.Signals[i]
		sh := shapeOf(sm, st)
		sm.model.draw(sh, s.rngFor(0, k, i, rep), d)
		r := w.JudgeSamples(sm.spec, sm.model.baseline(sh, d), sm.model.canary(sh, d, 0), s.options(sm, st))
		aa[i][rep] = unchanged{
			// requireEvidence turns a pass not yet shown within the
			// allowance into nodata (gate undecided): a verdict all the same.
			judged: r.Classification != judge.NoData && r.Classification != judge.Error || r.Gate == judge.GateUndecided,
			tested: r.Test != nil && r.Test.DecisionPValue != nil,
			shown:  judge.ShownWithin(sm.spec, r),
			reason: r.Reason,
		}
	})
	if err != nil {
		return sp, err
	}
	judged := make([]bool, len(p.Signals))
	withP := make([]bool, len(p.Signals))
	for i := range aa {
		if !active[i] {
			continue
		}
		var n, np, shown int
		reason := ""
		for _, u := range aa[i] {
			if u.judged {
				n++
			} else if reason == "" {
				reason = u.reason
			}
			if u.tested {
				np++
			}
			if u.shown {
				shown++
			}
		}
		if 2*np >= s.replicates {
			withP[i] = true
			sp.Tested++
		}
		cell := &sp.Signals[i]
		if 2*n < s.replicates {
			cell.Note = fmt.Sprintf("no verdict at this step in %s of simulated canaries: %s", percent(1-float64(n)/float64(s.replicates)), reason)
			cell.why = reason
			continue
		}
		judged[i] = true
		sm := &p.Signals[i]
		if sm.AllowedChange > 0 {
			rate := float64(shown) / float64(s.replicates)
			cell.Allowed = &Check{Change: sm.AllowedChange, Rate: rate, Detectable: rate >= Power}
		}
	}

	// The smallest change each replicate detects, with the level shared
	// by Holm's correction among the signal and the others that have a
	// decision p-value when unchanged.
	found := make([][]float64, len(p.Signals))
	family := make([]float64, len(p.Signals))
	for i := range found {
		if judged[i] {
			found[i] = make([]float64, s.replicates)
			family[i] = float64(sp.Tested)
			if !withP[i] {
				family[i]++
			}
		}
	}
	guess := make([]float64, len(p.Signals))
	search := func(w *judge.Workspace, d *draws, i, rep int) {
		sm := &p.Signals[i]
		sh := shapeOf(sm, st)
		opts := s.options(sm, st)
		sm.model.draw(sh, s.rngFor(1, k, i, rep), d)
		base := sm.model.baseline(sh, d)
		detects := func(delta float64) bool {
			r := w.JudgeSamples(sm.spec, base, sm.model.canary(sh, d, delta), opts)
			return detected(r, sm.spec.Direction, family[i])
		}
		found[i][rep] = smallestDetected(detects, guess[i], sm.model.maxChange())
	}
	// A pilot of a few replicates, searched from a small change up, gives
	// the others a guess to start from (its median).
	pilot := min(chunk, s.replicates)
	for i := range guess {
		if judged[i] {
			guess[i] = p.Signals[i].model.maxChange() / 64
		}
	}
	if err := s.each(ctx, judged, [2]int{0, pilot}, search); err != nil {
		return sp, err
	}
	for i := range guess {
		if judged[i] {
			t := slices.Sorted(slices.Values(found[i][:pilot]))
			guess[i] = t[len(t)/2]
			if math.IsInf(guess[i], 1) || guess[i] == 0 {
				// Start low: a histogram's far larger changes (beyond its
				// last bucket) may not be detected again.
				guess[i] = p.Signals[i].model.maxChange() / 64
			}
		}
	}
	if err := s.each(ctx, judged, [2]int{pilot, s.replicates}, search); err != nil {
		return sp, err
	}
	for i := range found {
		if !judged[i] {
			continue
		}
		sm := &p.Signals[i]
		cell := &sp.Signals[i]
		cell.Judged = true
		cell.Level = roundTo(judge.DecisionLevel(judge.Options{Confidence: s.config.Confidence}, sm.spec.Direction)/family[i], 1e-9)
		t := found[i]
		slices.Sort(t)
		q80, q95 := quantile(t, Power), quantile(t, Power95)
		unit := roundingUnit(q80, q95)
		power := func(delta float64) (float64, error) { return s.power(ctx, k, st, i, family[i], delta) }
		d80, r80, err := promise(power, Power, q80, unit, sm.model.maxChange())
		if err != nil {
			return sp, err
		}
		d95, r95, err := promise(power, Power95, math.Max(q95, d80), unit, sm.model.maxChange())
		if err != nil {
			return sp, err
		}
		cell.Detect80, cell.Detect95 = ptr(d80), ptr(d95)
		if finite(d80) {
			cell.Rate80 = ptr(r80)
		}
		if finite(d95) {
			cell.Rate95 = ptr(r95)
		}
		if c := sm.CriticalChange; c != nil {
			rate, err := power(*c)
			if err != nil {
				return sp, err
			}
			cell.Critical = &Check{Change: *c, Rate: rate, Detectable: rate >= Power}
		}
	}
	return sp, nil
}

// maxPromiseTries bounds the detection rates a promised change is checked
// with.
const maxPromiseTries = 24

// promise is the smallest change on the rounding grid (multiples of unit),
// from start up to most, at which the replicates detect a share of at
// least p: the change the plan prints. start is where the replicates'
// smallest detected changes put it; the rates are measured at each
// candidate, since detection need not grow with the change (a
// histogram's compared bound moves with it), and then only the measured
// rate keeps the promise. Candidates step up by one unit, then by doubling
// steps, and the last step is halved back. It returns the change and the
// rate measured there (at least p, more where detection jumps past p
// between two candidates); +Inf when no change up to most reaches p.
func promise(power func(float64) (float64, error), p, start, unit, most float64) (float64, float64, error) {
	if !finite(start) {
		return math.Inf(1), 0, nil
	}
	if !(unit > 0) || !finite(unit) {
		unit = math.Pow(10, math.Floor(math.Log10(most*minChangeRatio)))
	}
	d := roundTo(start, unit)
	short := -1.0 // the largest candidate that fell short
	stride := unit
	for range maxPromiseTries {
		capped := d >= most
		if capped {
			d = most
		}
		rate, err := power(d)
		if err != nil {
			return 0, 0, err
		}
		if rate >= p {
			// Halve back between the last shortfall and d.
			for short >= 0 && d-short > unit*1.5 {
				mid := roundTo((short+d)/2, unit)
				if mid <= short || mid >= d {
					break
				}
				r, err := power(mid)
				if err != nil {
					return 0, 0, err
				}
				if r >= p {
					d, rate = mid, r
				} else {
					short = mid
				}
			}
			return d, rate, nil
		}
		if capped {
			return math.Inf(1), 0, nil
		}
		short = d
		d = roundTo(d+stride, unit)
		if d <= short {
			d = short + unit
		}
		stride *= 2
	}
	return math.Inf(1), 0, nil
}

// power is the share of the step's replicates (those the search drew)
// that detect a change delta of signal i.
func (s *simulator) power(ctx context.Context, k int, st Step, i int, family, delta float64) (float64, error) {
	p := s.plan
	which := make([]bool, len(p.Signals))
	which[i] = true
	hits := make([]bool, s.replicates)
	err := s.each(ctx, which, [2]int{0, s.replicates}, func(w *judge.Workspace, d *draws, i, rep int) {
		sm := &p.Signals[i]
		sh := shapeOf(sm, st)
		sm.model.draw(sh, s.rngFor(1, k, i, rep), d)
		r := w.JudgeSamples(sm.spec, sm.model.baseline(sh, d), sm.model.canary(sh, d, delta), s.options(sm, st))
		hits[rep] = detected(r, sm.spec.Direction, family)
	})
	n := 0
	for _, h := range hits {
		if h {
			n++
		}
	}
	return float64(n) / float64(s.replicates), err
}

// quantile is the smallest of the sorted values at or below which a share
// q of them lie.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// detected says whether a simulated canary's signal failed on the harmful
// side with evidence that survives Holm's correction among m tested
// signals: its decision p-value within its level over m, which, when the
// other signals are unchanged, is the first step of Holm's procedure
// (judge.AdjustFamily) that a regressed signal must pass.
func detected(r judge.Result, d judge.Direction, m float64) bool {
	if !r.Failed || r.Test == nil || r.Test.DecisionPValue == nil {
		return false
	}
	want := judge.High
	if d == judge.Decrease {
		want = judge.Low
	}
	return r.Classification == want && *r.Test.DecisionPValue <= r.Test.DecisionLevel/math.Max(m, 1)
}

// smallestDetected finds the smallest change up to most that a replicate
// detects, approaching it from below: from the guess it halves while the
// change is detected, or doubles while it is not, and then halves the
// bracket (on the log scale) to within resolution. It is 0 when the
// replicate detects even most·minChangeRatio (an unchanged canary failing),
// +Inf when it does not detect most. Approaching from below finds where
// detection starts even when a far larger change, one the judge's data
// cannot show (a latency beyond a histogram's last bucket), is not
// detected again.
func smallestDetected(detects func(float64) bool, guess, most float64) float64 {
	least := most * minChangeRatio
	g := math.Min(math.Max(guess, least), most)
	var below, above float64 // not detected at below; detected at above
	if detects(g) {
		above = g
		for {
			next := above / 2
			if next <= least {
				if detects(least) {
					return 0
				}
				below = least
				break
			}
			if !detects(next) {
				below = next
				break
			}
			above = next
		}
	} else {
		below = g
		for {
			if below >= most {
				return math.Inf(1)
			}
			next := math.Min(below*2, most)
			if detects(next) {
				above = next
				break
			}
			below = next
		}
	}
	for above > below*resolution {
		mid := math.Sqrt(below * above)
		if detects(mid) {
			above = mid
		} else {
			below = mid
		}
	}
	return above
}

// each runs f for the replicates in [reps[0], reps[1]) of every signal
// marked in which, in
// parallel, each goroutine with its own Workspace and draws.
func (s *simulator) each(ctx context.Context, which []bool, reps [2]int, f func(w *judge.Workspace, d *draws, signal, rep int)) error {
	type task struct{ signal, from int }
	tasks := make(chan task)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(tasks)
		for i, on := range which {
			if !on {
				continue
			}
			for from := reps[0]; from < reps[1]; from += chunk {
				select {
				case tasks <- task{i, from}:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		}
		return nil
	})
	for range s.parallelism {
		g.Go(func() error {
			w := new(judge.Workspace)
			ds := make([]draws, len(which))
			for t := range tasks {
				if err := gctx.Err(); err != nil {
					return err
				}
				for rep := t.from; rep < min(t.from+chunk, reps[1]); rep++ {
					f(w, &ds[t.signal], t.signal, rep)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("simulating the plan: %w", err)
	}
	return nil
}

// percent writes a share as a whole percentage: "83%".
func percent(f float64) string {
	return fmt.Sprintf("%.0f%%", 100*f)
}
