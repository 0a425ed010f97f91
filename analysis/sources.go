package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/cloudwatch"
	"github.com/verdict-aca/verdict/metrics/datadog"
	"github.com/verdict-aca/verdict/metrics/flux"
	"github.com/verdict-aca/verdict/metrics/graphite"
	"github.com/verdict-aca/verdict/metrics/influxdb"
	"github.com/verdict-aca/verdict/metrics/loki"
	"github.com/verdict-aca/verdict/metrics/newrelic"
	"github.com/verdict-aca/verdict/metrics/prometheus"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// Where sources come from
//
// A source is named. "prometheus" and "loki" are the default names: a
// signal with a query and no source reads "prometheus", and the command
// line's --prometheus-url / --loki-url (VERDICT_PROMETHEUS_URL,
// VERDICT_LOKI_URL) set their URLs. Other names carry a type (prometheus,
// loki, victoriametrics, graphite, influxdb or cloudwatch), and a signal
// picks one with source: NAME.
//
// The command line tools (judge, analyze, validate) read the sources from
// the config file the operator wrote (its sources: block). verdict serve
// reads them from its own settings only (--sources-file, whose entries
// have the same shape, and the URL flags), builds each once at start, and
// refuses any config that reaches it with a sources: block (see
// Config.CheckNoSources): a config is data that API callers write, and a
// source's URL, credentials files and TLS files decide where the server
// sends what it can read.

// The default source names, which a config may use without defining them.
const (
	SourcePrometheus = "prometheus"
	SourceLoki       = "loki"
	// SourceFile is the pseudo-source of signals judged from series files.
	SourceFile = "file"
)

// The source types besides the default names'.
const (
	// TypeVictoriaMetrics is VictoriaMetrics, queried in PromQL (MetricsQL)
	// by metrics/prometheus with its VictoriaMetrics flavor.
	TypeVictoriaMetrics = "victoriametrics"
	// TypeGraphite is graphite-web's render API (metrics/graphite).
	TypeGraphite = "graphite"
	// TypeInfluxDB is InfluxDB 1.x's InfluxQL /query API (metrics/influxdb).
	TypeInfluxDB = "influxdb"
	// TypeCloudWatch is Amazon CloudWatch's GetMetricData
	// (metrics/cloudwatch): a region, credentials from the server's
	// environment, shared files or instance role; url is optional.
	TypeCloudWatch = "cloudwatch"
	// TypeDatadog is Datadog's metrics query API (metrics/datadog); its
	// keys come from apiKeyFile and appKeyFile or from DD_API_KEY and
	// DD_APP_KEY in verdict's environment, its site from site or DD_SITE.
	TypeDatadog = "datadog"
	// TypeNewRelic is NRQL through New Relic's NerdGraph
	// (metrics/newrelic); its key, account and region come from
	// apiKeyFile, accountId and region or from NEW_RELIC_API_KEY,
	// NEW_RELIC_ACCOUNT_ID and NEW_RELIC_REGION.
	TypeNewRelic = "newrelic"
)

// sourceTypes lists the types a source may have.
var sourceTypes = []string{SourcePrometheus, SourceLoki, TypeVictoriaMetrics, TypeGraphite, TypeInfluxDB, TypeFlux, TypeCloudWatch, TypeDatadog, TypeNewRelic}

// SourceOverrides are source URLs given outside the config or sources
// file, on the command line or in the environment. A non-empty value wins.
type SourceOverrides struct {
	PrometheusURL string
	LokiURL       string
}

// Sources configures metric sources by name: a config's sources: block
// and the entries of verdict serve's --sources-file.
type Sources []SourceSpec

