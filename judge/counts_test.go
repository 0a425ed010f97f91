package judge

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// traffic simulates one side's requests and events per window: requests
// Poisson around perWindow, each an event with probability rate.
func traffic(r *rand.Rand, windows int, perWindow, rate float64) (events, exposure []float64) {
	events, exposure = make([]float64, windows), make([]float64, windows)
	for i := range windows {
		n := distuv.Poisson{Lambda: perWindow, Src: r}.Rand()
		exposure[i] = n
		if n > 0 {
			events[i] = distuv.Binomial{N: n, P: rate, Src: r}.Rand()
		}
	}
	return events, exposure
}

func rateSpec() Spec {
	return Spec{Name: "error_ratio", Test: Rate, Exposure: "requests", Direction: Increase}
}

// TestRatePerExposureCases are the canaries the release-signals issue found
// judged wrong, and the bad inputs it names.
func TestRatePerExposureCases(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	be, bn := traffic(r, 60, 950, 0.01)
	ce, cn := traffic(r, 60, 50, 0.02)
	tests := []struct {
		name     string
		spec     Spec
		b, c     Sample
		want     Classification
		gate     Gate
		inReason string
	}{
		{"5% canary whose error ratio doubled fails", rateSpec(), Sample{Values: be, Exposure: bn}, Sample{Values: ce, Exposure: cn}, High, GateAllowedChange, "ratio"},
		{"1% canary over 15 minutes with 4× the errors fails", rateSpec(),
			Sample{Values: []float64{437}, Exposure: []float64{89921}}, Sample{Values: []float64{13}, Exposure: []float64{926}}, High, GateAllowedChange, "13 of 926"},
		{"errors over a zero-error baseline fail", rateSpec(),
			Sample{Values: make([]float64, 15), Exposure: fill(15, 5000)}, Sample{Values: fillAt(15, 3, 8), Exposure: fill(15, 250)}, High, GateAllowedChange, "none on the baseline"},
		{"no errors anywhere passes", rateSpec(),
			Sample{Values: make([]float64, 5), Exposure: fill(5, 5000)}, Sample{Values: make([]float64, 5), Exposure: fill(5, 250)}, Pass, GateInterval, "no events"},
		{"a doubling within a 150% allowance passes", func() Spec { s := rateSpec(); s.AllowedChange = Rel(1.5); return s }(),
			Sample{Values: be, Exposure: bn}, Sample{Values: ce, Exposure: cn}, Pass, GateAllowedChange, "allowed +150%"},
		{"a canary without traffic has no data", rateSpec(),
			Sample{Values: fill(5, 10), Exposure: fill(5, 1000)}, Sample{Values: make([]float64, 5), Exposure: make([]float64, 5)}, NoData, GateMinSamples, "the canary had 0 requests"},
		{"a fall of errors is harmless", rateSpec(), Sample{Values: ce, Exposure: cn}, Sample{Values: be, Exposure: bn}, Pass, GateDirection, "harmless"},
		{"per-second rates are refused", rateSpec(),
			Sample{Values: fill(5, 0.2), Exposure: fill(5, 15.8)}, Sample{Values: fill(5, 0.3), Exposure: fill(5, 1.2)}, Error, GateInvalid, "increase(...[{{.step}}])"},
		{"more errors than requests are refused", rateSpec(),
			Sample{Values: fill(5, 10), Exposure: fill(5, 1000)}, Sample{Values: fill(5, 12), Exposure: fill(5, 10)}, Error, GateInvalid, "only 10 requests"},
		{"a missing exposure series is refused", rateSpec(),
			Sample{Values: fill(5, 10), Exposure: fill(5, 1000)}, Sample{Values: fill(5, 1)}, Error, GateInvalid, "no requests series"},
		{"exposure and events of different lengths are refused", rateSpec(),
			Sample{Values: fill(5, 10), Exposure: fill(4, 1000)}, Sample{Values: fill(5, 1), Exposure: fill(5, 100)}, Error, GateInvalid, "same windows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := JudgeSamples(tt.spec, tt.b, tt.c, Options{})
			if res.Classification != tt.want || res.Gate != tt.gate || !strings.Contains(res.Reason, tt.inReason) {
				t.Errorf("got %s (gate %s): %s\nwant %s (gate %s) with %q", res.Classification, res.Gate, res.Reason, tt.want, tt.gate, tt.inReason)
			}
		})
	}
}

func fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func fillAt(n, every int, v float64) []float64 {
	out := make([]float64, n)
	for i := 0; i < n; i += every {
		out[i] = v / float64((n+every-1)/every)
	}
	for i := range out {
		out[i] = math.Round(out[i])
	}
	return out
}

// TestRatePerExposureFalseAlarms simulates unchanged canaries at the
// splits rollouts use, with the rate and the split moving over the hour:
// one signal must fail at most at its level (5% for one harmful direction;
// allowance 3 standard errors of simulation).
func TestRatePerExposureFalseAlarms(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(3, 4))
	const reps = 1500
	for _, split := range []float64{0.5, 0.1, 0.05, 0.01} {
		fails := 0
		for range reps {
			windows := 60
			be, bn := make([]float64, windows), make([]float64, windows)
			ce, cn := make([]float64, windows), make([]float64, windows)
			for i := range windows {
				// Traffic doubles over the hour, the error ratio swings
				// between 0.5% and 1.5%, and the canary's weight steps up
				// halfway (a rollout step inside the window).
				total := 1000 * (1 + float64(i)/float64(windows))
				rate := 0.01 * (1 + 0.5*math.Sin(float64(i)/6))
				w := split
				if i >= windows/2 {
					w = math.Min(0.5, 2*split)
				}
				bn[i] = distuv.Poisson{Lambda: total * (1 - w), Src: r}.Rand()
				cn[i] = distuv.Poisson{Lambda: total * w, Src: r}.Rand()
				be[i] = distuv.Binomial{N: bn[i], P: rate, Src: r}.Rand()
				if cn[i] > 0 {
					ce[i] = distuv.Binomial{N: cn[i], P: rate, Src: r}.Rand()
				}
			}
			res := JudgeSamples(rateSpec(), Sample{Values: be, Exposure: bn}, Sample{Values: ce, Exposure: cn}, Options{})
			if res.Failed {
				fails++
			}
		}
		rate := float64(fails) / reps
		t.Logf("split %g: %d of %d unchanged canaries failed (%.2f%%)", split, fails, reps, 100*rate)
		if limit := 0.05 + 3*math.Sqrt(0.05*0.95/reps); rate > limit {
			t.Errorf("split %g: %.2f%% of unchanged canaries failed; the level is 5%%", split, 100*rate)
		}
	}
}

// TestRatePerExposureStratifies: when the canary's weight and the error
// rate move together over time, pooling the windows would blame an
// unchanged canary; comparing window by window does not.
func TestRatePerExposureStratifies(t *testing.T) {
	var be, bn, ce, cn []float64
	for i := range 20 {
		if i < 10 { // quiet, few errors, canary at 1%
			bn, cn = append(bn, 9900), append(cn, 100)
			be, ce = append(be, 10), append(ce, 0)
		} else { // an incident on every pod, canary at 50%
			bn, cn = append(bn, 5000), append(cn, 5000)
			be, ce = append(be, 250), append(ce, 250)
		}
	}
	res := JudgeSamples(rateSpec(), Sample{Values: be, Exposure: bn}, Sample{Values: ce, Exposure: cn}, Options{})
	if res.Failed {
		t.Fatalf("an unchanged canary failed: %s", res.Reason)
	}
	if res.Test.RateRatio == nil || math.Abs(*res.Test.RateRatio-1) > 0.05 {
		t.Errorf("rate ratio %v, want about 1 (the pooled ratio is %.2f)", res.Test.RateRatio, (2500.0/51000)/(2600.0/149000))
	}
	// The same data with the windows' alignment lost (a different number
	// of windows) can only be pooled, and then blames the canary.
	pooled := JudgeSamples(rateSpec(), Sample{Values: be[:19], Exposure: bn[:19]}, Sample{Values: ce, Exposure: cn}, Options{})
	if !pooled.Failed {
		t.Errorf("pooled windows: %s; the pooled ratio should look like a regression, which is what stratifying avoids", pooled.Reason)
	}
}

