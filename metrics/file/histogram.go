package file

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// parseBound parses a histogram bucket's upper bound (le): a number, or
// +Inf (also Inf, any case). It returns a message completing
// "le "x" of signal s ..." when the text is no bound.
func parseBound(s string) (float64, string) {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0):
		return 0, "is beyond the range of a 64-bit float (write +Inf for the last bucket)"
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, "is not a number (want a bucket's upper bound, or +Inf)"
	case math.IsNaN(v):
		return 0, "is not a bucket bound (want a number, or +Inf)"
	case math.IsInf(v, -1):
		return 0, "is not a bucket bound: buckets count observations at or below their bound, so only the last one may be infinite, +Inf"
	}
	return v, ""
}

// formatBound prints a bucket bound: +Inf, or the shortest exact number.
func formatBound(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatBounds lists bucket bounds for a message, eliding the middle of a
// long list.
func formatBounds(bounds []float64) string {
	const head, tail = 4, 2
	parts := make([]string, 0, head+tail+1)
	for i, b := range bounds {
		switch {
		case i < head || i >= len(bounds)-tail || len(bounds) <= head+tail+1:
			parts = append(parts, formatBound(b))
		case i == head:
			parts = append(parts, "…")
		}
	}
	return "le " + strings.Join(parts, ", ")
}
