package judge

import (
	"math"
	"math/bits"

	"github.com/verdict-aca/verdict/internal/numeric"
	"github.com/verdict-aca/verdict/judge/stat"
)

// A Workspace holds the memory judging one signal works in: each side's
// cleaned points, sorted copy and permutation, their pooled ranks and the
// rank test's sorted copies; for the tests of counts and histograms, the
// cleaned counts, the counts beyond each compared bound and the
// dispersion's blocks. A caller that judges many signals one after
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
	// crossTies records, during pooledRanks' merge, where ties across the
	// two sides are.
	crossTies []int32
	mw        stat.Buffer
	counts    countScratch // the tests of counts and histograms
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
	sorted []float64 // ascending; the side's buffer holds +Inf after it
	perm   []int32   // sorted[k] == values[perm[k]]; the buffer holds n after it
	ties   bool      // some value occurs more than once
	side   int       // index in Workspace.sides
}

// sample sorts values (which hold no NaN) into side's buffers, carrying
// each point's time position along. The keys are the values'
// order-preserving bit patterns. Canary-sized samples are spread over
// buckets and finished by an insertion sort, which moves only points that
// share a bucket (see bucketSort); samples whose points crowd into few
// buckets (an outlier stretching the range) and large ones take an LSD
// radix sort instead. -0 sorts before +0; both are equal for ranking.
func (w *Workspace) sample(side int, values []float64) sample {
	n := len(values)
	buf := &w.sides[side]
	buf.sorted = resize(buf.sorted, n+1)
	buf.index = resize(buf.index, 2*n+1)
	w.keys = resize(w.keys, 2*n)
	s := sample{values: values, sorted: buf.sorted[:n:n], perm: buf.index[:n:n], side: side}
	if !w.bucketSort(values, s.perm, buf.index[n:2*n]) {
		copy(s.perm, radixSort(values, w.keys, buf.index))
	}
	for k, i := range s.perm {
		s.sorted[k] = values[i]
	}
	for k := 1; k < n; k++ {
		if s.sorted[k] == s.sorted[k-1] {
			s.ties = true
			break
		}
	}
	// Sentinels for pooledRanks' merge.
	buf.sorted[n], buf.index[n] = math.Inf(1), int32(n)
	return s
}

// bucketLimit is the largest sample sorted by buckets: beyond it a bucket
// count per point no longer fits in the processor's nearest cache.
const bucketLimit = 1 << 12

// bucketSort sorts values' positions into perm (using spare, as long) by
// one counting pass into two to four times as many buckets as points and
// an insertion sort within the buckets. Positive samples are spread by the
// leading varying bits of their keys,
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
	kLo, kHi := uint64(math.MaxUint64), uint64(0)
	for i, v := range values {
		k := numeric.OrderedBits(v)
		keys[i] = k
		kLo, kHi = min(kLo, k), max(kHi, k)
	}
	lo, hi := numeric.FromOrderedBits(kLo), numeric.FromOrderedBits(kHi)
	// At least n of 2^logBuckets >= 2n buckets are in use.
	logBuckets := bits.Len(uint(n)) + 1
	buckets := 1 << logBuckets
	of := spare[:n:n] // each point's bucket
	switch {
	case math.IsNaN(lo) || math.IsNaN(hi):
		return false // not for the judge's samples; the radix sort orders NaN's bits
	case lo > 0:
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
		k := numeric.OrderedBits(v)
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

// pooledRanks returns the average-tie ranks, in the pooled sample, of a's
// points and of b's points, each in time order, in a's and b's rank
// buffers (one slot longer than the samples). It merges the two sorted
// copies, with few branches on the data: no further sort.
//
// The merge takes the smaller head at each step (a's on equality) and
// writes the step's position at both heads' places: the head not taken is
// written again, finally, when it is taken, and a finished side, whose head
// is the +Inf sentinel, writes to its spare slot. Every point then holds
// its place in the merged order, which is its rank unless it is tied. Ties
// are then averaged: a value on both sides was seen as equal heads
// (recorded once per tie group, by b's position: at most one group per
// point of the smaller side), and within one side equal values are
// neighbours in its sorted copy.
func (w *Workspace) pooledRanks(a, b sample) (ra, rb []float64) {
	bufA, bufB := &w.sides[a.side], &w.sides[b.side]
	na, nb := len(a.values), len(b.values)
	bufA.ranks, bufB.ranks = resize(bufA.ranks, na+1), resize(bufB.ranks, nb+1)
	as, bs := bufA.sorted[:na+1], bufB.sorted[:nb+1]
	ap, bp := bufA.index[:na+1], bufB.index[:nb+1]
	ra, rb = bufA.ranks[:na+1], bufB.ranks[:nb+1]
	// One slot per possible group, and one for the unconditional write.
	w.crossTies = resize(w.crossTies, min(na, nb)+1)
	cross := w.crossTies
	i, j, found := 0, 0, 0
	for k := 1; k <= na+nb; k++ {
		x, y := as[i], bs[j]
		takeA := b2i(x <= y)
		r := float64(k)
		ra[ap[i]] = r
		rb[bp[j]] = r
		// A tie across: note b's position once per group (the next step
		// with equal heads has the same j until b's run is taken).
		cross[found] = int32(j)
		found += int(b2i(x == y) & b2i(found == 0 || cross[max(found-1, 0)] != int32(j)))
		i += int(takeA)
		j += int(1 - takeA)
	}
	// A tie group across the sides: a's run, then b's, in merged order.
	for _, jb := range cross[:found] {
		v := bs[jb]
		jb2 := int(jb)
		for jb2 < nb && bs[jb2] == v {
			jb2++
		}
		last := rb[bp[jb2-1]]
		// a's run ends right before b's in merged order: its first place
		// is last - (a's count + b's count) + 1.
		ia2 := int(last) - jb2 // a's points at or below v
		ia := ia2
		for ia > 0 && as[ia-1] == v {
			ia--
		}
		first := last - float64(ia2-ia+jb2-int(jb)) + 1
		avg := (first + last) / 2
		for k := ia; k < ia2; k++ {
			ra[ap[k]] = avg
		}
		for k := int(jb); k < jb2; k++ {
			rb[bp[k]] = avg
		}
	}
	if a.ties {
		averageRuns(as[:na], ap, ra)
	}
	if b.ties {
		averageRuns(bs[:nb], bp, rb)
	}
	return ra[:na:na], rb[:nb:nb]
}

// averageRuns gives each run of equal values in sorted the mean of the
// ranks its points hold, which for consecutive places is the average of
// the first and the last (and leaves a run already averaged unchanged).
func averageRuns(sorted []float64, perm []int32, ranks []float64) {
	for s := 0; s < len(sorted); {
		e := s + 1
		for e < len(sorted) && sorted[e] == sorted[s] {
			e++
		}
		if e-s > 1 {
			avg := (ranks[perm[s]] + ranks[perm[e-1]]) / 2
			for k := s; k < e; k++ {
				ranks[perm[k]] = avg
			}
		}
		s = e
	}
}

// b2i is 1 for true and 0 for false, without a branch.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
