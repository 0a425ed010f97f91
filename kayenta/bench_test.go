package kayenta

import (
	"fmt"
	"testing"
)

// BenchmarkJudgeMetric measures one metric's full judgement (preprocessing,
// statistics, Mann-Whitney interval search) for n points per side.
func BenchmarkJudgeMetric(b *testing.B) {
	for _, n := range []int{60, 1000, 10000} {
		src := newNoiseSource(7)
		ctl := src.NormalSamples(100, 10, n)
		exp := src.NormalSamples(103, 10, n)
		cfg := CanaryConfig{Name: "bench", Metrics: []MetricConfig{metricCfg("lat", map[string]any{"outliers": map[string]any{"strategy": "remove"}}, "g")}}
		p := pair("lat", ctl, exp)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := judgeMetric(cfg, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
