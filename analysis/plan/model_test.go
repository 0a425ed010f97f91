package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/verdict-aca/verdict/judge"
)

// TestCountQuantiles checks the count draws against the distributions'
// own functions: exact where the mean is small (the count is the smallest
// k whose distribution function reaches u), within a count beyond.
func TestCountQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mean := range []float64{0.05, 0.7, 3, 20, 59, 61, 400, 5000} {
		pois := distuv.Poisson{Lambda: mean}
		for range 200 {
			u := rng.Float64()
			k := poissonQuantile(u, mean)
			exact := mean < exactBelow
			if exact && !(pois.CDF(k) >= u && (k == 0 || pois.CDF(k-1) < u)) {
				t.Fatalf("poissonQuantile(%g, %g) = %g: CDF(k-1) = %g, CDF(k) = %g", u, mean, k, pois.CDF(k-1), pois.CDF(k))
			}
			if !exact && u > 1e-6 && u < 1-1e-6 && (pois.CDF(k+1) < u || k > 0 && pois.CDF(k-2) >= u) {
				t.Fatalf("poissonQuantile(%g, %g) = %g is more than a count from the quantile", u, mean, k)
			}
		}
	}
	for _, c := range []struct{ n, p float64 }{{15, 0.013}, {200, 0.7}, {34, 0.5}, {1000, 0.01}, {20000, 0.3}, {1e6, 2e-5}} {
		bin := distuv.Binomial{N: c.n, P: c.p}
		exact := math.Min(c.p, 1-c.p)*c.n < exactBelow
		for range 200 {
			u := rng.Float64()
			k := binomialQuantile(u, c.n, c.p)
			if k < 0 || k > c.n {
				t.Fatalf("binomialQuantile(%g, %g, %g) = %g is outside [0, n]", u, c.n, c.p, k)
			}
			slack := 1.0
			if exact {
				slack = 0
			}
			if bin.CDF(k+slack) < u-1e-9 || k-slack > 0 && bin.CDF(k-1-slack) >= u+1e-9 {
				t.Fatalf("binomialQuantile(%g, %g, %g) = %g: CDF(k-1) = %g, CDF(k) = %g", u, c.n, c.p, k, bin.CDF(k-1), bin.CDF(k))
			}
		}
	}
}

// TestDrawsGrowWithTheChange checks what the search relies on: at fixed
// uniforms, a larger mean or probability never gives a smaller count.
func TestDrawsGrowWithTheChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		r, u := rng.Float64(), rng.Float64()
		n := math.Floor(1 + 5000*rng.Float64())
		phi := 1 + 4*rng.Float64()
		p := 0.5 * rng.Float64()
		q := p * (1 + rng.Float64())
		if a, b := clusteredBinomialQuantile(r, u, n, p, phi), clusteredBinomialQuantile(r, u, n, q, phi); b < a {
			t.Fatalf("n %g, phi %g: p %g gives %g, the larger %g gives %g", n, phi, p, a, q, b)
		}
		if a, b := poissonQuantile(u, 100*p), poissonQuantile(u, 100*q); b < a {
			t.Fatalf("Poisson: mean %g gives %g, the larger %g gives %g", 100*p, a, 100*q, b)
		}
	}
}

// TestClusteredVariance checks the clustered counts' moments: the mean of
// the binomial, and phi times its variance.
func TestClusteredVariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ n, p, phi float64 }{{1500, 0.013, 1}, {1500, 0.013, 2.5}, {200, 0.7, 3}, {50, 0.05, 4}} {
		const draws = 40000
		var sum, ss float64
		for range draws {
			k := clusteredBinomialQuantile(rng.Float64(), rng.Float64(), c.n, c.p, c.phi)
			sum += k
			ss += k * k
		}
		mean := sum / draws
		variance := ss/draws - mean*mean
		wantMean, wantVar := c.n*c.p, c.phi*c.n*c.p*(1-c.p)
		if math.Abs(mean/wantMean-1) > 0.03 || math.Abs(variance/wantVar-1) > 0.1 {
			t.Errorf("n %g p %g phi %g: mean %.2f, variance %.2f; want %.2f and %.2f", c.n, c.p, c.phi, mean, variance, wantMean, wantVar)
		}
	}
}

