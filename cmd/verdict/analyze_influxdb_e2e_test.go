package main

import (
	"context"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/fixtures"
	influxdbfixtures "github.com/verdict-aca/verdict/fixtures/influxdb"
	"github.com/verdict-aca/verdict/internal/influxtest"
)

// influxConfig writes a scenario's committed InfluxDB config with its
// source's URL set to url.
func influxConfig(t *testing.T, scenario, url string) string {
	t.Helper()
	return liveConfig(t, influxdbfixtures.ConfigPath(fixturesRoot, scenario), "'"+influxdbfixtures.URL+"'", "'"+url+"'", "")
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

	live := func(t *testing.T, name string) []string {
		args := append([]string{"--config", influxConfig(t, name, srv.URL)}, scopeArgs(name)...)
		return append(args, window(name)...)
	}

	t.Run("scenarios", func(t *testing.T) {
		scenarios := make(map[string]fixtures.Scenario, len(data))
		for name, d := range data {
			scenarios[name] = d.Scenario
		}
		checkScenarioVerdicts(t, scenarios, live)
	})

	// 360 rows per signal and side: the gauges' points in [start, end),
	// the counts' steps of the grid, each once.
	t.Run("every point of the hour arrives", func(t *testing.T) { checkEveryPoint(t, live) })

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
		checkSourceDown(t, "influxdb", srv.URL, live, influxConfig(t, "latency-regression", srv.URL), data["latency-regression"].Window())
	})
}
