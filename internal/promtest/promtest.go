// Package promtest starts a real Prometheus for integration tests.
//
// Start writes the series a test gives as OpenMetrics text into TSDB blocks
// with `promtool tsdb create-blocks-from openmetrics`, starts `prometheus`
// on a free 127.0.0.1 port over that data directory (retention 100y, so
// historic timestamps stay queryable; no scrape targets), waits for
// /-/ready and stops the process by its PID when the test ends (and, through
// package testproc, when the test binary dies without cleaning up). It never
// uses a Prometheus that is already running (such as a system service on
// :9090).
//
// StartWith also takes Options: the remote-write receiver
// (--web.enable-remote-write-receiver), through which Server.Write pushes
// recent samples into the head block, and native histograms
// (--enable-feature=native-histograms). Prometheus 2.42's OpenMetrics
// parser and promtool cannot carry native histograms, and its
// remote-write receiver refuses them (HTTP 500 "native histograms are
// disabled") without the feature flag, so native histograms go through
// Write on a server started with both. Write encodes the remote-write
// protobuf by hand (protowire and snappy) rather than importing
// Prometheus' own packages.
//
// When the prometheus or promtool binary is missing the test is skipped,
// except when the environment variable CI is "true": then it fails, so that
// CI never passes by skipping.
//
// Launch starts the same server without a test, for programs that keep it
// running (the playground of package try, behind `make try`): on a given
// port or a free one, stopped by the caller.
package promtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/testproc"
)

// Server is a running Prometheus.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	proc *testproc.Process
}

// Binaries returns the paths of prometheus and promtool, or skips tb
// (fails it when CI=true) when either is missing.
func Binaries(tb testing.TB) (prometheus, promtool string) {
	tb.Helper()
	prometheus, promtool, err := FindBinaries()
	if err != nil {
		msg := "integration test needs " + err.Error()
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return prometheus, promtool
}

// FindBinaries returns the paths of prometheus and promtool on PATH, or an
// error naming the missing ones and the Debian package that has them.
func FindBinaries() (prometheus, promtool string, err error) {
	var missing []string
	prometheus, err = exec.LookPath("prometheus")
	if err != nil {
		missing = append(missing, "prometheus")
	}
	promtool, err = exec.LookPath("promtool")
	if err != nil {
		missing = append(missing, "promtool")
	}
	if len(missing) > 0 {
		return "", "", fmt.Errorf("%s on PATH (Debian and Ubuntu: apt-get install prometheus)", strings.Join(missing, " and "))
	}
	return prometheus, promtool, nil
}

// Options says what a test's Prometheus holds and accepts.
type Options struct {
	// OpenMetrics is written into TSDB blocks before the server starts
	// (OpenMetrics text: timestamps in seconds, ending with "# EOF"); empty
	// for none.
	OpenMetrics string
	// RemoteWrite enables the remote-write receiver, for Server.Write.
	RemoteWrite bool
	// NativeHistograms enables native histograms
	// (--enable-feature=native-histograms).
	NativeHistograms bool
}

// Start writes openMetrics (OpenMetrics text: timestamps in seconds, ending
// with "# EOF") into a fresh data directory and starts Prometheus over it.
// The server is stopped when tb ends; Stop stops it earlier.
func Start(tb testing.TB, openMetrics string) *Server {
	tb.Helper()
	return StartWith(tb, Options{OpenMetrics: openMetrics})
}

// StartWith starts Prometheus as opts say, stopped when tb ends.
func StartWith(tb testing.TB, opts Options) *Server {
	tb.Helper()
	Binaries(tb)
	s, err := Launch(tb.TempDir(), 0, opts)
	if err != nil {
		tb.Fatalf("promtest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Launch starts Prometheus as opts say over a new data directory in dir,
// listening on 127.0.0.1:port (0: a free port, with a few tries should
// another process take it first), and waits until it is ready. It runs in
// a process group of its own, so a Ctrl-C at the terminal reaches only the
// program that launched it, which stops it with Stop; it also gets SIGQUIT
// should that program die (package testproc).
func Launch(dir string, port int, opts Options) (*Server, error) {
	prom, tool, err := FindBinaries()
	if err != nil {
		return nil, fmt.Errorf("promtest: needs %w", err)
	}
	data := filepath.Join(dir, "data")
	if opts.OpenMetrics != "" {
		input := filepath.Join(dir, "series.om")
		if err := os.WriteFile(input, []byte(opts.OpenMetrics), 0o600); err != nil {
			return nil, fmt.Errorf("promtest: %w", err)
		}
		out, err := exec.Command(tool, "tsdb", "create-blocks-from", "openmetrics", input, data).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("promtest: promtool tsdb create-blocks-from openmetrics: %w\n%s", err, out)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o600); err != nil {
		return nil, fmt.Errorf("promtest: %w", err)
	}
	var flags []string
	if opts.RemoteWrite {
		flags = append(flags, "--web.enable-remote-write-receiver")
	}
	if opts.NativeHistograms {
		flags = append(flags, "--enable-feature=native-histograms")
	}
	if port != 0 {
		s, err := start(prom, cfg, data, port, flags)
		if err != nil {
			return nil, fmt.Errorf("promtest: %w", err)
		}
		return s, nil
	}
	var s *Server
	err = testproc.OnFreePort(func(port int) (err error) {
		s, err = start(prom, cfg, data, port, flags)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("promtest: %w", err)
	}
	return s, nil
}

func start(prom, cfg, data string, port int, flags []string) (*Server, error) {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &Server{URL: "http://" + addr}
	args := append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, flags...)
	cmd := exec.Command(prom, args...)
	var err error
	s.proc, err = testproc.StartReady("prometheus", cmd, 60*time.Second, testproc.HTTPReady(s.URL+"/-/ready", time.Second))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// PID is the server's process ID (for reading its CPU time in a benchmark).
func (s *Server) PID() int { return s.proc.PID() }

// Stop kills the process (by its PID) and waits for it to exit. It may be
// called more than once.
func (s *Server) Stop() { s.proc.Stop(nil, 0) }

// StopGracefully sends the process SIGTERM, kills it if it has not exited
// after grace, and waits for it to exit.
func (s *Server) StopGracefully(grace time.Duration) { s.proc.Stop(syscall.SIGTERM, grace) }
