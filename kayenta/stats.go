package kayenta

import (
	"fmt"
	"math"
	"sort"
)

// Stats is the descriptive summary Kayenta stores for each side of a metric
// (experimentMetadata.stats / controlMetadata.stats). Every field is 0 for an
// empty series.
type Stats struct {
	Min   Float `json:"min"`
	Max   Float `json:"max"`
	Mean  Float `json:"mean"`
	Std   Float `json:"std"`
	Count int   `json:"count"`
}

// Summary computes min, max, mean, sample standard deviation and count the way
// upstream does (commons-math StatUtils): two-pass mean, bias-corrected
// variance. An empty series gives all zeros, not NaN.
func Summary(values []float64) Stats {
	if len(values) == 0 {
		return Stats{}
	}
	return Stats{
		Min:   Float(minOf(values)),
		Max:   Float(maxOf(values)),
		Mean:  Float(Mean(values)),
		Std:   Float(math.Sqrt(Variance(values))),
		Count: len(values),
	}
}

// minOf mirrors commons-math Min: NaN entries after the first are skipped.
func minOf(values []float64) float64 {
	m := values[0]
	for _, v := range values[1:] {
		if !math.IsNaN(v) && !(m < v) {
			m = v
		}
	}
	return m
}

func maxOf(values []float64) float64 {
	m := values[0]
	for _, v := range values[1:] {
		if !math.IsNaN(v) && !(m > v) {
			m = v
		}
	}
	return m
}

// Mean is the commons-math two-pass mean: m0 = sum/n, then m0 + sum(x-m0)/n.
// It returns NaN for an empty series.
func Mean(values []float64) float64 {
	n := float64(len(values))
	if len(values) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	m0 := sum / n
	corr := 0.0
	for _, v := range values {
		corr += v - m0
	}
	return m0 + corr/n
}

// Variance is the bias-corrected (n-1) sample variance computed as
// (sum(d^2) - (sum d)^2/n) / (n-1) with d = x - Mean(x). A single value gives
// 0; an empty series gives NaN.
func Variance(values []float64) float64 {
	switch len(values) {
	case 0:
		return math.NaN()
	case 1:
		return 0
	}
	acc, acc2 := deviationSums(values)
	n := float64(len(values))
	return (acc - acc2*acc2/n) / (n - 1)
}

// populationVariance is the n-denominator variance used by the k-sigma detector.
func populationVariance(values []float64) float64 {
	switch len(values) {
	case 0:
		return math.NaN()
	case 1:
		return 0
	}
	acc, acc2 := deviationSums(values)
	n := float64(len(values))
	return (acc - acc2*acc2/n) / n
}

func deviationSums(values []float64) (sumSq, sum float64) {
	m := Mean(values)
	for _, v := range values {
		d := v - m
		sumSq += float64(d * d)
		sum += d
	}
	return sumSq, sum
}

// Percentile returns the p-th percentile (p on the 0-100 scale, 0 < p <= 100)
// with the R-7 definition as commons-math evaluates it: NaNs are dropped, the
// values sorted, pos = 1 + (n-1)*p/100 (n when p == 100), and the result is
// s[k-1] + (pos-k)*(s[k]-s[k-1]) with k = floor(pos), evaluated in exactly
// this order. An empty series gives NaN; p outside (0, 100] is an error.
func Percentile(values []float64, p float64) (float64, error) {
	if !(p > 0 && p <= 100) {
		return math.NaN(), fmt.Errorf("percentile %v is out of range (0, 100]", p)
	}
	s := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	n := len(s)
	switch n {
	case 0:
		return math.NaN(), nil
	case 1:
		return s[0], nil
	}
	sort.Float64s(s)
	q := p / 100
	var pos float64
	if q == 1 {
		pos = float64(n)
	} else {
		pos = 1 + float64(float64(n-1)*q)
	}
	if pos < 1 {
		return s[0], nil
	}
	if pos >= float64(n) {
		return s[n-1], nil
	}
	fpos := math.Floor(pos)
	k := int(fpos)
	lower, upper := s[k-1], s[k]
	return lower + float64((pos-fpos)*(upper-lower)), nil
}

// mustPercentile is Percentile for the fixed, valid p values used internally.
func mustPercentile(values []float64, p float64) float64 {
	v, err := Percentile(values, p)
	if err != nil {
		return math.NaN()
	}
	return v
}

// rankKey orders NaN as +Inf (commons-math NaNStrategy.MAXIMAL).
func rankKey(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

// Ranks returns 1-based average-tie ranks of values (ties share the mean of
// the positions they occupy; NaN ranks as +Inf).
func Ranks(values []float64) []float64 {
	n := len(values)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rankKey(values[idx[a]]) < rankKey(values[idx[b]]) })
	ranks := make([]float64, n)
	for start := 0; start < n; {
		end := start
		for end+1 < n && rankKey(values[idx[end+1]]) == rankKey(values[idx[start]]) {
			end++
		}
		r := (float64(start+1) + float64(end+1)) / 2
		for k := start; k <= end; k++ {
			ranks[idx[k]] = r
		}
		start = end + 1
	}
	return ranks
}

// MeanRatio is mean(experiment)/mean(control), NaN when either mean is
// exactly 0 (never ±Inf). Means are computed as by Mean.
func MeanRatio(control, experiment []float64) float64 {
	return MeanRatioFromStats(Summary(control), Summary(experiment))
}

// MeanRatioFromStats is MeanRatio from two summaries.
func MeanRatioFromStats(control, experiment Stats) float64 {
	if control.Mean == 0 || experiment.Mean == 0 {
		return math.NaN()
	}
	return float64(experiment.Mean) / float64(control.Mean)
}

// CLES is the common-language effect size (Vargha-Delaney A) of experiment
// over control: P(exp > ctl) + P(exp = ctl)/2, from the rank sum of the
// experiment in the pooled sample. Unlike upstream (quirk Q14) the integer
// products are computed in float64, so long series do not overflow.
func CLES(control, experiment []float64) float64 {
	m := float64(len(experiment))
	n := float64(len(control))
	pooled := make([]float64, 0, len(experiment)+len(control))
	pooled = append(pooled, experiment...)
	pooled = append(pooled, control...)
	r := Ranks(pooled)
	r1 := 0.0
	for _, v := range r[:len(experiment)] {
		r1 += v
	}
	return (float64(2*r1) - float64(m*(m+1))) / (2 * n * m)
}

// cohenD is |mean_e - mean_c| divided by the pooled sample standard
// deviation. The judge does not use it.
func cohenD(control, experiment []float64) float64 {
	c, e := Summary(control), Summary(experiment)
	ce, cc := float64(e.Count), float64(c.Count)
	pooled := math.Sqrt((float64((ce-1)*math.Pow(float64(e.Std), 2)) + float64((cc-1)*math.Pow(float64(c.Std), 2))) / (cc + ce - 2))
	return math.Abs(float64(e.Mean)-float64(c.Mean)) / pooled
}
