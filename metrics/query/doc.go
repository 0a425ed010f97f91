// Package query holds what every metric source shares: rendering a query
// template for a scope and window, the error a failed query returns and its
// kinds, the retry policy, and the rule for several series in one answer.
//
// # Templates
//
// A query is a Go text/template over the scope's keys ({{.track}},
// {{.namespace}}) and the window: {{.interval}} (window length as a
// Prometheus duration, "1h"), {{.step}} ("10s"), {{.start}} and {{.end}}
// (unix seconds). Only {{.name}} actions and {{"text"}} constants are
// accepted — no if, range, pipelines or functions; write {{"{{"}} for a
// literal "{{" (LogQL's line_format needs it).
//
// Safety rule: a scope value comes from whoever calls the API, so it must
// never change what the query means. The template is parsed and the text
// around each action is scanned with PromQL/LogQL's lexical rules to find
// whether the action sits inside a "...", '...' or `...` string literal.
// A scope variable outside a string literal (where `"} or vector(1)` or
// `unless` could be injected) or in a # comment is refused by Validate,
// before anything is queried; so is one right after a backslash of the
// template, which would escape the value's first character.
//
// Inside a literal the value is written twice over: first for what the
// literal is to the language (its operand, told from the tokens before
// it), then for the literal (backslash, the quote, \n, \r, \t, other
// non-printable runes as \uXXXX). The operands:
//
//   - a plain string (matchers and label filters with = and !=, line
//     filters |= and != and their `or` alternatives, drop and keep,
//     anything else): as it is.
//   - a regex (=~, !~, |~ and their `or` alternatives, | regexp,
//     label_replace's regex): every ASCII punctuation character
//     backslash-escaped, which RE2 reads as the character in and out of
//     character classes; a value of other than one character before a
//     repetition operator (+, *, ?, {) is grouped as (?:...). Refused
//     placements: after a lone backslash, inside \Q...\E, an escape (\x,
//     \p, octal), a group's flags or name, an open {n,m}, a [:class:] or
//     after a class's range dash.
//   - a Loki pattern (|>, !> and their `or` alternatives, | pattern):
//     <name> is a capture and a pattern has no escape, so a value holding <
//     or > is refused, and so is a placement inside a would-be capture.
//   - a Go template (line_format, label_format's strings): every { written
//     as the action {{"{"}}, so a value never opens an action; refused
//     inside an action or right after a {.
//   - label_replace's replacement: $ written as $$; refused where it would
//     complete a $1, $name or ${name}.
//   - a json, logfmt or xml extraction path and ip(...): refused (a value
//     there cannot be made literal; filter on the label instead).
//
// Keywords are matched as Loki does, in any case (OR, REGEXP). Values that
// cannot be written safely are refused too: invalid UTF-8 and a backtick
// inside a backtick string. Window variables are produced by Verdict and
// may go anywhere (range selectors, offsets). logql_test.go proves the
// rules for every construct with a lexer of LogQL's string forms and the
// parsers Loki uses for operands (regexp/syntax, text/template), not with
// Loki's own parser (AGPL); FuzzRenderLogQL and FuzzRenderMatcher (PromQL,
// with Prometheus' parser) and FuzzRenderMetricsQL (with VictoriaMetrics'
// metricsql parser) check any value.
//
// Unknown variables are errors found by Validate, not empty strings.
//
// PromQL.Parse and MetricsQL.Parse parse a template once (Template) for
// many renderings: an analysis checks each query for both scopes and the
// source renders it for the window from the same parse
// (metrics.RenderQuery). Only the parse is shared: every rendering checks
// the scope's keys and places each value exactly as Render does, and
// FuzzParsedTemplate holds the two to the same answer for any text and
// value.
//
// MetricsQL (VictoriaMetrics) reads the same templates with one
// difference that matters: in a backtick string a backslash escapes the
// next character (the closing backtick too) and a carriage return is
// dropped, so the MetricsQL language refuses a value there that holds a
// carriage return or ends in an odd run of backslashes. Sources whose
// queries are in another language (Graphite) place values by their own
// rules, reading the template through Parts.
//
// # Scopes
//
// A scope's keys are the templates' variables and its values are matched
// exactly. ParseScope reads the K=V[,K=V] form of the command line, and
// CheckScope refuses what a query would not read as meant: a key that is
// not an identifier or is a window variable, an empty value (track=""
// matches the series without the label), a quoted value (the quotes would
// be part of it), a value starting with ~ (a scope is no regex matcher),
// and a value with spaces around it.
//
// # Errors and retries
//
// Sources return *Error with a Kind; Kind.SourceDown tells "no verdict,
// the source is down" from "the config is wrong". Backoff retries only
// retryable kinds (timeout, 5xx, 429), waiting at least what a source's
// Retry-After asked for (Error.RetryAfter, read by ParseRetryAfter); a
// source that asks for more than MaxRetryAfter, or for a wait past the
// query's deadline, is not asked again. An answer over the source's size
// cap (KindTooLarge) is not retried. What a source says in an error goes
// through Excerpt: one line of at most 200 bytes, so that an error page
// never lands whole in a report.
//
// # Several series
//
// Combine enforces: a query returns at most one series per scope, unless
// the signal says how to aggregate (sum, mean, max, min, point-wise).
//
// # Counts and histograms (Shape)
//
// A query's metrics.Kind decides the shape of its answer; both sources
// call Shape, so Prometheus and Loki behave alike.
//
//   - Gauges are returned as the source wrote them (through Combine): a
//     step without a value is missing, never invented.
//   - A count (metrics.Count) is evaluated on CountGrid: the multiples of
//     the step t with the window's start ≤ t−step and t ≤ its end, so each
//     value counts (t−step, t] with a [{{.step}}] range, the windows tile
//     the analysis window without overlapping, and every server (Loki's and
//     Thanos' frontends align ranges to the step) evaluates the same times
//     for the baseline and the canary. FillCounts gives each returned series
//     a value at every grid time, 0 where the source wrote none (a
//     count_over_time or an increase() over a window without events or
//     without enough samples has no point), then Combine applies. A query
//     that returned no series at all is no data: an empty answer, never a
//     row of zeros, so "the canary sends nothing" is not judged as "the
//     canary had no errors". A rate() query for a count is not refused
//     here (analysis.Config refuses it); it is filled like any other.
//   - A histogram (metrics.Histogram) is evaluated on the same grid.
//     ClassicHistogram turns bucket series told apart by le into one series
//     with metrics.Series.Bounds, NativeHistogram does the same for native
//     histogram samples. Series that differ in other labels are several
//     histograms: ambiguous unless aggregate is sum (no other aggregate
//     keeps bucket counts counts). A bound a histogram lacks at a step (or
//     altogether) gets its count at the next lower bound: nothing was
//     counted in that bucket. Bounds are capped at metrics.MaxBounds and
//     steps × bounds at metrics.MaxHistogramValues. The two sides of an
//     analysis can end on different bounds (a native histogram lists only
//     the buckets that received observations): the caller merges them with
//     metrics.AlignBounds before judging.
package query
