// Package metrics defines where Verdict's numbers come from: the Series a
// source returns, the scope and window a query is asked for, and the Source
// interface that Prometheus (and VictoriaMetrics), Loki, Graphite,
// InfluxDB (InfluxQL and Flux), CloudWatch, Datadog, New Relic and series files implement,
// with the Language of a source's query templates.
//
// The package knows nothing of statistics. A Source answers "what did this
// query return for this scope over this window"; deciding whether the answer
// is healthy is the judge's business.
package metrics

import (
	"context"
	"time"
)

// Series is one named sequence of observations.
//
// Values holds the observations in time order. Times is either nil (series
// files without timestamps) or has one time per observation. NaN in Values
// marks a missing observation; the judge decides what to do with it.
//
// A histogram series has Bounds: the buckets' upper bounds (le), strictly
// ascending and ending in +Inf. Each observation is then a window's
// cumulative bucket counts, len(Bounds) values (Prometheus' _bucket
// increases over the window), so Values holds len(Bounds) values per
// observation, observation after observation, and Times one per
// observation (len(Values)/len(Bounds)). Two sides' histograms may come
// back on different bounds: AlignBounds puts them on the same ones.
type Series struct {
	// Signal is the name of the signal the series belongs to.
	Signal string
	// Labels are the series' labels as the source reported them (empty for files).
	Labels map[string]string
	// Times are the observation times, or nil.
	Times []time.Time
	// Values are the observations.
	Values []float64
	// Bounds are a histogram series' bucket bounds; nil for a plain series.
	Bounds []float64
}

// Observations is the number of observations: points, or a histogram's
// windows.
func (s Series) Observations() int {
	if len(s.Bounds) > 0 {
		return len(s.Values) / len(s.Bounds)
	}
	return len(s.Values)
}

// Scope is the set of template variables that tell a query which deployment
// to look at, for example {"track": "canary", "namespace": "shop"}.
type Scope map[string]string

// Window is the time range a query covers, with the resolution to ask for.
type Window struct {
	Start time.Time
	End   time.Time
	// Step is the resolution of a range query; zero lets the source choose.
	Step time.Duration
}

// Query is what a signal asks of a source.
type Query struct {
	// Signal names the signal, for error messages and for Series.Signal.
	Signal string
	// Expr is the query template (PromQL, LogQL, or a signal name for files).
	Expr string
	// Aggregate says how to combine several series returned for one scope:
	// "" (several series are an error), "sum", "mean", "max" or "min".
	Aggregate string
	// Kind says what the query's values are, which decides how a source
	// fills and shapes its answer (see Kind).
	Kind Kind
	// Template, when set, is Expr as a TemplateLanguage parsed it, so that
	// the source renders without parsing Expr again (RenderQuery). A
	// source uses it only if its own language parsed it from Expr.
	Template Template
}

// Kind is what a query's values are.
type Kind int

// The kinds of query.
const (
	// Gauge values are levels sampled at each step (latency, CPU): a step
	// without a value is missing (NaN is never invented).
	Gauge Kind = iota
	// Count values are numbers of events in each step's window
	// (increase(x[{{.step}}]), count_over_time(...[{{.step}}])): a step the
	// source answered for but returned no value for counted nothing, so it
	// is 0, as long as the query returned something at all for the window.
	// Sources evaluate counts on the grid of metrics/query.CountGrid (the
	// step's multiples inside the window), the same for every scope.
	Count
	// Histogram values are bucket counts: classic _bucket series by le, or
	// native histograms, turned into a Series with Bounds.
	Histogram
)

// Result is a source's answer to one query for one scope.
type Result struct {
	// Series are the series returned, one per distinct label set.
	Series []Series
	// Warnings are non-fatal remarks from the source, carried into the report.
	Warnings []string
}

// Source fetches series. Implementations are safe for concurrent use.
//
// Fetch renders q.Expr for scope and window, runs it, and returns what came
// back. An empty Result with a nil error means the query matched nothing.
// Errors name the query and say what happened (timeout, HTTP status, bad
// query); they are wrapped so callers can inspect them with errors.As.
type Source interface {
	Fetch(ctx context.Context, q Query, scope Scope, w Window) (Result, error)
}

// Language is a query language's template rules: whether a template is
// valid for a scope's keys, and what it reads once a scope and a window
// fill it in. metrics/query.PromQL (Prometheus, Loki and the servers that
// speak their APIs) is every source's unless the source says otherwise
// (LanguageSource).
type Language interface {
	// Validate checks expr before anything is queried, for scopes with
	// these keys.
	Validate(expr string, scopeKeys []string) error
	// Render fills expr in for scope and w; a scope value can never
	// change what the query means.
	Render(expr string, scope Scope, w Window) (string, error)
}

// A Template is a query template its language parsed once, to be
// validated and rendered many times: its Validate and Render answer
// exactly as the language's Validate and Render of the same text do. It is
// safe for concurrent use.
type Template interface {
	// Expr is the template's text.
	Expr() string
	// ParsedBy reports whether lang is the language that parsed it.
	ParsedBy(lang Language) bool
	// Validate is the language's Validate of Expr for these keys.
	Validate(scopeKeys []string) error
	// Render is the language's Render of Expr for scope and w.
	Render(scope Scope, w Window) (string, error)
}

// A TemplateLanguage is a Language that can parse a template once for many
// renderings (an analysis checks each query for both scopes, then each
// source renders it for the window).
type TemplateLanguage interface {
	Language
	Parse(expr string) (Template, error)
}

// RenderQuery is lang's Render of q.Expr for scope and w, from q.Template
// when lang parsed it from q.Expr (the same text: the rendering is the
// same, without parsing again).
func RenderQuery(lang Language, q Query, scope Scope, w Window) (string, error) {
	if q.Template != nil && q.Template.Expr() == q.Expr && q.Template.ParsedBy(lang) {
		return q.Template.Render(scope, w)
	}
	return lang.Render(q.Expr, scope, w)
}

// LanguageSource is a Source whose queries are not PromQL or LogQL (such
// as Graphite's target expressions or InfluxQL).
type LanguageSource interface {
	Source
	Language() Language
}
