package sourcehttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxErrorBody bounds what is read of an answer whose status is not 200.
const MaxErrorBody = 64 << 10

// Attempter runs the attempts of one source's queries, each under its own
// timeout, through the source's client.
type Attempter struct {
	Client *http.Client
	// Timeout bounds each attempt.
	Timeout time.Duration
	// Source names the source in errors: "graphite unreachable: ...".
	Source string
}

// Exchange is one request of a query and how its answer is read.
type Exchange struct {
	// Method is the request's method; empty means GET.
	Method string
	URL    string
	// Header is added to the request (Accept: application/json is set
	// unless Header sets it).
	Header http.Header
	// Body is the request's body, if any.
	Body []byte
	// Classify reads an answer whose status is not 200 from its status,
	// headers and body (at most MaxErrorBody bytes): its kind and one line
	// saying what happened, which follows "HTTP <status>: " in the error.
	Classify func(status int, header http.Header, body []byte) (query.Kind, string)
	// RetryAfter is the wait an answer whose status is not 200 asks for;
	// nil means its Retry-After header (query.ParseRetryAfter).
	RetryAfter func(header http.Header) time.Duration
	// Decode reads a 200 answer's body into the caller's value.
	Decode func(body io.Reader) error
	// Expected names what a 200 answer holds, in the error when Decode
	// fails: "<Source> answered something other than <Expected>: ...".
	Expected string
}

// Do runs one attempt of x. On a 200 answer that decodes it returns the
// answer's headers. The error it returns lacks Signal and Query: a
// KindCanceled one when ctx ended (the caller gave up), KindTimeout when
// the attempt's own timeout passed, KindTooLarge for an answer over the
// client's cap, KindUnavailable when the source cannot be reached, the
// kind Classify gives for an answer whose status is not 200 (with the wait
// it asks for) and KindBadResponse for one Decode cannot read.
func (a Attempter) Do(ctx context.Context, x Exchange) (http.Header, *query.Error) {
	actx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	fail := func(kind query.Kind, err error) (http.Header, *query.Error) {
		return nil, Fail(ctx, kind, err)
	}
	timedOut := func() (http.Header, *query.Error) {
		return fail(query.KindTimeout, fmt.Errorf("timeout after %s", a.Timeout))
	}
	method := x.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if x.Body != nil {
		body = bytes.NewReader(x.Body)
	}
	req, err := http.NewRequestWithContext(actx, method, x.URL, body)
	if err != nil {
		return fail(query.KindInternal, err)
	}
	req.Header.Set("Accept", "application/json")
	for k, vs := range x.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	res, err := a.Client.Do(req)
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return fail(query.KindTooLarge, tooLarge)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return timedOut()
		}
		return fail(query.KindUnavailable, fmt.Errorf("%s unreachable: %s", a.Source, query.Excerpt(err.Error())))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, MaxErrorBody))
		kind, msg := x.Classify(res.StatusCode, res.Header, body)
		if actx.Err() != nil && kind != query.KindBadQuery {
			return timedOut()
		}
		_, qe := fail(kind, fmt.Errorf("HTTP %d: %s", res.StatusCode, msg))
		if x.RetryAfter != nil {
			qe.RetryAfter = x.RetryAfter(res.Header)
		} else {
			qe.RetryAfter = query.ParseRetryAfter(res.Header.Get("Retry-After"), time.Now())
		}
		return nil, qe
	}
	if err := x.Decode(res.Body); err != nil {
		if errors.As(err, &tooLarge) {
			return fail(query.KindTooLarge, tooLarge)
		}
		if errors.Is(err, context.DeadlineExceeded) || actx.Err() != nil {
			return timedOut()
		}
		return fail(query.KindBadResponse, fmt.Errorf("%s answered something other than %s: %s", a.Source, x.Expected, query.Excerpt(err.Error())))
	}
	return res.Header, nil
}

// Fail is the error of an attempt that failed with kind and err, or a
// KindCanceled one when ctx ended: the caller gave up, and that is the
// reason, whatever the attempt saw. It lacks Signal and Query.
func Fail(ctx context.Context, kind query.Kind, err error) *query.Error {
	if ctx.Err() != nil {
		return &query.Error{Kind: query.KindCanceled, Err: fmt.Errorf("gave up: %w", ctx.Err())}
	}
	return &query.Error{Kind: kind, Err: err}
}

// maxKeyFile bounds a Secret's file.
const maxKeyFile = 64 << 10

// Secret is a key a source sends with each request (an API key): a file,
// read at each use so a rotated file is picked up, or the key itself.
type Secret struct{ File, Value string }

// Get reads the key: the file's text, trimmed, or Value when File is
// empty. Its errors name no path: they end up in reports.
func (s Secret) Get() (string, error) {
	if s.File == "" {
		return s.Value, nil
	}
	f, err := os.Open(s.File)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxKeyFile {
		return "", fmt.Errorf("larger than %s; it should hold one key", FormatBytes(maxKeyFile))
	}
	return strings.TrimSpace(string(data)), nil
}

// Redact returns err, or when its message holds one of the keys, an error
// with the same message and every key in it replaced by "[redacted]" (and
// nothing to unwrap that would hold it). A key shorter than 8 bytes (no
// real API key is) is not looked for: it would match ordinary words of
// the message.
func Redact(err error, keys ...string) error {
	msg := err.Error()
	for _, k := range keys {
		if len(k) >= minRedacted {
			msg = strings.ReplaceAll(msg, k, "[redacted]")
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// minRedacted is the shortest key Redact looks for.
const minRedacted = 8

// NewAttempter builds cfg's client (New) and the Attempter that sends a
// source's queries through it, each attempt bounded by timeout, or by
// defaultTimeout when timeout is not positive.
func NewAttempter(source string, cfg Config, timeout, defaultTimeout time.Duration) (Attempter, error) {
	client, err := New(cfg)
	if err != nil {
		return Attempter{}, err
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return Attempter{Client: client, Timeout: timeout, Source: source}, nil
}

// BaseURL reads a source's base URL: http or https with a host, the path
// kept as a prefix without its trailing slashes. Its error names the
// source: `graphite url "x": want http(s)://host[:port][/path]`.
func BaseURL(source, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s url %q: want http(s)://host[:port][/path]", source, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}
