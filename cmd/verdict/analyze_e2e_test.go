package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/fixtures"
	promfixtures "github.com/verdict-aca/verdict/fixtures/prometheus"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// fixturesRoot is the fixtures directory, relative to this package.
const fixturesRoot = "../../fixtures"

// liveReport is the part of the verdict/report/v1 JSON these tests read.
type liveReport struct {
	Schema  string   `json:"schema"`
	Verdict string   `json:"verdict"`
	Score   *float64 `json:"score"`
	Reason  string   `json:"reason"`
	Signals []struct {
		Name           string `json:"name"`
		Classification string `json:"classification"`
		Reason         string `json:"reason"`
		Baseline       struct {
			Count int `json:"count"`
		} `json:"baseline"`
		Canary struct {
			Count int `json:"count"`
		} `json:"canary"`
	} `json:"signals"`
	Intervals []struct {
		Index   int       `json:"index"`
		Start   time.Time `json:"start"`
		End     time.Time `json:"end"`
		Verdict string    `json:"verdict"`
	} `json:"intervals"`
}

// analyzeLive runs `verdict analyze ... --format json` in-process and
// decodes the report (when there is one).
func analyzeLive(t *testing.T, args ...string) (int, liveReport, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"analyze", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	var rep liveReport
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("exit %d; the report is not JSON: %v\n%s\nstderr: %s", code, err, out.String(), errOut.String())
		}
	}
	return code, rep, errOut.String()
}

// scopeArgs selects a scenario's baseline and canary.
func scopeArgs(scenario string) []string {
	return []string{
		"--baseline-scope", "scenario=" + scenario + ",track=baseline",
		"--canary-scope", "scenario=" + scenario + ",track=canary",
	}
}

var exitOf = map[string]int{"pass": exitPass, "fail": exitFail, "marginal": exitMarginal, "none": exitNone}

// liveDifferences are the classifications a scenario's live form gives
// where its file form gives another, by scenario and signal (see
// fixtures/prometheus/README.md). too-little-data's canary exports its
// error counter for its last 5 minutes only; a count's steps without a
// value are no events, so live the rate test without an exposure sees an
// hour of windows with fewer errors (a harmless fall), where the file has
// 30 points and no data. An exposure (requests) is what tells the two
// apart.
var liveDifferences = map[string]map[string]string{
	"too-little-data": {"errors": "pass"},
}

// TestAnalyzePrometheus runs `verdict analyze` against a real Prometheus
// holding every fixture scenario in its Prometheus form (package
// promfixtures), started once for all subtests.
func TestAnalyzePrometheus(t *testing.T) {
	ctx := context.Background()
	text, data, err := promfixtures.OpenMetrics(ctx, fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	srv := promtest.Start(t, text)
	config := func(name string) string { return promfixtures.ConfigPath(fixturesRoot, name) }
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}

	live := func(t *testing.T, name string) []string {
		args := append([]string{"--config", config(name), "--prometheus-url", srv.URL}, scopeArgs(name)...)
		return append(args, window(name)...)
	}
	t.Run("scenarios", func(t *testing.T) { checkScenarioVerdicts(t, scenariosOf(data), live) })
	t.Run("every point of the hour arrives", func(t *testing.T) { checkEveryPoint(t, live) })

	t.Run("intervals stop early at the first fail", func(t *testing.T) {
		start := data["latency-regression"].Window().Start
		args := append([]string{"--config", config("latency-regression"), "--prometheus-url", srv.URL,
			"--start", start.Format(time.RFC3339), "--lifetime", "1h", "--interval", "15m", "--step", "10s"},
			scopeArgs("latency-regression")...)
		code, rep, stderr := analyzeLive(t, args...)
		if code != exitFail || rep.Verdict != "fail" {
			t.Fatalf("exit %d, verdict %q, want fail (1); stderr: %s", code, rep.Verdict, stderr)
		}
		if len(rep.Intervals) != 1 {
			t.Fatalf("%d intervals listed, want 1 (a +30%% latency fails the first 15 minutes): %+v", len(rep.Intervals), rep.Intervals)
		}
		iv := rep.Intervals[0]
		if iv.Index != 1 || iv.Verdict != "fail" || !iv.Start.Equal(start) || !iv.End.Equal(start.Add(15*time.Minute)) {
			t.Errorf("interval %+v, want interval 1, fail, %s .. +15m", iv, start)
		}
		if !strings.Contains(rep.Reason, "stopped early after interval 1 of 4") {
			t.Errorf("reason %q does not say the run stopped early", rep.Reason)
		}
		for _, s := range rep.Signals {
			if s.Canary.Count != 90 {
				t.Errorf("signal %s judged %d canary points, want 90 (15 minutes at 10s)", s.Name, s.Canary.Count)
			}
		}
	})

	t.Run("an injection through a scope value cannot pass a failing canary", func(t *testing.T) {
		for _, evil := range []string{
			`canary"} or vector(1) #`,
			`canary"}) or vector(1) or sum(x{a="`,
			`canary\"} or vector(1) #`,
		} {
			args := []string{"--config", config("latency-regression"), "--prometheus-url", srv.URL,
				"--baseline-scope", "scenario=latency-regression,track=baseline",
				"--canary-scope", "scenario=latency-regression,track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window("latency-regression")...)...)
			if code == exitPass || rep.Verdict == "pass" {
				t.Fatalf("scope value %q: exit %d, verdict %q; the injection passed a failing canary", evil, code, rep.Verdict)
			}
			// Escaped, the value is a label value no series has: the
			// canary has no data, so there is no verdict.
			if code != exitNone || rep.Verdict != "none" {
				t.Errorf("scope value %q: exit %d, verdict %q, want none (3): the value should select nothing; stderr: %s", evil, code, rep.Verdict, stderr)
			}
			for _, s := range rep.Signals {
				if s.Classification != "nodata" || s.Canary.Count != 0 {
					t.Errorf("scope value %q: signal %s is %s with %d canary points, want nodata with none", evil, s.Name, s.Classification, s.Canary.Count)
				}
			}
		}
	})

	// Last: it stops the shared server.
	t.Run("a stopped Prometheus exits 69, naming it and the window", func(t *testing.T) {
		srv.Stop()
		args := append([]string{"--config", config("latency-regression"), "--prometheus-url", srv.URL}, scopeArgs("latency-regression")...)
		code, rep, stderr := analyzeLive(t, append(args, window("latency-regression")...)...)
		if code != exitUnavailable || rep.Schema != "" {
			t.Fatalf("exit %d, verdict %q, want 69 and no report; stderr: %s", code, rep.Verdict, stderr)
		}
		w := data["latency-regression"].Window()
		want := fmt.Sprintf("verdict: source prometheus at %s answered none of its", srv.URL)
		if !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "for the window "+w.Start.UTC().Format(time.RFC3339)+" .. "+w.End.UTC().Format(time.RFC3339)+" (step 10s)") {
			t.Errorf("stderr %q, want %q... naming the window", stderr, want)
		}
	})
}

// scenariosOf returns the expectations of the Prometheus form's scenarios.
func scenariosOf(data map[string]*promfixtures.Data) map[string]fixtures.Scenario {
	scenarios := make(map[string]fixtures.Scenario, len(data))
	for name, d := range data {
		scenarios[name] = d.Scenario
	}
	return scenarios
}
