package query

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// Aggregates returns the values metrics.Query.Aggregate accepts besides "".
func Aggregates() []string { return []string{"sum", "mean", "max", "min"} }

// CheckAggregate reports whether a is a valid metrics.Query.Aggregate.
func CheckAggregate(a string) error {
	if a == "" || slices.Contains(Aggregates(), a) {
		return nil
	}
	return fmt.Errorf("aggregate %q is not one of %s", a, strings.Join(Aggregates(), ", "))
}

// FormatScope writes a scope as "k=v,k=v" with keys in order.
func FormatScope(scope metrics.Scope) string {
	keys := slices.Sorted(maps.Keys(scope))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + scope[k]
	}
	return strings.Join(parts, ",")
}

// Combine applies the several-series rule to what a query returned for one
// scope. Zero or one series pass through. Several series are an error of
// KindAmbiguous naming the labels whose values differ, unless q.Aggregate is
// set: then they are combined point-wise into one series.
//
// Point-wise means by timestamp (by position when the series have no times):
// at each timestamp present in any series, the aggregate of the values the
// series have there. NaN and absent points are skipped; a timestamp where
// no series has a number gets NaN. "mean" is the mean of the numbers present.
// The combined series keeps the labels all inputs share. rendered is the
// query as sent, for the error.
func Combine(q metrics.Query, rendered string, scope metrics.Scope, series []metrics.Series) ([]metrics.Series, error) {
	for i := range series {
		series[i].Signal = q.Signal
	}
	if len(series) <= 1 {
		return series, nil
	}
	if err := CheckAggregate(q.Aggregate); err != nil {
		return nil, &Error{Signal: q.Signal, Query: rendered, Kind: KindBadQuery, Err: err}
	}
	if q.Aggregate == "" {
		return nil, &Error{Signal: q.Signal, Query: rendered, Kind: KindAmbiguous, Err: ambiguity(q.Signal, scope, series)}
	}
	out, err := aggregate(q.Aggregate, series)
	if err != nil {
		return nil, &Error{Signal: q.Signal, Query: rendered, Kind: KindBadQuery, Err: err}
	}
	out.Signal = q.Signal
	out.Labels = commonLabels(series)
	return []metrics.Series{out}, nil
}

// ambiguity explains which labels tell the series apart.
func ambiguity(signal string, scope metrics.Scope, series []metrics.Series) error {
	names := map[string]bool{}
	for _, s := range series {
		for k := range s.Labels {
			names[k] = true
		}
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(names)) {
		values := map[string]bool{}
		for _, s := range series {
			v, ok := s.Labels[name]
			if !ok {
				v = "<absent>"
			}
			values[v] = true
		}
		if len(values) < 2 {
			continue
		}
		vs := slices.Sorted(maps.Keys(values))
		const show = 5
		list := strings.Join(vs[:min(show, len(vs))], ", ")
		if len(vs) > show {
			list += fmt.Sprintf(", … %d more", len(vs)-show)
		}
		parts = append(parts, fmt.Sprintf("%q (%s)", name, list))
	}
	what := "that have identical labels"
	switch len(parts) {
	case 0:
	case 1:
		what = "that differ in label " + parts[0]
	default:
		what = "that differ in labels " + strings.Join(parts, ", ")
	}
	return fmt.Errorf("query for %s returned %d series for scope %s %s; aggregate them in the query or set aggregate: %s",
		signal, len(series), FormatScope(scope), what, strings.Join(Aggregates(), "|"))
}

func commonLabels(series []metrics.Series) map[string]string {
	out := map[string]string{}
	for k, v := range series[0].Labels {
		out[k] = v
	}
	for _, s := range series[1:] {
		for k, v := range out {
			if w, ok := s.Labels[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	return out
}

// acc accumulates the numbers seen at one point.
type acc struct {
	n   int
	val float64
}

func (a *acc) add(op string, v float64) {
	if math.IsNaN(v) {
		return
	}
	if a.n == 0 {
		a.val = v
		a.n = 1
		return
	}
	a.n++
	switch op {
	case "sum", "mean":
		a.val += v
	case "max":
		a.val = math.Max(a.val, v)
	case "min":
		a.val = math.Min(a.val, v)
	}
}

func (a *acc) result(op string) float64 {
	if a.n == 0 {
		return math.NaN()
	}
	if op == "mean" {
		return a.val / float64(a.n)
	}
	return a.val
}

func aggregate(op string, series []metrics.Series) (metrics.Series, error) {
	timed := series[0].Times != nil
	for _, s := range series {
		if (s.Times != nil) != timed {
			return metrics.Series{}, errors.New("cannot aggregate series with timestamps and series without")
		}
		if timed && len(s.Times) != len(s.Values) {
			return metrics.Series{}, fmt.Errorf("series has %d timestamps for %d values", len(s.Times), len(s.Values))
		}
	}
	if !timed {
		n := 0
		for _, s := range series {
			n = max(n, len(s.Values))
		}
		accs := make([]acc, n)
		for _, s := range series {
			for i, v := range s.Values {
				accs[i].add(op, v)
			}
		}
		out := metrics.Series{Values: make([]float64, n)}
		for i := range accs {
			out.Values[i] = accs[i].result(op)
		}
		return out, nil
	}
	byTime := map[int64]*acc{}
	at := map[int64]time.Time{}
	for _, s := range series {
		for i, t := range s.Times {
			k := t.UnixNano()
			a := byTime[k]
			if a == nil {
				a = &acc{}
				byTime[k] = a
				at[k] = t
			}
			a.add(op, s.Values[i])
		}
	}
	keys := slices.Sorted(maps.Keys(byTime))
	out := metrics.Series{Times: make([]time.Time, len(keys)), Values: make([]float64, len(keys))}
	for i, k := range keys {
		out.Times[i] = at[k]
		out.Values[i] = byTime[k].result(op)
	}
	return out, nil
}
