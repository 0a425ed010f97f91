package main

import (
	"math"
	"testing"
)

func TestParseSample(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 81
go_memstats_heap_inuse_bytes 2.5e+07
go_memstats_next_gc_bytes 3.3554432e+07
go_memstats_sys_bytes 4.0e+07
go_memstats_heap_released_bytes 1.0e+07
process_resident_memory_bytes 7.3e+07
process_cpu_seconds_total 12.5
verdict_analyses_total{origin="argo",verdict="fail"} 40
verdict_analyses_total{origin="schedule",verdict="pass"} 2
verdict_schedule_runs_total{config="mix-scheduled",outcome="ran"} 30
verdict_schedule_runs_total{config="mix-scheduled",outcome="skipped"} 3
verdict_schedule_runs_total{config="other",outcome="ran"} 99
go_memstats_heap_inuse_bytes_total_not_this 1
broken line
`
	s := parseSample(text)
	want := sample{rss: 7.3e7, heapInuse: 2.5e7, gcGoal: 33554432, goroutines: 81, cpu: 12.5, goSys: 4e7, goReleased: 1e7, finished: 42}
	if s.rss != want.rss || s.heapInuse != want.heapInuse || s.gcGoal != want.gcGoal || s.goroutines != want.goroutines ||
		s.cpu != want.cpu || s.goSys != want.goSys || s.goReleased != want.goReleased || s.finished != want.finished {
		t.Errorf("parseSample = %+v, want %+v", s, want)
	}
	if len(s.scheduled) != 2 || s.scheduled["ran"] != 30 || s.scheduled["skipped"] != 3 {
		t.Errorf("scheduled = %v, want ran 30 and skipped 3 of %s only", s.scheduled, mixScheduledConfig)
	}
}

func TestPeakRatio(t *testing.T) {
	w := func(warmup bool, n int, hi float64) *window {
		return &window{warmup: warmup, n: n, rss: span{lo: hi / 2, hi: hi}}
	}
	rssPeak := func(w *window) float64 { return w.rss.hi }
	tests := []struct {
		name           string
		windows        []*window
		ratio, lo, hi  float64
		flat, noWindow bool
	}{
		{name: "flat", windows: []*window{w(false, 60, 100), w(false, 60, 110), w(false, 60, 105)}, ratio: 1.1, lo: 100, hi: 110, flat: true},
		{name: "warm-up left out", windows: []*window{w(true, 60, 10), w(false, 60, 100), w(false, 60, 119)}, ratio: 1.19, lo: 100, hi: 119, flat: true},
		{name: "growth", windows: []*window{w(true, 60, 100), w(false, 60, 100), w(false, 60, 110), w(false, 60, 121)}, ratio: 1.21, lo: 100, hi: 121},
		{name: "empty window left out", windows: []*window{w(false, 0, 0), w(false, 60, 100)}, ratio: 1, lo: 100, hi: 100, flat: true},
		{name: "only warm-up", windows: []*window{w(true, 60, 100)}, noWindow: true},
	}
	for _, tt := range tests {
		ratio, lo, hi := peakRatio(tt.windows, rssPeak)
		if tt.noWindow {
			if !math.IsNaN(ratio) {
				t.Errorf("%s: ratio %g, want NaN", tt.name, ratio)
			}
			continue
		}
		if math.Abs(ratio-tt.ratio) > 1e-12 || lo != tt.lo || hi != tt.hi || (ratio <= flatLimit) != tt.flat {
			t.Errorf("%s: ratio %g (%g – %g), want %g (%g – %g), flat %v", tt.name, ratio, lo, hi, tt.ratio, tt.lo, tt.hi, tt.flat)
		}
	}
}
