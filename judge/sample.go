package judge

import (
	"math"
	"math/bits"

	"github.com/verdict-aca/verdict/judge/stat"
)

// A Workspace holds the memory judging one signal works in: each side's
// cleaned points, sorted copy and permutation, their pooled ranks and the
// rank test's sorted copies. A caller that judges many signals one after
// another (an analysis, a service answering requests) reuses one Workspace
// instead of allocating and clearing some 40 KB per 360-point signal, which
// costs more than the sorting done in it.
//
// The zero Workspace is ready to use. A Workspace is not safe for concurrent
// use. The Results it returns never refer to its memory.
type Workspace struct {
	sides [2]sideBuffers
	keys  []uint64 // sort keys, two halves
	count []int32  // bucket counts
	diffs []float64
	mw    stat.Buffer
}

// sideBuffers are one side's buffers: 0 baseline, 1 canary.
type sideBuffers struct {
	cleaned []float64
	sorted  []float64
	index   []int32 // two halves: the permutation and the sort's spare
	ranks   []float64
}

// resize returns s with length n, reusing its storage when large enough.
// The contents are not cleared.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// sample is one side's cleaned points in time order, with a sorted copy
// and the permutation between them, so that the descriptive statistics, the
// rank test and the pooled ranks share one sort.
type sample struct {
	values []float64 // in time order
	sorted []float64 // ascending
	perm   []int32   // sorted[k] == values[perm[k]]
	side   int       // index in Workspace.sides
}

// sample sorts values (which hold no NaN) into side's buffers, carrying
// each point's time position along. The keys are the values' order-preserving
// bit patterns. Canary-sized samples are spread over about as many buckets as
// points by their leading varying bits and then finished by an insertion
// sort, which moves only points that share a bucket; samples whose points
// crowd into few buckets (an outlier stretching the range) and large ones
// take an LSD radix sort instead. -0 sorts before +0; both are equal for
// ranking.
func (w *Workspace) sample(side int, values []float64) sample {
	n := len(values)
	buf := &w.sides[side]
	buf.sorted = resize(buf.sorted, n)
	buf.index = resize(buf.index, 2*n)
	w.keys = resize(w.keys, 2*n)
	s := sample{values: values, sorted: buf.sorted, perm: buf.index[:n:n], side: side}
	if !w.bucketSort(values, s.perm, buf.index[n:]) {
		copy(s.perm, radixSort(values, w.keys, buf.index))
	}
	for k, i := range s.perm {
		s.sorted[k] = values[i]
	}
	return s
}

// bucketLimit is the largest sample sorted by buckets: beyond it a bucket
// count per point no longer fits in the processor's nearest cache.
const bucketLimit = 1 << 12

// bucketSort sorts values' positions into perm (using spare, as long) by one counting pass into
// about as many buckets as points and an insertion sort within the buckets.
// Positive samples are spread by the leading varying bits of their keys,
// which follow the logarithm (latencies' long tails stay spread out);
// samples holding zero or negative values, whose keys jump at zero, are
// spread linearly by value. It gives up, reporting false, on samples
// outside [2, bucketLimit] and when the insertion sort would move more than
// a few points per point.
func (w *Workspace) bucketSort(values []float64, perm, spare []int32) bool {
	n := len(values)
	if n < 2 || n > bucketLimit {
		return false
	}
	keys, sorted := w.keys[:n:n], w.keys[n:2*n]
	lo, hi := values[0], values[0]
	for i, v := range values {
		keys[i] = orderedBits(v)
		lo, hi = min(lo, v), max(hi, v)
	}
	logBuckets := bits.Len(uint(n)) // 2^logBuckets >= n
	buckets := 1 << logBuckets
	of := spare[:n:n] // each point's bucket
	switch {
	case lo > 0:
		kLo, kHi := orderedBits(lo), orderedBits(hi)
		shift := max(0, bits.Len64(kHi-kLo)-logBuckets)
		for i, k := range keys {
			of[i] = int32((k - kLo) >> shift)
		}
	case math.IsInf(hi-lo, 0):
		return false
	default:
		scale := 0.0 // all equal: one bucket
		if hi > lo {
			scale = float64(buckets-1) / (hi - lo)
		}
		for i, v := range values {
			of[i] = int32(min(int((v-lo)*scale), buckets-1))
		}
	}
	w.count = resize(w.count, buckets+1)
	count := w.count
	clear(count)
	for _, d := range of {
		count[d+1]++
	}
	for d := 1; d < len(count); d++ {
		count[d] += count[d-1]
	}
	for i, d := range of {
		p := count[d]
		sorted[p], perm[p] = keys[i], int32(i)
		count[d] = p + 1
	}
	budget := 4 * n
	for i := 1; i < n; i++ {
		k, p := sorted[i], perm[i]
		j := i
		for j > 0 && sorted[j-1] > k {
			sorted[j], perm[j] = sorted[j-1], perm[j-1]
			j--
		}
		sorted[j], perm[j] = k, p
		if budget -= i - j; budget < 0 {
			return false
		}
	}
	return true
}

// radixSort returns the positions of values in ascending order, sorted by
// an LSD radix sort on the keys' bytes in keyBuf and idxBuf (each 2n long).
// One pass counts all eight byte positions; a position where every key has
// the same byte (the sign and most of the exponent, for metric values)
// moves nothing and is skipped. The result is one half of idxBuf.
func radixSort(values []float64, keyBuf []uint64, idxBuf []int32) []int32 {
	n := len(values)
	keys, tmpKeys := keyBuf[:n:n], keyBuf[n:2*n]
	idx, tmpIdx := idxBuf[:n:n], idxBuf[n:2*n]
	var count [8][256]int32
	for i, v := range values {
		k := orderedBits(v)
		keys[i], idx[i] = k, int32(i)
		for b := range 8 {
			count[b][byte(k>>(8*b))]++
		}
	}
	for b := range 8 {
		c := &count[b]
		shift := uint(8 * b)
		if n == 0 || c[byte(keys[0]>>shift)] == int32(n) {
			continue // every key has the same byte here: nothing moves
		}
		var sum int32
		for d, cd := range c {
			c[d] = sum
			sum += cd
		}
		for i, k := range keys {
			d := byte(k >> shift)
			tmpKeys[c[d]], tmpIdx[c[d]] = k, idx[i]
			c[d]++
		}
		keys, tmpKeys = tmpKeys, keys
		idx, tmpIdx = tmpIdx, idx
	}
	return idx
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
// points and of b's points, each in time order, in a's and b's rank
// buffers. It merges the two sorted copies: no further sort.
func (w *Workspace) pooledRanks(a, b sample) (ra, rb []float64) {
	ra = resize(w.sides[a.side].ranks, len(a.values))
	rb = resize(w.sides[b.side].ranks, len(b.values))
	w.sides[a.side].ranks, w.sides[b.side].ranks = ra, rb
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
