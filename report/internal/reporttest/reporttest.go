// Package reporttest builds reports of the tests of counts for the report
// packages' tests: signals judged by the real judge (judge.JudgeSamples) on
// small synthetic data drawn with a fixed seed, with the series a plot
// needs, so that the renderers are tested on what the judge really
// returns.
package reporttest

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// Windows is the number of one-minute windows of each side.
const Windows = 60

// Start is the time of the first window.
var Start = time.Date(2025, 6, 4, 17, 0, 0, 0, time.UTC)

// LatencyBounds are Prometheus' default bucket bounds, in seconds.
var LatencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)}

// Signal is one judged signal with its inputs.
type Signal struct {
	Spec             judge.Spec
	Baseline, Canary judge.Sample
	Result           judge.Result
	// Series are the sides as a report carries them: events per window
	// for counts, cumulative bucket counts per window for histograms.
	Series analysis.SignalSeries
}

// Counts returns a report of four signals and the signals behind it:
//
//   - http_5xx (rate, exposure http_requests, direction increase, allowed
//     10%): the canary at about twice the baseline's share of errors, each
//     side with bursts of its own (dispersion above 1); it fails.
//   - checkout (proportion, trials checkouts_started, decrease, allowed
//     0.5pp): 96% against 99%; it fails.
//   - latency (histogram, p99, increase, allowed 10%): log-normal latencies,
//     the canary's 40% slower, on Prometheus' default buckets.
//   - latency_slo (histogram, share above 0.25 s, increase, allowed 10%).
func Counts() (*analysis.Report, []Signal) {
	rng := rand.New(rand.NewPCG(7, 11))
	times := make([]time.Time, Windows)
	for w := range times {
		times[w] = Start.Add(time.Duration(w) * time.Minute)
	}
	var signals []Signal

	// 5xx out of requests: the baseline takes most of the traffic.
	var bErr, bReq, cErr, cReq []float64
	for w := range Windows {
		wave := 1 + 0.2*math.Sin(float64(w)/9)
		nb, nc := math.Round(35000*wave), math.Round(40*wave)
		// A client retrying through a window sends a burst of errors to
		// one side: the counts vary more than Poisson.
		bBurst, cBurst := 1.0, 1.0
		if w%10 == 3 {
			bBurst = 3
		}
		if w%10 == 7 {
			cBurst = 3
		}
		bReq, cReq = append(bReq, nb), append(cReq, nc)
		bErr = append(bErr, poisson(rng, 0.010*nb*bBurst))
		cErr = append(cErr, math.Min(nc, poisson(rng, 0.019*nc*cBurst)))
	}
	signals = append(signals, judged(judge.Spec{Name: "http_5xx", Group: "errors", Test: judge.Rate, Exposure: "http_requests",
		Direction: judge.Increase, AllowedChange: judge.Rel(0.1)},
		judge.Sample{Values: bErr, Exposure: bReq}, judge.Sample{Values: cErr, Exposure: cReq}, times))

	// Checkouts completed out of started.
	var bDone, bStarted, cDone, cStarted []float64
	for range Windows {
		bStarted, cStarted = append(bStarted, 500), append(cStarted, 50)
		bDone = append(bDone, binomial(rng, 500, 0.99))
		cDone = append(cDone, binomial(rng, 50, 0.96))
	}
	signals = append(signals, judged(judge.Spec{Name: "checkout", Group: "business", Test: judge.Proportion, Trials: "checkouts_started",
		Direction: judge.Decrease, AllowedChange: judge.Change{Value: 0.005, Points: true}, Critical: true},
		judge.Sample{Values: bDone, Exposure: bStarted}, judge.Sample{Values: cDone, Exposure: cStarted}, times))

	// Latency histograms: log-normal, the canary 40% slower.
	bh := histogram(rng, 1500, 0.08, 0.7)
	ch := histogram(rng, 150, 0.08*1.4, 0.7)
	signals = append(signals, judged(judge.Spec{Name: "latency", Group: "latency", Test: judge.Histogram,
		Direction: judge.Increase, AllowedChange: judge.Rel(0.1)},
		judge.Sample{Histogram: bh}, judge.Sample{Histogram: ch}, times))
	slo := 0.25
	signals = append(signals, judged(judge.Spec{Name: "latency_slo", Group: "latency", Test: judge.Histogram, Above: &slo,
		Direction: judge.Increase, AllowedChange: judge.Rel(0.1)},
		judge.Sample{Histogram: bh}, judge.Sample{Histogram: ch}, times))

	results := make([]judge.Result, len(signals))
	for i, s := range signals {
		results[i] = s.Result
	}
	outcome := scoring.Score(scoring.Spec{Thresholds: scoring.DefaultThresholds(),
		Groups: []scoring.Group{{Name: "errors", Weight: 1}, {Name: "business", Weight: 1}, {Name: "latency", Weight: 1}}}, results)
	for i := range signals {
		signals[i].Result = results[i]
	}
	rep := &analysis.Report{
		Schema: analysis.ReportSchema, Name: "shop", Judge: analysis.JudgeVerdict,
		Verdict: outcome.Verdict, Score: outcome.Score, Reason: outcome.Reason,
		Thresholds: scoring.DefaultThresholds(), Groups: outcome.Groups, Signals: results,
	}
	for _, s := range signals {
		rep.Series = append(rep.Series, s.Series)
	}
	return rep, signals
}