// TestRatePerExposureDetects: a doubled error ratio at 95/5 over an hour
// is caught in at least 95% of canaries.
func TestRatePerExposureDetects(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(5, 6))
	const reps = 400
	caught := 0
	for range reps {
		be, bn := traffic(r, 60, 950, 0.01)
		ce, cn := traffic(r, 60, 50, 0.02)
		if JudgeSamples(rateSpec(), Sample{Values: be, Exposure: bn}, Sample{Values: ce, Exposure: cn}, Options{}).Failed {
			caught++
		}
	}
	t.Logf("doubled error ratio at 95/5 over an hour: caught %d of %d", caught, reps)
	if float64(caught)/reps < 0.95 {
		t.Errorf("caught %d of %d doubled error ratios; want at least 95%%", caught, reps)
	}
}

// TestRatePerExposureDispersion: errors that come in clusters on one side
// (one client's retries) raise the dispersion and keep false alarms near
// the level, where a Poisson test would cry wolf.
func TestRatePerExposureDispersion(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(7, 8))
	const reps = 800
	// A canary of 100 requests a minute shows the clustering itself; one of
	// 10 (1% of the traffic) expects a handful of errors in 15 minutes and
	// cannot, so the baseline's clustering has to stand in for it.
	for _, tc := range []struct {
		name             string
		windows          int
		baseline, canary float64
	}{{"90/10 over an hour", 60, 900, 100}, {"99/1 over 15 minutes", 15, 990, 10}} {
		fails := 0
		var phis float64
		for range reps {
			be, bn := make([]float64, tc.windows), make([]float64, tc.windows)
			ce, cn := make([]float64, tc.windows), make([]float64, tc.windows)
			for i := range tc.windows {
				bn[i] = distuv.Poisson{Lambda: tc.baseline, Src: r}.Rand()
				cn[i] = distuv.Poisson{Lambda: tc.canary, Src: r}.Rand()
				// Each failing client retries: clusters of 1 + Poisson(4) errors.
				for _, side := range []struct {
					n float64
					e *float64
				}{{bn[i], &be[i]}, {cn[i], &ce[i]}} {
					clusters := distuv.Poisson{Lambda: side.n * 0.002, Src: r}.Rand()
					for range int(clusters) {
						*side.e += 1 + distuv.Poisson{Lambda: 4, Src: r}.Rand()
					}
					*side.e = math.Min(*side.e, side.n)
				}
			}
			res := JudgeSamples(rateSpec(), Sample{Values: be, Exposure: bn}, Sample{Values: ce, Exposure: cn}, Options{})
			if res.Failed {
				fails++
			}
			phis += res.Test.Dispersion
		}
		rate := float64(fails) / reps
		t.Logf("clustered errors, %s: mean dispersion %.2f, %.2f%% of unchanged canaries failed", tc.name, phis/reps, 100*rate)
		if rate > 0.05+3*math.Sqrt(0.05*0.95/reps) {
			t.Errorf("%s: %.2f%% of unchanged canaries with clustered errors failed; want at most about 5%%", tc.name, 100*rate)
		}
	}
}

func proportionSpec() Spec {
	return Spec{Name: "checkout_completion", Test: Proportion, Trials: "checkouts_started", Direction: Decrease}
}

func TestProportionCases(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	bs, bn := traffic(r, 60, 900, 0.70)
	cs, cn := traffic(r, 60, 100, 0.63)
	points := proportionSpec()
	points.AllowedChange = Change{Value: 0.10, Points: true}
	relative := proportionSpec()
	relative.AllowedChange = Rel(0.2)
	tests := []struct {
		name     string
		spec     Spec
		b, c     Sample
		want     Classification
		inReason string
	}{
		{"a 10% drop in completion at 90/10 over an hour fails", proportionSpec(), Sample{Values: bs, Exposure: bn}, Sample{Values: cs, Exposure: cn}, Low, "checkouts_started succeeded"},
		{"within 10 points it passes", points, Sample{Values: bs, Exposure: bn}, Sample{Values: cs, Exposure: cn}, Pass, "allowed -10pp"},
		{"within 20% it passes", relative, Sample{Values: bs, Exposure: bn}, Sample{Values: cs, Exposure: cn}, Pass, "allowed -20%"},
		{"a rise is harmless", proportionSpec(), Sample{Values: cs, Exposure: cn}, Sample{Values: bs, Exposure: bn}, Pass, "harmless"},
		{"every checkout completing on both sides passes", proportionSpec(), Sample{Values: fill(5, 100), Exposure: fill(5, 100)}, Sample{Values: fill(5, 30), Exposure: fill(5, 30)}, Pass, "no variation"},
		{"no canary completions at all fails", proportionSpec(), Sample{Values: fill(5, 70), Exposure: fill(5, 100)}, Sample{Values: fill(5, 0), Exposure: fill(5, 30)}, Low, "0 of 150"},
		{"more successes than trials are refused", proportionSpec(), Sample{Values: fill(5, 70), Exposure: fill(5, 100)}, Sample{Values: fill(5, 40), Exposure: fill(5, 30)}, Error, "only 30 checkouts_started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := JudgeSamples(tt.spec, tt.b, tt.c, Options{})
			if res.Classification != tt.want || !strings.Contains(res.Reason, tt.inReason) {
				t.Errorf("got %s: %s\nwant %s with %q", res.Classification, res.Reason, tt.want, tt.inReason)
			}
		})
	}
}

