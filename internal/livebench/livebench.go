// Package livebench is the workload of the live-analysis benchmarks: an
// hour of 100 signals for two tracks (two pods each) at a 10 s step, the
// config that judges them with Mann-Whitney, and the window. The analysis
// benchmark (analysis.Run in-process) and the command's benchmark
// (`verdict analyze` as a process, against the same queries sent raw)
// share it, so their figures describe the same work.
package livebench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

const (
	// Signals is the number of signals; each has a baseline and a canary query.
	Signals = 100
	// Parallelism is the queries in flight at once.
	Parallelism = 8
	// Step is the query resolution.
	Step = 10 * time.Second
	// Points is the points per query: an hour at Step, both ends included.
	Points = 361
)

// Start is 2025-06-02T12:00:00Z, the start of the hour the data covers
// (inside promtest's retention).
var start = time.Unix(1748865600, 0).UTC()

// Window is the hour the data covers: the analysis window.
func Window() (from, to time.Time) { return start, start.Add(time.Hour) }

// Data is the hour as OpenMetrics text (for promtest): one gauge per
// signal, every 10 s, for two pods of each track: 400 series of 361
// samples. Every tenth signal's canary is 20% higher, so a run judges
// passes and failures.
func Data() string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.Grow(4 * Signals * Points * 80)
	b.WriteString("# TYPE bench_signal_value gauge\n")
	for s := range Signals {
		level := 50 + 10*float64(s%7)
		for _, track := range []string{"baseline", "canary"} {
			shift := 1.0
			if track == "canary" && s%10 == 0 {
				shift = 1.2
			}
			for pod := range 2 {
				for i := range Points {
					v := level * shift * math.Exp(0.1*rng.NormFloat64())
					fmt.Fprintf(&b, "bench_signal_value{signal=\"s%03d\",track=%q,pod=\"p%d\"} %.3f %d\n", s, track, pod, v, start.Unix()+int64(i)*int64(Step/time.Second))
				}
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// Query is signal s's query template ({{.track}} selects the side).
func Query(s int) string {
	return fmt.Sprintf(`avg(bench_signal_value{signal="s%03d",track="{{.track}}"})`, s)
}

// Rendered is signal s's query for one track, as a source sends it.
func Rendered(s int, track string) string {
	return strings.ReplaceAll(Query(s), "{{.track}}", track)
}

// ConfigYAML is the config: one Mann-Whitney signal per series, increase
// bad beyond 10%.
func ConfigYAML() string {
	var y strings.Builder
	y.WriteString("name: bench\nsignals:\n")
	for s := range Signals {
		fmt.Fprintf(&y, "  - name: s%03d\n    test: mann-whitney\n    direction: increase\n    allowedChange: 10%%\n    source: prometheus\n    query: '%s'\n", s, Query(s))
	}
	return y.String()
}
