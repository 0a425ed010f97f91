package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// DefaultLatencyOffset is VictoriaMetrics' default -search.latencyOffset.
const DefaultLatencyOffset = 30 * time.Second

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// victoriaMetrics queries VictoriaMetrics' /api/v1/query_range directly:
// client_golang can neither send nocache=1 nor read isPartial.
type victoriaMetrics struct {
	endpoint      string
	client        *http.Client
	latencyOffset time.Duration
}

func newVictoriaMetrics(base *url.URL, client *http.Client, latencyOffset time.Duration) *victoriaMetrics {
	u := *base
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/query_range"
	switch {
	case latencyOffset == 0:
		latencyOffset = DefaultLatencyOffset
	case latencyOffset < 0:
		latencyOffset = 0
	}
	return &victoriaMetrics{endpoint: u.String(), client: client, latencyOffset: latencyOffset}
}

// cutLatest keeps the range (and a count's grid) before now minus the
// latency offset: VictoriaMetrics answers the points after it with a copy
// of the last point before it, which for a count would repeat a step's
// count. cut reports whether anything was left out.
func (vm *victoriaMetrics) cutLatest(rng v1.Range, grid query.Grid, kind metrics.Kind, now time.Time) (v1.Range, query.Grid, bool) {
	if vm.latencyOffset <= 0 {
		return rng, grid, false
	}
	cutoff := now.Add(-vm.latencyOffset)
	if !rng.End.After(cutoff) {
		return rng, grid, false
	}
	if kind == metrics.Count || kind == metrics.Histogram {
		n := 0
		if !cutoff.Before(grid.First) {
			n = int(cutoff.Sub(grid.First)/grid.Step) + 1
		}
		grid.N = n
		rng.End = grid.First.Add(time.Duration(n-1) * grid.Step)
		return rng, grid, true
	}
	rng.End = cutoff
	return rng, grid, true
}

func (vm *victoriaMetrics) cutWarning(w metrics.Window, grid query.Grid, kind metrics.Kind) string {
	what := fmt.Sprintf("the window's last part, after %s,", w.End.Add(-vm.latencyOffset).UTC().Format(time.RFC3339))
	if kind == metrics.Count || kind == metrics.Histogram {
		if grid.N == 0 {
			what = "every step of the window"
		} else {
			what = fmt.Sprintf("the steps after %s", grid.Last().UTC().Format(time.RFC3339))
		}
	}
	return fmt.Sprintf("partial data: %s left out: VictoriaMetrics does not answer the last %s before now (its -search.latencyOffset, the source's latencyOffset)", what, query.Duration(vm.latencyOffset))
}

// vmResponse is VictoriaMetrics' answer, success or error.
type vmResponse struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	IsPartial bool     `json:"isPartial"`
	Warnings  []string `json:"warnings"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// queryRange runs one attempt. The returned error lacks Signal and Query.
func (vm *victoriaMetrics) queryRange(ctx context.Context, timeout time.Duration, rendered string, rng v1.Range) (model.Value, []string, *query.Error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(kind query.Kind, err error) (model.Value, []string, *query.Error) {
		if ctx.Err() != nil {
			return nil, nil, &query.Error{Kind: query.KindCanceled, Err: fmt.Errorf("gave up: %w", ctx.Err())}
		}
		if actx.Err() != nil && kind != query.KindBadQuery && kind != query.KindTooLarge {
			return nil, nil, &query.Error{Kind: query.KindTimeout, Err: fmt.Errorf("timeout after %s", timeout)}
		}
		return nil, nil, &query.Error{Kind: kind, Err: err}
	}
	form := url.Values{
		"query":   {rendered},
		"start":   {formatTime(rng.Start)},
		"end":     {formatTime(rng.End)},
		"step":    {strconv.FormatFloat(rng.Step.Seconds(), 'f', -1, 64)},
		"timeout": {query.Duration(timeout)},
		// Without it VictoriaMetrics moves start and end to multiples of
		// the step (for its cache) when a query has 50 points or more,
		// answering points outside the window.
		"nocache": {"1"},
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, vm.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(query.KindInternal, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := vm.client.Do(req)
	var tooLarge *sourcehttp.TooLargeError
	if errors.As(err, &tooLarge) {
		return fail(query.KindTooLarge, tooLarge)
	}
	if err != nil {
		return fail(query.KindUnavailable, fmt.Errorf("victoriametrics unreachable: %s", query.Excerpt(err.Error())))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		if errors.As(err, &tooLarge) {
			return fail(query.KindTooLarge, tooLarge)
		}
		kind, msg := vmError(res.StatusCode, body)
		_, _, qe := fail(kind, errors.New(msg))
		qe.RetryAfter = query.ParseRetryAfter(res.Header.Get("Retry-After"), time.Now())
		return nil, nil, qe
	}
	var r vmResponse
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		if errors.As(err, &tooLarge) {
			return fail(query.KindTooLarge, tooLarge)
		}
		return fail(query.KindBadResponse, fmt.Errorf("victoriametrics answered something other than query_range JSON: %s", query.Excerpt(err.Error())))
	}
	if r.Status != "success" {
		return fail(query.KindBadResponse, fmt.Errorf("victoriametrics answered status %q with HTTP 200: %s", r.Status, query.Excerpt(r.Error)))
	}
	if r.Data.ResultType != "matrix" {
		return fail(query.KindBadResponse, fmt.Errorf("range query answered a %q, want a matrix", r.Data.ResultType))
	}
	var m model.Matrix
	if err := json.Unmarshal(r.Data.Result, &m); err != nil {
		return fail(query.KindBadResponse, fmt.Errorf("victoriametrics answered a matrix that does not parse: %s", query.Excerpt(err.Error())))
	}
	warnings := append([]string(nil), r.Warnings...)
	if r.IsPartial {
		warnings = append(warnings, "partial data: VictoriaMetrics marked the answer isPartial (some vmstorage nodes did not answer), so series or points may be missing")
	}
	return m, warnings, nil
}

// vmError reads an error answer. VictoriaMetrics writes the HTTP status
// as the errorType ("422", "503"), where Prometheus writes a word
// ("bad_data", "execution"), so the status decides the kind.
func vmError(status int, body []byte) (query.Kind, string) {
	msg := fmt.Sprintf("HTTP %d", status)
	var r vmResponse
	if err := json.Unmarshal(body, &r); err == nil && r.Status == "error" && r.Error != "" {
		msg += ": " + query.Excerpt(r.Error)
	} else {
		msg += ": " + query.Excerpt(string(body))
	}
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return query.KindBadQuery, msg
	case status == http.StatusTooManyRequests:
		return query.KindRateLimited, msg
	case status == http.StatusGatewayTimeout:
		return query.KindTimeout, msg
	case status >= 500:
		return query.KindUnavailable, msg
	}
	return query.KindRejected, msg
}

// formatTime writes t in unix seconds with up to millisecond decimals.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}
