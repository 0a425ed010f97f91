// Package cloudwatch is the metrics.Source for Amazon CloudWatch: a
// signal's query is sent as GetMetricData through the AWS SDK for Go v2
// (service/cloudwatch v1.76.0, which speaks the Smithy RPC v2 CBOR
// protocol: POST /service/GraniteServiceVersion20100801/operation/GetMetricData,
// "Smithy-Protocol: rpc-v2-cbor", CBOR bodies, SigV4-signed).
//
// Decisions:
//   - Queries (Language): a metric list in the JSON shape of the
//     CloudWatch console's source view (["AWS/ApplicationELB",
//     "RequestCount", "LoadBalancer", "{{.lb}}", {"stat": "Sum"}], or a
//     list of such entries with ids and metric math entries
//     [{"expression": "e / r"}]); or one metric math or Metrics Insights
//     expression. Each entry is a MetricDataQuery; the Period of every
//     one is the analysis step, which must be 1, 5, 10, 20 or 30 seconds
//     or a multiple of 60 (CloudWatch's periods). A metric's stat
//     defaults to Average; CloudWatch's percentiles (p95, tm99, ...) are
//     stats like any other.
//   - Scope values: in a metric list a value is placed after the list is
//     parsed, into a namespace, metric name, dimension, stat, id or label
//     string, so it is data and never syntax (any text up to 1,024 bytes
//     without control characters). In an expression (metric math,
//     SEARCH, Metrics Insights) a value lands in text CloudWatch parses,
//     and CloudWatch publishes no escape rule for it, so the value must
//     stand inside a quoted string of the template (Metrics Insights:
//     '...' or "..."; metric math: the "..." of an exact SEARCH term, as
//     the words of a single-quoted SEARCH string are search terms and
//     operators) and be made of ASCII letters, digits and '_', '-', '.',
//     '/', ':', '@' only; anything else is refused with one sentence
//     naming the value. There is no Go parser of these languages to prove
//     it with: the rule is the proof (no value can hold a quote or a
//     backslash, so none can end its string).
//   - Window variables: {{.step}} and {{.interval}} are whole seconds
//     (SEARCH's period argument), {{.start}} and {{.end}} unix seconds.
//   - Times: CloudWatch stamps a period's value with the period's start.
//     A gauge is asked for [start, end) and its points kept as stamped. A
//     count (metrics.Count) is evaluated on query.CountGrid like every
//     source's: the periods that start at grid.First−step ... Last−step
//     are asked for, and the period [t−step, t) is reported at t, so both
//     sides are counted over the same windows; a count's stat must be
//     Sum or SampleCount (each period's number of events). Counts with an
//     exposure are two such queries (HTTPCode_Target_5XX_Count over
//     RequestCount, both Sum). Periods without a value count nothing (0)
//     as long as the query returned a series. CloudWatch answers a
//     result for every query, even for a metric it has never seen (or
//     that, like the ALB's HTTPCode_* counts, is only published when not
//     zero): a result without a single point in the window is no series,
//     so a signal of its own has no data, and events with an exposure
//     count none in the exposure's windows.
//   - Histograms: CloudWatch has none (it has percentile stats, p95, which
//     a gauge signal reads); a histogram signal is refused.
//   - Paging: GetMetricData pages by NextToken (ScanBy
//     TimestampAscending); pages are followed up to MaxPages and the
//     points kept up to MaxPoints, beyond which the query fails
//     (KindTooLarge).
//   - Partial data: a result whose StatusCode is still PartialData after
//     the last page, and every message CloudWatch attaches (MaxMetricsExceeded,
//     ...), is a warning the report carries. InternalError and Forbidden
//     results fail the query.
//   - Errors are *query.Error, one sentence with CloudWatch's error code:
//     throttling (Throttling, ThrottlingException, ...) is
//     KindRateLimited, refused credentials (InvalidClientTokenId,
//     SignatureDoesNotMatch, AccessDenied, ExpiredToken, ...) KindRejected,
//     a query CloudWatch cannot run (InvalidParameterValue, ...)
//     KindBadQuery, a 5xx KindUnavailable, an attempt past its deadline
//     KindTimeout. No secret is ever in one: messages are CloudWatch's
//     (which never echo a secret), cut to one line.
//   - Retries are the SDK's standard retryer (throttling codes, 5xx,
//     connection errors and timed-out attempts, with exponential jittered
//     backoff capped at Config.RetryWait), at most Config.Retries further
//     attempts, never for an answer over the cap; each attempt has its own
//     deadline (Config.Timeout, default 10s) inside the caller's.
//   - The HTTP client is metrics/sourcehttp's, given to the SDK as its
//     HTTPClient: bounded connections and an answer cap (default 16 MiB).
//   - Credentials are the server's, never a config's: Config.Credentials
//     (see Credentials: environment, shared files or the instance's
//     role), signed with SigV4 for Config.Region.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// The defaults and bounds of a Source.
const (
	// DefaultTimeout is the per-attempt timeout when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultRetryWait caps the wait between attempts when
	// Config.RetryWait is zero.
	DefaultRetryWait = 20 * time.Second
	// MaxPages is the most GetMetricData pages one query follows.
	MaxPages = 50
	// MaxPoints is the most data points one query keeps (all its series).
	MaxPoints = 1_000_000
)

