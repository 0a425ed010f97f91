package analysis

import (
	"context"
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

	"github.com/verdict-aca/verdict/internal/doctest"
	"github.com/verdict-aca/verdict/metrics"
)

// matrixServer answers every range query with one series of 30 points
// and remembers the path, tenant and Authorization of the last request.
type matrixServer struct {
	*httptest.Server
	mu                  sync.Mutex
	path, tenant, authz string
	requests            int
}

func newMatrixServer(t *testing.T) *matrixServer {
	t.Helper()
	m := &matrixServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.path, m.tenant, m.authz = r.URL.Path, r.Header.Get("X-Scope-OrgID"), r.Header.Get("Authorization")
		m.requests++
		m.mu.Unlock()
		start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).Unix()
		var values []string
		for i := range 30 {
			values = append(values, fmt.Sprintf(`[%d, "%d"]`, start+int64(i)*10, i%4))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"shop"},"values":[%s]}]}}`, strings.Join(values, ","))
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *matrixServer) last() (path, tenant, authz string, requests int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.path, m.tenant, m.authz, m.requests
}

var sourcesWindow = metrics.Window{Start: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 1, 12, 5, 0, 0, time.UTC), Step: 10 * time.Second}

// TestOpenSources checks the command line's sources: URLs come from the
// overrides first, then the config; a Loki signal is served by a Loki
// source that speaks Loki's query_range API with the configured tenant; a
// signal may name a source of its own; unused sources are not built.
func TestOpenSources(t *testing.T) {
	lokiSrv, eu := newMatrixServer(t), newMatrixServer(t)
	config := `name: shop
sources:
  prometheus: {url: "http://127.0.0.1:1"}
  loki: {url: "http://127.0.0.1:1", tenant: team-a}
  eu: {type: prometheus, url: "` + eu.URL + `", maxConns: 4, maxResponseBytes: 1MiB, idleConnTimeout: 10s}
signals:
  - name: error_lines
    source: loki
    test: rate
    query: 'sum(count_over_time({app="shop", track="{{.track}}"} |= "error" [{{.step}}]))'
  - name: eu_errors
    source: eu
    test: rate
    query: 'sum(increase(errors{track="{{.track}}"}[{{.step}}]))'
`
	cfg, err := ParseConfig("shop.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	set, err := OpenSources(cfg, SourceOverrides{LokiURL: lokiSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set["prometheus"]; ok {
		t.Error("a Prometheus source was built though no signal reads from it")
	}
	rep, err := Run(context.Background(), cfg, set, LiveRequest{Scopes: scopes, Window: sourcesWindow})
	if err != nil {
		t.Fatal(err)
	}
	if path, tenant, _, _ := lokiSrv.last(); tenant != "team-a" || path != "/loki/api/v1/query_range" {
		t.Errorf("Loki saw tenant %q path %q", tenant, path)
	}
	if path, _, _, _ := eu.last(); path != "/api/v1/query_range" {
		t.Errorf("the eu source saw path %q", path)
	}
	for _, got := range rep.Signals {
		if got.Classification != "pass" || got.Canary.Count != 30 {
			t.Errorf("%s: %s with %d canary points (%s)", got.Name, got.Classification, got.Canary.Count, got.Reason)
		}
	}

	if _, err := OpenSources(cfg, SourceOverrides{LokiURL: "ftp://nowhere"}); err == nil || !strings.Contains(err.Error(), "sources.loki") {
		t.Errorf("a bad Loki URL: got %v, want an error naming sources.loki", err)
	}
}

// TestParseServerSources: a sources file's mistakes are errors naming the
// file, the line and the field.
func TestParseServerSources(t *testing.T) {
	good := `prometheus: {url: "http://prom:9090", timeout: 5s, maxConns: 8}
loki: {url: "http://loki:3100", tenant: team-a, pushURL: "http://loki:3100"}
eu:
  type: prometheus
  url: "https://prom.eu:9090"
  bearerTokenFile: /run/secrets/eu-token
  tls: {caFile: /run/secrets/eu-ca.pem}