// SourceSpec is one source's settings.
type SourceSpec struct {
	// Name is the key the source is written under.
	Name string `yaml:"name"`
	// Type is prometheus, loki, victoriametrics, graphite, influxdb or
	// cloudwatch; the default names imply theirs.
	Type string `yaml:"type"`
	// URL is the server's base URL (a cloudwatch source's endpoint,
	// which its region names when URL is empty).
	URL string `yaml:"url"`
	// Timeout bounds each attempt of a query (default 10s).
	Timeout Duration `yaml:"timeout"`
	// Retries is how often a timed-out or unavailable query is retried
	// (default 2; -1 never).
	Retries         int        `yaml:"retries"`
	BearerTokenFile string     `yaml:"bearerTokenFile"`
	BasicAuth       *BasicAuth `yaml:"basicAuth"`
	TLS             *TLS       `yaml:"tls"`
	// Tenant is Loki's X-Scope-OrgID (Loki only).
	Tenant string `yaml:"tenant"`
	// PushURL is where verdict events go (the loki source only).
	PushURL string `yaml:"pushURL"`
	// MaxConns bounds the connections to the source (default 16).
	MaxConns int `yaml:"maxConns"`
	// IdleConnTimeout closes a connection unused this long (default 30s).
	IdleConnTimeout Duration `yaml:"idleConnTimeout"`
	// MaxResponseBytes caps an answer (default 16MiB).
	MaxResponseBytes ByteSize `yaml:"maxResponseBytes"`
	// LatencyOffset is a VictoriaMetrics server's -search.latencyOffset
	// (default 30s): the steps closer to now are left out (VictoriaMetrics
	// answers them with copies of earlier points).
	LatencyOffset Duration `yaml:"latencyOffset"`
	// Database is the database an influxdb source's queries read
	// (influxdb only; required there).
	Database string `yaml:"database"`
	// RetentionPolicy is the retention policy an influxdb source's
	// queries read (influxdb only; default: the database's default).
	RetentionPolicy string `yaml:"retentionPolicy"`
	// Org is the organization a flux source's queries run in (flux only).
	Org string `yaml:"org"`
	// TokenFile names a file holding a flux source's API token (default:
	// INFLUX_TOKEN from the environment; flux only).
	TokenFile string `yaml:"tokenFile"`
	// Site is a Datadog site (datadoghq.com, datadoghq.eu, ...; default
	// DD_SITE, else datadoghq.com); url, when set, wins (datadog only).
	Site string `yaml:"site"`
	// APIKeyFile and AppKeyFile name files holding Datadog's API and
	// application keys (default: DD_API_KEY and DD_APP_KEY from the
	// environment; datadog only, apiKeyFile newrelic's too).
	APIKeyFile string `yaml:"apiKeyFile"`
	AppKeyFile string `yaml:"appKeyFile"`
	// AccountID is a New Relic account (default NEW_RELIC_ACCOUNT_ID;
	// newrelic only; its region is Region). apiKeyFile holds its user API
	// key (default NEW_RELIC_API_KEY).
	AccountID int `yaml:"accountId"`
	// CloudWatch holds a cloudwatch source's settings.
	CloudWatch `yaml:",inline"`
}

// CloudWatch is a cloudwatch source's settings.
type CloudWatch struct {
	// Region is the AWS region (cloudwatch; required there) or the New
	// Relic account's region (newrelic: US or EU; default
	// NEW_RELIC_REGION).
	Region string `yaml:"region"`
	// Credentials says where the AWS credentials are: env (the default),
	// shared (the shared credentials and config files) or imds (the EC2
	// instance's role).
	Credentials string `yaml:"credentials"`
	// Profile is the shared files' profile (credentials: shared).
	Profile string `yaml:"profile"`
}

