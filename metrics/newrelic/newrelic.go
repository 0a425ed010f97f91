// Package newrelic is the metrics.Source for New Relic: NRQL queries
// (SELECT average(duration) FROM Transaction WHERE track = '{{.track}}'
// TIMESERIES {{.step}}) run through NerdGraph, New Relic's GraphQL API:
// actor { account(id:) { nrql(query:) { results } } }.
//
// Decisions:
//   - Plain HTTP through metrics/sourcehttp, not New Relic's Go client
//     (github.com/newrelic/newrelic-client-go/v2, which the module proxy
//     serves and which builds quickly): it takes no *http.Client, only an
//     http.RoundTripper, and builds its own client around it, which
//     follows redirects (Go forwards a custom header such as API-Key to
//     the redirect's host) and retries every 429, 500 and 5xx three more
//     times inside go-retryablehttp, a count its config cannot change; so
//     the source's bounds (no redirects, its retries honouring Retry-After
//     under the query's deadline) could not hold. NerdGraph is one POST of
//     a JSON document.
//   - The NRQL travels as a GraphQL variable ($nrql: Nrql!), never pasted
//     into the GraphQL text, so GraphQL's own quoting plays no part.
//   - Credentials: the user API key goes in the API-Key header, from a
//     file (Config.APIKeyFile, read at every request) or from the
//     operator's environment (Config.APIKey: NEW_RELIC_API_KEY); the
//     account id and the region (US or EU) from the settings or the
//     environment (NEW_RELIC_ACCOUNT_ID, NEW_RELIC_REGION). No error this
//     package returns holds the key: what New Relic answers is cut to one
//     line and any occurrence of the key in it is replaced by "[redacted]".
//   - Templates (Language): a scope value stands inside a single-quoted
//     string of the template (WHERE track = '{{.track}}') and is written
//     as it is; a value holding a quote, a backslash, a control character
//     or invalid UTF-8 is refused (no escape is relied on), and so is a
//     variable outside a single-quoted string, in a `name`, or in a LIKE
//     or RLIKE pattern (where % and _ are wildcards). The query must say
//     TIMESERIES and must not say SINCE, UNTIL or COMPARE WITH: the
//     source adds SINCE and UNTIL (unix seconds) for the window.
//   - Gauges: each TIMESERIES bucket is a point stamped with its
//     beginTimeSeconds; buckets in [start, end) are kept, a bucket whose
//     value is null is missing, never invented.
//   - Counts (metrics.Count) are evaluated on query.CountGrid like every
//     source's: SELECT count(*) (or sum(x)) ... TIMESERIES {{.step}},
//     asked SINCE the grid's first window's start UNTIL its last time,
//     each bucket [t−step, t) reported at its endTimeSeconds t. A bucket
//     of another width is a KindBadResponse error. A bucket answered
//     null counts nothing (0) as long as another bucket of the series has
//     a value; a series null in every bucket (sum() of a metric that
//     never arrived) is no data. NRQL answers count(*) with 0, never null,
//     so a count(*) of events that never arrive reads as zero events:
//     give such a signal an exposure (test: rate with exposureQuery), so
//     that missing traffic shows. A FACET splits the
//     answer into one series per facet value (labels: the facet
//     attributes), combined by the signal's aggregate like any source's
//     several series; a FACET without LIMIT that answers NRQL's default
//     10 values carries a partial-data warning (others may be left out).
//     NRQL answers at most 366 buckets: a window with more
//     steps is refused with one sentence asking for a longer step.
//   - Histograms: not read (NRQL's histogram() buckets are not mapped
//     yet); a histogram signal is refused.
//   - Partial data: when no series of a gauge has a value in the window's
//     last two steps, the result carries a warning naming the time of the
//     last value.
//   - Errors are *query.Error. NerdGraph answers most failures with HTTP
//     200 and an errors list: errorClass TOO_MANY_REQUESTS is
//     KindRateLimited, TIMEOUT KindTimeout, INTERNAL_SERVER_ERROR and
//     SERVER_ERROR KindUnavailable (all retried, query.Backoff),
//     error_code BAD_API_KEY (or HTTP 401/403) KindRejected ("check the
//     key"), anything else (a NRQL syntax error) KindBadQuery. HTTP 429
//     is retried after at least its Retry-After; 5xx are KindUnavailable.
//     Each attempt has its own deadline (Config.Timeout, default 10s).
//   - The HTTP client is metrics/sourcehttp's: one per Source, bounded
//     connections and an answer cap, no redirects followed.
package newrelic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
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

