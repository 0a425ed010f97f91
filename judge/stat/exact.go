package stat

import (
	"math"
	"math/bits"
)

// wilcoxCounts returns the null frequencies of W for sample sizes m and n:
// counts[k] is the number of the choose(m+n, m) arrangements with W = k, for
// k = 0..m·n. They are the coefficients of the Gaussian binomial coefficient
//
//	[m+n, m](q) = Π_{i=1..m} (1 - q^(n+i)) / (1 - q^i)
//
// (Andrews, The Theory of Partitions, 1976, th. 3.1; the generating function
// of R's cwilcox recurrence c(k; i, j) = c(k-j; i-1, j) + c(k; i, j-1)).
// The product is evaluated factor by factor in exact integer arithmetic —
// multiplying by 1 - q^(n+i), then dividing by 1 - q^i as a running sum —
// on the lower half k <= m·n/2 only (the distribution is symmetric), in
// O(m·m·n) integer additions. The integers are exact, so every count is the
// correctly rounded float64 of the true count; R's double recurrence rounds
// only counts above 2^53 and agrees to the last few bits.
func wilcoxCounts(m, n int) []float64 {
	if m > n {
		m, n = n, m // the distribution is symmetric in the two sizes
	}
	half := m * n / 2
	out := make([]float64, m*n+1)
	// choose(m+n, m) < 2^64 exactly when the counts and every intermediate
	// fit uint64 arithmetic modulo 2^64 (the exact result is recovered since
	// it lies in [0, 2^64)); beyond, 128 bits.
	if fitsUint64(m, n) {
		c := make([]uint64, half+1)
		c[0] = 1
		for i := 1; i <= m; i++ {
			if s := n + i; s <= half {
				src, dst := c[:half+1-s], c[s:half+1]
				for k := len(dst) - 1; k >= 0; k-- {
					dst[k] -= src[k]
				}
			}
			src, dst := c[:half+1-i], c[i:half+1]
			for k := range dst {
				dst[k] += src[k] // src[k] is c[k], already divided when k >= i
			}
		}
		for k, v := range c {
			out[k] = float64(v)
		}
	} else {
		lo, hi := make([]uint64, half+1), make([]uint64, half+1)
		lo[0] = 1
		for i := 1; i <= m; i++ {
			for k := half; k >= n+i; k-- {
				var b uint64
				lo[k], b = bits.Sub64(lo[k], lo[k-n-i], 0)
				hi[k], _ = bits.Sub64(hi[k], hi[k-n-i], b)
			}
			for k := i; k <= half; k++ {
				var cy uint64
				lo[k], cy = bits.Add64(lo[k], lo[k-i], 0)
				hi[k], _ = bits.Add64(hi[k], hi[k-i], cy)
			}
		}
		for k := range lo {
			out[k] = uint128ToFloat(hi[k], lo[k])
		}
	}
	for k := 0; k <= half; k++ {
		out[m*n-k] = out[k]
	}
	return out
}

// fitsUint64 reports whether choose(m+n, m) < 2^64.
func fitsUint64(m, n int) bool {
	// choose(m+n, m) computed incrementally as choose(n+i, i); each step's
	// quotient is exact, and the check before multiplying avoids overflow.
	c := uint64(1)
	for i := 1; i <= m; i++ {
		hi, lo := bits.Mul64(c, uint64(n+i))
		if hi != 0 {
			return false
		}
		c = lo / uint64(i)
	}
	return true
}

// uint128ToFloat returns the float64 nearest to hi·2^64 + lo (ties to even).
func uint128ToFloat(hi, lo uint64) float64 {
	if hi == 0 {
		return float64(lo)
	}
	// Keep the 64 leading bits and fold the rest into a sticky bit, so that
	// the one rounding of float64(uint64) is the correct one.
	s := bits.LeadingZeros64(hi)
	top := hi<<s | lo>>(64-s) // for s == 0, lo>>64 is 0 in Go
	if lo<<s != 0 {
		top |= 1
	}
	return math.Ldexp(float64(top), 64-s)
}

// pwilcox is R's pwilcox(q, nx, ny, lower.tail) summed in R's order, so the
// same rounding: the shorter of the two tails is summed and complemented when
// needed.
func (t *MannWhitney) pwilcox(q float64, lowerTail bool) float64 {
	mn := float64(float64(len(t.x)) * float64(len(t.y)))
	q = math.Floor(q + 1e-7)
	if q < 0 {
		return dtVal(0, lowerTail)
	}
	if q >= mn {
		return dtVal(1, lowerTail)
	}
	var p float64
	if q <= mn/2 {
		for i := 0; i <= int(q); i++ {
			p += t.counts[i] / t.total
		}
	} else {
		q = mn - q
		for i := 0; i < int(q); i++ {
			p += t.counts[i] / t.total
		}
		lowerTail = !lowerTail
	}
	return dtVal(p, lowerTail)
}

func dtVal(p float64, lowerTail bool) float64 {
	if lowerTail {
		return p
	}
	return 0.5 - p + 0.5
}

// qwilcox is R's qwilcox(x, nx, ny) (lower tail), with R's 10·DBL_EPSILON
// fuzz.
func (t *MannWhitney) qwilcox(x float64) int64 {
	mn := int64(len(t.x)) * int64(len(t.y))
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return mn
	}
	const eps = 2.220446049250313e-16
	var p float64
	q := int64(0)
	if x <= 0.5 {
		x -= 10 * eps
		for {
			p += t.counts[q] / t.total
			if p >= x || q >= mn {
				return q
			}
			q++
		}
	}
	x = 1 - x + 10*eps
	for {
		p += t.counts[q] / t.total
		if p > x || q >= mn {
			return mn - q
		}
		q++
	}
}
