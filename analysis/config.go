package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/scoring"
)

// Judge names the classifier and scorer a config selects.
type Judge string

// The judges.
const (
	JudgeVerdict Judge = "verdict" // the default: Mann-Whitney, rate, threshold and quantile tests
	JudgeKayenta Judge = "kayenta" // NetflixACAJudge-v1.0 compatible
)

// UnmarshalText accepts verdict or kayenta.
func (j *Judge) UnmarshalText(text []byte) error {
	switch v := Judge(text); v {
	case JudgeVerdict, JudgeKayenta:
		*j = v
		return nil
	}
	return fmt.Errorf("%q is not a judge (want verdict or kayenta)", text)
}

// Duration is a time span written as Go ("1m30s") or Prometheus ("5m", "1d") does.
type Duration time.Duration

// UnmarshalText parses a Go or Prometheus duration.
func (d *Duration) UnmarshalText(text []byte) error {
	if v, err := time.ParseDuration(string(text)); err == nil && v >= 0 {
		*d = Duration(v)
		return nil
	}
	v, err := model.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 10s, 5m or 1h", text)
	}
	*d = Duration(v)
	return nil
}

// Config is a canary analysis configuration: the signals to judge and how
// to score them. It composes the parts other packages own: judge.Spec per
// signal, scoring thresholds and groups, and the metric sources.
type Config struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Judge selects the classifier and scorer (default verdict).
	Judge Judge `yaml:"judge"`
	// Confidence is the confidence level of the shift intervals (default 0.95).
	Confidence float64 `yaml:"confidence"`
	// Sequential says how a canary judged again and again keeps its false
	// alarms at the level (see SequentialMode): planned (also written true)
	// spends the level over a multi-interval run's planned looks; anytime
	// makes every decision valid however often and whenever the canary is
	// looked at, and lets a run stop early on a pass the data show.
	Sequential SequentialMode `yaml:"sequential"`
	// RequireEvidence makes every signal's pass need evidence (see
	// judge.Spec.RequireEvidence); a signal may also set it alone.
	RequireEvidence bool `yaml:"requireEvidence"`
	// Horizon is the time an anytime analysis is tuned for: its decisions
	// are sharpest once the canary has been judged that long (default 1h;
	// a multi-interval run uses its lifetime).
	Horizon Duration `yaml:"horizon"`
	// KnownHorizon is the horizon of the mapping spelling sequential:
	// {mode: anytime, horizon: 1h}: the canary is known to be judged that
	// long, and its decisions spend their level over it (judge.Horizon)
	// instead of holding for ever. A multi-interval run knows its lifetime
	// without it. Zero when not given.
	KnownHorizon Duration            `yaml:"-"`
	Thresholds   *scoring.Thresholds `yaml:"thresholds"`
	// CanaryWeight is the canary's expected share of the traffic the two
	// compared sides serve together (5% for a canary compared with the
	// stable version at 95/5; 50% for a baseline and a canary of equal
	// weight). When set, a canary whose observed share is far from it gets
	// no verdict (see checkMeasured). A request may give its own.
	CanaryWeight *judge.Change `yaml:"canaryWeight"`
	// Groups are the scoring groups in file order; empty means every
	// signal's group (or "default") weighs 1.
	Groups  []scoring.Group `yaml:"groups,keyed"`
	Signals []Signal        `yaml:"signals"`
	// Sources configure the metric sources by name, for the command line
	// tools; verdict serve refuses them (CheckNoSources).
	Sources Sources `yaml:"sources,keyed"`
	// Schedules re-score the canary periodically under `verdict serve`.
	Schedules []Schedule `yaml:"schedules"`

	file  string
	lines map[string]int
}

