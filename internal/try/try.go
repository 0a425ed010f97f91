// Package try brings up Verdict's playground on this machine, the whole
// live picture a newcomer can point the documentation's commands at:
//
//   - a real Prometheus holding every fixture scenario of fixtures/prometheus
//     (healthy, latency-regression, error-spike, ...) for the last hour up
//     to the present, and kept current: a new sample of every series every
//     10 s, so a trailing window (Argo's lookback=5m) always has data;
//   - the Loki-shaped server of package lokitest holding each scenario's
//     checkout log, one line per checkout, the failed ones at level=error
//     (Loki itself cannot be installed here); it also receives the verdict
//     events verdict serve pushes;
//   - `verdict serve` over both, with the configs of fixtures/prometheus and
//     fixtures/try stored (--config-dir), and an SQLite store.
//
// `make try` runs it (cmd/verdict-try) and prints the commands to try; the
// documentation test (internal/doctest) runs README's and docs/' examples
// against it.
//
// Decisions:
//   - Time: the scenarios sit on a fixed hour of 2025 (package
//     promfixtures); a promfixtures.Feed replays that hour without end from
//     an hour before the start, so the data ends now. The first hour goes
//     into Prometheus' head block through its remote-write receiver, a
//     minute of every series at a time in time order (no promtool, no
//     blocks); then every sample is written half a step before its
//     timestamp, so a query whose window ends at the current time truncated
//     to the step (as verdict serve's Argo and Flagger endpoints align them)
//     finds the sample at its end. A sample stamped a little ahead of the
//     clock is invisible to queries evaluated before its time.
//   - Logs: each 10 s row of a pod that served N requests and E errors logs
//     round(N/20) checkouts, E of them failed (at most all), spread over the
//     row's interval. The Loki-shaped server keeps two hours of lines.
//   - Servers listen on 127.0.0.1 only: on the documented ports (Prometheus
//     9090, Loki 3100, verdict serve 8080) when they are free, else on
//     free ports, which Env reports. Prometheus and verdict serve run in
//     process groups of their own, so a Ctrl-C at the terminal reaches only
//     the program that started them, which stops them by PID (SIGTERM, then
//     SIGKILL after a grace period); they also get SIGQUIT should it die.
package try

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/verdict-aca/verdict/fixtures"
	promfixtures "github.com/verdict-aca/verdict/fixtures/prometheus"
	"github.com/verdict-aca/verdict/internal/lokitest"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/internal/testproc"
)

// The documented ports, used when free.
const (
	PrometheusPort = 9090
	LokiPort       = 3100
	ServePort      = 8080
)

// lead is how long before its timestamp a sample is written.
const lead = promfixtures.Step / 2

// checkoutsPerRequest is the share of requests that are checkouts, each
// logging a line.
const checkoutsPerRequest = 1.0 / 20

// logRetention is how much of each log stream the Loki-shaped server keeps.
const logRetention = 2 * time.Hour

// stopGrace is how long a server has to exit after SIGTERM.
const stopGrace = 10 * time.Second

// Options say where the playground's parts are and which ports it prefers.
type Options struct {
	// Verdict is the path of the verdict binary that serves.
	Verdict string
	// Fixtures is the fixtures directory of the repository.
	Fixtures string
	// Dir is an existing directory for the servers' files: Prometheus'
	// data, the store, the configs. The caller removes it.
	Dir string
	// PrometheusPort, LokiPort and ServePort are the ports to listen on
	// when free; 0 for any free port.
	PrometheusPort, LokiPort, ServePort int
	// Logf, when set, receives a line on each step of the start.
	Logf func(format string, args ...any)
}

// Env is a running playground.
type Env struct {
	// PrometheusURL, LokiURL and ServeURL are the servers' base URLs,
	// http://127.0.0.1:PORT.
	PrometheusURL, LokiURL, ServeURL string
	// ConfigDir holds the configs verdict serve stored at start.
	ConfigDir string
	// Configs are their names, sorted.
	Configs []string
	// Scenarios are the scenarios' names (the scope variable scenario),
	// sorted.
	Scenarios []string
	// ServeCommand is the verdict serve command line.
	ServeCommand []string

	wantPorts [3]int // Prometheus, Loki, verdict serve; 0: any

	prom   *promtest.Server
	loki   *lokitest.Server
	serve  *testproc.Process
	feed   *promfixtures.Feed
	prev   map[string]counterSample
	cancel context.CancelFunc
	fed    sync.WaitGroup
	failed chan error
	stop   sync.Once
}

// counterSample is a counter's last value and its time.
type counterSample struct {
	t time.Time
	v float64
}

// ErrNoPrometheus is returned by Start when prometheus is not on PATH.
var ErrNoPrometheus = errors.New("the playground needs Prometheus: install it (Debian and Ubuntu: sudo apt-get install prometheus) or put a prometheus binary on PATH")

