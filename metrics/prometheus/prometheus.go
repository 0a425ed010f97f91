// Package prometheus is the metrics.Source for Prometheus (and servers
// that speak its HTTP API: Thanos, Mimir, and VictoriaMetrics with its
// own flavor, below), built on client_golang's api/prometheus/v1 range
// queries.
//
// Decisions:
//   - A range query is sent as client_golang's v1 API sends it (POST, the
//     same form), and a successful answer whose result is a matrix of
//     numbers is decoded straight into series (matrix.go), without
//     client_golang's two encoding/json passes and model types, which cost
//     a live analysis more CPU than its judging. Everything else — error
//     statuses, other result types, native histograms, JSON that decoder
//     does not take — goes, as it was read, through client_golang's v1
//     API, so the errors below and their wording are client_golang's
//     (FuzzDecodeMatrix checks that what the decoder takes, client_golang
//     reads the same). An answer is read into memory sized for the range's
//     points, under the answer cap.
//   - Every query is a range query over the window at the window's step. A
//     zero step means 60s (one point per minute, close to typical scrape
//     intervals, so points are not mostly repeats), widened when needed to
//     stay under Prometheus' 11,000 points per series.
//   - Each attempt has its own deadline (Config.Timeout, default 10s), which
//     is also sent as the query's timeout parameter so Prometheus stops
//     evaluating when the client stops waiting. Timeouts, network errors
//     and HTTP 5xx/429 are retried with exponential backoff (query.Backoff);
//     bad_data, execution errors and other 4xx are never retried. A 429
//     or 503 waits at least its Retry-After (read by a RoundTripper under
//     client_golang, which keeps no headers) before the next attempt.
//   - Errors are *query.Error: the signal, the rendered query, a Kind that
//     tells "source down" (KindTimeout, KindUnavailable) from "bad query"
//     (KindBadQuery) and what happened ("timeout after 10s", "HTTP 503: ...",
//     "bad_data: parse error ...").
//   - Values are kept as Prometheus wrote them: "NaN" is NaN, "+Inf"/"-Inf"
//     are ±Inf (the judge decides what to do with them).
//   - Several series for one scope follow query.Combine: an error naming the
//     labels that differ, or point-wise aggregation when Query.Aggregate is set.
//   - Warnings and infos from Prometheus are carried into Result.Warnings
//     (infos prefixed "info: ").
//   - The HTTP client is metrics/sourcehttp's: one per Source, shared by
//     every query, with bounded connections and an answer cap
//     (Config.HTTP.MaxResponseBytes, default 16 MiB) applied under
//     client_golang's reading, so an oversized answer is never buffered
//     whole. An answer over the cap is a KindTooLarge error naming the cap.
//   - What Prometheus says in an error (a body, a message) is cut to one
//     short line (query.Excerpt) before it goes into the error, and so
//     into a report.
//   - Counts and histograms (metrics.Query.Kind) are evaluated on
//     query.CountGrid, the step's multiples inside the window, and shaped by
//     query.Shape: a count's missing steps are 0 when the query returned a
//     series, no series is no data. increase(x[{{.step}}]) on that grid
//     counts each step's window once: Prometheus 2.x's range [t−step, t]
//     shares its edge sample with the previous window, which is what makes
//     consecutive increases add up (a count_over_time on Prometheus would
//     count a sample on the edge twice). increase() extrapolates to the
//     window's edges, so counts need not be whole.
//   - A histogram query returns classic _bucket series by le (sum by (le)
//     (increase(x_bucket{...}[{{.step}}]))) or native histograms
//     (sum(increase(x{...}[{{.step}}])), Prometheus with
//     --enable-feature=native-histograms); both become one series with
//     Bounds (query.ClassicHistogram, query.NativeHistogram). A query that
//     mixes native histograms and numbers is refused. A gauge or count
//     query that returns native histograms is refused with the function
//     that reduces them (histogram_quantile, histogram_count).
//
// VictoriaMetrics (Config.Flavor FlavorVictoriaMetrics; victoriametrics.go)
// speaks the same API with differences found against a real server
// (Debian's victoria-metrics 1.79), so its queries go through a client of
// this package's own rather than client_golang's:
//   - nocache=1 on every query: otherwise a range query of 50 points or
//     more has its start and end rounded to multiples of the step (for
//     VictoriaMetrics' cache), which answers a point before the window.
//   - Errors carry the HTTP status as errorType ("422"), which
//     client_golang would leave as an unknown type: the status decides the
//     kind (400 and 422 bad query; 429 rate limited, 503 and other 5xx
//     unavailable, 504 timeout, all retried after at least the answer's
//     Retry-After; other 4xx rejected).
//   - An answer with "isPartial": true (a cluster whose vmstorage nodes
//     did not all answer) is kept, with a "partial data" warning.
//   - The last -search.latencyOffset (Config.LatencyOffset, default 30s)
//     before now is answered with copies of the point before it; the
//     range is cut there (a count's grid loses those steps) with a
//     "partial data" warning, rather than counting a step twice.
//   - Templates are rendered by query.MetricsQL: PromQL's rules, and in a
//     backtick string (where MetricsQL lets a backslash escape the closing
//     backtick and drops carriage returns) such values are refused.
//   - What needs no handling but reads differently: rate() and increase()
//     start from the last sample before their range and do not
//     extrapolate (increase(x[{{.step}}]) gives whole counts on the count
//     grid), count_over_time's range is left-open, a series that stops is
//     answered for about one sample interval (Prometheus: five minutes),
//     no data is an empty matrix, and up to 30,000 points per series are
//     allowed (query.Step keeps under 11,000 for every server).
package prometheus

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
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// DefaultTimeout is the per-attempt timeout used when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says how to reach a Prometheus.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:9090 (a path
	// prefix such as /prometheus is kept).
	URL string
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a timed-out or unavailable query is tried
	// again: 0 means the default (2), negative means never.
	Retries int
	// RetryWait is the wait before the first retry, doubling after each;
	// zero means 200ms.
	RetryWait time.Duration
	// HTTP holds authentication, TLS, the connection bound and the answer
	// cap (see package sourcehttp).
	HTTP sourcehttp.Config
	// Flavor is the server's kind: "" (Prometheus, Thanos, Mimir) or
	// FlavorVictoriaMetrics.
	Flavor string
	// LatencyOffset is, for VictoriaMetrics, the server's
	// -search.latencyOffset: how long before now it answers with copies
	// of earlier points. Zero means DefaultLatencyOffset; negative means
	// none.
	LatencyOffset time.Duration
}

