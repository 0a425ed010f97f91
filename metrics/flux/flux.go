package flux

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// DefaultTimeout is the per-attempt timeout when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// maxTokenFile bounds the token file.
const maxTokenFile = 64 << 10

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
	endpoint  string
	tokenFile string
	token     string
	client    *http.Client
	timeout   time.Duration
	backoff   query.Backoff
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It does not contact InfluxDB.
func New(cfg Config) (*Source, error) {
	base, err := url.Parse(cfg.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("flux url %q: want http(s)://host[:port][/path]", cfg.URL)
	}
	if cfg.HTTP.BearerTokenFile != "" || cfg.HTTP.BasicAuth != nil {
		return nil, errors.New("flux: InfluxDB takes its token as \"Authorization: Token\": use tokenFile, not bearerTokenFile or basicAuth")
	}
	if cfg.TokenFile != "" {
		if _, err := readToken(cfg.TokenFile); err != nil {
			return nil, &sourcehttp.SettingError{Setting: "tokenFile", Err: err}
		}
	}
	base.Path = strings.TrimRight(base.Path, "/") + "/api/v2/query"
	if cfg.Org != "" {
		base.RawQuery = url.Values{"org": {cfg.Org}}.Encode()
	}
	client, err := sourcehttp.New(cfg.HTTP)
	if err != nil {
		return nil, err
	}
	s := &Source{endpoint: base.String(), tokenFile: cfg.TokenFile, token: cfg.Token, client: client,
		timeout: cfg.Timeout, backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait)}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// readToken reads a token file, bounded, without its trailing newline.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read the token file: %w", err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("the token file %s is larger than %d bytes", path, maxTokenFile)
	}
	return strings.TrimSpace(string(b)), nil
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
		var qe *query.Error
		if errors.As(err, &qe) && qe.Kind == query.KindBadResponse && q.Kind != metrics.Gauge {
			qe.Err = fmt.Errorf("%w; a count's query must end in aggregateWindow(every: {{.step}}, fn: sum, createEmpty: true), its times the windows' _stop", qe.Err)
		}
		return metrics.Result{}, err
	}
	return metrics.Result{Series: series}, nil
}

// post runs one attempt. The returned error lacks Signal and Query.
func (s *Source) post(ctx context.Context, body []byte) ([]table, *query.Error) {
	actx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	fail := func(kind query.Kind, err error) ([]table, *query.Error) {
		if ctx.Err() != nil {
			return nil, &query.Error{Kind: query.KindCanceled, Err: fmt.Errorf("gave up: %w", ctx.Err())}
		}
		return nil, &query.Error{Kind: kind, Err: err}
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return fail(query.KindInternal, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/csv")
	token := s.token
	if s.tokenFile != "" {
		if token, err = readToken(s.tokenFile); err != nil {
			return fail(query.KindInternal, fmt.Errorf("tokenFile: %w", err))
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	res, err := s.client.Do(req)
	var tooLarge *sourcehttp.TooLargeError
	if errors.As(err, &tooLarge) {
		return fail(query.KindTooLarge, tooLarge)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail(query.KindTimeout, fmt.Errorf("timeout after %s", s.timeout))
		}
		return fail(query.KindUnavailable, fmt.Errorf("influxdb unreachable: %s", query.Excerpt(err.Error())))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		msg := errorText(b)
		if token != "" {
			msg = strings.ReplaceAll(msg, token, "[token]")
		}
		kind := classifyStatus(res.StatusCode)
		if actx.Err() != nil && kind != query.KindBadQuery {
			return fail(query.KindTimeout, fmt.Errorf("timeout after %s", s.timeout))
		}
		err := fmt.Errorf("HTTP %d: %s", res.StatusCode, query.Excerpt(msg))
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			err = fmt.Errorf("InfluxDB refused the token (HTTP %d: %s); check the source's tokenFile or INFLUX_TOKEN", res.StatusCode, query.Excerpt(msg))
		}
		_, qe := fail(kind, err)
		qe.RetryAfter = query.ParseRetryAfter(res.Header.Get("Retry-After"), time.Now())
		return nil, qe
	}
	tables, err := readCSV(res.Body)
	if err != nil {
		if errors.As(err, &tooLarge) {
			return fail(query.KindTooLarge, tooLarge)
		}
		if errors.Is(err, context.DeadlineExceeded) || actx.Err() != nil {
			return fail(query.KindTimeout, fmt.Errorf("timeout after %s", s.timeout))
		}
		var qerr *queryError
		if errors.As(err, &qerr) {
			return fail(query.KindBadQuery, err)
		}
		return fail(query.KindBadResponse, fmt.Errorf("influxdb answered something other than annotated CSV: %s", query.Excerpt(err.Error())))
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
