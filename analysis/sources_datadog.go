package analysis

import (
	"errors"
	"os"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/datadog"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// The environment variables a datadog source reads when its settings do
// not say: Datadog's own names.
const (
	EnvDatadogAPIKey = "DD_API_KEY"
	EnvDatadogAppKey = "DD_APP_KEY"
	EnvDatadogSite   = "DD_SITE"
)

// needsURL reports whether the source cannot be reached without a url:
// every type but datadog, which defaults to its site's API.
func (sp SourceSpec) needsURL() bool { return sp.Type != TypeDatadog }

// checkDatadog refuses Datadog's settings on another type of source.
func (sp SourceSpec) checkDatadog(path string, fieldError func(field string, err error) error) error {
	if sp.Type == TypeDatadog {
		if sp.BearerTokenFile != "" || sp.BasicAuth != nil {
			return fieldError(path+".bearerTokenFile", errors.New("a datadog source authenticates with apiKeyFile and appKeyFile (or DD_API_KEY and DD_APP_KEY), not a bearer token or basic auth"))
		}
		return nil
	}
	for _, f := range []struct {
		field string
		set   bool
	}{{"site", sp.Site != ""}, {"apiKeyFile", sp.APIKeyFile != ""}, {"appKeyFile", sp.AppKeyFile != ""}} {
		if f.set {
			return fieldError(path+"."+f.field, errors.New("only a datadog source has a "+f.field))
		}
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
