package reporttest

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
)

// SequentialConfig is the config of the sequential scenarios: one signal
// per direction, judged anytime over a planned hour.
const SequentialConfig = `name: shop
sequential: anytime
signals:
  - {name: latency, query: 'avg(latency{track="{{.track}}"})', direction: increase, allowedChange: 10%}
  - {name: throughput, query: 'sum(rate(orders{track="{{.track}}"}[1m]))', direction: decrease, allowedChange: 10%}
  - {name: cpu, query: 'avg(cpu{track="{{.track}}"})', direction: either, allowedChange: 20%}
`

// noise is the spread of the scenarios' points: each is its level times
// exp(noise·Z), Z standard normal.
const noise = 0.3

// SequentialStep is the spacing of the scenarios' points.
const SequentialStep = 10 * time.Second

// Scenario says how the canary of a sequential scenario differs from its
// baseline: each signal's canary is its baseline's level times the factor
// (1 when absent), with log-normal noise on both sides.
type Scenario map[string]float64

// Sequential runs a multi-interval analysis of SequentialConfig as the
// service does (analysis.RunIntervals), on a fake source and a fake clock
// that never waits: looks every interval over lifetime from Start, each
// signal's points drawn with a fixed seed per signal and side, so that
// every look sees the points of the ones before it.
func Sequential(scenario Scenario, lifetime, interval time.Duration) (*analysis.Report, error) {
	cfg, err := analysis.ParseConfig("shop.yaml", []byte(SequentialConfig))
	if err != nil {
		return nil, err
	}
	src := &sequentialSource{scenario: scenario, points: int(lifetime / SequentialStep)}
	req := analysis.IntervalRequest{
		LiveRequest: analysis.LiveRequest{
			Scopes: analysis.Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}},
			Window: metrics.Window{Start: Start, End: Start.Add(lifetime), Step: SequentialStep},
		},
		Lifetime: lifetime, Interval: interval, Clock: &fakeClock{now: Start},
	}
	return analysis.RunIntervals(context.Background(), cfg, analysis.SourceSet{"prometheus": src}, req)
}

// sequentialSource answers every query with the scenario's points in the
// window asked for.
type sequentialSource struct {
	scenario Scenario
	points   int
}

func (s *sequentialSource) Fetch(_ context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	track := scope["track"]
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", q.Signal, track)
	rng := rand.New(rand.NewPCG(h.Sum64(), 1))
	level := 100.0
	if f, ok := s.scenario[q.Signal]; ok && track == "canary" {
		level *= f
	}
	var series metrics.Series
	for i := range s.points {
		v := level * math.Exp(noise*rng.NormFloat64())
		at := Start.Add(time.Duration(i) * SequentialStep)
		if at.Before(w.Start) || !at.Before(w.End) {
			continue
		}
		series.Times = append(series.Times, at)
		series.Values = append(series.Values, v)
	}
	return metrics.Result{Series: []metrics.Series{series}}, nil
}

// fakeClock is at the end of every interval as soon as it is asked to wait.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(_ context.Context, t time.Time) error {
	if t.After(c.now) {
		c.now = t
	}
	return nil
}
