package judge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Reference values in this file come from R 4.x:
//
//	p.adjust(c(0.001, 0.01, 0.02, 0.04), "holm")
//	a <- 0.025; z <- qnorm(1 - a/2); s <- function(t) ifelse(t <= 0, 0, 2 - 2*pnorm(z/sqrt(t)))
//	k <- 1:6; s(k/6) - s((k-1)/6)
//	pnorm(qnorm(1 - 0.025)/2, lower.tail = FALSE)
//	binom.test(k, k, 0.5, alternative = "greater")$p.value = 0.5^k

func TestDecisionLevel(t *testing.T) {
	// O'Brien-Fleming-type shares of 6 looks, for the level 0.05 (one
	// harmful direction) and 0.025 (either, per side); R as above with a <- 0.05 and 0.025.
	obf05 := []float64{1.57944924028541e-06, 6.85315418983645e-04, 4.88770181256060e-03,
		1.08000697692636e-02, 1.54159902689130e-02, 1.82093432810388e-02}
	obf025 := []float64{4.01267541416672e-08, 1.03465591392959e-04, 1.42181703984190e-03,
		4.52306637191868e-03, 8.02699819497588e-03, 1.09246126751164e-02}
	type tc struct {
		name string
		opts Options
		dir  Direction
		want float64
	}
	tests := []tc{
		{"default confidence, a rise is harmful", Options{}, Increase, 0.05},
		{"default confidence, a fall is harmful", Options{}, Decrease, 0.05},
		{"default confidence, either direction: per side", Options{}, Either, 0.025},
		{"confidence 0.99", Options{Confidence: 0.99}, Increase, 0.01},
		{"single look", Options{Look: 1, Looks: 1}, Increase, 0.05},
		{"look out of range", Options{Look: 7, Looks: 6}, Either, 0.025},
	}
	for k := range obf05 {
		tests = append(tests,
			tc{fmt.Sprintf("O'Brien-Fleming look %d of 6, increase", k+1), Options{Confidence: 0.95, Look: k + 1, Looks: 6}, Increase, obf05[k]},
			tc{fmt.Sprintf("O'Brien-Fleming look %d of 6, either", k+1), Options{Confidence: 0.95, Look: k + 1, Looks: 6}, Either, obf025[k]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecisionLevel(tt.opts, tt.dir); math.Abs(got/tt.want-1) > 1e-9 {
				t.Errorf("DecisionLevel(%+v, %s) = %.15g, want %.15g", tt.opts, tt.dir, got, tt.want)
			}
		})
	}
	var sum float64
	for k := 1; k <= 6; k++ {
		sum += DecisionLevel(Options{Look: k, Looks: 6}, Increase)
	}
	if math.Abs(sum-0.05) > 1e-12 {
		t.Errorf("the looks spend %.15g in all, want the level 0.05", sum)
	}
}

func TestInflateP(t *testing.T) {
	tests := []struct{ p, f, want float64 }{
		{0.025, 1, 0.025},
		{0.025, 4, 0.16354750384557},
		{0.7, 4, 0.7}, // the other side: unchanged
		{0.3, 0.5, 0.3},
		// A tiny p-value stays positive: R, pnorm(qnorm(1e-28, lower.tail = FALSE)/4, lower.tail = FALSE).
		{1e-28, 16, 0.00284999773875686},
	}
	for _, tt := range tests {
		if got := inflateP(tt.p, tt.f); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("inflateP(%g, %g) = %.15g, want %.15g", tt.p, tt.f, got, tt.want)
		}
	}
}

func ar1(rng *rand.Rand, n int, phi float64) []float64 {
	out := make([]float64, n)
	x := rng.NormFloat64()
	for i := range out {
		if i > 0 {
			x = phi*x + math.Sqrt(1-phi*phi)*rng.NormFloat64()
		}
		out[i] = 100 * math.Exp(0.3*x)
	}
	return out
}

// step doubles the second half of v: a regression that starts mid-window.
func step(v []float64) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = v[i]
		if i >= len(v)/2 {
			out[i] *= 2
		}
	}
	return out
}

