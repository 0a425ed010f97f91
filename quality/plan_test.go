package quality

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/plan"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/scoring"
)

// planConfig judges the traffic study's release signals: errors per
// request, checkout completion with a 2% allowance, and the p99 from the
// native histogram with a 10% allowance.
const planConfig = `name: release
signals:
  - name: error_ratio
    test: rate
    series: errors
    exposure: requests
    direction: increase
  - name: checkout_completion
    test: proportion
    series: completions
    trials: trials
    direction: decrease
    allowedChange: 2%
  - name: latency_p99
    test: histogram
    series: latency
    quantile: 0.99
    direction: increase
    allowedChange: 10%
`

// samplesOf are a side's release signals as the judge reads them.
func samplesOf(s side) []judge.Sample {
	return []judge.Sample{
		{Values: s.errors, Exposure: s.requests},
		{Values: s.completions, Exposure: s.trials},
		{Histogram: &s.native},
	}
}

// TestPlanAgainstTrafficModel checks verdict plan's promise on canaries it
// did not draw: the traffic study's generator (shared traffic ramps,
// drifts and incidents, errors in clusters of retries, checkouts in
// sessions, lognormal latencies in a native histogram) gives two hours of
// the stable version, the plan is made from them, and each printed
// figure is injected into canaries of the generator (the error ratio
// multiplied, the completion lowered, every latency slowed) at the step's
// split and length, judged whole and scored. Where the detection rate
// strays from the promise, the plan's model of the baseline (independent
// sides, clusters of one size, a pooled latency distribution) is what
// differs. It runs only with VERDICT_PLAN_LONG=1; docs/plan.md reports
// it.
func TestPlanAgainstTrafficModel(t *testing.T) {
	if os.Getenv("VERDICT_PLAN_LONG") == "" {
		t.Skip("set VERDICT_PLAN_LONG=1 to check verdict plan against the traffic study's generator")
	}
	const (
		perMinute = 2000
		canaries  = 1000
		ramp      = "5%:30m,25%:1h,50%:1h"
	)
	g := newGenerator()
	stable := g.draw(rand.New(rand.NewPCG(2026, 15)), TrafficScenario{PerMinute: perMinute, Split: 0, Minutes: 120}).baseline
	cfg, err := analysis.ParseConfig("release.yaml", []byte(planConfig))
	if err != nil {
		t.Fatal(err)
	}
	var data []analysis.SignalData
	for i, s := range samplesOf(stable) {
		data = append(data, analysis.SignalData{Signal: cfg.Signals[i].Name, Sample: s, Step: time.Minute})
	}
	steps, err := plan.ParseRamp(ramp)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(context.Background(), plan.Input{Config: cfg, Baseline: data, Origin: "the traffic model", Ramp: steps, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	rows := []string{"| step | signal | change | promised | detected |", "|---|---|---|---|---|"}
	for k, sp := range p.Steps {
		for i, c := range sp.Signals {
			for _, promise := range []struct {
				power float64
				delta *float64
			}{{plan.Power, c.Detect80}, {plan.Power95, c.Detect95}} {
				if promise.delta == nil {
					continue
				}
				d := *promise.delta
				effect := []Effect{{ErrorRatio, 1 + d}, {Completion, d}, {Median, d}}[i]
				sc := TrafficScenario{PerMinute: perMinute, Split: steps[k].Weight, Minutes: int(steps[k].Duration / time.Minute), Effect: effect}
				r := rand.New(rand.NewPCG(uint64(k), uint64(2*i)+uint64(promise.power*100)))
				hits := 0
				for range canaries {
					pair := g.draw(r, sc)
					base, can := samplesOf(pair.baseline), samplesOf(pair.canary)
					results := make([]judge.Result, len(base))
					for j := range base {
						results[j] = judge.JudgeSamples(cfg.Signals[j].Spec, base[j], can[j], judge.Options{Confidence: cfg.Confidence})
					}
					scoring.Score(cfg.ScoringSpec(), results)
					want := judge.High
					if i == 1 {
						want = judge.Low
					}
					if results[i].Failed && results[i].Classification == want {
						hits++
					}
				}
				got := float64(hits) / canaries
				rows = append(rows, fmt.Sprintf("| %s | %s | %s | %.0f%% | %.1f%% |", steps[k], c.Name, signed(d, i == 1), 100*promise.power, 100*got))
			}
		}
	}
	t.Log("\n" + strings.Join(rows, "\n"))
}

// signed writes a relative change with its harmful sign.
func signed(d float64, fall bool) string {
	if fall {
		return fmt.Sprintf("-%.3g%%", 100*d)
	}
	return fmt.Sprintf("+%.3g%%", 100*d)
}
