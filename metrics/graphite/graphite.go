// Package graphite is the metrics.Source for Graphite: target expressions
// (sumSeries(shop.checkout.{{.track}}.*.requests)) run through
// graphite-web's render API, GET /render?target=...&format=json.
//
// Decisions:
//   - Templates (Language): the template rules every source shares
//     (metrics/query.Parts), and Graphite's own placing of scope values.
//     graphite-web unquotes nothing (a string argument is the text between
//     its quotes, backslashes included) and its functions read their
//     string arguments further (tag expressions, regular expressions,
//     intervals), so there is no escape to rely on. A scope value is
//     placed as it is and must be made of ASCII letters, digits, '_' and
//     '-' only, which mean nothing in a metric path (no '.', glob, {a,b}
//     choice, escape or $ parameter), in a string, in a tag expression or
//     in a regular expression outside a character class; any other value
//     is refused with an error naming it. It may stand inside a quoted
//     string, or inside a metric path after the path's first element
//     (shop.{{.track}}.requests: a dotted path can never read as a number,
//     a boolean, a function or a keyword); anywhere else Validate refuses
//     the template. The rendered target is parsed whole by the grammar of
//     graphite-web (render/grammar.py), so a template that graphite-web
//     would half-read (it ignores whatever follows the longest expression
//     it can parse: "sumSeries(a.b" reads the metric "sumSeries") is an
//     error here, not a silent "no data".
//   - Window variables: {{.step}} and {{.interval}} are Graphite intervals
//     in whole seconds ("60s"; graphite-web refuses "1m"), {{.start}} and
//     {{.end}} unix seconds.
//   - Times: graphite-web answers a metric at its storage's resolution,
//     one slot per resolution step stamped with the slot's start (carbon
//     files a point received at 12:00:07 under 12:00:00 at a 10s
//     resolution). A gauge is asked for the slots that start in
//     [start, end) (from=start−1s, until=end−1s, since graphite-web
//     answers the slots in (from, until]); slots without a value (null)
//     are left out, never invented. The window's step does not resample a
//     gauge: write the function that does (summarize, smartSummarize) in
//     the target if you want one.
//   - Counts (metrics.Count) are evaluated on query.CountGrid like every
//     source's: the target sums each step itself,
//     summarize(X, "{{.step}}", "sum"), whose buckets graphite-web aligns
//     to multiples of the step; the bucket [t−step, t) is reported at t,
//     so the grid's windows tile the analysis window and both sides are
//     counted over the same windows. The step must be a whole number of
//     seconds and a multiple of the storage's resolution (else a point
//     lands between steps: a KindBadResponse error that says so). Steps
//     without a value count nothing (0) as long as the target returned a
//     series; no series is no data (query.Shape).
//   - Histograms: Graphite has none; a histogram signal is refused.
//   - Partial data: graphite-web does not flag an answer as partial. When
//     no series a gauge's target returned has a value for the window's
//     last slots (carbon has not written them yet, or the service stopped
//     sending), the result carries a warning naming the time of the last
//     value, so the report says the data stops short. (A count's empty
//     steps are steps without events, so they raise no warning.) A graphite-web cluster should run
//     with STORE_FAIL_ON_ERROR = True, so that a store that fails makes the
//     answer an error rather than leaving that store's series out.
//   - Errors are *query.Error. graphite-web answers a target it cannot
//     evaluate with 400 ("Invalid parameters (...)": KindBadQuery) or with
//     a 500 page holding a Python traceback: its last line (ValueError:
//     Invalid offset unit 'm') goes into the error, with no paths of the
//     server's, and a ValueError, TypeError, KeyError or IndexError is
//     KindBadQuery, any other exception KindUnavailable. 429 is
//     KindRateLimited, 502/503 KindUnavailable and 504 KindTimeout, all
//     retried (query.Backoff) after at least the answer's Retry-After;
//     other 4xx are KindRejected. Each attempt has its own deadline
//     (Config.Timeout, default 10s).
//   - The HTTP client is metrics/sourcehttp's: one per Source, bounded
//     connections and an answer cap (default 16 MiB; an answer over it is
//     a KindTooLarge error). noCache=true asks graphite-web not to answer
//     from its render cache, which may hold an answer from before the
//     window's last points arrived.
package graphite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
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

