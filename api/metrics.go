package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxScoreScopes is how many canary scopes verdict_last_score keeps per
// config: the most recently scored ones. A scope usually names one
// rollout's canary (Argo puts the pod-template hash in it), so a series
// per scope ever seen would grow with every rollout; the scores of canaries
// judged lately are what a dashboard or an alert reads.
const MaxScoreScopes = 10

// MaxMetricConfigs is how many stored configs get series of their own in
// the metrics labelled by config (verdict_verdicts_total,
// verdict_last_score, verdict_schedule_runs_total, verdict_signal_*): the
// first ones judged; the verdicts of the configs beyond them are counted
// under config OtherConfigs. A config deleted (through this server, or seen
// gone from the store by the retention loop) loses its series and frees
// its place. The verdicts of inline configs are counted under config "",
// since their names are the caller's.
const MaxMetricConfigs = 100

// OtherConfigs is the config label of the configs beyond MaxMetricConfigs;
// it cannot be a stored config's name (see configName).
const OtherConfigs = "(other)"

// MaxMetricSignals is how many signals of a config's latest analysis the
// verdict_signal_* gauges show: those not judged pass first (high, low,
// error, nodata), then the others, each in the report's order.
const MaxMetricSignals = 20

// Metrics are the service's own metrics, on a private registry.
type Metrics struct {
	reg              *prometheus.Registry
	analyses         *prometheus.CounterVec
	analysisDuration *prometheus.HistogramVec
	queryDuration    *prometheus.HistogramVec
	sourceErrors     *prometheus.CounterVec
	requests         *prometheus.CounterVec
	requestDuration  *prometheus.HistogramVec
	lastScore        *prometheus.GaugeVec
	scheduleRuns     *prometheus.CounterVec
	takeovers        *prometheus.CounterVec
	refusals         *prometheus.CounterVec
	verdicts         *prometheus.CounterVec
	signals          *signalCollector

	// configsMu guards configs, the stored configs with series of their
	// own (see MaxMetricConfigs).
	configsMu sync.Mutex
	configs   map[string]struct{}

	// scoreScopes lists, per config, the scopes verdict_last_score has a
	// series for, the least recently scored first.
	scoreMu     sync.Mutex
	scoreScopes map[string][]string
}

