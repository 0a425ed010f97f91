package quality

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
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

// TestLooksQuick runs the quick sequential study and checks its headline
// figures with the slack its size needs (100 A/A runs: 2 to 5 points; 20
// to 30 regressed runs: 10 points): anytime keeps a healthy canary's
// critical failures at any look near 1% and its fails near the level,
// where the fixed-horizon test repeated every 30 s fails several times as
// often; healthy runs stop early on a pass; a 50% slowdown fails every run
// within the hour, the repeated fixed-horizon test (which spends no level
// on the looks) first; and the release canary's error ratio +50% is caught,
// with the horizon known as without.
func TestLooksQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick sequential study judges tens of thousands of looks")
	}
	cfg, err := LooksQuick(20261123)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := RunLooks(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checks := LooksChecks(rows)
	if len(checks) != 12 {
		t.Fatalf("%d checks, want 12 (the latency canary's A/A check and its power check at each cadence, with and without the horizon known): %v", len(checks), checks)
	}
	for _, c := range checks {
		slack := 0.10
		if c.Max {
			slack = 0.02
		}
		if (c.Max && c.Rate.Value > c.Target+slack) || (!c.Max && c.Rate.Value < c.Target-slack) {
			t.Errorf("%s", c)
		}
	}
	latency, release := cfg.Scenarios[0].Canary.Name, cfg.Scenarios[2].Canary.Name
	slower := Effect{Kind: Median, Size: 0.50}
	for _, c := range LooksCadences() {
		if hz, _ := FindLooks(rows, latency, Effect{Kind: None}, c.Name, LooksKnownHorizon); hz.CriticalRate().Value > 0.03 {
			t.Errorf("%s: the known horizon gave %s of healthy runs a critical failure", c.Name, hz.CriticalRate())
		}
		if hz, _ := FindLooks(rows, release, Effect{Kind: ErrorRatio, Size: 1.5}, c.Name, LooksKnownHorizon); hz.FailRate().Value < 0.8 {
			t.Errorf("%s: release canary, error ratio +50%%: the known horizon failed %s", c.Name, hz.FailRate())
		}
		aa, _ := FindLooks(rows, latency, Effect{Kind: None}, c.Name, LooksAnytime)
		if aa.PassEarly < 10 {
			t.Errorf("%s: %d of %d healthy runs stopped early on a pass", c.Name, aa.PassEarly, aa.Runs)
		}
		if fixed, _ := FindLooks(rows, latency, Effect{Kind: None}, c.Name, LooksFixed); c.Every == 30*time.Second && fixed.FailRate().Value < 0.08 {
			t.Errorf("%s: the fixed-horizon test repeated at every look failed %s of healthy runs; expected several times the level", c.Name, fixed.FailRate())
		}
		anytime, _ := FindLooks(rows, latency, slower, c.Name, LooksAnytime)
		fixed, _ := FindLooks(rows, latency, slower, c.Name, LooksFixed)
		ma, ok1 := anytime.MedianFail()
		mf, ok2 := fixed.MedianFail()
		if !ok1 || !ok2 || anytime.Fail != anytime.Runs || ma > 20*time.Minute || mf > ma {
			t.Errorf("%s: latency +50%%: anytime failed %d of %d runs, median %v; fixed at every look median %v", c.Name, anytime.Fail, anytime.Runs, ma, mf)
		}
		if r, _ := FindLooks(rows, release, Effect{Kind: ErrorRatio, Size: 1.5}, c.Name, LooksAnytime); r.FailRate().Value < 0.8 {
			t.Errorf("%s: release canary, error ratio +50%%: anytime failed %s", c.Name, r.FailRate())
		}
	}
	if s := LooksSummary(rows); !strings.Contains(s, "time to a pass") || !strings.Contains(s, "median time to a fail") {
		t.Error("the sequential study's summary lacks its tables")
	}
}

// TestFamilyQuick runs the quick 10-signal family study and checks its
// targets with the slack its size needs (300 A/A canaries: 2 to 3
// points; 120 regressed: 4 to 6 points), that the default judge flags the
// regressed critical signals at least about as often as Kayenta's
// algorithm, and that Kayenta misses errors from a zero-error baseline.
func TestFamilyQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick family study judges thousands of signals")
	}
	rows, err := RunFamily(context.Background(), FamilyQuick(20261123))
	if err != nil {
		t.Fatal(err)
	}
	checks := FamilyChecks(rows)
	if len(checks) != 6 {
		t.Fatalf("%d checks, want 6: %v", len(checks), checks)
	}
	for _, c := range checks {
		var slack float64
		switch {
		case c.Max:
			slack = 0.02 + c.Target/5 // 3 points at 5%, 2.2 at 1%
		case strings.Contains(c.Name, "Kayenta"):
			slack = 0.05
		default:
			slack = 0.06
		}
		if (c.Max && c.Rate.Value > c.Target+slack) || (!c.Max && c.Rate.Value < c.Target-slack) {
			t.Errorf("%s", c)
		}
	}
	zero := FamilyScenarios(false)[2]
	if k, _ := FindFamily(rows, JudgeKayenta, zero); k.FailRate().Value > 0.1 {
		t.Errorf("Kayenta failed %s of canaries with 5xx errors from a zero baseline; it should miss them", k.FailRate())
	}
	if !strings.Contains(FamilyTable(rows), "http_5xx: zero baseline") {
		t.Error("the family table lacks the zero-baseline row")
	}
}

