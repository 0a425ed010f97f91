package stat

import (
	"math"
	"slices"
)

// Summary holds descriptive statistics of one sample. The JSON names are part
// of Verdict's public report format.
type Summary struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	// StdDev is the sample standard deviation (divisor n-1); 0 when Count < 2.
	StdDev float64 `json:"stddev"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
}

// Describe returns the descriptive statistics of values, which must not
// contain NaN. Percentiles (median, P90, P95, P99) are R's type 7. An empty
// sample gives the zero Summary (Count 0). values is not modified.
func Describe(values []float64) Summary {
	n := len(values)
	if n == 0 {
		return Summary{}
	}
	sorted := slices.Clone(values)
	sortFloats(sorted)
	return DescribeSorted(sorted)
}

// DescribeSorted is Describe for values already sorted ascending (and free
// of NaN), without the copy and the sort.
func DescribeSorted(sorted []float64) Summary {
	n := len(sorted)
	if n == 0 {
		return Summary{}
	}
	mean := Mean(sorted)
	return Summary{
		Count:  n,
		Mean:   mean,
		Median: Percentile(sorted, 0.5),
		StdDev: stdDev(sorted, mean),
		Min:    sorted[0],
		Max:    sorted[n-1],
		P90:    Percentile(sorted, 0.9),
		P95:    Percentile(sorted, 0.95),
		P99:    Percentile(sorted, 0.99),
	}
}

// Mean returns the arithmetic mean of values (NaN when empty). Like R's mean
// it refines the first quotient with a second pass over the residuals; a sum
// that overflows is recomputed from scaled terms, so finite inputs give a
// finite mean.
func Mean(values []float64) float64 {
	n := float64(len(values))
	if len(values) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range values {
		s += v
	}
	m := s / n
	if math.IsInf(m, 0) {
		s = 0
		for _, v := range values {
			s += v / n
		}
		return s
	}
	if !math.IsInf(s, 0) && !math.IsNaN(s) {
		var t float64
		for _, v := range values {
			t += v - m
		}
		m += t / n
	}
	return m
}

// stdDev is the sample standard deviation around mean, with the deviations
// scaled by a power of two (exact) so that squares of huge values do not
// overflow.
func stdDev(values []float64, mean float64) float64 {
	if len(values) < 2 {
		return 0
	}
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		return math.NaN()
	}
	var maxAbs float64
	for _, v := range values {
		// A comparison, not math.Max (several times slower here): with a
		// finite mean and no NaN in values, no deviation is NaN.
		if d := math.Abs(v - mean); d > maxAbs {
			maxAbs = d
		}
	}
	if maxAbs == 0 || math.IsInf(maxAbs, 0) || math.IsNaN(maxAbs) {
		if maxAbs == 0 {
			return 0
		}
		return math.NaN()
	}
	_, e := math.Frexp(maxAbs)
	var ss float64
	if scale := math.Ldexp(1, -e); e > -1000 && e < 1000 {
		// Multiplying by an exact power of two rounds once, as Ldexp
		// does, at a fraction of its cost.
		for _, v := range values {
			d := (v - mean) * scale
			ss += float64(d * d)
		}
	} else {
		for _, v := range values {
			d := math.Ldexp(v-mean, -e)
			ss += float64(d * d)
		}
	}
	return math.Ldexp(math.Sqrt(ss/float64(len(values)-1)), e)
}

// Percentile returns the p-quantile of sorted, which must be sorted ascending
// and free of NaN, by R's quantile type 7 (see the package doc), computed with
// R's arithmetic: h = 1+(n-1)p, result (1-(h-lo))·x[lo] + (h-lo)·x[hi]
// (1-based), or x[lo] when x[hi] equals it. p is clamped to [0, 1]; an empty
// sample or a NaN p gives NaN.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	p = math.Max(0, math.Min(1, p))
	index, lo, hi := type7Index(n, p)
	return type7Value(index, lo, sorted[lo-1], sorted[hi-1])
}

// type7Index returns R's index h = 1+(n-1)p of the p-quantile of n sorted
// values (type 7) and the 1-based ranks floor(h) and ceil(h) of the order
// statistics it lies between; p must be in [0, 1].
func type7Index(n int, p float64) (index float64, lo, hi int) {
	index = 1 + float64(float64(n-1)*p) // rounded as R does: no fused multiply-add
	return index, int(math.Floor(index)), int(math.Ceil(index))
}

// type7Value is R's type-7 quantile at index, given the order statistics
// x[lo] and x[hi] around it: (1-h)·x[lo] + h·x[hi] with h = index - lo, or
// x[lo] when index is lo or x[hi] equals it. Each product is rounded on its
// own, as R's compiled arithmetic does, so that no architecture fuses them
// into a multiply-add with one rounding fewer.
func type7Value(index float64, lo int, xlo, xhi float64) float64 {
	if index > float64(lo) && xhi != xlo {
		h := index - float64(lo)
		return float64((1-h)*xlo) + float64(h*xhi)
	}
	return xlo
}

// IQRFences returns Tukey's fences Q1 - factor·IQR and Q3 + factor·IQR of
// sorted (ascending, no NaN), with R type-7 quartiles. An empty sample gives
// NaN, NaN.
func IQRFences(sorted []float64, factor float64) (lower, upper float64) {
	q1 := Percentile(sorted, 0.25)
	q3 := Percentile(sorted, 0.75)
	iqr := q3 - q1
	return q1 - float64(factor*iqr), q3 + float64(factor*iqr)
}

// RemoveOutliers returns the values inside the IQR fences (IQRFences with
// factor) of values, keeping their order: values below the lower fence or
// above the upper fence are dropped, values on a fence are kept. values must
// not contain NaN; it is not modified. The result is a new slice (empty, not
// nil, for an empty input).
func RemoveOutliers(values []float64, factor float64) []float64 {
	sorted := slices.Clone(values)
	sortFloats(sorted)
	lower, upper := IQRFences(sorted, factor)
	out := make([]float64, 0, len(values))
	for _, v := range values {
		if v < lower || v > upper {
			continue
		}
		out = append(out, v)
	}
	return out
}
