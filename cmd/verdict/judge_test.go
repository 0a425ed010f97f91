package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// seriesFile builds a CSV series file of one-minute windows:
// timestamp,signal,le,value.
type seriesFile struct{ b strings.Builder }

// windowTime is the timestamp of window i.
func windowTime(i int) string { return strconv.Itoa(1748959200 + 60*i) }

func newSeriesFile() *seriesFile {
	f := &seriesFile{}
	f.b.WriteString("timestamp,signal,le,value\n")
	return f
}

// plain adds a plain series, one value per window.
func (f *seriesFile) plain(signal string, values []float64) *seriesFile {
	for i, v := range values {
		fmt.Fprintf(&f.b, "%s,%s,,%s\n", windowTime(i), signal, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return f
}

// histogram adds a histogram series: per window, the cumulative count at
// or below each bound (the last +Inf).
func (f *seriesFile) histogram(signal string, bounds []float64, windows [][]float64) *seriesFile {
	for i, counts := range windows {
		for j, c := range counts {
			le := strconv.FormatFloat(bounds[j], 'g', -1, 64)
			if math.IsInf(bounds[j], 1) {
				le = "+Inf"
			}
			fmt.Fprintf(&f.b, "%s,%s,%s,%s\n", windowTime(i), signal, le, strconv.FormatFloat(c, 'g', -1, 64))
		}
	}
	return f
}

func (f *seriesFile) write(t *testing.T, dir, name string) string {
	t.Helper()
	return write(t, dir, name, f.b.String())
}

// spread divides total into n whole parts differing by at most one.
func spread(total, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(total / n)
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// constant is n windows of v.
func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// exactShare gives each window round(share × running exposure) − what the
// windows before got, so that every prefix holds the share as closely as
// whole events allow: no noise at all, for canaries that must pass.
func exactShare(exposure []float64, share float64) []float64 {
	out := make([]float64, len(exposure))
	var total, given float64
	for i, n := range exposure {
		total += n
		out[i] = math.Round(share*total) - given
		given += out[i]
	}
	return out
}

// binomialDraws draws successes of each window's trials with probability p.
func binomialDraws(rng *rand.Rand, trials []float64, p float64) []float64 {
	out := make([]float64, len(trials))
	for i, n := range trials {
		for range int(n) {
			if rng.Float64() < p {
				out[i]++
			}
		}
	}
	return out
}

// latencyBounds are the bucket bounds (seconds) of the latency histograms.
var latencyBounds = []float64{0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, math.Inf(1)}

// lognormalCDF is P(X ≤ x) for X lognormal with the given median and σ.
func lognormalCDF(x, median, sigma float64) float64 {
	if math.IsInf(x, 1) {
		return 1
	}
	return 0.5 * math.Erfc(-math.Log(x/median)/(sigma*math.Sqrt2))
}

// expectedHistogram is windows of n requests with lognormal latency, each
// bucket holding exactly its expected cumulative count (rounded).
func expectedHistogram(windows int, n, median, sigma float64) [][]float64 {
	out := make([][]float64, windows)
	for w := range out {
		row := make([]float64, len(latencyBounds))
		for j, b := range latencyBounds {
			row[j] = math.Round(n * lognormalCDF(b, median, sigma))
		}
		out[w] = row
	}
	return out
}

// drawnHistogram is windows of n requests whose latencies are drawn from a
// lognormal; a share slow of them are slowed by a factor of slowBy.
func drawnHistogram(rng *rand.Rand, windows, n int, median, sigma, slow, slowBy float64) [][]float64 {
	out := make([][]float64, windows)
	for w := range out {
		row := make([]float64, len(latencyBounds))
		for range n {
			x := median * math.Exp(sigma*rng.NormFloat64())
			if rng.Float64() < slow {
				x *= slowBy
			}
			for j, b := range latencyBounds {
				if x <= b {
					row[j]++
				}
			}
		}
		out[w] = row
	}
	return out
}

const (
	errorRatioConfig = `name: shop
signals:
  - name: error_ratio
    test: rate
    series: http_5xx
    exposure: http_requests
    direction: increase
`
	checkoutConfig = `name: shop
signals:
  - name: checkout_completion
    test: proportion
    series: checkouts_completed
    trials: checkouts_started
    direction: decrease
    allowedChange: 2%
`
	latencyConfig = `name: shop
signals:
  - name: p99_latency
    test: histogram
    series: http_request_duration_seconds
    quantile: 0.99
    direction: increase
    allowedChange: 10%
`
)

// TestJudgeReleaseSignals judges, from files through the CLI, the canaries
// of the issue "Release signals as they really are": counts with their
// traffic, success ratios and latency histograms.
func TestJudgeReleaseSignals(t *testing.T) {
	dir := t.TempDir()
	const windows = 60
	rng := rand.New(rand.NewPCG(7, 11))

	// A canary at 5% of the traffic: 950 requests a minute on the baseline,
	// 50 on the canary; its error ratio doubles from 1% to 2%.
	baseReq, canReq := constant(windows, 950), constant(windows, 50)
	fivePctBase := newSeriesFile().plain("http_requests", baseReq).plain("http_5xx", binomialDraws(rng, baseReq, 0.01)).write(t, dir, "5pct-base.csv")
	fivePctCan := newSeriesFile().plain("http_requests", canReq).plain("http_5xx", binomialDraws(rng, canReq, 0.02)).write(t, dir, "5pct-canary.csv")
	fivePctSame := newSeriesFile().plain("http_requests", canReq).plain("http_5xx", exactShare(canReq, 0.01)).write(t, dir, "5pct-same.csv")
	fivePctSameBase := newSeriesFile().plain("http_requests", baseReq).plain("http_5xx", exactShare(baseReq, 0.01)).write(t, dir, "5pct-same-base.csv")

	// A 1% canary over 15 minutes: 13 errors in 926 requests against 437 in
	// 89,921 (1.4% against 0.49%).
	fifteenBase := newSeriesFile().plain("http_requests", spread(89921, 15)).plain("http_5xx", spread(437, 15)).write(t, dir, "15m-base.csv")
	fifteenCan := newSeriesFile().plain("http_requests", spread(926, 15)).plain("http_5xx", spread(13, 15)).write(t, dir, "15m-canary.csv")
	fifteenSame := newSeriesFile().plain("http_requests", spread(926, 15)).plain("http_5xx", spread(4, 15)).write(t, dir, "15m-same.csv")

	// Checkout completion: 70% of started checkouts complete on the
	// baseline, 63% on the canary (10% fewer; 2% allowed).
	started, canStarted := constant(windows, 300), constant(windows, 100)
	checkoutBase := newSeriesFile().plain("checkouts_started", started).plain("checkouts_completed", binomialDraws(rng, started, 0.70)).write(t, dir, "checkout-base.csv")
	checkoutDrop := newSeriesFile().plain("checkouts_started", canStarted).plain("checkouts_completed", binomialDraws(rng, canStarted, 0.63)).write(t, dir, "checkout-drop.csv")
	checkoutSameBase := newSeriesFile().plain("checkouts_started", started).plain("checkouts_completed", exactShare(started, 0.70)).write(t, dir, "checkout-same-base.csv")
	checkoutSame := newSeriesFile().plain("checkouts_started", canStarted).plain("checkouts_completed", exactShare(canStarted, 0.70)).write(t, dir, "checkout-same.csv")

	// Latency histograms: a median of 80 ms; on the canary 4% of requests
	// take three times as long, which moves the p99 from about 0.26 s to
	// about 0.39 s (read from the buckets).
	const latencyMetric = "http_request_duration_seconds"
	latBase := newSeriesFile().histogram(latencyMetric, latencyBounds, drawnHistogram(rng, windows, 900, 0.08, 0.5, 0, 1)).write(t, dir, "latency-base.csv")
	latSlow := newSeriesFile().histogram(latencyMetric, latencyBounds, drawnHistogram(rng, windows, 100, 0.08, 0.5, 0.04, 3)).write(t, dir, "latency-slow.csv")
	latSameBase := newSeriesFile().histogram(latencyMetric, latencyBounds, expectedHistogram(windows, 900, 0.08, 0.5)).write(t, dir, "latency-same-base.csv")
	latSame := newSeriesFile().histogram(latencyMetric, latencyBounds, expectedHistogram(windows, 100, 0.08, 0.5)).write(t, dir, "latency-same.csv")

	// The same latency regression as JSON series files.
	latencyJSON := func(name string, h [][]float64) string {
		bounds := make([]any, len(latencyBounds))
		for i, b := range latencyBounds {
			bounds[i] = b
			if math.IsInf(b, 1) {
				bounds[i] = "+Inf"
			}
		}
		data, err := json.Marshal(map[string]any{latencyMetric: map[string]any{"le": bounds, "counts": h}})
		if err != nil {
			t.Fatal(err)
		}
		return write(t, dir, name, string(data))
	}
	latBaseJSON := latencyJSON("latency-base.json", drawnHistogram(rng, windows, 900, 0.08, 0.5, 0, 1))
	latSlowJSON := latencyJSON("latency-slow.json", drawnHistogram(rng, windows, 100, 0.08, 0.5, 0.04, 3))

	errorRatio := write(t, dir, "error-ratio.yaml", errorRatioConfig)
	checkout := write(t, dir, "checkout.yaml", checkoutConfig)
	latency := write(t, dir, "latency.yaml", latencyConfig)

	tests := []struct {
		name                     string
		config, baseline, canary string
		code                     int
		verdict, classification  string
		reason                   string // fragment of the signal's reason
	}{
		{"5% canary whose error ratio doubled", errorRatio, fivePctBase, fivePctCan, 1, "fail", "high", "of http_requests"},
		{"5% canary with the baseline's error ratio", errorRatio, fivePctSameBase, fivePctSame, 0, "pass", "pass", "of http_requests"},
		{"1% canary, 13 errors in 926 requests against 437 in 89,921", errorRatio, fifteenBase, fifteenCan, 1, "fail", "high", "canary 13 of 926, baseline 437 of 89,921"},
		{"1% canary, 4 errors in 926 requests against 437 in 89,921", errorRatio, fifteenBase, fifteenSame, 0, "pass", "pass", "canary 4 of 926"},
		{"checkout completion drops from 70% to 63%", checkout, checkoutBase, checkoutDrop, 1, "fail", "low", "of checkouts_started succeeded"},
		{"checkout completion unchanged", checkout, checkoutSameBase, checkoutSame, 0, "pass", "pass", "70% vs 70% of checkouts_started succeeded"},
		{"latency histogram: the canary's p99 regresses", latency, latBase, latSlow, 1, "fail", "high", "p99"},
		{"latency histogram: JSON files, the canary's p99 regresses", latency, latBaseJSON, latSlowJSON, 1, "fail", "high", "p99"},
		{"latency histogram: the same distribution", latency, latSameBase, latSame, 0, "pass", "pass", "p99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := invoke(t, "judge", "--config", tt.config, "--baseline", tt.baseline, "--canary", tt.canary, "--format", "json")
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			var rep struct {
				Verdict string
				Signals []struct{ Name, Classification, Reason string }
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if rep.Verdict != tt.verdict || len(rep.Signals) != 1 {
				t.Fatalf("report %+v, want verdict %s with one signal", rep, tt.verdict)
			}
			s := rep.Signals[0]
			t.Log(s.Reason)
			if s.Classification != tt.classification || !strings.Contains(s.Reason, tt.reason) {
				t.Errorf("%s is %s (%s), want %s with a reason containing %q", s.Name, s.Classification, s.Reason, tt.classification, tt.reason)
			}
		})
	}

	t.Run("every report format renders a histogram and a count signal", func(t *testing.T) {
		for _, format := range []string{"table", "markdown", "html"} {
			for _, c := range []struct{ config, base, canary string }{{latency, latBase, latSlow}, {errorRatio, fivePctBase, fivePctCan}} {
				code, out, stderr := invoke(t, "judge", "--config", c.config, "--baseline", c.base, "--canary", c.canary, "--format", format)
				if code != 1 || out == "" {
					t.Errorf("%s: exit %d, %d bytes of output; stderr: %s", format, code, len(out), stderr)
				}
			}
		}
	})
}

// TestJudgeReleaseSignalsBadInput checks that counts and histograms that
// cannot be judged end in one sentence naming the signal and exit 65:
// never a panic, never a pass.
func TestJudgeReleaseSignalsBadInput(t *testing.T) {
	dir := t.TempDir()
	const windows = 30
	req := constant(windows, 500)
	goodBase := newSeriesFile().plain("http_requests", req).plain("http_5xx", exactShare(req, 0.01)).write(t, dir, "base.csv")
	errorRatio := write(t, dir, "error-ratio.yaml", errorRatioConfig)
	// error_ratio beside two healthy signals: a signal that cannot be
	// judged must not let the others pass the canary (scored as missing
	// data, one signal of three would leave a pass).
	withOthers := write(t, dir, "three.yaml", errorRatioConfig+`  - name: cpu
    direction: increase
  - name: memory
    direction: increase
`)
	cpu := make([]float64, windows)
	for i := range cpu {
		cpu[i] = float64(40 + i%7)
	}
	goodBaseOthers := newSeriesFile().plain("http_requests", req).plain("http_5xx", exactShare(req, 0.01)).plain("cpu", cpu).plain("memory", cpu).write(t, dir, "base-others.csv")
	perSecondOthers := newSeriesFile().plain("http_requests", constant(windows, 8.3)).plain("http_5xx", constant(windows, 0.2)).plain("cpu", cpu).plain("memory", cpu).write(t, dir, "rates-others.csv")

	latency := write(t, dir, "latency.yaml", latencyConfig)
	const metric = "http_request_duration_seconds"
	latBase := newSeriesFile().histogram(metric, latencyBounds, expectedHistogram(windows, 900, 0.08, 0.5)).write(t, dir, "lat-base.csv")
	notCumulative := expectedHistogram(windows, 100, 0.08, 0.5)
	notCumulative[3][5], notCumulative[3][6] = notCumulative[3][6], notCumulative[3][5]-1
	otherBounds := []float64{0.05, 0.1, 0.2, 0.5, 1, math.Inf(1)}
	other := make([][]float64, windows)
	for w := range other {
		for _, b := range otherBounds {
			other[w] = append(other[w], math.Round(100*lognormalCDF(b, 0.08, 0.5)))
		}
	}

	tests := []struct {
		name, config, baseline, canary string
		want                           string // fragment of the one-line message
	}{
		{"a per-second rate where counts are needed", errorRatio, goodBase,
			newSeriesFile().plain("http_requests", constant(windows, 8.3)).plain("http_5xx", constant(windows, 0.2)).write(t, dir, "rates.csv"),
			"error_ratio: canary window 1 of events is 0.2; a count below one event is a per-second rate"},
		{"a per-second rate beside healthy signals", withOthers, goodBaseOthers, perSecondOthers,
			"error_ratio: canary window 1 of events is 0.2"},
		{"an exposure smaller than the events", errorRatio, goodBase,
			newSeriesFile().plain("http_requests", constant(windows, 50)).plain("http_5xx", constant(windows, 60)).write(t, dir, "more-errors.csv"),
			"error_ratio: canary window 1 has 60 events but only 50 http_requests"},
		{"a missing exposure series", errorRatio, goodBase,
			newSeriesFile().plain("http_5xx", constant(windows, 1)).write(t, dir, "no-requests.csv"),
			`no-requests.csv: has no series "http_requests", the exposure of signal "error_ratio"`},
		{"a missing trials series", write(t, dir, "checkout.yaml", checkoutConfig),
			newSeriesFile().plain("checkouts_started", req).plain("checkouts_completed", exactShare(req, 0.7)).write(t, dir, "checkout-base.csv"),
			newSeriesFile().plain("checkouts_completed", constant(windows, 70)).write(t, dir, "no-started.csv"),
			`no-started.csv: has no series "checkouts_started", the trials of signal "checkout_completion"`},
		{"an exposure over fewer windows than its events", errorRatio, goodBase,
			newSeriesFile().plain("http_requests", constant(windows-1, 500)).plain("http_5xx", constant(windows, 5)).write(t, dir, "short-requests.csv"),
			`short-requests.csv: series "http_5xx" has 30 windows but "http_requests", its exposure for signal "error_ratio", has 29`},
		{"histogram buckets that are not cumulative", latency, latBase,
			newSeriesFile().histogram(metric, latencyBounds, notCumulative).write(t, dir, "not-cumulative.csv"),
			"p99_latency: canary window 4 is not cumulative"},
		{"histogram buckets that differ between the sides", latency, latBase,
			newSeriesFile().histogram(metric, otherBounds, other).write(t, dir, "other-buckets.csv"),
			"p99_latency: the baseline's and the canary's histograms have different buckets"},
		{"plain values for a histogram signal", latency, latBase,
			newSeriesFile().plain(metric, constant(windows, 0.2)).write(t, dir, "plain-latency.csv"),
			`plain-latency.csv: series "http_request_duration_seconds" of signal "p99_latency" holds plain values, but a histogram test needs bucket counts`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, "judge", "--config", tt.config, "--baseline", tt.baseline, "--canary", tt.canary)
			if code != exitData {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitData, stderr)
			}
			if lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "verdict: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("bad input wrote a report: %q", stdout)
			}
		})
	}
}
