package quality

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return Quantile7(s, 0.5)
}

func meanVar(v []float64) (mean, variance float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(v)-1)
}

func logs(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Log(x)
	}
	return out
}

func lag1(v []float64) float64 {
	m, _ := meanVar(v)
	var num, den float64
	for i, x := range v {
		den += (x - m) * (x - m)
		if i > 0 {
			num += (x - m) * (v[i-1] - m)
		}
	}
	return num / den
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.5g, want %.5g ± %.3g", what, got, want, tol)
	}
}

// Reference quantiles from R: qlnorm(c(.5, .9, .99), log(100), 0.3) =
// 100, 146.8828978, 200.9537030; qgamma(0.5, 2, scale = 50) = 83.9173495.
func TestGenerators(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	t.Run("lognormal median and sigma", func(t *testing.T) {
		v := Lognormal(r, n, 100, 0.3)
		within(t, "median", median(v), 100, 0.5)
		_, varLog := meanVar(logs(v))
		within(t, "sigma of logs", math.Sqrt(varLog), 0.3, 0.003)
	})
	for _, phi := range []float64{0.5, 0.9} {
		t.Run("AR(1) lag-1 autocorrelation", func(t *testing.T) {
			v := LognormalAR1(r, n, 100, 0.3, phi)
			within(t, "lag-1 autocorrelation of logs", lag1(logs(v)), phi, 0.01)
			_, varLog := meanVar(logs(v))
			within(t, "marginal sigma of logs", math.Sqrt(varLog), 0.3, 0.01)
			within(t, "median", median(v), 100, 2)
		})
	}
	t.Run("gamma mean, variance and median", func(t *testing.T) {
		v := make([]float64, n)
		for i := range v {
			v[i] = Gamma(r, 2, 50)
		}
		m, s2 := meanVar(v)
		within(t, "mean", m, 100, 0.6)
		within(t, "variance", s2, 5000, 80)
		within(t, "median", median(v), 83.9173495, 0.8)
		for i := range v {
			v[i] = Gamma(r, 0.5, 4)
		}
		m, _ = meanVar(v)
		within(t, "mean with shape 0.5", m, 2, 0.03)
	})
	t.Run("Poisson and negative binomial moments", func(t *testing.T) {
		m, s2 := meanVar(PoissonSeries(r, n, 0.2, nil))
		within(t, "Poisson mean", m, 0.2, 0.005)
		within(t, "Poisson variance", s2, 0.2, 0.005)
		m, s2 = meanVar(NegBinomialSeries(r, n, 2, 0.5, nil))
		within(t, "negative binomial mean", m, 2, 0.04)
		within(t, "negative binomial variance", s2, 2+4/0.5, 0.4)
	})
	t.Run("Pareto median", func(t *testing.T) {
		v := make([]float64, n)
		for i := range v {
			v[i] = Pareto(r, 50, 2.5)
		}
		within(t, "median", median(v), 50*math.Pow(2, 1/2.5), 0.5)
		if slices.Min(v) < 50 {
			t.Errorf("a Pareto value below the minimum 50: %g", slices.Min(v))
		}
	})
	t.Run("bimodal mixture weights", func(t *testing.T) {
		v := Bimodal(r, n, 0.8, 5, 0.25, 80, 0.3)
		fast := 0
		for _, x := range v {
			if x < 20 {
				fast++
			}
		}
		within(t, "share of cache hits", float64(fast)/n, 0.8, 0.005)
	})
}