// The regions' NerdGraph hosts.
var regionURLs = map[string]string{"US": "https://api.newrelic.com", "EU": "https://api.eu.newrelic.com"}

// nerdGraphQuery is the GraphQL document every query sends; the account
// and the NRQL are its variables.
const nerdGraphQuery = `query VerdictNRQL($accountId: Int!, $nrql: Nrql!, $timeout: Seconds) { actor { account(id: $accountId) { nrql(query: $nrql, timeout: $timeout) { results metadata { facets } } } } }`

// Config says how to reach New Relic.
type Config struct {
	// URL is NerdGraph's base URL (POST URL/graphql); empty means the
	// region's.
	URL string
	// Region is US (the default) or EU.
	Region string
	// AccountID is the account the queries read.
	AccountID int64
	// APIKeyFile names a file holding the user API key; it wins over
	// APIKey, the key itself (from the environment).
	APIKeyFile, APIKey string
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a timed-out, rate-limited or unavailable
	// query is tried again: 0 means the default (2), negative means never.
	Retries int
	// RetryWait is the wait before the first retry; zero means 200ms.
	RetryWait time.Duration
	// HTTP holds TLS, the connection bound and the answer cap.
	HTTP sourcehttp.Config
}

// SettingError is a setting New cannot use.
type SettingError = sourcehttp.SettingError

