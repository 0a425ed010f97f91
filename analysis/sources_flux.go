package analysis

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/flux"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// TypeFlux is InfluxDB's Flux query API, POST /api/v2/query (InfluxDB
// 2.x, and 1.8+ with Flux enabled; metrics/flux). Its token comes from
// tokenFile or INFLUX_TOKEN in verdict's environment, its organization
// from org.
const TypeFlux = "flux"

// EnvInfluxToken is the environment variable a flux source reads its
// token from when it has no tokenFile: the name InfluxDB's own CLI reads.
const EnvInfluxToken = "INFLUX_TOKEN"

// checkFlux checks the settings only a flux source has.
func checkFlux(sp *SourceSpec) *settingError {
	switch {
	case sp.Type != TypeFlux && sp.Org != "":
		return &settingError{"org", errors.New("only a flux source has an org")}
	case sp.Type != TypeFlux && sp.TokenFile != "":
		return &settingError{"tokenFile", errors.New("only a flux source has a tokenFile")}
	case sp.Type == TypeFlux && (sp.BearerTokenFile != "" || sp.BasicAuth != nil):
		return &settingError{"bearerTokenFile", fmt.Errorf("a flux source sends its token as \"Authorization: Token\": use tokenFile (or %s), not bearerTokenFile or basicAuth", EnvInfluxToken)}
	}
	return nil
}

// openFlux builds a flux source: the token from tokenFile, else from
// verdict's environment.
func (sp SourceSpec) openFlux(h sourcehttp.Config) (metrics.Source, error) {
	cfg := flux.Config{URL: sp.URL, Org: sp.Org, TokenFile: sp.TokenFile,
		Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h}
	if cfg.TokenFile == "" {
		cfg.Token = os.Getenv(EnvInfluxToken)
	}
	return flux.New(cfg)
}