func TestEffects(t *testing.T) {
	f, _ := FamilyByName("lognormal-0.3")
	q := f.MarginalQuantiles()
	within(t, "marginal p90", q[0], 146.8828978, 0.8)
	within(t, "marginal p99", q[1], 200.9537030, 2)
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200000
	t.Run("median regression moves the median", func(t *testing.T) {
		b, c := f.Pair(r, n, Effect{Kind: Median, Size: 0.10}, q)
		within(t, "median ratio", median(c)/median(b), 1.10, 0.01)
	})
	t.Run("tail regression moves p99, not the median", func(t *testing.T) {
		b, c := f.Pair(r, n, Effect{Kind: Tail, Size: 0.25}, q)
		sb, sc := slices.Clone(b), slices.Clone(c)
		slices.Sort(sb)
		slices.Sort(sc)
		within(t, "p99 ratio", Quantile7(sc, 0.99)/Quantile7(sb, 0.99), 1.25, 0.02)
		within(t, "median ratio", median(c)/median(b), 1, 0.01)
	})
	t.Run("shared factors multiply both sides", func(t *testing.T) {
		d, _ := FamilyByName("diurnal")
		b, c := d.Pair(r, 1000, Effect{Kind: None}, q)
		// The trend is shared: the paired log ratios are independent noise.
		diff := make([]float64, len(b))
		for i := range b {
			diff[i] = math.Log(c[i] / b[i])
		}
		if rho := lag1(diff); math.Abs(rho) > 0.1 {
			t.Errorf("lag-1 autocorrelation of paired log ratios %g: the trend is not shared", rho)
		}
		if rho := lag1(logs(b)); rho < 0.3 {
			t.Errorf("lag-1 autocorrelation of the baseline %g: no trend", rho)
		}
	})
	t.Run("zero baseline", func(t *testing.T) {
		z, _ := FamilyByName("errors-zero-baseline")
		b, c := z.Pair(r, 10000, Effect{Kind: ErrorRate, Size: 0.05}, q)
		mb, _ := meanVar(b)
		mc, _ := meanVar(c)
		if mb != 0 {
			t.Errorf("baseline mean %g, want 0", mb)
		}
		within(t, "canary rate", mc, 0.05, 0.007)
	})
	t.Run("deterministic by seed", func(t *testing.T) {
		b1, c1 := f.Pair(pairStream(7, 0, 100, Effect{Kind: None}, 3), 100, Effect{Kind: None}, q)
		b2, c2 := f.Pair(pairStream(7, 0, 100, Effect{Kind: None}, 3), 100, Effect{Kind: None}, q)
		if !slices.Equal(b1, b2) || !slices.Equal(c1, c2) {
			t.Error("the same stream gave different series")
		}
	})
}

// Reference: R, prop.test(5, 100, correct = FALSE)$conf.int = 0.0215436791544,
// 0.1117504692319 (the Wilson interval); for 0 of 300, the upper end is
// z²/(n + z²) = 0.0126429712245.
func TestWilson(t *testing.T) {
	tests := []struct {
		hits, n   int
		low, high float64
	}{
		{5, 100, 0.0215436791544, 0.1117504692319},
		{0, 300, 0, 0.0126429712245},
	}
	for _, tt := range tests {
		r := Wilson(tt.hits, tt.n)
		within(t, "low", r.Low, tt.low, 1e-10)
		within(t, "high", r.High, tt.high, 1e-10)
	}
	if r := Wilson(0, 0); !math.IsNaN(r.Value) || r.String() != "–" {
		t.Errorf("no trials: %+v %q", r, r.String())
	}
}

func TestReplaceGenerated(t *testing.T) {
	doc := "# Title\n\nprose\n\n" + BeginGenerated + "\nold\n" + EndGenerated + "\n\nmore prose\n"
	got, err := ReplaceGenerated(doc, "new\n")
	if err != nil || !strings.Contains(got, "new\n") || strings.Contains(got, "old") || !strings.HasSuffix(got, "more prose\n") {
		t.Errorf("ReplaceGenerated = %q, %v", got, err)
	}
	if _, err := ReplaceGenerated(EndGenerated+BeginGenerated, "x"); err == nil {
		t.Error("unbalanced markers accepted")
	}
}

