package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/fixtures"
	"github.com/verdict-aca/verdict/metrics"
)

// liveArgs gives the arguments of `verdict analyze` that judge one
// scenario against a live source: its config, source flags, scopes and
// window.
type liveArgs func(t *testing.T, scenario string) []string

// liveConfig writes the committed config at path with its source's
// setting committed replaced by live (the URL of the server the test
// started, or its whole source entry), into dir (a t.TempDir() when
// empty), and returns the written file's path.
func liveConfig(t *testing.T, path, committed, live, dir string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), committed, live, 1)
	if text == string(data) {
		t.Fatalf("%s does not have the source %s", path, committed)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	out := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(out, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

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

// checkSourceDown checks what a source that answers nothing gives for the
// latency-regression scenario (args, configPath, its window w): `verdict
// analyze` exits 69 without a report, its message naming the source and
// its URL, and verdict serve's analyses get a report whose verdict is
// none.
func checkSourceDown(t *testing.T, source, url string, args liveArgs, configPath string, w metrics.Window) {
	t.Helper()
	code, rep, stderr := analyzeLive(t, args(t, "latency-regression")...)
	if code != exitUnavailable || rep.Schema != "" {
		t.Fatalf("exit %d, verdict %q, want 69 and no report; stderr: %s", code, rep.Verdict, stderr)
	}
	want := fmt.Sprintf("verdict: source %s at %s answered none of its", source, url)
	if !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr %q, want %q...", stderr, want)
	}
	if v := serveReport(t, configPath, scenarioScopes("latency-regression"), w).Verdict; v != "none" {
		t.Errorf("analysis.Run: verdict %s, want none", v)
	}
}

// scenarioScopes are a scenario's scopes as scopeArgs gives them.
func scenarioScopes(scenario string) analysis.Scopes {
	return analysis.Scopes{Baseline: metrics.Scope{"scenario": scenario, "track": "baseline"},
		Canary: metrics.Scope{"scenario": scenario, "track": "canary"}}
}

// serveReport judges a config the way verdict serve's analyses do
// (analysis.Run without FailUnanswered: a source that answers nothing
// gives a report whose verdict is none) and returns the report.
func serveReport(t *testing.T, configPath string, scopes analysis.Scopes, w metrics.Window) *analysis.Report {
	t.Helper()
	ctx := context.Background()
	cfg, err := analysis.LoadConfig(ctx, configPath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := analysis.OpenSources(cfg, analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analysis.Run(ctx, cfg, set, analysis.LiveRequest{Scopes: scopes, Window: w})
	if err != nil {
		t.Fatalf("analysis.Run: %v", err)
	}
	return rep
}
