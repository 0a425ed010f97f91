// Package influxtest starts a real InfluxDB 1.x (Debian's influxdb
// package, influxd) for integration tests.
//
// Start writes a config into a temporary directory (meta, data and WAL
// directories under it; usage reporting, the _internal monitor store and
// continuous queries off; the HTTP API and the RPC service bound to free
// 127.0.0.1 ports; the Graphite, collectd, OpenTSDB and UDP listeners
// stay off, their default; answers cut at MaxRowLimit rows, so that a test
// can see a partial answer), runs influxd on it, waits for /ping and
// creates the database DB. It is stopped by its PID when the test ends
// (and, through package testproc, when the test binary dies without
// cleaning up). It never uses an InfluxDB that is already running.
//
// Write posts line protocol to /write (precision given); InfluxDB makes a
// write visible to queries once /write has answered 204.
//
// When the binary is missing the test is skipped, except when the
// environment variable CI is "true": then it fails, so that CI never
// passes by skipping.
package influxtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/testproc"
)

// DB is the database Start creates.
const DB = "verdict"

// MaxRowLimit is the server's max-row-limit: an answer of more rows is
// cut and flagged "partial", which tests can provoke.
const MaxRowLimit = 1000

// Server is a running influxd.
type Server struct {
	// URL is the HTTP API's base URL, http://127.0.0.1:PORT.
	URL string

	proc *testproc.Process
}

// Binary returns the path of influxd, or skips tb (fails it when CI=true)
// when it is missing.
func Binary(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("influxd")
	if err != nil {
		msg := "integration test needs influxd on PATH (Debian and Ubuntu: apt-get install influxdb)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return path
}

// Start starts influxd over a fresh directory with the database DB; it is
// stopped when tb ends, or earlier by Stop.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Binary(tb)
	var s *Server
	err := testproc.OnFreePort(func(httpPort int) (err error) {
		s, err = start(bin, tb.TempDir(), httpPort)
		return err
	})
	if err != nil {
		tb.Fatalf("influxtest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func start(bin, dir string, httpPort int) (*Server, error) {
	rpcPort, err := testproc.FreePort()
	if err != nil {
		return nil, err
	}
	if rpcPort == httpPort {
		return nil, fmt.Errorf("the same free port %d twice", rpcPort)
	}
	conf := filepath.Join(dir, "influxdb.conf")
	text := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false
  max-row-limit = %d
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort, MaxRowLimit)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	cmd := exec.Command(bin, "-config", conf)
	cmd.Dir = dir
	// influxd reads its config path from INFLUXDB_CONFIG_PATH too, and
	// INFLUXDB_* variables override settings: none of the caller's apply.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	// /ping answers 204 once the HTTP service is up.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ready := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/ping", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("GET /ping: %s", resp.Status)
		}
		return nil
	}
	if s.proc, err = testproc.StartReady("influxd", cmd, 60*time.Second, ready); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.post(ctx, "/query", url.Values{"q": {"CREATE DATABASE " + DB}}, ""); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop kills the process (by its PID) and waits for it to exit. It may be
// called more than once.
func (s *Server) Stop() { s.proc.Stop(nil, 0) }

// Write posts line protocol to database DB; precision is InfluxDB's (s,
// ms, ns...).
func (s *Server) Write(ctx context.Context, lines, precision string) error {
	return s.post(ctx, "/write", url.Values{"db": {DB}, "precision": {precision}}, lines)
}

func (s *Server) post(ctx context.Context, path string, params url.Values, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path+"?"+params.Encode(), strings.NewReader(body))
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("influxtest: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 || strings.Contains(string(answer), `"error"`) {
		return fmt.Errorf("influxtest: POST %s: %s: %s\ninfluxd log:\n%s", path, resp.Status, answer, s.proc.Log())
	}
	return nil
}
