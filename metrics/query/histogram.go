package query

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// WithShapeHint adds hint to err, after a semicolon, when err is a
// KindBadResponse *Error (what Shape says of series it cannot put on the
// grid) and applies: a source tells the query's author how its language
// counts each step. Any other err is returned as it is.
func WithShapeHint(err error, applies bool, hint string) error {
	var qe *Error
	if applies && errors.As(err, &qe) && qe.Kind == KindBadResponse {
		qe.Err = fmt.Errorf("%w; %s", qe.Err, hint)
	}
	return err
}

// Shape turns the series a query returned for one scope into what its
// kind asks for: gauges through Combine; counts put on the grid
// (FillCounts) then through Combine; a classic histogram's bucket series
// into one histogram series (ClassicHistogram). g is used only for counts
// and histograms.
func Shape(q metrics.Query, rendered string, scope metrics.Scope, g Grid, series []metrics.Series) ([]metrics.Series, error) {
	switch q.Kind {
	case metrics.Count:
		filled, err := FillCounts(q, rendered, g, series)
		if err != nil {
			return nil, err
		}
		return Combine(q, rendered, scope, filled)
	case metrics.Histogram:
		return ClassicHistogram(q, rendered, scope, g, series)
	}
	return Combine(q, rendered, scope, series)
}

// ClassicHistogram turns the series of a classic histogram query, one per
// bucket told apart by their le label (sum by (le)
// (increase(x_bucket[{{.step}}]))), into one series with Bounds on the grid:
// Bounds the sorted le values, +Inf last; Values per step the cumulative
// count at each bound. le values that parse to the same number ("1" and
// "1.0") are one bucket. Refused with a *Error: a series without le or with
// an le that is not a number, a histogram without a +Inf bucket, several
// histograms (series differing in labels other than le) unless
// q.Aggregate is "sum", more than metrics.MaxBounds bounds or
// metrics.MaxHistogramValues counts.
func ClassicHistogram(q metrics.Query, rendered string, scope metrics.Scope, g Grid, series []metrics.Series) ([]metrics.Series, error) {
	if len(series) == 0 {
		return nil, nil
	}
	fail := func(kind Kind, err error) ([]metrics.Series, error) {
		return nil, &Error{Signal: q.Signal, Query: rendered, Kind: kind, Err: err}
	}
	type bucketSeries struct {
		bound float64
		s     metrics.Series
	}
	groups := map[string][]bucketSeries{}
	labels := map[string]map[string]string{}
	bounds := boundSet{}
	for _, s := range series {
		le, ok := s.Labels["le"]
		if !ok {
			return fail(KindBadQuery, fmt.Errorf("the query returned a series without an le label (%s); a histogram query returns bucket series by le, e.g. sum by (le) (increase(x_bucket{...}[{{.step}}])), or native histograms", formatLabels(s.Labels)))
		}
		bound, err := strconv.ParseFloat(strings.TrimSpace(le), 64)
		if err != nil || math.IsNaN(bound) {
			return fail(KindBadQuery, fmt.Errorf("bucket series %s has le=%q, which is not a number", formatLabels(s.Labels), le))
		}
		if bound == 0 {
			bound = 0 // not -0
		}
		rest := maps.Clone(s.Labels)
		delete(rest, "le")
		key := labelKey(rest)
		if _, seen := labels[key]; !seen {
			labels[key] = rest
		}
		groups[key] = append(groups[key], bucketSeries{bound, s})
		if bounds.add(bound) > metrics.MaxBounds {
			return fail(KindBadQuery, fmt.Errorf("the histogram has more than %d distinct bucket bounds", metrics.MaxBounds))
		}
	}
	keys := slices.Sorted(maps.Keys(groups))
	for _, k := range keys {
		if !slices.ContainsFunc(groups[k], func(b bucketSeries) bool { return math.IsInf(b.bound, 1) }) {
			return fail(KindBadQuery, fmt.Errorf("the histogram %s has no le=\"+Inf\" bucket, so its total is unknown; query every bucket of the _bucket series", formatLabels(labels[k])))
		}
	}
	if err := checkHistogramGroups(q, scope, keys, labels); err != nil {
		return fail(err.kind, err.err)
	}
	union := bounds.sorted()
	nb := len(union)
	if g.N*nb > metrics.MaxHistogramValues {
		return fail(KindBadQuery, tooManyCounts(g, nb))
	}
	values := make([]float64, g.N*nb)
	cells := make([]float64, g.N*nb)
	present := make([]bool, g.N*nb)
	for _, k := range keys {
		clear(cells)
		clear(present)
		for _, b := range groups[k] {
			col, _ := slices.BinarySearch(union, b.bound)
			for j, t := range b.s.Times {
				i, ok, err := g.index(t)
				if err != nil {
					return fail(KindBadResponse, err)
				}
				if ok && j < len(b.s.Values) {
					cells[i*nb+col] += b.s.Values[j]
					present[i*nb+col] = true
				}
			}
		}
		for i := range g.N {
			carry := 0.0
			for col := range nb {
				if present[i*nb+col] {
					carry = cells[i*nb+col]
				}
				values[i*nb+col] += carry
			}
		}
	}
	return []metrics.Series{histogramSeries(q, g, union, values, keys, labels)}, nil
}

