package query

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var inf = math.Inf(1)

// grid3 is three one-minute steps ending at 12:01, 12:02, 12:03.
var grid3 = Grid{First: noon.Add(time.Minute), Step: time.Minute, N: 3}

func minutes(ms ...int) []time.Time {
	out := make([]time.Time, len(ms))
	for i, m := range ms {
		out[i] = noon.Add(time.Duration(m) * time.Minute)
	}
	return out
}

func bucket(le string, times []time.Time, values ...float64) metrics.Series {
	return metrics.Series{Labels: map[string]string{"le": le, "job": "api"}, Times: times, Values: values}
}

func TestClassicHistogram(t *testing.T) {
	q := metrics.Query{Signal: "latency", Kind: metrics.Histogram}
	// Out of order, "1" and "1.0" are one bucket (a client that changed how
	// it writes le), le=0.5 misses step 2, nothing at all at step 3.
	in := []metrics.Series{
		bucket("+Inf", minutes(1, 2), 10, 20),
		bucket("1", minutes(1), 9),
		bucket("1.0", minutes(2), 18),
		bucket("0.5", minutes(1), 5),
		bucket("0.1", minutes(1, 2), 1, 4),
	}
	out, err := ClassicHistogram(q, "q", nil, grid3, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d series", len(out))
	}
	s := out[0]
	if !slices.Equal(s.Bounds, []float64{0.1, 0.5, 1, inf}) {
		t.Fatalf("bounds %v", s.Bounds)
	}
	want := []float64{
		1, 5, 9, 10,
		4, 4, 18, 20, // le=0.5 absent: the count at le=0.1
		0, 0, 0, 0,
	}
	if !sameFloats(s.Values, want) {
		t.Fatalf("values %v, want %v", s.Values, want)
	}
	if s.Observations() != 3 || len(s.Times) != 3 || !s.Times[2].Equal(noon.Add(3*time.Minute)) {
		t.Errorf("times %v", s.Times)
	}
	if s.Labels["job"] != "api" || s.Labels["le"] != "" || s.Signal != "latency" {
		t.Errorf("labels %v signal %q", s.Labels, s.Signal)
	}

	t.Run("nothing returned is no data", func(t *testing.T) {
		out, err := ClassicHistogram(q, "q", nil, grid3, nil)
		if err != nil || out != nil {
			t.Fatalf("got %v, %v", out, err)
		}
	})
}