// Signal is one signal of a config: what to judge, and where to get it.
type Signal struct {
	judge.Spec `yaml:",inline"`
	// Source names the source the query goes to: prometheus, loki, another
	// configured source, or file (default: file for offline judging,
	// prometheus when a query is given).
	Source string `yaml:"source"`
	// Query is the query template, rendered per scope. For a rate test with
	// an exposure it counts the events, for a proportion the successes, for
	// a histogram it returns the buckets (classic _bucket series by le, or a
	// native histogram).
	Query string `yaml:"query"`
	// ExposureQuery (rate) and TrialsQuery (proportion) count, over the
	// same steps, what the query's events are out of: requests, trials.
	ExposureQuery string `yaml:"exposureQuery"`
	TrialsQuery   string `yaml:"trialsQuery"`
	// Aggregate combines several series returned for one scope: sum, mean, max or min.
	Aggregate string `yaml:"aggregate"`
	// Series names the input series the signal reads when judging files or
	// the judge API's inline series (default: the signal's name), so that
	// two signals can judge one series, say its median (mann-whitney) and
	// its p99 (quantile). A live signal reads its query instead.
	Series string `yaml:"series"`
	// Kayenta holds settings only the Kayenta judge reads (judge: kayenta).
	Kayenta *KayentaSignal `yaml:"kayenta"`
}

// File is the name the config was read from, for messages.
func (c *Config) File() string { return c.file }

// SequentialMode is how repeated looks at one canary are judged.
type SequentialMode string

// The sequential modes.
const (
	SequentialOff     SequentialMode = ""
	SequentialPlanned SequentialMode = "planned"
	SequentialAnytime SequentialMode = "anytime"
)

// UnmarshalText accepts planned (or true), anytime, or false.
func (m *SequentialMode) UnmarshalText(text []byte) error {
	switch string(text) {
	case "true", "planned":
		*m = SequentialPlanned
	case "false", "":
		*m = SequentialOff
	case "anytime":
		*m = SequentialAnytime
	default:
		return fmt.Errorf("%q is not a sequential mode (want planned, anytime or false)", text)
	}
	return nil
}

// DefaultHorizon is the time an anytime analysis is tuned for when the
// config gives none and the run has no lifetime.
const DefaultHorizon = time.Hour

// StatedHorizon is the horizon the config states, known or tuned for (0:
// none).
func (c *Config) StatedHorizon() time.Duration {
	return time.Duration(max(c.KnownHorizon, c.Horizon))
}

// HorizonOrDefault is the config's horizon (known, or tuned for), or
// DefaultHorizon.
func (c *Config) HorizonOrDefault() time.Duration {
	if c.KnownHorizon > 0 {
		return time.Duration(c.KnownHorizon)
	}
	if c.Horizon > 0 {
		return time.Duration(c.Horizon)
	}
	return DefaultHorizon
}

// Weight is the expected canary share of traffic the config gives, 0 when none.
func (c *Config) Weight() float64 {
	if c.CanaryWeight == nil {
		return 0
	}
	return c.CanaryWeight.Value
}

// ThresholdsOrDefault returns the configured thresholds or the defaults.
func (c *Config) ThresholdsOrDefault() scoring.Thresholds {
	if c.Thresholds == nil {
		return scoring.DefaultThresholds()
	}
	return *c.Thresholds
}

// ScoringSpec is the scoring part of the config.
func (c *Config) ScoringSpec() scoring.Spec {
	return scoring.Spec{Thresholds: c.ThresholdsOrDefault(), Groups: c.Groups}
}

// LoadConfig reads and validates a config file (YAML or JSON).
func LoadConfig(ctx context.Context, path string) (*Config, error) {
	c, _, err := LoadConfigText(ctx, path)
	return c, err
}

// LoadConfigText is LoadConfig that also returns the text it parsed, so
// that what is recorded with an analysis is what was judged.
func LoadConfigText(ctx context.Context, path string) (*Config, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &ConfigError{File: path, Err: errors.New("the config file does not exist")}
		}
		return nil, nil, &ConfigError{File: path, Err: err}
	}
	c, err := ParseConfig(filepath.Base(path), data)
	if err != nil {
		return nil, nil, err
	}
	return c, data, nil
}

