package analysis

import (
	"time"

	"github.com/verdict-aca/verdict/metrics/loki"
	"github.com/verdict-aca/verdict/metrics/prometheus"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// SourceOverrides are source URLs given outside the config, on the command
// line or in the environment. A non-empty value wins over the config's.
type SourceOverrides struct {
	PrometheusURL string
	LokiURL       string
}

// OpenSources builds the metric sources the config's signals read from.
// URLs come from the overrides first, then the config. A source no signal
// uses is not built; one that a signal uses but has no URL is left out, so
// that CheckLive can name the signal.
func OpenSources(c *Config, o SourceOverrides) (SourceSet, error) {
	used := map[string]bool{}
	for _, s := range c.Signals {
		used[s.Source] = true
	}
	set := SourceSet{}
	if used["prometheus"] {
		cfg := PrometheusSource{}
		if c.Sources.Prometheus != nil {
			cfg = *c.Sources.Prometheus
		}
		if o.PrometheusURL != "" {
			cfg.URL = o.PrometheusURL
		}
		if cfg.URL != "" {
			src, err := prometheus.New(prometheus.Config{
				URL:     cfg.URL,
				Timeout: time.Duration(cfg.Timeout),
				Retries: cfg.Retries,
				HTTP:    httpClientConfig(cfg.BearerTokenFile, cfg.BasicAuth, cfg.TLS),
			})
			if err != nil {
				return nil, c.fieldError("sources.prometheus", err)
			}
			set["prometheus"] = src
		}
	}
	if used["loki"] {
		if err := openLoki(c, o, set); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// httpClientConfig turns the config's auth and TLS settings into
// Prometheus' HTTP client settings, which both sources understand.
func httpClientConfig(bearerTokenFile string, basic *BasicAuth, tls *TLS) sourcehttp.Config {
	h := sourcehttp.Config{BearerTokenFile: bearerTokenFile}
	if basic != nil {
		h.BasicAuth = &sourcehttp.BasicAuth{Username: basic.Username, PasswordFile: basic.PasswordFile}
	}
	if tls != nil {
		h.TLS = &sourcehttp.TLS{CAFile: tls.CAFile, CertFile: tls.CertFile, KeyFile: tls.KeyFile, ServerName: tls.ServerName, InsecureSkipVerify: tls.InsecureSkipVerify}
	}
	return h
}

// openLoki adds the Loki source when a URL is known.
func openLoki(c *Config, o SourceOverrides, set SourceSet) error {
	cfg := LokiSource{}
	if c.Sources.Loki != nil {
		cfg = *c.Sources.Loki
	}
	if o.LokiURL != "" {
		cfg.URL = o.LokiURL
	}
	if cfg.URL == "" {
		return nil
	}
	src, err := loki.New(loki.Config{
		URL:     cfg.URL,
		Tenant:  cfg.Tenant,
		Timeout: time.Duration(cfg.Timeout),
		Retries: cfg.Retries,
		HTTP:    httpClientConfig(cfg.BearerTokenFile, nil, cfg.TLS),
	})
	if err != nil {
		return c.fieldError("sources.loki", err)
	}
	set["loki"] = src
	return nil
}