func TestVarianceInflation(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trend := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[i] = v[i] * (1 + 0.5*math.Sin(2*math.Pi*float64(i)/float64(len(v))))
		}
		return out
	}
	// The rank autocorrelation of a Gaussian AR(1) with coefficient φ is
	// about (6/π)·asin(φ/2): 0.483 for φ = 0.5, 0.891 for φ = 0.9.
	tests := []struct {
		name           string
		b, c           []float64
		rhoLo, rhoHigh float64
	}{
		{"independent", ar1(rng, 2000, 0), ar1(rng, 2000, 0), 0, 0.06},
		{"AR(1) 0.5", ar1(rng, 2000, 0.5), ar1(rng, 2000, 0.5), 0.42, 0.55},
		{"AR(1) 0.9", ar1(rng, 2000, 0.9), ar1(rng, 2000, 0.9), 0.84, 0.93},
		{"AR(1) 0.5, unequal lengths", ar1(rng, 2000, 0.5), ar1(rng, 1500, 0.5), 0.42, 0.55},
		{"shared trend cancels", trend(ar1(rng, 2000, 0)), trend(ar1(rng, 2000, 0)), 0, 0.06},
		{"too short", []float64{1, 2}, []float64{3, 4}, 0, 0},
		{"a step inside the canary window is not correlation", ar1(rng, 2000, 0), step(ar1(rng, 2000, 0)), 0, 0.06},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, rho := VarianceInflation(tt.b, tt.c)
			if rho < tt.rhoLo || rho > tt.rhoHigh {
				t.Errorf("rho %g, want in [%g, %g]", rho, tt.rhoLo, tt.rhoHigh)
			}
			if want := (1 + rho) / (1 - rho); math.Abs(f-want) > 0.05*want {
				t.Errorf("factor %g for rho %g, want about %g", f, rho, want)
			}
		})
	}
}

// TestAutocorrelatedAAFalseAlarms checks the behaviour the correction is
// for: A/A pairs of strongly autocorrelated series (AR(1), φ = 0.9) fail
// about as often as the decision level says, not several times more.
func TestAutocorrelatedAAFalseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const runs = 300
	failed := 0
	for range runs {
		r := Judge(Spec{Name: "lat", Direction: Increase}, ar1(rng, 360, 0.9), ar1(rng, 360, 0.9), Options{})
		if r.Failed {
			failed++
		}
	}
	// Uncorrected, about 35% fail; the level is 5%. Allow sampling noise
	// and the remaining anti-conservatism of the estimated correction.
	if rate := float64(failed) / runs; rate > 0.10 {
		t.Errorf("%d of %d A/A AR(1) pairs failed (%.1f%%), want near 5%%", failed, runs, 100*rate)
	}
}

func withP(name string, p float64, failed, critical bool) Result {
	r := Result{Name: name, Classification: Pass, Failed: failed, CriticalFailure: critical, Reason: name}
	if failed {
		r.Classification = High
	}
	r.Test = &TestResult{Method: MannWhitney, DecisionPValue: ptr(p), DecisionLevel: 0.025}
	return r
}