// TestQuick runs the quick harness and checks the headline targets roughly
// (a few points of slack for its small replication counts).
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick harness judges a few thousand signals")
	}
	res, err := RunAll(context.Background(), Quick(20261123))
	if err != nil {
		t.Fatal(err)
	}
	checks := res.Checks()
	if len(checks) != 5 {
		t.Fatalf("%d headline checks, want 5: %v", len(checks), checks)
	}
	for _, c := range checks {
		slack := 0.03
		if (c.Max && c.Rate.Value > c.Target+slack) || (!c.Max && c.Rate.Value < c.Target-slack) {
			t.Errorf("%s", c)
		}
	}
	// Kayenta's known weakness: a zero baseline is a free pass.
	if row, ok := Find(res.Rows, JudgeKayenta, "errors-zero-baseline", 360, 1, Effect{Kind: ErrorRate, Size: 0.05}); !ok || row.NotPassRate().Value > 0.2 {
		t.Errorf("Kayenta caught %v of zero-baseline regressions; the harness should show it misses them", row.NotPassRate())
	}
	// Autocorrelated A/A canaries: the default judge corrects, Kayenta does not.
	v, _ := Find(res.Rows, JudgeVerdict, "ar1-0.9", 360, 1, Effect{Kind: None})
	k, _ := Find(res.Rows, JudgeKayenta, "ar1-0.9", 360, 1, Effect{Kind: None})
	if v.NotPassRate().Value > 0.08 || k.NotPassRate().Value < v.NotPassRate().Value {
		t.Errorf("AR(1) 0.9 A/A false alarms: verdict %v, kayenta %v", v.NotPassRate(), k.NotPassRate())
	}
	// The p99 quantile signal catches a tail regression the median signal
	// misses, at no more than the level in A/A canaries.
	tail, _ := Find(res.Rows, JudgeVerdict, "lognormal-0.3", 360, 1, Effect{Kind: Tail, Size: 0.5})
	tailP99, ok := Find(res.Rows, JudgeVerdictP99, "lognormal-0.3", 360, 1, Effect{Kind: Tail, Size: 0.5})
	if !ok || tailP99.SignalRate().Value < 0.5 || tailP99.SignalRate().Value < tail.SignalRate().Value+0.3 {
		t.Errorf("tail +50%%: verdict+p99 caught %v, verdict %v", tailP99.SignalRate(), tail.SignalRate())
	}
	if aa, ok := Find(res.Rows, JudgeVerdictP99, "lognormal-0.3", 360, 1, Effect{Kind: None}); !ok || aa.NotPassRate().Value > 0.08 || aa.None != 0 {
		t.Errorf("A/A with a p99 signal: %v not pass, %d none", aa.NotPassRate(), aa.None)
	}
	if _, ok := Find(res.Rows, JudgeVerdictP99, "errors-zero-baseline", 360, 1, Effect{Kind: None}); ok {
		t.Error("a p99 signal on error counts")
	}
	if len(res.Sequential) == 0 || !strings.Contains(res.Summary(), "verdict sequential") {
		t.Error("no multi-interval study in the quick run")
	}
}

// trafficKnownMisses are the traffic study's targets the default canary
// misses today, with the reason measured in docs/quality.md ("Release
// signals with their traffic"): on a service of 1,000 requests per minute
// the canaries at 95/5 for 15 minutes and at 99/1 expect a handful of
// errors, whose clustering (retries) the rate test cannot estimate from so
// few, and have too few checkouts for the completion signal, so one
// ordinary failure among the three judged groups fails the canary; and
// the two regressions are beyond even the perfect test at the level a
// canary decision needs. TestTrafficQuick logs when one of them is met.
var trafficKnownMisses = map[string]bool{
	"A/A canaries 95/5, 15 min, 1,000 req/min judged fail":                             true,
	"A/A canaries 99/1, 15 min, 1,000 req/min judged fail":                             true,
	"A/A canaries 99/1, 1 h, 1,000 req/min judged fail":                                true,
	"error ratio ×2 at 95/5 over 1 h, 1,000 req/min: canary judged fail":               true,
	"completion −10% at 90/10 over 1 h, 1,000 req/min: canary judged fail or marginal": true,
}

