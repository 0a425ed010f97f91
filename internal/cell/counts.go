package cell

import (
	"math"
	"strconv"
	"strings"

	"github.com/verdict-aca/verdict/judge"
)

// Count prints a count: a whole number with thousands separators
// (2,031,480), anything else with four significant digits.
func Count(v float64) string {
	if v != math.Trunc(v) || math.Abs(v) >= 1e15 {
		return Number(v)
	}
	digits := strconv.FormatInt(int64(math.Abs(v)), 10)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// Share prints a fraction of a whole as a percentage with two significant
// digits in the share or in what it lacks of 100%, whichever is smaller,
// so that shares near either end stay apart: 1.9%, 0.052%, 50%, 96.0%,
// 99.95%.
func Share(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == 0:
		return "0%"
	case v == 1:
		return "100%"
	}
	p := 100 * v
	small := math.Min(math.Abs(p), math.Abs(100-p))
	return strconv.FormatFloat(p, 'f', twoDigits(small), 64) + "%"
}

// twoDigits is the number of decimals (0 to 6) that shows a positive value
// with two significant digits after rounding: 0.9996 rounds to 1.0, one
// decimal, not 1.00.
func twoDigits(a float64) int {
	exp := int(math.Floor(math.Log10(a)))
	if r := math.Pow10(1 - exp); math.Round(a*r)/r >= math.Pow10(exp+1) {
		exp++
	}
	return min(max(1-exp, 0), 6)
}

// Of prints events out of an exposure with their share: "41 of 2,154
// requests (1.9%)"; per names the exposure and may be empty. With no
// exposure the share is left out.
func Of(events, exposure float64, per string) string {
	s := Count(events) + " of " + Count(exposure)
	if per != "" {
		s += " " + per
	}
	if exposure > 0 {
		s += " (" + Share(events/exposure) + ")"
	}
	return s
}

// Times prints a ratio: 2.77×, 12.3×, 0.970×, ∞ when unbounded.
func Times(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "∞"
	case a >= 1000:
		return Count(math.Round(v)) + "×"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	case a == 0:
		return "0×"
	}
	decimals := 2 - int(math.Floor(math.Log10(a)))
	return strconv.FormatFloat(v, 'f', min(decimals, 8), 64) + "×"
}

// TimesInterval prints a ratio interval, "1.40× .. 2.50×"; a missing upper
// end (a ratio with no events on the baseline) is ∞, a missing lower end 0×.
func TimesInterval(lo, hi *float64) string {
	l, h := "0×", "∞"
	if lo != nil {
		l = Times(*lo)
	}
	if hi != nil {
		h = Times(*hi)
	}
	return l + " .. " + h
}

// Points prints a difference of two shares in percentage points, signed:
// -1.9 pp, +0.25 pp, +12.5 pp.
func Points(d float64) string {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return "n/a"
	}
	p := 100 * d
	decimals := 1
	if a := math.Abs(p); a > 0 {
		decimals = max(1, twoDigits(a))
	}
	s := strconv.FormatFloat(math.Abs(p), 'f', decimals, 64) + " pp"
	if p < 0 {
		return "-" + s
	}
	return "+" + s
}

// Allowance prints an allowed change on the side(s) it applies to: side
// is "+" (a rise is harmful), "-" (a fall), "±" (both), or "" when unknown,
// which prints the size alone. points says the change is in percentage
// points: +10%, -0.5 pp, ±10%.
func Allowance(v float64, points bool, side string) string {
	s := strconv.FormatFloat(100*math.Abs(v), 'f', -1, 64)
	if points {
		s += " pp"
	} else {
		s += "%"
	}
	return side + s
}

// HasCounts reports whether a test compared counts with what they are out
// of: a rate with an exposure, a proportion or a histogram (events,
// successes or observations beyond a bound, out of requests, trials or
// observations).
func HasCounts(t *judge.TestResult) bool {
	return t != nil && (t.BaselineExposure != nil || t.CanaryExposure != nil)
}

// Moved says on which side the canary moved, as far as the figures tell:
// up (true) or down, and whether they tell at all.
func Moved(t *judge.TestResult) (up, known bool) {
	switch {
	case t == nil:
		return false, false
	case t.RateRatio != nil && t.Method != judge.Histogram:
		return *t.RateRatio >= 1, true
	case t.RelativeShift != nil:
		return *t.RelativeShift >= 0, true
	case t.Estimate != nil && t.Method != judge.Threshold:
		return *t.Estimate >= 0, true
	}
	return false, false
}

// HarmfulSide is the side on which a signal's allowed change applied: "+"
// for a rise, "-" for a fall, "±" for either, or "" when the result does
// not say. It is the direction the result records (TestResult.Direction);
// a result stored before results carried it is read from what the judge
// decided: a high or low signal failed on that side; a change passed as
// harmless was harmful on the other; and a single-look decision at half of
// 1 − confidence was two-sided (see judge.DecisionLevel).
func HarmfulSide(r judge.Result) string {
	t := r.Test
	if t == nil {
		return ""
	}
	switch t.Direction {
	case judge.Increase:
		return "+"
	case judge.Decrease:
		return "-"
	case judge.Either:
		return "±"
	}
	switch r.Classification {
	case judge.High:
		return "+"
	case judge.Low:
		return "-"
	}
	up, known := Moved(t)
	switch {
	case r.Gate == judge.GateDirection && known:
		return map[bool]string{true: "-", false: "+"}[up]
	case (r.Gate == judge.GateMultiplicity || r.Gate == judge.GateFailsAlone) && known:
		return map[bool]string{true: "+", false: "-"}[up]
	case t.Confidence > 0 && t.DecisionLevel > 0 && math.Abs(t.DecisionLevel-(1-t.Confidence)/2) < 1e-9:
		return "±"
	}
	return ""
}