func TestClassicHistogramSum(t *testing.T) {
	pod := func(name, le string, v float64) metrics.Series {
		return metrics.Series{Labels: map[string]string{"pod": name, "le": le, "job": "api"}, Times: minutes(1), Values: []float64{v}}
	}
	// Pod b has no le=0.5 bucket (an older version): it counts nothing
	// between 0.1 and 0.5.
	in := []metrics.Series{pod("a", "0.1", 1), pod("a", "0.5", 3), pod("a", "+Inf", 4), pod("b", "0.1", 2), pod("b", "+Inf", 5)}
	q := metrics.Query{Signal: "latency", Kind: metrics.Histogram}
	_, err := ClassicHistogram(q, "q", metrics.Scope{"track": "canary"}, grid3, in)
	var qe *Error
	if !errors.As(err, &qe) || qe.Kind != KindAmbiguous || !strings.Contains(err.Error(), `differ in label "pod" (a, b)`) {
		t.Fatalf("err = %v, want KindAmbiguous naming pod", err)
	}
	q.Aggregate = "max"
	if _, err := ClassicHistogram(q, "q", nil, grid3, in); !errors.As(err, &qe) || qe.Kind != KindBadQuery || !strings.Contains(err.Error(), "can only be summed") {
		t.Fatalf("err = %v, want KindBadQuery: only sum", err)
	}
	q.Aggregate = "sum"
	out, err := ClassicHistogram(q, "q", nil, grid3, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{3, 5, 9, 0, 0, 0, 0, 0, 0}
	if !sameFloats(out[0].Values, want) || out[0].Labels["job"] != "api" || out[0].Labels["pod"] != "" {
		t.Fatalf("got %v labels %v, want %v and the shared labels", out[0].Values, out[0].Labels, want)
	}
}

func TestClassicHistogramRefuses(t *testing.T) {
	manyBounds := make([]metrics.Series, 0, metrics.MaxBounds+1)
	for i := range metrics.MaxBounds + 1 {
		manyBounds = append(manyBounds, bucket(strconv.Itoa(i), minutes(1), 1))
	}
	// 11,000 steps × 182 bounds is just over (181 is under) metrics.MaxHistogramValues.
	manyCounts := []metrics.Series{bucket("+Inf", nil)}
	for i := range 181 {
		manyCounts = append(manyCounts, bucket(strconv.Itoa(i), nil))
	}
	tests := []struct {
		name string
		g    Grid
		in   []metrics.Series
		kind Kind
		want string
	}{
		{"no le", grid3, []metrics.Series{{Labels: map[string]string{"job": "api"}, Times: minutes(1), Values: []float64{1}}}, KindBadQuery, `without an le label ({job="api"})`},
		{"le not a number", grid3, []metrics.Series{bucket("fast", minutes(1), 1)}, KindBadQuery, `le="fast"`},
		{"le NaN", grid3, []metrics.Series{bucket("NaN", minutes(1), 1)}, KindBadQuery, `le="NaN"`},
		{"no +Inf", grid3, []metrics.Series{bucket("0.1", minutes(1), 1), bucket("1", minutes(1), 2)}, KindBadQuery, `no le="+Inf" bucket`},
		{"too many bounds", grid3, manyBounds, KindBadQuery, "more than 1000 distinct bucket bounds"},
		{"too many counts", Grid{First: noon, Step: time.Second, N: 11000}, manyCounts, KindBadQuery, "11000 steps × 182 bucket bounds is more than 2000000 counts"},
		{"point between steps", grid3, []metrics.Series{bucket("+Inf", []time.Time{noon.Add(90 * time.Second)}, 1)}, KindBadResponse, "between the steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ClassicHistogram(metrics.Query{Signal: "latency", Kind: metrics.Histogram}, "rendered q", nil, tt.g, tt.in)
			var qe *Error
			if !errors.As(err, &qe) || qe.Kind != tt.kind || qe.Query != "rendered q" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.kind, tt.want)
			}
		})
	}
}

