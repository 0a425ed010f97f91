package judge

import "math"

// sample is one side's cleaned points in time order, with a sorted copy
// and the permutation between them, so that the descriptive statistics, the
// rank test and the pooled ranks share one sort.
type sample struct {
	values []float64 // in time order
	sorted []float64 // ascending
	perm   []int32   // sorted[k] == values[perm[k]]
}

// newSample sorts values (which hold no NaN) with an LSD radix sort on
// their order-preserving bit patterns, carrying each point's index along.
// A radix sort does not branch on the data, which at canary sizes (a few
// hundred points) makes it several times faster than a comparison sort.
// -0 sorts before +0; both are equal for ranking.
func newSample(values []float64) sample {
	n := len(values)
	keys, idx := make([]uint64, n), make([]int32, n)
	for i, v := range values {
		keys[i], idx[i] = orderedBits(v), int32(i)
	}
	tmpKeys, tmpIdx := make([]uint64, n), make([]int32, n)
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&0xff]++
		}
		if n == 0 || count[(keys[0]>>shift)&0xff] == n {
			continue // every key has the same byte here: nothing moves
		}
		sum := 0
		for b, c := range count {
			count[b] = sum
			sum += c
		}
		for i, k := range keys {
			d := (k >> shift) & 0xff
			tmpKeys[count[d]], tmpIdx[count[d]] = k, idx[i]
			count[d]++
		}
		keys, tmpKeys = tmpKeys, keys
		idx, tmpIdx = tmpIdx, idx
	}
	sorted := make([]float64, n)
	for k, i := range idx {
		sorted[k] = values[i]
	}
	return sample{values: values, sorted: sorted, perm: idx}
}

// orderedBits maps a float64 to a uint64 whose unsigned order is the
// numeric order: flip every bit of negatives, only the sign bit of the rest.
func orderedBits(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// pooledRanks returns the average-tie ranks, in the pooled sample, of a's
// points and of b's points, each in time order. It merges the two sorted
// copies: no further sort.
func pooledRanks(a, b sample) (ra, rb []float64) {
	ra, rb = make([]float64, len(a.values)), make([]float64, len(b.values))
	i, j := 0, 0
	for i < len(a.sorted) || j < len(b.sorted) {
		var v float64
		switch {
		case j == len(b.sorted) || (i < len(a.sorted) && a.sorted[i] <= b.sorted[j]):
			v = a.sorted[i]
		default:
			v = b.sorted[j]
		}
		i2, j2 := i, j
		for i2 < len(a.sorted) && a.sorted[i2] == v {
			i2++
		}
		for j2 < len(b.sorted) && b.sorted[j2] == v {
			j2++
		}
		// Positions i+j+1 .. i2+j2 (1-based) share the value: average them.
		r := float64(i+j+1+i2+j2) / 2
		for k := i; k < i2; k++ {
			ra[a.perm[k]] = r
		}
		for k := j; k < j2; k++ {
			rb[b.perm[k]] = r
		}
		i, j = i2, j2
	}
	return ra, rb
}