// TestTrafficQuick runs the quick traffic study and checks its targets
// with the slack its size needs (300 A/A canaries: 2 points; 100
// regressions: 5 points), except the known misses; that every signal was
// judged; that the oracle and, on the busier service, every signal hold
// their level on A/A canaries; that the judge is not more powerful than
// the oracle; and that the old way misses what the tests of counts catch.
func TestTrafficQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick traffic study judges a few thousand canaries")
	}
	rows, err := RunTraffic(context.Background(), TrafficQuick(20261123))
	if err != nil {
		t.Fatal(err)
	}
	checks := TrafficChecks(rows)
	if len(checks) != 12 {
		t.Fatalf("%d traffic checks, want 12: %v", len(checks), checks)
	}
	for _, c := range checks {
		slack := 0.05
		if c.Max {
			slack = 0.02
		}
		met := (c.Max && c.Rate.Value <= c.Target+slack) || (!c.Max && c.Rate.Value >= c.Target-slack)
		switch {
		case trafficKnownMisses[c.Name] && c.Met():
			t.Logf("a known miss is now met, take it off trafficKnownMisses: %s", c)
		case !trafficKnownMisses[c.Name] && !met:
			t.Errorf("%s", c)
		}
	}
	for _, r := range rows {
		s := r.Scenario
		for tt, n := range r.Errors {
			if n > 0 {
				t.Errorf("%s %s %s: %s could not judge %d canaries", s.SplitLabel(), s.DurationLabel(), TrafficEffectLabel(s.Effect), TrafficTest(tt), n)
			}
		}
		if s.Effect.Kind != None {
			continue
		}
		tests := []TrafficTest{ErrOracle, ComplOracle, P50Oracle, P99Oracle}
		if s.PerMinute >= 10000 {
			tests = append(tests, ErrVerdict, ComplVerdict, P50Classic, P50Native, P99Classic, P99Native)
		}
		for _, tt := range tests {
			if rate := r.SignalRate(tt); rate.Value > 0.05+0.035 {
				t.Errorf("A/A %s %s %s: %s flagged %s, above its 5%% level", perMinuteLabel(s.PerMinute), s.SplitLabel(), s.DurationLabel(), tt, rate)
			}
		}
	}
	for _, perMinute := range []float64{1000, 10000} {
		errors, ok1 := FindTraffic(rows, TrafficScenario{PerMinute: perMinute, Split: 0.05, Minutes: 60, Effect: Effect{Kind: ErrorRatio, Size: 2}})
		compl, ok2 := FindTraffic(rows, TrafficScenario{PerMinute: perMinute, Split: 0.1, Minutes: 60, Effect: Effect{Kind: Completion, Size: 0.10}})
		if !ok1 || !ok2 {
			t.Fatalf("%s: headline regressions missing", perMinuteLabel(perMinute))
		}
		// The oracle is the most powerful test at 5%: the judge may come
		// close, not beat it beyond the noise of 100 canaries.
		for _, c := range []struct {
			row           TrafficRow
			judge, oracle TrafficTest
		}{{errors, ErrVerdict, ErrOracle}, {compl, ComplVerdict, ComplOracle}} {
			if j, o := c.row.SignalRate(c.judge), c.row.SignalRate(c.oracle); j.Value > o.Value+0.1 {
				t.Errorf("%s: %s caught %s, the oracle %s", perMinuteLabel(perMinute), c.judge, j, o)
			}
		}
		// Counts without their traffic: a 5% canary whose error ratio
		// doubled has a tenth of the baseline's errors, never more.
		if old := errors.SignalRate(ErrOldRate); old.Value > 0.05 {
			t.Errorf("%s: the old rate test on counts caught %s of doubled error ratios at 95/5; it cannot see them", perMinuteLabel(perMinute), old)
		}
	}
	busy, _ := FindTraffic(rows, TrafficScenario{PerMinute: 10000, Split: 0.05, Minutes: 60, Effect: Effect{Kind: ErrorRatio, Size: 2}})
	if v := busy.SignalRate(ErrVerdict); v.Value < 0.95 {
		t.Errorf("10,000 req/min, 95/5, 1 h: rate with exposure caught %s of doubled error ratios", v)
	}
	if !strings.Contains(TrafficSummary(rows), "latency regressions") {
		t.Error("the traffic summary has no latency table")
	}
}
