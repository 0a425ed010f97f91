// Package influxdb is the metrics.Source for InfluxDB 1.x: InfluxQL
// SELECT statements run through its HTTP API, GET /query?db=...&epoch=ms
// (InfluxDB 1.x, and 2.x's and 3.x's 1.x-compatible endpoint).
//
// Decisions:
//   - Client: plain HTTP through metrics/sourcehttp (one bounded client
//     per Source: timeouts, connection bound, answer cap), not
//     influxdb1-client, which would add a second transport for one GET
//     and one JSON shape. Answers are not chunked (chunked=false is the
//     server's default and Verdict never asks for chunks).
//   - Templates (Language): the template rules every source shares
//     (metrics/query.Parts). A scope value may stand only inside a '...'
//     string (a tag value: WHERE "track" = '{{.track}}') or a "..."
//     quoted identifier, where it is written with InfluxQL's escapes (\\,
//     \', \", \n); anywhere else (in code, a /.../ regex or a comment)
//     the template is refused before anything is queried. The proof that
//     a value never changes the query's meaning is InfluxDB's own parser
//     (github.com/influxdata/influxql): every rendering is parsed twice,
//     with the values and with markers in their place, and the two trees
//     must be the same node for node, with each string and identifier of
//     the marker tree reading as the value tree's once the values are put
//     back (see render). The query must be one SELECT statement without
//     INTO.
//   - Window variables: {{.step}} and {{.interval}} are InfluxQL
//     durations ("60s", "1500ms"), {{.start}} and {{.end}} epoch seconds
//     ("1700000000s"). The time range is the source's: Fetch adds
//     time >= START AND time < END to the statement's WHERE (through the
//     parse tree, so the template's own condition is kept whole, in
//     parentheses) and sends the tree's text.
//   - Counts (metrics.Count) are evaluated on query.CountGrid like every
//     source's: the query groups by time({{.step}}) (Fetch refuses a
//     count without it, or with an offset), whose windows InfluxDB aligns
//     to the epoch's multiples of the step, labelling [t−step, t) with
//     t−step; Fetch asks for [first−step, last) of the grid and reports
//     each window at its end t, so the grid's windows tile the analysis
//     window and both sides are counted over the same windows. A
//     cumulative counter is counted per window with
//     non_negative_difference(last("x")) ... GROUP BY time({{.step}}):
//     InfluxDB reads the window before the range for the first
//     difference itself, so the grid's first window has its count. A window
//     without points is a real zero: fill(0) writes it, and with the
//     default fill(null) or with fill(none) the grid's missing steps are
//     filled with 0 (query.FillCounts), as long as the query returned a
//     series at all; no series is no data. fill(previous), fill(linear)
//     and a fill with a number other than 0 would invent events and are
//     refused.
//   - Gauges keep InfluxDB's times (a point's own time, or a time
//     window's start when the query groups by time) over [start, end) of
//     the window; a window without points is missing (null is left out)
//     unless the query fills it: fill(0) on a ratio writes 0 where its
//     numerator has no points, as PromQL's "or vector(0)" does, and in
//     every window without points too, so it is the template's choice.
//   - Histograms: InfluxDB has no histogram type, but Telegraf and
//     InfluxDB's Prometheus scrapers keep a classic histogram's buckets as
//     series with an le tag; a histogram query groups by time({{.step}})
//     and le (sum(...) per bucket and step), read like a count and turned
//     into one histogram by query.Shape.
//   - Labels: each answer series' tags, its measurement as _measurement
//     and, when the query selects several columns, the column as _field.
//   - Partial data: InfluxDB flags an answer it cut (max-row-limit) with
//     "partial": the result carries a warning saying so; the server's
//     messages (level and text) become warnings too.
//   - Errors are *query.Error. InfluxDB reports a query it cannot run
//     with 400 or in the result's "error" (database not found, a parse
//     error: KindBadQuery); a query over the server's limits
//     (max-select-point, max-select-series, max-select-buckets) is
//     KindTooLarge; the server's query timeout is KindTimeout and
//     max-concurrent-queries KindRateLimited, both retried; 401 and 403
//     are KindRejected (credentials), 429 KindRateLimited, 502/503
//     KindUnavailable and 504 KindTimeout, retried (query.Backoff) after
//     at least the answer's Retry-After. Each attempt has its own deadline
//     (Config.Timeout, default 10s).
package influxdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/influxdata/influxql"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// DefaultTimeout is the per-attempt timeout when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says how to reach InfluxDB.
type Config struct {
	// URL is InfluxDB's base URL, e.g. http://127.0.0.1:8086 (a path
	// prefix is kept).
	URL string
	// Database is the database queries read (the db parameter).
	Database string
	// RetentionPolicy is the retention policy queries read (rp); empty
	// means the database's default.
	RetentionPolicy string
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

// Source runs InfluxQL queries. It is safe for concurrent use.
type Source struct {
	base      *url.URL
	database  string
	rp        string
	attempter sourcehttp.Attempter
	backoff   query.Backoff
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It does not contact InfluxDB.
func New(cfg Config) (*Source, error) {
	base, err := sourcehttp.BaseURL("influxdb", cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Database == "" {
		return nil, errors.New("influxdb: a database is required")
	}
	attempter, err := sourcehttp.NewAttempter("influxdb", cfg.HTTP, cfg.Timeout, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return &Source{base: base, database: cfg.Database, rp: cfg.RetentionPolicy, attempter: attempter,
		backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait)}, nil
}

// Language returns InfluxQL's template rules.
func (s *Source) Language() metrics.Language { return Language{} }

// Fetch renders q.Expr for scope and window and asks InfluxDB for it.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	rendered, w, err := query.Prepare(q, scope, w, Language{}.Render)
	if err != nil {
		return metrics.Result{}, err
	}
	bad := func(err error) (metrics.Result, error) {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery, Err: err}
	}
	stmt, err := parseSelect(rendered)
	if err != nil {
		return bad(err)
	}
	from, until := w.Start, w.End
	var (
		grid  query.Grid
		shift time.Duration
	)
	if q.Kind != metrics.Gauge {
		if grid, err = query.CountGrid(w); err != nil {
			return bad(err)
		}
		if err := checkCountGrouping(stmt, w.Step); err != nil {
			return bad(err)
		}
		from, until = grid.First.Add(-w.Step), grid.Last()
		shift = w.Step
	}
	sent, err := withTimeRange(stmt, from, until)
	if err != nil {
		return bad(err)
	}

	params := url.Values{"db": {s.database}, "q": {sent}, "epoch": {"ms"}}
	if s.rp != "" {
		params.Set("rp", s.rp)
	}
	u := *s.base
	u.Path += "/query"
	u.RawQuery = params.Encode()

	var answer *response
	err = s.backoff.Do(ctx, func(ctx context.Context) error {
		a, err := s.get(ctx, u.String())
		if err != nil {
			err.Signal, err.Query = q.Signal, sent
			return err
		}
		answer = a
		return nil
	})
	if err != nil {
		return metrics.Result{}, err
	}
	series, warnings, err := convert(q.Signal, answer, shift)
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: sent, Kind: query.KindBadResponse, Err: err}
	}
	series, err = query.Shape(q, sent, scope, grid, series)
	if err != nil {
		return metrics.Result{}, query.WithShapeHint(err, q.Kind != metrics.Gauge, "a count's query must GROUP BY time({{.step}}) without an offset")
	}
	return metrics.Result{Series: series, Warnings: warnings}, nil
}

