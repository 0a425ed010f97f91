package numeric

import "math"

// Pnorm is the standard normal distribution function: P(Z <= x) when
// lowerTail, else P(Z > x). It is R's pnorm(x, lower.tail = lowerTail):
// W. J. Cody's rational Chebyshev approximations (ALGORITHM 715, ACM TOMS
// 19, 1993, the ANORM routine of SPECFUN) on the three ranges R uses,
// |x| <= 0.67448975, |x| <= sqrt(32) and beyond, with R's bounds where the
// tail is 0 or 1 in float64. Accurate to about 1e-15 relative, also deep in
// the tail where 1 - P(Z <= x) would lose every digit. NaN gives NaN.
func Pnorm(x float64, lowerTail bool) float64 {
	if math.IsNaN(x) {
		return x
	}
	cum, ccum := pnormBoth(x)
	if lowerTail {
		return cum
	}
	return ccum
}

// pnormBoth returns P(Z <= x) and P(Z > x) for x not NaN.
func pnormBoth(x float64) (cum, ccum float64) {
	const (
		sqrt32     = 5.656854249492380195206754896838 // sqrt(32)
		invSqrt2Pi = 0.398942280401432677939946059934 // 1/sqrt(2π)
		eps        = 0x1p-53                          // DBL_EPSILON/2
	)
	// Cody's coefficients (SPECFUN ANORM).
	codyA := [5]float64{2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249, 0.065682337918207449113}
	codyB := [4]float64{47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956}
	codyC := [9]float64{0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226, 2494.5375852903726711, 6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8}
	codyD := [8]float64{22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755, 18615.571640885098091, 34900.952721145977266, 38912.003286093271411, 19685.429676859990727}
	codyP := [6]float64{0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303}
	codyQ := [5]float64{1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244, 7.29751555083966205e-5}
	y := math.Abs(x)
	switch {
	case y <= 0.67448975: // qnorm(3/4)
		var xnum, xden float64
		if y > eps {
			xsq := x * x
			xnum = codyA[4] * xsq
			xden = xsq
			for i := range 3 {
				xnum = float64((xnum + codyA[i]) * xsq)
				xden = float64((xden + codyB[i]) * xsq)
			}
		}
		temp := float64(x*(xnum+codyA[3])) / (xden + codyB[3])
		return 0.5 + temp, 0.5 - temp
	case y <= sqrt32:
		xnum := codyC[8] * y
		xden := y
		for i := range 7 {
			xnum = float64((xnum + codyC[i]) * y)
			xden = float64((xden + codyD[i]) * y)
		}
		cum, ccum = tail(y, (xnum+codyC[7])/(xden+codyD[7]))
	case -37.5193 < x && x < 37.5193:
		// Beyond sqrt(32) one tail is 0 or 1 in float64 and the other is
		// still representable down to about -37.5.
		xsq := 1 / (x * x)
		xnum := codyP[5] * xsq
		xden := xsq
		for i := range 4 {
			xnum = float64((xnum + codyP[i]) * xsq)
			xden = float64((xden + codyQ[i]) * xsq)
		}
		temp := float64(xsq*(xnum+codyP[4])) / (xden + codyQ[4])
		cum, ccum = tail(y, (invSqrt2Pi-temp)/y)
	default:
		cum, ccum = 0, 1
	}
	if x > 0 {
		cum, ccum = ccum, cum
	}
	return cum, ccum
}

// tail returns Cody's Exp(-y²/2)·rational and its complement, with y² split
// as xsq² + del (xsq = trunc(16y)/16, so that xsq² is exact) to keep the
// exponential accurate.
func tail(y, rational float64) (lower, upper float64) {
	xsq := float64(math.Trunc(y*16) / 16)
	del := (y - xsq) * (y + xsq)
	lower = float64(float64(Exp(-xsq*xsq*0.5)*Exp(-del*0.5)) * rational)
	return lower, 1 - lower
}

// Qnorm is the standard normal quantile function: the z with P(Z <= z) = p
// when lowerTail, else with P(Z > z) = p. It is R's qnorm(p, lower.tail =
// lowerTail): M. J. Wichura's algorithm AS 241 (PPND16, Applied Statistics
// 37, 1988), accurate to about 1e-16 relative, also for p near 0 where the
// inverse of the error function at 2p-1 loses the digits of p. p = 0 and
// p = 1 give the infinities; p outside [0, 1] or NaN gives NaN.
func Qnorm(p float64, lowerTail bool) float64 {
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0 && lowerTail, p == 1 && !lowerTail:
		return math.Inf(-1)
	case p == 0, p == 1:
		return math.Inf(1)
	}
	// Wichura's coefficients (AS 241, PPND16), highest degree first.
	wichuraA := [8]float64{2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457, 13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608}
	wichuraB := [8]float64{5226.495278852854561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867, 5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0}
	wichuraC := [8]float64{7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258, 3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734}
	wichuraD := [8]float64{1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459, 0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1.0}
	wichuraE := [8]float64{2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093, 0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772}
	wichuraF := [8]float64{2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4, 0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0}
	lowerP := p // P(Z <= z)
	if !lowerTail {
		lowerP = 0.5 - p + 0.5
	}
	q := lowerP - 0.5
	if math.Abs(q) <= 0.425 {
		r := 0.180625 - float64(q*q)
		return float64(q*horner(r, &wichuraA)) / horner(r, &wichuraB)
	}
	// r = sqrt(-Log(min(p, 1-p))), the smaller tail taken as given where
	// it is given.
	small := lowerP
	if q > 0 {
		small = 0.5 - lowerP + 0.5
		if !lowerTail {
			small = p
		}
	}
	r := math.Sqrt(-Log(small))
	var val float64
	if r <= 5 {
		r -= 1.6
		val = horner(r, &wichuraC) / horner(r, &wichuraD)
	} else {
		r -= 5
		val = horner(r, &wichuraE) / horner(r, &wichuraF)
	}
	if q < 0 {
		return -val
	}
	return val
}

// horner evaluates the polynomial with coefficients c (highest degree
// first) at x, each product rounded on its own.
func horner(x float64, c *[8]float64) float64 {
	v := c[0]
	for _, ci := range c[1:] {
		v = float64(v*x) + ci
	}
	return v
}
