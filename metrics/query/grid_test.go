package query

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var noon = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func TestCountGrid(t *testing.T) {
	tests := []struct {
		name      string
		w         metrics.Window
		wantFirst time.Time
		wantN     int
		wantErr   string
	}{
		{"aligned window", metrics.Window{Start: noon, End: noon.Add(10 * time.Minute), Step: time.Minute}, noon.Add(time.Minute), 10, ""},
		{"unaligned window keeps whole steps inside", metrics.Window{Start: noon.Add(30 * time.Second), End: noon.Add(10*time.Minute + 15*time.Second), Step: time.Minute},
			noon.Add(2 * time.Minute), 9, ""},
		{"default step", metrics.Window{Start: noon, End: noon.Add(5 * time.Minute)}, noon.Add(time.Minute), 5, ""},
		{"step of 10s", metrics.Window{Start: noon.Add(time.Second), End: noon.Add(time.Minute), Step: 10 * time.Second}, noon.Add(20 * time.Second), 5, ""},
		{"before 1970", metrics.Window{Start: time.Unix(-90, 0), End: time.Unix(0, 0), Step: time.Minute}, time.Unix(0, 0), 1, ""},
		{"shorter than a step", metrics.Window{Start: noon.Add(30 * time.Second), End: noon.Add(75 * time.Second), Step: time.Minute}, time.Time{}, 0, "holds no whole step of 1m"},
		{"sub-millisecond step", metrics.Window{Start: noon, End: noon.Add(time.Minute), Step: 1500 * time.Microsecond}, time.Time{}, 0, "not a whole number of milliseconds"},
		{"too many steps", metrics.Window{Start: noon, End: noon.Add(4 * time.Hour), Step: time.Second}, time.Time{}, 0, "14400 steps, more than 11000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := CountGrid(tt.w)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !g.First.Equal(tt.wantFirst) || g.N != tt.wantN {
				t.Fatalf("grid from %v, %d steps; want from %v, %d steps", g.First, g.N, tt.wantFirst, tt.wantN)
			}
			if g.First.Add(-g.Step).Before(tt.w.Start) || g.Last().After(tt.w.End) {
				t.Errorf("windows (%v, %v] reach outside the window [%v, %v]", g.First.Add(-g.Step), g.Last(), tt.w.Start, tt.w.End)
			}
			if g.First.UnixNano()%int64(g.Step) != 0 {
				t.Errorf("first time %v is not a multiple of the step %v", g.First, g.Step)
			}
			times := g.Times()
			if len(times) != g.N || !times[len(times)-1].Equal(g.Last()) {
				t.Errorf("times %v, last %v", times, g.Last())
			}
		})
	}
}

func TestFillCounts(t *testing.T) {
	g := Grid{First: noon.Add(time.Minute), Step: time.Minute, N: 5}
	at := func(minutes ...int) []time.Time {
		out := make([]time.Time, len(minutes))
		for i, m := range minutes {
			out[i] = noon.Add(time.Duration(m) * time.Minute)
		}
		return out
	}
	q := metrics.Query{Signal: "errors", Kind: metrics.Count}

	t.Run("missing steps are zero, points outside dropped", func(t *testing.T) {
		in := []metrics.Series{{Labels: map[string]string{"a": "b"}, Times: at(0, 2, 4, 6), Values: []float64{9, 3, 7, 9}}}
		out, err := FillCounts(q, "q", g, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || !sameFloats(out[0].Values, []float64{0, 3, 0, 7, 0}) {
			t.Fatalf("got %+v, want values [0 3 0 7 0]", out)
		}
		for i, tm := range out[0].Times {
			if !tm.Equal(noon.Add(time.Duration(i+1) * time.Minute)) {
				t.Fatalf("time %d = %v", i, tm)
			}
		}
		if out[0].Labels["a"] != "b" {
			t.Errorf("labels %v", out[0].Labels)
		}
	})

	t.Run("no series is no data", func(t *testing.T) {
		out, err := FillCounts(q, "q", g, nil)
		if err != nil || len(out) != 0 {
			t.Fatalf("got %v, %v; want no series", out, err)
		}
	})

	t.Run("a point between steps", func(t *testing.T) {
		in := []metrics.Series{{Times: []time.Time{noon.Add(90 * time.Second)}, Values: []float64{1}}}
		_, err := FillCounts(q, "q", g, in)
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindBadResponse || !strings.Contains(err.Error(), "between the steps of 1m") {
			t.Fatalf("err = %v, want KindBadResponse", err)
		}
	})

	t.Run("several series summed after filling", func(t *testing.T) {
		in := []metrics.Series{
			{Labels: map[string]string{"pod": "a"}, Times: at(1, 2), Values: []float64{1, 2}},
			{Labels: map[string]string{"pod": "b"}, Times: at(2, 5), Values: []float64{10, 20}},
		}
		qs := q
		qs.Aggregate = "sum"
		out, err := Shape(qs, "q", nil, g, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || !sameFloats(out[0].Values, []float64{1, 12, 0, 0, 20}) || out[0].Signal != "errors" {
			t.Fatalf("got %+v, want one series [1 12 0 0 20]", out)
		}
		_, err = Shape(q, "q", metrics.Scope{"track": "canary"}, g, in)
		var qe *Error
		if !errors.As(err, &qe) || qe.Kind != KindAmbiguous {
			t.Fatalf("err = %v, want KindAmbiguous without an aggregate", err)
		}
	})

	t.Run("gauges are not filled", func(t *testing.T) {
		in := []metrics.Series{{Times: at(2), Values: []float64{3}}}
		out, err := Shape(metrics.Query{Signal: "lat"}, "q", nil, Grid{}, in)
		if err != nil || len(out) != 1 || len(out[0].Values) != 1 {
			t.Fatalf("got %+v, %v; want the gauge as returned", out, err)
		}
	})
}
