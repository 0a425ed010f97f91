// Package datadog is the metrics.Source for Datadog: metric queries
// (avg:checkout.latency.p99{service:checkout,track:{{.track}}}) run
// through the "Query timeseries points" API, GET /api/v1/query?from=&to=&query=.
//
// Decisions:
//   - Plain HTTP through metrics/sourcehttp, not Datadog's Go client
//     (github.com/DataDog/datadog-api-client-go/v2). The client can be
//     pointed at any URL and given our *http.Client, but its packages are
//     generated for the whole API: datadogV2 (where /api/v2/query/timeseries
//     lives) is 8,507 files, whose compilation held 6.9 GB of memory and 3
//     CPU minutes before it was stopped unfinished; datadogV1 (/api/v1/query)
//     is 1,234 files, 2 min 22 s and 1.4 GB to compile on the shared build
//     machine, and the client brings a cgo zstd library. This package needs
//     one GET and one JSON shape.
//   - Credentials: the API key and the application key go in the
//     DD-API-KEY and DD-APPLICATION-KEY headers, never in the URL. They
//     come from files (Config.APIKeyFile, AppKeyFile; read at every
//     request, so a rotated key is picked up) or from values the operator's
//     environment gave (Config.APIKey, AppKey: DD_API_KEY, DD_APP_KEY). No
//     error this package returns holds either key: what Datadog answers is
//     cut to one line (query.Excerpt) and any occurrence of a key in it is
//     replaced by "[redacted]".
//   - Where: Config.URL, else https://api.<site> for a Datadog site
//     (datadoghq.com by default, datadoghq.eu, us3.datadoghq.com, ...).
//   - Templates (Language): Datadog has no quoting or escape for a tag
//     value, and no parser of its query language exists as a Go module, so
//     a scope value may stand only inside a {...} tag filter, after a tag
//     key and its colon (metric{track:{{.track}}}), and must consist of
//     ASCII letters, digits, '_', '-', '.' and '/' (at most 200 bytes);
//     anything else is refused with one sentence naming the value. Window
//     variables: {{.step}} and {{.interval}} are whole seconds ("60"),
//     {{.start}} and {{.end}} unix seconds.
//   - Gauges: Datadog answers points stamped with the start of their
//     rollup interval, at an interval it chooses for the window's length
//     unless the query says .rollup(avg, {{.step}}). Points in [start, end)
//     are kept; a step without a point is missing, never invented.
//   - Counts (metrics.Count) are evaluated on query.CountGrid like every
//     source's: the query sums each step itself,
//     sum:checkout.errors{track:{{.track}}}.as_count().rollup(sum, {{.step}}),
//     whose buckets Datadog aligns to multiples of the step; the bucket
//     [t−step, t) is reported at t. Datadog raises a rollup interval that
//     would give too many points for the window: an answer whose interval
//     is not the step is a KindBadQuery error saying so (a point between
//     steps is a KindBadResponse error), never a count over the wrong
//     window. Steps without a point count nothing (0) as long as the query
//     returned a series; no series is no data.
//   - Histograms: the query API returns no buckets (a distribution's
//     percentiles, p99:metric{...}, are gauges); a histogram signal is
//     refused.
//   - Partial data: Datadog does not flag an answer as partial. When no
//     series a gauge's query returned has a point in the window's last two
//     intervals (Datadog has not ingested them yet, or the service stopped
//     sending), the result carries a warning naming the time of the last
//     point.
//   - Errors are *query.Error. 400 (and an answer with status "error") is
//     KindBadQuery with Datadog's message; 401 and 403 are KindRejected
//     ("check the keys and the site"); 429 is KindRateLimited, retried
//     (query.Backoff) after at least the wait Datadog's headers ask for
//     (Retry-After, else X-RateLimit-Reset, the seconds until the limit's
//     period ends), the error naming X-RateLimit-Limit per
//     X-RateLimit-Period; 5xx are KindUnavailable, 504 KindTimeout, both
//     retried. Each attempt has its own deadline (Config.Timeout, default
//     10s). The API does not page: one answer holds every series.
//   - The HTTP client is metrics/sourcehttp's: one per Source, bounded
//     connections and an answer cap (default 16 MiB; an answer over it is
//     a KindTooLarge error), no redirects followed (so the keys go to the
//     configured host only).
package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// DefaultTimeout is the per-attempt timeout when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultSite is the Datadog site when Config.Site is empty.
const DefaultSite = "datadoghq.com"