func TestNativeHistogram(t *testing.T) {
	q := metrics.Query{Signal: "latency", Kind: metrics.Histogram}
	step1 := NativeSample{Time: noon.Add(time.Minute), Count: 7, Buckets: []NativeBucket{
		{Boundaries: 1, Lower: -2, Upper: -1, Count: 1},        // a negative observation
		{Boundaries: 3, Lower: -0.001, Upper: 0.001, Count: 1}, // the zero bucket
		{Boundaries: 0, Lower: 0.5, Upper: 1, Count: 2},
		{Boundaries: 0, Lower: 1, Upper: 2, Count: 3},
	}}
	// Step 2 has other buckets, and one NaN observation: in the count, in no bucket.
	step2 := NativeSample{Time: noon.Add(2 * time.Minute), Count: 6, Buckets: []NativeBucket{{Boundaries: 0, Lower: 2, Upper: 4, Count: 5}}}
	out, err := NativeHistogram(q, "q", nil, grid3, []NativeSeries{{Labels: map[string]string{"job": "api"}, Samples: []NativeSample{step2, step1}}})
	if err != nil {
		t.Fatal(err)
	}
	s := out[0]
	if !slices.Equal(s.Bounds, []float64{0, 0.001, 1, 2, 4, inf}) {
		t.Fatalf("bounds %v", s.Bounds)
	}
	want := []float64{
		1, 2, 4, 7, 7, 7,
		0, 0, 0, 0, 5, 6,
		0, 0, 0, 0, 0, 0, // no sample at step 3
	}
	if !sameFloats(s.Values, want) {
		t.Fatalf("values %v, want %v", s.Values, want)
	}
	if s.Labels["job"] != "api" || len(s.Times) != 3 {
		t.Errorf("labels %v times %v", s.Labels, s.Times)
	}

	t.Run("bucket sum above the count", func(t *testing.T) {
		smp := NativeSample{Time: noon.Add(time.Minute), Count: 2.9999999, Buckets: []NativeBucket{{Lower: 1, Upper: 2, Count: 3}}}
		out, err := NativeHistogram(q, "q", nil, grid3, []NativeSeries{{Samples: []NativeSample{smp}}})
		if err != nil || !sameFloats(out[0].Values[:2], []float64{3, 3}) {
			t.Fatalf("got %v, %v; want +Inf = 3, the buckets' sum", out, err)
		}
	})

	t.Run("several series", func(t *testing.T) {
		a := NativeSeries{Labels: map[string]string{"pod": "a"}, Samples: []NativeSample{{Time: noon.Add(time.Minute), Count: 2, Buckets: []NativeBucket{{Lower: 0.5, Upper: 1, Count: 2}}}}}
		b := NativeSeries{Labels: map[string]string{"pod": "b"}, Samples: []NativeSample{{Time: noon.Add(time.Minute), Count: 3, Buckets: []NativeBucket{{Lower: 1, Upper: 2, Count: 3}}}}}
		_, err := NativeHistogram(q, "q", metrics.Scope{"track": "canary"}, grid3, []NativeSeries{a, b})
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindAmbiguous {
			t.Fatalf("err = %v, want KindAmbiguous", err)
		}
		qs := q
		qs.Aggregate = "sum"
		out, err := NativeHistogram(qs, "q", nil, grid3, []NativeSeries{a, b})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out[0].Bounds, []float64{1, 2, inf}) || !sameFloats(out[0].Values[:3], []float64{2, 5, 5}) {
			t.Fatalf("bounds %v values %v", out[0].Bounds, out[0].Values)
		}
	})

	t.Run("refused", func(t *testing.T) {
		var many []NativeBucket
		for i := range metrics.MaxBounds {
			many = append(many, NativeBucket{Lower: float64(i), Upper: float64(i + 1), Count: 1})
		}
		for _, tt := range []struct {
			name string
			in   NativeSeries
			kind Kind
			want string
		}{
			{"NaN edge", NativeSeries{Samples: []NativeSample{{Time: noon, Buckets: []NativeBucket{{Lower: 1, Upper: math.NaN(), Count: 1}}}}}, KindBadResponse, "NaN edge"},
			{"too many bounds", NativeSeries{Samples: []NativeSample{{Time: noon, Buckets: many}}}, KindBadQuery, "more than 1000 distinct bucket bounds"},
			{"point between steps", NativeSeries{Samples: []NativeSample{{Time: noon.Add(61 * time.Second), Buckets: []NativeBucket{{Lower: 1, Upper: 2, Count: 1}}}}}, KindBadResponse, "between the steps"},
		} {
			_, err := NativeHistogram(q, "q", nil, grid3, []NativeSeries{tt.in})
			var qe *Error
			if !errors.As(err, &qe) || qe.Kind != tt.kind || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: err = %v, want %v saying %q", tt.name, err, tt.kind, tt.want)
			}
		}
		out, err := NativeHistogram(q, "q", nil, grid3, nil)
		if err != nil || out != nil {
			t.Errorf("no series: got %v, %v; want no data", out, err)
		}
	})
}

func TestWithShapeHint(t *testing.T) {
	other := errors.New("boom")
	for _, tc := range []struct {
		name    string
		err     error
		applies bool
		want    string
	}{
		{"a bad response, hint applies", &Error{Kind: KindBadResponse, Err: errors.New("two points in one step")}, true, "two points in one step; sum each step"},
		{"a bad response, hint does not apply", &Error{Kind: KindBadResponse, Err: errors.New("two points in one step")}, false, "two points in one step"},
		{"another kind", &Error{Kind: KindBadQuery, Err: errors.New("parse error")}, true, "parse error"},
		{"not a query error", other, true, "boom"},
		{"no error", nil, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WithShapeHint(tc.err, tc.applies, "sum each step")
			if err != tc.err {
				t.Fatalf("returned %v, want the same error value %v", err, tc.err)
			}
			got := ""
			if qe, ok := err.(*Error); ok {
				got = qe.Err.Error()
			} else if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("cause %q, want %q", got, tc.want)
			}
		})
	}
}