// TestFitCountsDispersion checks that the model takes the clustering the
// judge finds in the baseline: none in Poisson-like errors, about the
// cluster size in errors that come in retries of four.
func TestFitCountsDispersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	spec := judge.Spec{Name: "error_ratio", Test: judge.Rate, Exposure: "requests", Direction: judge.Increase}.WithDefaults()
	for _, c := range []struct {
		retries  float64
		low, top float64
	}{{1, 1, 1.4}, {4, 2.5, 6}} {
		var s judge.Sample
		for range 120 {
			n := 2000.0
			errors := c.retries * distuv.Poisson{Lambda: n * 0.01 / c.retries, Src: rng}.Rand()
			s.Values, s.Exposure = append(s.Values, errors), append(s.Exposure, n)
		}
		m, err := fitCounts(spec, s, 1)
		if err != nil {
			t.Fatal(err)
		}
		if m.phi < c.low || m.phi > c.top {
			t.Errorf("errors in clusters of %g: dispersion %.2f; want it in [%g, %g]", c.retries, m.phi, c.low, c.top)
		}
		if math.Abs(m.ratio/0.01-1) > 0.1 {
			t.Errorf("ratio %g; want about 0.01", m.ratio)
		}
	}
}

// TestPointsModelKeepsAutocorrelation checks that the drawn points have
// the baseline's serial correlation and distribution.
func TestPointsModelKeepsAutocorrelation(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, ar := range []float64{0, 0.5, 0.85} {
		base := make([]float64, 720)
		z := 0.0
		for i := range base {
			z = ar*z + math.Sqrt(1-ar*ar)*rng.NormFloat64()
			base[i] = 100 * math.Exp(0.3*z)
		}
		spec := judge.Spec{Name: "latency", Direction: judge.Increase}.WithDefaults()
		m, err := fitPoints(spec, base)
		if err != nil {
			t.Fatal(err)
		}
		var d draws
		st := shape{windows: 720, canary: 0.05, stable: 0.95}
		m.draw(st, rng, &d)
		drawn := m.baseline(st, &d).Values
		got, want := rankAutocorrelation(drawn), rankAutocorrelation(base)
		if math.Abs(got-want) > 0.12 {
			t.Errorf("AR %g: drawn points' rank autocorrelation %.2f; the baseline's %.2f", ar, got, want)
		}
		// The canary with no change is drawn like the baseline; with a
		// change its points move by change × the baseline's median.
		c0 := append([]float64(nil), m.canary(st, &d, 0).Values...)
		c1 := m.canary(st, &d, 0.1).Values
		for i := range c0 {
			if math.Abs(c1[i]-c0[i]-0.1*m.median) > 1e-9 {
				t.Fatalf("point %d moved from %g to %g; want by %g", i, c0[i], c1[i], 0.1*m.median)
			}
		}
	}
}