// Sites are the Datadog sites a Config may name (the API answers at
// https://api.<site>).
func Sites() []string {
	return []string{"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com", "us2.ddog-gov.com"}
}

// Config says how to reach Datadog.
type Config struct {
	// URL is the API's base URL (a proxy, or a test server); empty means
	// https://api.<Site>.
	URL string
	// Site is the Datadog site (DefaultSite when empty); one of Sites.
	Site string
	// APIKeyFile and AppKeyFile name files holding the keys; they win
	// over APIKey and AppKey, the keys themselves (from the environment).
	APIKeyFile, AppKeyFile string
	APIKey, AppKey         string
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a timed-out, rate-limited or unavailable
	// query is tried again: 0 means the default (2), negative means never.
	Retries int
	// RetryWait is the wait before the first retry, doubling after each;
	// zero means 200ms.
	RetryWait time.Duration
	// HTTP holds TLS, the connection bound and the answer cap (see
	// package sourcehttp).
	HTTP sourcehttp.Config
}

// SettingError is a setting New cannot use; Setting is its name as a
// sources file spells it.
type SettingError = sourcehttp.SettingError

// Source runs Datadog metric queries. It is safe for concurrent use.
type Source struct {
	base      *url.URL
	apiKey    sourcehttp.Secret
	appKey    sourcehttp.Secret
	attempter sourcehttp.Attempter
	backoff   query.Backoff
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It reads the key files once, to
// check them, and does not contact Datadog.
func New(cfg Config) (*Source, error) {
	raw := cfg.URL
	if raw == "" {
		site := cfg.Site
		if site == "" {
			site = DefaultSite
		}
		if !slices.Contains(Sites(), site) {
			return nil, &SettingError{Setting: "site", Err: fmt.Errorf("%q is not a Datadog site (want one of %s)", site, strings.Join(Sites(), ", "))}
		}
		raw = "https://api." + site
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil {
		return nil, &SettingError{Setting: "url", Err: fmt.Errorf("%q is not a URL such as https://api.datadoghq.com", raw)}
	}
	base.Path = strings.TrimRight(base.Path, "/")
	s := &Source{
		base:    base,
		apiKey:  sourcehttp.Secret{File: cfg.APIKeyFile, Value: cfg.APIKey},
		appKey:  sourcehttp.Secret{File: cfg.AppKeyFile, Value: cfg.AppKey},
		backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait),
	}
	for _, k := range []struct {
		setting, env string
		s            sourcehttp.Secret
	}{{"apiKeyFile", "DD_API_KEY", s.apiKey}, {"appKeyFile", "DD_APP_KEY", s.appKey}} {
		v, err := k.s.Get()
		switch {
		case err != nil:
			return nil, &SettingError{Setting: k.setting, Err: err}
		case v == "" && k.s.File != "":
			return nil, &SettingError{Setting: k.setting, Err: errors.New("the file is empty")}
		case v == "":
			return nil, &SettingError{Setting: k.setting, Err: fmt.Errorf("missing: give %s or set %s in verdict's environment", k.setting, k.env)}
		}
	}
	if s.attempter, err = sourcehttp.NewAttempter("datadog", cfg.HTTP, cfg.Timeout, DefaultTimeout); err != nil {
		return nil, err
	}
	return s, nil
}

// Language returns Datadog's template rules.
func (s *Source) Language() metrics.Language { return Language{} }

// Fetch renders q.Expr for scope and window and asks Datadog for it.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	rendered, w, err := query.Prepare(q, scope, w, Language{}.Render)
	if err != nil {
		return metrics.Result{}, err
	}
	bad := func(err error) (metrics.Result, error) {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery, Err: err}
	}
	if q.Kind == metrics.Histogram {
		return bad(errors.New("a histogram signal cannot read from Datadog, whose query API returns no buckets; judge a distribution's percentile (p99:metric{...}) as a gauge instead (test: mann-whitney)"))
	}
	// Points stamped in [keepFrom, keepTo) are kept, moved by shift.
	keepFrom, keepTo := w.Start, w.End
	var (
		grid  query.Grid
		shift time.Duration
	)
	if q.Kind == metrics.Count {
		if w.Step%time.Second != 0 {
			return bad(fmt.Errorf("step %s is not a whole number of seconds (Datadog's resolution)", w.Step))
		}
		if grid, err = query.CountGrid(w); err != nil {
			return bad(err)
		}
		keepFrom, keepTo = grid.First.Add(-w.Step), grid.Last()
		shift = w.Step
	}
	params := url.Values{
		"query": {rendered},
		"from":  {strconv.FormatInt(query.CeilUnix(keepFrom), 10)},
		"to":    {strconv.FormatInt(query.CeilUnix(keepTo)-1, 10)},
	}
	u := *s.base
	u.Path += "/api/v1/query"
	u.RawQuery = params.Encode()

	var answer *queryResponse
	err = s.backoff.Do(ctx, func(ctx context.Context) error {
		a, err := s.get(ctx, u.String())
		if err != nil {
			err.Signal, err.Query = q.Signal, rendered
			return err
		}
		answer = a
		return nil
	})
	if err != nil {
		return metrics.Result{}, err
	}
	if q.Kind == metrics.Count {
		for _, rs := range answer.Series {
			if rs.Interval != 0 && time.Duration(rs.Interval)*time.Second != w.Step {
				return bad(fmt.Errorf("the answer's interval is %s, not the step %s: a count's query must sum each step itself (.as_count().rollup(sum, {{.step}})), at a step Datadog keeps for a window this long", query.Duration(time.Duration(rs.Interval)*time.Second), query.Duration(w.Step)))
			}
		}
	}
	series, last, interval := convert(q.Signal, answer, keepFrom, keepTo, shift)
	var warnings []string
	if q.Kind == metrics.Gauge && len(series) > 0 {
		interval = max(interval, w.Step)
		if lastSlot := w.End.Add(-2 * interval); last.Before(lastSlot) {
			what := "no returned series has a point in the window"
			if !last.IsZero() {
				what = "no returned series has a point after " + last.UTC().Format(time.RFC3339)
			}
			warnings = append(warnings, fmt.Sprintf("partial data: %s, up to %s: Datadog has not ingested the rest (yet), or the service stopped sending", what, w.End.UTC().Format(time.RFC3339)))
		}
	}
	series, err = query.Shape(q, rendered, scope, grid, series)
	if err != nil {
		return metrics.Result{}, query.WithShapeHint(err, q.Kind == metrics.Count, "a count's query must sum each step itself: .as_count().rollup(sum, {{.step}})")
	}
	return metrics.Result{Series: series, Warnings: warnings}, nil
}