// The flavors of server that speak Prometheus' query API.
const (
	// FlavorPrometheus is Prometheus and the servers that answer its API
	// as it does (Thanos, Mimir).
	FlavorPrometheus = "prometheus"
	// FlavorVictoriaMetrics is VictoriaMetrics (single-node or vmselect).
	FlavorVictoriaMetrics = "victoriametrics"
)

// Source runs range queries against one Prometheus. It is safe for
// concurrent use.
type Source struct {
	// client sends the queries; answers it cannot decode itself go to
	// client_golang's v1 API over it (queryRange).
	client api.Client
	// http is client's HTTP client, which queryRange reads answers with.
	http *http.Client
	// chunks holds read buffers (*[]byte) for readBody.
	chunks  sync.Pool
	timeout time.Duration
	backoff query.Backoff
	// vm is set for FlavorVictoriaMetrics, which is queried without
	// client_golang.
	vm *victoriaMetrics
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It does not contact the server.
func New(cfg Config) (*Source, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus url %q: want http(s)://host[:port][/path]", cfg.URL)
	}
	hc, err := sourcehttp.New(cfg.HTTP)
	if err != nil {
		return nil, err
	}
	switch cfg.Flavor {
	case "", FlavorPrometheus:
	case FlavorVictoriaMetrics:
		s := &Source{timeout: cfg.Timeout, backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait), vm: newVictoriaMetrics(u, hc, cfg.LatencyOffset)}
		if s.timeout <= 0 {
			s.timeout = DefaultTimeout
		}
		return s, nil
	default:
		return nil, fmt.Errorf("prometheus flavor %q: want %s or %s", cfg.Flavor, FlavorPrometheus, FlavorVictoriaMetrics)
	}
	hc.Transport = retryAfterRoundTripper{next: hc.Transport}
	client, err := api.NewClient(api.Config{Address: cfg.URL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	s := &Source{client: client, http: hc, timeout: cfg.Timeout, backoff: query.BackoffFor(cfg.Retries, cfg.RetryWait)}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// Language is the template language of the server's queries: PromQL's, or
// MetricsQL's for VictoriaMetrics.
func (s *Source) Language() metrics.Language {
	if s.vm != nil {
		return query.MetricsQL{}
	}
	return query.PromQL{}
}

// Fetch renders q.Expr for scope and window and runs it as a range query.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	rendered, w, err := query.Prepare(q, scope, w, func(_ string, scope metrics.Scope, w metrics.Window) (string, error) {
		return metrics.RenderQuery(s.Language(), q, scope, w)
	})
	if err != nil {
		return metrics.Result{}, err
	}
	rng := v1.Range{Start: w.Start, End: w.End, Step: w.Step}
	var grid query.Grid
	if q.Kind == metrics.Count || q.Kind == metrics.Histogram {
		if grid, err = query.CountGrid(w); err != nil {
			return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery, Err: err}
		}
		rng.Start, rng.End = grid.First, grid.Last()
	}
	var (
		value    model.Value
		decoded  []metrics.Series
		warnings []string
	)
	if s.vm != nil {
		var cut bool
		if rng, grid, cut = s.vm.cutLatest(rng, grid, q.Kind, time.Now()); cut {
			warnings = append(warnings, s.vm.cutWarning(w, grid, q.Kind))
		}
		if rng.End.Before(rng.Start) {
			return metrics.Result{Warnings: warnings}, nil
		}
	}
	err = s.backoff.Do(ctx, func(ctx context.Context) error {
		if s.vm != nil {
			v, warns, qe := s.vm.queryRange(ctx, s.timeout, rendered, rng)
			if qe != nil {
				qe.Signal, qe.Query = q.Signal, rendered
				return qe
			}
			value = v
			warnings = append(warnings, warns...)
			return nil
		}
		actx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		var retryAfter time.Duration
		actx = context.WithValue(actx, retryAfterKey{}, &retryAfter)
		a, err := s.queryRange(actx, rendered, rng)
		if err != nil {
			return &query.Error{Signal: q.Signal, Query: rendered, Kind: s.kind(ctx, err), Err: s.describe(ctx, err), RetryAfter: retryAfter}
		}
		value, decoded = a.value, a.series
		warnings = append([]string(nil), a.warnings...)
		for _, info := range a.infos {
			warnings = append(warnings, "info: "+info)
		}
		return nil
	})
	if err != nil {
		return metrics.Result{}, err
	}
	series, natives := decoded, []query.NativeSeries(nil)
	if decoded == nil {
		if series, natives, err = convert(q, rendered, value); err != nil {
			return metrics.Result{}, err
		}
	}
	for i := range series {
		series[i].Signal = q.Signal
	}
	if natives != nil {
		series, err = query.NativeHistogram(q, rendered, scope, grid, natives)
	} else {
		series, err = query.Shape(q, rendered, scope, grid, series)
	}
	if err != nil {
		return metrics.Result{}, err
	}
	return metrics.Result{Series: series, Warnings: warnings}, nil
}

