package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
)

// sequentialRuns are multi-interval analyses with sequential: anytime run
// by analysis.RunIntervals: one that stops early on a pass, one that stops
// early on a fail and one that runs all its looks.
func sequentialRuns(t *testing.T) map[string]*analysis.Report {
	t.Helper()
	out := map[string]*analysis.Report{}
	for name, run := range map[string]struct {
		scenario reporttest.Scenario
		lifetime time.Duration
	}{
		"healthy":   {reporttest.Scenario{}, time.Hour},
		"slow":      {reporttest.Scenario{"latency": 1.15}, time.Hour},
		"undecided": {reporttest.Scenario{"latency": 1.08, "cpu": 0.9}, 20 * time.Minute},
	} {
		r, err := reporttest.Sequential(run.scenario, run.lifetime, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	return out
}

func TestLooksGolden(t *testing.T) {
	for name, r := range sequentialRuns(t) {
		for _, f := range []Format{Table, Markdown} {
			var b bytes.Buffer
			if err := Write(&b, r, f); err != nil {
				t.Fatal(err)
			}
			golden(t, "sequential-"+name+"."+string(f)+".golden", b.Bytes())
		}
	}
}
