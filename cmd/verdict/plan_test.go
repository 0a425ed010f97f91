package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
)

// planJSON is the part of verdict/plan/v1 the tests read.
type planJSON struct {
	Schema   string `json:"schema"`
	Baseline string `json:"baseline"`
	Signals  []struct {
		Name              string   `json:"name"`
		Step              string   `json:"step"`
		ExposurePerMinute *float64 `json:"exposurePerMinute"`
	} `json:"signals"`
	Steps []struct {
		Weight  float64 `json:"weight"`
		Tested  int     `json:"tested"`
		Signals []struct {
			Name     string   `json:"name"`
			Judged   bool     `json:"judged"`
			Detect80 *float64 `json:"detect80"`
			Detect95 *float64 `json:"detect95"`
		} `json:"signals"`
		Summary []string `json:"summary"`
	} `json:"steps"`
}

// TestPlanFiles plans the fixture's ramp from its baseline file: JSON for
// tools, Markdown written to a file.
func TestPlanFiles(t *testing.T) {
	fixture := filepath.Join("..", "..", "fixtures", "error-ratio-5pct")
	args := []string{"plan", "--config", filepath.Join(fixture, "config.yaml"), "--baseline", filepath.Join(fixture, "baseline.csv"),
		"--ramp", "1%:15m,50%:1h", "--replicates", "200"}
	code, out, stderr := invoke(t, append(args, "--format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p planJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if p.Schema != "verdict/plan/v1" || p.Baseline != "baseline.csv" || len(p.Steps) != 2 || len(p.Signals) != 3 || p.Signals[0].Step != "1m" {
		t.Fatalf("plan %+v; want verdict/plan/v1 of baseline.csv, 2 steps of 3 signals at 1m", p)
	}
	small, large := p.Steps[0], p.Steps[1]
	if small.Tested != 1 || large.Tested != 3 {
		t.Errorf("tested signals %d and %d; want 1 at 1%% for 15m (only the error ratio has the traffic) and 3 at 50%% for 1h", small.Tested, large.Tested)
	}
	for _, c := range large.Signals {
		if !c.Judged || c.Detect80 == nil || c.Detect95 == nil || *c.Detect95 < *c.Detect80 {
			t.Errorf("50%% for 1h, %s: %+v; want both figures, the 95%% one no smaller", c.Name, c)
		}
	}
	if !strings.Contains(strings.Join(small.Summary, ";"), "p99_latency_seconds has no verdict at this step until the 50% step") {
		t.Errorf("1%% for 15m summary %q; want the p99 without a verdict until the 50%% step", small.Summary)
	}

	md := filepath.Join(t.TempDir(), "plan.md")
	code, out, stderr = invoke(t, append(args, "--format", "markdown", "--output", md)...)
	if code != 0 || out != "" || !strings.Contains(stderr, "plan written to "+md) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the plan in %s", code, out, stderr, md)
	}
	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Rollout plan: shop-error-ratio-5pct", "| 50% for 1h | checkout\\_completion | proportion |", "- 1% for 15m: "} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the Markdown plan lacks %q:\n%s", want, text)
		}
	}
}

