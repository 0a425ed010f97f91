package metrics

import (
	"fmt"
	"math"
	"slices"
)

// MaxBounds is the most bucket bounds (+Inf included) a histogram series may
// have. A classic histogram has a few dozen; a native histogram at a fine
// schema spanning microseconds to minutes has a few hundred. Beyond this a
// source refuses the answer rather than hold steps × bounds counts.
const MaxBounds = 1000

// MaxHistogramValues is the most counts (observations × bounds) one
// histogram series may hold: 16 MB of float64.
const MaxHistogramValues = 2_000_000

// AlignBounds re-expresses two histogram series on the union of their
// bounds, so that a baseline and a canary are compared bucket by bucket
// (judge.Buckets requires both sides to have the same bounds). Sources put
// every observation of one series on one set of bounds, but the two sides
// of an analysis are queried separately: a native histogram's buckets are
// the ones that received observations, and a new version may add a classic
// bucket.
//
// The cumulative count at a bound a series lacks is its count at its next
// lower bound (0 below its first): the observations between that lower
// bound and the next bound the series has cannot be placed, so they are
// counted above the new bound. That undercounts "at or below" by at most
// one of the series' own buckets, the resolution it had anyway.
//
// A nil series, or one without observations, is left alone. A series with
// values but no Bounds is not a histogram: an error. So is a union of more
// than MaxBounds bounds, or more than MaxHistogramValues counts.
func AlignBounds(a, b *Series) error {
	for _, s := range []*Series{a, b} {
		if s == nil || len(s.Values) == 0 {
			continue
		}
		if err := checkHistogramShape(s); err != nil {
			return err
		}
	}
	if a == nil || b == nil || len(a.Values) == 0 || len(b.Values) == 0 || slices.Equal(a.Bounds, b.Bounds) {
		return nil
	}
	union := mergeBounds(a.Bounds, b.Bounds)
	if len(union) > MaxBounds {
		return fmt.Errorf("histograms %s: the two sides have %d distinct bucket bounds together, more than %d", a.Signal, len(union), MaxBounds)
	}
	for _, s := range []*Series{a, b} {
		if n := s.Observations() * len(union); n > MaxHistogramValues {
			return fmt.Errorf("histogram %s: %d observations × %d bounds is more than %d counts; use a longer step", s.Signal, s.Observations(), len(union), MaxHistogramValues)
		}
	}
	for _, s := range []*Series{a, b} {
		s.Values = rebucket(s.Bounds, s.Values, union)
		s.Bounds = slices.Clone(union)
	}
	return nil
}

func checkHistogramShape(s *Series) error {
	nb := len(s.Bounds)
	if nb == 0 {
		return fmt.Errorf("series %s is not a histogram (it has no bucket bounds)", s.Signal)
	}
	if len(s.Values)%nb != 0 {
		return fmt.Errorf("histogram %s has %d counts, not a whole number of observations of %d buckets", s.Signal, len(s.Values), nb)
	}
	for i := 1; i < nb; i++ {
		if !(s.Bounds[i] > s.Bounds[i-1]) {
			return fmt.Errorf("histogram %s: bucket bounds are not strictly ascending (%g after %g)", s.Signal, s.Bounds[i], s.Bounds[i-1])
		}
	}
	if !math.IsInf(s.Bounds[nb-1], 1) {
		return fmt.Errorf("histogram %s has no +Inf bucket", s.Signal)
	}
	return nil
}

// mergeBounds is the sorted union of two strictly ascending lists.
func mergeBounds(a, b []float64) []float64 {
	out := make([]float64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// rebucket re-expresses cumulative counts on bounds as counts on union (a
// superset of bounds): at a bound not in bounds, the count at the next
// lower one.
func rebucket(bounds, values, union []float64) []float64 {
	nb, nu := len(bounds), len(union)
	obs := len(values) / nb
	out := make([]float64, obs*nu)
	for o := range obs {
		row := values[o*nb : (o+1)*nb]
		dst := out[o*nu : (o+1)*nu]
		k, carry := 0, 0.0
		for i, u := range union {
			if k < nb && bounds[k] == u {
				carry = row[k]
				k++
			}
			dst[i] = carry
		}
	}
	return out
}