// queryResponse is the answer of GET /api/v1/query (the fields read).
type queryResponse struct {
	Status string        `json:"status"`
	Error  string        `json:"error"`
	Series []querySeries `json:"series"`
}

type querySeries struct {
	Metric     string   `json:"metric"`
	Expression string   `json:"expression"`
	Scope      string   `json:"scope"`
	TagSet     []string `json:"tag_set"`
	// Interval is the seconds between points (the rollup interval).
	Interval int64 `json:"interval"`
	// Pointlist holds [milliseconds, value] pairs; a value may be null.
	Pointlist [][2]*float64 `json:"pointlist"`
}

// convert turns the answer into series: points stamped in [from, to),
// moved by shift, null and NaN points left out. It also returns the
// latest time with a value in any series (before the shift) and the
// largest interval of any series.
func convert(signal string, answer *queryResponse, from, to time.Time, shift time.Duration) (out []metrics.Series, last time.Time, interval time.Duration) {
	out = make([]metrics.Series, 0, len(answer.Series))
	for _, rs := range answer.Series {
		s := metrics.Series{Signal: signal, Labels: map[string]string{}}
		if rs.Expression != "" {
			s.Labels["expression"] = rs.Expression
		}
		if rs.Scope != "" {
			s.Labels["scope"] = rs.Scope
		}
		for _, tag := range rs.TagSet {
			k, v, _ := strings.Cut(tag, ":")
			s.Labels[k] = v
		}
		interval = max(interval, time.Duration(rs.Interval)*time.Second)
		for _, p := range rs.Pointlist {
			if p[0] == nil || p[1] == nil || math.IsNaN(*p[1]) {
				continue
			}
			t := time.UnixMilli(int64(*p[0])).UTC()
			if t.Before(from) || !t.Before(to) {
				continue
			}
			if t.After(last) {
				last = t
			}
			s.Times = append(s.Times, t.Add(shift))
			s.Values = append(s.Values, *p[1])
		}
		out = append(out, s)
	}
	return out, last, interval
}

