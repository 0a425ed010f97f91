package stat

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkShiftedRanks is one evaluation of R's W(d) as the estimate's
// root finder makes it, on 360 lognormal latencies a side, at shifts
// around the median difference.
func BenchmarkShiftedRanks(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 360))
	x, y := make([]float64, 360), make([]float64, 360)
	for j := range x {
		y[j] = math.Round(100*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
		x[j] = math.Round(101*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
	}
	mw, err := NewMannWhitney(x, y)
	if err != nil {
		b.Fatal(err)
	}
	shifts := make([]float64, 64)
	for i := range shifts {
		shifts[i] = rng.NormFloat64() * 5
	}
	i := 0
	for b.Loop() {
		mw.shiftedRanks(shifts[i%len(shifts)], nil)
		i++
	}
}

// BenchmarkEstimate is the R-exact Hodges–Lehmann estimate (uniroot on
// W(d)) for 360 lognormal latencies a side.
func BenchmarkEstimate(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 361))
	const sets = 16
	tests := make([]*MannWhitney, sets)
	for k := range tests {
		x, y := make([]float64, 360), make([]float64, 360)
		for j := range x {
			y[j] = math.Round(100*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
			x[j] = math.Round(101*math.Exp(0.5*rng.NormFloat64())*1000) / 1000
		}
		mw, err := NewMannWhitney(x, y)
		if err != nil {
			b.Fatal(err)
		}
		tests[k] = mw
	}
	i := 0
	for b.Loop() {
		tests[i%sets].Estimate()
		i++
	}
}
