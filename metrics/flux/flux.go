package flux

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

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// DefaultTimeout is the per-attempt timeout when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says how to reach InfluxDB's Flux API.
type Config struct {
	// URL is InfluxDB's base URL, e.g. http://127.0.0.1:8086 (a path
	// prefix is kept).
	URL string
	// Org is the organization queries run in (the org parameter);
	// InfluxDB 2.x needs it, 1.8 ignores it.
	Org string
	// TokenFile names a file holding the API token, read at every
	// request; Token is used when TokenFile is empty. The token is sent
	// as "Authorization: Token TOKEN" and appears in no error.
	TokenFile string
	Token     string
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a timed-out, rate-limited or unavailable
	// query is tried again: 0 means the default (2), negative means never.
	Retries int
	// RetryWait is the wait before the first retry, doubling after each;
	// zero means 200ms.
	RetryWait time.Duration
	// HTTP holds TLS, the connection bound and the answer cap (see
	// package sourcehttp); its bearer token and basic auth are not used.
	HTTP sourcehttp.Config
}

// Source runs Flux queries. It is safe for concurrent use.
type Source struct {
	endpoint string
	token    sourcehttp.Secret
	attempt  sourcehttp.Attempter
	backoff  query.Backoff
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It does not contact InfluxDB.
func New(cfg Config) (*Source, error) {
	base, err := sourcehttp.BaseURL("flux", cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.BearerTokenFile != "" || cfg.HTTP.BasicAuth != nil {
		return nil, errors.New("flux: InfluxDB takes its token as \"Authorization: Token\": use tokenFile, not bearerTokenFile or basicAuth")
	}
	token := sourcehttp.Secret{File: cfg.TokenFile, Value: cfg.Token}
	if _, err := token.Get(); err != nil {
		return nil, &sourcehttp.SettingError{Setting: "tokenFile", Err: fmt.Errorf("cannot read the token file: %w", err)}
	}
	base.Path += "/api/v2/query"
	if cfg.Org != "" {
		base.RawQuery = url.Values{"org": {cfg.Org}}.Encode()
	}
	attempt, err := sourcehttp.NewAttempter("influxdb", cfg.HTTP, cfg.Timeout, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return &Source{endpoint: base.String(), token: token, attempt: attempt, backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait)}, nil
}

// Language returns Flux's template rules.
func (s *Source) Language() metrics.Language { return Language{} }

// request is the body of POST /api/v2/query.
type request struct {
	Query   string  `json:"query"`
	Type    string  `json:"type"`
	Dialect dialect `json:"dialect"`
}

type dialect struct {
	Header      bool     `json:"header"`
	Delimiter   string   `json:"delimiter"`
	Annotations []string `json:"annotations"`
}

// Fetch renders q.Expr for scope and window and asks InfluxDB for it.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	w.Step = query.Step(w)
	bad := func(text string, err error) (metrics.Result, error) {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: text, Kind: query.KindBadQuery, Err: err}
	}
	if !w.End.After(w.Start) {
		return bad(q.Expr, fmt.Errorf("empty window: end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339)))
	}
	var grid query.Grid
	if q.Kind != metrics.Gauge {
		g, err := query.CountGrid(w)
		if err != nil {
			return bad(q.Expr, err)
		}
		if !strings.Contains(q.Expr, "aggregateWindow(") || !strings.Contains(q.Expr, "{{.step}}") {
			return bad(q.Expr, errors.New("a count must sum each step itself: |> aggregateWindow(every: {{.step}}, fn: sum, createEmpty: true)"))
		}
		// The windows [t−step, t) of the grid's times t, reported at
		// their _stop, tile [first−step, last).
		grid, w.Start, w.End = g, g.First.Add(-g.Step), g.Last()
	}
	rendered, err := Language{}.Render(q.Expr, scope, w)
	if err != nil {
		return bad(q.Expr, err)
	}
	body, err := json.Marshal(request{Query: rendered, Type: "flux",
		Dialect: dialect{Header: true, Delimiter: ",", Annotations: []string{"datatype", "group", "default"}}})
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindInternal, Err: err}
	}
	var tables []table
	err = s.backoff.Do(ctx, func(ctx context.Context) error {
		t, err := s.post(ctx, body)
		if err != nil {
			err.Signal, err.Query = q.Signal, rendered
			return err
		}
		tables = t
		return nil
	})
	if err != nil {
		return metrics.Result{}, err
	}
	series, err := toSeries(q.Signal, tables)
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadResponse, Err: err}
	}
	series, err = query.Shape(q, rendered, scope, grid, series)
	if err != nil {
		return metrics.Result{}, query.WithShapeHint(err, q.Kind != metrics.Gauge, "a count's query must end in aggregateWindow(every: {{.step}}, fn: sum, createEmpty: true), its times the windows' _stop")
	}
	return metrics.Result{Series: series}, nil
}

// post runs one attempt. The returned error lacks Signal and Query.
func (s *Source) post(ctx context.Context, body []byte) ([]table, *query.Error) {
	token, err := s.token.Get()
	if err != nil {
		return nil, sourcehttp.Fail(ctx, query.KindInternal, fmt.Errorf("tokenFile: cannot read the token file: %w", err))
	}
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/csv"}}
	if token != "" {
		header.Set("Authorization", "Token "+token)
	}
	var (
		tables []table
		failed error // an error table in the answer: the query's fault
	)
	_, qe := s.attempt.Do(ctx, sourcehttp.Exchange{
		Method: http.MethodPost, URL: s.endpoint, Header: header, Body: body,
		Classify: func(status int, _ http.Header, b []byte) (query.Kind, string) {
			msg := query.Excerpt(errorText(b))
			if token != "" {
				msg = strings.ReplaceAll(msg, token, "[token]")
			}
			if status == http.StatusUnauthorized || status == http.StatusForbidden {
				msg = "InfluxDB refused the token (" + msg + "); check the source's tokenFile or INFLUX_TOKEN"
			}
			return classifyStatus(status), msg
		},
		Decode: func(r io.Reader) error {
			var err error
			tables, err = readCSV(r)
			var qerr *queryError
			if errors.As(err, &qerr) {
				failed, err = err, nil
			}
			return err
		},
		Expected: "annotated CSV",
	})
	if qe != nil {
		return nil, qe
	}
	if failed != nil {
		return nil, sourcehttp.Fail(ctx, query.KindBadQuery, failed)
	}
	return tables, nil
}

// errorText is the "message" of an InfluxDB JSON error answer, else the
// body.
func errorText(body []byte) string {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			return e.Message
		}
		if e.Error != "" {
			return e.Error
		}
	}
	return strings.TrimSpace(string(body))
}

// classifyStatus reads an error answer's status.
func classifyStatus(status int) query.Kind {
	switch {
	case status == http.StatusBadRequest:
		return query.KindBadQuery
	case status == http.StatusTooManyRequests:
		return query.KindRateLimited
	case status == http.StatusGatewayTimeout:
		return query.KindTimeout
	case status >= 500:
		return query.KindUnavailable
	}
	return query.KindRejected
}
