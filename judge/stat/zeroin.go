package stat

import (
	"math"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// zeroin parameters of R's uniroot as wilcox.test calls it: tol.root = 1e-4
// and uniroot's default maxiter = 1000.
const (
	zeroinTol     = 1e-4
	zeroinMaxIter = 1000
)

// zeroin is R's zeroin (numeric.Zeroin, where a root is a value exactly 0)
// for a function that cannot fail, with tolerance tol and at most maxIter
// iterations.
func zeroin(ax, bx, fa, fb float64, f func(float64) float64, tol float64, maxIter int) float64 {
	root, _ := numeric.Zeroin(ax, bx, fa, fb, func(d float64) (float64, error) { return f(d), nil },
		numeric.ZeroinOptions{Tol: tol, MaxIter: maxIter})
	return root
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