// Start brings the playground up: it returns once verdict serve answers,
// with the data of the last hour written. The feed goes on in the
// background until Stop; Failed reports it stopping on an error.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if _, _, err := promtest.FindBinaries(); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoPrometheus, err)
	}
	if _, err := os.Stat(opts.Verdict); err != nil {
		return nil, fmt.Errorf("try: the verdict binary: %w", err)
	}
	e := &Env{failed: make(chan error, 1), prev: map[string]counterSample{},
		wantPorts: [3]int{opts.PrometheusPort, opts.LokiPort, opts.ServePort}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()

	scenarios, err := fixtures.Load(opts.Fixtures)
	if err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}
	var data []*promfixtures.Data
	for _, sc := range scenarios {
		d, err := promfixtures.Read(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("try: %w", err)
		}
		data = append(data, d)
		e.Scenarios = append(e.Scenarios, sc.Name)
	}
	now := time.Now()
	if e.feed, err = promfixtures.NewFeed(data, now.Add(-time.Hour)); err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}

	promDir := filepath.Join(opts.Dir, "prometheus")
	if err := os.MkdirAll(promDir, 0o700); err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}
	logf("starting Prometheus")
	promPort, err := port(opts.PrometheusPort)
	if err != nil {
		return nil, err
	}
	if e.prom, err = promtest.Launch(promDir, promPort, promtest.Options{RemoteWrite: true}); err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}
	e.PrometheusURL = e.prom.URL
	lokiPort, err := port(opts.LokiPort)
	if err != nil {
		return nil, err
	}
	if e.loki, err = lokitest.Listen("127.0.0.1:"+strconv.Itoa(lokiPort), lokitest.Options{Retention: logRetention}); err != nil {
		return nil, fmt.Errorf("try: the Loki-shaped server: %w", err)
	}
	e.LokiURL = e.loki.URL

	logf("writing the last hour of %d scenarios", len(data))
	if err := e.writeUntil(ctx, time.Now().Add(lead), time.Minute); err != nil {
		return nil, err
	}

	e.ConfigDir = filepath.Join(opts.Dir, "configs")
	if e.Configs, err = writeConfigs(opts.Fixtures, e.ConfigDir); err != nil {
		return nil, err
	}
	sources := filepath.Join(opts.Dir, "sources.yaml")
	text := fmt.Sprintf("prometheus: {url: %s}\nloki: {url: %s, pushURL: %s}\n", e.PrometheusURL, e.LokiURL, e.LokiURL)
	if err := os.WriteFile(sources, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}
	servePort, err := port(opts.ServePort)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(servePort)
	e.ServeURL = "http://" + addr
	e.ServeCommand = []string{opts.Verdict, "serve", "--listen", addr, "--db", "sqlite:" + filepath.Join(opts.Dir, "verdict.db"),
		"--config-dir", e.ConfigDir, "--sources-file", sources}
	logf("starting verdict serve")
	if e.serve, err = startServe(e.ServeCommand, e.ServeURL); err != nil {
		return nil, err
	}

	fctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.fed.Add(1)
	go e.feedOn(fctx)
	return e, nil
}

// port returns want when 127.0.0.1:want is free now, else a free port.
func port(want int) (int, error) {
	if want > 0 {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(want)); err == nil {
			l.Close()
			return want, nil
		}
	}
	p, err := testproc.FreePort()
	if err != nil {
		return 0, fmt.Errorf("try: %w", err)
	}
	return p, nil
}