// rangeAnswer is one answer to a range query: series decoded by
// decodeMatrix, or the value client_golang decoded.
type rangeAnswer struct {
	series          []metrics.Series
	value           model.Value
	warnings, infos []string
}

// queryRange runs one range query as client_golang's v1 API would (the same
// request, the same reading of the body under ctx), then decodes a
// successful matrix answer straight into series (decodeMatrix). Any other
// answer — an error status, another result type, native histograms, JSON
// decodeMatrix does not take — is handed as it was read to client_golang's
// v1 API (replayClient), so its errors, their wording and its fallback to
// GET stay client_golang's.
func (s *Source) queryRange(ctx context.Context, rendered string, rng v1.Range) (rangeAnswer, error) {
	u := s.client.URL("/api/v1/query_range", nil)
	args := u.Query()
	args.Set("timeout", s.timeout.String())
	args.Set("query", rendered)
	args.Set("start", formatTimeLikeClient(rng.Start))
	args.Set("end", formatTimeLikeClient(rng.End))
	args.Set("step", strconv.FormatFloat(rng.Step.Seconds(), 'f', -1, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(args.Encode()))
	if err != nil {
		return rangeAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header["Idempotency-Key"] = nil // as client_golang: retried on a network error
	resp, err := s.http.Do(req)
	var body string
	if err == nil {
		body, err = s.readBody(ctx, resp, rng)
		if err == nil && resp.StatusCode == http.StatusOK {
			if m, ok := decodeMatrix(body); ok {
				return rangeAnswer{series: m.series, warnings: m.warnings, infos: m.infos}, nil
			}
		}
	}
	replay := &replayClient{Client: s.client, resp: resp, body: []byte(body), err: err}
	v, warnings, infos, err := v1.NewAPI(replay).QueryRange(ctx, rendered, rng, v1.WithTimeout(s.timeout))
	return rangeAnswer{value: v, warnings: warnings, infos: infos}, err
}

// readBody reads an answer whole and closes it, as client_golang's client
// does (ctx's error when ctx ended first), but into a string sized for the
// range's points from the start, where client_golang's buffer starts at
// 512 bytes and copies the answer at each doubling, and decodeMatrix would
// then copy it once more.
func (s *Source) readBody(ctx context.Context, resp *http.Response, rng v1.Range) (string, error) {
	defer resp.Body.Close()
	points := 1
	if rng.Step > 0 {
		points += int(rng.End.Sub(rng.Start) / rng.Step)
	}
	var b strings.Builder
	b.Grow(min(256+32*points, 1<<20))
	chunk, _ := s.chunks.Get().(*[]byte)
	if chunk == nil {
		chunk = new([]byte)
		*chunk = make([]byte, 16<<10)
	}
	defer s.chunks.Put(chunk)
	for {
		n, err := resp.Body.Read(*chunk)
		b.Write((*chunk)[:n])
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return b.String(), err
		}
	}
}

// replayClient answers its first request with a response already read,
// and sends any later one (client_golang's GET after a 403, 405 or 501)
// through the client.
type replayClient struct {
	api.Client
	resp     *http.Response
	body     []byte
	err      error
	replayed bool
}

func (c *replayClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	if !c.replayed {
		c.replayed = true
		return c.resp, c.body, c.err
	}
	return c.Client.Do(ctx, req)
}

// formatTimeLikeClient writes t as client_golang's v1 API does.
func formatTimeLikeClient(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

// kind classifies an error from QueryRange. ctx is the caller's context
// (not the attempt's).
func (s *Source) kind(ctx context.Context, err error) query.Kind {
	if ctx.Err() != nil {
		return query.KindCanceled
	}
	var tooLarge *sourcehttp.TooLargeError
	if errors.As(err, &tooLarge) {
		return query.KindTooLarge
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrBadData, v1.ErrExec:
			return query.KindBadQuery
		case v1.ErrTimeout:
			return query.KindTimeout
		case v1.ErrServer:
			if body, ok := apiBody(apiErr.Detail); ok && body.ErrorType == string(v1.ErrTimeout) {
				return query.KindTimeout
			}
			return query.KindUnavailable
		case v1.ErrCanceled:
			return query.KindUnavailable
		case v1.ErrClient:
			if statusCode(apiErr.Msg) == 429 {
				return query.KindRateLimited
			}
			return query.KindRejected
		case v1.ErrBadResponse:
			return query.KindBadResponse
		}
		return query.KindInternal
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return query.KindTimeout
	}
	// Connection refused, reset, DNS: the server is not there.
	return query.KindUnavailable
}

// describe says what happened in words an operator can act on.
func (s *Source) describe(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("gave up: %w", ctx.Err())
	}
	var tooLarge *sourcehttp.TooLargeError
	if errors.As(err, &tooLarge) {
		return tooLarge
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrServer, v1.ErrClient:
			msg := fmt.Sprintf("HTTP %d", statusCode(apiErr.Msg))
			if body, ok := apiBody(apiErr.Detail); ok {
				msg += ": " + body.ErrorType + ": " + query.Excerpt(body.Error)
			} else if strings.TrimSpace(apiErr.Detail) != "" {
				msg += ": " + query.Excerpt(apiErr.Detail)
			}
			return errors.New(msg)
		case v1.ErrTimeout:
			return fmt.Errorf("prometheus timed out evaluating the query (timeout %s): %s", s.timeout, query.Excerpt(apiErr.Msg))
		}
		return fmt.Errorf("%s: %s", apiErr.Type, query.Excerpt(apiErr.Msg))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timeout after %s: %w", s.timeout, err)
	}
	return fmt.Errorf("prometheus unreachable: %s", query.Excerpt(err.Error()))
}

