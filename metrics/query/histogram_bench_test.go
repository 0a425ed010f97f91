package query

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// A day at a one-minute step: 1,440 steps.
var dayGrid = Grid{First: noon, Step: time.Minute, N: 1440}

// BenchmarkClassicHistogram shapes 30 bucket series (a classic histogram
// with 29 bounds and +Inf) over a day.
func BenchmarkClassicHistogram(b *testing.B) {
	times := dayGrid.Times()
	var in []metrics.Series
	for i := range 30 {
		le := "+Inf"
		if i < 29 {
			le = strconv.FormatFloat(0.001*float64(int(1)<<(i/2)), 'g', -1, 64)
			if i%2 == 1 {
				le = strconv.FormatFloat(0.0015*float64(int(1)<<(i/2)), 'g', -1, 64)
			}
		}
		values := make([]float64, len(times))
		for j := range values {
			values[j] = float64(i * j)
		}
		in = append(in, metrics.Series{Labels: map[string]string{"le": le}, Times: times, Values: values})
	}
	q := metrics.Query{Signal: "latency", Kind: metrics.Histogram}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ClassicHistogram(q, "q", nil, dayGrid, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNativeHistogram shapes a day of native histograms at schema 3
// with 120 non-empty buckets a step, moving by one bucket every hour (a
// union of 143 bounds).
func BenchmarkNativeHistogram(b *testing.B) {
	ns := NativeSeries{Labels: map[string]string{}}
	for i, t := range dayGrid.Times() {
		smp := NativeSample{Time: t}
		for k := range 120 {
			idx := float64(k + i/60 - 60)
			smp.Buckets = append(smp.Buckets, NativeBucket{Lower: pow2(idx - 1), Upper: pow2(idx), Count: float64(k + 1)})
			smp.Count += float64(k + 1)
		}
		ns.Samples = append(ns.Samples, smp)
	}
	q := metrics.Query{Signal: "latency", Kind: metrics.Histogram}
	b.ReportAllocs()
	for b.Loop() {
		out, err := NativeHistogram(q, "q", nil, dayGrid, []NativeSeries{ns})
		if err != nil {
			b.Fatal(err)
		}
		if len(out[0].Bounds) != 144 {
			b.Fatalf("%d bounds", len(out[0].Bounds))
		}
	}
}

// pow2 is 2^(x/8): schema 3's bucket edges.
func pow2(x float64) float64 {
	return math.Exp2(x / 8)
}