// TestProportionOperatingCharacteristics: unchanged success ratios at
// unequal splits fail at most at the level; a 10% drop at 90/10 over an
// hour is caught at least 95% of the time; a drop exactly at the allowance
// fails at most at the level.
func TestProportionOperatingCharacteristics(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(11, 12))
	const reps = 1000
	limit := 0.05 + 3*math.Sqrt(0.05*0.95/reps)
	for _, tc := range []struct {
		name          string
		canaryPer     float64
		canaryRatio   float64
		allowed       Change
		wantAtMost    float64
		wantAtLeast   float64
		windows       int
		baselineRatio float64
	}{
		{"A/A 50/50", 500, 0.7, Change{}, limit, 0, 60, 0.7},
		{"A/A 95/5", 50, 0.7, Change{}, limit, 0, 60, 0.7},
		{"A/A 99/1 over 15 minutes", 10, 0.95, Change{}, limit, 0, 15, 0.95},
		{"a drop of exactly the allowed 2%", 100, 0.7 * 0.98, Rel(0.02), limit, 0, 60, 0.7},
		{"a drop of exactly the allowed 1 point", 100, 0.69, Change{Value: 0.01, Points: true}, limit, 0, 60, 0.7},
		{"a 10% drop at 90/10 over an hour", 100, 0.63, Change{}, 1, 0.95, 60, 0.7},
	} {
		fails := 0
		for range reps {
			bs, bn := traffic(r, tc.windows, 1000-tc.canaryPer, tc.baselineRatio)
			cs, cn := traffic(r, tc.windows, tc.canaryPer, tc.canaryRatio)
			spec := proportionSpec()
			spec.AllowedChange = tc.allowed
			if JudgeSamples(spec, Sample{Values: bs, Exposure: bn}, Sample{Values: cs, Exposure: cn}, Options{}).Failed {
				fails++
			}
		}
		rate := float64(fails) / reps
		t.Logf("%s: %.1f%% failed", tc.name, 100*rate)
		if rate > tc.wantAtMost || rate < tc.wantAtLeast {
			t.Errorf("%s: %.1f%% failed; want between %.1f%% and %.1f%%", tc.name, 100*rate, 100*tc.wantAtLeast, 100*tc.wantAtMost)
		}
	}
}

// latencyHistogram simulates one side's classic histogram: per window,
// Poisson(perWindow) requests with lognormal latencies (median med
// seconds, σ 0.5) counted into Prometheus' default buckets.
func latencyHistogram(r *rand.Rand, windows int, perWindow, med float64) *Buckets {
	bounds := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, math.Inf(1)}
	// Each bucket's share of requests, then per window a multinomial draw
	// (a chain of binomials).
	probs := make([]float64, len(bounds))
	prev := 0.0
	for i, b := range bounds {
		cdf := 1.0
		if !math.IsInf(b, 1) {
			cdf = distuv.LogNormal{Mu: math.Log(med), Sigma: 0.5}.CDF(b)
		}
		probs[i], prev = cdf-prev, cdf
	}
	h := &Buckets{Bounds: bounds}
	for range windows {
		left := distuv.Poisson{Lambda: perWindow, Src: r}.Rand()
		rest, cum := 1.0, 0.0
		for _, p := range probs {
			var k float64
			if left > 0 && rest > 0 {
				k = distuv.Binomial{N: left, P: math.Min(1, p/rest), Src: r}.Rand()
			}
			left -= k
			rest -= p
			cum += k
			h.Counts = append(h.Counts, cum)
		}
	}
	return h
}

