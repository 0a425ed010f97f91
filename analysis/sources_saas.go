package analysis

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/datadog"
	"github.com/verdict-aca/verdict/metrics/newrelic"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// The environment variables a datadog source reads when its settings do
// not say: Datadog's own names.
const (
	EnvDatadogAPIKey = "DD_API_KEY"
	EnvDatadogAppKey = "DD_APP_KEY"
	EnvDatadogSite   = "DD_SITE"
	// New Relic's, as its own tools name them.
	EnvNewRelicAPIKey    = "NEW_RELIC_API_KEY"
	EnvNewRelicAccountID = "NEW_RELIC_ACCOUNT_ID"
	EnvNewRelicRegion    = "NEW_RELIC_REGION"
)

// reachable reports whether the source knows where to send its queries:
// a URL, or a type whose default endpoint its settings name.
func (sp SourceSpec) reachable() bool { return sp.URL != "" || !sp.needsURL() }

// needsURL reports whether the source cannot be reached without a url:
// every type but datadog, newrelic (their site's or region's API) and
// cloudwatch (its region's endpoint).
func (sp SourceSpec) needsURL() bool {
	return sp.Type != TypeDatadog && sp.Type != TypeNewRelic && sp.Type != TypeCloudWatch
}

// checkKeyedSettings refuses Datadog's and New Relic's settings on another
// type of source.
func (sp SourceSpec) checkKeyedSettings(path string, fieldError func(field string, err error) error) error {
	keyed := sp.Type == TypeDatadog || sp.Type == TypeNewRelic
	if keyed && (sp.BearerTokenFile != "" || sp.BasicAuth != nil) {
		return fieldError(path+".bearerTokenFile", fmt.Errorf("a %s source authenticates with its API key (apiKeyFile, or the environment), not a bearer token or basic auth", sp.Type))
	}
	for _, f := range []struct {
		field, owner string
		set          bool
	}{
		{"site", TypeDatadog, sp.Site != ""},
		{"appKeyFile", TypeDatadog, sp.AppKeyFile != ""},
		{"accountId", TypeNewRelic, sp.AccountID != 0},
	} {
		if f.set && sp.Type != f.owner {
			return fieldError(path+"."+f.field, fmt.Errorf("only a %s source has a %s", f.owner, f.field))
		}
	}
	if sp.APIKeyFile != "" && !keyed {
		return fieldError(path+".apiKeyFile", errors.New("only a datadog or newrelic source has an apiKeyFile"))
	}
	return nil
}

// openDatadog builds a datadog source: the keys and site from the
// settings, else from verdict's environment.
func (sp SourceSpec) openDatadog(h sourcehttp.Config) (metrics.Source, error) {
	cfg := datadog.Config{URL: sp.URL, Site: sp.Site, APIKeyFile: sp.APIKeyFile, AppKeyFile: sp.AppKeyFile,
		Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h}
	if cfg.Site == "" {
		cfg.Site = os.Getenv(EnvDatadogSite)
	}
	if cfg.APIKeyFile == "" {
		cfg.APIKey = os.Getenv(EnvDatadogAPIKey)
	}
	if cfg.AppKeyFile == "" {
		cfg.AppKey = os.Getenv(EnvDatadogAppKey)
	}
	return datadog.New(cfg)
}

// openNewRelic builds a newrelic source: key, account and region from the
// settings, else from verdict's environment.
func (sp SourceSpec) openNewRelic(h sourcehttp.Config) (metrics.Source, error) {
	cfg := newrelic.Config{URL: sp.URL, Region: sp.Region, AccountID: int64(sp.AccountID), APIKeyFile: sp.APIKeyFile,
		Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h}
	if cfg.Region == "" {
		cfg.Region = os.Getenv(EnvNewRelicRegion)
	}
	if cfg.APIKeyFile == "" {
		cfg.APIKey = os.Getenv(EnvNewRelicAPIKey)
	}
	if cfg.AccountID == 0 {
		if env := os.Getenv(EnvNewRelicAccountID); env != "" {
			id, err := newrelic.AccountID(env)
			if err != nil {
				return nil, &sourcehttp.SettingError{Setting: "accountId", Err: fmt.Errorf("%s: %w", EnvNewRelicAccountID, err)}
			}
			cfg.AccountID = id
		}
	}
	return newrelic.New(cfg)
}