// BasicAuth is a user name and a file holding the password.
type BasicAuth struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"passwordFile"`
}

// TLS configures the client side of TLS connections to a source.
type TLS struct {
	CAFile             string `yaml:"caFile"`
	CertFile           string `yaml:"certFile"`
	KeyFile            string `yaml:"keyFile"`
	ServerName         string `yaml:"serverName"`
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
}

// ByteSize is a number of bytes, written as a whole number or with a unit
// ("64MiB", "500KB").
type ByteSize int64

// UnmarshalText parses a byte size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	n, err := sourcehttp.ParseBytes(string(text))
	if err != nil {
		return fmt.Errorf("%q is not a size such as 32MiB: %v", text, err)
	}
	*b = ByteSize(n)
	return nil
}

// Get returns the source called name, or nil.
func (s Sources) Get(name string) *SourceSpec {
	for i := range s {
		if s[i].Name == name {
			return &s[i]
		}
	}
	return nil
}

// Names lists the sources' names in order.
func (s Sources) Names() []string {
	out := make([]string, len(s))
	for i, sp := range s {
		out[i] = sp.Name
	}
	return out
}

// sourceName is what a source may be called (it is a metric label too).
var sourceName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`) })

// IsDefaultSource reports whether name is a source every config may name
// without defining it: prometheus or loki.
func IsDefaultSource(name string) bool { return name == SourcePrometheus || name == SourceLoki }

// checkSourceName says why name cannot name a source ("" when it can).
func checkSourceName(name string) string {
	switch {
	case name == SourceFile:
		return `"file" is not a source one can configure (it reads series files)`
	case !sourceName().MatchString(name):
		return fmt.Sprintf("%q is not a source name (lower-case letters, digits, '-' and '_', starting with a letter)", name)
	}
	return ""
}

// validate fills each source's type and checks its settings; fieldError
// locates an error at prefix+field.
func (s Sources) validate(prefix string, fieldError func(field string, err error) error) error {
	for i := range s {
		sp := &s[i]
		path := prefix + sp.Name
		if msg := checkSourceName(sp.Name); msg != "" {
			return fieldError(path, errors.New(msg))
		}
		switch {
		case IsDefaultSource(sp.Name) && sp.Type == "":
			sp.Type = sp.Name
		case IsDefaultSource(sp.Name) && sp.Type != sp.Name:
			return fieldError(path+".type", fmt.Errorf("the source named %s is of type %s; give a %s source another name", sp.Name, sp.Name, sp.Type))
		case sp.Type == "":
			return fieldError(path+".type", fmt.Errorf("missing: source %q needs a type (%s)", sp.Name, strings.Join(sourceTypes, ", ")))
		case !slices.Contains(sourceTypes, sp.Type):
			return fieldError(path+".type", fmt.Errorf("%q is not a source type (want %s)", sp.Type, strings.Join(sourceTypes, ", ")))
		}
		if sp.LatencyOffset != 0 && sp.Type != TypeVictoriaMetrics {
			return fieldError(path+".latencyOffset", errors.New("only a victoriametrics source has a latencyOffset"))
		}
		if sp.LatencyOffset < 0 {
			return fieldError(path+".latencyOffset", fmt.Errorf("%s is negative", time.Duration(sp.LatencyOffset)))
		}
		if err := checkInfluxDB(sp); err != nil {
			return fieldError(path+"."+err.field, err.err)
		}
		if err := checkFlux(sp); err != nil {
			return fieldError(path+"."+err.field, err.err)
		}
		if err := sp.checkKeyedSettings(path, fieldError); err != nil {
			return err
		}
		if sp.URL != "" {
			if err := CheckSourceURL(sp.URL); err != nil {
				return fieldError(path+".url", err)
			}
		}
		if err := sp.validateCloudWatch(path, fieldError); err != nil {
			return err
		}
		if sp.Type != SourceLoki && sp.Tenant != "" {
			return fieldError(path+".tenant", errors.New("only a Loki source has a tenant"))
		}
		if sp.PushURL != "" {
			if sp.Name != SourceLoki {
				return fieldError(path+".pushURL", errors.New("verdict events go to the pushURL of the source named loki; set it there"))
			}
			if err := CheckSourceURL(sp.PushURL); err != nil {
				return fieldError(path+".pushURL", err)
			}
		}
		if sp.Retries < -1 {
			return fieldError(path+".retries", fmt.Errorf("%d is not a number of retries (0 for the default, -1 for none)", sp.Retries))
		}
		if sp.MaxConns < 0 {
			return fieldError(path+".maxConns", fmt.Errorf("%d is negative", sp.MaxConns))
		}
		if sp.MaxResponseBytes < 0 {
			return fieldError(path+".maxResponseBytes", fmt.Errorf("%d is negative", sp.MaxResponseBytes))
		}
	}
	return nil
}