// TestHistogramModel checks the canary's distributions: unchanged it is
// the baseline's; a quantile's regression of +25% puts at or below 1.25·b
// the share the baseline had at or below b; an above regression of +50%
// has 1.5 times the share above the bound.
func TestHistogramModel(t *testing.T) {
	bounds := []float64{0.05, 0.1, 0.2, 0.4, 0.8, math.Inf(1)}
	cdf := []float64{0.2, 0.6, 0.9, 0.98, 0.995, 1}
	m := &histogramModel{bounds: bounds, cdf: cdf, above: -1, up: true, u: Relative}
	g := m.distribution(nil, 1, 0)
	for i := range cdf {
		if math.Abs(g[i]-cdf[i]) > 1e-12 {
			t.Fatalf("unchanged: share %g at %g; want %g", g[i], bounds[i], cdf[i])
		}
	}
	g = m.distribution(nil, 1, 1) // twice as slow: at 0.2 the share the baseline had at 0.1
	if math.Abs(g[2]-0.6) > 1e-12 || math.Abs(g[3]-0.9) > 1e-12 {
		t.Errorf("twice as slow: shares %v; want 0.6 at 0.2 and 0.9 at 0.4", g)
	}
	if math.Abs(g[0]-0.1) > 1e-12 {
		t.Errorf("twice as slow: share %g at 0.05; want 0.1, the baseline's at 0.025 (linear in the first bucket)", g[0])
	}
	m.above = 2
	g = m.distribution(nil, 1, 0.5)
	if above := 1 - g[2]; math.Abs(above-0.15) > 1e-12 {
		t.Errorf("above 0.2 +50%%: share %g; want 0.15", above)
	}
	// Drawn buckets are cumulative and hold every observation.
	rng := rand.New(rand.NewPCG(11, 12))
	cum := make([]float64, len(bounds))
	u := make([]float64, len(bounds)-1)
	for range 100 {
		for i := range u {
			u[i] = rng.Float64()
		}
		drawBuckets(cum, 1234, cdf, u)
		for i := 1; i < len(cum); i++ {
			if cum[i] < cum[i-1] {
				t.Fatalf("buckets %v are not cumulative", cum)
			}
		}
		if cum[len(cum)-1] != 1234 {
			t.Fatalf("buckets %v do not hold the 1234 observations", cum)
		}
	}
}

// TestSmallestDetected checks the search: it finds where detection
// starts from any guess, and from below even when larger changes are not
// detected again.
func TestSmallestDetected(t *testing.T) {
	from := func(start float64) func(float64) bool {
		return func(d float64) bool { return d >= start }
	}
	for _, guess := range []float64{1e-4, 0.01, 0.3, 2, 9} {
		if got := smallestDetected(from(0.3), guess, 9); got < 0.3 || got > 0.3*resolution {
			t.Errorf("guess %g: %g; want 0.3 within %g", guess, got, resolution)
		}
	}
	window := func(d float64) bool { return d >= 0.3 && d <= 2 }
	if got := smallestDetected(window, 0.05, 9); got < 0.3 || got > 0.3*resolution {
		t.Errorf("detected only in [0.3, 2]: %g; want 0.3", got)
	}
	if got := smallestDetected(func(float64) bool { return false }, 0.1, 9); !math.IsInf(got, 1) {
		t.Errorf("never detected: %g; want +Inf", got)
	}
	if got := smallestDetected(func(float64) bool { return true }, 0.1, 9); got != 0 {
		t.Errorf("always detected: %g; want 0", got)
	}
}

func TestRounded(t *testing.T) {
	for _, tt := range []struct {
		d80, d95   float64
		w80, w95   float64
		commentary string
	}{
		{0.111234, 0.121234, 0.1112, 0.1212, "a steep curve keeps four digits"},
		{1.9123, 2.6345, 1.91, 2.63, "a gentle one fewer"},
		{6.4123, math.Inf(1), 6.41, math.Inf(1), "95% out of reach"},
		{0.5, 0.5, 0.5, 0.5, "no gap"},
	} {
		g80, g95 := rounded(tt.d80, tt.d95)
		if g80 != tt.w80 || g95 != tt.w95 {
			t.Errorf("%s: rounded(%g, %g) = %g, %g; want %g, %g", tt.commentary, tt.d80, tt.d95, g80, g95, tt.w80, tt.w95)
		}
	}
}

