package judge

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSpendingBoundaryTables checks the recursion against published
// boundaries of the O'Brien–Fleming-type spending function at one-sided
// 0.025 with equally spaced looks (the values R's ldbounds and gsDesign
// print for the Lan–DeMets O'Brien–Fleming-type function, sfLDOF): 4 looks 4.3326,
// 2.9631, 2.3590, 2.0141; 5 looks 4.8769, 3.3569, 2.6803, 2.2898, 2.0310.
// The grid's error is about 5e-4 and on the conservative side.
func TestSpendingBoundaryTables(t *testing.T) {
	for _, tc := range []struct {
		want []float64
	}{
		{[]float64{4.3326, 2.9631, 2.3590, 2.0141}},
		{[]float64{4.8769, 3.3569, 2.6803, 2.2898, 2.0310}},
	} {
		k := len(tc.want)
		p := spendingPath{total: 0.025, alpha: 0.025}
		for i, want := range tc.want {
			tau := float64(i+1) / float64(k)
			got := p.look(tau, tau)
			if math.Abs(got-want) > 1e-3 {
				t.Errorf("%d looks, look %d: bound %.4f, want %.4f", k, i+1, got, want)
			}
		}
		if math.Abs(p.spent-0.025) > 1e-9 {
			t.Errorf("%d looks: spent %g, want 0.025", k, p.spent)
		}
	}
	// Half-way, 2 − 2Φ(2.2414/√0.5) = 2Φ̄(3.1698) = 0.001525 of 0.025.
	if got := spentOBF(0.025, 0.5); math.Abs(got-0.001525) > 1e-6 {
		t.Errorf("α(0.5) = %g, want 0.001525", got)
	}
}

// crossing simulates Brownian paths looked at the given elapsed shares
// and information shares, and returns the share that ever reach the
// bounds z (one per look).
func crossing(r *rand.Rand, reps int, info, z []float64, drift float64) float64 {
	hits := 0
	for range reps {
		s, u := 0.0, 0.0
		for k := range info {
			du := info[k] - u
			s += float64(drift*du) + math.Sqrt(du)*r.NormFloat64()
			u = info[k]
			if s/math.Sqrt(u) >= z[k] {
				hits++
				break
			}
		}
	}
	return float64(hits) / float64(reps)
}

// TestHorizonBoundaryHolds: under "no change", paths looked at irregular
// times whose information does not grow in step with time (traffic that
// ramps up) cross the boundary of a known horizon with probability alpha
// over the horizon (less the reserve), and at most alpha when the looks
// go on to twice the horizon, where the mixture with the level left
// takes over. A fixed-sample test at every look crosses far more often.
func TestHorizonBoundaryHolds(t *testing.T) {
	const (
		alpha = 0.05
		reps  = 100000
	)
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name  string
		until float64 // looks up to this share of the horizon
	}{
		{"irregular looks over the horizon", 1},
		{"irregular looks to twice the horizon", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var taus, info []float64
			for tau := 0.0; ; {
				tau += r.ExpFloat64() / 40
				if tau >= tc.until {
					break
				}
				taus = append(taus, tau)
			}
			taus = append(taus, tc.until)
			const ref = 400.0 // information expected at the horizon
			h := &Horizon{}
			z := make([]float64, len(taus))
			for k, tau := range taus {
				// Traffic doubles over the hour: information ∝ τ(1 + τ)/2.
				info = append(info, tau*(1+tau)/2)
				h.Elapsed = tau
				b := h.look(alpha, false, info[k]*ref, ref)
				z[k] = b[0].z
			}
			got := crossing(r, reps, info, z, 0)
			se := math.Sqrt(alpha * (1 - alpha) / reps)
			want := (1 - HorizonReserve) * alpha
			t.Logf("%d looks: crossed %.4f (the horizon spends %.4f, the level is %g); last bound %.3f", len(taus), got, want, alpha, z[len(z)-1])
			if tc.until == 1 && math.Abs(got-want) > 4*se+0.002 {
				t.Errorf("crossed %.4f, want %.4f within %.4f", got, want, 4*se+0.002)
			}
			if got > alpha+4*se {
				t.Errorf("crossed %.4f, above the level %g", got, alpha)
			}
			fixed := make([]float64, len(z))
			for k := range fixed {
				fixed[k] = upperQuantile(alpha)
			}
			if f := crossing(r, reps/10, info, fixed, 0); f < 2*alpha {
				t.Errorf("a fixed-sample test at every look crossed %.3f; the simulation should show the inflation", f)
			}
		})
	}
}

// TestHorizonPower: at the end of an hour of 120 looks the critical
// level's bound is about 2.54, far below the mixture's, and a drift that
// a single test at the end catches 88% of the time at 1% (z 2.33) is
// caught at least 80% of the time within the hour.
func TestHorizonPower(t *testing.T) {
	const (
		ref   = 1000.0
		looks = 120
	)
	level := 0.05
	crit := CriticalLevelFactor * level // as the judge computes it
	h := &Horizon{}
	info := make([]float64, looks)
	z := make([]float64, looks)
	for k := range looks {
		info[k] = float64(k+1) / looks
		h.Elapsed = info[k]
		bounds := h.look(level, true, info[k]*ref, ref)
		for _, b := range bounds {
			if b.level == crit {
				z[k] = b.z
			}
		}
	}
	mixtureZ := upperQuantile(anytimeLevel(crit, ref, mixtureConstant(crit)/ref))
	t.Logf("critical bound at the horizon: %.3f; mixture %.3f; one test %.3f", z[looks-1], mixtureZ, upperQuantile(crit))
	if z[looks-1] > 2.6 || z[looks-1] < upperQuantile(crit) {
		t.Errorf("critical bound at the horizon %.3f, want between one test's %.3f and 2.6", z[looks-1], upperQuantile(crit))
	}
	drift := upperQuantile(crit) + upperQuantile(1-0.88) // 88% power for one test at the end
	r := rand.New(rand.NewPCG(7, 8))
	if p := crossing(r, 20000, info, z, drift); p < 0.80 {
		t.Errorf("the horizon's boundary caught %.3f of a drift one test at the end catches 88%% of the time", p)
	}
}

