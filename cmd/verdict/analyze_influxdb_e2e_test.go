package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	influxdbfixtures "github.com/verdict-aca/verdict/fixtures/influxdb"
	"github.com/verdict-aca/verdict/internal/influxtest"
	"github.com/verdict-aca/verdict/metrics"
)

// influxConfig writes a scenario's committed InfluxDB config with its
// source's URL set to url.
func influxConfig(t *testing.T, scenario, url string) string {
	t.Helper()
	data, err := os.ReadFile(influxdbfixtures.ConfigPath(fixturesRoot, scenario))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "'"+influxdbfixtures.URL+"'", "'"+url+"'", 1)
	if text == string(data) {
		t.Fatalf("%s does not name the source URL %s", scenario, influxdbfixtures.URL)
	}
	path := filepath.Join(t.TempDir(), scenario+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAnalyzeInfluxDB runs `verdict analyze` against a real InfluxDB 1.x
// (influxd, line protocol written over /write, InfluxQL read over
// /query) holding every fixture scenario in its InfluxDB form, as
// TestAnalyzePrometheus does against Prometheus.
func TestAnalyzeInfluxDB(t *testing.T) {
	ctx := context.Background()
	data, err := influxdbfixtures.Load(ctx, fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	if influxdbfixtures.Database != influxtest.DB {
		t.Fatalf("the fixtures read database %q, influxtest creates %q", influxdbfixtures.Database, influxtest.DB)
	}
	srv := influxtest.Start(t)
	for _, d := range data {
		if err := srv.Write(ctx, d.LineProtocol(), "s"); err != nil {
			t.Fatal(err)
		}
	}
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}

	t.Run("scenarios", func(t *testing.T) {
		for name, d := range data {
			t.Run(name, func(t *testing.T) {
				args := append([]string{"--config", influxConfig(t, name, srv.URL)}, scopeArgs(name)...)
				code, rep, stderr := analyzeLive(t, append(args, window(name)...)...)
				want := d.Scenario
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
	})

	t.Run("every point of the hour arrives", func(t *testing.T) {
		// 360 rows per signal and side: the gauges' points in [start,
		// end), the counts' steps of the grid, each once.
		args := append([]string{"--config", influxConfig(t, "healthy", srv.URL)}, scopeArgs("healthy")...)
		_, rep, stderr := analyzeLive(t, append(args, window("healthy")...)...)
		if len(rep.Signals) == 0 {
			t.Fatalf("no report; stderr: %s", stderr)
		}
		for _, s := range rep.Signals {
			if s.Baseline.Count != 360 || s.Canary.Count != 360 {
				t.Errorf("signal %s: %d baseline and %d canary points, want 360 each", s.Name, s.Baseline.Count, s.Canary.Count)
			}
		}
	})

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		// The canary's scope tries to read the baseline's series (or every
		// series) of a scenario whose canary has a latency regression: a
		// value that broke out of its string would make the canary look
		// like the baseline and pass. It stays a tag value no series has:
		// the canary has no data, so no verdict (exit 3 with a report).
		scenario := "latency-regression"
		for _, evil := range []string{
			`canary' OR "track" = 'baseline`,
			`x' OR '1' = '1`,
			`canary\' OR track=\'baseline`,
			`baseline' --`,
		} {
			args := []string{"--config", influxConfig(t, scenario, srv.URL),
				"--baseline-scope", "scenario=" + scenario + ",track=baseline",
				"--canary-scope", "scenario=" + scenario + ",track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window(scenario)...)...)
			if rep.Schema == "" {
				t.Errorf("scope value %q: exit %d, no report; stderr: %s", evil, code, stderr)
				continue
			}
			if rep.Verdict != "none" {
				t.Errorf("scope value %q: verdict %s, want none (the canary read nothing)", evil, rep.Verdict)
			}
			for _, s := range rep.Signals {
				if s.Canary.Count != 0 {
					t.Errorf("scope value %q: signal %s read %d canary points, want none", evil, s.Name, s.Canary.Count)
				}
			}
		}
	})

	// Last: it stops influxd.
	t.Run("a stopped InfluxDB gives no verdict", func(t *testing.T) {
		srv.Stop()
		args := append([]string{"--config", influxConfig(t, "latency-regression", srv.URL)}, scopeArgs("latency-regression")...)
		code, rep, stderr := analyzeLive(t, append(args, window("latency-regression")...)...)
		if code != exitUnavailable || rep.Schema != "" {
			t.Fatalf("exit %d, verdict %q, want 69 and no report; stderr: %s", code, rep.Verdict, stderr)
		}
		want := fmt.Sprintf("verdict: source influxdb at %s answered none of its", srv.URL)
		if !strings.HasPrefix(stderr, want) {
			t.Errorf("stderr %q, want %q...", stderr, want)
		}
		// verdict serve's analyses get a report: its verdict is none.
		scopes := analysis.Scopes{Baseline: metrics.Scope{"scenario": "latency-regression", "track": "baseline"},
			Canary: metrics.Scope{"scenario": "latency-regression", "track": "canary"}}
		if v := serveVerdict(t, influxConfig(t, "latency-regression", srv.URL), scopes, data["latency-regression"].Window()); v != "none" {
			t.Errorf("analysis.Run: verdict %s, want none", v)
		}
	})
}
