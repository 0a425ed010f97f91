package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/fixtures"
	datadogfixtures "github.com/verdict-aca/verdict/fixtures/datadog"
	"github.com/verdict-aca/verdict/internal/datadogtest"
)

const (
	ddTestAPIKey = "5f1c0ffee5f1c0ffee5f1c0ffee5f1c0"
	ddTestAppKey = "a11ce0b0ba11ce0b0ba11ce0b0ba11ce0b0ba11c"
)

// datadogConfig writes a scenario's committed Datadog config with its
// source at url, the keys in files holding apiKey and appKey.
func datadogConfig(t *testing.T, scenario, url, apiKey, appKey string) string {
	t.Helper()
	dir := t.TempDir()
	apiFile, appFile := filepath.Join(dir, "dd-api-key"), filepath.Join(dir, "dd-app-key")
	for f, k := range map[string]string{apiFile: apiKey, appFile: appKey} {
		if err := os.WriteFile(f, []byte(k+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return liveConfig(t, datadogfixtures.ConfigPath(fixturesRoot, scenario), "{type: datadog, site: datadoghq.com}",
		"{type: datadog, url: '"+url+"', apiKeyFile: '"+apiFile+"', appKeyFile: '"+appFile+"'}", dir)
}

// TestAnalyzeDatadog runs `verdict analyze` against the Datadog stand-in
// (internal/datadogtest, answering GET /api/v1/query in the shape of
// Datadog's recorded answers) holding every fixture scenario in its
// Datadog form: each gets the verdict of its file form.
func TestAnalyzeDatadog(t *testing.T) {
	data, err := datadogfixtures.Load(context.Background(), fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	srv := datadogtest.Start(t, ddTestAPIKey, ddTestAppKey)
	for _, d := range data {
		for _, s := range d.Series {
			srv.Add(s.Metric, s.Tags, s.Times, s.Values)
		}
	}
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}

	live := func(t *testing.T, name string) []string {
		args := append([]string{"--config", datadogConfig(t, name, srv.URL, ddTestAPIKey, ddTestAppKey)}, scopeArgs(name)...)
		return append(args, window(name)...)
	}

	t.Run("scenarios", func(t *testing.T) {
		scenarios := make(map[string]fixtures.Scenario, len(data))
		for name, d := range data {
			scenarios[name] = d.Scenario
		}
		checkScenarioVerdicts(t, scenarios, live)
	})

	t.Run("every point of the hour arrives", func(t *testing.T) { checkEveryPoint(t, live) })

	t.Run("throttled answers are retried", func(t *testing.T) {
		before := len(srv.Requests())
		srv.Throttle(2, 1)
		code, rep, stderr := analyzeLive(t, live(t, "error-spike")...)
		if rep.Verdict != "fail" || code != exitFail {
			t.Fatalf("verdict %q (exit %d), want fail; stderr: %s", rep.Verdict, code, stderr)
		}
		// 12 queries (6 signals, 2 sides), 2 of them answered 429 first.
		if n := len(srv.Requests()) - before; n != 14 {
			t.Errorf("%d requests, want 14 (12 queries, 2 retried after a 429)", n)
		}
	})

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		for _, evil := range []string{"canary*", "canary OR track:baseline", "*", "canary}"} {
			scenario := "latency-regression"
			args := []string{"--config", datadogConfig(t, scenario, srv.URL, ddTestAPIKey, ddTestAppKey),
				"--baseline-scope", "scenario=" + scenario + ",track=baseline",
				"--canary-scope", "scenario=" + scenario + ",track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window(scenario)...)...)
			if code != exitData || rep.Schema != "" {
				t.Errorf("scope value %q: exit %d, verdict %q, want 65 and no report; stderr: %s", evil, code, rep.Verdict, stderr)
			}
			if !strings.Contains(stderr, "signals[0].query: canary scope:") || !strings.Contains(stderr, "only ASCII letters, digits, '_', '-', '.' and '/'") {
				t.Errorf("scope value %q: stderr %q does not name the query and the characters a value may hold", evil, stderr)
			}
		}
	})

	t.Run("wrong keys: one sentence, no key anywhere", func(t *testing.T) {
		const wrongAPI, wrongApp = "0badc0de0badc0de0badc0de0badc0de", "feedfacefeedfacefeedfacefeedfacefeedface"
		cfg := datadogConfig(t, "healthy", srv.URL, wrongAPI, wrongApp)
		args := append([]string{"--config", cfg}, scopeArgs("healthy")...)
		for _, format := range []string{"json", "table", "markdown"} {
			var out, errOut strings.Builder
			code := run(context.Background(), append(append([]string{"analyze", "--format", format}, args...), window("healthy")...), strings.NewReader(""), &out, &errOut)
			if code != exitUnavailable {
				t.Errorf("%s: exit %d, want 69; stderr: %s", format, code, errOut.String())
			}
			stderr := errOut.String()
			if !strings.HasPrefix(stderr, "verdict: source datadog at "+srv.URL+" answered none of its") || !strings.Contains(stderr, "Datadog refused the keys (Forbidden)") {
				t.Errorf("%s: stderr %q, want one sentence saying Datadog refused the keys", format, stderr)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("%s: stderr is more than one line: %q", format, stderr)
			}
			for _, k := range []string{wrongAPI, wrongApp, ddTestAPIKey, ddTestAppKey} {
				if strings.Contains(stderr, k) || strings.Contains(out.String(), k) {
					t.Errorf("%s: a key appears in the output or the error", format)
				}
			}
		}
		// verdict serve's analyses get a report (verdict none) whose
		// signals carry the source's sentence, without the keys.
		rep := serveReport(t, cfg, scenarioScopes("healthy"), data["healthy"].Window())
		doc, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != "none" || !strings.Contains(string(doc), "Datadog refused the keys") {
			t.Errorf("report: verdict %s, want none with the refusal in its signals: %s", rep.Verdict, doc)
		}
		for _, k := range []string{wrongAPI, wrongApp} {
			if strings.Contains(string(doc), k) {
				t.Errorf("the report holds a key")
			}
		}
	})
}