// TestHorizonRestart: a Horizon rebuilt from its stored looks (a restart)
// gives the same bound at the next look as the one that lived through
// them, and a look judged again is not counted twice: it replaces the
// look it repeats.
func TestHorizonRestart(t *testing.T) {
	const level, ref = 0.05, 500.0
	live := &Horizon{Signals: 3, CriticalSignals: 1}
	for k := 1; k <= 20; k++ {
		live.Elapsed = float64(k) / 60
		live.look(level, true, float64(k)/55*ref, ref)
	}
	restored := &Horizon{Signals: 3, CriticalSignals: 1, Looks: append([]HorizonLook(nil), live.Looks...)}
	live.Elapsed, restored.Elapsed = 21.0/60, 21.0/60
	a := live.look(level, true, 21.0/55*ref, ref)
	b := restored.look(level, true, 21.0/55*ref, ref)
	if len(a) != 3 || len(a) != len(b) {
		t.Fatalf("levels: live %d, restored %d, want 3 (level, level/3, critical)", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("level %g: live bound %v, restored %v", a[i].level, a[i], b[i])
		}
	}
	again := live.look(level, true, 21.0/55*ref, ref)
	if len(live.Looks) != 21 || again[0] != a[0] {
		t.Errorf("a look judged again: %d looks recorded, bound %v then %v", len(live.Looks), a[0], again[0])
	}
	// Judged again with more data (late samples): it replaces the look,
	// as if it had had them the first time.
	late := live.look(level, true, 22.0/55*ref, ref)
	fresh := &Horizon{Signals: 3, CriticalSignals: 1, Looks: append([]HorizonLook(nil), live.Looks[:20]...), Elapsed: 21.0 / 60}
	want := fresh.look(level, true, 22.0/55*ref, ref)
	if len(live.Looks) != 21 || late[0] != want[0] || late[0] == a[0] {
		t.Errorf("a look judged again with more data: %d looks, bound %v; want 21 looks and %v (it was %v)", len(live.Looks), late[0], want[0], a[0])
	}
}

// TestHorizonFailsAlone: a signal whose failure fails the canary alone
// (Horizon.FailsAlone) is held to the critical level's boundary over a
// known horizon, so evidence between the ordinary and the critical
// boundary fails it only when its failure does not fail the canary (it
// passes by GateFailsAlone, with what its data rule out unchanged); the
// failure stays an ordinary one for a signal that is not critical.
func TestHorizonFailsAlone(t *testing.T) {
	const n = 120
	spec := Spec{Name: "latency", Direction: Increase}
	r := rand.New(rand.NewPCG(31, 32))
	baseline, noise := make([]float64, n), make([]float64, n)
	for i := range baseline {
		baseline[i], noise[i] = 100+10*r.NormFloat64(), 100+10*r.NormFloat64()
	}
	judgeAt := func(shift float64, alone bool) Result {
		canary := make([]float64, n)
		for i, v := range noise {
			canary[i] = v + shift
		}
		// The only look, at the end of the horizon: it spends the whole
		// level.
		h := &Horizon{Elapsed: 1, FailsAlone: alone}
		var w Workspace
		return w.Judge(spec, baseline, canary, Options{Anytime: &Anytime{Fraction: 1, Horizon: h}})
	}
	between := 0
	for shift := 0.0; shift <= 8; shift += 0.25 {
		ordinary, alone := judgeAt(shift, false), judgeAt(shift, true)
		if alone.Failed && (!ordinary.Failed || alone.CriticalFailure) {
			t.Errorf("shift %g: failing alone %v (critical %v), ordinarily %v", shift, alone.Failed, alone.CriticalFailure, ordinary.Failed)
		}
		if ordinary.Failed && !alone.Failed {
			between++
			if p := *ordinary.Test.DecisionPValue; p <= CriticalLevelFactor*0.05 {
				t.Errorf("shift %g: passed failing alone with decision p %g, within the critical level", shift, p)
			}
			if alone.Classification != Pass || alone.Gate != GateFailsAlone {
				t.Errorf("shift %g: failing alone judged %s (gate %s), want a pass by gate %s", shift, alone.Classification, alone.Gate, GateFailsAlone)
			}
			// What the data rule out stays at the ordinary level.
			if a, o := alone.Test.RulesOut, ordinary.Test.RulesOut; a == nil || o == nil || *a != *o {
				t.Errorf("shift %g: rules out %v failing alone, %v ordinarily; want the same", shift, a, o)
			}
		}
	}
	if between == 0 {
		t.Error("no shift between the ordinary and the critical boundary: the test shows nothing")
	}
	if !judgeAt(8, true).Failed {
		t.Error("a shift of 8 (z about 6) does not fail a signal failing alone")
	}
}
