// Package vmtest starts a real VictoriaMetrics (Debian's victoria-metrics
// package, single-node) for integration tests.
//
// Start runs victoria-metrics on a free 127.0.0.1 port over a temporary
// data directory (retention 100y, so historic timestamps stay queryable),
// waits for /health and stops the process by its PID when the test ends
// (and, through package testproc, when the test binary dies without
// cleaning up). It never uses a VictoriaMetrics that is already running.
//
// ImportOpenMetrics writes the OpenMetrics text the Prometheus fixtures
// are written in (timestamps in seconds, "# EOF") through
// /api/v1/import/prometheus (timestamps in milliseconds), asks the server
// to flush it (/internal/force_flush), and waits until a query counts
// every sample: VictoriaMetrics makes new series searchable
// asynchronously.
//
// When the binary is missing the test is skipped, except when the
// environment variable CI is "true": then it fails, so that CI never
// passes by skipping.
package vmtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/testproc"
)

// Server is a running VictoriaMetrics.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	proc *testproc.Process
}

// Binary returns the path of victoria-metrics, or skips tb (fails it when
// CI=true) when it is missing.
func Binary(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("victoria-metrics")
	if err != nil {
		msg := "integration test needs victoria-metrics on PATH (Debian and Ubuntu: apt-get install victoria-metrics)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return path
}

// Start starts VictoriaMetrics over a fresh data directory; it is stopped
// when tb ends, or earlier by Stop.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	var s *Server
	err := testproc.OnFreePort(func(port int) (err error) {
		s, err = start(bin, dir, port)
		return err
	})
	if err != nil {
		tb.Fatalf("vmtest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

func start(bin, dir string, port int) (*Server, error) {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &Server{URL: "http://" + addr}
	// The Graphite, InfluxDB and OpenTSDB listeners stay off (their
	// default), so the server listens on addr only.
	cmd := exec.Command(bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+dir,
		"-retentionPeriod=100y",
		"-loggerLevel=ERROR",
	)
	var err error
	s.proc, err = testproc.StartReady("victoria-metrics", cmd, 60*time.Second, testproc.HTTPReady(s.URL+"/health", time.Second))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Stop kills the process (by its PID) and waits for it to exit. It may be
// called more than once.
func (s *Server) Stop() { s.proc.Stop(nil, 0) }

// ImportOpenMetrics writes OpenMetrics text and waits until queries see
// every sample (see the package doc).
func (s *Server) ImportOpenMetrics(ctx context.Context, openMetrics string) error {
	var b strings.Builder
	n, first, last, err := toMilliseconds(openMetrics, &b)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := s.post(ctx, "/api/v1/import/prometheus", strings.NewReader(b.String())); err != nil {
		return err
	}
	if err := s.post(ctx, "/internal/force_flush", nil); err != nil {
		return err
	}
	// Count every sample between the first and the last timestamp.
	span := last/1000 - first/1000 + 2
	q := url.Values{
		"query":   {fmt.Sprintf(`sum(count_over_time({__name__!=""}[%ds]))`, span)},
		"time":    {strconv.FormatInt(last/1000+1, 10)},
		"nocache": {"1"},
	}
	got := 0
	err = testproc.Poll(ctx, 2*time.Minute, 200*time.Millisecond, func(ctx context.Context) error {
		var err error
		if got, err = s.count(ctx, q); err == nil && got != n {
			err = fmt.Errorf("%d of %d samples", got, n)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("vmtest: queries see %d of the %d samples imported (%v)", got, n, err)
	}
	return nil
}

// count runs an instant query that answers one number.
func (s *Server) count(ctx context.Context, q url.Values) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if len(r.Data.Result) != 1 {
		return 0, nil
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	f, err := strconv.ParseFloat(v, 64)
	return int(f), err
}

// toMilliseconds copies the sample lines of OpenMetrics text with their
// timestamps in milliseconds; comments and # EOF are left out. It returns
// how many samples it wrote and their first and last timestamps (ms).
func toMilliseconds(openMetrics string, w io.Writer) (n int, first, last int64, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	sc := bufio.NewScanner(strings.NewReader(openMetrics))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return 0, 0, 0, fmt.Errorf("vmtest: sample line %q has no timestamp", line)
		}
		secs, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("vmtest: sample line %q: %w", line, err)
		}
		ms := int64(math.Round(secs * 1000))
		if n == 0 || ms < first {
			first = ms
		}
		if ms > last {
			last = ms
		}
		n++
		if _, err := fmt.Fprintf(bw, "%s %d\n", line[:i], ms); err != nil {
			return 0, 0, 0, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, 0, err
	}
	return n, first, last, bw.Flush()
}

func (s *Server) post(ctx context.Context, path string, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("vmtest: POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("vmtest: POST %s: %s: %s", path, resp.Status, msg)
	}
	return nil
}