logs-eu: {type: loki, url: "http://loki.eu:3100", maxResponseBytes: 8MiB}
`
	f, err := ParseServerSources("sources.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Sources.Names(), ","); got != "prometheus,loki,eu,logs-eu" {
		t.Errorf("names %s", got)
	}
	if eu := f.Sources.Get("eu"); eu.Type != "prometheus" || eu.TLS.CAFile != "/run/secrets/eu-ca.pem" || f.Sources.Get("loki").Type != "loki" ||
		f.Sources.Get("logs-eu").MaxResponseBytes != 8<<20 || f.Sources.Get("prometheus").MaxConns != 8 {
		t.Errorf("sources %+v", f.Sources)
	}

	for _, tc := range []struct{ name, text, want string }{
		{"bad url", "prometheus: {url: ftp://x}\n", "sources.yaml line 1: prometheus.url: \"ftp://x\" is not a URL"},
		{"user in url", "prometheus: {url: \"http://u:p@prom\"}\n", "line 1: prometheus.url: the URL carries a user or password"},
		{"no type", "eu: {url: \"http://x\"}\n", "line 1: eu.type: missing"},
		{"unknown type", "eu:\n  type: nosuchdb\n", "line 2: eu.type: \"nosuchdb\" is not a source type (want prometheus, loki, victoriametrics, graphite, influxdb, flux, cloudwatch, datadog, newrelic)"},
		{"an org on another type", "eu:\n  type: influxdb\n  database: shop\n  org: shop\n", "eu.org: only a flux source has an org"},
		{"a tokenFile on another type", "eu:\n  type: prometheus\n  tokenFile: /run/secrets/t\n", "eu.tokenFile: only a flux source has a tokenFile"},
		{"a bearer token on flux", "eu:\n  type: flux\n  url: http://127.0.0.1:8086\n  bearerTokenFile: /run/secrets/t\n", "eu.bearerTokenFile: a flux source sends its token as \"Authorization: Token\""},
		{"influxdb without a database", "eu:\n  type: influxdb\n  url: http://127.0.0.1:8086\n", "line 1: eu.database: missing: influxdb source \"eu\" needs the database its queries read"},
		{"a database on another type", "eu:\n  type: graphite\n  database: shop\n", "eu.database: only an influxdb source has a database"},
		{"latencyOffset on another type", "eu:\n  type: graphite\n  url: http://127.0.0.1:1\n  latencyOffset: 10s\n", "line 4: eu.latencyOffset: only a victoriametrics source has a latencyOffset"},
		{"default of another type", "prometheus: {type: loki}\n", "prometheus.type: the source named prometheus is of type prometheus"},
		{"tenant on prometheus", "eu: {type: prometheus, tenant: a}\n", "eu.tenant: only a Loki source"},
		{"pushURL elsewhere", "logs: {type: loki, pushURL: \"http://x\"}\n", "logs.pushURL: verdict events go to the pushURL of the source named loki"},
		{"typo", "prometheus:\n  urll: x\n", "line 2: prometheus: unknown key \"urll\"; did you mean \"url\"?"},
		{"bad name", "EU: {type: prometheus}\n", "EU: \"EU\" is not a source name"},
		{"file", "file: {type: prometheus}\n", "file: \"file\" is not a source one can configure"},
		{"a list", "- prometheus\n", "sources.yaml line 1: want a mapping of source names to their settings"},
		{"size", "prometheus: {maxResponseBytes: lots}\n", "prometheus.maxResponseBytes: \"lots\" is not a size"},
		{"negative conns", "prometheus: {maxConns: -1}\n", "prometheus.maxConns: -1 is negative"},
		{"not YAML", "prometheus: {url: [\n", "sources.yaml line 1: not valid YAML"},
	} {
		_, err := ParseServerSources("sources.yaml", []byte(tc.text))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a ConfigError containing %q", tc.name, err, tc.want)
		}
	}
}

// TestServerSourcesOpen: Open builds every source of the file once, the
// URL flags winning for the default ones, and sends the credentials the
// file names; a source without a URL, or with a file that cannot be read,
// is an error naming the file, line and field.
func TestServerSourcesOpen(t *testing.T) {
	prom, eu, logs := newMatrixServer(t), newMatrixServer(t), newMatrixServer(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "eu-token")
	if err := os.WriteFile(token, []byte("eu-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`prometheus: {url: "http://127.0.0.1:1", timeout: 2s}
