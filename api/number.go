package api

import (
	"math"
	"strconv"
)

// exactPow10 are the powers of ten that float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber reads the JSON number at the start of b and returns its value
// and length; ok is false when b does not start with a number in JSON's
// grammar (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) or the number is
// out of float64's range.
//
// The value is the one strconv.ParseFloat gives, correctly rounded. A whole
// number of at most 18 digits (the counts of histograms, requests, errors)
// is its digits read as an int64 and converted once, which IEEE 754 rounds
// to the nearest float64 (exactly, below 2^53). A
// decimal whose significand has at most 15 digits and whose exponent is
// small takes Clinger's fast path (W. D. Clinger, "How to read floating
// point numbers accurately", PLDI 1990): significand and power of ten are
// both exact in float64, so one multiplication or division rounds once, to
// the nearest. The metric values of a canary (latencies in ms, counts,
// ratios) are almost all of these kinds; every other number goes to
// strconv.
func parseNumber(b []byte) (v float64, n int, ok bool) {
	i := 0
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits := 0 // significant digits (leading zeros not counted); mant holds them while there are at most 19
	exp10 := 0
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i]-'1' < 9:
		start := i
		for ; i < len(b) && b[i]-'0' < 10; i++ {
			mant = mant*10 + uint64(b[i]-'0') // wraps past 19 digits: strconv decides those
		}
		digits = i - start
	default:
		return 0, 0, false
	}
	if i == len(b) || b[i] != '.' && b[i] != 'e' && b[i] != 'E' {
		// A whole number: converting it rounds once, to the nearest.
		if digits > 18 {
			return parseFloatSlow(b[:i])
		}
		v = float64(int64(mant)) // mant < 10^18 < 2^63
		if neg {
			v = -v
		}
		return v, i, true
	}
	if b[i] == '.' {
		i++
		start := i
		for ; i < len(b) && b[i]-'0' < 10; i++ {
			if digits == 0 && b[i] == '0' {
				exp10-- // leading zeros of 0.00x are not significant
				continue
			}
			if digits < 19 {
				mant = mant*10 + uint64(b[i]-'0')
				exp10--
			}
			digits++
		}
		if i == start {
			return 0, 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		e := 0
		for ; i < len(b) && b[i]-'0' < 10; i++ {
			if e < 10000 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return 0, 0, false
		}
		if eneg {
			e = -e
		}
		exp10 += e
	}
	if digits <= 15 && exp10 >= -22 && exp10 <= 22 {
		v = float64(int64(mant)) // exact: mant < 10^15 < 2^53
		if exp10 >= 0 {
			v *= exactPow10[exp10]
		} else {
			v /= exactPow10[-exp10]
		}
		if neg {
			v = -v
		}
		return v, i, true
	}
	return parseFloatSlow(b[:i])
}

// parseFloatSlow is parseNumber's general path: b is one whole number in
// JSON's grammar.
func parseFloatSlow(b []byte) (float64, int, bool) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, 0, false
	}
	return v, len(b), true
}

// appendNumberRun reads the run of numbers at the start of b that are each
// followed by a comma, or by the ']' that closes their array, and are of
// the forms almost every metric value and count takes: a whole number of
// at most 18 digits, or a decimal of at most 15 digits in all
// (12,0,104.123,0.0005]). It appends their values to dst, at most limit of
// them in dst, and returns dst, the bytes read and whether it read the
// closing ']'; it stops before the first number of another form (a
// negative one, one with an exponent) or followed by anything else (white
// space), which parseNumber then reads. The values are parseNumber's: a
// decimal's digits are its significand read as one integer, divided by
// the power of ten of its fraction's length, both exact in float64
// (Clinger's fast path).
//
// It is the loop over the bulk of a request's numbers (100,000 in the
// release payload), kept apart from the general parser so that its state
// stays in registers.
func appendNumberRun(dst []float64, b []byte, limit int) (_ []float64, n int, closed bool) {
	i := 0
	for len(dst) < limit {
		j := i
		var m uint64
		for j < len(b) && b[j]-'0' < 10 {
			m = m*10 + uint64(b[j]-'0') // wraps past 19 digits: those are refused below
			j++
		}
		whole := j - i
		if whole == 0 || whole > 1 && b[i] == '0' || j >= len(b) {
			break
		}
		var v float64
		if b[j] == '.' {
			k := j + 1
			for k < len(b) && b[k]-'0' < 10 {
				m = m*10 + uint64(b[k]-'0')
				k++
			}
			frac := k - j - 1
			if frac == 0 || whole+frac > 15 {
				break
			}
			v = float64(int64(m)) / exactPow10[frac] // m < 10^15 < 2^53
			j = k
		} else {
			if whole > 18 {
				break
			}
			v = float64(int64(m)) // m < 10^18 < 2^63: rounded once, to the nearest
		}
		if j >= len(b) || b[j] != ',' && b[j] != ']' {
			break
		}
		dst = append(dst, v)
		i = j + 1
		if b[j] == ']' {
			return dst, i, true
		}
	}
	return dst, i, false
}
