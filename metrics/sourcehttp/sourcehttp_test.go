package sourcehttp

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// get sends one GET through c and reads the whole body.
func get(t *testing.T, c *http.Client, url string) ([]byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// stream writes n bytes of 'x' in 32 KiB chunks without a Content-Length,
// counting what it managed to write.
func stream(n int64, written *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for left := n; left > 0; {
			c := chunk[:min(int64(len(chunk)), left)]
			k, err := w.Write(c)
			written.Add(int64(k))
			if err != nil {
				return
			}
			left -= int64(k)
		}
	}
}

// TestAnswerCap: an answer up to the cap is read whole; one byte more, with
// or without a Content-Length, fails with *TooLargeError naming the cap,
// and a streamed answer far over it is not read much past the cap.
func TestAnswerCap(t *testing.T) {
	const limit = 64 << 10
	var written atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/exact", stream(limit, &written))
	mux.Handle("/over", stream(limit+1, &written))
	mux.Handle("/huge", stream(1<<30, &written))
	mux.HandleFunc("/declared", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(limit+1))
		_, _ = w.Write(make([]byte, limit+1))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Config{MaxResponseBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path    string
		wantErr bool
	}{{"/exact", false}, {"/over", true}, {"/declared", true}, {"/huge", true}} {
		written.Store(0)
		body, err := get(t, c, srv.URL+tc.path)
		var tooLarge *TooLargeError
		switch {
		case !tc.wantErr && (err != nil || len(body) != limit):
			t.Errorf("%s: %d bytes, %v; want %d bytes", tc.path, len(body), err, limit)
		case tc.wantErr && !errors.As(err, &tooLarge):
			t.Errorf("%s: %d bytes, %v; want a TooLargeError", tc.path, len(body), err)
		case tc.wantErr && (len(body) > limit || !strings.Contains(err.Error(), "limit of 64KiB (maxResponseBytes)")):
			t.Errorf("%s: %d bytes read, error %q", tc.path, len(body), err)
		}
	}
	// The huge answer stopped soon after the cap: the server could write
	// only what the socket buffers hold beyond it, not a gibibyte.
	if w := written.Load(); w > 64<<20 {
		t.Errorf("the server wrote %d bytes of the huge answer before the client stopped reading", w)
	}
}

// connCounter counts a test server's connections: opened, and open now.
type connCounter struct{ opened, closed atomic.Int32 }

// Track is an http.Server's ConnState.
func (c *connCounter) Track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

// Settled is the number open once closes have reached the server (a
// bounded wait, as a hang guard), never more than bound when it can be.
func (c *connCounter) Settled(bound int) int {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		open := int(c.opened.Load() - c.closed.Load())
		if open <= bound || time.Now().After(deadline) {
			return open
		}
	}
}

// TestMaxConns: many concurrent requests through a client with MaxConns 3
// leave at most 3 connections open and open few: later requests wait for
// and reuse them. (Go's transport may replace a connection when, starved
// of CPU, it cannot confirm within 50 ms that a request was written: the
// bound on connections opened allows one in twenty requests.)
func TestMaxConns(t *testing.T) {
	var conns connCounter
	release := make(chan struct{})
	var inHandler sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			inHandler.Done()
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = conns.Track
	srv.Start()
	defer srv.Close()
	c, err := New(Config{MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Three requests hold the three connections; more wait for them.
	inHandler.Add(3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _ = get(t, c, srv.URL+"/slow") })
	}
	inHandler.Wait()
	for range 50 {
		wg.Go(func() {
			if _, err := get(t, c, srv.URL+"/fast"); err != nil {
				t.Error(err)
			}
		})
	}
	close(release)
	wg.Wait()
	for range 100 {
		if _, err := get(t, c, srv.URL+"/fast"); err != nil {
			t.Fatal(err)
		}
	}
	if open := conns.Settled(3); open > 3 {
		t.Errorf("%d connections open after 153 requests, want at most MaxConns 3", open)
	}
	if n := conns.opened.Load(); n > 3+153/20 {
		t.Errorf("%d connections opened for 153 requests, want at most MaxConns 3 (+ %d)", n, 153/20)
	}
}

