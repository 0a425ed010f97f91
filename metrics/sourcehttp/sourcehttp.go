// Package sourcehttp builds the HTTP client a remote metric source
// (metrics/prometheus, metrics/loki, metrics/graphite, metrics/influxdb,
// metrics/datadog, metrics/newrelic, metrics/cloudwatch) sends its queries
// through, and runs one attempt of a query for the sources that speak
// plain HTTP and JSON (Attempter). A source
// has exactly one, built when the source is built and shared by every query
// of every analysis that reads it, so what a source may cost is bounded by
// its own settings and not by how many analyses run.
//
// Decisions:
//   - Connections are bounded per source: at most Config.MaxConns
//     (default 16) to the source's host, counting those being dialled, in
//     use and idle (http.Transport.MaxConnsPerHost); a query that finds them
//     all busy waits for one, within its own deadline. Up to MaxConns idle
//     connections are kept, so a steady load reuses them instead of opening
//     new ones, and an idle connection is closed after
//     Config.IdleConnTimeout (default 30s, well under the 5 minutes
//     Prometheus' own client library keeps them).
//   - Answers are capped: a body longer than Config.MaxResponseBytes
//     (default 16 MiB) is cut there and reading it fails with
//     *TooLargeError, before anything past the cap is buffered or decoded
//     (the cap wraps the response body inside the client, under whatever
//     library reads it). A Content-Length over the cap fails at once,
//     without reading. The cap applies to the decompressed body.
//   - Memory: a reader that buffers by doubling (client_golang does)
//     allocates up to about 4 × the cap for one answer that reaches it,
//     and at most MaxConns answers are read at once, so a source's answers
//     cost at most about 4 × MaxResponseBytes × MaxConns at a time (1 GiB
//     with the defaults, reached only when every connection carries an
//     answer over the cap; a typical answer, one series of up to 11,000
//     points, is about 0.3 MiB).
//   - Credentials and TLS come from files: the bearer token and the basic
//     auth password are read at every request (so a rotated file is picked
//     up) and must be under 64 KiB; the CA is read once; a client
//     certificate is read at every TLS handshake. New checks that each
//     named file can be read, and says which setting names a file it
//     cannot (*SettingError).
//   - Redirects are not followed: a 3xx is an answer like any other
//     status, so a query and its credentials go to the configured URL only.
//     No proxy is used.
//   - The client has no overall timeout: each attempt's context bounds it
//     (the source's per-attempt timeout, under the caller's deadline).
//   - One attempt (Attempter.Do) ends in one *query.Error kind whatever
//     the source: KindCanceled when the caller gave up, KindTimeout when
//     the attempt's timeout passed (also while an error answer or the
//     answer is read, unless the error answer says the query is bad),
//     KindTooLarge over the cap, KindUnavailable when the source cannot be
//     reached ("<source> unreachable: ..."), the source's own reading of
//     an answer whose status is not 200 ("HTTP <status>: ...", of which at
//     most MaxErrorBody bytes are read, with the wait its Retry-After asks
//     for), and KindBadResponse for a 200 answer that is not what the
//     source answers. Retrying is the caller's (query.Backoff).
//   - API keys sent in headers (Secret) are read from their file at every
//     request like the bearer token, and taken out of error messages
//     (Redact) before they reach a report.
package sourcehttp

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The defaults of a source's HTTP settings.
const (
	// DefaultMaxConns is the most connections a source opens to its host:
	// enough for the default 4 workers' parallel queries to overlap, a
	// small share of Prometheus' default 512.
	DefaultMaxConns = 16
	// DefaultIdleConnTimeout is how long an unused connection is kept.
	DefaultIdleConnTimeout = 30 * time.Second
	// DefaultMaxResponseBytes is the largest answer a source reads: a
	// range query's matrix of 11,000 points is about 0.3 MiB per series,
	// so this holds about fifty such series.
	DefaultMaxResponseBytes = 16 << 20
)

// maxSecretFile bounds a credentials file.
const maxSecretFile = 64 << 10

// Config is how a source talks HTTP. The zero value is valid: no
// credentials, system CAs, the default bounds.
type Config struct {
	// BearerTokenFile names a file holding the token sent as
	// "Authorization: Bearer TOKEN".
	BearerTokenFile string
	// BasicAuth, when set, sends HTTP basic authentication.
	BasicAuth *BasicAuth
	// TLS configures https connections.
	TLS *TLS
	// MaxConns bounds the connections to the source's host (dialling,
	// active and idle); zero means DefaultMaxConns.
	MaxConns int
	// IdleConnTimeout closes a connection unused for this long; zero means
	// DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// MaxResponseBytes caps an answer's body; zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// BasicAuth is a user name and a file holding the password.
type BasicAuth struct {
	Username     string
	PasswordFile string
}

// TLS is the client side of TLS connections to a source.
type TLS struct {
	// CAFile holds the PEM certificates that verify the server (default:
	// the system's).
	CAFile string
	// CertFile and KeyFile hold a client certificate and its key (PEM),
	// both or neither.
	CertFile, KeyFile string
	// ServerName replaces the URL's host in verification and SNI.
	ServerName string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
}

// SettingError is a setting New cannot use; Setting is its name as the
// config spells it ("bearerTokenFile", "tls.caFile", "maxConns").
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Err.Error() }

func (e *SettingError) Unwrap() error { return e.Err }

// TooLargeError is an answer cut at the cap.
type TooLargeError struct {
	// Limit is the cap in bytes.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the answer is larger than the source's limit of %s (maxResponseBytes); ask for fewer series or points, or raise the limit", FormatBytes(e.Limit))
}