func TestPlanBadInput(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join("..", "..", "fixtures", "error-ratio-5pct")
	cfg, base := filepath.Join(fixture, "config.yaml"), filepath.Join(fixture, "baseline.csv")
	noTimes := write(t, dir, "base.json", `{"latency": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}`)
	latency := write(t, dir, "latency.yaml", "name: l\nsignals:\n  - name: latency\n    direction: increase\n")
	kayenta := write(t, dir, "kayenta.yaml", "name: k\njudge: kayenta\nsignals:\n  - name: latency\n")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no ramp", []string{"--config", cfg, "--baseline", base}, 64, "needs --ramp"},
		{"no baseline", []string{"--config", cfg, "--ramp", "5%:30m"}, 64, "needs the stable version's data"},
		{"two baselines", []string{"--config", cfg, "--ramp", "5%:30m", "--baseline", base, "--baseline-scope", "track=stable", "--window", "1h"}, 64, "give one"},
		{"scope without window", []string{"--config", cfg, "--ramp", "5%:30m", "--baseline-scope", "track=stable"}, 64, "needs --window"},
		{"window without scope", []string{"--config", cfg, "--ramp", "5%:30m", "--baseline", base, "--window", "1h"}, 64, "go with --baseline-scope"},
		{"bad ramp", []string{"--config", cfg, "--ramp", "5%", "--baseline", base}, 64, `--ramp: step 1 "5%" is not weight:duration`},
		{"bad format", []string{"--config", cfg, "--ramp", "5%:30m", "--baseline", base, "--format", "html"}, 64, "not a plan format"},
		{"bad share", []string{"--config", cfg, "--ramp", "5%:30m", "--baseline", base, "--baseline-share", "120%"}, 64, "--baseline-share"},
		{"bad step", []string{"--config", latency, "--ramp", "5%:30m", "--baseline", noTimes, "--step", "often"}, 64, "--step"},
		{"few replicates", []string{"--config", cfg, "--ramp", "5%:30m", "--baseline", base, "--replicates", "5"}, 64, "--replicates 5"},
		{"no timestamps", []string{"--config", latency, "--ramp", "5%:30m", "--baseline", noTimes}, 64, "give --step"},
		{"kayenta", []string{"--config", kayenta, "--ramp", "5%:30m", "--baseline", noTimes, "--step", "1m"}, 65, "Kayenta-compatible judge"},
		{"not the config's data", []string{"--config", latency, "--ramp", "5%:30m", "--baseline", base}, 65, `signal "http_requests" is not in the config`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := invoke(t, append([]string{"plan"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") > 2 {
				t.Errorf("exit %d, stderr %q; want %d with %q in a sentence", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// TestPlanPrometheus plans from a window of the stable version in a real
// Prometheus: counters and histograms read per minute over 45 minutes,
// with the stable version serving 95% of the traffic beside a canary.
func TestPlanPrometheus(t *testing.T) {
	srv := promtest.StartWith(t, promtest.Options{RemoteWrite: true, NativeHistograms: true})
	end := time.Now().Truncate(time.Minute)
	writeReleaseScenarios(t, srv, end, []releaseScenario{
		{name: "stable", baselineRPS: 95, canaryRPS: 5, baselineErrors: 0.01, canaryErrors: 0.01, baselineComplete: 0.7, canaryComplete: 0.7, canarySlower: 1},
	})
	cfg := write(t, t.TempDir(), "release.yaml", releaseConfig)
	code, out, stderr := invoke(t, "plan", "--config", cfg, "--prometheus-url", srv.URL, "--baseline-scope", "scenario=stable,track=baseline",
		"--window", "45m", "--end", end.Format(time.RFC3339), "--step", "1m", "--baseline-share", "95%", "--ramp", "5%:30m,50%:1h", "--replicates", "100", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p planJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !strings.Contains(p.Baseline, "scenario=stable") || len(p.Signals) != 4 {
		t.Fatalf("plan of %q with %d signals; want the scope's 4", p.Baseline, len(p.Signals))
	}
	// 95 requests a second are 95% of the traffic: 6,000 a minute in all.
	if e := p.Signals[0].ExposurePerMinute; e == nil || *e < 5400 || *e > 6600 {
		t.Errorf("error_ratio: %v requests a minute; want about 6,000 (95 a second as 95%% of the traffic)", e)
	}
	for _, sp := range p.Steps {
		for _, c := range sp.Signals {
			if !c.Judged || c.Detect80 == nil {
				t.Errorf("%g: %s %+v; want a figure", sp.Weight, c.Name, c)
			}
		}
	}
	code, _, stderr = invoke(t, "plan", "--config", cfg, "--prometheus-url", srv.URL, "--baseline-scope", "scenario=gone,track=baseline",
		"--window", "45m", "--ramp", "5%:30m")
	if code == 0 || !strings.Contains(stderr, "returned no series for") {
		t.Errorf("a scope with no data: exit %d, %s; want an error saying the query returned nothing", code, stderr)
	}
}
