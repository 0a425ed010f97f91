package numeric

import "math"

// OrderedBits maps a float64 (not NaN) to a uint64 with the same order,
// consecutive floats to consecutive integers; -0 and +0 both map to the code
// of +0, so the codes are in one-to-one correspondence with the distinct
// float64 values (FromOrderedBits never returns -0). A NaN maps above +Inf
// or below -Inf, by its sign bit.
func OrderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if f == 0 {
		return 1 << 63
	}
	if b>>63 == 1 {
		return ^b + 1
	}
	return b | 1<<63
}

// FromOrderedBits is the inverse of OrderedBits.
func FromOrderedBits(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^(u - 1))
}
