package query

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind classifies why a query failed, so that callers can tell a source
// that is down (no verdict) from a query that is wrong (fix the config).
type Kind int

const (
	// KindInternal is a failure of Verdict itself or one that fits no other kind.
	KindInternal Kind = iota
	// KindTimeout: the source did not answer in time (client deadline or the
	// source's own query timeout). Retried.
	KindTimeout
	// KindUnavailable: the source could not be reached or answered 5xx. Retried.
	KindUnavailable
	// KindRateLimited: the source answered 429 Too Many Requests. Retried.
	KindRateLimited
	// KindBadQuery: the query or its template is invalid, or the source
	// refused to execute it (HTTP 400/422, bad_data, execution error). Not retried.
	KindBadQuery
	// KindAmbiguous: the query returned several series for one scope and the
	// signal sets no aggregate. A config problem, like KindBadQuery.
	KindAmbiguous
	// KindRejected: the source refused the request for another reason
	// (HTTP 401, 403, 404, ...): usually a wrong URL or credentials. Not retried.
	KindRejected
	// KindBadResponse: the source answered something that is not a valid
	// response (wrong JSON, wrong result type). Not retried.
	KindBadResponse
	// KindCanceled: the caller's context was canceled or its deadline passed.
	KindCanceled
	// KindTooLarge: the answer was larger than the source's cap
	// (maxResponseBytes). Asking again gets the same answer, so it is not
	// retried; the query asks for too much (too many series or points).
	KindTooLarge
)

var kindNames = [...]string{
	KindInternal:    "internal",
	KindTimeout:     "timeout",
	KindUnavailable: "unavailable",
	KindRateLimited: "rate limited",
	KindBadQuery:    "bad query",
	KindAmbiguous:   "ambiguous",
	KindRejected:    "rejected",
	KindBadResponse: "bad response",
	KindCanceled:    "canceled",
	KindTooLarge:    "too large",
}

// String names the kind in lower case ("timeout", "bad query").
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Retryable reports whether a query that failed this way may succeed if
// tried again: timeouts, unavailability and rate limiting.
func (k Kind) Retryable() bool {
	return k == KindTimeout || k == KindUnavailable || k == KindRateLimited
}

// SourceDown reports whether the failure says nothing about the query but
// that the source could not answer (the analysis has no verdict, rather
// than a broken config).
func (k Kind) SourceDown() bool {
	return k.Retryable() || k == KindCanceled
}

// Error is the error every metric source returns for a failed query. Use
// errors.As to get it and Kind to decide what to do.
type Error struct {
	// Signal is the signal whose query failed.
	Signal string
	// Query is the rendered query, or the template when rendering failed.
	Query string
	// Kind classifies the failure.
	Kind Kind
	// Err says what happened ("timeout after 10s", "HTTP 503: ...").
	Err error
	// RetryAfter is how long the source asked to be left alone before
	// the query is sent again (its Retry-After header); 0 when it did not
	// say. Backoff honours it.
	RetryAfter time.Duration
}

// Error reads "signal NAME: WHAT HAPPENED (query: Q)".
func (e *Error) Error() string {
	return fmt.Sprintf("signal %s: %v (query: %s)", e.Signal, e.Err, e.Query)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// maxExcerpt bounds the text a source contributes to an error message.
const maxExcerpt = 200

// Excerpt shortens text a source answered (an error body, a message) for an
// error that ends up in a report: its first line, trimmed, at most 200
// bytes (cut on a rune boundary, marked with "…"), or "(empty body)".
// A source's answer is not ours to store at length: an error page can be
// megabytes, and the report keeps it.
func Excerpt(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) > maxExcerpt {
		cut := maxExcerpt
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
