package judge

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestMixtureBoundaryHolds simulates the null the boundary is built for:
// a Gaussian random walk S with variance V = k after k steps, looked at
// after every step up to far beyond the tuning point. The chance of ever
// crossing must stay at most alpha (Ville's inequality); a fixed-sample
// test repeated at every look crosses far more often.
func TestMixtureBoundaryHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	const (
		alpha = 0.05
		steps = 400
		ref   = 100.0 // tuned to the information at step 100
		reps  = 4000
	)
	r := rand.New(rand.NewPCG(21, 22))
	rho := mixtureConstant(alpha) / ref
	crossed, fixed := 0, 0
	zFixed := upperQuantile(alpha)
	for range reps {
		var s float64
		hit, hitFixed := false, false
		for k := 1; k <= steps; k++ {
			s += r.NormFloat64()
			v := float64(k)
			if !hit && mixture(s, v, rho) >= 1/alpha {
				hit = true
			}
			if !hitFixed && s/math.Sqrt(v) >= zFixed {
				hitFixed = true
			}
		}
		if hit {
			crossed++
		}
		if hitFixed {
			fixed++
		}
	}
	rate, fixedRate := float64(crossed)/reps, float64(fixed)/reps
	t.Logf("400 looks: the mixture boundary crossed %.2f%%, a fixed 5%% test %.1f%%", 100*rate, 100*fixedRate)
	if rate > alpha {
		t.Errorf("the boundary crossed in %.2f%% of null walks; want at most %g%%", 100*rate, 100*alpha)
	}
	if fixedRate < 3*alpha {
		t.Errorf("a fixed test repeated 400 times crossed %.1f%%; the simulation should show the inflation", 100*fixedRate)
	}
}

// TestAnytimeLevelAndP: the anytime level is the fixed-sample level at
// which the boundary is crossed, so p ≤ level(V) exactly when the anytime
// p-value is at most alpha; both are stricter than the fixed level.
func TestAnytimeLevelAndP(t *testing.T) {
	const alpha = 0.05
	for _, v := range []float64{10, 100, 1000} {
		rho := mixtureConstant(alpha) / 100
		eff := anytimeLevel(alpha, v, rho)
		if !(eff > 0 && eff < alpha) {
			t.Fatalf("V %g: anytime level %g, want within (0, %g)", v, eff, alpha)
		}
		for _, p := range []float64{eff * 0.99, eff * 1.01} {
			pa := anytimeP(p, v, rho)
			if (p <= eff) != (pa <= alpha*(1+1e-9)) {
				t.Errorf("V %g: p %g against level %g, anytime p %g against %g disagree", v, p, eff, pa, alpha)
			}
		}
	}
	if p := anytimeP(0.7, 100, 0.1); p != 1 {
		t.Errorf("a p above one half has anytime p %g, want 1", p)
	}
}

// TestAnytimeRepeatedLooks judges unchanged and regressed canaries whose
// data grow, looked at every two minutes for an hour (30 looks): the anytime
// decision fails an unchanged canary at some look at most at its level,
// where the fixed-sample test repeated at every look fails far more often;
// and at the end it catches a 10% median regression nearly as often as one
// fixed-sample test at the end.
func TestAnytimeRepeatedLooks(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(23, 24))
	const reps = 200
	spec := Spec{Name: "latency", Direction: Increase}
	lognormal := func(n int, scale float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = scale * math.Exp(0.3*r.NormFloat64())
		}
		return out
	}
	var w Workspace
	run := func(shift float64) (anyFail, fixedFail, anyEnd, fixedEnd bool) {
		b, c := lognormal(360, 100), lognormal(360, 100*(1+shift))
		var ref float64
		for look := 1; look <= 30; look++ {
			n := 12 * look // six points a minute
			any := w.Judge(spec, b[:n], c[:n], Options{Anytime: &Anytime{Reference: ref, Fraction: float64(look) / 30}})
			fixed := w.Judge(spec, b[:n], c[:n], Options{})
			if any.Test != nil && any.Test.Reference > 0 {
				ref = any.Test.Reference
			}
			anyFail = anyFail || any.Failed
			fixedFail = fixedFail || fixed.Failed
			if look == 30 {
				anyEnd, fixedEnd = any.Failed, fixed.Failed
			}
		}
		return
	}
	var aa, aaFixed, caught, caughtFixed int
	for range reps {
		a, f, _, _ := run(0)
		if a {
			aa++
		}
		if f {
			aaFixed++
		}
		_, _, ae, fe := run(0.1)
		if ae {
			caught++
		}
		if fe {
			caughtFixed++
		}
	}
	t.Logf("A/A failed at some look: anytime %.1f%%, fixed at every look %.1f%%; 10%% regression caught at the end: anytime %.1f%%, fixed %.1f%%",
		100*float64(aa)/reps, 100*float64(aaFixed)/reps, 100*float64(caught)/reps, 100*float64(caughtFixed)/reps)
	if rate := float64(aa) / reps; rate > 0.05+3*math.Sqrt(0.05*0.95/reps) {
		t.Errorf("anytime: %.1f%% of unchanged canaries failed at some look; want at most 5%%", 100*rate)
	}
	if float64(aaFixed)/reps < 0.1 {
		t.Errorf("the fixed test at every look failed only %.1f%% of unchanged canaries; the simulation should show its inflation", 100*float64(aaFixed)/reps)
	}
	if caught < caughtFixed-reps/10 {
		t.Errorf("anytime caught %d of %d 10%% regressions at the end, the fixed test %d: more than 10 points fewer", caught, reps, caughtFixed)
	}
}

// TestRequireEvidence: with requireEvidence a pass needs the data to rule
// out harm beyond the allowance; a canary too small to show that has no
// verdict yet and says how much longer it needs.
func TestRequireEvidence(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	lognormal := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = 100 * math.Exp(0.3*r.NormFloat64())
		}
		return out
	}
	spec := Spec{Name: "latency", Direction: Increase, AllowedChange: Rel(0.03), RequireEvidence: true}
	big := Judge(spec, lognormal(2000), lognormal(2000), Options{Elapsed: time.Hour})
	if big.Classification != Pass || big.Test.RulesOut == nil || *big.Test.RulesOut > 0.03 {
		t.Errorf("2,000 points of an unchanged canary: %s (%s); want pass, ruling out a rise above 3%%", big.Classification, big.Reason)
	}
	small := Judge(spec, lognormal(20), lognormal(20), Options{Elapsed: 5 * time.Minute})
	if small.Classification != NoData || small.Gate != GateUndecided || !strings.Contains(small.Reason, "not yet shown within the allowed +3.0%") || !strings.Contains(small.Reason, "more at this traffic") {
		t.Errorf("20 points: %s (%s); want no verdict yet, with how much longer", small.Classification, small.Reason)
	}
	spec.RequireEvidence = false
	if plain := Judge(spec, lognormal(20), lognormal(20), Options{}); plain.Classification != Pass {
		t.Errorf("20 points without requireEvidence: %s, want pass (no significant harm)", plain.Classification)
	}
}
