package stat

import "math/bits"

// sortFloats sorts v ascending. v must hold no NaN, so plain < is a strict
// weak order (slices.Sort also orders NaNs, at the price of extra
// comparisons). Introsort: quicksort with a median-of-three (ninther for long
// ranges) pivot and a partition without data-dependent branches (see
// partitionLess), insertion sort for short ranges, heapsort past 2·log2(n)
// levels, so O(n log n) in the worst case. Runs of a value equal to the
// pivot are set aside in one more pass, so many ties cost no more than few.
// Input that is already sorted (the judge hands over sorted samples) costs
// one comparison per value.
func sortFloats(v []float64) {
	if isSortedFloats(v) {
		return
	}
	quickSort(v, 2*bits.Len(uint(len(v))))
}

// isSortedFloats reports whether v (no NaN) is ascending.
func isSortedFloats(v []float64) bool {
	for i := 1; i < len(v); i++ {
		if v[i] < v[i-1] {
			return false
		}
	}
	return true
}

func quickSort(v []float64, depth int) {
	for len(v) > 16 {
		if depth == 0 {
			heapSort(v)
			return
		}
		depth--
		choosePivot(v)
		p := partitionLess(v)
		if p == 0 {
			// Nothing is below the pivot (now v[0]): skip the values equal
			// to it.
			v[0], v[len(v)-1] = v[len(v)-1], v[0]
			p = partitionLessEq(v)
			v = v[p:]
			continue
		}
		// Recurse into the shorter side, loop on the longer.
		if p < len(v)-p {
			quickSort(v[:p], depth)
			v = v[p:]
		} else {
			quickSort(v[p:], depth)
			v = v[:p]
		}
	}
	insertionSort(v)
}

// choosePivot moves a median of three (of three medians of three for long
// ranges) to v[len(v)-1]; len(v) >= 3.
func choosePivot(v []float64) {
	n := len(v)
	m := n / 2
	if n > 128 {
		s := n / 8
		median3(v, 0, s, 2*s)
		median3(v, m-s, m, m+s)
		median3(v, n-1-2*s, n-1-s, n-1)
		median3(v, s, m, n-1-s)
	} else {
		median3(v, 0, m, n-1)
	}
	v[m], v[n-1] = v[n-1], v[m]
}

// partitionLess reorders v around its last element p and returns s with
// v[:s] < p <= v[s:], p at v[s]. Lomuto's scheme with an unconditional swap:
// the only branch is the loop's, so the cost does not depend on how well the
// comparisons can be predicted.
func partitionLess(v []float64) int {
	n := len(v) - 1
	p := v[n]
	s := 0
	for i := range n {
		x := v[i]
		v[i] = v[s]
		v[s] = x
		s += lessInt(x, p)
	}
	v[n], v[s] = v[s], v[n]
	return s
}

// partitionLessEq is partitionLess with <=: v[:s] <= p < v[s:], where p, the
// last element, is a least element; returns s >= 1.
func partitionLessEq(v []float64) int {
	n := len(v) - 1
	p := v[n]
	s := 0
	for i := range n {
		x := v[i]
		v[i] = v[s]
		v[s] = x
		s += lessInt(p, x) ^ 1 // x <= p
	}
	v[n], v[s] = v[s], v[n]
	return s + 1
}

// lessInt is a < b as 0 or 1, written so that the compiler sets a register
// from the flags instead of branching.
func lessInt(a, b float64) int {
	c := 0
	if a < b {
		c = 1
	}
	return c
}

// median3 orders v[a] <= v[b] <= v[c].
func median3(v []float64, a, b, c int) {
	if v[b] < v[a] {
		v[a], v[b] = v[b], v[a]
	}
	if v[c] < v[b] {
		v[b], v[c] = v[c], v[b]
		if v[b] < v[a] {
			v[a], v[b] = v[b], v[a]
		}
	}
}

func insertionSort(v []float64) {
	for i := 1; i < len(v); i++ {
		x := v[i]
		j := i
		for j > 0 && x < v[j-1] {
			v[j] = v[j-1]
			j--
		}
		v[j] = x
	}
}

func heapSort(v []float64) {
	n := len(v)
	for i := n/2 - 1; i >= 0; i-- {
		siftDown(v, i, n)
	}
	for end := n - 1; end > 0; end-- {
		v[0], v[end] = v[end], v[0]
		siftDown(v, 0, end)
	}
}

func siftDown(v []float64, root, n int) {
	for {
		child := 2*root + 1
		if child >= n {
			return
		}
		if child+1 < n && v[child] < v[child+1] {
			child++
		}
		if !(v[root] < v[child]) {
			return
		}
		v[root], v[child] = v[child], v[root]
		root = child
	}
}

// quickSelect returns the k-th smallest (0-based) of v, reordering v:
// quickselect with the pivots and partitions of sortFloats, O(len(v))
// expected.
func quickSelect(v []float64, k int) float64 {
	for len(v) > 16 {
		choosePivot(v)
		p := partitionLess(v)
		if p == 0 {
			v[0], v[len(v)-1] = v[len(v)-1], v[0]
			p = partitionLessEq(v) // v[:p] all equal the least value
			if k < p {
				return v[0]
			}
			v, k = v[p:], k-p
			continue
		}
		switch {
		case k < p:
			v = v[:p]
		case k == p:
			return v[p]
		default:
			v, k = v[p+1:], k-p-1
		}
	}
	insertionSort(v)
	return v[k]
}
