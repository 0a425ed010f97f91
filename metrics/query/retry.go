package query

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff is a retry policy for queries: up to Retries further attempts
// after the first, waiting Initial, 2×Initial, 4×Initial, ... (capped at
// Max, each wait drawn uniformly from its upper half to spread retries of
// concurrent queries) between attempts. Only failures whose Kind is
// Retryable (timeout, unavailable, rate limited) are retried; a bad query is
// never sent twice.
type Backoff struct {
	Retries int
	Initial time.Duration
	Max     time.Duration
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
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			qe.Err = fmt.Errorf("%w (gave up after %d attempts: %v)", qe.Err, n, ctx.Err())
			return err
		case <-t.C:
		}
		wait *= 2
		if b.Max > 0 && wait > b.Max {
			wait = b.Max
		}
	}
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
