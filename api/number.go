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

// wholeBeforeComma reads a whole number of at most 18 digits followed by
// a comma at the start of b, the form of almost every count in a request,
// and returns its value and the bytes read, comma included; n is 0 when b
// starts with anything else (parseNumber then reads it). The value is the
// one parseNumber gives. It is small enough to be inlined in the loop over
// an array's numbers.
func wholeBeforeComma(b []byte) (v float64, n int) {
	var m uint64
	for i, c := range b {
		if c-'0' < 10 && i < 18 {
			m = m*10 + uint64(c-'0')
			continue
		}
		if c != ',' || i == 0 || b[0] == '0' && i > 1 {
			return 0, 0
		}
		return float64(int64(m)), i + 1
	}
	return 0, 0
}