// Config says how to reach graphite-web.
type Config struct {
	// URL is graphite-web's base URL, e.g. http://127.0.0.1:8080 (a path
	// prefix is kept).
	URL string
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a timed-out, rate-limited or unavailable
	// query is tried again: 0 means the default (2), negative means never.
	Retries int
	// RetryWait is the wait before the first retry, doubling after each;
	// zero means 200ms.
	RetryWait time.Duration
	// HTTP holds authentication, TLS, the connection bound and the answer
	// cap (see package sourcehttp).
	HTTP sourcehttp.Config
}

// Source runs Graphite render queries. It is safe for concurrent use.
type Source struct {
	base      *url.URL
	attempter sourcehttp.Attempter
	backoff   query.Backoff
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It does not contact graphite-web.
func New(cfg Config) (*Source, error) {
	base, err := sourcehttp.BaseURL("graphite", cfg.URL)
	if err != nil {
		return nil, err
	}
	attempter, err := sourcehttp.NewAttempter("graphite", cfg.HTTP, cfg.Timeout, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return &Source{base: base, attempter: attempter, backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait)}, nil
}

// Language returns Graphite's template rules.
func (s *Source) Language() metrics.Language { return Language{} }

// Fetch renders q.Expr for scope and window and asks graphite-web for it.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	rendered, w, err := query.Prepare(q, scope, w, Language{}.Render)
	if err != nil {
		return metrics.Result{}, err
	}
	bad := func(err error) (metrics.Result, error) {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery, Err: err}
	}
	if q.Kind == metrics.Histogram {
		return bad(errors.New("a histogram signal cannot read from Graphite, which has no histograms; judge a latency percentile as a gauge instead (test: mann-whitney)"))
	}
	// from and until select the slots that start in [from+1s, until].
	from, until := query.CeilUnix(w.Start)-1, query.CeilUnix(w.End)-1
	var (
		grid  query.Grid
		shift time.Duration
	)
	if q.Kind == metrics.Count {
		if w.Step%time.Second != 0 {
			return bad(fmt.Errorf("step %s is not a whole number of seconds (Graphite's resolution)", w.Step))
		}
		if grid, err = query.CountGrid(w); err != nil {
			return bad(err)
		}
		from, until = grid.First.Add(-w.Step).Unix()-1, grid.Last().Unix()-1
		shift = w.Step
	}
	params := url.Values{
		"target":  {rendered},
		"format":  {"json"},
		"from":    {strconv.FormatInt(from, 10)},
		"until":   {strconv.FormatInt(until, 10)},
		"noCache": {"true"},
	}
	u := *s.base
	u.Path += "/render"
	u.RawQuery = params.Encode()

	var answer []renderSeries
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
	series, last, lastSlot := convert(q.Signal, answer, shift)
	var warnings []string
	if q.Kind == metrics.Gauge && len(series) > 0 && last.Before(lastSlot) {
		what := "no returned series has a value in the window"
		if !last.IsZero() {
			what = "no returned series has a value after " + last.Add(-shift).UTC().Format(time.RFC3339)
		}
		warnings = append(warnings, fmt.Sprintf("partial data: %s, up to %s: Graphite has not received the rest (yet), or the service stopped sending", what, lastSlot.Add(-shift).UTC().Format(time.RFC3339)))
	}
	series, err = query.Shape(q, rendered, scope, grid, series)
	if err != nil {
		return metrics.Result{}, query.WithShapeHint(err, q.Kind == metrics.Count, "a count's target must sum each step itself, summarize(X, \"{{.step}}\", \"sum\"), at a step that is a multiple of the storage's resolution")
	}
	return metrics.Result{Series: series, Warnings: warnings}, nil
}