// Config says how to reach CloudWatch.
type Config struct {
	// Region is the AWS region (us-east-1); required.
	Region string
	// URL replaces the region's endpoint (https://monitoring.REGION.amazonaws.com):
	// a VPC endpoint, or a test server.
	URL string
	// Credentials sign the requests; required (see Credentials).
	Credentials aws.CredentialsProvider
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a throttled, timed-out or failed query is
	// tried again: 0 means the default (2), negative means never.
	Retries int
	// RetryWait caps the wait between attempts; zero means DefaultRetryWait.
	RetryWait time.Duration
	// HTTP holds TLS, the connection bound and the answer cap (see
	// package sourcehttp); credentials there are refused (SigV4 signs).
	HTTP sourcehttp.Config
}

// Source runs GetMetricData queries. It is safe for concurrent use.
type Source struct {
	client  *cw.Client
	timeout time.Duration
}

var _ metrics.LanguageSource = (*Source)(nil)

// New checks cfg and builds a Source. It does not contact CloudWatch.
func New(cfg Config) (*Source, error) {
	if cfg.Region == "" {
		return nil, errors.New("cloudwatch: region is missing (us-east-1, eu-west-1, ...)")
	}
	if !validRegion(cfg.Region) {
		return nil, fmt.Errorf("cloudwatch: region %q is not an AWS region name (lower-case letters, digits and '-')", cfg.Region)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("cloudwatch: no credentials")
	}
	if cfg.HTTP.BearerTokenFile != "" || cfg.HTTP.BasicAuth != nil {
		return nil, errors.New("cloudwatch: requests are signed with AWS credentials; a bearer token or basic auth does not apply")
	}
	httpClient, err := sourcehttp.New(cfg.HTTP)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	attempts := 3
	switch {
	case cfg.Retries < 0:
		attempts = 1
	case cfg.Retries > 0:
		attempts = cfg.Retries + 1
	}
	wait := cfg.RetryWait
	if wait <= 0 {
		wait = DefaultRetryWait
	}
	opts := cw.Options{
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		HTTPClient:  &attemptClient{client: httpClient, timeout: timeout},
		Logger:      logging.Nop{},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = wait
			o.Backoff = retry.NewExponentialJitterBackoff(wait)
			// An answer over the cap would be as large again.
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				var tooLarge *sourcehttp.TooLargeError
				if errors.As(err, &tooLarge) {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, o.Retryables...)
		}),
	}
	if cfg.URL != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(cfg.URL, "/"))
	}
	return &Source{client: cw.New(opts), timeout: timeout}, nil
}

