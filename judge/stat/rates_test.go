package stat

import (
	"fmt"
	"math"
	"testing"
)

// exactSumOfBinomials is the distribution of a sum of independent
// Binomial(k[g], p[g]) by direct convolution of their probability mass
// functions: the reference the saddlepoint is checked against.
func exactSumOfBinomials(k []int, p []float64) []float64 {
	dist := []float64{1}
	for g := range k {
		pmf := make([]float64, k[g]+1)
		for i := 0; i <= k[g]; i++ {
			lg, _ := math.Lgamma(float64(k[g] + 1))
			li, _ := math.Lgamma(float64(i + 1))
			lr, _ := math.Lgamma(float64(k[g] - i + 1))
			pmf[i] = math.Exp(lg - li - lr + float64(i)*math.Log(p[g]) + float64(k[g]-i)*math.Log1p(-p[g]))
		}
		next := make([]float64, len(dist)+k[g])
		for a, da := range dist {
			for b, pb := range pmf {
				next[a+b] += da * pb
			}
		}
		dist = next
	}
	return dist
}

func tails(dist []float64, x int) (upper, lower float64) {
	for i, d := range dist {
		if i >= x {
			upper += d
		}
		if i <= x {
			lower += d
		}
	}
	return upper, lower
}

func newRates(t *testing.T, k []int, odds []float64, x int) *RateComparison {
	t.Helper()
	kf := make([]float64, len(k))
	for i, v := range k {
		kf[i] = float64(v)
	}
	rc, err := NewRateComparison(kf, odds, float64(x))
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestRateComparisonTails checks both tails against the exact distribution
// of the sum of binomials, at the null and at other ratios, for one stratum
// (exact through the beta function) and several (saddlepoint).
func TestRateComparisonTails(t *testing.T) {
	cases := []struct {
		name string
		k    []int
		odds []float64
	}{
		{"one stratum, 5% canary", []int{450}, []float64{5.0 / 95}},
		{"one stratum, 50/50", []int{40}, []float64{1}},
		{"two strata, weights 5% and 25%", []int{120, 80}, []float64{5.0 / 95, 25.0 / 75}},
		{"1% canary over 15 windows", []int{30, 28, 35, 31, 25, 29, 33, 30, 27, 26, 32, 34, 29, 30, 28},
			[]float64{0.0101, 0.0087, 0.0112, 0.0095, 0.0130, 0.0078, 0.0102, 0.0099, 0.0121, 0.0091, 0.0104, 0.0096, 0.0110, 0.0085, 0.0100}},
		{"few events, uneven", []int{3, 1, 7, 2}, []float64{0.2, 0.05, 1, 3}},
	}
	for _, c := range cases {
		total := 0
		for _, v := range c.k {
			total += v
		}
		for _, theta := range []float64{1, 0.5, 2, 4} {
			p := make([]float64, len(c.k))
			var mean float64
			for g := range c.k {
				p[g] = theta * c.odds[g] / (1 + theta*c.odds[g])
				mean += float64(c.k[g]) * p[g]
			}
			dist := exactSumOfBinomials(c.k, p)
			for _, x := range distinctCounts(mean, total) {
				t.Run(fmt.Sprintf("%s/θ=%g/x=%d", c.name, theta, x), func(t *testing.T) {
					rc := newRates(t, c.k, c.odds, x)
					wantUp, wantLow := tails(dist, x)
					tol := 1e-9
					if len(c.k) > 1 {
						tol = 0.03 // saddlepoint: within 3% of the tail (2.1% at worst here)
					}
					for _, tail := range []struct {
						name      string
						got, want float64
					}{{"P(S ≥ x)", rc.UpperTail(theta), wantUp}, {"P(S ≤ x)", rc.LowerTail(theta), wantLow}} {
						if tail.want < 1e-12 {
							if tail.got > 1e-10 {
								t.Errorf("%s = %g, exact %g", tail.name, tail.got, tail.want)
							}
							continue
						}
						if rel := math.Abs(tail.got-tail.want) / math.Min(tail.want, 1-tail.want+1e-300); rel > tol && math.Abs(tail.got-tail.want) > 1e-3*tol {
							t.Errorf("%s = %.6g, exact %.6g (relative error %.3g, tolerance %g)", tail.name, tail.got, tail.want, rel, tol)
						}
					}
				})
			}
		}
	}
}

// distinctCounts are observed counts across both tails around the mean.
func distinctCounts(mean float64, total int) []int {
	seen := map[int]bool{}
	var out []int
	for _, f := range []float64{0, 0.3, 0.7, 1, 1.3, 2, 3} {
		x := int(math.Round(mean * f))
		if x > total {
			x = total
		}
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if !seen[total] {
		out = append(out, total)
	}
	return out
}

// TestRateComparisonPoissonTest is R's own example of poisson.test for two
// rates (its help page, after Bailey): 11 events in 800 person-years
// against 21 in 3011. R prints rate ratio 1.971488 and the 95% interval
// 0.8584264 .. 4.2772659, the Clopper–Pearson limits of the share turned
// into ratios.
func TestRateComparisonPoissonTest(t *testing.T) {
	rc := newRates(t, []int{32}, []float64{800.0 / 3011}, 11)
	if got := rc.Estimate(); math.Abs(got-1.971488) > 5e-7 {
		t.Errorf("estimate %.7f, R 1.971488", got)
	}
	lo, hi := rc.Interval(0.95)
	if math.Abs(lo-0.8584264) > 5e-7 || math.Abs(hi-4.2772659) > 5e-7 {
		t.Errorf("interval %.7f .. %.7f, R 0.8584264 .. 4.2772659", lo, hi)
	}
}

// TestRateComparisonBounds checks that each bound is where the exact tail
// reaches its level, for one and several strata, and that the estimate
// makes E[S] equal the observed count.
func TestRateComparisonBounds(t *testing.T) {
	cases := []struct {
		k    []int
		odds []float64
		x    int
	}{
		{[]int{450}, []float64{5.0 / 95}, 31},
		{[]int{120, 80}, []float64{5.0 / 95, 25.0 / 75}, 30},
		{[]int{30, 28, 35, 31, 25}, []float64{0.01, 0.012, 0.009, 0.011, 0.0105}, 4},
		{[]int{3, 1, 7, 2}, []float64{0.2, 0.05, 1, 3}, 1},
		{[]int{3, 1, 7, 2}, []float64{0.2, 0.05, 1, 3}, 12},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("k=%v x=%d", c.k, c.x), func(t *testing.T) {
			rc := newRates(t, c.k, c.odds, c.x)
			exact := func(theta float64) (upper, lower float64) {
				p := make([]float64, len(c.k))
				for g := range c.k {
					p[g] = theta * c.odds[g] / (1 + theta*c.odds[g])
				}
				return tails(exactSumOfBinomials(c.k, p), c.x)
			}
			tol := 1e-6
			if len(c.k) > 1 {
				tol = 0.1
			}
			for _, conf := range []float64{0.95, 0.99} {
				if lb := rc.LowerBound(conf); lb > 0 {
					if up, _ := exact(lb); math.Abs(up-(1-conf))/(1-conf) > tol {
						t.Errorf("lower bound %g at %g: exact P(S ≥ x) there is %g, want %g", lb, conf, up, 1-conf)
					}
				}
				if ub := rc.UpperBound(conf); !math.IsInf(ub, 1) {
					if _, low := exact(ub); math.Abs(low-(1-conf))/(1-conf) > tol {
						t.Errorf("upper bound %g at %g: exact P(S ≤ x) there is %g, want %g", ub, conf, low, 1-conf)
					}
				}
			}
			est := rc.Estimate()
			if e := rc.Expected(est); math.Abs(e-float64(c.x)) > 1e-8*float64(c.x+1) {
				t.Errorf("estimate %g gives E[S] = %g, want %d", est, e, c.x)
			}
			lo, hi := rc.Interval(0.95)
			if !(lo <= est && est <= hi) {
				t.Errorf("estimate %g outside its interval %g .. %g", est, lo, hi)
			}
		})
	}
}

// TestRateComparisonEdges: no canary events, every event the canary's, and
// strata that carry no information.
func TestRateComparisonEdges(t *testing.T) {
	rc := newRates(t, []int{20, 0, 5}, []float64{0.05, 0.05, 0}, 0)
	if rc.Strata() != 1 || rc.Events() != 20 {
		t.Errorf("strata %d events %g; want 1 stratum of 20 events (empty and one-sided strata dropped)", rc.Strata(), rc.Events())
	}
	if rc.Estimate() != 0 || rc.LowerBound(0.95) != 0 || rc.UpperTail(1) != 1 {
		t.Errorf("no canary events: estimate %g, lower bound %g, P(S ≥ 0) %g", rc.Estimate(), rc.LowerBound(0.95), rc.UpperTail(1))
	}
	// A zero-error baseline: 8 canary errors at a 5% share, none on the
	// baseline. P(S ≥ 8) = 0.05^8.
	rc = newRates(t, []int{8}, []float64{5.0 / 95}, 8)
	if got, want := rc.UpperTail(1), math.Pow(0.05, 8); math.Abs(got-want)/want > 1e-9 {
		t.Errorf("P(S ≥ 8) = %g, want 0.05^8 = %g", got, want)
	}
	if !math.IsInf(rc.Estimate(), 1) || !math.IsInf(rc.UpperBound(0.95), 1) {
		t.Errorf("every event the canary's: estimate %g, upper bound %g; want +Inf", rc.Estimate(), rc.UpperBound(0.95))
	}
	if _, err := NewRateComparison([]float64{5}, []float64{1}, 6); err == nil {
		t.Error("6 canary events out of 5: no error")
	}
	if _, err := NewRateComparison([]float64{math.NaN()}, []float64{1}, 0); err == nil {
		t.Error("NaN events: no error")
	}
}