// TestCredentialsFromFiles: the bearer token and basic auth password are
// read from their files at each request (a rotated token is sent at once);
// a file that cannot be read is an error naming its setting.
func TestCredentialsFromFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	password := filepath.Join(dir, "password")
	writeFile(t, token, "first\n")
	writeFile(t, password, "pw")
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	c, err := New(Config{BearerTokenFile: token})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = get(t, c, srv.URL)
	writeFile(t, token, "second")
	_, _ = get(t, c, srv.URL)
	basic, err := New(Config{BasicAuth: &BasicAuth{Username: "u", PasswordFile: password}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = get(t, basic, srv.URL)
	want := []string{"Bearer first", "Bearer second", "Basic dTpwdw=="}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Authorization headers %q, want %q", got, want)
	}

	for _, tc := range []struct {
		cfg     Config
		setting string
	}{
		{Config{BearerTokenFile: filepath.Join(dir, "missing")}, "bearerTokenFile"},
		{Config{BasicAuth: &BasicAuth{Username: "u", PasswordFile: filepath.Join(dir, "missing")}}, "basicAuth.passwordFile"},
		{Config{BasicAuth: &BasicAuth{PasswordFile: password}}, "basicAuth.username"},
		{Config{TLS: &TLS{CAFile: password}}, "tls.caFile"},
		{Config{TLS: &TLS{CertFile: password}}, "tls.keyFile"},
		{Config{TLS: &TLS{CertFile: password, KeyFile: password}}, "tls.certFile"},
		{Config{MaxConns: -1}, "maxConns"},
		{Config{MaxResponseBytes: -1}, "maxResponseBytes"},
	} {
		_, err := New(tc.cfg)
		var se *SettingError
		if !errors.As(err, &se) || se.Setting != tc.setting {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.setting)
		}
	}
}

// TestTLSWithCAFile: a server whose certificate the CA file holds is
// trusted; without the CA file it is not.
func TestTLSWithCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	c, err := New(Config{TLS: &TLS{CAFile: ca}})
	if err != nil {
		t.Fatal(err)
	}
	if body, err := get(t, c, srv.URL); err != nil || string(body) != "ok" {
		t.Errorf("with the CA: %q, %v", body, err)
	}
	plain, _ := New(Config{})
	if _, err := get(t, plain, srv.URL); err == nil {
		t.Error("without the CA the self-signed server was trusted")
	}
}

// TestNoRedirects: a 3xx is handed back, not followed, so neither the
// query nor its credentials reach the Location.
func TestNoRedirects(t *testing.T) {
	var reached atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusFound))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	writeFile(t, token, "s3cret")
	c, err := New(Config{BearerTokenFile: token})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || reached.Load() != 0 {
		t.Errorf("status %d, %d requests reached the redirect target", resp.StatusCode, reached.Load())
	}
}

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"1000", 1000}, {"64MiB", 64 << 20}, {"512 KiB", 512 << 10}, {"2GiB", 2 << 30}, {"5MB", 5e6}, {"7B", 7}} {
		if got, err := ParseBytes(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "ten", "99999999999GiB"} {
		if got, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", bad, got)
		}
	}
	for n, want := range map[int64]string{32 << 20: "32MiB", 1 << 30: "1GiB", 1536: "1536B", 3 << 10: "3KiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialsFileGone: a token file that disappears after start fails
// each request with an error naming the setting but not the path, which
// would otherwise reach reports.
func TestCredentialsFileGone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "secret-dir-name", "token")
	if err := os.MkdirAll(filepath.Dir(token), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, token, "t")
	c, err := New(Config{BearerTokenFile: token})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(token); err != nil {
		t.Fatal(err)
	}
	_, err = get(t, c, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "the source's bearerTokenFile cannot be read") || strings.Contains(err.Error(), "secret-dir-name") {
		t.Errorf("err = %v, want one naming bearerTokenFile and not its path", err)
	}
}
