package stat

import "math"

// wilcoxCounts returns the null frequencies of W for sample sizes m and n:
// counts[k] is the number of the choose(m+n, m) arrangements with W = k, for
// k = 0..m·n. It evaluates R's cwilcox recurrence
//
//	c(k; i, j) = c(k-j; i-1, j) + c(k; i, j-1),  c(0; i, 0) = c(0; 0, j) = 1,
//
// bottom-up, keeping for the current j one row per i (O(m·m·n) memory, a few
// hundred kB at m = n = 49). Only additions of non-negative numbers are used,
// so small counts (the tails that make small p-values) are exact.
func wilcoxCounts(m, n int) []float64 {
	if m > n {
		m, n = n, m // the distribution is symmetric in the two sizes
	}
	// rows[i] holds c(.; i, j) for the current j, length i*j+1.
	rows := make([][]float64, m+1)
	for i := range rows {
		rows[i] = make([]float64, i*n+1)
		rows[i][0] = 1 // j = 0: only W = 0
	}
	for j := 1; j <= n; j++ {
		for i := 1; i <= m; i++ {
			// c(k; i, j) = c(k; i, j-1) + c(k-j; i-1, j); rows[i-1] already holds j.
			prev := rows[i-1]
			cur := rows[i]
			top := i * j
			for k := top; k >= j; k-- {
				if k-j < len(prev) && k-j <= (i-1)*j {
					cur[k] += prev[k-j]
				}
			}
		}
	}
	return rows[m]
}

// pwilcox is R's pwilcox(q, nx, ny, lower.tail) summed in R's order, so the
// same rounding: the shorter of the two tails is summed and complemented when
// needed.
func (t *MannWhitney) pwilcox(q float64, lowerTail bool) float64 {
	mn := float64(len(t.x)) * float64(len(t.y))
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
