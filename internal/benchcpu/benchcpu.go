// Package benchcpu reports a benchmark's CPU time per operation beside its
// wall time: on a machine that other work keeps busy, CPU time per
// operation varies far less than wall time, so the benchmarks of
// docs/benchmarks.md report both.
package benchcpu

import (
	"testing"
	"time"
)

// Now is the CPU time (user and system, all threads) the process has used
// so far; zero where the platform does not say.
func Now(b *testing.B) time.Duration {
	b.Helper()
	d, err := processCPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// Report reports the CPU time per operation since start (a Now) as the
// metric cpu-ns/op.
func Report(b *testing.B, start time.Duration) {
	b.Helper()
	b.ReportMetric(float64(Now(b)-start)/float64(b.N), "cpu-ns/op")
}