// writeConfigs copies the configs of fixtures/prometheus and fixtures/try
// into dir and returns their names (each file's name: config).
func writeConfigs(root, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}
	var names []string
	for _, from := range []string{filepath.Join(root, "prometheus"), filepath.Join(root, "try")} {
		paths, err := filepath.Glob(filepath.Join(from, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("try: %w", err)
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("try: no configs in %s", from)
		}
		for _, path := range paths {
			text, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("try: %w", err)
			}
			name := configName(text)
			if name == "" {
				return nil, fmt.Errorf("try: %s has no top-level name field", path)
			}
			if slices.Contains(names, name) {
				return nil, fmt.Errorf("try: two configs named %s", name)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), text, 0o600); err != nil {
				return nil, fmt.Errorf("try: %w", err)
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// configName reads a config's top-level name: line.
func configName(text []byte) string {
	for line := range strings.Lines(string(text)) {
		if v, ok := strings.CutPrefix(line, "name:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// startServe starts verdict serve and waits until it is ready.
func startServe(args []string, base string) (*testproc.Process, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	proc, err := testproc.Start("verdict serve", cmd)
	if err != nil {
		return nil, fmt.Errorf("try: %w", err)
	}
	client := &http.Client{Timeout: time.Second}
	err = proc.WaitReady(60*time.Second, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/readyz: %s", base, resp.Status)
		}
		return nil
	})
	if err != nil {
		proc.Stop(syscall.SIGTERM, stopGrace)
		return nil, fmt.Errorf("try: %w", err)
	}
	return proc, nil
}

// writeUntil writes the feed's samples stamped up to until, batch by batch
// (samples of batch's length of time at once), and the matching log lines.
func (e *Env) writeUntil(ctx context.Context, until time.Time, batch time.Duration) error {
	for !e.feed.NextTime().After(until) {
		var series []promtest.Series
		index := map[string]int{}
		first := e.feed.NextTime()
		for !e.feed.NextTime().After(until) && e.feed.NextTime().Sub(first) < batch {
			t, samples := e.feed.Next()
			for _, s := range samples {
				key := seriesKey(s.Labels)
				i, ok := index[key]
				if !ok {
					i = len(series)
					index[key] = i
					series = append(series, promtest.Series{Labels: s.Labels})
				}
				series[i].Samples = append(series[i].Samples, promtest.Sample{Time: t, Value: s.Value})
			}
			e.pushLogs(t, samples)
		}
		if err := e.prom.Write(ctx, series...); err != nil {
			return fmt.Errorf("try: write to Prometheus: %w", err)
		}
	}
	return nil
}

// seriesKey identifies a series by its labels.
func seriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}

// pushLogs pushes the checkout lines of the rows that ended at t: for each
// pod, from the growth of its request and error counters since t−Step.
func (e *Env) pushLogs(t time.Time, samples []promfixtures.Sample) {
	type pod struct{ requests, errors float64 }
	pods := map[string]*pod{}
	podLabels := map[string]map[string]string{}
	for _, s := range samples {
		name := s.Labels["__name__"]
		if name != promfixtures.RequestsName && name != promfixtures.ErrorsName {
			continue
		}
		key := seriesKey(s.Labels)
		prev, ok := e.prev[key]
		e.prev[key] = counterSample{t: t, v: s.Value}
		if !ok || t.Sub(prev.t) != promfixtures.Step {
			continue
		}
		id := s.Labels["scenario"] + "/" + s.Labels["track"] + "/" + s.Labels["pod"]
		p := pods[id]
		if p == nil {
			p = &pod{}
			pods[id] = p
			podLabels[id] = map[string]string{"namespace": s.Labels["namespace"], "app": s.Labels["app"],
				"scenario": s.Labels["scenario"], "track": s.Labels["track"], "pod": s.Labels["pod"]}
		}
		if name == promfixtures.RequestsName {
			p.requests = s.Value - prev.v
		} else {
			p.errors = s.Value - prev.v
		}
	}
	for id, p := range pods {
		n := int(math.Round(p.requests * checkoutsPerRequest))
		failed := min(int(math.Round(p.errors)), n)
		lines := make([]lokitest.Line, 0, n)
		for i := range n {
			at := t.Add(-promfixtures.Step + time.Duration(i+1)*promfixtures.Step/time.Duration(n+1))
			text := `level=info msg="checkout completed" status=200`
			if (i+1)*failed/n > i*failed/n { // failed of the n lines, spread evenly
				text = `level=error msg="checkout failed" status=500`
			}
			lines = append(lines, lokitest.Line{Time: at, Text: text})
		}
		e.loki.Push(podLabels[id], lines...)
	}
}

// feedOn writes each next sample lead before its time until ctx ends.
func (e *Env) feedOn(ctx context.Context) {
	defer e.fed.Done()
	for {
		next := e.feed.NextTime()
		timer := time.NewTimer(time.Until(next.Add(-lead)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if err := e.writeUntil(ctx, next, promfixtures.Step); err != nil {
			if ctx.Err() == nil {
				e.failed <- err
			}
			return
		}
	}
}

// Failed receives the error that stopped the feed, if one does.
func (e *Env) Failed() <-chan error { return e.failed }

// ServeLog is what verdict serve wrote so far.
func (e *Env) ServeLog() string {
	if e.serve == nil {
		return ""
	}
	return e.serve.Log()
}

// Stop stops the feed and every server, each by its PID: verdict serve
// and Prometheus get SIGTERM, then SIGKILL after a grace period. It may be
// called more than once.
func (e *Env) Stop() {
	e.stop.Do(func() {
		if e.cancel != nil {
			e.cancel()
			e.fed.Wait()
		}
		if e.serve != nil {
			e.serve.Stop(syscall.SIGTERM, stopGrace)
		}
		if e.prom != nil {
			e.prom.StopGracefully(stopGrace)
		}
		if e.loki != nil {
			e.loki.Close()
		}
	})
}

// Addr is the host:port of a base URL.
func Addr(base string) string { return strings.TrimPrefix(base, "http://") }