// NewMetrics registers the service's metrics on a new private registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		scoreScopes: map[string][]string{},
		configs:     map[string]struct{}{},
		signals:     &signalCollector{latest: map[string]signalFigures{}},
		reg:         prometheus.NewRegistry(),
		analyses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_analyses_total", Help: "Finished analyses by verdict (none when there was no verdict) and origin.",
		}, []string{"verdict", "origin"}),
		analysisDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verdict_analysis_duration_seconds", Help: "Time to run one live analysis (all its intervals).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"origin"}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verdict_query_duration_seconds", Help: "Time of one source query.",
			Buckets: prometheus.DefBuckets,
		}, []string{"source"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_source_errors_total", Help: "Failed source queries by source and kind (timeout, unavailable, bad query, ...).",
		}, []string{"source", "kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_judge_requests_total", Help: "Judge API and integration requests by endpoint and HTTP status.",
		}, []string{"endpoint", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verdict_judge_request_duration_seconds", Help: "Judge API and integration request latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		lastScore: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "verdict_last_score", Help: fmt.Sprintf("Score of the last finished live analysis per config and canary scope (NaN when there was no verdict); the %d scopes scored last per config.", MaxScoreScopes),
		}, []string{"config", "scope"}),
		scheduleRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_schedule_runs_total", Help: "Scheduled firings by config and outcome (ran, failed, skipped, panicked, elsewhere: another replica ran it).",
		}, []string{"config", "outcome"}),
		takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_analyses_taken_over_total", Help: "Analyses taken over from another replica whose lease expired, by what this server did with them (resumed, interrupted).",
		}, []string{"outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_http_refused_total", Help: "Requests refused before their handler, by reason: cross_site (no-token mode), content_type (415), busy (503, the request bodies in flight at their limit).",
		}, []string{"reason"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_verdicts_total", Help: fmt.Sprintf("Verdicts given, by config (\"\" for an inline config, %q beyond the first %d stored configs), verdict (none also for an analysis that failed to run) and origin: judge (POST /api/v1/judge), api (POST /api/v1/analyses), argo, flagger, kayenta, schedule.", OtherConfigs, MaxMetricConfigs),
		}, []string{"config", "verdict", "origin"}),
	}
	m.reg.MustRegister(m.analyses, m.analysisDuration, m.queryDuration, m.sourceErrors, m.requests, m.requestDuration, m.lastScore, m.scheduleRuns, m.takeovers, m.refusals, m.verdicts, m.signals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, outcome := range []string{"resumed", "interrupted"} {
		m.takeovers.WithLabelValues(outcome) // shown at 0 before the first takeover
	}
	for _, reason := range []string{"cross_site", "content_type", "busy"} {
		m.refusals.WithLabelValues(reason)
	}
	return m
}

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the private registry, for tests and embedding.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) observeRequest(endpoint string, status int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// ObserveAnalysis records a finished live analysis of config (a stored
// config's name, "" for an inline config): rep is nil when it could not run.
func (m *Metrics) ObserveAnalysis(origin, config string, rep *analysis.Report, d time.Duration) {
	m.analysisDuration.WithLabelValues(origin).Observe(d.Seconds())
	if rep == nil {
		m.analyses.WithLabelValues("none", origin).Inc()
		m.CountVerdict(origin, config, "none")
		return
	}
	m.analyses.WithLabelValues(string(rep.Verdict), origin).Inc()
	m.CountVerdict(origin, config, string(rep.Verdict))
	if label := m.configLabel(config); label != "" && label != OtherConfigs {
		m.signals.set(label, rep, time.Now())
	}
	scope := ""
	if rep.Scopes != nil {
		scope = query.FormatScope(rep.Scopes.Canary)
	}
	score := math.NaN()
	if rep.Score != nil {
		score = *rep.Score
	}
	m.setLastScore(config, scope, score)
}

// setLastScore sets the score of config's scope, and deletes the series of
// the config's least recently scored scope beyond MaxScoreScopes.
func (m *Metrics) setLastScore(config, scope string, score float64) {
	// A label value must be UTF-8 (WithLabelValues panics otherwise); the
	// API refuses scopes that are not, this keeps any other caller safe.
	config, scope = m.configLabel(config), strings.ToValidUTF8(scope, "\uFFFD")
	m.scoreMu.Lock()
	defer m.scoreMu.Unlock()
	scopes := slices.DeleteFunc(m.scoreScopes[config], func(s string) bool { return s == scope })
	scopes = append(scopes, scope)
	for len(scopes) > MaxScoreScopes {
		m.lastScore.DeleteLabelValues(config, scopes[0])
		scopes = slices.Delete(scopes, 0, 1)
	}
	m.scoreScopes[config] = scopes
	m.lastScore.WithLabelValues(config, scope).Set(score)
}

// ScheduleRun counts a scheduled firing by outcome: ran, failed, skipped,
// panicked or elsewhere (another replica ran it).
func (m *Metrics) ScheduleRun(config, outcome string) {
	m.scheduleRuns.WithLabelValues(m.configLabel(config), outcome).Inc()
}

// CountVerdict counts one verdict (pass, marginal, fail, none) of config
// (a stored config's name, "" for an inline one) given by origin.
func (m *Metrics) CountVerdict(origin, config, verdict string) {
	m.verdicts.WithLabelValues(m.configLabel(config), verdict, origin).Inc()
}

// configLabel is the config label of a config's series: its name while
// it is one of the MaxMetricConfigs configs with series of their own (the
// first ones seen take the places), "" for an inline config, OtherConfigs
// for the rest. The name is made valid UTF-8, as a label value must be.
func (m *Metrics) configLabel(config string) string {
	if config == "" {
		return ""
	}
	config = strings.ToValidUTF8(config, "\uFFFD")
	m.configsMu.Lock()
	defer m.configsMu.Unlock()
	if _, ok := m.configs[config]; ok {
		return config
	}
	if len(m.configs) >= MaxMetricConfigs {
		return OtherConfigs
	}
	m.configs[config] = struct{}{}
	return config
}

// ForgetConfig deletes every series of a config (it was deleted), which
// frees its place among the MaxMetricConfigs.
func (m *Metrics) ForgetConfig(config string) {
	config = strings.ToValidUTF8(config, "\uFFFD")
	m.configsMu.Lock()
	_, ok := m.configs[config]
	delete(m.configs, config)
	m.configsMu.Unlock()
	if !ok {
		return
	}
	match := prometheus.Labels{"config": config}
	m.verdicts.DeletePartialMatch(match)
	m.scheduleRuns.DeletePartialMatch(match)
	m.signals.drop(config)
	m.scoreMu.Lock()
	defer m.scoreMu.Unlock()
	m.lastScore.DeletePartialMatch(match)
	delete(m.scoreScopes, config)
}

// trackedConfigs lists the configs with series of their own.
func (m *Metrics) trackedConfigs() []string {
	m.configsMu.Lock()
	defer m.configsMu.Unlock()
	out := make([]string, 0, len(m.configs))
	for name := range m.configs {
		out = append(out, name)
	}
	return out
}

// refused counts a request refused before its handler (see guard).
func (m *Metrics) refused(reason string) {
	m.refusals.WithLabelValues(reason).Inc()
}

// TakenOver counts an analysis taken over from another replica
// (runner.Observer).
func (m *Metrics) TakenOver(outcome string) {
	m.takeovers.WithLabelValues(outcome).Inc()
}

// instrument wraps every source so its queries are timed and its errors
// counted by kind.
func (m *Metrics) instrument(set analysis.SourceSet) analysis.SourceSet {
	out := make(analysis.SourceSet, len(set))
	for name, src := range set {
		out[name] = &instrumented{Source: src, name: name, m: m}
	}
	return out
}

var _ metrics.LanguageSource = (*instrumented)(nil)

type instrumented struct {
	metrics.Source
	name string
	m    *Metrics
}

// Language is the wrapped source's query language, so that its queries
// are checked by its rules (a Graphite target's, not PromQL's).
func (i *instrumented) Language() metrics.Language { return analysis.LanguageOf(i.Source) }

func (i *instrumented) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	start := time.Now()
	res, err := i.Source.Fetch(ctx, q, scope, w)
	i.m.queryDuration.WithLabelValues(i.name).Observe(time.Since(start).Seconds())
	if err != nil {
		kind := query.KindInternal.String()
		var qe *query.Error
		if errors.As(err, &qe) {
			kind = qe.Kind.String()
		}
		i.m.sourceErrors.WithLabelValues(i.name, kind).Inc()
	}
	return res, err
}
