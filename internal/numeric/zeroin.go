package numeric

import "math"

// ZeroinOptions are the settings of Zeroin.
type ZeroinOptions struct {
	// Tol is the absolute tolerance of the root (R's tol; uniroot's
	// tol.root, 1e-4 in wilcox.test).
	Tol float64
	// MaxIter is the most iterations; Zeroin returns the last iterate after
	// them without an error, as R does.
	MaxIter int
	// ZeroULP makes a function value within one ulp of zero (|v| at most
	// the smallest subnormal) count as a root, as commons-math's
	// Precision.equals(v, 0.0) does in Kayenta's solver. Otherwise only
	// v == 0 does, as in R.
	ZeroULP bool
}

// Zeroin finds a root of f in [ax, bx] given fa = f(ax) and fb = f(bx),
// step for step as R_zeroin2 in R's src/library/stats/src/zeroin.c (Brent's
// method, the routine behind uniroot, and the one Kayenta's BrentSolver
// follows). EPSILON is DBL_EPSILON. Like R it does not check that fa and fb
// have opposite signs (its callers do that) and returns the last iterate
// when it does not converge. Errors come only from f, and end the search.
//
// Every floating-point operation is done in R's order, each product rounded
// to float64 on its own (see the package doc), so that the iterates are the
// same float64 values as R's on every architecture.
func Zeroin(ax, bx, fa, fb float64, f func(float64) (float64, error), opt ZeroinOptions) (float64, error) {
	const eps = 0x1p-52 // DBL_EPSILON
	isRoot := func(v float64) bool { return v == 0 }
	if opt.ZeroULP {
		isRoot = func(v float64) bool { return math.Abs(v) <= math.SmallestNonzeroFloat64 }
	}
	a, b := ax, bx
	c, fc := a, fa
	if isRoot(fa) {
		return a, nil
	}
	if isRoot(fb) {
		return b, nil
	}
	for range opt.MaxIter + 1 {
		prevStep := b - a
		if math.Abs(fc) < math.Abs(fb) {
			// Swap data for b to be the best approximation.
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tolAct := float64(2*eps*math.Abs(b)) + float64(opt.Tol/2)
		newStep := (c - b) / 2
		if math.Abs(newStep) <= tolAct || isRoot(fb) {
			return b, nil
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
			if p < float64(float64(0.75*cb)*q)-float64(math.Abs(tolAct*q)/2) && p < math.Abs(prevStep*q/2) {
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
		var err error
		if fb, err = f(b); err != nil {
			return math.NaN(), err
		}
		if (fb > 0 && fc > 0) || (fb < 0 && fc < 0) {
			// Keep c on the other side of the root from b.
			c, fc = a, fa
		}
	}
	return b, nil
}
