package metrics

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestAlignBounds(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name         string
		a, b         *Series
		wantBounds   []float64
		wantA, wantB []float64
		wantErr      string
	}{
		{
			name:       "union, missing bounds take the next lower count",
			a:          &Series{Signal: "lat", Bounds: []float64{0.1, 1, inf}, Values: []float64{1, 3, 4, 2, 2, 5}},
			b:          &Series{Signal: "lat", Bounds: []float64{0.05, 0.5, inf}, Values: []float64{1, 2, 3}},
			wantBounds: []float64{0.05, 0.1, 0.5, 1, inf},
			wantA:      []float64{0, 1, 1, 3, 4, 0, 2, 2, 2, 5},
			wantB:      []float64{1, 1, 2, 2, 3},
		},
		{
			name:       "same bounds: untouched",
			a:          &Series{Bounds: []float64{1, inf}, Values: []float64{1, 2}},
			b:          &Series{Bounds: []float64{1, inf}, Values: []float64{3, 4}},
			wantBounds: []float64{1, inf}, wantA: []float64{1, 2}, wantB: []float64{3, 4},
		},
		{
			name:       "a side without data is left alone",
			a:          &Series{Bounds: []float64{1, inf}, Values: []float64{1, 2}},
			b:          &Series{},
			wantBounds: []float64{1, inf}, wantA: []float64{1, 2}, wantB: nil,
		},
		{name: "not a histogram", a: &Series{Signal: "lat", Values: []float64{1}}, b: &Series{Bounds: []float64{inf}, Values: []float64{1}}, wantErr: "series lat is not a histogram"},
		{name: "ragged", a: &Series{Signal: "lat", Bounds: []float64{1, inf}, Values: []float64{1, 2, 3}}, b: nil, wantErr: "3 counts, not a whole number"},
		{name: "no +Inf", a: &Series{Signal: "lat", Bounds: []float64{1, 2}, Values: []float64{1, 2}}, b: nil, wantErr: "no +Inf bucket"},
		{name: "descending", a: &Series{Signal: "lat", Bounds: []float64{2, 1, inf}, Values: []float64{1, 2, 3}}, b: nil, wantErr: "not strictly ascending"},
		{name: "too many bounds", a: histogramWith(0, 600), b: histogramWith(1000, 600), wantErr: "1199 distinct bucket bounds together, more than 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AlignBounds(tt.a, tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tt.a.Bounds, tt.wantBounds) || !slices.Equal(tt.a.Values, tt.wantA) {
				t.Errorf("a = %v %v, want %v %v", tt.a.Bounds, tt.a.Values, tt.wantBounds, tt.wantA)
			}
			if !slices.Equal(tt.b.Values, tt.wantB) {
				t.Errorf("b values %v, want %v", tt.b.Values, tt.wantB)
			}
			if len(tt.b.Values) > 0 && !slices.Equal(tt.b.Bounds, tt.wantBounds) {
				t.Errorf("b bounds %v, want %v", tt.b.Bounds, tt.wantBounds)
			}
		})
	}
}

// histogramWith is one observation of a histogram with n−1 finite bounds
// from first on.
func histogramWith(first, n int) *Series {
	s := &Series{Signal: "lat"}
	for i := range n - 1 {
		s.Bounds = append(s.Bounds, float64(first+i))
		s.Values = append(s.Values, float64(i))
	}
	s.Bounds = append(s.Bounds, math.Inf(1))
	s.Values = append(s.Values, float64(n))
	return s
}

func TestAlignBoundsBoundsCounts(t *testing.T) {
	a := &Series{Signal: "lat", Bounds: []float64{1, math.Inf(1)}, Values: make([]float64, 2*(MaxHistogramValues/3+1))}
	b := &Series{Signal: "lat", Bounds: []float64{2, math.Inf(1)}, Values: []float64{1, 1}}
	if err := AlignBounds(a, b); err == nil || !strings.Contains(err.Error(), "use a longer step") {
		t.Fatalf("err = %v, want too many counts", err)
	}
}