func TestAdjustFamily(t *testing.T) {
	tests := []struct {
		name         string
		in           []Result
		wantFailed   []bool
		wantCritical []bool
		wantAdjusted []float64
	}{
		{
			// 4 × R's holm adjustment of (0.001, 0.01, 0.02, 0.04) at level 0.025:
			// 0.004, 0.030, 0.040, 0.040; only the first stays significant.
			name:         "Holm step-down",
			in:           []Result{withP("a", 0.02, true, false), withP("b", 0.001, true, false), withP("c", 0.04, false, false), withP("d", 0.01, true, false)},
			wantFailed:   []bool{false, true, false, false},
			wantCritical: []bool{false, false, false, false},
			wantAdjusted: []float64{0.040, 0.004, 0.040, 0.030},
		},
		{
			name:         "one signal: nothing to adjust",
			in:           []Result{withP("a", 0.02, true, true)},
			wantFailed:   []bool{true},
			wantCritical: []bool{true},
			wantAdjusted: []float64{0.02},
		},
		{
			name:         "critical needs the stricter level within the signals that can fail the canary",
			in:           []Result{withP("a", 0.008, true, true), withP("b", 0.006, true, true), withP("c", 0.5, false, false)},
			wantFailed:   []bool{true, true, false},
			wantCritical: []bool{false, false, false},
			wantAdjusted: []float64{0.018, 0.018, 0.5},
		},
		{
			name: "a critical signal is not diluted by the others",
			in: []Result{withP("crit", 0.004, true, true), withP("s1", 0.5, false, false), withP("s2", 0.5, false, false), withP("s3", 0.5, false, false),
				withP("s4", 0.5, false, false), withP("s5", 0.5, false, false), withP("s6", 0.5, false, false), withP("s7", 0.5, false, false),
				withP("s8", 0.5, false, false), withP("s9", 0.5, false, false)},
			wantFailed:   []bool{true, false, false, false, false, false, false, false, false, false},
			wantCritical: []bool{true, false, false, false, false, false, false, false, false, false},
			wantAdjusted: []float64{0.004, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		},
		{
			name: "results without a decision p-value are left alone",
			in: []Result{withP("a", 0.02, true, false),
				{Name: "thr", Classification: High, Failed: true, Test: &TestResult{Method: Threshold}},
				{Name: "nd", Classification: NoData}},
			wantFailed:   []bool{true, true, false},
			wantCritical: []bool{false, false, false},
			wantAdjusted: []float64{0.02, math.NaN(), math.NaN()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared := make([]*TestResult, len(tt.in))
			for i := range tt.in {
				shared[i] = tt.in[i].Test
			}
			AdjustFamily(tt.in)
			once := make([]Result, len(tt.in))
			copy(once, tt.in)
			AdjustFamily(tt.in) // idempotent
			for i, r := range tt.in {
				if r.Failed != tt.wantFailed[i] || r.CriticalFailure != tt.wantCritical[i] {
					t.Errorf("%s: failed %v critical %v, want %v %v (%s)", r.Name, r.Failed, r.CriticalFailure, tt.wantFailed[i], tt.wantCritical[i], r.Reason)
				}
				if r.Failed != once[i].Failed || r.Reason != once[i].Reason {
					t.Errorf("%s: a second adjustment changed the result", r.Name)
				}
				if !r.Failed && tt.wantFailed[i] == false && once[i].Gate == GateMultiplicity && !strings.Contains(r.Reason, "Holm") {
					t.Errorf("%s: reason %q does not explain the adjustment", r.Name, r.Reason)
				}
				if math.IsNaN(tt.wantAdjusted[i]) {
					if r.Test != nil && r.Test.AdjustedPValue != nil {
						t.Errorf("%s: adjusted p %g for a result outside the family", r.Name, *r.Test.AdjustedPValue)
					}
					continue
				}
				if r.Test.AdjustedPValue == nil || math.Abs(*r.Test.AdjustedPValue-tt.wantAdjusted[i]) > 1e-12 {
					t.Errorf("%s: adjusted p %v, want %g", r.Name, r.Test.AdjustedPValue, tt.wantAdjusted[i])
				}
				if shared[i] != nil && shared[i].AdjustedPValue != nil {
					t.Errorf("%s: the caller's TestResult was written through", r.Name)
				}
			}
		})
	}
}

func TestCriticalNeedsStrongerEvidence(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	base := lognormal(rng, 200, 100, 0.3)
	tests := []struct {
		name         string
		shift        float64
		wantFailed   bool
		wantCritical bool
	}{
		{"no change", 1.0, false, false},
		{"strong rise", 1.5, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := scaled(lognormal(rand.New(rand.NewPCG(33, 34)), 200, 100, 0.3), tt.shift)
			r := Judge(Spec{Name: "lat", Direction: Increase, Critical: true}, base, c, Options{})
			if r.Failed != tt.wantFailed || r.CriticalFailure != tt.wantCritical {
				t.Errorf("failed %v critical %v, want %v %v: %s", r.Failed, r.CriticalFailure, tt.wantFailed, tt.wantCritical, r.Reason)
			}
		})
	}
	// Between the two levels: find a shift whose decision p-value falls in
	// (0.01, 0.05]; it must fail without failing the canary.
	for s := 1.0; s < 1.3; s += 0.002 {
		c := scaled(lognormal(rand.New(rand.NewPCG(33, 34)), 200, 100, 0.3), s)
		r := Judge(Spec{Name: "lat", Direction: Increase, Critical: true}, base, c, Options{})
		p := r.Test.DecisionPValue
		if p == nil || *p <= CriticalLevelFactor*0.05 || *p > 0.05 {
			continue
		}
		if !r.Failed || r.CriticalFailure || !strings.Contains(r.Reason, "ordinary failure") {
			t.Errorf("p = %g: failed %v critical %v, want an ordinary failure: %s", *p, r.Failed, r.CriticalFailure, r.Reason)
		}
		return
	}
	t.Fatal("no shift gave a p-value between the critical and the ordinary level")
}

func TestRateDecisionIsOneSidedExact(t *testing.T) {
	tests := []struct {
		name   string
		kb, kc int
		want   Classification
		p      float64 // R: binom.test(kc, kb+kc, 0.5, alternative = "greater")$p.value
	}{
		{"8 errors against none", 0, 8, High, 0.00390625},
		{"5 errors against none", 0, 5, High, 0.03125},
		{"4 errors against none: not yet evidence", 0, 4, Pass, 0.0625},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Judge(Spec{Name: "errors", Test: Rate, Direction: Increase}, countSeries(100, tt.kb), countSeries(100, tt.kc), Options{})
			if r.Classification != tt.want || r.Test.DecisionPValue == nil || math.Abs(*r.Test.DecisionPValue-tt.p) > 1e-12 {
				t.Errorf("got %s with decision p %v, want %s with %g: %s", r.Classification, r.Test.DecisionPValue, tt.want, tt.p, r.Reason)
			}
		})
	}
}