// apiResponse is Prometheus' error body, which client_golang leaves
// unparsed for statuses other than 400 and 422 (a query timeout is a 503).
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
}

func apiBody(detail string) (apiResponse, bool) {
	var r apiResponse
	if err := json.Unmarshal([]byte(detail), &r); err != nil || r.Status != "error" || r.ErrorType == "" {
		return apiResponse{}, false
	}
	return r, true
}

// statusCode reads the status from client_golang's "server error: 503".
func statusCode(msg string) int {
	var code int
	if i := strings.LastIndexByte(msg, ' '); i >= 0 {
		_, _ = fmt.Sscanf(msg[i+1:], "%d", &code)
	}
	return code
}

// convert turns a range-query answer into series: numbers, or native
// histograms when the query is a histogram's and returned them (natives is
// then not nil).
func convert(q metrics.Query, rendered string, v model.Value) (series []metrics.Series, natives []query.NativeSeries, err error) {
	if v == nil {
		return nil, nil, nil
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, nil, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadResponse,
			Err: fmt.Errorf("range query answered a %s, want a matrix", v.Type())}
	}
	hasHistograms := slices.ContainsFunc(m, func(ss *model.SampleStream) bool { return len(ss.Histograms) > 0 })
	if hasHistograms {
		if q.Kind != metrics.Histogram {
			what := "reduce them to numbers, e.g. with histogram_quantile()"
			if q.Kind == metrics.Count {
				what = "count their observations with histogram_count(), e.g. histogram_count(sum(increase(x[{{.step}}])))"
			}
			return nil, nil, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery,
				Err: errors.New("query returned native histograms; " + what)}
		}
		if slices.ContainsFunc(m, func(ss *model.SampleStream) bool { return len(ss.Values) > 0 }) {
			return nil, nil, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery,
				Err: errors.New("query returned both native histograms and numbers (classic buckets?) for the window; query one kind, e.g. the native histogram alone")}
		}
		return nil, nativeSeries(m), nil
	}
	out := make([]metrics.Series, 0, len(m))
	for _, ss := range m {
		s := metrics.Series{
			Signal: q.Signal,
			Labels: labelsOf(ss.Metric),
			Times:  make([]time.Time, len(ss.Values)),
			Values: make([]float64, len(ss.Values)),
		}
		for i, p := range ss.Values {
			s.Times[i] = p.Timestamp.Time().UTC()
			s.Values[i] = float64(p.Value)
			if math.IsNaN(s.Values[i]) {
				s.Values[i] = math.NaN() // one canonical NaN
			}
		}
		out = append(out, s)
	}
	return out, nil, nil
}

