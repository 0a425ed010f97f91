package analysis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// TestDatadogSources: a datadog source needs no url (its site's API),
// takes its keys from its files or from DD_API_KEY and DD_APP_KEY, and
// says which setting is missing without any key in the message; its
// settings are refused on other types.
func TestDatadogSources(t *testing.T) {
	const apiKey, appKey = "api-key-value-0123456789", "app-key-value-9876543210"
	for _, tc := range []struct{ name, text, want string }{
		{"site elsewhere", "eu: {type: prometheus, url: 'http://127.0.0.1:1', site: datadoghq.eu}\n", "line 1: eu.site: only a datadog source has a site"},
		{"key file elsewhere", "g:\n  type: graphite\n  url: http://127.0.0.1:1\n  apiKeyFile: /k\n", "line 4: g.apiKeyFile: only a datadog or newrelic source has an apiKeyFile"},
		{"bearer token", "dd:\n  type: datadog\n  bearerTokenFile: /t\n", "dd.bearerTokenFile: a datadog source authenticates with its API key"},
	} {
		_, err := ParseServerSources("sources.yaml", []byte(tc.text))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a ConfigError containing %q", tc.name, err, tc.want)
		}
	}

	f, err := ParseServerSources("sources.yaml", []byte("dd:\n  type: datadog\n  site: datadoghq.eu\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDatadogAPIKey, "")
	t.Setenv(EnvDatadogAppKey, "")
	_, err = f.Open(SourceOverrides{})
	if err == nil || !strings.Contains(err.Error(), "sources.yaml line 1: dd.apiKeyFile: missing: give apiKeyFile or set DD_API_KEY") {
		t.Errorf("no keys: %v, want the missing setting named", err)
	}
	t.Setenv(EnvDatadogAPIKey, apiKey)
	t.Setenv(EnvDatadogAppKey, appKey)
	set, err := f.Open(SourceOverrides{})
	if err != nil {
		t.Fatalf("keys from the environment: %v", err)
	}
	if _, ok := set["dd"]; !ok {
		t.Errorf("no dd source in %v", set)
	}

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "dd-app-key")
	if err := os.WriteFile(keyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = ParseServerSources("sources.yaml", []byte("dd:\n  type: datadog\n  appKeyFile: "+keyFile+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Open(SourceOverrides{}); err == nil || !strings.Contains(err.Error(), "dd.appKeyFile: the file is empty") {
		t.Errorf("empty key file: %v", err)
	} else if strings.Contains(err.Error(), apiKey) {
		t.Errorf("error holds the API key: %v", err)
	}
}

// TestDatadogLanguage: a datadog signal's query is read by Datadog's
// rules: a scope value in a tag filter's value only, of tag characters.
func TestDatadogLanguage(t *testing.T) {
	const config = `
name: dd
sources:
  dd: {type: datadog}
signals:
  - name: cpu
    source: dd
    query: 'avg:checkout.cpu{track:{{.track}}}.rollup(avg, {{.step}})'
`
	cfg, err := ParseConfig("dd.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	scopes := Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}}
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}
	rendered, err := cfg.RenderQueries(scopes, w)
	if err != nil {
		t.Fatal(err)
	}
	if rendered[0].Canary != "avg:checkout.cpu{track:canary}.rollup(avg, 60)" {
		t.Errorf("rendered %q", rendered[0].Canary)
	}
	evil := Scopes{Baseline: scopes.Baseline, Canary: metrics.Scope{"track": "canary,env:prod"}}
	if _, err := cfg.RenderQueries(evil, w); err == nil || !strings.Contains(err.Error(), "signals[0].query") || !strings.Contains(err.Error(), "only ASCII letters, digits, '_', '-', '.' and '/'") {
		t.Errorf("track=canary,env:prod: %v, want signals[0].query refused", err)
	}
}

// TestNewRelicSources: a newrelic source needs no url (its region's
// NerdGraph), takes its key, account and region from its settings or
// from NEW_RELIC_API_KEY, NEW_RELIC_ACCOUNT_ID and NEW_RELIC_REGION, and
// says which setting is missing or wrong; its settings are refused on
// other types.
func TestNewRelicSources(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"account elsewhere", "dd: {type: datadog, accountId: 1}\n", "line 1: dd.accountId: only a newrelic source has a accountId"},
		{"region elsewhere", "p: {type: prometheus, url: 'http://127.0.0.1:1', region: EU}\n", "p.region: only a cloudwatch or newrelic source has a region"},
		{"app key on newrelic", "nr: {type: newrelic, appKeyFile: /k}\n", "nr.appKeyFile: only a datadog source has a appKeyFile"},
	} {
		_, err := ParseServerSources("sources.yaml", []byte(tc.text))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a ConfigError containing %q", tc.name, err, tc.want)
		}
	}
	f, err := ParseServerSources("sources.yaml", []byte("nr:\n  type: newrelic\n  region: EU\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvNewRelicAPIKey, "NRAK-secret-value")
	t.Setenv(EnvNewRelicAccountID, "")
	if _, err := f.Open(SourceOverrides{}); err == nil || !strings.Contains(err.Error(), "nr.accountId: missing: give accountId or set NEW_RELIC_ACCOUNT_ID") {
		t.Errorf("no account: %v", err)
	}
	t.Setenv(EnvNewRelicAccountID, "12x")
	if _, err := f.Open(SourceOverrides{}); err == nil || !strings.Contains(err.Error(), `nr.accountId: NEW_RELIC_ACCOUNT_ID: "12x" is not a New Relic account id`) {
		t.Errorf("bad account: %v", err)
	}
	t.Setenv(EnvNewRelicAccountID, "1234567")
	set, err := f.Open(SourceOverrides{})
	if err != nil {
		t.Fatalf("from the environment: %v", err)
	}
	if _, ok := set["nr"]; !ok {
		t.Errorf("no nr source")
	}
	t.Setenv(EnvNewRelicAPIKey, "")
	if _, err := f.Open(SourceOverrides{}); err == nil || !strings.Contains(err.Error(), "nr.apiKeyFile: missing: give apiKeyFile or set NEW_RELIC_API_KEY") {
		t.Errorf("no key: %v", err)
	}
}
