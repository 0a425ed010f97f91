package analysis_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/livebench"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/prometheus"
)

// liveBenchConfig is livebench's config: one Mann-Whitney signal per series.
func liveBenchConfig(b *testing.B) *analysis.Config {
	c, err := analysis.ParseConfig("bench.yaml", []byte(livebench.ConfigYAML()))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkAnalyzeLive measures one live analysis of 100 signals × 2
// scopes × 1h at a 10s step (200 range queries of 361 points) against a
// local Prometheus. ns/op is the wall time of analysis.Run with
// parallelism 8. Reported beside it, per run:
//
//   - fetch-ms: the same 200 queries with the same parallelism and nothing
//     else (no judging, scoring or report), and analysis-overhead-% = how
//     much longer Run takes than that: what Verdict adds to the queries.
//   - judge-ms: judge.Judge on the 100 fetched pairs, one after another, as
//     Run does once every query has answered: the bulk of that overhead.
//   - serial-ms: the 200 queries one after another (sum of single-query
//     times), and slowest-ms: the slowest of them; overhead-vs-slowest-% =
//     (Run − slowest) / slowest, the distance from the ideal of a run that
//     takes no longer than its slowest query.
//   - peak-rss-MB: the benchmark process's peak resident set (VmHWM in
//     /proc/self/status, Linux; it includes the test data generation), and
//     alloc-MB/op: bytes allocated by Run (runtime.MemStats.TotalAlloc).
func BenchmarkAnalyzeLive(b *testing.B) {
	srv := promtest.Start(b, livebench.Data())
	src, err := prometheus.New(prometheus.Config{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	cfg := liveBenchConfig(b)
	sources := analysis.SourceSet{"prometheus": src}
	start, end := livebench.Window()
	req := analysis.LiveRequest{
		Scopes:      analysis.Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}},
		Window:      metrics.Window{Start: start, End: end, Step: livebench.Step},
		Parallelism: livebench.Parallelism,
	}
	ctx := context.Background()
	run := func() *analysis.Report {
		rep, err := analysis.Run(ctx, cfg, sources, req)
		if err != nil {
			b.Fatal(err)
		}
		return rep
	}
	// Warm up, and check that the run judged what it should.
	rep := run()
	high := 0
	for _, s := range rep.Signals {
		if s.Baseline.Count != livebench.Points || s.Canary.Count != livebench.Points {
			b.Fatalf("signal %s: %d and %d points, want 361", s.Name, s.Baseline.Count, s.Canary.Count)
		}
		if s.Classification == "high" {
			high++
		}
	}
	if high != livebench.Signals/10 {
		b.Fatalf("%d signals high, want %d", high, livebench.Signals/10)
	}

	type job struct {
		q     metrics.Query
		scope metrics.Scope
	}
	var jobs []job
	for _, s := range cfg.Signals {
		q := metrics.Query{Signal: s.Name, Expr: s.Query}
		jobs = append(jobs, job{q, req.Scopes.Baseline}, job{q, req.Scopes.Canary})
	}
	fetch := func(j job) []float64 {
		res, err := src.Fetch(ctx, j.q, j.scope, req.Window)
		if err != nil || len(res.Series) != 1 {
			b.Fatalf("%s: %d series, %v", j.q.Signal, len(res.Series), err)
		}
		return res.Series[0].Values
	}
	values := make([][]float64, len(jobs))

	var wall, fetchOnly, judging, serial, slowest time.Duration
	var alloc uint64
	b.ResetTimer()
	for range b.N {
		before := totalAlloc()
		t0 := time.Now()
		run()
		wall += time.Since(t0)
		alloc += totalAlloc() - before

		b.StopTimer()
		t0 = time.Now()
		var g errgroup.Group
		g.SetLimit(livebench.Parallelism)
		for i, j := range jobs {
			g.Go(func() error { values[i] = fetch(j); return nil })
		}
		_ = g.Wait()
		fetchOnly += time.Since(t0)

		t0 = time.Now()
		for i, s := range cfg.Signals {
			judge.Judge(s.Spec, values[2*i], values[2*i+1], judge.Options{Confidence: cfg.Confidence})
		}
		judging += time.Since(t0)

		var worst time.Duration
		for _, j := range jobs {
			t1 := time.Now()
			fetch(j)
			d := time.Since(t1)
			serial += d
			worst = max(worst, d)
		}
		slowest += worst
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	msOf := func(d time.Duration) float64 { return float64(d) / 1e6 / n }
	b.ReportMetric(msOf(fetchOnly), "fetch-ms")
	b.ReportMetric(msOf(judging), "judge-ms")
	b.ReportMetric(msOf(serial), "serial-ms")
	b.ReportMetric(msOf(slowest), "slowest-ms")
	b.ReportMetric(100*(float64(wall)-float64(fetchOnly))/float64(fetchOnly), "analysis-overhead-%")
	b.ReportMetric(100*(float64(wall)-float64(slowest))/float64(slowest), "overhead-vs-slowest-%")
	b.ReportMetric(float64(alloc)/n/(1<<20), "alloc-MB/op")
	if rss, ok := peakRSS(); ok {
		b.ReportMetric(rss, "peak-rss-MB")
	}
}

// totalAlloc is the bytes allocated by the process so far.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// peakRSS reads the process's peak resident set size in MB (Linux).
func peakRSS() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb / 1024, err == nil
			}
		}
	}
	return 0, false
}
