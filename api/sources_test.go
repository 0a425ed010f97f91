package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
)

// recorder is a test HTTP server standing in for an attacker's URL: it
// records every request that reaches it.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.requests = append(rec.requests, fmt.Sprintf("%s %s Authorization=%q", r.Method, r.URL.Path, r.Header.Get("Authorization")))
		rec.mu.Unlock()
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) seen() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.requests...)
}

// TestConfigsCannotSetSources: a config that reaches the server may not
// say where the server sends queries or which of its files to read: a
// sources: block with a URL, a bearer token file (the server's own tokens
// file here), a basic auth password file, TLS files, a push URL or a named
// source of its own is refused with a 400 naming the field and
// --sources-file, through every way a config comes in (PUT, inline judge,
// inline analyses, Kayenta's inline canaryConfig, standalone analyses,
// --config-dir, and a config stored by an older version read back for
// Argo), and the attacker's server receives nothing.
func TestConfigsCannotSetSources(t *testing.T) {
	attacker := newRecorder(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	const secret = "write-token-of-the-server-0123456789"
	if err := os.WriteFile(tokens, []byte("write "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	operator := newRecorder(t) // the operator's Prometheus: may be queried, never with the config's settings
	ts := newTestServer(t, Options{Sources: promSources(t, operator.URL), Now: func() time.Time { return e2eStart.Add(50 * time.Minute) }})

	// Each attack is a sources: block (YAML, at the end of the config) and
	// the field the refusal must name.
	attacks := []struct {
		name, sources, field string
	}{
		{"url", "sources:\n  prometheus: {url: %[1]q}\n", "sources.prometheus.url"},
		{"bearer token file", "sources:\n  prometheus:\n    bearerTokenFile: %[2]q\n    url: %[1]q\n", "sources.prometheus.bearerTokenFile"},
		{"basic auth password file", "sources:\n  prometheus:\n    basicAuth: {username: x, passwordFile: %[2]q}\n    url: %[1]q\n", "sources.prometheus.basicAuth."},
		{"tls files", "sources:\n  prometheus:\n    tls: {caFile: %[2]q, certFile: %[2]q, keyFile: %[2]q}\n    url: %[1]q\n", "sources.prometheus.tls."},
		{"loki push", "sources:\n  loki:\n    pushURL: %[1]q\n    bearerTokenFile: %[2]q\n", "sources.loki."},
		{"named source", "sources:\n  evil:\n    type: prometheus\n    url: %[1]q\n    bearerTokenFile: %[2]q\n", "sources.evil."},
	}
	const signals = "name: attack\nsignals:\n  - name: latency\n    query: 'app_latency_ms{track=\"{{.track}}\"}'\n"
	config := func(i int) string { return signals + fmt.Sprintf(attacks[i].sources, attacker.URL, tokens) }
	// as JSON, for the inline forms.
	configJSON := func(t *testing.T, i int) json.RawMessage {
		var v any
		if err := yaml.Unmarshal([]byte(config(i)), &v); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	refused := func(t *testing.T, what string, code int, body, field string) {
		t.Helper()
		var e errorBody
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusBadRequest || !strings.Contains(e.Error, field) || !strings.Contains(e.Error, "--sources-file") {
			t.Errorf("%s: %d %s, want 400 naming %s and --sources-file", what, code, body, field)
		}
		if strings.Contains(body, secret) {
			t.Errorf("%s: the answer holds the secret: %s", what, body)
		}
	}
	scopes := `"baselineScope": {"track": "baseline"}, "canaryScope": {"track": "canary"}, "lookback": "10m"`
	for i, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			code, body := ts.call(t, "PUT", "/api/v1/configs/attack", "", config(i), nil)
			refused(t, "PUT /api/v1/configs", code, body, a.field)

			judge := fmt.Sprintf(`{"config": %s, "baseline": {"latency": [1, 2, 3]}, "canary": {"latency": [1, 2, 3]}}`, configJSON(t, i))
			code, body = ts.call(t, "POST", "/api/v1/judge", "", judge, nil)
			refused(t, "POST /api/v1/judge", code, body, a.field)

			code, body = ts.call(t, "POST", "/api/v1/analyses", "", fmt.Sprintf(`{"config": %s, %s}`, configJSON(t, i), scopes), nil)
			refused(t, "POST /api/v1/analyses", code, body, a.field)

			cdir := t.TempDir()
			if err := os.WriteFile(filepath.Join(cdir, "attack.yaml"), []byte(config(i)), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := ts.LoadConfigDir(t.Context(), cdir); err == nil || !strings.Contains(err.Error(), "attack.yaml line") || !strings.Contains(err.Error(), a.field) {
				t.Errorf("--config-dir: %v, want an error naming attack.yaml, the line and %s", err, a.field)
			}

			// A config stored before this check existed (by an older
			// version) is not used either: Argo's call is a 400.
			if _, err := ts.store.PutConfig(t.Context(), "legacy", []byte(config(i))); err != nil {
				t.Fatal(err)
			}
			code, body = ts.call(t, "GET", "/api/v1/argo/legacy?baseline=track%3Dbaseline&canary=track%3Dcanary", "", nil, nil)
			refused(t, "Argo on a legacy stored config", code, body, a.field)
			code, body = ts.call(t, "POST", "/api/v1/flagger/legacy", "", `{"name": "app", "namespace": "shop"}`, nil)
			refused(t, "Flagger on a legacy stored config", code, body, a.field)
		})
	}

	// Kayenta's inline canaryConfig has no sources; one smuggled in is
	// refused like any key Kayenta does not know, in both inline forms.
	canaryConfig := fmt.Sprintf(`{"name": "adhoc", "judge": {"name": "NetflixACAJudge-v1.0"},
		"sources": {"prometheus": {"url": %q, "bearerTokenFile": %q}},
		"metrics": [{"name": "latency", "query": {"type": "prometheus", "customInlineTemplate": "PromQL:app_latency_ms{track=\"${scope}\"}"},
			"groups": ["latency"], "scopeName": "default", "analysisConfigurations": {"canary": {"direction": "increase"}}}],
		"classifier": {"groupWeights": {"latency": 100}}}`, attacker.URL, tokens)
	scope := func(s string) string {
		return fmt.Sprintf(`{"scope": %q, "start": "2024-01-01T00:10:00Z", "end": "2024-01-01T00:50:00Z", "step": 15}`, s)
	}
	exec := fmt.Sprintf(`{"scopes": {"default": {"controlScope": %s, "experimentScope": %s}}, "thresholds": {"pass": 95, "marginal": 75}}`, scope("baseline"), scope("canary"))
	code, body := ts.call(t, "POST", "/canary", "", fmt.Sprintf(`{"canaryConfig": %s, "executionRequest": %s}`, canaryConfig, exec), nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "sources") {
		t.Errorf("POST /canary with sources in the canaryConfig: %d %s, want 400", code, body)
	}
	standalone := `{"scopes": [{"controlScope": "baseline", "experimentScope": "canary", "startTimeIso": "2024-01-01T00:10:00Z", "endTimeIso": "2024-01-01T00:50:00Z", "step": 15}], "thresholds": {"pass": 95, "marginal": 75}}`
	code, body = ts.call(t, "POST", "/standalone_canary_analysis", "", fmt.Sprintf(`{"canaryConfig": %s, "executionRequest": %s}`, canaryConfig, standalone), nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "sources") {
		t.Errorf("POST /standalone_canary_analysis with sources in the canaryConfig: %d %s, want 400", code, body)
	}

	// Nothing was stored under the attack's name, nothing ran, and the
	// attacker heard nothing (give anything started in the background the
	// time to reach it).
	if _, err := ts.store.GetConfig(t.Context(), "attack"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the attack config was stored: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses", "", nil, &list)
	if len(list.Analyses) != 0 {
		t.Errorf("%d analyses were started, the first of %s", len(list.Analyses), list.Analyses[0].ConfigName)
	}
	if got := attacker.seen(); len(got) != 0 {
		t.Errorf("the attacker's server received %d requests: %q", len(got), got)
	}
	for _, r := range operator.seen() {
		if strings.Contains(r, secret) {
			t.Errorf("the operator's source received the secret: %s", r)
		}
	}
}

// TestConfigNamesUnknownSource: a config whose signal names a source the
// server does not have is refused with a 400 naming the signal; one that
// names a source the server has is stored.
func TestConfigNamesUnknownSource(t *testing.T) {
	operator := newRecorder(t)
	set, err := analysis.ParseServerSources("sources.yaml", []byte(fmt.Sprintf("eu: {type: prometheus, url: %q}\n", operator.URL)))
	if err != nil {
		t.Fatal(err)
	}
	sources, err := set.Open(analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{Sources: sources})
	cfg := "signals:\n  - name: latency\n    source: %s\n    query: 'latency{track=\"{{.track}}\"}'\n"
	var e errorBody
	code, body := ts.call(t, "PUT", "/api/v1/configs/us", "", fmt.Sprintf(cfg, "us"), &e)
	if code != 400 || !strings.Contains(e.Error, `signals[0].source: signal "latency" reads from source "us", which is not configured (sources: eu)`) {
		t.Errorf("PUT naming us: %d %s", code, body)
	}
	if code, body := ts.call(t, "PUT", "/api/v1/configs/eu", "", fmt.Sprintf(cfg, "eu"), nil); code != 200 {
		t.Errorf("PUT naming eu: %d %s", code, body)
	}
	// A default name the server lacks is a 400 when it would run.
	if code, body := ts.call(t, "PUT", "/api/v1/configs/default", "", fmt.Sprintf(cfg, "prometheus"), nil); code != 200 {
		t.Fatalf("PUT naming prometheus: %d %s", code, body)
	}
	code, body = ts.call(t, "GET", "/api/v1/argo/default?baseline=track%3Db&canary=track%3Dc", "", nil, &e)
	if code != 400 || !strings.Contains(e.Error, `signal "latency" reads from prometheus, but no prometheus source is configured`) {
		t.Errorf("Argo without a prometheus source: %d %s", code, body)
	}
	// The eu config runs against the operator's eu source.
	ts.call(t, "GET", "/api/v1/argo/eu?baseline=track%3Db&canary=track%3Dc", "", nil, nil)
	if len(operator.seen()) == 0 {
		t.Error("the eu source was not queried")
	}
}
