package judge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkJudge measures one mann-whitney judgement as an analysis makes
// it: a 6-hour window at one point a minute (360 points a side; 30 to 2000
// for scale), lognormal latencies rounded to 0.001 with the canary 1% higher,
// default spec and options, in one reused Workspace as analyses and the
// judge API do. It cycles through 64 different signals, as a
// service judging many would (with one, the branch predictor learns the
// data and the figures flatter).
func BenchmarkJudge(b *testing.B) {
	benchJudge(b, Spec{Name: "latency_ms", Direction: Increase}, []int{30, 100, 360, 1000, 2000})
}

// benchJudge judges spec at each size on 64 pairs of lognormal latencies
// (median 100, shape 0.5, rounded to 0.001; the canary 1% higher), cycled,
// in one reused Workspace.
func benchJudge(b *testing.B, spec Spec, sizes []int) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, uint64(n)))
			const sets = 64
			base, can := make([][]float64, sets), make([][]float64, sets)
			for i := range sets {
				base[i], can[i] = make([]float64, n), make([]float64, n)
				for j := range n {
					base[i][j] = math.Round(100*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
					can[i][j] = math.Round(101*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
				}
			}
			var w Workspace
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := w.Judge(spec, base[i%sets], can[i%sets], Options{})
				if r.Test == nil {
					b.Fatalf("no test: %s", r.Reason)
				}
				i++
			}
		})
	}
}

// BenchmarkNewSample is the sort behind every judgement: 360 lognormal
// latencies rounded to 0.001, sorted with their time positions.
func BenchmarkNewSample(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 360))
	const sets = 64
	data := make([][]float64, sets)
	for k := range data {
		data[k] = make([]float64, 360)
		for j := range data[k] {
			data[k][j] = math.Round(100*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
		}
	}
	var w Workspace
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.sample(0, data[i%sets])
		i++
	}
}