func validRegion(r string) bool {
	for _, c := range r {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return len(r) <= 64
}

// Language returns CloudWatch's template rules.
func (s *Source) Language() metrics.Language { return Language{} }

// attemptClient gives each attempt its own deadline, which lasts until the
// answer's body is closed.
type attemptClient struct {
	client  *http.Client
	timeout time.Duration
}

func (c *attemptClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), c.timeout)
	res, err := c.client.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

// cancelOnClose is an answer's body that ends its attempt's deadline
// when closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Fetch renders q.Expr for scope and window and asks CloudWatch for it.
func (s *Source) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	w.Step = query.Step(w)
	parts, err := query.Parts(q.Expr)
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: q.Expr, Kind: query.KindBadQuery, Err: err}
	}
	qs, err := plan(parts, scope, w)
	if err != nil {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: q.Expr, Kind: query.KindBadQuery, Err: err}
	}
	rendered := qs.String()
	bad := func(err error) (metrics.Result, error) {
		return metrics.Result{}, &query.Error{Signal: q.Signal, Query: rendered, Kind: query.KindBadQuery, Err: err}
	}
	if !w.End.After(w.Start) {
		return bad(fmt.Errorf("empty window: end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339)))
	}
	if q.Kind == metrics.Histogram {
		return bad(errors.New("a histogram signal cannot read from CloudWatch, which has no histograms; judge a percentile statistic (stat p95) as a gauge instead (test: mann-whitney)"))
	}
	if err := checkPeriod(w.Step); err != nil {
		return bad(err)
	}
	start, end := w.Start, w.End
	var (
		grid  query.Grid
		shift time.Duration
	)
	if q.Kind == metrics.Count {
		for _, mq := range qs {
			if mq.ReturnData && mq.Expression == "" && mq.Stat != "Sum" && mq.Stat != "SampleCount" {
				return bad(fmt.Errorf("a count signal reads each period's number of events: its metric's stat must be Sum (or SampleCount), not %s", mq.Stat))
			}
		}
		if grid, err = query.CountGrid(w); err != nil {
			return bad(err)
		}
		start, end = grid.First.Add(-w.Step), grid.Last()
		shift = w.Step
	}
	input := &cw.GetMetricDataInput{
		StartTime:         aws.Time(start),
		EndTime:           aws.Time(end),
		ScanBy:            types.ScanByTimestampAscending,
		MetricDataQueries: dataQueries(qs, w.Step),
	}
	results, warnings, err := s.getAll(ctx, input)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			qe.Signal, qe.Query = q.Signal, rendered
		}
		return metrics.Result{}, err
	}
	series := make([]metrics.Series, 0, len(results))
	for _, r := range results {
		// CloudWatch answers every query, even for a metric it has never
		// seen: a result without a point is no series, as a Prometheus
		// query that matched nothing (a count with an exposure then counts
		// no events in the exposure's windows).
		if s := r.series(q.Signal, shift); len(s.Values) > 0 {
			series = append(series, s)
		}
	}
	series, err = query.Shape(q, rendered, scope, grid, series)
	if err != nil {
		return metrics.Result{}, query.WithShapeHint(err, q.Kind == metrics.Count, "a count's periods must be the step's (CloudWatch answered another period)")
	}
	return metrics.Result{Series: series, Warnings: warnings}, nil
}

// checkPeriod says whether CloudWatch takes step as a period.
func checkPeriod(step time.Duration) error {
	if step%time.Second == 0 {
		sec := int64(step / time.Second)
		if slices.Contains([]int64{1, 5, 10, 20, 30}, sec) || (sec > 0 && sec%60 == 0) {
			return nil
		}
	}
	return fmt.Errorf("step %s is not a CloudWatch period (1s, 5s, 10s, 20s, 30s or a multiple of 60s)", step)
}