// TestRealSeries checks the NAB series: four series of stretches long
// enough for 360 points a side, and pairs whose points alternate between
// the sides along one stretch.
func TestRealSeries(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, name := range []string{"cpu", "db_cpu", "network_in", "disk_write"} {
		s, err := LoadRealSeries(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Segments) == 0 || slices.ContainsFunc(s.Segments, func(seg []float64) bool { return len(seg) < 2*FamilySize }) {
			t.Errorf("%s: stretches of %v points; want at least one, each of %d", name, lens(s.Segments), 2*FamilySize)
		}
		for range 20 {
			b, c := s.Pair(r, FamilySize)
			if !interleaved(s.Segments, b, c) {
				t.Fatalf("%s: a pair is not the alternate points of one stretch", name)
			}
		}
	}
	if _, err := LoadRealSeries("nope"); err == nil {
		t.Error("an unknown series loaded")
	}
}

func lens(segs [][]float64) []int {
	var out []int
	for _, s := range segs {
		out = append(out, len(s))
	}
	return out
}

// interleaved reports whether b and c alternate along some stretch.
func interleaved(segs [][]float64, b, c []float64) bool {
	for _, seg := range segs {
		for start := 0; start+2*len(b) <= len(seg); start++ {
			w := seg[start : start+2*len(b)]
			ok1, ok2 := true, true
			for i := range b {
				ok1 = ok1 && w[2*i] == b[i] && w[2*i+1] == c[i]
				ok2 = ok2 && w[2*i] == c[i] && w[2*i+1] == b[i]
			}
			if ok1 || ok2 {
				return true
			}
		}
	}
	return false
}

// TestCadences checks the looks: regular ones every 30 s and every
// minute up to the hour; irregular ones end at the hour and are about 2
// minutes apart on average.
func TestCadences(t *testing.T) {
	cs := LooksCadences()
	if got := cs[0].times(nil); len(got) != 120 || got[0] != 30*time.Second || got[119] != LooksHorizon {
		t.Errorf("every 30 s: %d looks from %v to %v", len(got), got[0], got[len(got)-1])
	}
	if got := cs[1].times(nil); len(got) != 60 || got[59] != LooksHorizon {
		t.Errorf("every minute: %d looks", len(got))
	}
	r := rand.New(rand.NewPCG(7, 8))
	total := 0
	for range 400 {
		got := cs[2].times(r)
		if got[len(got)-1] != LooksHorizon || !slices.IsSorted(got) || got[0] <= 0 {
			t.Fatalf("irregular looks %v", got)
		}
		total += len(got)
	}
	// Exponential gaps of 2 minutes: 30 looks an hour, plus the last.
	within(t, "mean looks an hour", float64(total)/400, 31, 1)
}

// TestMedianOver checks the median over runs, of which some never happened.
func TestMedianOver(t *testing.T) {
	times := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}
	if d, ok := quantileOver(times, 5, 0.5); !ok || d != 3*time.Minute {
		t.Errorf("median of 3 times among 5 runs = %v, %v; want 3m", d, ok)
	}
	if _, ok := quantileOver(times, 7, 0.5); ok {
		t.Error("3 times among 7 runs have no median within the hour")
	}
	if d, ok := quantileOver(times, 4, 0.25); !ok || d != time.Minute {
		t.Errorf("first quartile = %v, %v", d, ok)
	}
}

// TestDrawWindows checks the release canary's 30-second windows: one
// window a minute draws the traffic study's canary exactly; two hold the
// same traffic in twice the windows.
func TestDrawWindows(t *testing.T) {
	g := newGenerator()
	s := TrafficScenario{PerMinute: 10000, Split: 0.1, Minutes: 60, Effect: Effect{Kind: None}}
	a := g.draw(trafficStream(3, s, 1), s)
	b := g.drawWindows(trafficStream(3, s, 1), s, 1)
	if !slices.Equal(a.canary.errors, b.canary.errors) || !slices.Equal(a.baseline.classic.Counts, b.baseline.classic.Counts) {
		t.Error("one window a minute drew another canary than draw")
	}
	h := g.drawWindows(trafficStream(3, s, 1), s, 2)
	if len(h.canary.requests) != 120 || h.canary.classic.Windows() != 120 {
		t.Fatalf("%d windows of requests, %d of buckets; want 120", len(h.canary.requests), h.canary.classic.Windows())
	}
	sum := func(v []float64) float64 {
		total := 0.0
		for _, x := range v {
			total += x
		}
		return total
	}
	within(t, "requests an hour, both sides", sum(h.canary.requests)+sum(h.baseline.requests), 600000, 60000)
	within(t, "canary share", sum(h.canary.requests)/(sum(h.canary.requests)+sum(h.baseline.requests)), 0.1, 0.005)
}