// Source runs NRQL queries. It is safe for concurrent use.
type Source struct {
	endpoint  string
	account   int64
	key       sourcehttp.Secret
	attempter sourcehttp.Attempter
	backoff   query.Backoff
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It reads the key file once, to
// check it, and does not contact New Relic.
func New(cfg Config) (*Source, error) {
	raw := cfg.URL
	if raw == "" {
		region := strings.ToUpper(cfg.Region)
		if region == "" {
			region = "US"
		}
		u, ok := regionURLs[region]
		if !ok {
			return nil, &SettingError{Setting: "region", Err: fmt.Errorf("%q is not a New Relic region (US or EU)", cfg.Region)}
		}
		raw = u
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil {
		return nil, &SettingError{Setting: "url", Err: fmt.Errorf("%q is not a URL such as https://api.newrelic.com", raw)}
	}
	base.Path = strings.TrimRight(base.Path, "/") + "/graphql"
	if cfg.AccountID <= 0 {
		return nil, &SettingError{Setting: "accountId", Err: errors.New("missing: give accountId or set NEW_RELIC_ACCOUNT_ID in verdict's environment")}
	}
	key := sourcehttp.Secret{File: cfg.APIKeyFile, Value: cfg.APIKey}
	k, err := key.Get()
	switch {
	case err != nil:
		return nil, &SettingError{Setting: "apiKeyFile", Err: err}
	case k == "" && key.File != "":
		return nil, &SettingError{Setting: "apiKeyFile", Err: errors.New("the file is empty")}
	case k == "":
		return nil, &SettingError{Setting: "apiKeyFile", Err: errors.New("missing: give apiKeyFile or set NEW_RELIC_API_KEY in verdict's environment")}
	}
	attempter, err := sourcehttp.NewAttempter("New Relic", cfg.HTTP, cfg.Timeout, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return &Source{endpoint: base.String(), account: cfg.AccountID, key: key, attempter: attempter,
		backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait)}, nil
}

// Language returns NRQL's template rules.
func (s *Source) Language() metrics.Language { return Language{} }

// Fetch renders q.Expr for scope and window and runs it through NerdGraph.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	rendered, w, err := query.Prepare(q, scope, w, Language{}.Render)
	if err != nil {
		return metrics.Result{}, err
	}
	bad := func(err error) (metrics.Result, error) {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery, Err: err}
	}
	if q.Kind == metrics.Histogram {
		return bad(errors.New("a histogram signal cannot read from New Relic yet; judge a percentile (percentile(duration, 99)) as a gauge instead (test: mann-whitney)"))
	}
	if w.Step%time.Second != 0 {
		return bad(fmt.Errorf("step %s is not a whole number of seconds (NRQL's resolution)", w.Step))
	}
	since, until := w.Start, w.End
	var grid query.Grid
	if q.Kind == metrics.Count {
		if grid, err = query.CountGrid(w); err != nil {
			return bad(err)
		}
		since, until = grid.First.Add(-w.Step), grid.Last()
	}
	if n := until.Sub(since) / w.Step; n > MaxTimeseriesBuckets {
		return bad(fmt.Errorf("the window holds %d steps of %s, more than the %d buckets NRQL's TIMESERIES answers; use a step of at least %s", n, query.Duration(w.Step), MaxTimeseriesBuckets, query.Duration((until.Sub(since)/MaxTimeseriesBuckets + time.Second).Truncate(time.Second))))
	}
	nrql := fmt.Sprintf("%s SINCE %d UNTIL %d", rendered, query.CeilUnix(since), query.CeilUnix(until))
	body, err := json.Marshal(map[string]any{
		"query":     nerdGraphQuery,
		"variables": map[string]any{"accountId": s.account, "nrql": nrql, "timeout": int(math.Ceil(s.attempter.Timeout.Seconds()))},
	})
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: nrql, Kind: query.KindInternal, Err: err}
	}
	var answer *nrqlAnswer
	err = s.backoff.Do(ctx, func(ctx context.Context) error {
		a, err := s.post(ctx, body)
		if err != nil {
			err.Signal, err.Query = q.Signal, nrql
			return err
		}
		answer = a
		return nil
	})
	if err != nil {
		return metrics.Result{}, err
	}
	series, last, err := convert(q, answer, since, until, w.Step)
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: nrql, Kind: query.KindBadResponse, Err: err}
	}
	var warnings []string
	if q.Kind == metrics.Gauge && len(series) > 0 && last.Before(w.End.Add(-2*w.Step)) {
		what := "no returned series has a value in the window"
		if !last.IsZero() {
			what = "no returned series has a value after " + last.UTC().Format(time.RFC3339)
		}
		warnings = append(warnings, fmt.Sprintf("partial data: %s, up to %s: New Relic has not received the rest (yet), or the service stopped sending", what, w.End.UTC().Format(time.RFC3339)))
	}
	if len(answer.Metadata.Facets) > 0 && len(series) >= DefaultFacetLimit && !hasWord(rendered, "LIMIT") {
		warnings = append(warnings, fmt.Sprintf("partial data: the FACET answered %d values, NRQL's default limit, so others may be left out; say LIMIT MAX (or a number) in the query", len(series)))
	}
	series, err = query.Shape(q, nrql, scope, grid, series)
	if err != nil {
		return metrics.Result{}, err
	}
	return metrics.Result{Series: series, Warnings: warnings}, nil
}

// DefaultFacetLimit is how many facet values NRQL answers without a LIMIT.
const DefaultFacetLimit = 10

// hasWord reports whether the NRQL text holds word outside strings and
// names.
func hasWord(nrql, word string) bool {
	var sc scanner
	sc.feed(nrql)
	sc.endWord()
	return slices.Contains(sc.words, word)
}

// nrqlAnswer is NerdGraph's nrql field.
type nrqlAnswer struct {
	Results  []map[string]json.RawMessage `json:"results"`
	Metadata struct {
		Facets []string `json:"facets"`
	} `json:"metadata"`
}

type graphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		ErrorClass string `json:"errorClass"`
		ErrorCode  string `json:"error_code"`
		Code       string `json:"code"`
	} `json:"extensions"`
}

type nerdGraphResponse struct {
	Data *struct {
		Actor *struct {
			Account *struct {
				NRQL *nrqlAnswer `json:"nrql"`
			} `json:"account"`
		} `json:"actor"`
	} `json:"data"`
	Errors []graphQLError `json:"errors"`
}

// convert turns the result rows into series, one per facet value: gauges
// at each bucket's begin, counts at its end, buckets outside [since,
// until] left out. It returns the latest begin time with a value.
func convert(q metrics.Query, a *nrqlAnswer, since, until time.Time, step time.Duration) ([]metrics.Series, time.Time, error) {
	facets := map[string]bool{"facet": true}
	for _, f := range a.Metadata.Facets {
		facets[f] = true
	}
	var last time.Time
	bySeries := map[string]*metrics.Series{}
	var order []string
	for i, row := range a.Results {
		begin, okb := seconds(row["beginTimeSeconds"])
		end, oke := seconds(row["endTimeSeconds"])
		if !okb || !oke {
			return nil, last, fmt.Errorf("result %d has no beginTimeSeconds and endTimeSeconds: the query needs TIMESERIES", i)
		}
		labels := map[string]string{}
		var valueKeys []string
		for k, raw := range row {
			switch {
			case k == "beginTimeSeconds" || k == "endTimeSeconds":
			case facets[k]:
				labels[k] = facetText(raw)
			default:
				valueKeys = append(valueKeys, k)
			}
		}
		if len(valueKeys) != 1 {
			slices.Sort(valueKeys)
			return nil, last, fmt.Errorf("result %d holds %d values (%s); select one aggregate", i, len(valueKeys), strings.Join(valueKeys, ", "))
		}
		v, ok, err := number(row[valueKeys[0]])
		if err != nil {
			return nil, last, fmt.Errorf("result %d: %s: %w", i, valueKeys[0], err)
		}
		t := begin
		if q.Kind == metrics.Count {
			if end.Sub(begin) != step {
				return nil, last, fmt.Errorf("New Relic answered a bucket of %s, not the step %s: a count's query must say TIMESERIES {{.step}}", query.Duration(end.Sub(begin)), query.Duration(step))
			}
			t = end
		}
		if t.Before(since) || t.After(until) || (q.Kind != metrics.Count && !t.Before(until)) {
			continue
		}
		key := labelKey(labels)
		s, seen := bySeries[key]
		if !seen {
			s = &metrics.Series{Signal: q.Signal, Labels: labels}
			bySeries[key] = s
			order = append(order, key)
		}
		if !ok {
			continue
		}
		if begin.After(last) {
			last = begin
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, v)
	}
	out := make([]metrics.Series, 0, len(order))
	for _, k := range order {
		s := bySeries[k]
		if len(s.Values) == 0 {
			continue // every bucket null: the query found nothing
		}
		out = append(out, *s)
	}
	return out, last, nil
}

func labelKey(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString(k + "\x00" + labels[k] + "\x00")
	}
	return b.String()
}

func seconds(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if raw == nil || json.Unmarshal(raw, &f) != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0).UTC(), true
}

// number reads a result value: a number, null (no value), or an object
// of one number (percentile(x, 99) answers {"99": 1.2}).
func number(raw json.RawMessage) (float64, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, !math.IsNaN(f), nil
	}
	var obj map[string]*float64
	if err := json.Unmarshal(raw, &obj); err == nil && len(obj) == 1 {
		for _, v := range obj {
			if v == nil {
				return 0, false, nil
			}
			return *v, true, nil
		}
	}
	return 0, false, fmt.Errorf("%s is not a number", query.Excerpt(string(raw)))
}

func facetText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, ",")
	}
	return string(raw)
}

