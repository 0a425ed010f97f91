package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/fixtures"
	graphitefixtures "github.com/verdict-aca/verdict/fixtures/graphite"
	"github.com/verdict-aca/verdict/internal/graphitetest"
)

// graphiteConfig writes a scenario's committed Graphite config with its
// source's URL set to url.
func graphiteConfig(t *testing.T, scenario, url string) string {
	t.Helper()
	return liveConfig(t, graphitefixtures.ConfigPath(fixturesRoot, scenario), "'"+graphitefixtures.URL+"'", "'"+url+"'", "")
}

// TestAnalyzeGraphite runs `verdict analyze` against a real Graphite
// (carbon-cache fed over the plaintext protocol, graphite-web's render
// API) holding every fixture scenario in its Graphite form, as
// TestAnalyzePrometheus does against Prometheus.
func TestAnalyzeGraphite(t *testing.T) {
	ctx := context.Background()
	// Whisper keeps points relative to now: the hour ends ten minutes ago.
	data, err := graphitefixtures.Load(ctx, fixturesRoot, time.Now().Add(-70*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	srv := graphitetest.Start(t)
	var all strings.Builder
	lines := 0
	for _, d := range data {
		text := d.Plaintext()
		all.WriteString(text)
		lines += strings.Count(text, "\n")
	}
	if err := srv.Send(ctx, all.String()); err != nil {
		t.Fatal(err)
	}
	var any *graphitefixtures.Data
	for _, d := range data {
		any = d
		break
	}
	w := any.Window()
	if err := srv.WaitForPoints(ctx, graphitefixtures.Prefix+".*.*.*.*", w.Start.Unix()-1, w.End.Unix()+3600, lines); err != nil {
		t.Fatal(err)
	}
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}

	live := func(t *testing.T, name string) []string {
		args := append([]string{"--config", graphiteConfig(t, name, srv.URL)}, scopeArgs(name)...)
		return append(args, window(name)...)
	}
	t.Run("scenarios", func(t *testing.T) {
		scenarios := make(map[string]fixtures.Scenario, len(data))
		for name, d := range data {
			scenarios[name] = d.Scenario
		}
		checkScenarioVerdicts(t, scenarios, live)
	})
	// The gauges' slots in [start, end), the counts' steps of the grid,
	// each once.
	t.Run("every point of the hour arrives", func(t *testing.T) { checkEveryPoint(t, live) })

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		// (Values with commas cannot be given on the command line; the
		// unit tests of metrics/graphite try them.) A value a Graphite
		// target cannot hold is refused before anything is queried:
		// exit 65 naming the signal's query, no report.
		for _, evil := range []string{
			"canary.*",
			"*",
			"canary*",
			"canary.latency.p50)|scale(0)",
			`canary"`,
			"canary$1",
		} {
			scenario := "latency-regression"
			args := []string{"--config", graphiteConfig(t, scenario, srv.URL),
				"--baseline-scope", "scenario=" + scenario + ",track=baseline",
				"--canary-scope", "scenario=" + scenario + ",track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window(scenario)...)...)
			if code != exitData || rep.Schema != "" {
				t.Errorf("scope value %q: exit %d, verdict %q, want 65 and no report; stderr: %s", evil, code, rep.Verdict, stderr)
			}
			if !strings.Contains(stderr, "signals[0].query: canary scope:") || !strings.Contains(stderr, "only ASCII letters, digits, '_' and '-'") {
				t.Errorf("scope value %q: stderr %q does not name the query and the characters a value may hold", evil, stderr)
			}
		}
	})

	t.Run("data that stops short is reported as partial", func(t *testing.T) {
		w := data["healthy"].Window()
		args := append([]string{"--config", graphiteConfig(t, "healthy", srv.URL), "--format", "json"}, scopeArgs("healthy")...)
		args = append(args, "--start", w.Start.Add(30*time.Minute).Format(time.RFC3339), "--end", w.End.Add(5*time.Minute).Format(time.RFC3339), "--step", "10s")
		var out, errOut strings.Builder
		code := run(ctx, append([]string{"analyze"}, args...), strings.NewReader(""), &out, &errOut)
		if code >= 64 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		want := fmt.Sprintf("partial data: no returned series has a value after %s", w.End.Add(-10*time.Second).UTC().Format(time.RFC3339))
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, out.String())
		}
	})

	// Last: it stops graphite-web.
	t.Run("a stopped graphite-web gives no verdict", func(t *testing.T) {
		srv.StopWeb()
		checkSourceDown(t, "graphite", srv.URL, live, graphiteConfig(t, "latency-regression", srv.URL), data["latency-regression"].Window())
	})
}
