package main

import (
	"testing"

	"github.com/verdict-aca/verdict/fixtures"
)

// liveArgs gives the arguments of `verdict analyze` that judge one
// scenario against a live source: its config, source flags, scopes and
// window.
type liveArgs func(t *testing.T, scenario string) []string

// checkScenarioVerdicts runs every scenario against a live source and
// checks that it gives its file form's verdict and classifications (or
// the live form's, where liveDifferences names one).
func checkScenarioVerdicts(t *testing.T, scenarios map[string]fixtures.Scenario, args liveArgs) {
	t.Helper()
	for name, want := range scenarios {
		t.Run(name, func(t *testing.T) {
			code, rep, stderr := analyzeLive(t, args(t, name)...)
			if rep.Schema != "verdict/report/v1" {
				t.Fatalf("exit %d, no report; stderr: %s", code, stderr)
			}
			if rep.Verdict != want.Verdict || code != exitOf[want.Verdict] {
				t.Errorf("verdict %s (exit %d), want %s (exit %d); reason: %s", rep.Verdict, code, want.Verdict, exitOf[want.Verdict], rep.Reason)
			}
			if len(rep.Signals) != len(want.Signals) {
				t.Fatalf("report has %d signals, want %d", len(rep.Signals), len(want.Signals))
			}
			for _, s := range rep.Signals {
				t.Logf("%s: %s", s.Name, s.Reason)
				wantClass := want.Signals[s.Name]
				if live, ok := liveDifferences[name][s.Name]; ok {
					wantClass = live
				}
				if s.Classification != wantClass {
					t.Errorf("signal %s: %s, want %s (%s)", s.Name, s.Classification, wantClass, s.Reason)
				}
			}
		})
	}
}

// checkEveryPoint checks that the healthy scenario's hour arrives whole
// from a live source: 360 rows per signal and side, one point per row, no
// more (a stale gauge repeated at the end) and no less (a rate with a
// single sample in its range, a slot the source dropped).
func checkEveryPoint(t *testing.T, args liveArgs) {
	t.Helper()
	_, rep, stderr := analyzeLive(t, args(t, "healthy")...)
	if len(rep.Signals) == 0 {
		t.Fatalf("no report; stderr: %s", stderr)
	}
	for _, s := range rep.Signals {
		if s.Baseline.Count != 360 || s.Canary.Count != 360 {
			t.Errorf("signal %s: %d baseline and %d canary points, want 360 each", s.Name, s.Baseline.Count, s.Canary.Count)
		}
	}
}