func dataQueries(qs queries, step time.Duration) []types.MetricDataQuery {
	period := aws.Int32(int32(step / time.Second))
	out := make([]types.MetricDataQuery, len(qs))
	for i, q := range qs {
		d := types.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(q.ReturnData)}
		if q.Label != "" {
			d.Label = aws.String(q.Label)
		}
		if q.Expression != "" {
			d.Expression = aws.String(q.Expression)
			d.Period = period
		} else {
			dims := make([]types.Dimension, len(q.Dimensions))
			for j, dm := range q.Dimensions {
				dims[j] = types.Dimension{Name: aws.String(dm.Name), Value: aws.String(dm.Value)}
			}
			d.MetricStat = &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(q.Namespace), MetricName: aws.String(q.MetricName), Dimensions: dims},
				Period: period,
				Stat:   aws.String(q.Stat),
			}
		}
		out[i] = d
	}
	return out
}

// result is one returned series gathered over the pages.
type result struct {
	id, label string
	status    types.StatusCode
	times     []time.Time
	values    []float64
}

func (r *result) series(signal string, shift time.Duration) metrics.Series {
	idx := make([]int, len(r.times))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return r.times[idx[a]].Before(r.times[idx[b]]) })
	s := metrics.Series{Signal: signal, Labels: map[string]string{"id": r.id}}
	if r.label != "" {
		s.Labels["label"] = r.label
	}
	for _, i := range idx {
		v := r.values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		s.Times = append(s.Times, r.times[i].UTC().Add(shift))
		s.Values = append(s.Values, v)
	}
	return s
}

