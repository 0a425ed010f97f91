package stat

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

var writeQuantileRef = flag.Bool("write-quantile-reference", false,
	"rewrite testdata/quantile_reference.json from exact rational arithmetic (when R is not at hand)")

type intervalCase struct {
	N    int     `json:"n"`
	Q    float64 `json:"q"`
	Conf float64 `json:"conf"`
	R    int     `json:"r"`
	S    int     `json:"s"`
}

// The cases of testdata/quantile_reference.R, in its order: {a, m, b, n}
// tables and {n, q, conf} intervals.
var fisherTables = [][4]int{
	{3, 4, 1, 4}, {2, 17, 10, 13}, {8, 360, 0, 360}, {5, 360, 3, 360}, {0, 500, 10, 500},
	{4, 30, 20, 1000}, {12, 1000, 9, 1000}, {130, 10000, 70, 10000}, {1, 2, 0, 1}, {21, 360, 3, 360},
}

var intervalInputs = []struct {
	n          int
	qNum, qDen int64
	conf       float64
}{
	{10, 1, 2, 0.95}, {360, 99, 100, 0.95}, {360, 99, 100, math.Sqrt(0.95)}, {1000, 99, 100, 0.95},
	{2000, 95, 100, 0.9}, {30, 9, 10, 0.95}, {5, 1, 2, 0.99},
}

// hyperCount is C(N, m)·P(A = k) for A hypergeometric (m draws from total
// points of which above are marked): C(above, k) C(total−above, m−k).
func hyperCount(k, m, above, total int) *big.Int {
	if k < 0 || k > above || m-k < 0 || m-k > total-above {
		return new(big.Int)
	}
	return new(big.Int).Mul(new(big.Int).Binomial(int64(above), int64(k)), new(big.Int).Binomial(int64(total-above), int64(m-k)))
}

// exactFisher computes the one-sided tails, R's two-sided p-value (tables
// with probability ≤ observed × (1 + 1e-7)) and the smallest attainable
// tails in exact integer counts over C(N, m).
func exactFisher(a, m, b, n int) (greater, less, twoSided, minGreater, minLess *big.Rat) {
	above, total := a+b, m+n
	g, l, two := new(big.Int), new(big.Int), new(big.Int)
	limit := new(big.Int).Mul(hyperCount(a, m, above, total), big.NewInt(10000001))
	scaled := new(big.Int)
	lo, hi := max(0, m+above-total), min(above, m)
	// C(above, k) and C(rest, m−k) stepped by their ratios: exact divisions.
	rest := total - above
	ca, cr := new(big.Int).Binomial(int64(above), int64(lo)), new(big.Int).Binomial(int64(rest), int64(m-lo))
	c := new(big.Int)
	for k := lo; k <= hi; k++ {
		if k > lo {
			ca.Mul(ca, big.NewInt(int64(above-k+1))).Quo(ca, big.NewInt(int64(k)))
			cr.Mul(cr, big.NewInt(int64(m-k+1))).Quo(cr, big.NewInt(int64(rest-m+k)))
		}
		c.Mul(ca, cr)
		if k >= a {
			g.Add(g, c)
		}
		if k <= a {
			l.Add(l, c)
		}
		if scaled.Mul(c, big.NewInt(10000000)).Cmp(limit) <= 0 {
			two.Add(two, c)
		}
	}
	all := new(big.Int).Binomial(int64(total), int64(m))
	frac := func(v *big.Int) *big.Rat { return new(big.Rat).SetFrac(v, all) }
	return frac(g), frac(l), frac(two), frac(hyperCount(hi, m, above, total)), frac(hyperCount(lo, m, above, total))
}

