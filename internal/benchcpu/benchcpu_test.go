package benchcpu

import (
	"runtime"
	"testing"
)

// BenchmarkSpin reports a CPU time per operation close to its wall time:
// it only computes.
func BenchmarkSpin(b *testing.B) {
	start := Now(b)
	x := 0.0
	for i := 0; i < b.N; i++ {
		for j := range 1000 {
			x += float64(j) * 1e-9
		}
	}
	runtime.KeepAlive(x)
	Report(b, start)
}

func TestNowGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no rusage here")
	}
	var before, after int64
	testing.Benchmark(func(b *testing.B) {
		before = int64(Now(b))
		x := 0
		for i := range 50_000_000 {
			x ^= i
		}
		runtime.KeepAlive(x)
		after = int64(Now(b))
	})
	if after <= before {
		t.Fatalf("CPU time %d then %d after 50M operations, want it to grow", before, after)
	}
}
