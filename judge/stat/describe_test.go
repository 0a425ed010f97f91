package stat

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDescribeEdgeCases(t *testing.T) {
	if got := Describe(nil); got != (Summary{}) {
		t.Errorf("Describe(nil) = %+v, want zero", got)
	}
	one := Describe([]float64{2.5})
	want := Summary{Count: 1, Mean: 2.5, Median: 2.5, Min: 2.5, Max: 2.5, P90: 2.5, P95: 2.5, P99: 2.5}
	if one != want {
		t.Errorf("Describe([2.5]) = %+v, want %+v", one, want)
	}
	huge := Describe([]float64{1.7e308, 1.7e308, 1.6e308})
	if math.IsInf(huge.Mean, 0) || math.Abs(huge.Mean-1.6666666666666667e308) > 1e294 {
		t.Errorf("mean of huge values = %v", huge.Mean)
	}
	if sd := huge.StdDev; math.IsInf(sd, 0) || math.Abs(sd-5.773502691896258e306) > 1e293 {
		t.Errorf("stddev of huge values = %v", sd)
	}
}

func TestPercentileEdgeCases(t *testing.T) {
	s := []float64{1, 2, 3, 4}
	tests := []struct {
		name      string
		sorted    []float64
		p, want   float64
		wantIsNaN bool
	}{
		{"empty", nil, 0.5, 0, true},
		{"NaN p", s, math.NaN(), 0, true},
		{"below 0 clamps", s, -1, 1, false},
		{"above 1 clamps", s, 2, 4, false},
		{"type 7 interpolation", s, 0.5, 2.5, false},
		{"type 7 p=0.1", s, 0.1, 1.3, false},
		{"infinite ends kept", []float64{math.Inf(-1), 0, math.Inf(1)}, 1, math.Inf(1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Percentile(tc.sorted, tc.p)
			if tc.wantIsNaN {
				if !math.IsNaN(got) {
					t.Errorf("got %v, want NaN", got)
				}
				return
			}
			if math.Abs(got-tc.want) > 1e-15 && got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRemoveOutliersKeepsOrderAndFences(t *testing.T) {
	in := []float64{5, 100, 4, 6, -90, 5, 4}
	got := RemoveOutliers(in, 1.5)
	if want := []float64{5, 4, 6, 5, 4}; !slices.Equal(got, want) {
		t.Errorf("RemoveOutliers = %v, want %v", got, want)
	}
	if !slices.Equal(in, []float64{5, 100, 4, 6, -90, 5, 4}) {
		t.Errorf("input modified: %v", in)
	}
	if got := RemoveOutliers(nil, 3); got == nil || len(got) != 0 {
		t.Errorf("RemoveOutliers(nil) = %#v, want empty non-nil", got)
	}
	// Values exactly on a fence are kept: Q1 = 0.5, Q3 = 3.5, IQR = 3, so
	// factor 0.5 puts the fences on -1 and 5.
	onFences := []float64{5, -1, 0, 1, 2, 3, 4}
	if lo, hi := IQRFences([]float64{-1, 0, 1, 2, 3, 4, 5}, 0.5); lo != -1 || hi != 5 {
		t.Fatalf("IQRFences = %v, %v; want -1, 5", lo, hi)
	}
	if got := RemoveOutliers(onFences, 0.5); !slices.Equal(got, onFences) {
		t.Errorf("values on the fences dropped: %v", got)
	}
}

// TestStdDevScaling checks that scaling the deviations by a multiplication
// gives the same bits as math.Ldexp, the definition of the exact scaling,
// over magnitudes from subnormal to huge.
func TestStdDevScaling(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, mag := range []float64{5e-320, 1e-300, 1e-10, 1, 1e10, 1e300} {
		v := make([]float64, 50)
		for i := range v {
			v[i] = mag * (1 + r.NormFloat64())
		}
		mean := Mean(v)
		var maxAbs float64
		for _, x := range v {
			maxAbs = math.Max(maxAbs, math.Abs(x-mean))
		}
		_, e := math.Frexp(maxAbs)
		var ss float64
		for _, x := range v {
			d := math.Ldexp(x-mean, -e)
			ss += d * d
		}
		want := math.Ldexp(math.Sqrt(ss/float64(len(v)-1)), e)
		if got := stdDev(v, mean); got != want {
			t.Errorf("magnitude %g: stdDev = %v, want %v", mag, got, want)
		}
	}
}