func judged(spec judge.Spec, b, c judge.Sample, times []time.Time) Signal {
	s := Signal{Spec: spec, Baseline: b, Canary: c, Result: judge.JudgeSamples(spec, b, c, judge.Options{})}
	s.Series = analysis.SignalSeries{Name: spec.Name}
	for _, side := range []struct {
		dst *metrics.Series
		src judge.Sample
	}{{&s.Series.Baseline, b}, {&s.Series.Canary, c}} {
		side.dst.Signal, side.dst.Times = spec.Name, times
		if side.src.Histogram != nil {
			side.dst.Bounds, side.dst.Values = side.src.Histogram.Bounds, side.src.Histogram.Counts
		} else {
			side.dst.Values = side.src.Values
		}
	}
	return s
}

// histogram draws perWindow log-normal observations (median, sigma of
// the log) per window into cumulative bucket counts.
func histogram(rng *rand.Rand, perWindow int, median, sigma float64) *judge.Buckets {
	h := &judge.Buckets{Bounds: LatencyBounds}
	nb := len(LatencyBounds)
	for range Windows {
		row := make([]float64, nb)
		for range perWindow {
			x := median * math.Exp(sigma*rng.NormFloat64())
			for i, b := range LatencyBounds {
				if x <= b {
					row[i]++
				}
			}
		}
		h.Counts = append(h.Counts, row...)
	}
	return h
}

// poisson draws a Poisson count with mean lambda (Knuth's method below 30,
// the normal approximation above).
func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda >= 30 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
	}
	limit, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// binomial draws the successes of n trials with probability p.
func binomial(rng *rand.Rand, n int, p float64) float64 {
	k := 0.0
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// EdgeCases returns signals judged on the edge cases of the tests of
// counts, by name: "no events" on either side, "none on the baseline",
// "too little traffic" (nodata), "every observation in the first bucket"
// (nodata, the histogram cannot resolve its p99) and "a canary quantile
// beyond the last bound" (an interval unbounded above).
func EdgeCases() map[string]judge.Result {
	windows := func(n int, v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	rate := judge.Spec{Name: "http_5xx", Test: judge.Rate, Exposure: "requests", Direction: judge.Increase, AllowedChange: judge.Rel(0.1)}
	bounds := []float64{0.1, 0.5, 1, math.Inf(1)}
	hist := func(rows ...[]float64) judge.Sample {
		var counts []float64
		for _, r := range rows {
			counts = append(counts, r...)
		}
		return judge.Sample{Histogram: &judge.Buckets{Bounds: bounds, Counts: counts}}
	}
	p99 := judge.Spec{Name: "latency", Test: judge.Histogram, Direction: judge.Increase, AllowedChange: judge.Rel(0.1)}
	counts := func(events, exposure []float64) judge.Sample { return judge.Sample{Values: events, Exposure: exposure} }
	return map[string]judge.Result{
		"no events":            judge.JudgeSamples(rate, counts(windows(30, 0), windows(30, 1000)), counts(windows(30, 0), windows(30, 100)), judge.Options{}),
		"none on the baseline": judge.JudgeSamples(rate, counts(windows(30, 0), windows(30, 1000)), counts(windows(30, 3), windows(30, 100)), judge.Options{}),
		"too little traffic":   judge.JudgeSamples(rate, counts(windows(3, 1), windows(3, 10)), counts(windows(3, 1), windows(3, 10)), judge.Options{}),
		"every observation in the first bucket": judge.JudgeSamples(p99, hist(windows(4, 100), windows(4, 100), windows(4, 100), windows(4, 100), windows(4, 100), windows(4, 100)),
			hist(windows(4, 100), windows(4, 100), windows(4, 100), windows(4, 100), windows(4, 100), windows(4, 100)), judge.Options{}),
		"a canary quantile beyond the last bound": judge.JudgeSamples(p99, hist([]float64{900, 990, 1000, 1000}, []float64{900, 990, 1000, 1000}),
			hist([]float64{800, 900, 950, 1000}, []float64{800, 900, 950, 1000}), judge.Options{}),
	}
}