// exactInterval returns r and s of QuantileInterval from the exact
// binomial distribution function, in integers: with q = qNum/qDen,
// D^n·P(Y ≤ k) = Σ_{j≤k} C(n, j) qNum^j (qDen−qNum)^(n−j), compared with
// the exact rational value of the float64 (1 − conf)/2.
func exactInterval(n int, qNum, qDen int64, conf float64) (r, s int) {
	tail := new(big.Rat).SetFloat64((1 - conf) / 2)
	scale := new(big.Int).Exp(big.NewInt(qDen), big.NewInt(int64(n)), nil) // D^n
	// tail·D^n and (1 − tail)·D^n as fractions over tail's denominator.
	lowNum := new(big.Int).Mul(tail.Num(), scale)
	highNum := new(big.Int).Sub(new(big.Int).Mul(tail.Denom(), scale), lowNum)
	den := tail.Denom()
	pows := func(b int64) []*big.Int {
		out := make([]*big.Int, n+1)
		out[0] = big.NewInt(1)
		for i := 1; i <= n; i++ {
			out[i] = new(big.Int).Mul(out[i-1], big.NewInt(b))
		}
		return out
	}
	pq, pr := pows(qNum), pows(qDen-qNum)
	cdf, term, lhs := new(big.Int), new(big.Int), new(big.Int)
	r, s = 0, n+1
	for k := 0; k <= n; k++ {
		term.Binomial(int64(n), int64(k))
		term.Mul(term, pq[k])
		term.Mul(term, pr[n-k])
		cdf.Add(cdf, term)
		lhs.Mul(cdf, den)
		if lhs.Cmp(lowNum) <= 0 {
			r = k + 1
		}
		if s == n+1 && lhs.Cmp(highNum) >= 0 {
			s = k + 1
		}
	}
	return r, s
}

func ratFloat(r *big.Rat) float64 { f, _ := r.Float64(); return f }

