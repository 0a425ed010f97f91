package plan

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics/file"
	"github.com/verdict-aca/verdict/scoring"
)

// loadFixture reads a fixture's config (changed by edit, when given) and
// its baseline as a plan reads them.
func loadFixture(t testing.TB, name string, edit func(*analysis.Config)) (*analysis.Config, []analysis.SignalData) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join("..", "..", "fixtures", name)
	cfg, err := analysis.LoadConfig(ctx, filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	series, err := file.Load(ctx, filepath.Join(dir, "baseline.csv"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := cfg.SamplesOf(analysis.SeriesSet{Origin: "baseline.csv", Series: series})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, data
}

// stepCanaries are canaries of one step of a plan simulated anew, apart
// from the plan's own simulation (another phase of the random streams),
// every signal unchanged and judged: rows[rep] holds canary rep's results,
// signal i's at pos[i] (-1 when it is not simulated at this step).
type stepCanaries struct {
	k    int
	st   Step
	rows [][]judge.Result
	pos  []int
}

// simulateStep draws and judges n unchanged canaries of step k.
func simulateStep(p *Plan, c *analysis.Config, k int, st Step, n int) *stepCanaries {
	sim := simulator{plan: p, config: c, replicates: n, seed: p.Seed}
	sc := &stepCanaries{k: k, st: st, rows: make([][]judge.Result, n), pos: make([]int, len(p.Signals))}
	var w judge.Workspace
	var d draws
	for i := range p.Signals {
		sc.pos[i] = -1
		sm := &p.Signals[i]
		sh := shapeOf(sm, st)
		if sm.model == nil || sh.windows < 1 {
			continue
		}
		sc.pos[i] = len(sc.rows[0])
		for rep := range n {
			sm.model.draw(sh, sim.rngFor(2, k, i, rep), &d)
			sc.rows[rep] = append(sc.rows[rep], w.JudgeSamples(sm.spec, sm.model.baseline(sh, &d), sm.model.canary(sh, &d, 0), sim.options(sm, st)))
		}
	}
	return sc
}

// detectionRate injects a harmful change delta into signal target of each
// of the step's canaries (the same draws), the other signals unchanged,
// judges each whole canary as an analysis does (every signal through the
// judge, then scoring, which applies Holm's correction across the
// signals) and returns the share in which target failed on its harmful
// side.
func (sc *stepCanaries) detectionRate(p *Plan, c *analysis.Config, target int, delta float64) float64 {
	sim := simulator{plan: p, config: c, replicates: len(sc.rows), seed: p.Seed}
	sm := &p.Signals[target]
	sh := shapeOf(sm, sc.st)
	var w judge.Workspace
	var d draws
	want := judge.High
	if sm.Direction == judge.Decrease {
		want = judge.Low
	}
	hits := 0
	results := make([]judge.Result, len(sc.rows[0]))
	for rep, row := range sc.rows {
		copy(results, row) // scoring writes to its results, never through their pointers
		sm.model.draw(sh, sim.rngFor(2, sc.k, target, rep), &d)
		results[sc.pos[target]] = w.JudgeSamples(sm.spec, sm.model.baseline(sh, &d), sm.model.canary(sh, &d, delta), sim.options(sm, sc.st))
		scoring.Score(c.ScoringSpec(), results)
		if r := results[sc.pos[target]]; r.Failed && r.Classification == want {
			hits++
		}
	}
	return float64(hits) / float64(len(sc.rows))
}

// promiseCase is a config with its baseline, and a ramp to plan.
type promiseCase struct {
	name string
	load func(testing.TB) (*analysis.Config, []analysis.SignalData)
	ramp string
}

// fixture is a promiseCase of a fixture's config and baseline, its config
// changed by edit when given.
func fixture(name string, edit func(*analysis.Config), ramp string) promiseCase {
	label := name
	if edit != nil {
		label += " (anytime)"
	}
	return promiseCase{label, func(t testing.TB) (*analysis.Config, []analysis.SignalData) { return loadFixture(t, name, edit) }, ramp}
}

func anytime(c *analysis.Config) { c.Sequential = analysis.SequentialAnytime }

// checkPromises plans each case and simulates every printed figure anew
// (canaries per figure), failing t where the detection rate is more than
// 5 points from the promise. It returns one Markdown row per figure.
func checkPromises(t *testing.T, cases []promiseCase, replicates, canaries int) []string {
	rows := make([][]string, len(cases))
	// The group returns once its parallel cases have ended.
	t.Run("cases", func(t *testing.T) {
		for ci, tc := range cases {
			checkCase(t, ci, tc, rows, replicates, canaries)
		}
	})
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// checkCase is checkPromises' check of one case, in parallel with the
// others; its rows go to rows[ci].
func checkCase(t *testing.T, ci int, tc promiseCase, rows [][]string, replicates, canaries int) {
	const tolerance = 0.05
	name := tc.name
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		c, data := tc.load(t)
		ramp, err := ParseRamp(tc.ramp)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(context.Background(), Input{Config: c, Baseline: data, Origin: name, Ramp: ramp, Replicates: replicates, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for k, sp := range p.Steps {
			var canariesOf *stepCanaries
			for i, cell := range sp.Signals {
				for _, promise := range []struct {
					power float64
					delta *float64
				}{{Promised(cell, Power), cell.Detect80}, {Promised(cell, Power95), cell.Detect95}} {
					if promise.delta == nil {
						continue
					}
					if canariesOf == nil {
						canariesOf = simulateStep(p, c, k, ramp[k], canaries)
					}
					got := canariesOf.detectionRate(p, c, i, *promise.delta)
					what := fmt.Sprintf("%s %s at %s", ramp[k], cell.Name, formatChange(p.Signals[i], *promise.delta))
					t.Logf("%s: promised %s, detected in %.1f%%", what, percent(promise.power), 100*got)
					rows[ci] = append(rows[ci], fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %.1f%% |", name, ramp[k], cell.Name, p.Signals[i].Test,
						formatChange(p.Signals[i], *promise.delta), percent(promise.power), 100*got))
					if math.Abs(got-promise.power) > tolerance {
						t.Errorf("%s: the plan promised detection in %s of canaries; simulated canaries detected it in %.1f%%", what, percent(promise.power), 100*got)
					}
					checked++
				}
			}
		}
		if checked < 4 {
			t.Errorf("only %d figures were checked; the fixture should give more", checked)
		}
	})
}

// TestPlanKeepsItsPromise is the plan's check: for every step and signal
// it prints, canaries simulated at that step with the printed 80%-power
// (95%-power) change injected, judged whole by the real judge and scorer,
// fail that signal in 80% (95%) of cases, within 5 points. The cases cover
// counts with their traffic (a rate with exposure, a proportion, in
// percentages and in points), latency histograms (a quantile, a share
// above a bound), rank tests of points (mann-whitney, quantile) and counts
// per window, and an anytime config, each at one step.
// TestPlanKeepsItsPromiseLong (docs/plan.md) checks whole ramps.
func TestPlanKeepsItsPromise(t *testing.T) {
	checkPromises(t, []promiseCase{
		fixture("error-ratio-5pct", nil, "5%:30m"),
		{"every kind", kindsBaseline, "25%:30m"},
		fixture("checkout-completion-drop", anytime, "10%:30m"),
	}, 1000, 1000)
}

// TestPlanKeepsItsPromiseLong checks a whole ramp from 1% to 50% for
// each case, with twice the simulated canaries, and prints the table
// docs/plan.md shows. It runs only with VERDICT_PLAN_LONG=1.
func TestPlanKeepsItsPromiseLong(t *testing.T) {
	if os.Getenv("VERDICT_PLAN_LONG") == "" {
		t.Skip("set VERDICT_PLAN_LONG=1 to run the long check of verdict plan")
	}
	const ramp = "1%:15m,5%:30m,25%:1h,50%:1h"
	rows := checkPromises(t, []promiseCase{
		fixture("error-ratio-5pct", nil, ramp),
		fixture("checkout-completion-drop", nil, ramp),
		fixture("histogram-latency-regression", nil, ramp),
		fixture("healthy", nil, ramp),
		{"every kind", kindsBaseline, ramp},
		fixture("error-ratio-5pct", anytime, ramp),
	}, 2000, 2000)
	t.Log("\n| fixture | step | signal | test | change | promised | detected |\n|---|---|---|---|---|---|---|\n" + strings.Join(rows, "\n"))
}
