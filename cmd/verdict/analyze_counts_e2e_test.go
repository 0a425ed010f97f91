package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/verdict-aca/verdict/internal/lokitest"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// releaseScenario is one live canary of the release-signals tests: the
// traffic each track gets and how the canary behaves.
type releaseScenario struct {
	name string
	// perSecond is the requests per second of each track.
	baselineRPS, canaryRPS float64
	// errorRatio of each track, and completion of checkouts.
	baselineErrors, canaryErrors     float64
	baselineComplete, canaryComplete float64
	// canarySlower multiplies the canary's latencies.
	canarySlower float64
}

// classicBounds are the classic histogram's buckets.
var classicBounds = []float64{0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5}

// nativeSchema is the native histogram's resolution: buckets grow by 2^(1/8).
const nativeSchema = 3

// writeReleaseScenarios writes 50 minutes, up to end, of what a service's
// pods export for every scenario, scraped every 15 s: request and error
// counters, checkout counters, a classic latency histogram and a native
// one. It writes through remote write, a minute of every series at a time
// in time order, as Prometheus' head block wants them.
func writeReleaseScenarios(t *testing.T, srv *promtest.Server, end time.Time, scenarios []releaseScenario) {
	t.Helper()
	const scrape = 15 * time.Second
	start := end.Add(-50 * time.Minute)
	r := rand.New(rand.NewPCG(2026, 12))
	type state struct {
		requests, errors, started, completed float64
		buckets                              []float64 // classic, cumulative
		native                               map[int32]uint64
		count                                uint64
		sum                                  float64
	}
	states := map[string]*state{}
	key := func(sc, track string) string { return sc + "/" + track }
	for _, sc := range scenarios {
		for _, track := range []string{"baseline", "canary"} {
			states[key(sc.name, track)] = &state{requests: 5000, errors: 50, started: 500, completed: 350,
				buckets: make([]float64, len(classicBounds)+1), native: map[int32]uint64{}}
		}
	}
	var batch []promtest.Series
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := srv.Write(context.Background(), batch...); err != nil {
			t.Fatal(err)
		}
		batch = nil
	}
	for ts := start; !ts.After(end); ts = ts.Add(scrape) {
		for _, sc := range scenarios {
			for _, track := range []string{"baseline", "canary"} {
				st := states[key(sc.name, track)]
				rps, errRatio, complete, slower := sc.baselineRPS, sc.baselineErrors, sc.baselineComplete, 1.0
				if track == "canary" {
					rps, errRatio, complete, slower = sc.canaryRPS, sc.canaryErrors, sc.canaryComplete, sc.canarySlower
				}
				n := distuv.Poisson{Lambda: rps * scrape.Seconds(), Src: r}.Rand()
				if n > 0 {
					st.errors += distuv.Binomial{N: n, P: errRatio, Src: r}.Rand()
				}
				st.requests += n
				checkouts := distuv.Poisson{Lambda: rps * scrape.Seconds() / 10, Src: r}.Rand()
				st.started += checkouts
				if checkouts > 0 {
					st.completed += distuv.Binomial{N: checkouts, P: complete, Src: r}.Rand()
				}
				for range int(n) {
					v := 0.1 * slower * math.Exp(0.4*r.NormFloat64())
					for i, b := range classicBounds {
						if v <= b {
							st.buckets[i]++
						}
					}
					st.buckets[len(classicBounds)]++
					st.native[int32(math.Ceil(math.Log2(v)*math.Exp2(nativeSchema)))]++
					st.count++
					st.sum += v
				}
				labels := func(name string, extra ...string) map[string]string {
					l := map[string]string{"__name__": name, "scenario": sc.name, "track": track, "job": "shop"}
					for i := 0; i+1 < len(extra); i += 2 {
						l[extra[i]] = extra[i+1]
					}
					return l
				}
				sample := func(v float64) []promtest.Sample { return []promtest.Sample{{Time: ts, Value: v}} }
				batch = append(batch,
					promtest.Series{Labels: labels("http_requests_total", "code", "200"), Samples: sample(st.requests - st.errors)},
					promtest.Series{Labels: labels("http_requests_total", "code", "500"), Samples: sample(st.errors)},
					promtest.Series{Labels: labels("checkouts_started_total"), Samples: sample(st.started)},
					promtest.Series{Labels: labels("checkouts_completed_total"), Samples: sample(st.completed)},
				)
				for i, b := range classicBounds {
					batch = append(batch, promtest.Series{Labels: labels("http_request_duration_seconds_bucket", "le", strconv.FormatFloat(b, 'g', -1, 64)), Samples: sample(st.buckets[i])})
				}
				batch = append(batch, promtest.Series{Labels: labels("http_request_duration_seconds_bucket", "le", "+Inf"), Samples: sample(st.buckets[len(classicBounds)])})
				native := make(map[int32]uint64, len(st.native))
				for k, v := range st.native {
					native[k] = v
				}
				batch = append(batch, promtest.Series{Labels: labels("http_request_latency_seconds"),
					Histograms: []promtest.Histogram{{Time: ts, Schema: nativeSchema, ZeroThreshold: 1e-9, Sum: st.sum, Positive: native}}})
			}
		}
		if ts.Sub(start)%time.Minute == 0 {
			flush()
		}
	}
	flush()
}