// checkCountGrouping requires a count's or histogram's query to group by
// time(step) without an offset, and refuses a fill that invents events.
func checkCountGrouping(stmt *influxql.SelectStatement, step time.Duration) error {
	grouped := false
	for _, d := range stmt.Dimensions {
		call, ok := d.Expr.(*influxql.Call)
		if !ok || call.Name != "time" {
			continue
		}
		if len(call.Args) == 0 {
			break
		}
		interval, ok := call.Args[0].(*influxql.DurationLiteral)
		if !ok || interval.Val != step {
			return fmt.Errorf("a count groups by time(%s), not time(%s): write GROUP BY time({{.step}})", durationLiteral(step), call.Args[0])
		}
		if len(call.Args) > 1 {
			if offset, ok := call.Args[1].(*influxql.DurationLiteral); !ok || offset.Val != 0 {
				return errors.New("a count's GROUP BY time({{.step}}) takes no offset: its windows must be the clock's multiples of the step")
			}
		}
		grouped = true
	}
	if !grouped {
		return errors.New("a count must sum each step itself: GROUP BY time({{.step}}) (with sum(), count() or a difference per window)")
	}
	switch {
	case stmt.Fill == influxql.PreviousFill || stmt.Fill == influxql.LinearFill:
		return fmt.Errorf("fill(%s) invents events in windows without points; use fill(0)", fillName(stmt))
	case stmt.Fill == influxql.NumberFill && !isZero(stmt.FillValue):
		return fmt.Errorf("fill(%v) invents events in windows without points; use fill(0)", stmt.FillValue)
	}
	return nil
}

