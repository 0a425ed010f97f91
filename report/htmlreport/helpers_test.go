package htmlreport

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/file"
	"github.com/verdict-aca/verdict/scoring"
)

// fixtureReport judges a scenario of fixtures/ offline, as `verdict judge` does.
func fixtureReport(t testing.TB, scenario string) *analysis.Report {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join("..", "..", "fixtures", scenario)
	cfg, err := analysis.LoadConfig(ctx, filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var sides [2]analysis.SeriesSet
	for i, name := range []string{"baseline.csv", "canary.csv"} {
		path := filepath.Join(dir, name)
		series, err := file.Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		sides[i] = analysis.SeriesSet{Origin: path, Series: series}
	}
	rep, err := analysis.JudgeSeries(cfg, sides[0], sides[1])
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// syntheticReport is a report of n signals with points per side each,
// judged by the real judge: every fifth signal's canary is shifted up by
// 30%, so the page mixes failures and passes. It stands for a large
// config in size and render measurements.
func syntheticReport(n, points int) *analysis.Report {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 6, 4, 17, 0, 0, 0, time.UTC)
	rep := &analysis.Report{
		Schema: analysis.ReportSchema, Name: fmt.Sprintf("synthetic-%d-signals", n), Judge: analysis.JudgeVerdict,
		Thresholds: scoring.Thresholds{Pass: 95, Marginal: 75},
	}
	passes := 0
	for i := range n {
		name := fmt.Sprintf("signal_%02d_latency_ms", i+1)
		level := 50 + 10*float64(i%7)
		var b, c metrics.Series
		b.Signal, c.Signal = name, name
		for k := range points {
			ts := start.Add(time.Duration(k) * 10 * time.Second)
			wave := 1 + 0.1*math.Sin(float64(k)/30)
			b.Times, c.Times = append(b.Times, ts), append(c.Times, ts)
			b.Values = append(b.Values, level*wave*(1+0.08*rng.NormFloat64()))
			shift := 1.0
			if i%5 == 0 {
				shift = 1.3
			}
			c.Values = append(c.Values, shift*level*wave*(1+0.08*rng.NormFloat64()))
		}
		res := judge.Judge(judge.Spec{Name: name, Group: "latency", Direction: judge.Increase, AllowedChange: judge.Rel(0.1)}, b.Values, c.Values, judge.Options{})
		if res.Classification == judge.Pass {
			passes++
		}
		rep.Signals = append(rep.Signals, res)
		rep.Series = append(rep.Series, analysis.SignalSeries{Name: name, Baseline: b, Canary: c})
	}
	score := 100 * float64(passes) / float64(n)
	rep.Score = &score
	rep.Verdict = "fail"
	rep.Reason = fmt.Sprintf("fail: score %.4g is below the marginal threshold 75; %d signals failed", score, n-passes)
	return rep
}