// releaseConfig judges the release signals as the docs recommend: errors
// per request, checkout completion, and latency from the classic and the
// native histogram, each count over its own step ([{{.step}}]).
const releaseConfig = `name: shop-release
signals:
  - name: error_ratio
    test: rate
    direction: increase
    critical: true
    query: 'sum(increase(http_requests_total{code="500",scenario="{{.scenario}}",track="{{.track}}"}[{{.step}}]))'
    exposureQuery: 'sum(increase(http_requests_total{scenario="{{.scenario}}",track="{{.track}}"}[{{.step}}]))'
  - name: checkout_completion
    test: proportion
    direction: decrease
    critical: true
    allowedChange: 2%
    query: 'sum(increase(checkouts_completed_total{scenario="{{.scenario}}",track="{{.track}}"}[{{.step}}]))'
    trialsQuery: 'sum(increase(checkouts_started_total{scenario="{{.scenario}}",track="{{.track}}"}[{{.step}}]))'
  - name: latency_p50
    test: histogram
    quantile: 0.5
    direction: increase
    query: 'sum by (le) (increase(http_request_duration_seconds_bucket{scenario="{{.scenario}}",track="{{.track}}"}[{{.step}}]))'
  - name: latency_p99_native
    test: histogram
    quantile: 0.99
    direction: increase
    query: 'sum(increase(http_request_latency_seconds{scenario="{{.scenario}}",track="{{.track}}"}[{{.step}}]))'
`

