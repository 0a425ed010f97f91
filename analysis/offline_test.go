package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// TestJudgeSeriesAlias checks that two signals can judge one input series
// through series:, each with its own test, and that a missing aliased
// series is named in the error.
func TestJudgeSeriesAlias(t *testing.T) {
	const config = `name: tail
signals:
  - {name: latency_median, series: latency_ms, direction: increase}
  - {name: latency_p99, series: latency_ms, direction: increase, test: quantile}
`
	c, err := ParseConfig("tail.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	// The canary's slowest tenth is twice as slow; its median is not.
	rng := rand.New(rand.NewPCG(1, 2))
	base, can := make([]float64, 1000), make([]float64, 1000)
	for i := range base {
		base[i] = math.Round(100 * math.Exp(0.3*rng.NormFloat64()))
		v := 100 * math.Exp(0.3*rng.NormFloat64())
		if v > 147 { // about the 90th percentile
			v *= 2
		}
		can[i] = math.Round(v)
	}
	rep, err := JudgeSeries(c,
		SeriesSet{Origin: "base.csv", Series: []metrics.Series{{Signal: "latency_ms", Values: base}}},
		SeriesSet{Origin: "canary.csv", Series: []metrics.Series{{Signal: "latency_ms", Values: can}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signals) != 2 {
		t.Fatalf("%d signals judged, want 2", len(rep.Signals))
	}
	median, p99 := rep.Signals[0], rep.Signals[1]
	if median.Baseline.Count != 1000 || p99.Baseline.Count != 1000 || p99.Canary.Count != 1000 {
		t.Fatalf("counts %d, %d, %d: both signals must read all of latency_ms", median.Baseline.Count, p99.Baseline.Count, p99.Canary.Count)
	}
	if median.Test == nil || median.Test.Method != judge.MannWhitney || p99.Test == nil || p99.Test.Method != judge.Quantile {
		t.Fatalf("tests %+v and %+v: want mann-whitney and quantile", median.Test, p99.Test)
	}
	if p99.Classification != judge.High {
		t.Errorf("p99 signal is %s (%s), want high: the tail doubled", p99.Classification, p99.Reason)
	}
	if len(rep.Series) != 2 || len(rep.Series[1].Canary.Values) != 1000 {
		t.Errorf("the report's series for the plots: %d signals", len(rep.Series))
	}

	_, err = JudgeSeries(c,
		SeriesSet{Origin: "base.csv", Series: []metrics.Series{{Signal: "latency_median", Values: base}}},
		SeriesSet{Origin: "canary.csv", Series: []metrics.Series{{Signal: "latency_median", Values: can}}})
	var de *DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), `signal "latency_median" is not in the config`) {
		t.Errorf("a series named after a signal with series: gave %v; want the series refused as unknown", err)
	}
	_, err = JudgeSeries(c,
		SeriesSet{Origin: "base.csv", Series: []metrics.Series{{Signal: "other", Values: base}}},
		SeriesSet{Origin: "canary.csv"})
	if err == nil {
		t.Fatal("an unknown series was accepted")
	}
}
