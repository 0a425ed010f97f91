package quality

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestBinomial compares the sampler with the exact probabilities: its mean
// within four standard errors, and a Pearson χ² over the cells expecting at
// least five draws, on both of its
// methods (inversion below a mean of 10, BTRS above) and with p above ½.
func TestBinomial(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const draws = 100000
	for _, tt := range []struct{ n, p float64 }{
		{30, 0.2}, {1000, 0.004}, {200, 0.05}, {50, 0.4}, {1000, 0.3}, {20000, 0.01}, {5000, 0.5}, {100, 0.93},
	} {
		counts := map[float64]int{}
		var sum float64
		for range draws {
			x := binomial(r, tt.n, tt.p)
			counts[x]++
			sum += x
		}
		mean, sd := tt.n*tt.p, math.Sqrt(tt.n*tt.p*(1-tt.p))
		if got := sum / draws; math.Abs(got-mean) > 4*sd/math.Sqrt(draws) {
			t.Errorf("Binomial(%g, %g): mean %.4f, want %.4f", tt.n, tt.p, got, mean)
		}
		exact := distuv.Binomial{N: tt.n, P: tt.p}
		var chi2, tail float64
		df := -1
		seen := 0
		for k := 0.0; k <= tt.n; k++ {
			e := draws * exact.Prob(k)
			if e < 5 {
				tail += e
				continue
			}
			o := float64(counts[k])
			seen += counts[k]
			chi2 += (o - e) * (o - e) / e
			df++
		}
		if rest := float64(draws - seen); tail >= 5 {
			chi2 += (rest - tail) * (rest - tail) / tail
			df++
		}
		// χ²/df has standard deviation √(2/df); 1.5 is over three of them
		// for every case here (df ≥ 20).
		if df < 5 || chi2/float64(df) > 1.5 {
			t.Errorf("Binomial(%g, %g): χ² = %.1f on %d df", tt.n, tt.p, chi2, df)
		}
	}
}

// TestLatencyShapes checks the latency effects: median +10% moves every
// quantile by 10%; the tail effect moves p99 by 25% and leaves p98 and
// below where they were; survival inverts quantile.
func TestLatencyShapes(t *testing.T) {
	base := newShape(LatencyMedian, 0, 1)
	z98 := math.Exp(LatencySigma * normalQuantile(TailFrom))
	median := newShape(LatencyMedian*1.1, 0, 1)
	tail := newShape(LatencyMedian, LatencyMedian*z98, tailStretch(0.25))
	within(t, "median of the base", base.quantile(0.5), 0.1, 1e-12)
	// qlnorm(0.99, log(0.1), 0.5) = 0.3200074
	within(t, "p99 of the base", base.quantile(0.99), 0.3200074, 1e-6)
	for _, p := range []float64{0.1, 0.5, 0.9, 0.99} {
		within(t, "median effect on a quantile", median.quantile(p)/base.quantile(p), 1.1, 1e-12)
	}
	within(t, "tail effect on p99", tail.quantile(0.99)/base.quantile(0.99), 1.25, 1e-9)
	for _, p := range []float64{0.5, 0.9, 0.98} {
		within(t, "tail effect below p98", tail.quantile(p)/base.quantile(p), 1, 1e-9)
	}
	for _, s := range []latencyShape{base, median, tail} {
		for _, p := range []float64{0.01, 0.5, 0.97, 0.99, 0.999} {
			within(t, "survival at the quantile", s.survival(s.quantile(p)), 1-p, 1e-9)
		}
	}
}