func qRelClose(got, want, rel float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

type quantileRefFile struct {
	Source string `json:"source"`
	Fisher []struct {
		A             int     `json:"a"`
		M             int     `json:"m"`
		B             int     `json:"b"`
		N             int     `json:"n"`
		Greater       float64 `json:"greater"`
		Less          float64 `json:"less"`
		TwoSided      float64 `json:"twoSided"`
		PhyperGreater float64 `json:"phyperGreater"`
		PhyperLess    float64 `json:"phyperLess"`
	} `json:"fisher"`
	Intervals []intervalCase `json:"intervals"`
}

// writeReference writes the JSON the R script prints, from exact rational
// arithmetic, labelled as such (source), for a machine without R.
func writeReference(t *testing.T) {
	var b strings.Builder
	b.WriteString("{\n\"source\": \"exact rational arithmetic (math/big, quantile_test.go); the values quantile_reference.R prints, not yet produced by R\",\n\"fisher\": [\n  ")
	for i, c := range fisherTables {
		g, l, two, _, _ := exactFisher(c[0], c[1], c[2], c[3])
		if i > 0 {
			b.WriteString(",\n  ")
		}
		f := func(r *big.Rat) string { return fmt.Sprintf("%.17g", ratFloat(r)) }
		fmt.Fprintf(&b, `{"a": %d, "m": %d, "b": %d, "n": %d, "greater": %s, "less": %s, "twoSided": %s, "phyperGreater": %s, "phyperLess": %s}`,
			c[0], c[1], c[2], c[3], f(g), f(l), f(two), f(g), f(l))
	}
	b.WriteString("\n],\n\"intervals\": [\n  ")
	for i, c := range intervalInputs {
		r, s := exactInterval(c.n, c.qNum, c.qDen, c.conf)
		if i > 0 {
			b.WriteString(",\n  ")
		}
		fmt.Fprintf(&b, `{"n": %d, "q": %.17g, "conf": %.17g, "r": %d, "s": %d}`, c.n, float64(c.qNum)/float64(c.qDen), c.conf, r, s)
	}
	b.WriteString("\n]\n}\n")
	if err := os.WriteFile("testdata/quantile_reference.json", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFisherTailsPublished checks the p-values against the values R's
// documentation prints for its ?fisher.test examples (TeaTasting greater:
// 0.2429; Convictions less: 0.0004652, two-sided: 0.0005367).
func TestFisherTailsPublished(t *testing.T) {
	tests := []struct {
		name       string
		a, m, b, n int
		which      string
		want       float64
	}{
		{"TeaTasting, greater", 3, 4, 1, 4, "greater", 0.2429},
		{"Convictions, less", 2, 17, 10, 13, "less", 0.0004652},
		{"Convictions, two-sided", 2, 17, 10, 13, "two", 0.0005367},
	}
	for _, tt := range tests {
		g, l, two, _, _ := fisherTails(tt.a, tt.m, tt.a+tt.b, tt.m+tt.n)
		got := map[string]float64{"greater": g, "less": l, "two": two}[tt.which]
		if fmt.Sprintf("%.4g", got) != fmt.Sprintf("%.4g", tt.want) {
			t.Errorf("%s: %.7g, R prints %.4g", tt.name, got, tt.want)
		}
	}
}

// TestFisherTailsExact checks every case of quantile_reference.R against
// exact rational sums, and the reference JSON against the same sums (so a
// JSON regenerated by R is cross-checked too).
func TestFisherTailsExact(t *testing.T) {
	if *writeQuantileRef {
		writeReference(t)
	}
	data, err := os.ReadFile("testdata/quantile_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref quantileRefFile
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Fisher) != len(fisherTables) || len(ref.Intervals) != len(intervalInputs) {
		t.Fatalf("reference has %d tables and %d intervals, want %d and %d", len(ref.Fisher), len(ref.Intervals), len(fisherTables), len(intervalInputs))
	}
	for i, c := range fisherTables {
		a, m, b, n := c[0], c[1], c[2], c[3]
		eg, el, e2, emg, eml := exactFisher(a, m, b, n)
		g, l, two, mg, ml := fisherTails(a, m, a+b, m+n)
		name := fmt.Sprintf("a=%d/%d b=%d/%d", a, m, b, n)
		for _, chk := range []struct {
			what      string
			got, want float64
		}{
			{"greater", g, ratFloat(eg)}, {"less", l, ratFloat(el)}, {"two-sided", two, ratFloat(e2)},
			{"min greater", mg, ratFloat(emg)}, {"min less", ml, ratFloat(eml)},
			{"reference greater", ref.Fisher[i].Greater, ratFloat(eg)},
			{"reference less", ref.Fisher[i].Less, ratFloat(el)},
			{"reference two-sided", ref.Fisher[i].TwoSided, ratFloat(e2)},
			{"reference phyper greater", ref.Fisher[i].PhyperGreater, ratFloat(eg)},
			{"reference phyper less", ref.Fisher[i].PhyperLess, ratFloat(el)},
		} {
			if !qRelClose(chk.got, chk.want, 1e-10) {
				t.Errorf("%s: %s %.15g, exact %.15g", name, chk.what, chk.got, chk.want)
			}
		}
		if ref.Fisher[i].A != a || ref.Fisher[i].M != m || ref.Fisher[i].B != b || ref.Fisher[i].N != n {
			t.Errorf("reference case %d is %+v, want %s", i, ref.Fisher[i], name)
		}
	}
	for i, c := range intervalInputs {
		r, s := exactInterval(c.n, c.qNum, c.qDen, c.conf)
		q := float64(c.qNum) / float64(c.qDen)
		sorted := make([]float64, c.n)
		for k := range sorted {
			sorted[k] = float64(k + 1) // x(k) = k
		}
		lo, hi, gr, gs, err := QuantileInterval(sorted, q, c.conf)
		if err != nil {
			t.Fatal(err)
		}
		if gr != r || gs != s || ref.Intervals[i].R != r || ref.Intervals[i].S != s {
			t.Errorf("n=%d q=%g conf=%g: r, s = %d, %d; exact %d, %d; reference %d, %d", c.n, q, c.conf, gr, gs, r, s, ref.Intervals[i].R, ref.Intervals[i].S)
		}
		wantLo, wantHi := float64(r), float64(s)
		if r == 0 {
			wantLo = math.Inf(-1)
		}
		if s == c.n+1 {
			wantHi = math.Inf(1)
		}
		if lo != wantLo || hi != wantHi {
			t.Errorf("n=%d q=%g conf=%g: interval [%g, %g], want [%g, %g]", c.n, q, c.conf, lo, hi, wantLo, wantHi)
		}
	}
}

// TestQuantileIntervalClassic checks the textbook 95% interval for the
// median of 10 points: [x(2), x(9)], coverage 1 − 2·11/1024 = 0.9785.
func TestQuantileIntervalClassic(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	lo, hi, r, s, err := QuantileInterval(x, 0.5, 0.95)
	if err != nil || r != 2 || s != 9 || lo != 2 || hi != 9 {
		t.Errorf("got [%g, %g] (r=%d, s=%d, err %v), want [2, 9]", lo, hi, r, s, err)
	}
}

func TestPooledPercentileMatchesMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := range 500 {
		na, nb := 1+r.IntN(40), 1+r.IntN(40)
		a, b := make([]float64, na), make([]float64, nb)
		for i := range a {
			a[i] = float64(r.IntN(15)) // many ties
		}
		for i := range b {
			b[i] = float64(r.IntN(15))
		}
		if trial%2 == 1 {
			for i := range a {
				a[i] += r.Float64()
			}
		}
		slices.Sort(a)
		slices.Sort(b)
		all := slices.Concat(a, b)
		slices.Sort(all)
		for k := 1; k <= len(all); k++ {
			if got := kthOfTwo(a, b, k); got != all[k-1] {
				t.Fatalf("kthOfTwo(%v, %v, %d) = %g, want %g", a, b, k, got, all[k-1])
			}
		}
		for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
			if got, want := pooledPercentile(a, b, q), Percentile(all, q); got != want {
				t.Fatalf("pooled p%g of %v and %v = %g, want %g", 100*q, a, b, got, want)
			}
		}
	}
}

func TestQuantileTest(t *testing.T) {
	seq := func(from, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(from + i)
		}
		return out
	}
	constant := func(v float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	tests := []struct {
		name                 string
		canary, baseline     []float64
		q                    float64
		wantThreshold        float64
		wantCanary, wantBase int
		wantInformative      bool
		wantGreaterAtMost    float64 // 0: not checked
		wantErr              string
		inclusive            bool
	}{
		{
			// Pooled 1..400 interleaved: canary holds 201..400, so all 4 points above p99 are the canary's.
			name: "the canary holds the top", canary: seq(201, 200), baseline: seq(1, 200), q: 0.99,
			wantThreshold: 396.01, wantCanary: 4, wantBase: 0, wantInformative: true, wantGreaterAtMost: 0.07,
		},
		{
			name: "all equal: nothing above the threshold", canary: constant(5, 50), baseline: constant(5, 50), q: 0.99,
			wantThreshold: 5, wantInformative: false,
		},
		{
			// The top 3 pooled values tie with the threshold: none is strictly above it.
			name: "ties at the threshold are not above", canary: append(seq(1, 97), 100, 100, 100), baseline: append(seq(1, 97), 100, 100, 100), q: 0.99,
			wantThreshold: 100, wantInformative: false,
		},
		{
			// Bucketed values: the canary sits on the top bucket. Strictly above
			// the pooled p99 (200) there is nothing; at or above it, the
			// canary's 100 points and none of the baseline's.
			name: "inclusive split on a tied top", canary: constant(200, 100), baseline: constant(100, 100), q: 0.99, inclusive: true,
			wantThreshold: 200, wantCanary: 100, wantBase: 0, wantInformative: true, wantGreaterAtMost: 1e-50,
		},
		{name: "q out of range", canary: seq(1, 5), baseline: seq(1, 5), q: 1, wantErr: "strictly between"},
		{name: "empty canary", canary: nil, baseline: seq(1, 5), q: 0.9, wantErr: "canary sample is empty"},
		{name: "NaN refused", canary: []float64{1, math.NaN()}, baseline: seq(1, 5), q: 0.9, wantErr: "NaN"},
		{name: "Inf refused", canary: seq(1, 5), baseline: []float64{1, math.Inf(1)}, q: 0.9, wantErr: "baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newTest := NewQuantileTest
			if tt.inclusive {
				newTest = NewQuantileTestInclusive
			}
			qt, err := newTest(tt.canary, tt.baseline, tt.q)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(qt.Threshold-tt.wantThreshold) > 1e-9 {
				t.Errorf("threshold %g, want %g", qt.Threshold, tt.wantThreshold)
			}
			if qt.Informative() != tt.wantInformative {
				t.Errorf("informative %v, want %v", qt.Informative(), tt.wantInformative)
			}
			if !tt.wantInformative {
				if qt.PValueGreater() != 1 || qt.PValueLess() != 1 || qt.PValue() != 1 {
					t.Errorf("p-values %g %g %g, want 1 without points above", qt.PValueGreater(), qt.PValueLess(), qt.PValue())
				}
				return
			}
			if qt.CanaryAbove != tt.wantCanary || qt.BaselineAbove != tt.wantBase {
				t.Errorf("above: canary %d baseline %d, want %d and %d", qt.CanaryAbove, qt.BaselineAbove, tt.wantCanary, tt.wantBase)
			}
			// 4 of 4 above from 200 of 400: C(200,4)/C(400,4) ≈ 0.0611.
			if !tt.inclusive {
				if s := qt.CanaryN - countAtMost(tt.canary, qt.Threshold); s != qt.CanaryAbove {
					t.Errorf("canary above %d, recount %d", qt.CanaryAbove, s)
				}
			}
			eg, _, _, _, _ := exactFisher(qt.CanaryAbove, len(tt.canary), qt.BaselineAbove, len(tt.baseline))
			if !qRelClose(qt.PValueGreater(), ratFloat(eg), 1e-10) || qt.PValueGreater() > tt.wantGreaterAtMost {
				t.Errorf("p greater %g, exact %g", qt.PValueGreater(), ratFloat(eg))
			}
			if qt.MinPValueGreater() != qt.PValueGreater() {
				t.Errorf("every point above is the canary's, so the p-value %g is the smallest attainable, %g", qt.PValueGreater(), qt.MinPValueGreater())
			}
			if e, want := qt.Expected(), float64(qt.Above())/2; e != want {
				t.Errorf("expected %g canary points above, want %g", e, want)
			}
		})
	}
}