func isZero(v any) bool {
	switch v := v.(type) {
	case int64:
		return v == 0
	case float64:
		return v == 0
	case int:
		return v == 0
	}
	return false
}

func fillName(stmt *influxql.SelectStatement) string {
	switch stmt.Fill {
	case influxql.PreviousFill:
		return "previous"
	case influxql.LinearFill:
		return "linear"
	case influxql.NoFill:
		return "none"
	case influxql.NullFill:
		return "null"
	}
	return fmt.Sprint(stmt.FillValue)
}

// withTimeRange returns the statement's text with time >= from AND
// time < until added to its WHERE, the template's condition kept whole.
// The text is parsed again and must print the same (a fixed point of
// parsing and printing), so that what is sent is what was checked.
func withTimeRange(stmt *influxql.SelectStatement, from, until time.Time) (string, error) {
	timeRef := func() influxql.Expr { return &influxql.VarRef{Val: "time"} }
	var cond influxql.Expr = &influxql.BinaryExpr{Op: influxql.AND,
		LHS: &influxql.BinaryExpr{Op: influxql.GTE, LHS: timeRef(), RHS: &influxql.TimeLiteral{Val: from.UTC()}},
		RHS: &influxql.BinaryExpr{Op: influxql.LT, LHS: timeRef(), RHS: &influxql.TimeLiteral{Val: until.UTC()}},
	}
	if stmt.Condition != nil {
		cond = &influxql.BinaryExpr{Op: influxql.AND, LHS: &influxql.ParenExpr{Expr: stmt.Condition}, RHS: cond}
	}
	withRange := *stmt
	withRange.Condition = cond
	text := withRange.String()
	again, err := parseSelect(text)
	if err != nil {
		return "", fmt.Errorf("the query with its time range does not parse: %w", err)
	}
	if again.String() != text {
		return "", fmt.Errorf("the query with its time range, %s, reads differently once parsed again", text)
	}
	return text, nil
}

// response is InfluxDB's /query answer.
type response struct {
	Results []result `json:"results"`
	Error   string   `json:"error"`
}

type result struct {
	Series   []answerSeries `json:"series"`
	Messages []struct {
		Level string `json:"level"`
		Text  string `json:"text"`
	} `json:"messages"`
	Partial bool   `json:"partial"`
	Error   string `json:"error"`
}

type answerSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
	Partial bool              `json:"partial"`
}