// NativeSeries is one series of native histogram samples as a source read it.
type NativeSeries struct {
	Labels  map[string]string
	Samples []NativeSample
}

// NativeSample is one step's native histogram: its count of observations
// and its non-empty buckets.
type NativeSample struct {
	Time    time.Time
	Count   float64
	Buckets []NativeBucket
}

// NativeBucket is one bucket of a native histogram as Prometheus' API
// writes it: Boundaries says which ends belong to it (0: (Lower, Upper],
// 1: [Lower, Upper), 2: (Lower, Upper), 3: [Lower, Upper]).
type NativeBucket struct {
	Boundaries int
	Lower      float64
	Upper      float64
	Count      float64
}

// NativeHistogram turns native histogram series (sum(increase(x[{{.step}}])))
// into one series with Bounds on the grid: Bounds the union over all steps
// (and series) of the buckets' upper edges, +Inf last; Values per step the
// cumulative count at each bound.
//
// Each bucket is counted at its upper edge whatever its boundary rule (an
// open upper edge matters only for observations exactly on it). For
// latencies, which cannot be below zero, the negative buckets (a clock that
// stepped back) are counted at 0, as the fastest observations, rather than
// adding a bound per negative bucket; the zero bucket [−threshold,
// threshold] is counted at its upper edge, the zero threshold. The +Inf
// count is the sample's count of observations, or the sum of its buckets
// when that is larger (increase() extrapolates both): a NaN observation is
// in no bucket but in the count, so it is counted above every bound, as a
// classic histogram's +Inf bucket does. A step whose bounds differ from
// another's (the schema changed, or a bucket was empty) follows the rule of
// a missing bound.
//
// Refused like ClassicHistogram: several histograms unless q.Aggregate is
// "sum", more than metrics.MaxBounds bounds or metrics.MaxHistogramValues
// counts; a bucket edge that is NaN is a KindBadResponse.
func NativeHistogram(q metrics.Query, rendered string, scope metrics.Scope, g Grid, series []NativeSeries) ([]metrics.Series, error) {
	if len(series) == 0 {
		return nil, nil
	}
	fail := func(kind Kind, err error) ([]metrics.Series, error) {
		return nil, &Error{Signal: q.Signal, Query: rendered, Kind: kind, Err: err}
	}
	bounds := boundSet{}
	bounds.add(math.Inf(1))
	for _, s := range series {
		for _, smp := range s.Samples {
			for _, b := range smp.Buckets {
				if math.IsNaN(b.Upper) || math.IsNaN(b.Lower) {
					return fail(KindBadResponse, fmt.Errorf("native histogram %s at %s has a bucket with a NaN edge", formatLabels(s.Labels), smp.Time.UTC().Format(time.RFC3339)))
				}
				if bounds.add(nativeBound(b)) > metrics.MaxBounds {
					return fail(KindBadQuery, fmt.Errorf("the native histogram has more than %d distinct bucket bounds over the window; lower its resolution (schema) or query a classic histogram", metrics.MaxBounds))
				}
			}
		}
	}
	labels := map[string]map[string]string{}
	bySeries := map[string][]int{}
	for i, s := range series {
		k := labelKey(s.Labels)
		if _, seen := labels[k]; !seen {
			labels[k] = s.Labels
		}
		bySeries[k] = append(bySeries[k], i)
	}
	keys := slices.Sorted(maps.Keys(labels))
	if err := checkHistogramGroups(q, scope, keys, labels); err != nil {
		return fail(err.kind, err.err)
	}
	union := bounds.sorted()
	nb := len(union)
	if g.N*nb > metrics.MaxHistogramValues {
		return fail(KindBadQuery, tooManyCounts(g, nb))
	}
	values := make([]float64, g.N*nb)
	type edgeCount struct{ bound, count float64 }
	var buckets []edgeCount
	for _, s := range series {
		for _, smp := range s.Samples {
			i, ok, err := g.index(smp.Time)
			if err != nil {
				return fail(KindBadResponse, err)
			}
			if !ok {
				continue
			}
			buckets = buckets[:0]
			for _, b := range smp.Buckets {
				buckets = append(buckets, edgeCount{nativeBound(b), b.Count})
			}
			slices.SortFunc(buckets, func(a, b edgeCount) int { return cmpFloat(a.bound, b.bound) })
			row := values[i*nb : (i+1)*nb]
			cum, k := 0.0, 0
			for col, u := range union {
				for k < len(buckets) && buckets[k].bound <= u {
					cum += buckets[k].count
					k++
				}
				if col == nb-1 && smp.Count > cum {
					row[col] += smp.Count
					continue
				}
				row[col] += cum
			}
		}
	}
	return []metrics.Series{histogramSeries(q, g, union, values, keys, labels)}, nil
}