eu: {type: prometheus, url: %q, bearerTokenFile: %q}
logs: {type: loki, url: %q, tenant: team-b}
`, eu.URL, token, logs.URL)
	f, err := ParseServerSources("sources.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Open(SourceOverrides{PrometheusURL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got := setNames(set); got != "eu, logs, prometheus" {
		t.Fatalf("sources %s", got)
	}
	for name, srv := range map[string]*matrixServer{"prometheus": prom, "eu": eu, "logs": logs} {
		if _, err := set[name].Fetch(t.Context(), metrics.Query{Signal: "x", Expr: "up"}, nil, sourcesWindow); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, _, _, n := srv.last(); n != 1 {
			t.Errorf("%s: its server saw %d requests, want 1", name, n)
		}
	}
	if _, tenant, authz, _ := logs.last(); tenant != "team-b" || authz != "" {
		t.Errorf("logs: tenant %q, Authorization %q", tenant, authz)
	}
	if _, _, authz, _ := eu.last(); authz != "Bearer eu-secret" {
		t.Errorf("eu: Authorization %q", authz)
	}

	// Only flags: the default sources they name.
	set, err = (*ServerSources)(nil).Open(SourceOverrides{PrometheusURL: prom.URL, LokiURL: logs.URL})
	if err != nil || setNames(set) != "loki, prometheus" {
		t.Errorf("flags only: %s, %v", setNames(set), err)
	}

	for _, tc := range []struct{ name, text, want string }{
		{"no url", "loki: {tenant: a}\n", "sources.yaml line 1: loki.url: missing: give url here or --loki-url"},
		{"unreadable token", "eu:\n  type: prometheus\n  url: \"http://x\"\n  bearerTokenFile: " + filepath.Join(dir, "missing") + "\n", "sources.yaml line 4: eu.bearerTokenFile: open "},
		{"bad CA", "eu:\n  type: prometheus\n  url: \"https://x\"\n  tls:\n    caFile: " + token + "\n", "sources.yaml line 5: eu.tls.caFile: " + token + " holds no PEM certificate"},
	} {
		f, err := ParseServerSources("sources.yaml", []byte(tc.text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = f.Open(SourceOverrides{})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a ConfigError containing %q", tc.name, err, tc.want)
		}
	}
}

// TestCheckNoSources: a config with anything under sources: is refused
// for the server, naming the first field written there; one without is
// accepted.
func TestCheckNoSources(t *testing.T) {
	const signals = "signals:\n  - name: a\n    query: up\n"
	for _, tc := range []struct{ name, text, want string }{
		{"url", "sources:\n  prometheus: {url: \"http://attacker\"}\n" + signals, "c.yaml line 2: sources.prometheus.url: a config given to verdict serve cannot set sources"},
		{"token file", signals + "sources:\n  prometheus:\n    bearerTokenFile: /etc/verdict/tokens\n", "c.yaml line 6: sources.prometheus.bearerTokenFile:"},
		{"password file", signals + "sources:\n  prometheus:\n    basicAuth:\n      username: a\n      passwordFile: /etc/shadow\n", "line 7: sources.prometheus.basicAuth.username:"},
		{"tls", signals + "sources:\n  loki:\n    tls: {keyFile: /etc/ssl/private/key.pem}\n", "line 6: sources.loki.tls.keyFile:"},
		{"push", signals + "sources:\n  loki: {pushURL: \"http://attacker\"}\n", "sources.loki.pushURL:"},
		{"named", signals + "sources:\n  eu: {type: prometheus, url: \"http://attacker\"}\n", "line 5: sources.eu.type:"},
		{"empty entry", signals + "sources:\n  prometheus: {}\n", "line 5: sources.prometheus:"},
		{"empty block", signals + "sources: {}\n", "line 4: sources:"},
		{"json", `{"signals": [{"name": "a", "query": "up"}],
 "sources": {"prometheus": {"bearerTokenFile": "/etc/verdict/tokens", "url": "http://attacker"}}}`, "c.yaml line 2: sources.prometheus.bearerTokenFile: a config given to verdict serve cannot set sources"},
	} {
		cfg, err := ParseConfig("c.yaml", []byte(tc.text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = cfg.CheckNoSources()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--sources-file") {
			t.Errorf("%s: got %v, want a ConfigError containing %q", tc.name, err, tc.want)
		}
	}
	cfg, err := ParseConfig("c.yaml", []byte(signals+"sources:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckNoSources(); err == nil {
		t.Error("an empty sources: key was accepted")
	}
	cfg, err = ParseConfig("c.yaml", []byte(signals))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckNoSources(); err != nil {
		t.Errorf("a config without sources: %v", err)
	}
}

// TestSignalSourceNames: a signal may name any well-formed source; one the
// set lacks is an error naming the signal, except the default names, left
// to CheckLive.
func TestSignalSourceNames(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte("signals:\n  - name: a\n    query: up\n  - name: b\n    source: eu\n    query: up\n  - name: c\n    source: loki\n    query: 'sum(rate({a=\"b\"}[1m]))'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckSourceNames(SourceSet{"eu": nil}); err != nil {
		t.Errorf("with eu: %v", err)
	}
	err = cfg.CheckSourceNames(SourceSet{"prometheus": nil, "us": nil})
	if err == nil || !strings.Contains(err.Error(), `line 5: signals[1].source: signal "b" reads from source "eu", which is not configured (sources: prometheus, us)`) {
		t.Errorf("without eu: %v", err)
	}
	err = cfg.CheckLive(SourceSet{"eu": nil, "loki": nil}, scopes)
	if err == nil || !strings.Contains(err.Error(), `signals[0].source: signal "a" reads from prometheus, but no prometheus source is configured`) {
		t.Errorf("CheckLive without prometheus: %v", err)
	}
	for _, tc := range []struct{ text, want string }{
		{"signals:\n  - name: a\n    source: EU!\n    query: up\n", `signals[0].source: "EU!" is not a source name`},
		{"signals:\n  - name: a\n    source: eu\n", `signals[0].query: signal "a" reads from eu but has no query`},
	} {
		if _, err := ParseConfig("c.yaml", []byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestDocumentedSources: the sources examples of the README (a config's
// sources: block) and of docs/integrations.md (a --sources-file) are
// accepted as written.
func TestDocumentedSources(t *testing.T) {
	var configs, files int
	for _, b := range yamlBlocks(t, filepath.Join("..", "README.md")) {
		if !strings.HasPrefix(b, "sources:") {
			continue
		}
		configs++
		if _, err := ParseConfig("README.md", []byte(b+"signals:\n  - name: a\n    source: prom-eu\n    query: up\n")); err != nil {
			t.Errorf("the README's sources: %v", err)
		}
	}
	for _, b := range yamlBlocks(t, filepath.Join("..", "docs", "integrations.md")) {
		if !strings.HasPrefix(b, "prometheus:") {
			continue
		}
		files++
		f, err := ParseServerSources("integrations.md", []byte(b))
		if err != nil {
			t.Errorf("the sources file of docs/integrations.md: %v", err)
			continue
		}
		if got := strings.Join(f.Sources.Names(), ","); got != "prometheus,loki,prom-eu,vm,graphite,influx,flux" {
			t.Errorf("docs/integrations.md's sources file names %s", got)
		}
	}
	if configs != 1 || files != 1 {
		t.Errorf("found %d sources: blocks in the README and %d sources files in docs/integrations.md, want 1 each", configs, files)
	}
}

// TestDocumentedConfigs: every config the README shows (a YAML block that
// starts with name: or signals:) is a valid config as written.
func TestDocumentedConfigs(t *testing.T) {
	n := 0
	for _, b := range yamlBlocks(t, filepath.Join("..", "README.md")) {
		if !strings.HasPrefix(b, "name:") && !strings.HasPrefix(b, "signals:") {
			continue
		}
		n++
		if _, err := ParseConfig("README.md", []byte(b)); err != nil {
			t.Errorf("a README config does not parse: %v\n%s", err, b)
		}
	}
	if n < 2 {
		t.Errorf("found %d configs in the README, want the example config and the release signals", n)
	}
}

// TestSourceLanguage checks that a signal's query is read in its source's
// language: a Graphite target by Graphite's rules (a scope value in a
// metric path), PromQL by PromQL's (a scope value in a quoted string).
func TestSourceLanguage(t *testing.T) {
	const config = `
