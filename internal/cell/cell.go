// Package cell formats the figures of a report for display, one value at a
// time, so that the terminal table, Markdown and HTML print every number,
// mark and interval the same way.
package cell

import (
	"math"
	"strconv"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/scoring"
)

// VerdictMark marks a verdict without colour: ✔ pass, ✘ fail, ~ marginal, ? none.
func VerdictMark(v scoring.Verdict) string {
	switch v {
	case scoring.Pass:
		return "✔"
	case scoring.Fail:
		return "✘"
	case scoring.Marginal:
		return "~"
	}
	return "?"
}

// ResultMark marks a signal: ✔ passed, ✘ failed, ! critical failure, ? no data or error.
func ResultMark(s judge.Result) string {
	switch {
	case s.CriticalFailure:
		return "!"
	case s.Failed:
		return "✘"
	case s.Classification == judge.Pass:
		return "✔"
	}
	return "?"
}

// Score prints a score, or "none" when there is none.
func Score(s *float64) string {
	if s == nil {
		return "none"
	}
	return Number(*s)
}

// Optional prints a value, or "n/a" when it is undefined.
func Optional(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return Number(*v)
}

// Relative prints a fraction as a signed percentage with one decimal,
// +4.2%, or without one and with thousands separators from 1,000% on:
// +3,125%. An infinite change is +∞%, an undefined one n/a.
func Relative(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "n/a"
	}
	p := 100 * *v
	var s string
	switch {
	case math.IsInf(p, 1):
		return "+∞%"
	case math.IsInf(p, -1):
		return "-∞%"
	case math.Abs(p) >= 999.95:
		s = Count(math.Abs(math.Round(p))) + "%"
	default:
		s = strconv.FormatFloat(math.Abs(p), 'f', 1, 64) + "%"
	}
	if p < 0 {
		return "-" + s
	}
	return "+" + s
}

// RatioHigh prints the upper end of a ratio interval, ∞ when unbounded.
func RatioHigh(v *float64) string {
	if v == nil {
		return "∞"
	}
	return Number(*v)
}

// Bounds prints a threshold test's [min, max], with ∓∞ for a missing side.
func Bounds(lo, hi *float64) string {
	l, h := "-∞", "+∞"
	if lo != nil {
		l = Number(*lo)
	}
	if hi != nil {
		h = Number(*hi)
	}
	return "[" + l + ", " + h + "]"
}

// Number prints a value with up to four significant digits.
func Number(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// PValue prints a p-value with four decimals, or <0.0001.
func PValue(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}
