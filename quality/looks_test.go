package quality

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// looksSource serves one canary's data as a metrics source would: each
// query gets the windows that have ended within its window.
type looksSource struct {
	c *LooksCanary
	d looksData
}

func (s looksSource) Fetch(_ context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	i := slices.IndexFunc(s.c.Config.Signals, func(sig analysis.Signal) bool { return sig.Name == q.Signal })
	if i < 0 {
		return metrics.Result{}, fmt.Errorf("no signal %s", q.Signal)
	}
	side := s.d.baseline
	if scope["track"] == "canary" {
		side = s.d.canary
	}
	smp := side[i].upTo(int(w.End.Sub(w.Start) / s.c.Step))
	var series metrics.Series
	switch sig := s.c.Config.Signals[i]; {
	case smp.Histogram != nil:
		series = metrics.Series{Values: slices.Clone(smp.Histogram.Counts), Bounds: smp.Histogram.Bounds}
	case q.Expr == sig.Query:
		series = metrics.Series{Values: slices.Clone(smp.Values)}
	default:
		series = metrics.Series{Values: slices.Clone(smp.Exposure)}
	}
	return metrics.Result{Series: []metrics.Series{series}}, nil
}

// stepClock jumps to the time it is asked to sleep until.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }

func (c *stepClock) SleepUntil(_ context.Context, t time.Time) error {
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// TestLooksAsRunIntervals checks that the study judges its looks as the
// product does: on the same data, served by a source, analysis.RunIntervals
// gives every look the verdict the study gives it and stops at the same
// look, with sequential off, planned and anytime (which knows the run's
// lifetime: the study's known horizon), for the release canary and the
// latency canary, A/A and regressed.
func TestLooksAsRunIntervals(t *testing.T) {
	release, err := ReleaseCanary()
	if err != nil {
		t.Fatal(err)
	}
	latency, err := LatencyCanary("lognormal-0.3", 0.05)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := LatencyCanary("lognormal-0.3", 0.20)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	scopes := analysis.Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}}
	modes := []struct {
		name string
		seq  analysis.SequentialMode
		mode int // index in LooksModes
	}{{"off", analysis.SequentialOff, 0}, {"planned", analysis.SequentialPlanned, 1}, {"anytime", analysis.SequentialAnytime, 3}} // a run knows its lifetime: the study's known horizon
	var early, failed int
	for _, tc := range []struct {
		c      *LooksCanary
		effect Effect
		every  time.Duration
		rep    int
	}{
		{release, Effect{Kind: None}, 5 * time.Minute, 1},
		{release, Effect{Kind: ErrorRatio, Size: 1.5}, 2 * time.Minute, 2},
		{latency, Effect{Kind: None}, time.Minute, 3},
		{latency, Effect{Kind: Median, Size: 0.25}, 30 * time.Second, 4},
		{wide, Effect{Kind: None}, time.Minute, 5},
		{wide, Effect{Kind: None}, 30 * time.Second, 6},
	} {
		w := &looksWorker{gen: newGenerator()}
		d := tc.c.draw(w, rand.New(rand.NewPCG(99, uint64(tc.rep))), tc.effect)
		times := Cadence{Every: tc.every}.times(nil)
		outs := tc.c.run(w, d, [][]time.Duration{times})
		for _, m := range modes {
			t.Run(fmt.Sprintf("%s %s every %s %s", tc.c.Name, looksEffectLabel(tc.effect), tc.every, m.name), func(t *testing.T) {
				cfg := *tc.c.Config
				cfg.Sequential = m.seq
				req := analysis.IntervalRequest{
					LiveRequest: analysis.LiveRequest{Scopes: scopes, Window: metrics.Window{Start: start, End: start.Add(LooksHorizon), Step: tc.c.Step}},
					Lifetime:    LooksHorizon, Interval: tc.every, Clock: &stepClock{now: start},
				}
				rep, err := analysis.RunIntervals(context.Background(), &cfg, analysis.SourceSet{"prometheus": looksSource{tc.c, d}}, req)
				if err != nil {
					t.Fatal(err)
				}
				o := outs[0][m.mode]
				var got []scoring.Verdict
				for _, iv := range rep.Intervals {
					got = append(got, scoring.Verdict(iv.Verdict))
				}
				// The study goes on after an ordinary fail, to find a critical one.
				want := o.looks
				stop := len(want)
				switch {
				case o.failAt >= 0:
					stop = slices.Index(times, o.failAt) + 1
					failed++
				case o.passAt >= 0:
					stop = slices.Index(times, o.passAt) + 1
					early++
				}
				if !slices.Equal(got, want[:stop]) {
					t.Errorf("RunIntervals judged the looks %v; the study %v (stopping after look %d)", got, want, stop)
				}
				if rep.Verdict != o.verdict {
					t.Errorf("RunIntervals' verdict %s, the study's %s", rep.Verdict, o.verdict)
				}
			})
		}
	}
	// The cases must exercise both ways of stopping early.
	if early == 0 || failed == 0 {
		t.Errorf("%d runs stopped early on a pass and %d on a fail; the cases should have both", early, failed)
	}
}

// TestLooksFirstLookWithoutData checks that a signal without data at the
// first look takes its reference, at the first look with data, from that
// look's share of the horizon, as analysis.RunIntervals does: an anytime
// run whose first look (at 5 s) comes before the first 10-second point
// judges every later look exactly as a run that starts at that later look.
// Taking the first look's share instead would overstate the reference
// twelvefold and move every later boundary.
func TestLooksFirstLookWithoutData(t *testing.T) {
	latency, err := LatencyCanary("lognormal-0.3", 0.05)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		effect Effect
		rep    uint64
	}{
		{Effect{Kind: None}, 1},
		{Effect{Kind: Median, Size: 0.10}, 2},
		{Effect{Kind: Median, Size: 0.25}, 3},
	} {
		t.Run(looksEffectLabel(tc.effect), func(t *testing.T) {
			w := &looksWorker{gen: newGenerator()}
			d := latency.draw(w, rand.New(rand.NewPCG(7, tc.rep)), tc.effect)
			regular := Cadence{Every: time.Minute}.times(nil)
			early := append([]time.Duration{5 * time.Second}, regular...)
			outs := latency.run(w, d, [][]time.Duration{regular, early})
			for _, mode := range []int{2, 3} { // anytime, without and with the horizon known
				got, want := outs[1][mode], outs[0][mode]
				if got.looks[0] != scoring.None {
					t.Fatalf("%s: the look at 5 s, before any point, was judged %s; want none", LooksModes()[mode], got.looks[0])
				}
				if !slices.Equal(got.looks[1:], want.looks) || got.failAt != want.failAt || got.passAt != want.passAt {
					t.Errorf("%s: with a look at 5 s first, the run judged %v (fail at %v, pass at %v); without it %v (fail at %v, pass at %v)",
						LooksModes()[mode], got.looks[1:], got.failAt, got.passAt, want.looks, want.failAt, want.passAt)
				}
			}
		})
	}
}