// get runs one attempt. The returned error lacks Signal and Query.
func (s *Source) get(ctx context.Context, u string) (*queryResponse, *query.Error) {
	apiKey, err := s.apiKey.Get()
	if err != nil {
		return nil, sourcehttp.Fail(ctx, query.KindInternal, fmt.Errorf("the source's apiKeyFile cannot be read: %w", err))
	}
	appKey, err := s.appKey.Get()
	if err != nil {
		return nil, sourcehttp.Fail(ctx, query.KindInternal, fmt.Errorf("the source's appKeyFile cannot be read: %w", err))
	}
	fail := func(qe *query.Error) (*queryResponse, *query.Error) {
		qe.Err = sourcehttp.Redact(qe.Err, apiKey, appKey)
		return nil, qe
	}
	var answer queryResponse
	_, qe := s.attempter.Do(ctx, sourcehttp.Exchange{
		URL:        u,
		Header:     http.Header{"Dd-Api-Key": {apiKey}, "Dd-Application-Key": {appKey}},
		Classify:   classify,
		RetryAfter: retryAfter,
		Decode:     func(body io.Reader) error { return json.NewDecoder(body).Decode(&answer) },
		Expected:   "a query response",
	})
	if qe != nil {
		return fail(qe)
	}
	if answer.Status == "error" {
		return fail(sourcehttp.Fail(ctx, query.KindBadQuery, fmt.Errorf("datadog could not run the query: %s", query.Excerpt(answer.Error))))
	}
	return &answer, nil
}

// retryAfter is the wait an error answer asks for: its Retry-After, else
// X-RateLimit-Reset (seconds until the rate limit's period ends).
func retryAfter(h http.Header) time.Duration {
	if d := query.ParseRetryAfter(h.Get("Retry-After"), time.Now()); d > 0 {
		return d
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && secs > 0 {
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	return 0
}

// classify reads an error answer: its kind and one line saying what
// happened.
func classify(status int, h http.Header, body []byte) (query.Kind, string) {
	msg := errorMessage(body)
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return query.KindBadQuery, msg
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return query.KindRejected, "Datadog refused the keys (" + msg + "); check the API and application keys (DD_API_KEY, DD_APP_KEY or apiKeyFile, appKeyFile), the application key's timeseries_query permission and the site"
	case status == http.StatusTooManyRequests:
		limit := "rate limited"
		if l, p := h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Period"); l != "" && p != "" {
			limit = fmt.Sprintf("rate limited at %s requests per %ss", query.Excerpt(l), query.Excerpt(p))
		}
		if r := h.Get("X-RateLimit-Reset"); r != "" {
			limit += fmt.Sprintf(", reset in %ss", query.Excerpt(r))
		}
		return query.KindRateLimited, limit + ": " + msg
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return query.KindTimeout, msg
	case status >= 500:
		return query.KindUnavailable, msg
	}
	return query.KindRejected, msg
}

// errorMessage is the message of Datadog's error body, {"errors": [...]}
// or {"status": "error", "error": "..."}, else the body's first line.
func errorMessage(body []byte) string {
	var e struct {
		Errors []string `json:"errors"`
		Error  string   `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case len(e.Errors) > 0:
			return query.Excerpt(strings.Join(e.Errors, "; "))
		case e.Error != "":
			return query.Excerpt(e.Error)
		}
	}
	return query.Excerpt(string(body))
}