// getAll follows the pages of one GetMetricData query.
func (s *Source) getAll(ctx context.Context, input *cw.GetMetricDataInput) ([]*result, []string, error) {
	var (
		order    []*result
		byKey    = map[string]*result{}
		warnings []string
		points   int
	)
	warn := func(msgs []types.MessageData, id string) {
		for _, m := range msgs {
			text := fmt.Sprintf("CloudWatch says %s: %s", aws.ToString(m.Code), query.Excerpt(aws.ToString(m.Value)))
			if id != "" {
				text = fmt.Sprintf("CloudWatch says of %s: %s: %s", id, aws.ToString(m.Code), query.Excerpt(aws.ToString(m.Value)))
			}
			if !slices.Contains(warnings, text) && len(warnings) < 20 {
				warnings = append(warnings, text)
			}
		}
	}
	for page := 1; ; page++ {
		if page > MaxPages {
			return nil, nil, &query.Error{Kind: query.KindTooLarge, Err: fmt.Errorf("CloudWatch's answer runs past %d pages; ask for fewer series or a longer step", MaxPages)}
		}
		out, err := s.client.GetMetricData(ctx, input)
		if err != nil {
			return nil, nil, s.classify(ctx, err)
		}
		warn(out.Messages, "")
		for _, r := range out.MetricDataResults {
			id, label := aws.ToString(r.Id), aws.ToString(r.Label)
			key := id + "\x00" + label
			res, ok := byKey[key]
			if !ok {
				res = &result{id: id, label: label}
				byKey[key] = res
				order = append(order, res)
			}
			if len(r.Timestamps) != len(r.Values) {
				return nil, nil, &query.Error{Kind: query.KindBadResponse, Err: fmt.Errorf("CloudWatch answered %d timestamps and %d values for %s", len(r.Timestamps), len(r.Values), id)}
			}
			points += len(r.Values)
			if points > MaxPoints {
				return nil, nil, &query.Error{Kind: query.KindTooLarge, Err: fmt.Errorf("CloudWatch's answer holds more than %d points; ask for fewer series or a longer step", MaxPoints)}
			}
			res.times = append(res.times, r.Timestamps...)
			res.values = append(res.values, r.Values...)
			res.status = r.StatusCode
			warn(r.Messages, id)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		input.NextToken = out.NextToken
	}
	for _, r := range order {
		switch r.status {
		case types.StatusCodeInternalError:
			return nil, nil, &query.Error{Kind: query.KindUnavailable, Err: fmt.Errorf("CloudWatch answered InternalError for %s", r.id)}
		case types.StatusCodeForbidden:
			return nil, nil, &query.Error{Kind: query.KindRejected, Err: fmt.Errorf("CloudWatch answered Forbidden for %s: the credentials may not read this metric (its account, or a Metrics Insights permission)", r.id)}
		case types.StatusCodePartialData:
			warnings = append(warnings, fmt.Sprintf("partial data: CloudWatch answered PartialData for %s after its last page: some points of the window are missing", r.id))
		}
	}
	return order, warnings, nil
}

// Error codes by what they say.
var (
	throttleCodes = []string{"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
		"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException"}
	authCodes = []string{"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied", "AccessDeniedException",
		"UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "MissingAuthenticationToken",
		"IncompleteSignature", "InvalidSignatureException", "AuthFailure", "OptInRequired", "NotAuthorized"}
)

// classify turns an SDK error into one sentence of a *query.Error.
func (s *Source) classify(ctx context.Context, err error) *query.Error {
	if ctx.Err() != nil {
		return &query.Error{Kind: query.KindCanceled, Err: fmt.Errorf("gave up: %w", ctx.Err())}
	}
	var tooLarge *sourcehttp.TooLargeError
	if errors.As(err, &tooLarge) {
		return &query.Error{Kind: query.KindTooLarge, Err: tooLarge}
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return &query.Error{Kind: query.KindRateLimited, Err: errors.New("CloudWatch failed too often lately: the source's retry quota is spent")}
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code, msg := api.ErrorCode(), firstSentence(api.ErrorMessage())
		switch {
		case slices.Contains(throttleCodes, code):
			return &query.Error{Kind: query.KindRateLimited, Err: fmt.Errorf("CloudWatch throttled the query (%s) on every attempt: %s", code, msg)}
		case slices.Contains(authCodes, code):
			return &query.Error{Kind: query.KindRejected, Err: fmt.Errorf("CloudWatch refused the source's AWS credentials (%s): %s; check the credentials verdict runs with and their cloudwatch:GetMetricData permission", code, msg)}
		case status >= 500 || api.ErrorFault() == smithy.FaultServer:
			return &query.Error{Kind: query.KindUnavailable, Err: fmt.Errorf("CloudWatch failed (%s, HTTP %d): %s", code, status, msg)}
		case status == http.StatusTooManyRequests:
			return &query.Error{Kind: query.KindRateLimited, Err: fmt.Errorf("CloudWatch throttled the query (%s): %s", code, msg)}
		}
		return &query.Error{Kind: query.KindBadQuery, Err: fmt.Errorf("CloudWatch cannot run the query (%s): %s", code, msg)}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &query.Error{Kind: query.KindTimeout, Err: fmt.Errorf("timeout after %s", s.timeout)}
	}
	if status >= 500 {
		return &query.Error{Kind: query.KindUnavailable, Err: fmt.Errorf("CloudWatch failed with HTTP %d", status)}
	}
	var deser *smithy.DeserializationError
	if errors.As(err, &deser) {
		return &query.Error{Kind: query.KindBadResponse, Err: fmt.Errorf("CloudWatch answered something other than a GetMetricData answer: %s", query.Excerpt(deser.Err.Error()))}
	}
	var cred *CredentialsError
	if errors.As(err, &cred) {
		return &query.Error{Kind: query.KindRejected, Err: cred}
	}
	return &query.Error{Kind: query.KindUnavailable, Err: fmt.Errorf("CloudWatch unreachable: %s", query.Excerpt(lastPart(err.Error())))}
}

// firstSentence is the first sentence of a message of CloudWatch's, on one
// line, without its full stop, so that it fits in one of ours.
func firstSentence(s string) string {
	s = query.Excerpt(s)
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// lastPart is the end of an SDK error's chain ("operation error
// CloudWatch: GetMetricData, https response error ...: dial tcp ...").
func lastPart(s string) string {
	if i := strings.LastIndex(s, ", "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}