// ParseConfig parses and validates a config. name labels error messages.
// YAML and JSON are both accepted (JSON is read as YAML, so lines are kept).
func ParseConfig(name string, data []byte) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ConfigError{File: name, Err: errors.New("the config is empty")}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, err)
	}
	c := &Config{file: name, lines: map[string]int{}}
	d := &decoder{file: name, lines: c.lines}
	if err := d.decode(&root, reflect.ValueOf(c).Elem(), ""); err != nil {
		return nil, err
	}
	c.KnownHorizon = d.knownHorizon
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// validate fills defaults and checks the config as a whole.
func (c *Config) validate() error {
	if c.Judge == "" {
		c.Judge = JudgeVerdict
	}
	if c.KnownHorizon > 0 && c.Horizon > 0 && c.Horizon != c.KnownHorizon {
		return c.fieldError("horizon", fmt.Errorf("%s differs from the known horizon %s of sequential; give one", time.Duration(c.Horizon), time.Duration(c.KnownHorizon)))
	}
	if c.Confidence == 0 {
		c.Confidence = judge.DefaultConfidence
	} else if c.Confidence <= 0 || c.Confidence >= 1 {
		return c.fieldError("confidence", fmt.Errorf("%g is not between 0 and 1 (for example 0.95)", c.Confidence))
	}
	if c.Thresholds != nil {
		if err := c.Thresholds.Check(); err != nil {
			return c.fieldError("thresholds", err)
		}
	}
	for _, g := range c.Groups {
		if g.Weight < 0 {
			return c.fieldError("groups."+g.Name, fmt.Errorf("weight %g is negative", g.Weight))
		}
	}
	if len(c.Groups) > 0 && !slices.ContainsFunc(c.Groups, func(g scoring.Group) bool { return g.Weight > 0 }) {
		return c.fieldError("groups", errors.New("every group has weight 0; give at least one a positive weight"))
	}
	if len(c.Signals) == 0 {
		return c.fieldError("signals", errors.New("the config has no signals"))
	}
	if err := c.validateSchedules(); err != nil {
		return err
	}
	if w := c.CanaryWeight; w != nil && (w.Points || !(w.Value > 0 && w.Value < 1)) {
		return c.fieldError("canaryWeight", fmt.Errorf("%s is not a share of the traffic; give a percentage between 0%% and 100%%, such as 5%%", w))
	}
	if err := c.validateKayenta(); err != nil {
		return err
	}
	if err := c.Sources.validate("sources.", c.fieldError); err != nil {
		return err
	}
	seen := map[string]int{}
	for i := range c.Signals {
		s := &c.Signals[i]
		path := fmt.Sprintf("signals[%d]", i)
		// A live count names its exposure by its query; reports still need a word.
		if s.ExposureQuery != "" && s.Exposure == "" {
			s.Exposure = "requests"
		}
		if s.TrialsQuery != "" && s.Trials == "" {
			s.Trials = "trials"
		}
		s.Spec = s.Spec.WithDefaults()
		s.RequireEvidence = s.RequireEvidence || c.RequireEvidence
		if err := s.Spec.Check(); err != nil {
			return c.signalError(path, err)
		}
		if j, dup := seen[s.Name]; dup {
			return c.fieldError(path+".name", fmt.Errorf("signal %q is already defined by signals[%d]", s.Name, j))
		}
		seen[s.Name] = i
		if s.Group == "" {
			s.Group = scoring.DefaultGroup
		}
		if len(c.Groups) > 0 && !slices.ContainsFunc(c.Groups, func(g scoring.Group) bool { return g.Name == s.Group }) {
			return c.fieldError(path+".group", fmt.Errorf("group %q is not among the config's groups (%s)", s.Group, groupNames(c.Groups)))
		}
		switch s.Source {
		case "":
			if s.Query != "" {
				s.Source = SourcePrometheus
			}
		case SourceFile:
		default:
			if msg := checkSourceName(s.Source); msg != "" {
				return c.fieldError(path+".source", fmt.Errorf("%s; want prometheus, loki, file or the name of a configured source", msg))
			}
			if s.Query == "" {
				return c.fieldError(path+".query", fmt.Errorf("signal %q reads from %s but has no query", s.Name, s.Source))
			}
		}
		switch s.Aggregate {
		case "", "sum", "mean", "max", "min":
		default:
			return c.fieldError(path+".aggregate", fmt.Errorf("%q is not an aggregation (want sum, mean, max or min)", s.Aggregate))
		}
		if s.Series != "" && s.Query != "" {
			return c.fieldError(path+".series", fmt.Errorf("signal %q has both a query and series %q; series names an input series for judging files, a live signal reads its query", s.Name, s.Series))
		}
		if err := c.validateCountQueries(path, s); err != nil {
			return err
		}
	}
	return nil
}