// convert turns the answer into series, one per answer series and value
// column, their times moved by shift, leaving out null values.
func convert(signal string, a *response, shift time.Duration) ([]metrics.Series, []string, error) {
	var (
		out      []metrics.Series
		warnings []string
		partial  bool
	)
	for _, r := range a.Results {
		partial = partial || r.Partial
		for _, m := range r.Messages {
			warnings = append(warnings, "InfluxDB "+m.Level+": "+query.Excerpt(m.Text))
		}
		for _, as := range r.Series {
			partial = partial || as.Partial
			timeCol := -1
			for i, c := range as.Columns {
				if c == "time" {
					timeCol = i
				}
			}
			if timeCol < 0 {
				return nil, nil, fmt.Errorf("series %q has no time column (columns %s)", as.Name, strings.Join(as.Columns, ", "))
			}
			for col, name := range as.Columns {
				if col == timeCol {
					continue
				}
				s := metrics.Series{Signal: signal, Labels: map[string]string{"_measurement": as.Name}}
				for k, v := range as.Tags {
					s.Labels[k] = v
				}
				if len(as.Columns) > 2 {
					s.Labels["_field"] = name
				}
				for _, row := range as.Values {
					if len(row) != len(as.Columns) {
						return nil, nil, fmt.Errorf("series %q has a row of %d values for %d columns", as.Name, len(row), len(as.Columns))
					}
					if row[col] == nil {
						continue
					}
					ms, ok := row[timeCol].(json.Number)
					if !ok {
						return nil, nil, fmt.Errorf("series %q has a time %v that is not epoch milliseconds", as.Name, row[timeCol])
					}
					t, err := ms.Int64()
					if err != nil {
						return nil, nil, fmt.Errorf("series %q has a time %s that is not epoch milliseconds", as.Name, ms)
					}
					num, ok := row[col].(json.Number)
					if !ok {
						return nil, nil, fmt.Errorf("column %q of series %q holds %T values, not numbers", name, as.Name, row[col])
					}
					v, err := num.Float64()
					if err != nil {
						return nil, nil, fmt.Errorf("column %q of series %q holds %s, not a number", name, as.Name, num)
					}
					s.Times = append(s.Times, time.UnixMilli(t).UTC().Add(shift))
					s.Values = append(s.Values, v)
				}
				out = append(out, s)
			}
		}
	}
	if partial {
		warnings = append(warnings, "partial data: InfluxDB cut its answer short (its max-row-limit); the series lack their last points")
	}
	return out, warnings, nil
}

// get runs one attempt. The returned error lacks Signal and Query.
func (s *Source) get(ctx context.Context, u string) (*response, *query.Error) {
	var answer response
	_, qe := s.attempter.Do(ctx, sourcehttp.Exchange{
		URL: u,
		Classify: func(status int, _ http.Header, body []byte) (query.Kind, string) {
			msg := errorText(body)
			return classifyStatus(status, msg), query.Excerpt(msg)
		},
		Decode: func(body io.Reader) error {
			dec := json.NewDecoder(body)
			dec.UseNumber()
			return dec.Decode(&answer)
		},
		Expected: "/query JSON",
	})
	if qe != nil {
		return nil, qe
	}
	msg := answer.Error
	for _, r := range answer.Results {
		if msg == "" && r.Error != "" {
			msg = r.Error
		}
	}
	if msg != "" {
		return nil, sourcehttp.Fail(ctx, classifyError(msg), errors.New(query.Excerpt(msg)))
	}
	if len(answer.Results) != 1 {
		return nil, sourcehttp.Fail(ctx, query.KindBadResponse, fmt.Errorf("influxdb answered %d results for one statement", len(answer.Results)))
	}
	return &answer, nil
}

// errorText is the "error" of an InfluxDB JSON error answer, else the body.
func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(body))
}

// classifyStatus reads an error answer's status.
func classifyStatus(status int, msg string) query.Kind {
	switch {
	case status == http.StatusBadRequest:
		return classifyError(msg)
	case status == http.StatusTooManyRequests:
		return query.KindRateLimited
	case status == http.StatusGatewayTimeout:
		return query.KindTimeout
	case status >= 500:
		if k := classifyError(msg); k != query.KindBadQuery {
			return k
		}
		return query.KindUnavailable
	}
	return query.KindRejected
}

// classifyError reads the text of an error InfluxDB reports for a query.
func classifyError(msg string) query.Kind {
	switch {
	case strings.Contains(msg, "max-select-point"), strings.Contains(msg, "max-select-series"), strings.Contains(msg, "max-select-buckets"):
		return query.KindTooLarge
	case strings.Contains(msg, "max-concurrent-queries"):
		return query.KindRateLimited
	case strings.Contains(msg, "timeout"):
		return query.KindTimeout
	}
	return query.KindBadQuery
}