// TestTrafficWindow draws one side's minute many times with fixed
// parameters and checks the counts against the model: the error ratio and
// its overdispersion (variance/mean 1 + k + k/(1+k) for clusters of
// 1 + Poisson(k)), checkouts and completion, and the latency histograms
// (bucket shares as the lognormal's, both histograms counting the same
// requests, the oracle's counts above the true p50 and p99).
func TestTrafficWindow(t *testing.T) {
	g := newGenerator()
	r := rand.New(rand.NewPCG(7, 8))
	const windows, n = 10000, 1000.0
	s := TrafficScenario{Minutes: windows}
	sd := g.newSide(s.Minutes)
	shape := newShape(LatencyMedian, 0, 1)
	t50, t99 := shape.quantile(0.5), shape.quantile(0.99)
	for m := range windows {
		g.drawWindow(&sd, r, m, n, 1, 1, BaseCompletion, shape, t50, t99)
	}
	mean, variance := meanVar(sd.errors)
	within(t, "errors per window", mean, n*BaseErrorRatio, 0.1)
	k := ErrorRetries
	within(t, "variance/mean of errors", variance/mean, 1+k+k/(1+k), 0.1)
	within(t, "independent failures per window", sd.errorClusters/windows, n*BaseErrorRatio/(1+k), 0.05)
	within(t, "expected failures per window", sd.expectedClusters/windows, n*BaseErrorRatio/(1+k), 1e-9)

	trials, completions := 0.0, 0.0
	for m := range windows {
		trials += sd.trials[m]
		completions += sd.completions[m]
	}
	within(t, "checkouts per request", trials/(n*windows), CheckoutShare, 0.001)
	within(t, "completion", completions/trials, BaseCompletion, 0.003)
	within(t, "completed sessions", sd.sessionsOK/sd.sessions, BaseCompletion, 0.003)

	cb, nb := sd.classic.Bounds, sd.native.Bounds
	cum := make([]float64, len(cb))
	for w := range windows {
		row := sd.classic.Counts[w*len(cb) : (w+1)*len(cb)]
		nrow := sd.native.Counts[w*len(nb) : (w+1)*len(nb)]
		if !slices.IsSorted(row) || row[len(row)-1] != n || nrow[len(nrow)-1] != n {
			t.Fatalf("window %d: histogram not cumulative or not every request: %v", w, row)
		}
		// 0.25, 0.5 and 1 are bounds of both histograms.
		for _, x := range []float64{0.25, 0.5, 1} {
			i, _ := slices.BinarySearch(cb, x)
			j, _ := slices.BinarySearch(nb, x)
			if row[i] != nrow[j] {
				t.Fatalf("window %d: %d requests at or below %g in the classic histogram, %d in the native one", w, int(row[i]), x, int(nrow[j]))
			}
		}
		for i := range row {
			cum[i] += row[i]
		}
	}
	for i, b := range cb[:len(cb)-1] {
		want := 1 - shape.survival(b)
		got := cum[i] / (n * windows)
		within(t, "share at or below a classic bound", got, want, 4*math.Sqrt(want*(1-want)/(n*windows))+1e-6)
	}
	within(t, "share above the true median", sd.above50/sd.observations, 0.5, 0.002)
	within(t, "share above the true p99", sd.above99/sd.observations, 0.01, 0.0005)
}

