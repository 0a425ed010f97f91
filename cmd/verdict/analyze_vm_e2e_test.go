package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promfixtures "github.com/verdict-aca/verdict/fixtures/prometheus"
	"github.com/verdict-aca/verdict/internal/vmtest"
)

// vmConfig writes a scenario's Prometheus config with its signals reading
// from a source "vm" of type victoriametrics at url: the same PromQL,
// answered by VictoriaMetrics.
func vmConfig(t *testing.T, scenario, url string) string {
	t.Helper()
	data, err := os.ReadFile(promfixtures.ConfigPath(fixturesRoot, scenario))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "source: prometheus", "source: vm")
	text += fmt.Sprintf("sources:\n  vm:\n    type: victoriametrics\n    url: %s\n", url)
	path := filepath.Join(t.TempDir(), scenario+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAnalyzeVictoriaMetrics runs `verdict analyze` against a real
// VictoriaMetrics holding every fixture scenario in its Prometheus form,
// with the scenarios' PromQL configs read through a victoriametrics
// source, as TestAnalyzePrometheus does against Prometheus.
func TestAnalyzeVictoriaMetrics(t *testing.T) {
	ctx := context.Background()
	text, data, err := promfixtures.OpenMetrics(ctx, fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	srv := vmtest.Start(t)
	if err := srv.ImportOpenMetrics(ctx, text); err != nil {
		t.Fatal(err)
	}
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}

	live := func(t *testing.T, name string) []string {
		args := append([]string{"--config", vmConfig(t, name, srv.URL)}, scopeArgs(name)...)
		return append(args, window(name)...)
	}
	t.Run("scenarios", func(t *testing.T) { checkScenarioVerdicts(t, scenariosOf(data), live) })
	// VictoriaMetrics must answer one point per step of the window
	// (nocache=1: no step-aligned point before it), and no stale gauge
	// after the last sample.
	t.Run("every point of the hour arrives", func(t *testing.T) { checkEveryPoint(t, live) })

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		for _, evil := range []string{
			`canary"} or vector(1) #`,
			`canary"}) or vector(1) or sum(x{a="`,
			`canary\"} or vector(1) #`,
			`canary"} or {track=~".+`,
		} {
			args := []string{"--config", vmConfig(t, "latency-regression", srv.URL),
				"--baseline-scope", "scenario=latency-regression,track=baseline",
				"--canary-scope", "scenario=latency-regression,track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window("latency-regression")...)...)
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

	t.Run("a bad query is the config's fault, not the source's", func(t *testing.T) {
		// VictoriaMetrics answers 422 with errorType "422": the signal is an
		// error that quotes it, and the source is not down (69).
		path := vmConfig(t, "healthy", srv.URL)
		cfg, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(cfg), "avg(process_cpu_percent", "avg(process_cpu_percent[", 1)
		if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--config", path}, scopeArgs("healthy")...)
		code, rep, stderr := analyzeLive(t, append(args, window("healthy")...)...)
		if code == exitUnavailable || rep.Schema == "" {
			t.Fatalf("exit %d, no report (stderr %s); a bad query should not read as a source that is down", code, stderr)
		}
		found := false
		for _, s := range rep.Signals {
			if s.Name == "cpu_percent" {
				found = true
				if s.Classification != "error" || !strings.Contains(s.Reason, "HTTP 422: error when executing query") {
					t.Errorf("cpu_percent: %s (%s), want an error quoting VictoriaMetrics' HTTP 422", s.Classification, s.Reason)
				}
			}
		}
		if !found {
			t.Fatal("no cpu_percent signal in the report")
		}
	})

	// Last: it stops the shared server.
	t.Run("a stopped VictoriaMetrics gives no verdict", func(t *testing.T) {
		srv.Stop()
		checkSourceDown(t, "vm", srv.URL, live, vmConfig(t, "latency-regression", srv.URL), data["latency-regression"].Window())
	})
}