func TestHistogramCases(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	base := latencyHistogram(r, 30, 950, 0.1)
	same := latencyHistogram(r, 30, 50, 0.1)
	slower := latencyHistogram(r, 30, 50, 0.125)
	q := func(v float64) *float64 { return &v }
	p50 := Spec{Name: "latency", Test: Histogram, Quantile: q(0.5), Direction: Increase}
	p99 := Spec{Name: "latency", Test: Histogram, Quantile: q(0.99), Direction: Increase}
	slo := Spec{Name: "latency", Test: Histogram, Above: q(0.3), Direction: Increase}
	badAbove := Spec{Name: "latency", Test: Histogram, Above: q(0.33), Direction: Increase}
	allowed := p50
	allowed.AllowedChange = Rel(0.4)
	notCumulative := &Buckets{Bounds: []float64{0.1, 0.5, math.Inf(1)}, Counts: []float64{5, 3, 10}}
	otherBuckets := &Buckets{Bounds: []float64{0.1, 0.5, math.Inf(1)}, Counts: []float64{500, 900, 1000}}
	tests := []struct {
		name     string
		spec     Spec
		b, c     *Buckets
		want     Classification
		inReason string
	}{
		{"an unchanged p50 passes", p50, base, same, Pass, "p50"},
		{"a 25% slower canary fails on p50", p50, base, slower, High, "p50"},
		{"... and on p99", p99, base, slower, High, "p99"},
		{"... and on the share above 0.3 s", slo, base, slower, High, "above 0.3"},
		{"within a 40% allowance it passes", allowed, base, slower, Pass, "allowed +40%"},
		{"a faster canary is harmless", p50, slower, base, Pass, "harmless"},
		{"above must be a bucket bound", badAbove, base, same, Error, "not one of the histogram's finite bucket bounds"},
		{"buckets that are not cumulative are refused", p50, notCumulative, notCumulative, Error, "not cumulative"},
		{"sides with different buckets are refused", p50, base, otherBuckets, Error, "different buckets"},
		{"a canary without observations has no data", p50, base, &Buckets{Bounds: base.Bounds}, NoData, "the canary had 0 observations"},
		// What cannot be a window's counts is refused in any window, after
		// plain ones too.
		{"a count below one is refused", p50, small(40, 80, 100, 40, 0.5, 100), small(4, 8, 10), Error, "window 2, bucket le=0.5 holds 0.5; a count below one event"},
		{"a negative count is refused", p50, small(4, 8, 10), small(4, 8, 10, -1, 8, 10), Error, "canary window 2, bucket le=0.1 holds -1; counts cannot be negative"},
		{"an infinite count is refused", p50, small(4, 8, 10, 4, 8, math.Inf(1)), small(4, 8, 10), Error, "infinite count"},
		{"a later window that is not cumulative is refused", p50, small(4, 8, 10, 4, 8, 10, 4, 3, 10), small(4, 8, 10), Error, "baseline window 3 is not cumulative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := JudgeSamples(tt.spec, Sample{Histogram: tt.b}, Sample{Histogram: tt.c}, Options{})
			if res.Classification != tt.want || !strings.Contains(res.Reason, tt.inReason) {
				t.Errorf("got %s: %s\nwant %s with %q", res.Classification, res.Reason, tt.want, tt.inReason)
			}
		})
	}
	// A window holding NaN is dropped (the default policy): the judgement
	// is the one of the histogram without it, the windows after it kept.
	nb := len(base.Bounds)
	withNaN := &Buckets{Bounds: base.Bounds, Counts: slices.Concat(base.Counts[:5*nb], base.Counts[5*nb:6*nb], base.Counts[5*nb:])}
	withNaN.Counts[6*nb-2] = math.NaN()
	withNaN.Counts[5*nb+3] = math.NaN()
	got := JudgeSamples(p50, Sample{Histogram: withNaN}, Sample{Histogram: slower}, Options{})
	want := JudgeSamples(p50, Sample{Histogram: base}, Sample{Histogram: slower}, Options{})
	if got.Reason != want.Reason || got.Baseline.Count != want.Baseline.Count || *got.Test.PValue != *want.Test.PValue {
		t.Errorf("with a NaN window: %s (%d observations, p %v)\nwithout it: %s (%d, p %v)", got.Reason, got.Baseline.Count, *got.Test.PValue, want.Reason, want.Baseline.Count, *want.Test.PValue)
	}
}