// settingError is a source setting's error: the field under the source's
// name and what is wrong.
type settingError struct {
	field string
	err   error
}

// checkInfluxDB checks the settings only an influxdb source has: its
// database (required) and retention policy.
func checkInfluxDB(sp *SourceSpec) *settingError {
	switch {
	case sp.Type == TypeInfluxDB && sp.Database == "":
		return &settingError{"database", fmt.Errorf("missing: influxdb source %q needs the database its queries read", sp.Name)}
	case sp.Type != TypeInfluxDB && sp.Database != "":
		return &settingError{"database", errors.New("only an influxdb source has a database")}
	case sp.Type != TypeInfluxDB && sp.RetentionPolicy != "":
		return &settingError{"retentionPolicy", errors.New("only an influxdb source has a retentionPolicy")}
	}
	return nil
}

// CheckSourceURL says what is wrong with a source's URL: it must be
// http(s)://host[:port][/path], without a user or password in it.
func CheckSourceURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not a URL such as http://host:port[/path]", raw)
	}
	if u.User != nil {
		return errors.New("the URL carries a user or password; give them with basicAuth and a passwordFile")
	}
	return nil
}

// withOverrides returns a copy of s where the default sources take the
// overriding URLs, added when s lacks them.
func (s Sources) withOverrides(o SourceOverrides) Sources {
	out := slices.Clone(s)
	for _, d := range []struct{ name, url string }{{SourcePrometheus, o.PrometheusURL}, {SourceLoki, o.LokiURL}} {
		if d.url == "" {
			continue
		}
		if sp := out.Get(d.name); sp != nil {
			sp.URL = d.url
		} else {
			out = append(out, SourceSpec{Name: d.name, Type: d.name, URL: d.url})
		}
	}
	return out
}

// open builds the source.
func (sp SourceSpec) open() (metrics.Source, error) {
	h := sourcehttp.Config{
		BearerTokenFile:  sp.BearerTokenFile,
		MaxConns:         sp.MaxConns,
		IdleConnTimeout:  time.Duration(sp.IdleConnTimeout),
		MaxResponseBytes: int64(sp.MaxResponseBytes),
	}
	if sp.BasicAuth != nil {
		h.BasicAuth = &sourcehttp.BasicAuth{Username: sp.BasicAuth.Username, PasswordFile: sp.BasicAuth.PasswordFile}
	}
	if t := sp.TLS; t != nil {
		h.TLS = &sourcehttp.TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	}
	switch sp.Type {
	case SourceLoki:
		return loki.New(loki.Config{URL: sp.URL, Tenant: sp.Tenant, Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h})
	case TypeInfluxDB:
		return influxdb.New(influxdb.Config{URL: sp.URL, Database: sp.Database, RetentionPolicy: sp.RetentionPolicy, Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h})
	case TypeFlux:
		return sp.openFlux(h)
	case TypeGraphite:
		return graphite.New(graphite.Config{URL: sp.URL, Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h})
	case TypeCloudWatch:
		return sp.openCloudWatch(h)
	case TypeDatadog:
		return sp.openDatadog(h)
	case TypeNewRelic:
		return sp.openNewRelic(h)
	case TypeVictoriaMetrics:
		return prometheus.New(prometheus.Config{URL: sp.URL, Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h,
			Flavor: prometheus.FlavorVictoriaMetrics, LatencyOffset: time.Duration(sp.LatencyOffset)})
	}
	return prometheus.New(prometheus.Config{URL: sp.URL, Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h})
}

