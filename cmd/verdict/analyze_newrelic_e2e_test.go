package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/fixtures"
	newrelicfixtures "github.com/verdict-aca/verdict/fixtures/newrelic"
	"github.com/verdict-aca/verdict/internal/newrelictest"
)

const (
	nrTestKey     = "NRAK-E2ETESTKEY0123456789ABCDEFGH"
	nrTestAccount = 7654321
)

// newRelicConfig writes a scenario's committed New Relic config with its
// source at url, the key in a file holding key.
func newRelicConfig(t *testing.T, scenario, url, key string) string {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "nr-api-key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return liveConfig(t, newrelicfixtures.ConfigPath(fixturesRoot, scenario), "{type: newrelic, region: US}",
		"{type: newrelic, url: '"+url+"', accountId: "+strconv.Itoa(nrTestAccount)+", apiKeyFile: '"+keyFile+"'}", dir)
}

// TestAnalyzeNewRelic runs `verdict analyze` against the NerdGraph
// stand-in (internal/newrelictest) holding every fixture scenario in its
// New Relic form: each gets the verdict of its file form.
func TestAnalyzeNewRelic(t *testing.T) {
	data, err := newrelicfixtures.Load(context.Background(), fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	srv := newrelictest.Start(t, nrTestKey, nrTestAccount)
	for _, d := range data {
		for _, e := range d.Events {
			srv.Add(newrelictest.Event{Type: newrelicfixtures.EventType, Attrs: e.Attrs, Fields: e.Fields, Time: e.Time})
		}
	}
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}

	live := func(t *testing.T, name string) []string {
		args := append([]string{"--config", newRelicConfig(t, name, srv.URL, nrTestKey)}, scopeArgs(name)...)
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
		for _, http429 := range []bool{false, true} {
			before := len(srv.Requests())
			srv.Throttle(2, http429)
			code, rep, stderr := analyzeLive(t, live(t, "error-spike")...)
			if rep.Verdict != "fail" || code != exitFail {
				t.Fatalf("http429=%v: verdict %q (exit %d), want fail; stderr: %s", http429, rep.Verdict, code, stderr)
			}
			if n := len(srv.Requests()) - before; n != 14 {
				t.Errorf("http429=%v: %d requests, want 14 (12 queries, 2 retried)", http429, n)
			}
		}
	})

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		for _, evil := range []string{"canary' OR track = 'baseline", `canary\`} {
			scenario := "latency-regression"
			args := []string{"--config", newRelicConfig(t, scenario, srv.URL, nrTestKey),
				"--baseline-scope", "scenario=" + scenario + ",track=baseline",
				"--canary-scope", "scenario=" + scenario + ",track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window(scenario)...)...)
			if code != exitData || rep.Schema != "" {
				t.Errorf("scope value %q: exit %d, verdict %q, want 65 and no report; stderr: %s", evil, code, rep.Verdict, stderr)
			}
			if !strings.Contains(stderr, "signals[0].query: canary scope:") || !strings.Contains(stderr, "cannot be placed in a NRQL string") {
				t.Errorf("scope value %q: stderr %q does not name the query and why", evil, stderr)
			}
		}
	})

	t.Run("wrong key: one sentence, no key anywhere", func(t *testing.T) {
		const wrong = "NRAK-WRONGKEY000000000000000000000"
		cfg := newRelicConfig(t, "healthy", srv.URL, wrong)
		args := append([]string{"--config", cfg}, scopeArgs("healthy")...)
		var out, errOut strings.Builder
		code := run(context.Background(), append(append([]string{"analyze", "--format", "json"}, args...), window("healthy")...), strings.NewReader(""), &out, &errOut)
		stderr := errOut.String()
		if code != exitUnavailable || !strings.HasPrefix(stderr, "verdict: source newrelic at "+srv.URL+" answered none of its") ||
			!strings.Contains(stderr, "New Relic refused the API key (Invalid API key)") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("exit %d, stderr %q, want 69 and one sentence saying New Relic refused the key", code, stderr)
		}
		rep := serveReport(t, cfg, scenarioScopes("healthy"), data["healthy"].Window())
		doc, _ := json.Marshal(rep)
		if rep.Verdict != "none" || !strings.Contains(string(doc), "New Relic refused the API key") {
			t.Errorf("report: verdict %s, want none with the refusal: %s", rep.Verdict, doc)
		}
		for _, k := range []string{wrong, nrTestKey} {
			if strings.Contains(string(doc), k) || strings.Contains(stderr, k) || strings.Contains(out.String(), k) {
				t.Errorf("a key appears in the output, the error or the report")
			}
		}
	})
}