// post runs one attempt. The returned error lacks Signal and Query.
func (s *Source) post(ctx context.Context, body []byte) (*nrqlAnswer, *query.Error) {
	key, err := s.key.Get()
	if err != nil {
		return nil, sourcehttp.Fail(ctx, query.KindInternal, fmt.Errorf("the source's apiKeyFile cannot be read: %w", err))
	}
	fail := func(qe *query.Error) (*nrqlAnswer, *query.Error) {
		qe.Err = sourcehttp.Redact(qe.Err, key)
		return nil, qe
	}
	var ng nerdGraphResponse
	header, qe := s.attempter.Do(ctx, sourcehttp.Exchange{
		Method:   http.MethodPost,
		URL:      s.endpoint,
		Header:   http.Header{"Content-Type": {"application/json"}, "Api-Key": {key}},
		Body:     body,
		Classify: classifyStatus,
		Decode:   func(body io.Reader) error { return json.NewDecoder(body).Decode(&ng) },
		Expected: "a NerdGraph response",
	})
	if qe != nil {
		return fail(qe)
	}
	if len(ng.Errors) > 0 {
		kind, msg := classify(ng.Errors)
		qe := sourcehttp.Fail(ctx, kind, errors.New(msg))
		qe.RetryAfter = query.ParseRetryAfter(header.Get("Retry-After"), time.Now())
		return fail(qe)
	}
	if ng.Data == nil || ng.Data.Actor == nil || ng.Data.Actor.Account == nil || ng.Data.Actor.Account.NRQL == nil {
		return fail(sourcehttp.Fail(ctx, query.KindBadResponse, errors.New("New Relic's answer has no data.actor.account.nrql")))
	}
	return ng.Data.Actor.Account.NRQL, nil
}

// classifyStatus reads an answer whose status is not 200: its kind and
// one line saying what happened.
func classifyStatus(status int, _ http.Header, raw []byte) (query.Kind, string) {
	var ng nerdGraphResponse
	msg := query.Excerpt(string(raw))
	if json.Unmarshal(raw, &ng) == nil && len(ng.Errors) > 0 {
		msg = errorsText(ng.Errors)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return query.KindRejected, refusedKey(msg)
	case status == http.StatusTooManyRequests:
		return query.KindRateLimited, msg
	case status == http.StatusGatewayTimeout:
		return query.KindTimeout, msg
	case status >= 500:
		return query.KindUnavailable, msg
	case status == http.StatusBadRequest:
		return query.KindBadQuery, msg
	}
	return query.KindRejected, msg
}

// classify reads NerdGraph's errors list.
func classify(errs []graphQLError) (query.Kind, string) {
	msg := errorsText(errs)
	for _, e := range errs {
		switch {
		case e.Extensions.ErrorCode == "BAD_API_KEY" || e.Extensions.ErrorClass == "UNAUTHORIZED" || e.Extensions.ErrorClass == "FORBIDDEN":
			return query.KindRejected, refusedKey(msg)
		case e.Extensions.ErrorClass == "TOO_MANY_REQUESTS":
			return query.KindRateLimited, "rate limited: " + msg
		case e.Extensions.ErrorClass == "TIMEOUT":
			return query.KindTimeout, msg
		case e.Extensions.ErrorClass == "INTERNAL_SERVER_ERROR" || e.Extensions.ErrorClass == "SERVER_ERROR":
			return query.KindUnavailable, msg
		}
	}
	return query.KindBadQuery, "New Relic could not run the query: " + msg
}

func refusedKey(msg string) string {
	return "New Relic refused the API key (" + msg + "); check the user API key (NEW_RELIC_API_KEY or apiKeyFile), its access to the account and the region"
}

func errorsText(errs []graphQLError) string {
	var parts []string
	for _, e := range errs {
		if e.Message != "" {
			parts = append(parts, e.Message)
		}
	}
	return query.Excerpt(strings.Join(parts, "; "))
}

// AccountID reads an account id as the settings and the environment
// give it.
func AccountID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a New Relic account id (a positive whole number)", s)
	}
	return id, nil
}
