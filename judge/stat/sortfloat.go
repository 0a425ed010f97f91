package stat

import "math/bits"

// sortFloats sorts v ascending. v must hold no NaN, so plain < is a strict
// weak order (slices.Sort also orders NaNs, at the price of extra
// comparisons). Introsort: quicksort with a median-of-three (ninther for long
// ranges) pivot and Hoare partitioning, insertion sort for short ranges,
// heapsort past 2·log2(n) levels, so O(n log n) in the worst case.
func sortFloats(v []float64) {
	quickSort(v, 2*bits.Len(uint(len(v))))
}

func quickSort(v []float64, depth int) {
	for len(v) > 16 {
		if depth == 0 {
			heapSort(v)
			return
		}
		depth--
		p := partition(v)
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

// partition reorders v (len >= 3) around a pivot and returns p, 0 < p <
// len(v), with v[:p] <= pivot <= v[p:].
func partition(v []float64) int {
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
	pivot := v[m]
	i, j := 0, n-1
	for {
		for v[i] < pivot {
			i++
		}
		for pivot < v[j] {
			j--
		}
		if i >= j {
			return j + 1
		}
		v[i], v[j] = v[j], v[i]
		i++
		j--
	}
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
