package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

func ts(secs ...int64) []time.Time {
	out := make([]time.Time, len(secs))
	for i, s := range secs {
		out[i] = time.Unix(s, 0)
	}
	return out
}

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) != math.IsNaN(b[i]) || (!math.IsNaN(a[i]) && a[i] != b[i]) {
			return false
		}
	}
	return true
}

func TestCombineAmbiguous(t *testing.T) {
	series := []metrics.Series{
		{Labels: map[string]string{"track": "canary", "pod": "b", "job": "api"}, Times: ts(0), Values: []float64{1}},
		{Labels: map[string]string{"track": "canary", "pod": "a", "job": "api"}, Times: ts(0), Values: []float64{2}},
		{Labels: map[string]string{"track": "canary", "pod": "c", "job": "api"}, Times: ts(0), Values: []float64{3}},
	}
	_, err := Combine(metrics.Query{Signal: "p99_latency_ms"}, "q", metrics.Scope{"track": "canary"}, series)
	var qe *Error
	if !errors.As(err, &qe) || qe.Kind != KindAmbiguous {
		t.Fatalf("err = %v, want a KindAmbiguous *Error", err)
	}
	want := `query for p99_latency_ms returned 3 series for scope track=canary that differ in label "pod" (a, b, c); aggregate them in the query or set aggregate: sum|mean|max|min`
	if qe.Err.Error() != want {
		t.Fatalf("got  %s\nwant %s", qe.Err, want)
	}
}

func TestCombineAmbiguousSeveralLabelsAndAbsent(t *testing.T) {
	series := []metrics.Series{
		{Labels: map[string]string{"pod": "a", "zone": "z1"}},
		{Labels: map[string]string{"pod": "b"}},
	}
	_, err := Combine(metrics.Query{Signal: "s"}, "q", metrics.Scope{"track": "canary", "ns": "shop"}, series)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`scope ns=shop,track=canary`, `labels "pod" (a, b), "zone" (<absent>, z1)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
}

func TestCombineAmbiguousManyValuesIsShortened(t *testing.T) {
	var series []metrics.Series
	for i := range 8 {
		series = append(series, metrics.Series{Labels: map[string]string{"pod": fmt.Sprint(i)}})
	}
	_, err := Combine(metrics.Query{Signal: "s"}, "q", nil, series)
	if err == nil || !strings.Contains(err.Error(), `"pod" (0, 1, 2, 3, 4, … 3 more)`) {
		t.Fatalf("err = %v", err)
	}
}

func TestCombineAggregates(t *testing.T) {
	nan := math.NaN()
	series := []metrics.Series{
		{Labels: map[string]string{"track": "canary", "pod": "a"}, Times: ts(10, 20, 30), Values: []float64{1, 2, nan}},
		{Labels: map[string]string{"track": "canary", "pod": "b"}, Times: ts(20, 30, 40), Values: []float64{4, nan, 8}},
		{Labels: map[string]string{"track": "canary", "pod": "c"}, Times: ts(10, 20), Values: []float64{3, -5}},
	}
	tests := []struct {
		op   string
		want []float64
	}{
		// t=10: {1,3}; t=20: {2,4,-5}; t=30: {} ; t=40: {8}
		{"sum", []float64{4, 1, nan, 8}},
		{"mean", []float64{2, 1.0 / 3, nan, 8}},
		{"max", []float64{3, 4, nan, 8}},
		{"min", []float64{1, -5, nan, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			in := make([]metrics.Series, len(series))
			copy(in, series)
			got, err := Combine(metrics.Query{Signal: "lat", Aggregate: tt.op}, "q", nil, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d series", len(got))
			}
			s := got[0]
			if !sameFloats(s.Values, tt.want) {
				t.Errorf("values %v, want %v", s.Values, tt.want)
			}
			if len(s.Times) != 4 || !s.Times[0].Equal(time.Unix(10, 0)) || !s.Times[3].Equal(time.Unix(40, 0)) {
				t.Errorf("times %v", s.Times)
			}
			if s.Signal != "lat" || len(s.Labels) != 1 || s.Labels["track"] != "canary" {
				t.Errorf("signal %q labels %v, want lat and the shared label track=canary", s.Signal, s.Labels)
			}
		})
	}
}

func TestCombineWithoutTimes(t *testing.T) {
	got, err := Combine(metrics.Query{Signal: "s", Aggregate: "sum"}, "q", nil, []metrics.Series{
		{Values: []float64{1, 2, 3}}, {Values: []float64{10, 20}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sameFloats(got[0].Values, []float64{11, 22, 3}) || got[0].Times != nil {
		t.Fatalf("got %+v", got[0])
	}
	_, err = Combine(metrics.Query{Signal: "s", Aggregate: "sum"}, "q", nil, []metrics.Series{
		{Values: []float64{1}}, {Times: ts(1), Values: []float64{1}},
	})
	if err == nil {
		t.Fatal("mixing timed and untimed series was accepted")
	}
}

func TestCombinePassThroughAndBadAggregate(t *testing.T) {
	one := []metrics.Series{{Values: []float64{1}}}
	got, err := Combine(metrics.Query{Signal: "s"}, "q", nil, one)
	if err != nil || len(got) != 1 || got[0].Signal != "s" {
		t.Fatalf("one series: %v %v", got, err)
	}
	got, err = Combine(metrics.Query{Signal: "s"}, "q", nil, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("no series: %v %v", got, err)
	}
	_, err = Combine(metrics.Query{Signal: "s", Aggregate: "avg"}, "q", nil, []metrics.Series{{}, {}})
	var qe *Error
	if !errors.As(err, &qe) || qe.Kind != KindBadQuery {
		t.Fatalf("err = %v, want KindBadQuery", err)
	}
}

func TestBackoffRetriesOnlyRetryableKinds(t *testing.T) {
	b := Backoff{Retries: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	tests := []struct {
		kind      Kind
		wantCalls int
	}{
		{KindTimeout, 4}, {KindUnavailable, 4}, {KindRateLimited, 4},
		{KindBadQuery, 1}, {KindRejected, 1}, {KindBadResponse, 1}, {KindAmbiguous, 1},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			calls := 0
			err := b.Do(context.Background(), func(context.Context) error {
				calls++
				return &Error{Signal: "s", Query: "q", Kind: tt.kind, Err: errors.New("boom")}
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			var qe *Error
			if !errors.As(err, &qe) || qe.Kind != tt.kind {
				t.Fatalf("err = %v", err)
			}
			if tt.wantCalls > 1 && !strings.Contains(err.Error(), "after 4 attempts") {
				t.Errorf("%q does not say how many attempts were made", err)
			}
		})
	}
}

func TestBackoffSucceedsAfterFailures(t *testing.T) {
	calls := 0
	err := Backoff{Retries: 2, Initial: time.Millisecond}.Do(context.Background(), func(context.Context) error {
		calls++
		if calls < 3 {
			return &Error{Kind: KindUnavailable, Err: errors.New("HTTP 503")}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err = %v, calls = %d", err, calls)
	}
}

func TestBackoffStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Backoff{Retries: 100, Initial: time.Hour}.Do(ctx, func(context.Context) error {
		calls++
		cancel()
		return &Error{Kind: KindUnavailable, Err: errors.New("HTTP 503")}
	})
	if calls != 1 || err == nil {
		t.Fatalf("calls = %d, err = %v", calls, err)
	}
}
