// Package graphitetest starts a real Graphite for integration tests:
// Debian's carbon-cache (package graphite-carbon) receiving the plaintext
// protocol and writing whisper files, and graphite-web (package
// graphite-web) answering the render API over them.
//
// Start writes a carbon.conf, a storage schema (every metric at 10s for
// two days: whisper keeps points relative to now, so tests place their
// data in the recent past) and a graphite-web settings module into a
// temporary directory, starts carbon-cache in the foreground
// (--nodaemon) with its line receiver, pickle receiver and cache query
// port on free 127.0.0.1 ports, and starts graphite-web with the lightest
// server Debian ships for it: Django's own, `graphite-manage runserver
// 127.0.0.1:PORT --noreload` (single process; graphite-manage runs
// Debian's python3, whatever python3 comes first on PATH). graphite-web
// reads the whisper files and asks carbon-cache for the points it has not
// written yet (CARBONLINK_HOSTS), so a point is visible as soon as carbon
// has received it and created its file (the link's timeout is raised to
// 10s from 1s, so that a loaded machine does not hide the points carbon
// has not written yet). Both are stopped by their PIDs
// when the test ends (package testproc).
//
// Send writes plaintext lines ("path value timestamp") to carbon;
// WaitForPoints polls the render API until a target shows the points a
// test sent (carbon creates files and flushes asynchronously).
//
// When a binary is missing the test is skipped, except when the
// environment variable CI is "true": then it fails, so that CI never
// passes by skipping.
package graphitetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
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

// Server is a running carbon-cache and graphite-web.
type Server struct {
	// URL is graphite-web's base URL, http://127.0.0.1:PORT.
	URL string
	// LineAddr is carbon's plaintext receiver, 127.0.0.1:PORT.
	LineAddr string

	carbon, web *testproc.Process
}

