package query

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter is the longest wait a source's Retry-After may ask for
// that a query still honours: an analysis waits for its answer, and a
// source that asks for more is treated as down for this query.
const MaxRetryAfter = 30 * time.Second

// Backoff is a retry policy for queries: up to Retries further attempts
// after the first, waiting Initial, 2×Initial, 4×Initial, ... (capped at
// Max, each wait drawn uniformly from its upper half to spread retries of
// concurrent queries) between attempts. Only failures whose Kind is
// Retryable (timeout, unavailable, rate limited) are retried; a bad query is
// never sent twice.
//
// A failure that carries a RetryAfter (the source's Retry-After header on
// a 429 or 503) waits at least that long before the next attempt; one that
// asks for more than MaxRetryAfter, or for a wait that would end after
// ctx's deadline, is not retried: the query gives up at once and says why.
type Backoff struct {
	Retries int
	Initial time.Duration
	Max     time.Duration

	// sleep waits d or until ctx ends (tests replace it); nil is a timer.
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultBackoff is what sources use when their config leaves retries unset:
// 2 retries, waiting about 200ms then 400ms.
func DefaultBackoff() Backoff {
	return Backoff{Retries: 2, Initial: 200 * time.Millisecond, Max: 5 * time.Second}
}

// Do calls attempt until it succeeds, fails with an error that is not a
// retryable *Error, the retries are used up, or ctx ends. The last error is
// returned; when more than one attempt was made its message says how many.
func (b Backoff) Do(ctx context.Context, attempt func(ctx context.Context) error) error {
	wait := b.Initial
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		var qe *Error
		if !errors.As(err, &qe) || !qe.Kind.Retryable() || n > b.Retries || ctx.Err() != nil {
			if n > 1 && qe != nil {
				qe.Err = fmt.Errorf("%w (gave up after %d attempts)", qe.Err, n)
			}
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
		if qe.RetryAfter > 0 {
			if qe.RetryAfter > MaxRetryAfter {
				qe.Err = fmt.Errorf("%w (the source asked to wait %s before asking again, more than the %s a query waits)", qe.Err, Duration(qe.RetryAfter), Duration(MaxRetryAfter))
				return err
			}
			d = max(d, qe.RetryAfter)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			qe.Err = fmt.Errorf("%w (gave up after %d attempts: the next would start after the deadline)", qe.Err, n)
			return err
		}
		if err := b.wait(ctx, d); err != nil {
			qe.Err = fmt.Errorf("%w (gave up after %d attempts: %v)", qe.Err, n, err)
			return err
		}
		wait *= 2
		if b.Max > 0 && wait > b.Max {
			wait = b.Max
		}
	}
}

func (b Backoff) wait(ctx context.Context, d time.Duration) error {
	if b.sleep != nil {
		return b.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ParseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date (then the wait from now). Anything else, or a time in the
// past, is no wait (0).
func ParseRetryAfter(header string, now time.Time) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(header, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(header); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// BackoffFor maps the sources' config convention to a Backoff: retries 0
// means the default number, negative means none; wait 0 means the default
// first wait.
func BackoffFor(retries int, wait time.Duration) Backoff {
	b := DefaultBackoff()
	switch {
	case retries < 0:
		b.Retries = 0
	case retries > 0:
		b.Retries = retries
	}
	if wait > 0 {
		b.Initial = wait
	}
	return b
}