func labelsOf(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// nativeSeries copies client_golang's histogram samples.
func nativeSeries(m model.Matrix) []query.NativeSeries {
	out := make([]query.NativeSeries, 0, len(m))
	for _, ss := range m {
		ns := query.NativeSeries{Labels: labelsOf(ss.Metric), Samples: make([]query.NativeSample, 0, len(ss.Histograms))}
		for _, p := range ss.Histograms {
			if p.Histogram == nil {
				continue
			}
			smp := query.NativeSample{Time: p.Timestamp.Time().UTC(), Count: float64(p.Histogram.Count),
				Buckets: make([]query.NativeBucket, 0, len(p.Histogram.Buckets))}
			for _, b := range p.Histogram.Buckets {
				if b == nil {
					continue
				}
				smp.Buckets = append(smp.Buckets, query.NativeBucket{Boundaries: int(b.Boundaries),
					Lower: float64(b.Lower), Upper: float64(b.Upper), Count: float64(b.Count)})
			}
			ns.Samples = append(ns.Samples, smp)
		}
		out = append(out, ns)
	}
	return out
}

// retryAfterKey carries, in a request's context, where to note the
// answer's Retry-After: client_golang's errors do not keep the headers.
type retryAfterKey struct{}

// retryAfterRoundTripper notes a 429 or 503 answer's Retry-After for the
// query that asked (see retryAfterKey).
type retryAfterRoundTripper struct{ next http.RoundTripper }

func (rt retryAfterRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := req.Context().Value(retryAfterKey{}).(*time.Duration); ok {
			*d = query.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}