// TestHistogramCalibration checks that the model reproduces a tail that
// varies from window to window: latencies whose scale drifts give a
// spread that makes the judge find the same dispersion in simulated
// baselines; latencies that do not, none.
func TestHistogramCalibration(t *testing.T) {
	bounds := NativeLikeBounds()
	for _, c := range []struct {
		drift      float64
		wantSpread bool
	}{{0, false}, {0.08, true}} {
		rng := rand.New(rand.NewPCG(13, 14))
		h := &judge.Buckets{Bounds: bounds}
		for range 120 {
			scale := math.Exp(c.drift * rng.NormFloat64())
			row := make([]float64, len(bounds))
			for range 3000 {
				v := 0.1 * scale * math.Exp(0.5*rng.NormFloat64())
				for i, b := range bounds {
					if v <= b {
						row[i]++
					}
				}
			}
			h.Counts = append(h.Counts, row...)
		}
		spec := judge.Spec{Name: "p99", Test: judge.Histogram, Direction: judge.Increase}.WithDefaults()
		m, err := fitHistogram(spec, h, 1)
		if err != nil {
			t.Fatal(err)
		}
		if (m.sigma > 0) != c.wantSpread || c.wantSpread && (m.sigma < 0.03 || m.sigma > 0.2) {
			t.Errorf("drift %g: spread %.3f (tail dispersion %.2f); want spread %v near the drift", c.drift, m.sigma, m.tailPhi, c.wantSpread)

		}
	}
}

// NativeLikeBounds are buckets 19% apart from 10 ms to 5 s, and +Inf.
func NativeLikeBounds() []float64 {
	var out []float64
	for x := 0.01; x < 5; x *= 1.19 {
		out = append(out, x)
	}
	return append(out, math.Inf(1))
}

// TestPromise checks that the printed change is where the measured rate
// reaches the promise, even where detection does not grow with the
// change.
func TestPromise(t *testing.T) {
	monotone := func(d float64) (float64, error) { return math.Min(1, d), nil }
	plateau := func(d float64) (float64, error) {
		switch {
		case d >= 0.3 && d <= 0.5:
			return 0.9, nil
		case d > 0.5 && d < 0.8:
			return 0.5, nil
		case d >= 0.8:
			return 0.97, nil
		}
		return 0, nil
	}
	for _, tt := range []struct {
		name        string
		power       func(float64) (float64, error)
		p, start    float64
		unit, most  float64
		want, slack float64
	}{
		{"at the start", monotone, 0.8, 0.8, 0.01, 9, 0.8, 0},
		{"a unit short", monotone, 0.8, 0.79, 0.01, 9, 0.8, 0},
		{"far short", monotone, 0.8, 0.2, 0.01, 9, 0.8, 0.005},
		{"past a plateau", plateau, 0.95, 0.4, 0.01, 9, 0.8, 0.005},
		{"never", plateau, 0.99, 0.4, 0.01, 9, math.Inf(1), 0},
		{"no unit", monotone, 0.5, 0.2, 0, 1, 0.5, 0.001},
	} {
		got, rate, err := promise(tt.power, tt.p, tt.start, tt.unit, tt.most)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsInf(tt.want, 1) != math.IsInf(got, 1) || !math.IsInf(got, 1) && (got < tt.want-1e-9 || got > tt.want+tt.slack+1e-9) {
			t.Errorf("%s: promise %g; want %g (within %g above)", tt.name, got, tt.want, tt.slack)
		}
		if want, _ := tt.power(got); !math.IsInf(got, 1) && rate != want {
			t.Errorf("%s: promise %g at rate %g; want the rate measured there, %g", tt.name, got, rate, want)
		}
	}
	// Detection that jumps past the power: the figure is printed with the
	// rate it has, and that rate is its promise.
	c := Cell{Rate80: ptr(0.915), Rate95: ptr(0.96)}
	if got := Promised(c, Power); got != 0.915 {
		t.Errorf("a jump to 91.5%%: promised %g; want 0.915", got)
	}
	if got := Promised(c, Power95); got != Power95 {
		t.Errorf("96%% at the 95%% figure: promised %g; want 0.95 (within Jump)", got)
	}
	sm := SignalModel{Unit: Relative, Direction: "increase"}
	if got := detects(sm, ptr(0.52), c.Rate80, Power, 9); got != "+52% (92%)" {
		t.Errorf("printed %q; want +52%% (92%%)", got)
	}
	if got := detects(sm, ptr(0.78), c.Rate95, Power95, 9); got != "+78%" {
		t.Errorf("printed %q; want +78%%", got)
	}
}