// Language is the template language of the source's queries.
func (sp SourceSpec) Language() metrics.Language {
	switch sp.Type {
	case TypeGraphite:
		return graphite.Language{}
	case TypeInfluxDB:
		return influxdb.Language{}
	case TypeFlux:
		return flux.Language{}
	case TypeCloudWatch:
		return cloudwatch.Language{}
	case TypeDatadog:
		return datadog.Language{}
	case TypeNewRelic:
		return newrelic.Language{}
	case TypeVictoriaMetrics:
		return query.MetricsQL{}
	}
	return query.PromQL{}
}

// openAll builds every source of s for which keep is true, each with its
// own bounded HTTP client. A setting that cannot be used (a file that
// cannot be read) is an error at prefix+NAME+"."+setting.
func (s Sources) openAll(keep func(SourceSpec) bool, prefix string, fieldError func(field string, err error) error) (SourceSet, error) {
	set := SourceSet{}
	for _, sp := range s {
		if !keep(sp) {
			continue
		}
		src, err := sp.open()
		if err != nil {
			var se *sourcehttp.SettingError
			if errors.As(err, &se) {
				return nil, fieldError(prefix+sp.Name+"."+se.Setting, se.Err)
			}
			return nil, fieldError(prefix+sp.Name, err)
		}
		set[sp.Name] = src
	}
	return set, nil
}

// PusherConfig is where and how verdict events are pushed: the loki
// source's pushURL, tenant, credentials and TLS. A nil logger means
// slog.Default().
func (sp *SourceSpec) PusherConfig(logger *slog.Logger) loki.PusherConfig {
	h := config.DefaultHTTPClientConfig
	h.FollowRedirects = false
	if sp.BearerTokenFile != "" {
		h.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: sp.BearerTokenFile}
	}
	if b := sp.BasicAuth; b != nil {
		h.BasicAuth = &config.BasicAuth{Username: b.Username, PasswordFile: b.PasswordFile}
	}
	if t := sp.TLS; t != nil {
		h.TLSConfig = config.TLSConfig{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	}
	return loki.PusherConfig{URL: sp.PushURL, Tenant: sp.Tenant, HTTP: h, Logger: logger}
}

// OpenSources builds the metric sources the config's signals read from,
// for the command line tools: from the config's sources: block, the
// default sources' URLs overridden by o. A source no signal uses is not
// built; one that a signal uses but has no URL is left out, so that
// CheckLive can name the signal.
func OpenSources(c *Config, o SourceOverrides) (SourceSet, error) {
	used := map[string]bool{}
	for _, s := range c.Signals {
		used[s.Source] = true
	}
	return c.Sources.withOverrides(o).openAll(func(sp SourceSpec) bool { return used[sp.Name] && sp.reachable() }, "sources.", c.fieldError)
}

// SourceURL is the URL OpenSources gives the source of this name: the
// override for a default source, else the config's; "" for a source the
// config does not have.
func (c *Config) SourceURL(name string, o SourceOverrides) string {
	if sp := c.Sources.withOverrides(o).Get(name); sp != nil {
		return sp.URL
	}
	return ""
}

// ServerSources are verdict serve's metric sources, read from its
// --sources-file: a mapping of source names to the settings a config's
// sources: block takes.
type ServerSources struct {
	Sources Sources
	file    string
	lines   map[string]int
}

// LoadServerSources reads and checks a sources file. It reads none of the
// files the sources name (Open does).
func LoadServerSources(ctx context.Context, path string) (*ServerSources, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{File: path, Err: errors.New("the sources file does not exist")}
		}
		return nil, &ConfigError{File: path, Err: err}
	}
	return ParseServerSources(path, data)
}

