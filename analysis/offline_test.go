package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// TestJudgeSeriesAlias checks that two signals can judge one input series
// through series:, each with its own test, and that a missing aliased
// series is named in the error.
func TestJudgeSeriesAlias(t *testing.T) {
	const config = `name: tail
signals:
  - {name: latency_median, series: latency_ms, direction: increase}
  - {name: latency_p99, series: latency_ms, direction: increase, test: quantile}
`
	c, err := ParseConfig("tail.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	// The canary's slowest tenth is twice as slow; its median is not.
	rng := rand.New(rand.NewPCG(1, 2))
	base, can := make([]float64, 1000), make([]float64, 1000)
	for i := range base {
		base[i] = math.Round(100 * math.Exp(0.3*rng.NormFloat64()))
		v := 100 * math.Exp(0.3*rng.NormFloat64())
		if v > 147 { // about the 90th percentile
			v *= 2
		}
		can[i] = math.Round(v)
	}
	rep, err := JudgeSeries(c,
		SeriesSet{Origin: "base.csv", Series: []metrics.Series{{Signal: "latency_ms", Values: base}}},
		SeriesSet{Origin: "canary.csv", Series: []metrics.Series{{Signal: "latency_ms", Values: can}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signals) != 2 {
		t.Fatalf("%d signals judged, want 2", len(rep.Signals))
	}
	median, p99 := rep.Signals[0], rep.Signals[1]
	if median.Baseline.Count != 1000 || p99.Baseline.Count != 1000 || p99.Canary.Count != 1000 {
		t.Fatalf("counts %d, %d, %d: both signals must read all of latency_ms", median.Baseline.Count, p99.Baseline.Count, p99.Canary.Count)
	}
	if median.Test == nil || median.Test.Method != judge.MannWhitney || p99.Test == nil || p99.Test.Method != judge.Quantile {
		t.Fatalf("tests %+v and %+v: want mann-whitney and quantile", median.Test, p99.Test)
	}
	if p99.Classification != judge.High {
		t.Errorf("p99 signal is %s (%s), want high: the tail doubled", p99.Classification, p99.Reason)
	}
	if len(rep.Series) != 2 || len(rep.Series[1].Canary.Values) != 1000 {
		t.Errorf("the report's series for the plots: %d signals", len(rep.Series))
	}

	_, err = JudgeSeries(c,
		SeriesSet{Origin: "base.csv", Series: []metrics.Series{{Signal: "latency_median", Values: base}}},
		SeriesSet{Origin: "canary.csv", Series: []metrics.Series{{Signal: "latency_median", Values: can}}})
	var de *DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), `signal "latency_median" is not in the config`) {
		t.Errorf("a series named after a signal with series: gave %v; want the series refused as unknown", err)
	}
	_, err = JudgeSeries(c,
		SeriesSet{Origin: "base.csv", Series: []metrics.Series{{Signal: "other", Values: base}}},
		SeriesSet{Origin: "canary.csv"})
	if err == nil {
		t.Fatal("an unknown series was accepted")
	}
}

// countsConfig has a rate with an exposure, a proportion with trials and a
// histogram, each reading input series named apart from the signal.
const countsConfig = `name: release
signals:
  - {name: error_ratio, test: rate, series: http_5xx, exposure: http_requests, direction: increase}
  - {name: checkout_completion, test: proportion, series: completed, trials: started, direction: decrease, allowedChange: 2%}
  - {name: p99_latency, test: histogram, series: latency_seconds, direction: increase, allowedChange: 10%}
`

// releaseSide is one side of countsConfig's input: n windows of requests
// with errorRatio of them failing, checkouts completing at completion,
// and a latency histogram whose share slow of requests is slower than
// 0.5 s (the rest at most 0.1 s).
func releaseSide(n int, requests, errorRatio, completion, slow float64) []metrics.Series {
	constant := func(v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	bounds := []float64{0.1, 0.5, math.Inf(1)}
	var buckets []float64
	for range n {
		fast := math.Round(requests * (1 - slow))
		buckets = append(buckets, fast, fast, requests)
	}
	return []metrics.Series{
		{Signal: "http_requests", Values: constant(requests)},
		{Signal: "http_5xx", Values: constant(math.Round(requests * errorRatio))},
		{Signal: "started", Values: constant(requests / 10)},
		{Signal: "completed", Values: constant(math.Round(requests / 10 * completion))},
		{Signal: "latency_seconds", Bounds: bounds, Values: buckets},
	}
}

// without returns series without the named ones.
func without(series []metrics.Series, names ...string) []metrics.Series {
	return slices.DeleteFunc(slices.Clone(series), func(s metrics.Series) bool { return slices.Contains(names, s.Signal) })
}

// replaced returns series with the one named s.Signal replaced by s.
func replaced(series []metrics.Series, s metrics.Series) []metrics.Series {
	out := slices.Clone(series)
	for i := range out {
		if out[i].Signal == s.Signal {
			out[i] = s
		}
	}
	return out
}

// TestJudgeSeriesCounts checks that JudgeSeries reads exposure and trials
// series beside the events and histogram series, judges each signal with
// its test, and refuses input that cannot be judged with a *DataError
// naming the series, the signal and the file.
func TestJudgeSeriesCounts(t *testing.T) {
	c, err := ParseConfig("release.yaml", []byte(countsConfig))
	if err != nil {
		t.Fatal(err)
	}
	healthy := releaseSide(60, 1000, 0.01, 0.7, 0.02)
	canary := releaseSide(60, 100, 0.01, 0.7, 0.02)
	tests := []struct {
		name             string
		baseline, canary []metrics.Series
		want             map[string]judge.Classification
		err              string // the whole error, when one is expected
	}{
		{name: "healthy", baseline: healthy, canary: canary,
			want: map[string]judge.Classification{"error_ratio": judge.Pass, "checkout_completion": judge.Pass, "p99_latency": judge.Pass}},
		{name: "a canary at 10% of the traffic with three times the errors", baseline: healthy, canary: releaseSide(60, 100, 0.03, 0.7, 0.02),
			want: map[string]judge.Classification{"error_ratio": judge.High, "checkout_completion": judge.Pass, "p99_latency": judge.Pass}},
		{name: "checkouts completing less often", baseline: healthy, canary: releaseSide(60, 500, 0.01, 0.6, 0.02),
			want: map[string]judge.Classification{"error_ratio": judge.Pass, "checkout_completion": judge.Low, "p99_latency": judge.Pass}},
		{name: "a slower tail", baseline: healthy, canary: releaseSide(60, 500, 0.01, 0.7, 0.05),
			want: map[string]judge.Classification{"error_ratio": judge.Pass, "checkout_completion": judge.Pass, "p99_latency": judge.High}},
		{name: "events and their exposure absent from the canary: no data", baseline: healthy, canary: without(canary, "http_5xx", "http_requests"),
			want: map[string]judge.Classification{"error_ratio": judge.NoData, "checkout_completion": judge.Pass, "p99_latency": judge.Pass}},
		{name: "exposure absent beside the events", baseline: healthy, canary: without(canary, "http_requests"),
			err: `canary.csv: has no series "http_requests", the exposure of signal "error_ratio"; a rate test needs it beside "http_5xx", window by window, on both sides`},
		{name: "trials absent beside the successes", baseline: without(healthy, "started"), canary: canary,
			err: `base.csv: has no series "started", the trials of signal "checkout_completion"; a proportion test needs it beside "completed", window by window, on both sides`},
		{name: "exposure over other windows", baseline: healthy, canary: replaced(canary, metrics.Series{Signal: "http_requests", Values: make([]float64, 59)}),
			err: `canary.csv: series "http_5xx" has 60 windows but "http_requests", its exposure for signal "error_ratio", has 59; both must cover the same windows`},
		{name: "exposure that is a histogram", baseline: replaced(healthy, metrics.Series{Signal: "started", Bounds: []float64{1, math.Inf(1)}, Values: make([]float64, 120)}), canary: canary,
			err: `base.csv: series "started", the trials of signal "checkout_completion", is a histogram (it has le buckets); it must count what the events of "completed" are out of, one number per window`},
		{name: "plain values for a histogram", baseline: healthy, canary: replaced(canary, metrics.Series{Signal: "latency_seconds", Values: []float64{0.2}}),
			err: `canary.csv: series "latency_seconds" of signal "p99_latency" holds plain values, but a histogram test needs bucket counts (an le column in CSV, {"le": [...], "counts": [[...]]} in JSON)`},
		{name: "buckets for a rate", baseline: replaced(healthy, metrics.Series{Signal: "http_5xx", Bounds: []float64{1, math.Inf(1)}, Values: make([]float64, 120)}), canary: canary,
			err: `base.csv: series "http_5xx" of signal "error_ratio" is a histogram (it has le buckets), but a rate test reads plain values; only test: histogram reads buckets`},
		{name: "more events than exposure", baseline: healthy, canary: replaced(canary, metrics.Series{Signal: "http_5xx", Values: slices.Repeat([]float64{101}, 60)}),
			err: `base.csv and canary.csv: error_ratio: canary window 1 has 101 events but only 100 http_requests; the http_requests must count what the events are out of`},
		{name: "a series nothing reads", baseline: append(slices.Clone(healthy), metrics.Series{Signal: "http_4xx", Values: []float64{1}}), canary: canary,
			err: `base.csv: signal "http_4xx" is not in the config release.yaml`},
		{name: "a histogram in two parts with different buckets", baseline: healthy,
			canary: append(slices.Clone(canary), metrics.Series{Signal: "latency_seconds", Bounds: []float64{0.1, math.Inf(1)}, Values: []float64{1, 2}}),
			err:    `canary.csv: series "latency_seconds" comes in parts with different buckets (le [0.1 0.5 +Inf] and le [0.1 +Inf]); its windows must all have the same buckets`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := JudgeSeries(c, SeriesSet{Origin: "base.csv", Series: tc.baseline}, SeriesSet{Origin: "canary.csv", Series: tc.canary})
			if tc.err != "" {
				var de *DataError
				if !errors.As(err, &de) || err.Error() != tc.err {
					t.Fatalf("error %v, want the *DataError\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rep.Signals {
				if s.Classification != tc.want[s.Name] {
					t.Errorf("%s is %s (%s), want %s", s.Name, s.Classification, s.Reason, tc.want[s.Name])
				}
			}
		})
	}

	t.Run("series keep counts with their exposure, and histograms their buckets", func(t *testing.T) {
		rep, err := JudgeSeries(c, SeriesSet{Origin: "base.csv", Series: healthy}, SeriesSet{Origin: "canary.csv", Series: releaseSide(60, 100, 0.02, 0.7, 0.02)})
		if err != nil {
			t.Fatal(err)
		}
		errs, checkout, latency := rep.Series[0], rep.Series[1], rep.Series[2]
		if len(errs.Canary.Values) != 60 || len(errs.CanaryExposure.Values) != 60 || errs.Canary.Values[0]/errs.CanaryExposure.Values[0] != 0.02 || errs.Baseline.Values[0]/errs.BaselineExposure.Values[0] != 0.01 {
			t.Errorf("error_ratio series %v of %v / %v of %v, want each window's events with its requests", errs.Canary.Values[:1], errs.CanaryExposure.Values, errs.Baseline.Values[:1], errs.BaselineExposure.Values)
		}
		if len(checkout.CanaryExposure.Values) != 60 || checkout.Canary.Values[0]/checkout.CanaryExposure.Values[0] != 0.7 {
			t.Errorf("checkout_completion series %v of %v, want each window's completions with its trials", checkout.Canary.Values[:1], checkout.CanaryExposure.Values)
		}
		if len(latency.Canary.Bounds) == 0 || latency.Canary.Observations() != 60 {
			t.Errorf("p99_latency series has bounds %v and %d windows; want its buckets per window", latency.Canary.Bounds, latency.Canary.Observations())
		}
		if healthy[1].Values[0] != 10 {
			t.Errorf("judging changed its input: %v", healthy[1].Values[:1])
		}
	})
}
