package stat

import "math"

// zeroin parameters of R's uniroot as wilcox.test calls it: tol.root = 1e-4
// and uniroot's default maxiter = 1000.
const (
	zeroinTol     = 1e-4
	zeroinMaxIter = 1000
)

// zeroin finds a root of f in [ax, bx] given fa = f(ax) and fb = f(bx),
// step for step as R_zeroin2 in R's src/library/stats/src/zeroin.c (Brent's
// method, the routine behind uniroot) with tolerance tol and at most maxIter
// iterations; EPSILON is DBL_EPSILON. Like R it does not check that fa and fb
// have opposite signs (uniroot does that before calling it) and returns the
// last iterate when it does not converge. Every floating-point operation is
// done in R's order, each product rounded on its own (the explicit
// conversions keep the compiler from fusing a multiply and an add), so that
// the iterates are the same float64 values as R's.
func zeroin(ax, bx, fa, fb float64, f func(float64) float64, tol float64, maxIter int) float64 {
	const eps = 0x1p-52 // DBL_EPSILON
	a, b := ax, bx
	c, fc := a, fa
	if fa == 0 {
		return a
	}
	if fb == 0 {
		return b
	}
	for range maxIter + 1 {
		prevStep := b - a
		if math.Abs(fc) < math.Abs(fb) {
			// Swap data for b to be the best approximation.
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tolAct := float64(2*eps*math.Abs(b)) + tol/2
		newStep := (c - b) / 2
		if math.Abs(newStep) <= tolAct || fb == 0 {
			return b
		}
		// Interpolate when the previous step was large enough and in the
		// right direction.
		if math.Abs(prevStep) >= tolAct && math.Abs(fa) > math.Abs(fb) {
			var p, q float64
			cb := c - b
			if a == c {
				// Two distinct points: linear interpolation.
				t1 := fb / fa
				p = cb * t1
				q = 1.0 - t1
			} else {
				// Inverse quadratic interpolation.
				q = fa / fc
				t1 := fb / fc
				t2 := fb / fa
				p = t2 * (float64(float64(cb*q)*(q-t1)) - float64((b-a)*(t1-1.0)))
				q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
			}
			if p > 0 {
				q = -q
			} else {
				p = -p
			}
			if p < float64(float64(0.75*cb)*q)-math.Abs(tolAct*q)/2 && p < math.Abs(prevStep*q/2) {
				newStep = p / q
			}
		}
		if math.Abs(newStep) < tolAct {
			if newStep > 0 {
				newStep = tolAct
			} else {
				newStep = -tolAct
			}
		}
		a, fa = b, fb
		b += newStep
		fb = f(b)
		if (fb > 0 && fc > 0) || (fb < 0 && fc < 0) {
			// Keep c on the other side of the root from b.
			c, fc = a, fa
		}
	}
	return b
}

// rValue is what R's uniroot passes on to zeroin for a value v of the R
// function (fcn2 in R's optimize.c): -Inf becomes -DBL_MAX, NaN and +Inf
// become DBL_MAX.
func rValue(v float64) float64 {
	switch {
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	case math.IsNaN(v) || math.IsInf(v, 1):
		return math.MaxFloat64
	}
	return v
}