// boundSet is a set of bucket bounds (never NaN or −0), keyed by their
// bits: hashing a float64 key costs several times more.
type boundSet map[uint64]struct{}

// add puts b in the set and returns the set's size.
func (s boundSet) add(b float64) int {
	s[math.Float64bits(b)] = struct{}{}
	return len(s)
}

func (s boundSet) sorted() []float64 {
	out := make([]float64, 0, len(s))
	for bits := range s {
		out = append(out, math.Float64frombits(bits))
	}
	slices.Sort(out)
	return out
}

// nativeBound is the bound a native bucket is counted at: its upper edge,
// 0 for the negative buckets.
func nativeBound(b NativeBucket) float64 {
	if b.Upper <= 0 {
		return 0
	}
	return b.Upper
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type groupError struct {
	kind Kind
	err  error
}

// checkHistogramGroups refuses several histograms for one scope unless they
// are to be summed.
func checkHistogramGroups(q metrics.Query, scope metrics.Scope, keys []string, labels map[string]map[string]string) *groupError {
	if len(keys) <= 1 {
		return nil
	}
	switch q.Aggregate {
	case "sum":
		return nil
	case "":
		series := make([]metrics.Series, len(keys))
		for i, k := range keys {
			series[i].Labels = labels[k]
		}
		err := ambiguity(q.Signal, scope, series)
		return &groupError{KindAmbiguous, fmt.Errorf("%w (a histogram's buckets can only be summed)", err)}
	}
	return &groupError{KindBadQuery, fmt.Errorf("the query returned %d histograms for scope %s, and a histogram's bucket counts can only be summed: set aggregate: sum, not %s",
		len(keys), FormatScope(scope), q.Aggregate)}
}

func histogramSeries(q metrics.Query, g Grid, bounds, values []float64, keys []string, labels map[string]map[string]string) metrics.Series {
	var l map[string]string
	if len(keys) == 1 {
		l = maps.Clone(labels[keys[0]])
	} else {
		group := make([]metrics.Series, len(keys))
		for i, k := range keys {
			group[i].Labels = labels[k]
		}
		l = commonLabels(group)
	}
	if l == nil {
		l = map[string]string{}
	}
	return metrics.Series{Signal: q.Signal, Labels: l, Times: g.Times(), Values: values, Bounds: bounds}
}

func tooManyCounts(g Grid, bounds int) error {
	return fmt.Errorf("the histogram over %d steps × %d bucket bounds is more than %d counts; use a longer step", g.N, bounds, metrics.MaxHistogramValues)
}

// labelKey is a canonical form of a label set.
func labelKey(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}

// formatLabels writes labels as {a="b", c="d"}, keys in order.
func formatLabels(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+strconv.Quote(l[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
