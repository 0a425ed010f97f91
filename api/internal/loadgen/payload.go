// Package loadgen builds the judge API's benchmark payload and the live
// configs of the mixed load, with which cmd/verdict-load drives a running
// `verdict serve`. The payload is the documented load case: a config of 20
// Mann-Whitney signals and 360 points per signal per side, deterministic
// so every run sends the same bytes. The mixed load's configs are a
// fixture scenario's Prometheus config renamed, one of them with a
// schedule (LiveConfig), PUT again with a new revision comment every few
// seconds (Revision).
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

// The release payload: the same 20 signals judged as release signals are,
// with their traffic. Windows is the steps per side.
const (
	Windows = 360
	Buckets = 30
	// ReleaseHistograms, ReleaseRates and ReleaseProportions are how many of
	// the 20 signals are histograms, rates with an exposure and success
	// ratios; the rest are Mann-Whitney signals of Windows points.
	ReleaseHistograms  = 4
	ReleaseRates       = 2
	ReleaseProportions = 2
)

// ReleaseConfig is the config of the release payload, stored as "release".
func ReleaseConfig() string {
	var b strings.Builder
	b.WriteString("name: release\nthresholds: {pass: 95, marginal: 75}\nsignals:\n")
	for i := range Signals {
		switch {
		case i < ReleaseHistograms:
			fmt.Fprintf(&b, "  - name: s%02d\n    test: histogram\n    quantile: %s\n    direction: increase\n", i, []string{"0.5", "0.99"}[i%2])
		case i < ReleaseHistograms+ReleaseRates:
			fmt.Fprintf(&b, "  - name: s%02d\n    test: rate\n    exposure: requests%02d\n    direction: increase\n", i, i)
		case i < ReleaseHistograms+ReleaseRates+ReleaseProportions:
			fmt.Fprintf(&b, "  - name: s%02d\n    test: proportion\n    trials: trials%02d\n    direction: decrease\n    allowedChange: 2%%\n", i, i)
		default:
			fmt.Fprintf(&b, "  - name: s%02d\n    direction: increase\n    allowedChange: 10%%\n", i)
		}
	}
	return b.String()
}

// ReleaseBody is the POST /api/v1/judge body naming the stored config
// "release": histograms of Buckets buckets over Windows windows (a canary at
// 10% of 1,000 requests a window), error counts with their requests,
// completions with their trials, and Mann-Whitney points; deterministic.
func ReleaseBody() []byte {
	state := uint32(7)
	uniform := func() float64 {
		state = state*1664525 + 1013904223
		return float64(state>>8) / float64(1<<24)
	}
	type histogram struct {
		LE     []any       `json:"le"`
		Counts [][]float64 `json:"counts"`
	}
	side := func(canary bool) map[string]any {
		m := make(map[string]any, 2*Signals)
		perWindow := 900.0
		if canary {
			perWindow = 100
		}
		for i := range Signals {
			name := fmt.Sprintf("s%02d", i)
			switch {
			case i < ReleaseHistograms:
				h := histogram{LE: make([]any, Buckets)}
				for k := range Buckets - 1 {
					h.LE[k] = 0.01 * float64(k+1) * float64(k+1) / 4
				}
				h.LE[Buckets-1] = "+Inf"
				for range Windows {
					row := make([]float64, Buckets)
					n := perWindow
					for k := range Buckets - 1 {
						// Cumulative counts of a latency around 0.1 s.
						x := 0.01 * float64(k+1) * float64(k+1) / 4 / 0.1
						row[k] = float64(int(n * x / (1 + x) * (0.95 + 0.1*uniform())))
						if k > 0 && row[k] < row[k-1] {
							row[k] = row[k-1]
						}
					}
					row[Buckets-1] = max(n, row[Buckets-2])
					h.Counts = append(h.Counts, row)
				}
				m[name] = h
			case i < ReleaseHistograms+ReleaseProportions+ReleaseRates:
				exposure, events := make([]float64, Windows), make([]float64, Windows)
				ratio := 0.01
				word := "requests"
				if i >= ReleaseHistograms+ReleaseRates {
					ratio, word = 0.7, "trials"
				}
				for j := range exposure {
					exposure[j] = float64(int(perWindow * (0.9 + 0.2*uniform())))
					events[j] = float64(int(exposure[j]*ratio*(0.8+0.4*uniform()) + 0.5))
				}
				m[name], m[fmt.Sprintf("%s%02d", word, i)] = events, exposure
			default:
				v := make([]float64, Points)
				for j := range v {
					v[j] = float64(int((100+float64(i)+20*(uniform()-0.5))*1000)) / 1000
				}
				m[name] = v
			}
		}
		return m
	}
	body, err := json.Marshal(map[string]any{"configName": "release", "baseline": side(false), "canary": side(true)})
	if err != nil {
		panic(err) // maps of finite floats always marshal
	}
	return body
}