// FormatBytes writes a byte count the way the settings take it: "32MiB",
// "512KiB", "1000B".
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// New checks cfg, reading every file it names once, and builds the client.
func New(cfg Config) (*http.Client, error) {
	switch {
	case cfg.MaxConns < 0:
		return nil, &SettingError{"maxConns", fmt.Errorf("%d is negative", cfg.MaxConns)}
	case cfg.IdleConnTimeout < 0:
		return nil, &SettingError{"idleConnTimeout", fmt.Errorf("%s is negative", cfg.IdleConnTimeout)}
	case cfg.MaxResponseBytes < 0:
		return nil, &SettingError{"maxResponseBytes", fmt.Errorf("%d is negative", cfg.MaxResponseBytes)}
	}
	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	idle := cfg.IdleConnTimeout
	if idle == 0 {
		idle = DefaultIdleConnTimeout
	}
	limit := cfg.MaxResponseBytes
	if limit == 0 {
		limit = DefaultMaxResponseBytes
	}
	tlsConfig, err := newTLSConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	auth := &authRoundTripper{}
	if cfg.BearerTokenFile != "" {
		if _, err := readSecret(cfg.BearerTokenFile); err != nil {
			return nil, &SettingError{"bearerTokenFile", err}
		}
		auth.tokenFile = cfg.BearerTokenFile
	}
	if b := cfg.BasicAuth; b != nil {
		if b.Username == "" {
			return nil, &SettingError{"basicAuth.username", errors.New("missing")}
		}
		if b.PasswordFile == "" {
			return nil, &SettingError{"basicAuth.passwordFile", errors.New("missing")}
		}
		if _, err := readSecret(b.PasswordFile); err != nil {
			return nil, &SettingError{"basicAuth.passwordFile", err}
		}
		auth.user, auth.passwordFile = b.Username, b.PasswordFile
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxConnsPerHost:       maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxIdleConns:          maxConns,
		IdleConnTimeout:       idle,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	auth.next = transport
	return &http.Client{
		Transport: &capRoundTripper{next: auth, limit: limit},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

func newTLSConfig(t *TLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t == nil {
		return c, nil
	}
	c.ServerName = t.ServerName
	c.InsecureSkipVerify = t.InsecureSkipVerify
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &SettingError{"tls.caFile", err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &SettingError{"tls.caFile", fmt.Errorf("%s holds no PEM certificate", t.CAFile)}
		}
		c.RootCAs = pool
	}
	switch {
	case t.CertFile == "" && t.KeyFile == "":
	case t.CertFile == "":
		return nil, &SettingError{"tls.certFile", errors.New("missing (keyFile is set; give both or neither)")}
	case t.KeyFile == "":
		return nil, &SettingError{"tls.keyFile", errors.New("missing (certFile is set; give both or neither)")}
	default:
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			return nil, &SettingError{"tls.certFile", err}
		}
		certFile, keyFile := t.CertFile, t.KeyFile
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			return &cert, nil
		}
	}
	return c, nil
}

// readSecret reads a credentials file: trimmed, at most maxSecretFile.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretFile {
		return "", &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %s; it should hold one credential", FormatBytes(maxSecretFile))}
	}
	return string(bytes.TrimSpace(data)), nil
}

// authRoundTripper adds the credentials, read from their files at each
// request.
type authRoundTripper struct {
	next               http.RoundTripper
	tokenFile          string
	user, passwordFile string
}

func (a *authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if a.tokenFile == "" && a.passwordFile == "" {
		return a.next.RoundTrip(req)
	}
	req = req.Clone(req.Context()) // a RoundTripper must not change its request
	if a.tokenFile != "" {
		token, err := readSecret(a.tokenFile)
		if err != nil {
			return nil, secretError("bearerTokenFile", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if a.passwordFile != "" {
		password, err := readSecret(a.passwordFile)
		if err != nil {
			return nil, secretError("basicAuth.passwordFile", err)
		}
		req.SetBasicAuth(a.user, password)
	}
	return a.next.RoundTrip(req)
}

// secretError says a credentials file could not be read at a request,
// without its path: the error ends up in reports that read tokens see.
func secretError(setting string, err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Errorf("the source's %s cannot be read: %w", setting, err)
}

// capRoundTripper cuts every answer's body at limit bytes.
type capRoundTripper struct {
	next  http.RoundTripper
	limit int64
}

func (c *capRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > c.limit {
		resp.Body.Close()
		return nil, &TooLargeError{Limit: c.limit}
	}
	resp.Body = &cappedBody{body: resp.Body, left: c.limit, limit: c.limit}
	return resp, nil
}

// cappedBody reads at most limit bytes of body; reading more fails with
// *TooLargeError. It reads one byte past the cap to tell an answer of
// exactly limit bytes from a longer one.
type cappedBody struct {
	body  io.ReadCloser
	left  int64
	limit int64
	err   error
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.body.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		b.err = &TooLargeError{Limit: b.limit}
		return n, b.err
	}
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.body.Close() }

// ParseBytes reads a byte count: a whole number of bytes, or one with a
// unit: B, KiB, MiB, GiB (powers of 1024, "64MiB") or KB, MB, GB (powers
// of 1000).
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	var n int64
	if s == "" {
		return 0, errors.New("no number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a whole number", s)
		}
		if n > (1<<62)/10 {
			return 0, errors.New("too large")
		}
		n = n*10 + int64(r-'0')
	}
	if n > (1<<62)/factor {
		return 0, errors.New("too large")
	}
	return n * factor, nil
}