// small is a histogram of the bounds 0.1, 0.5, +Inf with the given
// cumulative counts, three per window.
func small(counts ...float64) *Buckets {
	return &Buckets{Bounds: []float64{0.1, 0.5, math.Inf(1)}, Counts: counts}
}

// TestHistogramOperatingCharacteristics: unchanged latency at 95/5 fails
// at most at the level on p50, p99 and the SLO share; a canary within its
// allowance too; a 10% median rise over an hour at 90/10 is caught.
func TestHistogramOperatingCharacteristics(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(15, 16))
	const reps = 1000
	q := func(v float64) *float64 { return &v }
	limit := 0.05 + 3*math.Sqrt(0.05*0.95/reps)
	for _, tc := range []struct {
		name        string
		spec        Spec
		canaryMed   float64
		canaryPer   float64
		atMost      float64
		atLeast     float64
		windowCount int
	}{
		{"A/A p50 at 95/5", Spec{Test: Histogram, Quantile: q(0.5), Direction: Increase}, 0.1, 50, limit, 0, 30},
		{"A/A p99 at 95/5", Spec{Test: Histogram, Quantile: q(0.99), Direction: Increase}, 0.1, 50, limit, 0, 30},
		{"A/A share above 0.25 s at 99/1", Spec{Test: Histogram, Above: q(0.25), Direction: Increase}, 0.1, 10, limit, 0, 15},
		{"A/A share above 0.5 s at 99/1 (rare)", Spec{Test: Histogram, Above: q(0.5), Direction: Increase}, 0.1, 10, limit, 0, 15},
		{"A/A p99 at 99/1 over an hour", Spec{Test: Histogram, Quantile: q(0.99), Direction: Increase}, 0.1, 10, limit, 0, 60},
		{"A/A p99 at 99/1 over 15 minutes (too few, no data)", Spec{Test: Histogram, Quantile: q(0.99), Direction: Increase}, 0.1, 10, 0, 0, 15},
		{"p50 +10% within a 10% allowance", Spec{Test: Histogram, Quantile: q(0.5), Direction: Increase, AllowedChange: Rel(0.1)}, 0.11, 100, limit, 0, 60},
		{"p50 +10% at 90/10 over an hour", Spec{Test: Histogram, Quantile: q(0.5), Direction: Increase}, 0.11, 100, 1, 0.95, 60},
	} {
		fails := 0
		for range reps {
			b := latencyHistogram(r, tc.windowCount, 1000-tc.canaryPer, 0.1)
			c := latencyHistogram(r, tc.windowCount, tc.canaryPer, tc.canaryMed)
			spec := tc.spec
			spec.Name = "latency"
			if JudgeSamples(spec, Sample{Histogram: b}, Sample{Histogram: c}, Options{}).Failed {
				fails++
			}
		}
		rate := float64(fails) / reps
		t.Logf("%s: %.1f%% failed", tc.name, 100*rate)
		if rate > tc.atMost || rate < tc.atLeast {
			t.Errorf("%s: %.1f%% failed; want between %.1f%% and %.1f%%", tc.name, 100*rate, 100*tc.atLeast, 100*tc.atMost)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "30s", 5 * time.Minute: "5m", 90 * time.Minute: "1h30m", 150 * time.Second: "2m30s", time.Hour: "1h", 0: "0s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestShortWindows: a 5-minute window at a 1-minute step gives five
// windows: the tests of counts decide on the requests they hold, and say
// how many more minutes a canary with too little traffic needs; a rank test
// on five points says what step would do.
func TestShortWindows(t *testing.T) {
	opts := Options{Step: time.Minute}
	busy := JudgeSamples(rateSpec(), Sample{Values: fill(5, 95), Exposure: fill(5, 9500)}, Sample{Values: fill(5, 10), Exposure: fill(5, 500)}, opts)
	if busy.Classification != High {
		t.Errorf("5 minutes, 2,500 canary requests, doubled errors: %s (%s), want high", busy.Classification, busy.Reason)
	}
	quiet := JudgeSamples(rateSpec(), Sample{Values: fill(5, 1), Exposure: fill(5, 950)}, Sample{Values: make([]float64, 5), Exposure: fill(5, 10)}, opts)
	if quiet.Classification != NoData || !strings.Contains(quiet.Reason, "about 5m more") {
		t.Errorf("5 minutes at 10 canary requests a minute: %s (%s), want nodata saying about 5m more", quiet.Classification, quiet.Reason)
	}
	points := Judge(Spec{Name: "latency"}, fill(5, 1), fill(5, 1), opts)
	if points.Classification != NoData || !strings.Contains(points.Reason, "5m more") {
		t.Errorf("5 points: %s (%s), want nodata saying 5m more", points.Classification, points.Reason)
	}
}

// TestProportionDispersionOfAChange: binomial trials are not overdispersed
// because the canary's share differs from the baseline's; a variance from
// the pooled share took a small canary at 90% against a baseline at 99% for
// dispersion 4.8 and lost power.
func TestProportionDispersionOfAChange(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	const reps = 200
	var sum float64
	for range reps {
		bs, bn := traffic(r, 60, 500, 0.99)
		cs, cn := traffic(r, 60, 50, 0.90)
		sum += JudgeSamples(proportionSpec(), Sample{Values: bs, Exposure: bn}, Sample{Values: cs, Exposure: cn}, Options{}).Test.Dispersion
	}
	if mean := sum / reps; mean > 1.3 {
		t.Errorf("mean dispersion %.2f for binomial trials; want close to 1", mean)
	}
}

// TestHistogramQuantileBeyondBuckets: a quantile in the +Inf bucket is only
// known to lie beyond the last bound, and the reason says so.
func TestHistogramQuantileBeyondBuckets(t *testing.T) {
	q := 0.99
	b := &Buckets{Bounds: []float64{0.1, 1, math.Inf(1)}, Counts: []float64{900, 995, 1000, 900, 995, 1000}}
	c := &Buckets{Bounds: b.Bounds, Counts: []float64{800, 950, 1000, 800, 950, 1000}}
	res := JudgeSamples(Spec{Name: "latency", Test: Histogram, Quantile: &q, Direction: Increase}, Sample{Histogram: b}, Sample{Histogram: c}, Options{})
	if !strings.Contains(res.Reason, "p99 above 1 vs") || strings.Contains(res.Reason, "++") {
		t.Errorf("reason %q; want the canary's p99 given as above the last bound", res.Reason)
	}
}

// TestMedianChiSquare checks the constant against the χ² distribution and
// against simulation.
func TestMedianChiSquare(t *testing.T) {
	if want := (distuv.ChiSquared{K: 1}).Quantile(0.5); math.Abs(medianChiSquare1-want) > 1e-12 {
		t.Errorf("medianChiSquare1 = %.17g, want %.17g", medianChiSquare1, want)
	}
	r := rand.New(rand.NewPCG(1, 1))
	below := 0
	for range 200000 {
		if z := r.NormFloat64(); z*z <= medianChiSquare1 {
			below++
		}
	}
	if got := float64(below) / 200000; math.Abs(got-0.5) > 0.005 {
		t.Errorf("%.4f of simulated χ²₁ below the constant, want 0.5", got)
	}
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	bounds := []float64{1, 2, inf}
	for _, c := range []struct {
		name   string
		bounds []float64
		cum    []float64
		q      float64
		want   float64
	}{
		// Rank 5 of 10 lies in (1, 2] with 3 below and 2 in it: 1 + (5−3)/2.
		{"median", bounds, []float64{3, 5, 10}, 0.5, 2},
		{"p40", bounds, []float64{3, 5, 10}, 0.4, 1.5},
		{"in the first bucket, from 0", bounds, []float64{4, 5, 10}, 0.2, 0.5},
		{"p99 in the +Inf bucket: the last finite bound", bounds, []float64{3, 5, 10}, 0.99, 2},
		{"first bound not positive", []float64{-1, 2, inf}, []float64{3, 5, 10}, 0.1, -1},
		{"no observations", bounds, []float64{0, 0, 0}, 0.5, math.NaN()},
		{"NaN total", bounds, []float64{1, 2, math.NaN()}, 0.5, math.NaN()},
		{"counts and bounds do not pair up", bounds, []float64{3, 10}, 0.5, math.NaN()},
		{"no finite bound", []float64{inf}, []float64{10}, 0.5, math.NaN()},
	} {
		got := HistogramQuantile(c.bounds, c.cum, c.q)
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s: HistogramQuantile = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMediansBySelection: the medians localDispersion takes without
// sorting are the ones a sort gives, bit for bit, ties and all.
func TestMediansBySelection(t *testing.T) {
	sortedMedian := func(x []float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 20000 {
		n := 1 + r.IntN(400)
		if trial%2 == 0 {
			n = 1 + r.IntN(4)
		}
		x := make([]float64, n)
		for i := range x {
			switch trial % 3 {
			case 0: // ties: a few distinct values
				x[i] = float64(r.IntN(5))
			case 1:
				x[i] = r.ExpFloat64()
			default: // sorted runs, the worst case of a naive pivot
				x[i] = float64(i/3) * 0.1
			}
		}
		want := sortedMedian(x)
		if n <= 4 {
			if got := medianOfFour(x); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("medianOfFour(%v) = %v, want %v", x, got, want)
			}
		}
		y := slices.Clone(x)
		if got := medianInPlace(y); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("medianInPlace of %d values = %v, want %v", n, got, want)
		}
		slices.Sort(y)
		if s := slices.Clone(x); !slices.Equal(func() []float64 { slices.Sort(s); return s }(), y) {
			t.Fatalf("medianInPlace changed the values, not only their order")
		}
	}
}

// TestCountsWorkspaceReuse: the tests of counts and histograms give the
// same results in one reused Workspace, signal after signal and in any
// order, as with every slice freshly allocated (a nil countScratch): memory
// handed out twice within a signal, or one signal's working memory leaking
// into the next, would show in the figures.
func TestCountsWorkspaceReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	q := func(v float64) *float64 { return &v }
	type signal struct {
		spec Spec
		b, c Sample
	}
	var signals []signal
	for _, windows := range []int{5, 60, 360} {
		base, slower := latencyHistogram(r, windows, 900, 0.1), latencyHistogram(r, windows, 100, 0.115)
		for _, spec := range []Spec{
			{Name: "p50", Test: Histogram, Quantile: q(0.5), Direction: Increase, AllowedChange: Rel(0.05)},
			{Name: "p99", Test: Histogram, Quantile: q(0.99), Direction: Either, CriticalChange: &Change{Value: 0.5}},
			{Name: "slo", Test: Histogram, Above: q(0.3), Direction: Increase},
		} {
			signals = append(signals, signal{spec, Sample{Histogram: base}, Sample{Histogram: slower}})
		}
		be, bx := traffic(r, windows, 900, 0.01)
		ce, cx := traffic(r, windows, 100, 0.015)
		signals = append(signals, signal{rateSpec(), Sample{Values: be, Exposure: bx}, Sample{Values: ce, Exposure: cx}})
		be, bx = traffic(r, windows, 900, 0.7)
		ce, cx = traffic(r, windows, 100, 0.65)
		signals = append(signals, signal{proportionSpec(), Sample{Values: be, Exposure: bx}, Sample{Values: ce, Exposure: cx}})
	}
	want := make([]Result, len(signals))
	for i, s := range signals {
		spec := s.spec.WithDefaults()
		opts := Options{Confidence: DefaultConfidence}
		if spec.Test == Histogram {
			want[i] = withDirection(judgeHistogram(nil, spec, s.b.Histogram, s.c.Histogram, opts), spec)
		} else {
			want[i] = withDirection(judgeCounts(nil, spec, s.b, s.c, opts), spec)
		}
	}
	var w Workspace
	for round := range 2 {
		for k := range signals {
			i := k
			if round == 1 {
				i = len(signals) - 1 - k // the large signals first, then smaller ones in the grown memory
			}
			s := signals[i]
			if got := w.JudgeSamples(s.spec, s.b, s.c, Options{}); !reflect.DeepEqual(got, want[i]) {
				t.Errorf("round %d, %s over %d windows: in a reused Workspace\n%+v\nallocating\n%+v", round, s.spec.Name, len(s.b.Values)+s.b.Histogram.Windows(), got, want[i])
			}
		}
	}
}
