package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-aca/verdict/internal/livebench"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// BenchmarkAnalyzeCommand compares `verdict analyze` with the queries it
// sends, under the same conditions. Each op is one round of runs, in an
// order that rotates from round to round:
//
//   - raw: the 200 range queries of internal/livebench (100 signals × 2
//     scopes × 1 h at 10 s, 361 points each), sent by one net/http client
//     with a fresh transport, 8 at a time, as client_golang sends them
//     (POST, the same form), each answer read to its end and nothing else;
//   - analyze: the verdict binary (built once) as a process: `verdict
//     analyze` of the same config, scopes and window, parallelism 8, the
//     table report to a pipe: process start, config, queries, judging,
//     scoring and report;
//   - run: the same analysis in this process (the command's run function,
//     with no process start);
//   - before, when VERDICT_BENCH_BEFORE names another verdict binary (an
//     earlier commit's): that binary as analyze runs this one.
//
// Reported, as medians over the rounds (the machine is shared; -v logs
// every round): each run's wall time (raw-ms, analyze-ms, run-ms,
// before-ms), its ratio to the same round's raw queries (analyze-x with
// its smallest and largest, run-x, before-x), the CPU time of the client
// (raw-cpu-ms: this process while it sends the raw queries; analyze-cpu-ms
// and before-cpu-ms: the child's user+system time; run-cpu-ms: this
// process) and Prometheus's CPU time during raw and analyze
// (prom-raw-cpu-ms, prom-analyze-cpu-ms, from /proc/PID/task/*/schedstat).
func BenchmarkAnalyzeCommand(b *testing.B) {
	srv := promtest.Start(b, livebench.Data())
	dir := b.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	config := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(config, []byte(livebench.ConfigYAML()), 0o600); err != nil {
		b.Fatal(err)
	}
	from, to := livebench.Window()
	args := []string{"analyze", "--config", config, "--prometheus-url", srv.URL,
		"--baseline-scope", "track=baseline", "--canary-scope", "track=canary",
		"--start", from.Format(time.RFC3339), "--end", to.Format(time.RFC3339),
		"--step", livebench.Step.String(), "--parallelism", strconv.Itoa(livebench.Parallelism)}
	ctx := context.Background()

	// Each arm returns the client's CPU time.
	self := func(f func() error) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			c0 := processCPU()
			err := f()
			return processCPU() - c0, err
		}
	}
	type arm struct {
		name string
		run  func() (time.Duration, error)
	}
	arms := []arm{
		{"raw", self(func() error { return rawQueries(ctx, srv.URL, from, to) })},
		{"analyze", func() (time.Duration, error) { return runProcess(bin, args) }},
		{"run", self(func() error {
			var stdout, stderr bytes.Buffer
			if code := run(ctx, args, strings.NewReader(""), &stdout, &stderr); code != exitMarginal {
				return fmt.Errorf("analyze exited %d, want %d\n%s", code, exitMarginal, stderr.String())
			}
			return nil
		})},
	}
	if before := os.Getenv("VERDICT_BENCH_BEFORE"); before != "" {
		arms = append(arms, arm{"before", func() (time.Duration, error) { return runProcess(before, args) }})
	}
	// Warm up Prometheus's caches, and check each arm once.
	for _, a := range arms {
		if _, err := a.run(); err != nil {
			b.Fatalf("%s: %v", a.name, err)
		}
	}

	type figures struct{ wall, cpu, prom time.Duration }
	var rounds []map[string]figures
	for i := 0; b.Loop(); i++ {
		r := map[string]figures{}
		for k := range arms {
			a := arms[(i+k)%len(arms)]
			p0 := threadsCPU(srv.PID())
			t0 := time.Now()
			cpu, err := a.run()
			wall := time.Since(t0)
			if err != nil {
				b.Fatalf("%s: %v", a.name, err)
			}
			r[a.name] = figures{wall, cpu, threadsCPU(srv.PID()) - p0}
		}
		rounds = append(rounds, r)
		line := fmt.Sprintf("round %d:", i+1)
		for _, a := range arms {
			f := r[a.name]
			line += fmt.Sprintf(" %s %.1f ms (%.2fx, cpu %.1f ms, prometheus %.1f ms);", a.name, ms(f.wall), float64(f.wall)/float64(r["raw"].wall), ms(f.cpu), ms(f.prom))
		}
		b.Log(line)
	}
	of := func(f func(map[string]figures) float64) []float64 {
		out := make([]float64, len(rounds))
		for i, r := range rounds {
			out[i] = f(r)
		}
		slices.Sort(out)
		return out
	}
	median := func(v []float64) float64 {
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	for _, a := range arms {
		wall := of(func(r map[string]figures) float64 { return ms(r[a.name].wall) })
		b.ReportMetric(median(wall), a.name+"-ms")
		b.ReportMetric(median(of(func(r map[string]figures) float64 { return ms(r[a.name].cpu) })), a.name+"-cpu-ms")
		if a.name == "raw" {
			continue
		}
		ratio := of(func(r map[string]figures) float64 { return float64(r[a.name].wall) / float64(r["raw"].wall) })
		b.ReportMetric(median(ratio), a.name+"-x")
		if a.name == "analyze" {
			b.ReportMetric(ratio[0], "analyze-x-min")
			b.ReportMetric(ratio[len(ratio)-1], "analyze-x-max")
		}
	}
	b.ReportMetric(median(of(func(r map[string]figures) float64 { return ms(r["raw"].prom) })), "prom-raw-cpu-ms")
	b.ReportMetric(median(of(func(r map[string]figures) float64 { return ms(r["analyze"].prom) })), "prom-analyze-cpu-ms")
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// runProcess runs verdict with args, wants the benchmark's verdict
// (marginal: every tenth canary is 20% higher, score 90) and returns the
// process's user and system time.
func runProcess(bin string, args []string) (time.Duration, error) {
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		return 0, err
	}
	if code := cmd.ProcessState.ExitCode(); code != exitMarginal {
		return 0, fmt.Errorf("%s exited %d, want %d\n%s", bin, code, exitMarginal, stderr.String())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// rawQueries sends the benchmark's 200 range queries to a Prometheus at
// base, 8 at a time, over one new transport, and reads every answer to
// its end.
func rawQueries(ctx context.Context, base string, from, to time.Time) error {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = livebench.Parallelism
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(livebench.Parallelism)
	for s := range livebench.Signals {
		for _, track := range []string{"baseline", "canary"} {
			form := url.Values{
				"query":   {livebench.Rendered(s, track)},
				"start":   {strconv.FormatInt(from.Unix(), 10)},
				"end":     {strconv.FormatInt(to.Unix(), 10)},
				"step":    {strconv.FormatFloat(livebench.Step.Seconds(), 'f', -1, 64)},
				"timeout": {"10s"},
			}
			g.Go(func() error {
				req, err := http.NewRequestWithContext(gctx, http.MethodPost, base+"/api/v1/query_range", strings.NewReader(form.Encode()))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				n, err := io.Copy(io.Discard, resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK || n < livebench.Points*10 {
					return fmt.Errorf("query %d %s: HTTP %d, %d bytes", s, track, resp.StatusCode, n)
				}
				return nil
			})
		}
	}
	return g.Wait()
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadsCPU is the CPU time so far of every thread of process pid (Linux:
// the first field of /proc/PID/task/TID/schedstat, in nanoseconds); 0 where
// it cannot be read. Threads that have exited are not counted, so it is a
// figure for a long-lived server such as Prometheus.
func threadsCPU(pid int) time.Duration {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}
