package stat

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// This file replays R's wilcox.test(x, y, conf.int = TRUE, correct = TRUE)
// in the normal case, written from R's source (src/library/stats/R/wilcox.test.R)
// without the package's machinery: W(d) ranks the pooled sample c(x - d, y)
// by sorting it, as R's rank() and table() do, and the roots come from
// zeroin (the port of R's zeroin.c, pinned bit for bit by the estimate's
// reference cases), called as uniroot calls it. It is slow, O(n log n) per
// evaluation, and meant for small samples: an independent reference for the
// interval ends, which the package finds without a root finder.

// errRTied is the error R's W(d) stops with.
var errRTied = errors.New("cannot compute confidence interval when all observations are tied")

// rW is R's W(d): the standardised statistic of x - d against y, with R's
// CORRECTION.CI for alternative ("two.sided", "greater", "less") when
// correct is true.
func rW(x, y []float64, d float64, alternative string, correct bool) (float64, error) {
	nx, ny := float64(len(x)), float64(len(y))
	type obs struct {
		v   float64
		inX bool
	}
	pooled := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		pooled = append(pooled, obs{v - d, true})
	}
	for _, v := range y {
		pooled = append(pooled, obs{v, false})
	}
	slices.SortFunc(pooled, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var rankSumX, ties float64
	for i := 0; i < len(pooled); {
		j := i + 1
		for j < len(pooled) && pooled[j].v == pooled[i].v {
			j++
		}
		rank := float64(i+1+j) / 2 // average of ranks i+1 .. j
		for k := i; k < j; k++ {
			if pooled[k].inX {
				rankSumX += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	dz := rankSumX - nx*(nx+1)/2 - nx*ny/2
	var corr float64
	if correct {
		switch alternative {
		case "two.sided":
			switch {
			case dz > 0:
				corr = 0.5
			case dz < 0:
				corr = -0.5
			}
		case "greater":
			corr = 0.5
		case "less":
			corr = -0.5
		}
	}
	sigma := math.Sqrt((nx * ny / 12) * ((nx + ny + 1) - ties/((nx+ny)*(nx+ny-1))))
	if sigma == 0 {
		return math.NaN(), errRTied
	}
	return (dz - corr) / sigma, nil
}

// rRoot is R's root(zq) inside wilcox.test: the short cuts at the ends of
// [min(x) - max(y), max(x) - min(y)], else uniroot(wdiff, tol = tol).
func rRoot(x, y []float64, zq float64, alternative string, tol float64) (float64, error) {
	mumin := slices.Min(x) - slices.Max(y)
	mumax := slices.Max(x) - slices.Min(y)
	wmin, err := rW(x, y, mumin, alternative, true)
	if err != nil {
		return math.NaN(), err
	}
	wmax, err := rW(x, y, mumax, alternative, true)
	if err != nil {
		return math.NaN(), err
	}
	if wmin-zq <= 0 {
		return mumin, nil
	}
	if wmax-zq >= 0 {
		return mumax, nil
	}
	var ferr error
	root := zeroin(mumin, mumax, wmin-zq, wmax-zq, func(d float64) float64 {
		w, err := rW(x, y, d, alternative, true)
		if err != nil {
			ferr = err
		}
		return rValue(w - zq)
	}, tol, zeroinMaxIter)
	return root, ferr
}

// rBounds returns R's two-sided interval (lo, hi) and one-sided bounds
// (lower: alternative "greater", upper: "less") at level conf, with
// uniroot's tolerance tol (wilcox.test uses 1e-4).
func rBounds(x, y []float64, conf, tol float64) (lo, hi, lower, upper float64, err error) {
	alpha := 1 - conf
	if lo, err = rRoot(x, y, numeric.Qnorm(alpha/2, false), "two.sided", tol); err != nil {
		return
	}
	if hi, err = rRoot(x, y, numeric.Qnorm(alpha/2, true), "two.sided", tol); err != nil {
		return
	}
	if lower, err = rRoot(x, y, numeric.Qnorm(alpha, false), "greater", tol); err != nil {
		return
	}
	upper, err = rRoot(x, y, numeric.Qnorm(alpha, true), "less", tol)
	return
}

// rEstimate is R's "difference in location" in the normal case:
// uniroot(W, c(mumin, mumax), tol = tol) without continuity correction.
func rEstimate(x, y []float64, tol float64) (float64, error) {
	mumin := slices.Min(x) - slices.Max(y)
	mumax := slices.Max(x) - slices.Min(y)
	wmin, err := rW(x, y, mumin, "two.sided", false)
	if err != nil {
		return math.NaN(), err
	}
	wmax, err := rW(x, y, mumax, "two.sided", false)
	if err != nil {
		return math.NaN(), err
	}
	if wmin*wmax > 0 {
		return math.NaN(), errors.New("f() values at end points not of opposite sign")
	}
	var ferr error
	root := zeroin(mumin, mumax, wmin, wmax, func(d float64) float64 {
		w, err := rW(x, y, d, "two.sided", false)
		if err != nil {
			ferr = err
		}
		return rValue(w)
	}, tol, zeroinMaxIter)
	return root, ferr
}

// closeToR reports whether an interval end agrees with R's: within R's
// uniroot tolerance, or within the rounding of x[i] - d, which blurs where
// R's W(d) changes (as TestMannWhitneyAgainstR allows).
func closeToR(got, r float64, x, y []float64) bool {
	var scale float64
	for _, v := range x {
		scale = math.Max(scale, math.Abs(v))
	}
	for _, v := range y {
		scale = math.Max(scale, math.Abs(v))
	}
	return relClose(got, r, unirootTol) || math.Abs(got-r) <= 4*0x1p-52*scale
}

// TestBoundsAgainstRReplay checks the normal-case interval ends and
// estimate against the replay of R above, on the cases the fuzzer found and
// on small samples with many ties at levels including 0.5.
func TestBoundsAgainstRReplay(t *testing.T) {
	type bound struct {
		name string // lo, hi, lower, upper
		want float64
		tol  float64 // relClose tolerance
	}
	tests := []struct {
		name string
		x, y []float64
		conf float64
		// pinned: values from R or derived by hand, checked besides the replay.
		pinned []bound
	}{
		{
			// R 4.x: wilcox.test(c(12, 12, 12.25), c(0.25, 0.25), conf.int = TRUE,
			// conf.level = 0.53, alternative = "less")$conf.int[2] is 11.750057:
			// uniroot stops 5.7e-5 above the breakpoint 11.75, where W(d) - zq
			// falls from 1.30 to -0.23. The estimate (W(d) = 0, the same
			// breakpoint) stops at 11.750053, above the exact end 11.75.
			name: "upper bound at a breakpoint", x: []float64{12, 12, 12.25}, y: []float64{0.25, 0.25}, conf: 0.53,
			pinned: []bound{{"upper", 11.750057, unirootTol}, {"upper", 11.75, tightTol}, {"lower", 11.75, tightTol}},
		},
		{
			// alternative = "greater" at level 0.5: zq = 0 and on the gap
			// (-0.75, 0) dz = 0.5 equals the correction, so W(d) - zq is 0
			// there; it is 0.63 at -0.75 and -1.26 at 0.25 (both with
			// sigma = sqrt(2.5)). R's zeroin swaps the ends (|f(0.25)| is the
			// larger), takes the secant step p/q = 0.5/1.5 from -0.75 and
			// lands in the gap: the root is -0.75 + 1/3, not the breakpoint.
			name: "lower bound on a flat gap", x: []float64{0.25}, y: []float64{0, 1, 0, 0.25, 1}, conf: 0.5,
			pinned: []bound{{"lower", -0.41666666666666669, normalEstTol}},
		},
		{name: "upper bound on a flat gap", x: []float64{0, 1, 0, 0.25, 1}, y: []float64{0.25}, conf: 0.5},
		{name: "flat gaps, both ends", x: []float64{2.5, 1.25, 2, 1.75, 0.5}, y: []float64{0, 0, 0.25, 1, 0.5}, conf: 0.5},
		{
			// The differences are 0 and 3.8e117 (twice). At d = 0 (x ties the
			// large y) W(d) - zq = 0.5 - 0.025 > 0; on the gap above it W(d) =
			// 0 < zq: the lower end is the breakpoint 0. R evaluates x - d in
			// float64, which is x, still tied with y, for every d up to half
			// an ulp of x (2.8e101), so its uniroot stops there: within the
			// rounding of x - d (roundSlack), not within tol.root.
			name: "breakpoint blurred by rounding", x: []float64{3.83698281517203e+117},
			y: []float64{3.83698281517203e+117, 1.398043286095289e-76, 1.398043286095289e-76}, conf: 0.02,
			pinned: []bound{{"lo", 0, 0}},
		},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for k := range 40 {
		x, y := make([]float64, 1+rng.IntN(12)), make([]float64, 1+rng.IntN(12))
		for i := range x {
			x[i] = float64(rng.IntN(9)) / 4
		}
		for i := range y {
			y[i] = float64(rng.IntN(7)) / 4
		}
		tests = append(tests, struct {
			name   string
			x, y   []float64
			conf   float64
			pinned []bound
		}{name: fmt.Sprintf("random %d", k), x: x, y: y, conf: []float64{0.5, 0.53, 0.8, 0.95}[k%4]})
	}
	replayed := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := NewMannWhitney(tc.x, tc.y)
			if err != nil {
				t.Fatal(err)
			}
			if mw.Exact() {
				t.Skip("no ties: the exact case has no root finding")
			}
			rlo, rhi, rlower, rupper, err := rBounds(tc.x, tc.y, tc.conf, zeroinTol)
			if errors.Is(err, errRTied) {
				if _, _, err := mw.Interval(tc.conf); !errors.Is(err, ErrAllTied) {
					t.Errorf("Interval error = %v; R stops (all tied)", err)
				}
				return
			}
			replayed++
			lo, hi, err := mw.Interval(tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			lower, err := mw.LowerBound(tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			upper, err := mw.UpperBound(tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{"lo": lo, "hi": hi, "lower": lower, "upper": upper}
			for name, want := range map[string]float64{"lo": rlo, "hi": rhi, "lower": rlower, "upper": rupper} {
				if !closeToR(got[name], want, tc.x, tc.y) {
					t.Errorf("conf %v %s = %.17g, R %.17g", tc.conf, name, got[name], want)
				}
			}
			for _, b := range tc.pinned {
				if !relClose(got[b.name], b.want, b.tol) {
					t.Errorf("conf %v %s = %.17g, want %.17g (tolerance %g)", tc.conf, b.name, got[b.name], b.want, b.tol)
				}
			}
			if err := endsAroundMiddle(mw, tc.conf, lo, hi, lower, upper); err != nil {
				t.Error(err)
			}
			est := mw.Estimate()
			if rest, err := rEstimate(tc.x, tc.y, zeroinTol); err == nil && !relClose(est, rest, normalEstTol) {
				t.Errorf("estimate = %.17g, R %.17g", est, rest)
			}
		})
	}
	if replayed < 30 {
		t.Errorf("only %d cases reached the normal case: the test does not exercise the root finding", replayed)
	}
}
