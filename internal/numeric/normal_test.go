package numeric

import (
	"math"
	"testing"
)

// ulps is the distance in representable float64 values between a and b.
func ulps(a, b float64) uint64 {
	x, y := OrderedBits(a), OrderedBits(b)
	if x > y {
		return x - y
	}
	return y - x
}

// TestExpLog compares exp and log with the math package's, which are
// within one ulp of the exact values too (on amd64 its assembly overflows
// a little early, above 709.4).
func TestExpLog(t *testing.T) {
	for i := range 20001 {
		x := -745 + float64(i)*(709.4+745)/20000
		if got, want := Exp(x), math.Exp(x); ulps(got, want) > 2 {
			t.Errorf("Exp(%v) = %v, math.Exp %v (%d ulps)", x, got, want, ulps(got, want))
		}
		y := math.Ldexp(1+float64(i)/20001, i%2000-1000)
		if got, want := Log(y), math.Log(y); ulps(got, want) > 2 {
			t.Errorf("Log(%v) = %v, math.Log %v (%d ulps)", y, got, want, ulps(got, want))
		}
	}
	for _, c := range []struct{ x, exp, log float64 }{
		{0, 1, math.Inf(-1)},
		{1, math.E, 0},
		{math.Inf(1), math.Inf(1), math.Inf(1)},
		{math.Inf(-1), 0, math.NaN()},
		{-1, 1 / math.E, math.NaN()},
		{800, math.Inf(1), math.Log(800)},
	} {
		if got := Exp(c.x); got != c.exp && !(ulps(got, c.exp) <= 1) {
			t.Errorf("Exp(%v) = %v, want %v", c.x, got, c.exp)
		}
		if got := Log(c.x); !(got == c.log || math.IsNaN(got) && math.IsNaN(c.log) || ulps(got, c.log) <= 1) {
			t.Errorf("Log(%v) = %v, want %v", c.x, got, c.log)
		}
	}
}

// relErr is |got-want|/|want| (0 when they are equal).
func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestPnorm(t *testing.T) {
	// Φ(x) and 1 - Φ(x) to 17 digits by mpmath (40 digits of precision).
	for _, c := range []struct{ x, lower, upper float64 }{
		{-37.5, 4.6053530095819548e-308, 1.0},
		{-30, 4.9067139271481871e-198, 1.0},
		{-20, 2.7536241186062337e-89, 1.0},
		{-10, 7.6198530241605261e-24, 1.0},
		{-9.549, 6.5477091685667914e-22, 1.0},
		{-6, 9.8658764503769814e-10, 9.9999999901341235e-1},
		{-5.65, 8.0223918506634976e-9, 9.9999999197760815e-1},
		{-5.7, 5.9903714010635282e-9, 9.999999940096286e-1},
		{-3, 1.3498980316300945e-3, 9.9865010196836991e-1},
		{-1.96, 2.4997895148220436e-2, 9.7500210485177956e-1},
		{-1, 1.5865525393145705e-1, 8.4134474606854295e-1},
		{-0.67, 2.514288950953101e-1, 7.485711049046899e-1},
		{-0.68, 2.4825223045357051e-1, 7.5174776954642949e-1},
		{-0.5, 3.085375387259869e-1, 6.914624612740131e-1},
		{-1e-10, 4.9999999996010577e-1, 5.0000000003989423e-1},
		{0, 0.5, 0.5},
		{0.3, 6.1791142218895263e-1, 3.8208857781104737e-1},
		{1, 8.4134474606854295e-1, 1.5865525393145705e-1},
		{2.5, 9.9379033467422386e-1, 6.2096653257761352e-3},
		{5, 9.9999971334842812e-1, 2.8665157187919391e-7},
		{8, 9.9999999999999938e-1, 6.2209605742717841e-16},
	} {
		if got := Pnorm(c.x, true); relErr(got, c.lower) > 1e-15 {
			t.Errorf("Pnorm(%v, lower) = %.17g, want %.17g (relative error %.2g)", c.x, got, c.lower, relErr(got, c.lower))
		}
		if got := Pnorm(c.x, false); relErr(got, c.upper) > 1e-15 {
			t.Errorf("Pnorm(%v, upper) = %.17g, want %.17g (relative error %.2g)", c.x, got, c.upper, relErr(got, c.upper))
		}
		// The tails are mirror images, by construction exactly.
		if got, mirror := Pnorm(c.x, true), Pnorm(-c.x, false); got != mirror {
			t.Errorf("Pnorm(%v, lower) = %v, Pnorm(%v, upper) = %v", c.x, got, -c.x, mirror)
		}
	}
	for _, c := range []struct{ x, lower float64 }{
		{math.Inf(-1), 0}, {math.Inf(1), 1}, {-40, 0}, {40, 1},
	} {
		if got := Pnorm(c.x, true); got != c.lower {
			t.Errorf("Pnorm(%v) = %v, want %v", c.x, got, c.lower)
		}
	}
	if !math.IsNaN(Pnorm(math.NaN(), true)) {
		t.Error("Pnorm(NaN) is not NaN")
	}
}

func TestQnorm(t *testing.T) {
	// Φ⁻¹(p) to 17 digits by mpmath (40 to 60 digits of precision).
	for _, c := range []struct{ p, want float64 }{
		{1e-300, -37.047096299361199},
		{1e-100, -21.273453560965324},
		{1e-20, -9.2623400897984076},
		{1e-9, -5.9978070150076869},
		{1e-5, -4.2648907939228246},
		{0.001, -3.0902323061678135},
		{0.01, -2.3263478740408411},
		{0.025, -1.9599639845400542},
		{0.05, -1.6448536269514727},
		{0.074, -1.4466320671589785},
		{0.076, -1.4325027208258116},
		{0.1, -1.2815515655446004},
		{0.2, -0.84162123357291417},
		{0.3, -0.52440051270804082},
		{0.4, -0.25334710313579974},
		{0.45, -0.12566134685507401},
		{0.4999, -0.00025066283008800749},
		{0.5, 0},
		{0.975, 1.9599639845400539},
	} {
		if got := Qnorm(c.p, true); relErr(got, c.want) > 1e-15 {
			t.Errorf("Qnorm(%v) = %.17g, want %.17g (relative error %.2g)", c.p, got, c.want, relErr(got, c.want))
		}
		// The upper tail: R's 1 - p rounds, so within an ulp or so.
		if got := Qnorm(c.p, false); relErr(-got, c.want) > 1e-15 {
			t.Errorf("Qnorm(%v, upper) = %.17g, want %.17g", c.p, got, -c.want)
		}
	}
	for _, c := range []struct {
		p     float64
		lower bool
		want  float64
	}{
		{0, true, math.Inf(-1)}, {1, true, math.Inf(1)}, {0, false, math.Inf(1)}, {1, false, math.Inf(-1)},
		{-0.1, true, math.NaN()}, {1.1, false, math.NaN()}, {math.NaN(), true, math.NaN()},
	} {
		if got := Qnorm(c.p, c.lower); !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("Qnorm(%v, %v) = %v, want %v", c.p, c.lower, got, c.want)
		}
	}
}