// TestAnalyzeReleaseSignals runs verdict analyze against a real Prometheus
// holding counters and histograms (classic and native) written as pods
// export them: the canaries the release-signals issue found judged wrong
// are judged right, over an hour's worth of minutes and over the 5-minute
// window rollout controllers ask about.
func TestAnalyzeReleaseSignals(t *testing.T) {
	srv := promtest.StartWith(t, promtest.Options{RemoteWrite: true, NativeHistograms: true})
	end := time.Now().Truncate(time.Minute)
	scenarios := []releaseScenario{
		{name: "healthy-95-5", baselineRPS: 95, canaryRPS: 5, baselineErrors: 0.01, canaryErrors: 0.01, baselineComplete: 0.7, canaryComplete: 0.7, canarySlower: 1},
		{name: "errors-doubled-95-5", baselineRPS: 95, canaryRPS: 5, baselineErrors: 0.01, canaryErrors: 0.02, baselineComplete: 0.7, canaryComplete: 0.7, canarySlower: 1},
		{name: "errors-4x-99-1", baselineRPS: 99, canaryRPS: 1, baselineErrors: 0.005, canaryErrors: 0.02, baselineComplete: 0.7, canaryComplete: 0.7, canarySlower: 1},
		{name: "checkout-drop-90-10", baselineRPS: 90, canaryRPS: 10, baselineErrors: 0.01, canaryErrors: 0.01, baselineComplete: 0.7, canaryComplete: 0.6, canarySlower: 1},
		{name: "slower-90-10", baselineRPS: 90, canaryRPS: 10, baselineErrors: 0.01, canaryErrors: 0.01, baselineComplete: 0.7, canaryComplete: 0.7, canarySlower: 1.3},
	}
	writeReleaseScenarios(t, srv, end, scenarios)
	cfg := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(cfg, []byte(releaseConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scenario, lookback string
		want               string
		signal, class      string // a signal and its classification
	}{
		{"healthy-95-5", "45m", "pass", "error_ratio", "pass"},
		{"errors-doubled-95-5", "45m", "fail", "error_ratio", "high"},
		{"errors-4x-99-1", "15m", "fail", "error_ratio", "high"},
		{"checkout-drop-90-10", "45m", "fail", "checkout_completion", "low"},
		{"slower-90-10", "45m", "fail", "latency_p50", "high"},
		{"slower-90-10", "45m", "fail", "latency_p99_native", "high"},
		// Rollout controllers ask about the last 5 minutes.
		{"healthy-95-5", "5m", "pass", "error_ratio", "pass"},
		{"slower-90-10", "5m", "fail", "latency_p50", "high"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.lookback+"/"+tt.signal, func(t *testing.T) {
			code, rep, stderr := analyzeLive(t, "--config", cfg, "--prometheus-url", srv.URL, "--lookback", tt.lookback, "--step", "1m",
				"--baseline-scope", "scenario="+tt.scenario+",track=baseline", "--canary-scope", "scenario="+tt.scenario+",track=canary")
			var got string
			for _, s := range rep.Signals {
				if s.Name == tt.signal {
					got = s.Classification
				}
			}
			if rep.Verdict != tt.want || code != exitOf[tt.want] || got != tt.class {
				var reasons []string
				for _, s := range rep.Signals {
					reasons = append(reasons, fmt.Sprintf("%s %s: %s", s.Name, s.Classification, s.Reason))
				}
				t.Errorf("verdict %s (exit %d, %s), %s %s; want %s, %s %s\n%s\nstderr: %s", rep.Verdict, code, rep.Reason, tt.signal, got, tt.want, tt.signal, tt.class,
					strings.Join(reasons, "\n"), stderr)
			}
		})
	}
}

// TestAnalyzeLokiCounts judges errors per request from log lines served by
// the Loki-shaped server, which, as Loki, writes no point for a step where
// no line matched: a canary at 5% of the traffic with three times the
// error lines fails, and errors over a baseline that logged none fail too
// (its error query returns nothing at all, which is no errors, not no data).
func TestAnalyzeLokiCounts(t *testing.T) {
	srv := lokitest.Start(t, lokitest.Options{})
	end := time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)
	start := end.Add(-30 * time.Minute)
	r := rand.New(rand.NewPCG(7, 7))
	push := func(scenario, track string, perMinute, errRatio float64) {
		var lines []lokitest.Line
		for m := start; m.Before(end); m = m.Add(time.Minute) {
			n := int(distuv.Poisson{Lambda: perMinute, Src: r}.Rand())
			for i := range n {
				status := "200"
				if r.Float64() < errRatio {
					status = "500"
				}
				lines = append(lines, lokitest.Line{Time: m.Add(time.Duration(i) * time.Minute / time.Duration(n+1)), Text: "GET /checkout status=" + status})
			}
		}
		srv.Push(map[string]string{"app": "shop", "scenario": scenario, "track": track}, lines...)
	}
	push("tripled", "baseline", 950, 0.01)
	push("tripled", "canary", 50, 0.03)
	push("zero-baseline", "baseline", 950, 0)
	push("zero-baseline", "canary", 50, 0.01)
	push("healthy", "baseline", 950, 0.004)
	push("healthy", "canary", 50, 0.004)
	cfg := write(t, t.TempDir(), "logs.yaml", `name: logs
signals:
  - name: error_ratio
    source: loki
    test: rate
    direction: increase
    query: 'sum(count_over_time({app="shop", scenario="{{.scenario}}", track="{{.track}}"} |= "status=500" [{{.step}}]))'
    exposureQuery: 'sum(count_over_time({app="shop", scenario="{{.scenario}}", track="{{.track}}"} [{{.step}}]))'
`)
	for _, tc := range []struct{ scenario, want string }{{"tripled", "fail"}, {"zero-baseline", "fail"}, {"healthy", "pass"}} {
		t.Run(tc.scenario, func(t *testing.T) {
			code, rep, stderr := analyzeLive(t, "--config", cfg, "--loki-url", srv.URL, "--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339), "--step", "1m",
				"--baseline-scope", "scenario="+tc.scenario+",track=baseline", "--canary-scope", "scenario="+tc.scenario+",track=canary")
			if rep.Verdict != tc.want || code != exitOf[tc.want] {
				t.Errorf("verdict %s (exit %d): %s; want %s\n%+v\nstderr: %s", rep.Verdict, code, rep.Reason, tc.want, rep.Signals, stderr)
			}
		})
	}
}