// renderSeries is one series of graphite-web's JSON answer.
type renderSeries struct {
	Target     string         `json:"target"`
	Tags       map[string]any `json:"tags"`
	Datapoints [][2]*float64  `json:"datapoints"`
}

// convert turns the answer into series, their times moved by shift,
// leaving out null points. It also returns the latest time with a value
// in any series and the latest slot any series has.
func convert(signal string, answer []renderSeries, shift time.Duration) (out []metrics.Series, last, lastSlot time.Time) {
	out = make([]metrics.Series, 0, len(answer))
	for _, rs := range answer {
		s := metrics.Series{Signal: signal, Labels: map[string]string{"target": rs.Target}}
		for k, v := range rs.Tags {
			if k != "target" {
				s.Labels[k] = fmt.Sprint(v)
			}
		}
		for _, dp := range rs.Datapoints {
			if dp[1] == nil {
				continue
			}
			t := time.Unix(int64(*dp[1]), 0).UTC().Add(shift)
			if t.After(lastSlot) {
				lastSlot = t
			}
			if dp[0] == nil {
				continue
			}
			v := *dp[0]
			if math.IsNaN(v) {
				continue
			}
			s.Times = append(s.Times, t)
			s.Values = append(s.Values, v)
			if t.After(last) {
				last = t
			}
		}
		out = append(out, s)
	}
	return out, last, lastSlot
}

// get runs one attempt. The returned error lacks Signal and Query.
func (s *Source) get(ctx context.Context, u string) ([]renderSeries, *query.Error) {
	var answer []renderSeries
	_, err := s.attempter.Do(ctx, sourcehttp.Exchange{
		URL: u,
		Classify: func(status int, _ http.Header, body []byte) (query.Kind, string) {
			return classify(status, string(body))
		},
		Decode:   func(body io.Reader) error { return json.NewDecoder(body).Decode(&answer) },
		Expected: "render JSON",
	})
	if err != nil {
		return nil, err
	}
	return answer, nil
}

// exceptionLine finds a Python exception line: "ValueError: ...".
var exceptionLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*(?:Error|Exception))(?::|$)`)

// queryExceptions are the exceptions graphite-web raises for a target it
// cannot evaluate (a wrong argument), as opposed to its storage failing.
var queryExceptions = []string{"ValueError", "TypeError", "KeyError", "IndexError", "InputParameterError", "ParseException", "pyparsing.exceptions.ParseException"}

// classify reads an error answer: its kind and one line saying what
// happened.
func classify(status int, body string) (query.Kind, string) {
	switch {
	case status == http.StatusBadRequest:
		return query.KindBadQuery, query.Excerpt(textOf(body))
	case status == http.StatusTooManyRequests:
		return query.KindRateLimited, query.Excerpt(textOf(body))
	case status == http.StatusGatewayTimeout:
		return query.KindTimeout, query.Excerpt(textOf(body))
	case status == http.StatusInternalServerError:
		if exc, line := pythonException(body); exc != "" {
			if slices.Contains(queryExceptions, exc) {
				return query.KindBadQuery, "graphite-web could not evaluate the target: " + query.Excerpt(line)
			}
			return query.KindUnavailable, "graphite-web failed: " + query.Excerpt(line)
		}
		return query.KindUnavailable, query.Excerpt(textOf(body))
	case status >= 500:
		return query.KindUnavailable, query.Excerpt(textOf(body))
	}
	return query.KindRejected, query.Excerpt(textOf(body))
}

// pythonException finds the last exception line of the traceback in
// graphite-web's 500 page.
func pythonException(body string) (exc, line string) {
	lines := strings.Split(textOf(body), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if m := exceptionLine.FindStringSubmatch(l); m != nil {
			return m[1], l
		}
	}
	return "", ""
}

var tags = regexp.MustCompile(`<[^>]*>`)

// textOf is an answer's text without HTML tags and entities, blank lines
// dropped.
func textOf(body string) string {
	text := html.UnescapeString(tags.ReplaceAllString(body, ""))
	var kept []string
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
