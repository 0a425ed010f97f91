// Package archcheck writes the float64 results of Verdict's statistics on a
// fixed set of inputs, bit for bit, so that a build for another
// architecture can be compared with this one: its test builds archdump for
// arm64, runs it under Debian's qemu-user and requires every line to equal
// the native run's (issue 18: equal results on amd64 and arm64).
//
// The inputs cover the packages that promise R's or Kayenta's results
// (internal/numeric, judge/stat, kayenta): the normal distribution,
// exp and log over their ranges; the Mann–Whitney test (exact and normal
// cases, ties, both interval kinds, the estimate), percentiles, summaries
// and the quantile test; Kayenta's Mann–Whitney, percentiles, summaries and
// classification. They are generated from integers (math/rand/v2's PCG and
// exact conversions), never from math.Exp or math.Log, whose results differ
// between architectures.
package archcheck

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/verdict-aca/verdict/internal/numeric"
	"github.com/verdict-aca/verdict/judge/stat"
	"github.com/verdict-aca/verdict/kayenta"
)

// Write writes one line per result: a label and the float64's bits in hex.
func Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	put := func(label string, vs ...float64) {
		fmt.Fprint(bw, label)
		for _, v := range vs {
			fmt.Fprintf(bw, " %016x", math.Float64bits(v))
		}
		fmt.Fprintln(bw)
	}
	for i := range 2001 {
		x := -40 + float64(float64(i)*0.04) // rounded: the inputs must not differ either
		put(fmt.Sprintf("pnorm(%v)", x), numeric.Pnorm(x, true), numeric.Pnorm(x, false))
		p := float64(i+1) / 2003
		put(fmt.Sprintf("qnorm(%v)", p), numeric.Qnorm(p, true), numeric.Qnorm(p, false))
		tiny := math.Ldexp(1+float64(i)/2001, -i/2)
		put(fmt.Sprintf("qnorm(%v)", tiny), numeric.Qnorm(tiny, true))
		e := -700 + float64(float64(i)*0.7)
		put(fmt.Sprintf("exp(%v) log", e), numeric.Exp(e), numeric.Log(math.Ldexp(1+float64(i)/2001, i-1000)))
	}
	r := rand.New(rand.NewPCG(18, 64))
	for c := range 60 {
		nx, ny := sizes(c)
		x, y := sample(r, nx, c%5, 0), sample(r, ny, c%5, c%3)
		label := fmt.Sprintf("case %d (%dx%d)", c, nx, ny)
		writeStat(put, label, x, y)
		writeKayenta(put, label, x, y)
	}
	return bw.Flush()
}

// sizes gives small samples (R's exact case) and large ones (normal case).
func sizes(c int) (nx, ny int) {
	switch c % 4 {
	case 0:
		return 3 + c%7, 4 + c%5
	case 1:
		return 20 + c, 25 + c%9
	case 2:
		return 60 + 3*c, 50 + 2*c
	}
	return 200 + 7*c, 180 + 5*c
}

// sample draws n values of one of five shapes: continuous, latency-like
// (log-normal-ish from a sum of uniforms, through numeric.Exp), heavily
// tied integers, values spanning magnitudes, and near-constant. shift moves
// the sample up by shift tenths of its scale.
func sample(r *rand.Rand, n, shape, shift int) []float64 {
	out := make([]float64, n)
	for i := range out {
		u := float64(float64(r.Uint64()>>11) / (1 << 53))
		var v float64
		switch shape {
		case 0:
			v = 100 * u
		case 1:
			s := float64(r.IntN(1000)+r.IntN(1000)+r.IntN(1000)-1500) / 1000
			v = 120 * numeric.Exp(0.4*s)
		case 2:
			v = float64(r.IntN(12))
		case 3:
			v = math.Ldexp(1+u, r.IntN(60)-30)
		default:
			v = 5 + float64(float64(r.IntN(3))*1e-9)
		}
		out[i] = v * (1 + float64(shift)/10)
	}
	return out
}

func writeStat(put func(string, ...float64), label string, x, y []float64) {
	mw, err := stat.NewMannWhitney(x, y)
	if err != nil {
		put(label + " stat.NewMannWhitney error")
		return
	}
	put(label+" stat W p", mw.W(), mw.PValue(), mw.PValueGreater(), mw.PValueLess())
	put(label+" stat estimate", mw.Estimate())
	for _, conf := range []float64{0.8, 0.9, 0.95, 0.99} {
		lo, hi, err1 := mw.Interval(conf)
		lower, err2 := mw.LowerBound(conf)
		upper, err3 := mw.UpperBound(conf)
		if err1 != nil || err2 != nil || err3 != nil {
			put(fmt.Sprintf("%s stat interval %v error", label, conf))
			continue
		}
		put(fmt.Sprintf("%s stat interval %v", label, conf), lo, hi, lower, upper)
	}
	xs, ys := slices.Clone(x), slices.Clone(y)
	slices.Sort(xs)
	slices.Sort(ys)
	s := stat.Describe(x)
	put(label+" stat describe", s.Mean, s.Median, s.StdDev, s.Min, s.Max, s.P90, s.P95, s.P99)
	for _, p := range []float64{0.01, 0.1, 0.25, 1.0 / 3, 0.5, 0.75, 0.9, 0.99} {
		lo, hi := stat.IQRFences(xs, 3*p)
		put(fmt.Sprintf("%s stat percentile %v", label, p), stat.Percentile(xs, p), lo, hi)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		t, err := stat.NewQuantileTest(xs, ys, q)
		if err != nil {
			put(fmt.Sprintf("%s stat quantile test %v error", label, q))
			continue
		}
		put(fmt.Sprintf("%s stat quantile test %v", label, q), t.Threshold, t.PValue(), t.PValueGreater(), t.PValueLess(), t.MinPValueGreater(), t.MinPValueLess())
	}
}

func writeKayenta(put func(string, ...float64), label string, x, y []float64) {
	if res, err := kayenta.MannWhitney(x, y, 0.98); err != nil {
		put(label + " kayenta mann-whitney error")
	} else {
		put(label+" kayenta mann-whitney", res.CILower, res.CIUpper, res.Estimate)
	}
	if est, err := kayenta.EstimateR(x, y); err == nil {
		put(label+" kayenta estimate R", est)
	}
	if p, err := kayenta.NormalApproxPValue(x, y); err == nil {
		put(label+" kayenta p", p)
	}
	sx := kayenta.Summary(x)
	put(label+" kayenta summary", float64(sx.Min), float64(sx.Max), float64(sx.Mean), float64(sx.Std))
	for _, p := range []float64{1, 25, 50, 75, 99, 100} {
		v, _ := kayenta.Percentile(x, p)
		put(fmt.Sprintf("%s kayenta percentile %v", label, p), v)
	}
	put(label+" kayenta cles ratio", kayenta.CLES(y, x), kayenta.MeanRatio(y, x))
	for _, d := range []kayenta.Direction{kayenta.Increase, kayenta.Decrease, kayenta.Either} {
		params := kayenta.JudgeClassifierParams("latency", kayenta.MetricSettings{Direction: d, Effect: kayenta.DefaultEffectSize(kayenta.MeanRatioMeasure)})
		c, err := kayenta.Classify(y, x, params)
		if err != nil {
			put(fmt.Sprintf("%s kayenta classify %v error", label, d))
			continue
		}
		put(fmt.Sprintf("%s kayenta classify %v %s", label, d, c.Label), c.Deviation, c.Details.Band, c.Details.EffectSize, c.Details.CLES)
	}
}