// ParseServerSources parses and checks a sources file; name labels errors.
func ParseServerSources(name string, data []byte) (*ServerSources, error) {
	f := &ServerSources{file: name, lines: map[string]int{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, err)
	}
	d := &decoder{file: name, lines: f.lines}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if err := d.decodeKeyed(n, reflect.ValueOf(&f.Sources).Elem(), ""); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) && strings.HasPrefix(ce.Err.Error(), "want a mapping of names to settings") {
			ce.Err = fmt.Errorf("want a mapping of source names to their settings (prometheus: {url: ...}), not %s", kindName(n))
		}
		return nil, err
	}
	if err := f.Sources.validate("", f.fieldError); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *ServerSources) fieldError(field string, err error) error {
	return locate(f.file, f.lines, field, err)
}

// Open builds every source of the file (f may be nil: no file) and the
// default ones the overrides name, once, for the server to share among
// all its analyses. A source without a URL, or whose files cannot be
// read, is an error naming the file and the field.
func (f *ServerSources) Open(o SourceOverrides) (SourceSet, error) {
	if f == nil {
		f = &ServerSources{file: "the source flags", lines: map[string]int{}}
	}
	all := f.Sources.withOverrides(o)
	for _, sp := range all {
		if !sp.reachable() {
			hint := "give url"
			if IsDefaultSource(sp.Name) {
				hint += fmt.Sprintf(" here or --%s-url", sp.Name)
			}
			return nil, f.fieldError(sp.Name+".url", fmt.Errorf("missing: %s", hint))
		}
	}
	return all.openAll(func(SourceSpec) bool { return true }, "", f.fieldError)
}

// EventPusher starts the pusher of verdict events when the loki source
// has a pushURL; nil without one.
func (f *ServerSources) EventPusher(logger *slog.Logger) (*loki.EventPusher, error) {
	if f == nil {
		return nil, nil
	}
	sp := f.Sources.Get(SourceLoki)
	if sp == nil || sp.PushURL == "" {
		return nil, nil
	}
	p, err := loki.NewEventPusher(sp.PusherConfig(logger))
	if err != nil {
		return nil, f.fieldError("loki.pushURL", err)
	}
	return p, nil
}

// CheckNoSources refuses a config that sets anything under sources:, for
// verdict serve, where configs come from API callers and sources are the
// operator's (--sources-file). The error names the first field set.
func (c *Config) CheckNoSources() error {
	line, set := c.lines["sources"]
	if !set {
		return nil
	}
	// The first leaf written under sources:, so that the error points at
	// sources.prometheus.url rather than at sources.prometheus.
	field := "sources"
	for k, l := range c.lines {
		if !strings.HasPrefix(k, "sources.") || hasChild(c.lines, k) {
			continue
		}
		if field == "sources" || l < line || (l == line && k < field) {
			field, line = k, l
		}
	}
	return &ConfigError{File: c.file, Line: line, Field: field,
		Err: errors.New("a config given to verdict serve cannot set sources (URLs, credentials, files, TLS); the operator configures them with verdict serve --sources-file, and a signal picks one with source: NAME")}
}

// hasChild reports whether lines records a field under k.
func hasChild(lines map[string]int, k string) bool {
	for other := range lines {
		if len(other) > len(k) && strings.HasPrefix(other, k) && (other[len(k)] == '.' || other[len(k)] == '[') {
			return true
		}
	}
	return false
}

// CheckSourceNames refuses a signal that names a source other than the
// defaults (prometheus, loki) that set lacks: a typo, or a source the
// operator has not configured. The default names are checked when an
// analysis runs (CheckLive), so that a config can be stored and judged
// from series before its source exists.
func (c *Config) CheckSourceNames(set SourceSet) error {
	for i, s := range c.Signals {
		if s.Source == "" || s.Source == SourceFile || IsDefaultSource(s.Source) {
			continue
		}
		if _, ok := set[s.Source]; !ok {
			return c.fieldError(fmt.Sprintf("signals[%d].source", i), fmt.Errorf("signal %q reads from source %q, which is not configured (sources: %s)", s.Name, s.Source, setNames(set)))
		}
	}
	return nil
}

// setNames lists a set's names, sorted, or "none".
func setNames(set SourceSet) string {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