name: langs
sources:
  vm: {type: victoriametrics, url: "http://127.0.0.1:1"}
  g: {type: graphite, url: "http://127.0.0.1:1"}
signals:
  - name: cpu
    source: g
    query: 'averageSeries(shop.{{.track}}.*.cpu)'
  - name: mem
    source: vm
    query: 'avg(mem{track="{{.track}}"})'
`
	cfg, err := ParseConfig("langs.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	scopes := Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}}
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}
	rendered, err := cfg.RenderQueries(scopes, w)
	if err != nil {
		t.Fatal(err)
	}
	if rendered[0].Canary != "averageSeries(shop.canary.*.cpu)" || rendered[1].Canary != `avg(mem{track="canary"})` {
		t.Errorf("rendered %q and %q", rendered[0].Canary, rendered[1].Canary)
	}
	set, err := OpenSources(cfg, SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckLive(set, scopes); err != nil {
		t.Errorf("CheckLive: %v", err)
	}
	// A value Graphite cannot hold is refused for the Graphite signal only.
	evil := Scopes{Baseline: scopes.Baseline, Canary: metrics.Scope{"track": "canary.*"}}
	if _, err := cfg.RenderQueries(evil, w); err == nil || !strings.Contains(err.Error(), "signals[0].query") || !strings.Contains(err.Error(), "only ASCII letters") {
		t.Errorf("track=canary.* for a Graphite target: %v, want signals[0].query refused", err)
	}
	// Each language refuses the other's placing.
	cfg.Signals[0].Query, cfg.Signals[1].Query = `averageSeries(seriesByTag("track={{.track}}", {{.track}}))`, `avg(mem{track={{.track}}})`
	if err := cfg.CheckLive(set, scopes); err == nil || !strings.Contains(err.Error(), "signals[0].query") || !strings.Contains(err.Error(), "stands alone") {
		t.Errorf("a Graphite value outside a path: %v", err)
	}
	cfg.Signals[0].Query = "shop.{{.track}}.cpu"
	if err := cfg.CheckLive(set, scopes); err == nil || !strings.Contains(err.Error(), "signals[1].query") {
		t.Errorf("a PromQL value outside a string: %v", err)
	}
}

// yamlBlocks returns the yaml blocks of a Markdown file.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	texts, err := doctest.FencedFile(path, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return texts
}