// TestTrafficEffects checks each regression on the canary's counts, and
// that a canary's stream depends only on its scenario and replicate.
func TestTrafficEffects(t *testing.T) {
	g := newGenerator()
	// sum averages, over 20 canaries, the canary's independent failures
	// against what the baseline's true ratio predicts, its completion and
	// its shares of requests above the baseline's true median and p99.
	sum := func(s TrafficScenario) (failures, completion, above50, above99 float64) {
		var trials, completed float64
		for rep := range 20 {
			p := g.draw(trafficStream(3, s, rep), s)
			for m := range s.Minutes {
				trials += p.canary.trials[m]
				completed += p.canary.completions[m]
			}
			failures += p.canary.errorClusters / p.canary.expectedClusters / 20
			above50 += p.canary.above50 / p.canary.observations / 20
			above99 += p.canary.above99 / p.canary.observations / 20
		}
		return failures, completed / trials, above50, above99
	}
	base := TrafficScenario{PerMinute: 10000, Split: 0.5, Minutes: 15, Effect: Effect{Kind: None}}
	e0, c0, a50, a99 := sum(base)
	within(t, "A/A failures against the expected", e0, 1, 0.04)
	within(t, "A/A completion", c0, BaseCompletion, 0.007)
	within(t, "A/A share above the baseline's true median", a50, 0.5, 0.005)
	within(t, "A/A share above the baseline's true p99", a99, 0.01, 0.001)

	s := base
	s.Effect = Effect{Kind: ErrorRatio, Size: 2}
	e, _, _, _ := sum(s)
	within(t, "error ratio ×2", e, 2, 0.08)
	s.Effect = Effect{Kind: Completion, Size: 0.10}
	_, c, _, _ := sum(s)
	within(t, "completion −10%", c, 0.9*BaseCompletion, 0.007)
	s.Effect = Effect{Kind: Median, Size: 0.10}
	_, _, m50, _ := sum(s)
	// P(1.1·X > median) = Φ(log 1.1 / 0.5)
	within(t, "median +10%: share above the baseline's median", m50, distuv.UnitNormal.CDF(math.Log(1.1)/LatencySigma), 0.005)
	s.Effect = Effect{Kind: Tail, Size: 0.25}
	_, _, t50, t99 := sum(s)
	within(t, "p99 +25%: share above the baseline's median", t50, 0.5, 0.005)
	if t99 < 0.015 {
		t.Errorf("p99 +25%%: %.4f of requests above the baseline's p99, want clearly more than 0.01", t99)
	}

	p1 := g.draw(trafficStream(3, base, 5), base)
	p2 := g.draw(trafficStream(3, base, 5), base)
	p3 := g.draw(trafficStream(3, base, 6), base)
	if !slices.Equal(p1.canary.classic.Counts, p2.canary.classic.Counts) || !slices.Equal(p1.baseline.errors, p2.baseline.errors) {
		t.Error("the same stream gave different canaries")
	}
	if slices.Equal(p1.canary.classic.Counts, p3.canary.classic.Counts) {
		t.Error("two replicates gave the same canary")
	}
}

// Reference: Prometheus' histogram_quantile on buckets le=0.1: 10,
// le=0.5: 30, le=+Inf: 40.
func TestPromQuantile(t *testing.T) {
	bounds := []float64{0.1, 0.5, math.Inf(1)}
	cum := []float64{10, 30, 40}
	within(t, "p50", PromQuantile(bounds, cum, 0.5), 0.3, 1e-12)
	within(t, "p10 in the first bucket, from 0", PromQuantile(bounds, cum, 0.1), 0.04, 1e-12)
	within(t, "p90 in the +Inf bucket: the last finite bound", PromQuantile(bounds, cum, 0.9), 0.5, 1e-12)
	if v := PromQuantile(bounds, []float64{0, 0, 0}, 0.5); !math.IsNaN(v) {
		t.Errorf("no observations: %g, want NaN", v)
	}
}

// TestOracleTails checks the oracle's tails against direct sums.
func TestOracleTails(t *testing.T) {
	poissonSum := func(x, mu float64) float64 { // P(X ≥ x)
		p, term := 0.0, math.Exp(-mu)
		for k := 0.0; k < x; k++ {
			p += term
			term *= mu / (k + 1)
		}
		return 1 - p
	}
	for _, tt := range []struct{ x, mu float64 }{{22, 15}, {1, 0.5}, {5, 1.5}, {40, 30}} {
		within(t, "Poisson upper tail", poissonUpper(tt.x, tt.mu), poissonSum(tt.x, tt.mu), 1e-10)
	}
	b := distuv.Binomial{N: 460, P: 0.7}
	within(t, "binomial lower tail", binomialLowerTail(300, 460, 0.7), b.CDF(300), 1e-10)
	within(t, "binomial upper tail", binomialUpperTail(12, 600, 0.01), 1-distuv.Binomial{N: 600, P: 0.01}.CDF(11), 1e-10)
	if poissonUpper(0, 3) != 1 || binomialUpperTail(0, 10, 0.5) != 1 {
		t.Error("a count of 0 must have upper tail 1")
	}
}
