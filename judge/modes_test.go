package judge

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSequentialModes compares the two sequential modes on the model both
// rest on, a one-sided statistic that is a Brownian motion in its
// information (judge/anytime.go), looked at K evenly spaced times up to the
// horizon (information 1 = the reference), against a fixed-horizon test
// repeated at every look and run once at the end, at the default level
// (0.05 one-sided). It checks what docs/integrations.md ("Sequential
// modes") says, with the figures `go test ./judge -run
// TestSequentialModes -v` prints:
//   - both modes keep an unchanged canary's fails at any look under the
//     level, where the repeated fixed test does not;
//   - with few looks planned in advance (6), planned looks catch more of a
//     regression than anytime;
//   - with many looks (60, a controller asking every minute for an hour),
//     anytime catches more: the planned spending splits the level too
//     thinly;
//   - with the horizon known, anytime spends 90% of the level by the end
//     exactly (Horizon) and catches more than either, within 10 points of
//     one test at the end.
func TestSequentialModes(t *testing.T) {
	const alpha, runs = 0.05, 20000
	z := upperQuantile(alpha)
	rho := mixtureConstant(alpha) // reference 1
	// drift 2.49 is the regression a single test at the horizon catches
	// 80% of the time (z₀.₉₅ + z₀.₈).
	const drift = 2.4864
	type rates struct{ planned, anytime, horizon, everyLook, atEnd float64 }
	measure := func(K int, theta float64) rates {
		r := rand.New(rand.NewPCG(uint64(K), uint64(theta*1000)))
		var out rates
		planned := make([]float64, K)
		anytime := make([]float64, K)
		horizon := make([]float64, K)
		h := &Horizon{}
		for k := 1; k <= K; k++ {
			planned[k-1] = upperQuantile(DecisionLevel(Options{Look: k, Looks: K}, Increase))
			v := float64(k) / float64(K)
			anytime[k-1] = upperQuantile(anytimeLevel(alpha, v, rho))
			h.Elapsed = v
			horizon[k-1] = h.look(alpha, false, v, 1)[0].z
		}
		for range runs {
			s := 0.0
			var p, a, hz, e bool
			for k := 1; k <= K; k++ {
				dv := 1 / float64(K)
				s += theta*dv + math.Sqrt(dv)*r.NormFloat64()
				zk := s / math.Sqrt(float64(k)*dv)
				p = p || zk > planned[k-1]
				a = a || zk > anytime[k-1]
				hz = hz || zk >= horizon[k-1]
				e = e || zk > z
				if k == K && zk > z {
					out.atEnd++
				}
			}
			for _, c := range []struct {
				hit bool
				n   *float64
			}{{p, &out.planned}, {a, &out.anytime}, {hz, &out.horizon}, {e, &out.everyLook}} {
				if c.hit {
					*c.n++
				}
			}
		}
		out.planned, out.anytime, out.horizon, out.everyLook, out.atEnd = 100*out.planned/runs, 100*out.anytime/runs, 100*out.horizon/runs, 100*out.everyLook/runs, 100*out.atEnd/runs
		return out
	}
	for _, K := range []int{6, 12, 60} {
		aa, reg := measure(K, 0), measure(K, drift)
		t.Logf("%2d looks: unchanged canary fails %.1f%% planned, %.1f%% anytime, %.1f%% anytime with the horizon known, %.1f%% fixed at every look (%.1f%% once at the end); "+
			"a regression a test at the end catches %.0f%% of the time: %.1f%% planned, %.1f%% anytime, %.1f%% anytime with the horizon known, %.1f%% fixed at every look",
			K, aa.planned, aa.anytime, aa.horizon, aa.everyLook, aa.atEnd, reg.atEnd, reg.planned, reg.anytime, reg.horizon, reg.everyLook)
		if aa.planned > 100*alpha || aa.anytime > 100*alpha || aa.horizon > 100*alpha+0.5 || aa.everyLook <= 100*alpha {
			t.Errorf("%d looks: unchanged canaries fail %.1f%% planned, %.1f%% anytime, %.1f%% repeated; want both modes at most %g%%, the repeated test above",
				K, aa.planned, aa.anytime, aa.everyLook, 100*alpha)
		}
		// The known horizon spends 90% of the level by the end, exactly
		// (within the simulation's error, 0.15 points), and catches at
		// least as much as either other mode, within 10 points of one test
		// at the end.
		if math.Abs(aa.horizon-90*alpha) > 0.6 || reg.horizon < max(reg.planned, reg.anytime)-1 || reg.horizon < reg.atEnd-10 {
			t.Errorf("%d looks: the known horizon fails %.1f%% of unchanged canaries (want %.1f%%) and catches %.1f%% (planned %.1f%%, anytime %.1f%%, once at the end %.1f%%)",
				K, aa.horizon, 90*alpha, reg.horizon, reg.planned, reg.anytime, reg.atEnd)
		}
		switch K {
		case 6:
			if reg.planned <= reg.anytime {
				t.Errorf("6 looks: planned catches %.1f%%, anytime %.1f%%; want planned ahead with few known looks", reg.planned, reg.anytime)
			}
		case 60:
			if reg.anytime <= reg.planned {
				t.Errorf("60 looks: anytime catches %.1f%%, planned %.1f%%; want anytime ahead with many looks", reg.anytime, reg.planned)
			}
		}
	}
}
