package main

import (
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// TestAnalysisWindowAligned: the same command gives the same window
// whatever second within the step it runs: "now" is rounded down to the
// step (--step, else query.Step's choice), as the API's windows are.
func TestAnalysisWindowAligned(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		flags      analyzeFlags
		nows       []string // every one gives the window below
		start, end string
	}{
		{"--lookback 1h --step 10s", analyzeFlags{lookback: time.Hour, step: 10 * time.Second},
			[]string{"2026-01-05T10:00:20Z", "2026-01-05T10:00:23.5Z", "2026-01-05T10:00:29.999Z"},
			"2026-01-05T09:00:20Z", "2026-01-05T10:00:20Z"},
		{"--lookback 1h, the source's step (1m)", analyzeFlags{lookback: time.Hour},
			[]string{"2026-01-05T10:07:00Z", "2026-01-05T10:07:41Z", "2026-01-05T10:07:59.9Z"},
			"2026-01-05T09:07:00Z", "2026-01-05T10:07:00Z"},
		{"--lookback 30d: a step widened to 236s", analyzeFlags{lookback: 30 * 24 * time.Hour},
			[]string{"2026-01-05T10:00:00Z", "2026-01-05T10:03:15Z"},
			"2025-12-06T09:59:56Z", "2026-01-05T09:59:56Z"},
		{"--lifetime 1h --interval 15m --step 30s from now", analyzeFlags{lifetime: time.Hour, interval: 15 * time.Minute, step: 30 * time.Second},
			[]string{"2026-01-05T10:00:30Z", "2026-01-05T10:00:59Z"},
			"2026-01-05T10:00:30Z", "2026-01-05T11:00:30Z"},
		{"--start T --end now --step 10s", analyzeFlags{start: "2026-01-05T09:00:00Z", end: "now", step: 10 * time.Second},
			[]string{"2026-01-05T10:00:00Z", "2026-01-05T10:00:09Z"},
			"2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z"},
		{"--start and --end are kept as given", analyzeFlags{start: "2026-01-05T09:00:03Z", end: "2026-01-05T10:00:07Z", step: 10 * time.Second},
			[]string{"2026-01-05T10:00:00Z", "2026-01-06T00:00:00Z"},
			"2026-01-05T09:00:03Z", "2026-01-05T10:00:07Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, now := range tt.nows {
				w, err := analysisWindow(tt.flags, at(now))
				if err != nil {
					t.Fatalf("now %s: %v", now, err)
				}
				want := metrics.Window{Start: at(tt.start), End: at(tt.end), Step: tt.flags.step}
				if !w.Start.Equal(want.Start) || !w.End.Equal(want.End) || w.Step != want.Step {
					t.Errorf("now %s: window %s .. %s (step %s), want %s .. %s", now, w.Start.UTC().Format(time.RFC3339Nano), w.End.UTC().Format(time.RFC3339Nano), w.Step, tt.start, tt.end)
				}
			}
		})
	}
}
