// Package loadgen builds the judge API's benchmark payload and drives a
// running `verdict serve` with it (see cmd/loadgen). The payload is the
// documented load case: a config of 20 Mann-Whitney signals and 360
// points per signal per side, deterministic so every run sends the same
// bytes.
package loadgen

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Signals and Points are the payload's shape.
const (
	Signals = 20
	Points  = 360
)

// Config is the benchmark config in YAML.
func Config() string {
	var b strings.Builder
	b.WriteString("name: load\nthresholds: {pass: 95, marginal: 75}\nsignals:\n")
	for i := range Signals {
		fmt.Fprintf(&b, "  - name: s%02d\n    direction: increase\n    allowedChange: 10%%\n", i)
	}
	return b.String()
}

// Body is the POST /api/v1/judge body naming the stored config "load":
// every signal has Points baseline and canary points; every fifth canary
// signal is 30% higher (so the verdict is fail, and the judge does real
// work on both paths).
func Body() []byte {
	state := uint32(42)
	noise := func() float64 {
		state = state*1664525 + 1013904223
		return float64(state>>8)/float64(1<<24) - 0.5
	}
	side := func(canary bool) map[string][]float64 {
		m := make(map[string][]float64, Signals)
		for i := range Signals {
			level := 100.0 + float64(i)
			if canary && i%5 == 0 {
				level *= 1.3
			}
			v := make([]float64, Points)
			for j := range v {
				v[j] = float64(int((level+20*noise())*1000)) / 1000
			}
			m[fmt.Sprintf("s%02d", i)] = v
		}
		return m
	}
	body, err := json.Marshal(map[string]any{"configName": "load", "baseline": side(false), "canary": side(true)})
	if err != nil {
		panic(err) // maps of finite floats always marshal
	}
	return body
}