// Kind is what the signal's queries return: counts per step for the tests
// of counts, bucket counts for a histogram, levels otherwise.
func (s Signal) Kind() metrics.Kind {
	switch {
	case s.Test == judge.Histogram:
		return metrics.Histogram
	case s.Test == judge.Proportion, s.Test == judge.Rate:
		return metrics.Count
	}
	return metrics.Gauge
}

// countRange finds a PromQL or LogQL rate function: rate(, irate(,
// bytes_rate( not preceded by a letter, digit or underscore.
var rateFunction = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|[^A-Za-z0-9_])(i?rate|bytes_rate)\s*\(`) })

// validateCountQueries checks a live signal's queries for the tests of
// counts: the exposure or trials query the test needs, and windows that
// count: each step's range is the step itself ([{{.step}}]), so windows
// neither overlap (a rate(x[1m]) sampled every 10 s counts each event six
// times, and its points are correlated) nor leave gaps, and never a
// per-second rate(), whose values are not counts.
func (c *Config) validateCountQueries(path string, s *Signal) error {
	if s.ExposureQuery != "" && (s.Test != judge.Rate) {
		return c.fieldError(path+".exposureQuery", fmt.Errorf("only a rate test takes an exposureQuery (signal %q is %s)", s.Name, s.Test))
	}
	if s.TrialsQuery != "" && s.Test != judge.Proportion {
		return c.fieldError(path+".trialsQuery", fmt.Errorf("only a proportion test takes a trialsQuery (signal %q is %s)", s.Name, s.Test))
	}
	if s.Query == "" || s.Source == "file" {
		return nil
	}
	queries := []struct{ field, text string }{{"query", s.Query}}
	switch {
	case s.Test == judge.Rate && s.ExposureQuery != "":
		queries = append(queries, struct{ field, text string }{"exposureQuery", s.ExposureQuery})
	case s.Test == judge.Rate && s.Exposure != "":
		return c.fieldError(path+".exposureQuery", fmt.Errorf("signal %q is live and has an exposure, so it needs an exposureQuery counting the %s over the same steps", s.Name, s.Exposure))
	case s.Test == judge.Proportion && s.TrialsQuery == "":
		return c.fieldError(path+".trialsQuery", fmt.Errorf("signal %q is a live proportion, so it needs a trialsQuery counting the trials over the same steps", s.Name))
	case s.Test == judge.Proportion:
		queries = append(queries, struct{ field, text string }{"trialsQuery", s.TrialsQuery})
	}
	if s.Kind() == metrics.Gauge {
		return nil
	}
	for _, q := range queries {
		if m := rateFunction().FindStringSubmatch(q.text); m != nil {
			return c.fieldError(path+"."+q.field, fmt.Errorf("signal %q counts events, but %s() gives per-second rates, not counts: use increase(...[{{.step}}]) (PromQL) or count_over_time(...[{{.step}}]) (LogQL)", s.Name, m[2]))
		}
		if !strings.Contains(q.text, "{{.step}}") && !strings.Contains(q.text, "{{ .step }}") && !c.periodIsStep(s.Source, q.text) {
			return c.fieldError(path+"."+q.field, fmt.Errorf("signal %q counts events, so each step must count its own window: use [{{.step}}] as the range (increase(...[{{.step}}]), count_over_time(...[{{.step}}]); Graphite: summarize(X, \"{{.step}}\", \"sum\"); InfluxQL: GROUP BY time({{.step}})), so that windows neither overlap nor leave gaps", s.Name))
		}
	}
	return nil
}

// SeriesName is the name of the input series the signal reads offline: its
// Series, else its Name.
func (s Signal) SeriesName() string {
	if s.Series != "" {
		return s.Series
	}
	return s.Name
}

// signalError attributes a judge.Spec check error to its field when the
// message starts with the field's name ("minSamples: ...").
func (c *Config) signalError(path string, err error) error {
	msg := err.Error()
	for i := range len(msg) {
		if msg[i] == ':' {
			field := msg[:i]
			if _, ok := c.lines[path+"."+field]; ok || field == "name" || field == "test" {
				return c.fieldError(path+"."+field, errors.New(msg[i+2:]))
			}
			break
		}
		if msg[i] == ' ' {
			break
		}
	}
	return c.fieldError(path, err)
}

// fieldError makes a ConfigError at the line where field (or its nearest
// recorded parent) was written.
func (c *Config) fieldError(field string, err error) error {
	return locate(c.file, c.lines, field, err)
}

// locate makes a ConfigError of file at the line where field (or its
// nearest recorded parent) was written.
func locate(file string, lines map[string]int, field string, err error) error {
	line := 0
	for p := field; p != ""; p = parent(p) {
		if l, ok := lines[p]; ok {
			line = l
			break
		}
	}
	return &ConfigError{File: file, Line: line, Field: field, Err: err}
}

// parent strips the last path element: "signals[1].min" → "signals[1]" → "signals".
func parent(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return ""
}

func groupNames(groups []scoring.Group) string {
	var b bytes.Buffer
	for i, g := range groups {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(g.Name)
	}
	return b.String()
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// syntaxError turns the YAML parser's "yaml: line 3: ..." into a ConfigError.
func syntaxError(name string, err error) error {
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ConfigError{File: name, Line: line, Err: fmt.Errorf("not valid YAML or JSON: %s", m[2])}
	}
	return &ConfigError{File: name, Err: fmt.Errorf("not valid YAML or JSON: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
}

// Schedule is a periodic live analysis that `verdict serve` runs: at every
// firing of Cron (standard 5-field syntax or a descriptor such as @every 5m)
// it judges the last Lookback for the two scopes and stores the analysis.
type Schedule struct {
	Cron          string     `yaml:"cron"`
	BaselineScope []ScopeVar `yaml:"baselineScope,keyed"`
	CanaryScope   []ScopeVar `yaml:"canaryScope,keyed"`
	// Lookback is the window judged at each firing (default 10m).
	Lookback Duration `yaml:"lookback"`
	// Step is the query resolution (default: the source's choice).
	Step Duration `yaml:"step"`
}

// ScopeVar is one template variable of a schedule's scope, written as a
// mapping entry (track: canary).
type ScopeVar struct {
	Name  string `yaml:"name"`
	Value string
}

// UnmarshalText reads the variable's value.
func (v *ScopeVar) UnmarshalText(text []byte) error {
	v.Value = string(text)
	return nil
}

// DefaultScheduleLookback is a schedule's window when it sets no lookback.
const DefaultScheduleLookback = Duration(10 * time.Minute)

// ScopeOf returns vars as a map of template variables.
func ScopeOf(vars []ScopeVar) map[string]string {
	out := make(map[string]string, len(vars))
	for _, v := range vars {
		out[v.Name] = v.Value
	}
	return out
}

// validateSchedules checks every schedule's cron spec and scopes and fills
// the default lookback.
func (c *Config) validateSchedules() error {
	for i := range c.Schedules {
		s := &c.Schedules[i]
		path := fmt.Sprintf("schedules[%d]", i)
		if s.Cron == "" {
			return c.fieldError(path+".cron", errors.New("missing (for example \"*/5 * * * *\" or \"@every 5m\")"))
		}
		if _, err := cron.ParseStandard(s.Cron); err != nil {
			return c.fieldError(path+".cron", fmt.Errorf("%q is not a cron schedule: %v", s.Cron, err))
		}
		if len(s.BaselineScope) == 0 {
			return c.fieldError(path+".baselineScope", errors.New("missing (template variables such as {track: baseline})"))
		}
		if len(s.CanaryScope) == 0 {
			return c.fieldError(path+".canaryScope", errors.New("missing (template variables such as {track: canary})"))
		}
		for _, side := range []struct {
			field string
			vars  []ScopeVar
		}{{"baselineScope", s.BaselineScope}, {"canaryScope", s.CanaryScope}} {
			if err := query.CheckScope(ScopeOf(side.vars)); err != nil {
				return c.fieldError(path+"."+side.field, err)
			}
		}
		if s.Lookback == 0 {
			s.Lookback = DefaultScheduleLookback
		}
		if s.Step < 0 {
			return c.fieldError(path+".step", fmt.Errorf("%s is negative", time.Duration(s.Step)))
		}
		w := metrics.Window{End: time.Unix(0, 0).Add(time.Duration(s.Lookback)), Start: time.Unix(0, 0), Step: time.Duration(s.Step)}
		if err := CheckExtent(Extent{Window: w}, ExtentFields{Step: path + ".step"}); err != nil {
			var be *BoundError
			if errors.As(err, &be) {
				return c.fieldError(be.Field, errors.New(be.Msg))
			}
			return err
		}
	}
	return nil
}