// Binaries returns the paths of carbon-cache and graphite-manage, or skips
// tb (fails it when CI=true) when either is missing.
func Binaries(tb testing.TB) (carbon, manage string) {
	tb.Helper()
	var missing []string
	carbon, err := exec.LookPath("carbon-cache")
	if err != nil {
		missing = append(missing, "carbon-cache (apt-get install graphite-carbon)")
	}
	manage, err = exec.LookPath("graphite-manage")
	if err != nil {
		missing = append(missing, "graphite-manage (apt-get install graphite-web)")
	}
	if len(missing) > 0 {
		msg := "integration test needs " + strings.Join(missing, " and ") + " on PATH"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return carbon, manage
}

// Start starts carbon-cache and graphite-web, stopped when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	carbon, manage := Binaries(tb)
	var lastErr error
	for range 3 {
		s, err := start(carbon, manage, tb.TempDir())
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("graphitetest: %v", lastErr)
	return nil
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for len(ports) < n {
		p, err := testproc.FreePort()
		if err != nil {
			return nil, err
		}
		if !contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func start(carbon, manage, dir string) (*Server, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	line, pickle, cacheQuery, web := ports[0], ports[1], ports[2], ports[3]
	conf, storage, logs := filepath.Join(dir, "conf"), filepath.Join(dir, "storage"), filepath.Join(dir, "log")
	for _, d := range []string{conf, filepath.Join(storage, "whisper"), logs, filepath.Join(dir, "web")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		filepath.Join(conf, "carbon.conf"): fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/
LOCAL_DATA_DIR = %[1]s/whisper/
WHITELISTS_DIR = %[1]s/lists/
CONF_DIR = %[2]s/
LOG_DIR = %[3]s/
PID_DIR = %[4]s/
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[5]d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[6]d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[7]d
LOG_LISTENER_CONNECTIONS = False
CARBON_METRIC_INTERVAL = 0
`, storage, conf, logs, dir, line, pickle, cacheQuery),
		filepath.Join(conf, "storage-schemas.conf"):     "[everything]\npattern = .*\nretentions = 10s:2d\n",
		filepath.Join(conf, "storage-aggregation.conf"): "[everything]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n",
		filepath.Join(dir, "web", "verdict_graphite_settings.py"): fmt.Sprintf(`SECRET_KEY = 'graphitetest'
STORAGE_DIR = %[1]q
WHISPER_DIR = %[2]q
LOG_DIR = %[3]q
INDEX_FILE = %[4]q
CARBONLINK_HOSTS = ['127.0.0.1:%[5]d']
CARBONLINK_TIMEOUT = 10.0
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': %[6]q}}
TAGDB = ''
`, storage+"/", filepath.Join(storage, "whisper")+"/", logs+"/", filepath.Join(storage, "index"), cacheQuery, filepath.Join(storage, "graphite.db")),
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(web), LineAddr: "127.0.0.1:" + strconv.Itoa(line)}

	cmd := exec.Command(carbon, "--config="+filepath.Join(conf, "carbon.conf"), "--nodaemon", "start")
	s.carbon, err = testproc.StartReady("carbon-cache", cmd, 60*time.Second, func(ctx context.Context) error {
		for _, addr := range []string{s.LineAddr, "127.0.0.1:" + strconv.Itoa(cacheQuery)} {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			c.Close()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	cmd = exec.Command(manage, "runserver", "127.0.0.1:"+strconv.Itoa(web), "--noreload")
	cmd.Dir = filepath.Join(dir, "web")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "web"), "GRAPHITE_SETTINGS_MODULE=verdict_graphite_settings", "PYTHONDONTWRITEBYTECODE=1")
	s.web, err = testproc.StartReady("graphite-web", cmd, 90*time.Second, testproc.HTTPReady(s.URL+"/render?format=json&target=graphitetest.ready", 2*time.Second))
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop kills both processes (by their PIDs) and waits for them to exit.
// It may be called more than once.
func (s *Server) Stop() {
	if s.web != nil {
		s.web.Stop(nil, 0)
	}
	if s.carbon != nil {
		s.carbon.Stop(nil, 0)
	}
}

// StopWeb stops graphite-web only: the render API goes away.
func (s *Server) StopWeb() { s.web.Stop(nil, 0) }

// Send writes plaintext lines ("path value unix-seconds\n") to carbon.
func (s *Server) Send(ctx context.Context, lines string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.LineAddr)
	if err != nil {
		return fmt.Errorf("graphitetest: %w", err)
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(deadline)
	}
	if _, err := c.Write([]byte(lines)); err != nil {
		return fmt.Errorf("graphitetest: send: %w", err)
	}
	return nil
}

// WaitForPoints polls the render API until target has at least want
// non-null points between from and until (unix seconds), all series
// together. It gives up after two minutes, a hang guard only.
func (s *Server) WaitForPoints(ctx context.Context, target string, from, until int64, want int) error {
	q := url.Values{"target": {target}, "format": {"json"}, "noCache": {"true"},
		"from": {strconv.FormatInt(from, 10)}, "until": {strconv.FormatInt(until, 10)}}
	got := 0
	err := testproc.Poll(ctx, 2*time.Minute, 250*time.Millisecond, func(ctx context.Context) error {
		n, err := s.count(ctx, q)
		if err != nil {
			return err
		}
		if got = n; n < want {
			return fmt.Errorf("%d of %d points", n, want)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("graphitetest: %s shows %d of %d points (%v)\ncarbon-cache log:\n%s\ngraphite-web log:\n%s", target, got, want, err, s.carbon.Log(), s.web.Log())
	}
	return nil
}

func (s *Server) count(ctx context.Context, q url.Values) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/render?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("render: %s", resp.Status)
	}
	var answer []struct {
		Datapoints [][2]*float64 `json:"datapoints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range answer {
		for _, dp := range a.Datapoints {
			if dp[0] != nil {
				n++
			}
		}
	}
	return n, nil
}