// TestQuantileTestLevel checks by simulation that the exact test holds its
// level under "no change", with heavy ties: the p-value is super-uniform.
func TestQuantileTestLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(3, 5))
	const reps, n = 4000, 300
	rejected := 0
	for range reps {
		a, b := make([]float64, n), make([]float64, n)
		for i := range a {
			a[i] = math.Round(10 * math.Exp(0.5*r.NormFloat64())) // rounded: ties
			b[i] = math.Round(10 * math.Exp(0.5*r.NormFloat64()))
		}
		slices.Sort(a)
		slices.Sort(b)
		qt, err := NewQuantileTest(a, b, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if qt.PValueGreater() <= 0.05 {
			rejected++
		}
	}
	// At most 5% in expectation; 4000 replications: 5% + 3 standard errors.
	if rate := float64(rejected) / reps; rate > 0.05+3*math.Sqrt(0.05*0.95/reps) {
		t.Errorf("%.2f%% of A/A pairs rejected at 5%%", 100*rate)
	}
}

// FuzzQuantileTest checks that any finite samples give p-values in [0, 1],
// counts within the sizes, and an interval whose ends are ordered, without
// panicking.
func FuzzQuantileTest(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{1, 1, 1, 1}, uint8(99))
	f.Add([]byte{0}, []byte{255, 255}, uint8(50))
	f.Add([]byte{7, 7, 7, 7, 7, 7}, []byte{7, 7, 7, 7, 7, 7}, uint8(90))
	f.Fuzz(func(t *testing.T, a, b []byte, qb uint8) {
		if len(a) == 0 || len(b) == 0 {
			return
		}
		q := 0.5 + float64(qb%50)/100 // 0.5 .. 0.99
		toSorted := func(v []byte) []float64 {
			out := make([]float64, len(v))
			for i, x := range v {
				out[i] = float64(x % 16) // many ties
			}
			slices.Sort(out)
			return out
		}
		x, y := toSorted(a), toSorted(b)
		for _, inclusive := range []bool{false, true} {
			newTest := NewQuantileTest
			if inclusive {
				newTest = NewQuantileTestInclusive
			}
			qt, err := newTest(x, y, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []float64{qt.PValueGreater(), qt.PValueLess(), qt.PValue(), qt.MinPValueGreater(), qt.MinPValueLess()} {
				if !(p >= 0 && p <= 1) {
					t.Fatalf("p-value %g out of [0, 1] for %v, %v, q %g", p, x, y, q)
				}
			}
			if qt.CanaryAbove < 0 || qt.CanaryAbove > len(x) || qt.BaselineAbove < 0 || qt.BaselineAbove > len(y) {
				t.Fatalf("counts %d, %d for sizes %d, %d", qt.CanaryAbove, qt.BaselineAbove, len(x), len(y))
			}
			if qt.MinPValueGreater() > qt.PValueGreater()*(1+1e-12) {
				t.Fatalf("smallest attainable p %g above the observed %g", qt.MinPValueGreater(), qt.PValueGreater())
			}
		}
		lo, hi, err := QuantileDifferenceInterval(x, y, q, 0.95)
		if err != nil || lo > hi {
			t.Fatalf("interval [%g, %g], %v", lo, hi, err)
		}
	})
}

func BenchmarkQuantileTest(b *testing.B) {
	for _, n := range []int{360, 100000} {
		r := rand.New(rand.NewPCG(1, 2))
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = math.Exp(0.3 * r.NormFloat64())
			y[i] = math.Exp(0.3 * r.NormFloat64())
		}
		slices.Sort(x)
		slices.Sort(y)
		b.Run(fmt.Sprintf("test/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := NewQuantileTest(x, y, 0.99); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("interval/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := QuantileDifferenceInterval(x, y, 0.99, 0.95); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
