package numeric

import (
	"errors"
	"math"
	"testing"
)

func TestZeroin(t *testing.T) {
	errBoom := errors.New("boom")
	cube := func(x float64) (float64, error) { return x*x*x - 2, nil }
	for _, c := range []struct {
		name     string
		ax, bx   float64
		f        func(float64) (float64, error)
		opt      ZeroinOptions
		want     float64 // root, within opt.Tol
		wantErr  error
		exactEnd bool // the root must be exactly want
	}{
		{name: "cube root of 2", ax: 0, bx: 3, f: cube, opt: ZeroinOptions{Tol: 1e-10, MaxIter: 100}, want: math.Cbrt(2)},
		{name: "R's tolerance", ax: -5, bx: 5, f: cube, opt: ZeroinOptions{Tol: 1e-4, MaxIter: 1000}, want: math.Cbrt(2)},
		{
			// A value one subnormal off zero at the lower end: a root for
			// Kayenta's solver, not for R's.
			name: "ulp of zero is a root with ZeroULP", ax: 1, bx: 3,
			f:   subnormalAtOne(func(float64) float64 { return -1 }),
			opt: ZeroinOptions{Tol: 1e-4, MaxIter: 1000, ZeroULP: true}, want: 1, exactEnd: true,
		},
		{
			name: "error from f ends the search", ax: 0, bx: 3,
			f:   func(x float64) (float64, error) { return math.NaN(), errBoom },
			opt: ZeroinOptions{Tol: 1e-4, MaxIter: 1000}, wantErr: errBoom,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			fa, _ := c.f(c.ax)
			fb, _ := c.f(c.bx)
			if c.wantErr != nil {
				fa, fb = -1, 1
			}
			got, err := Zeroin(c.ax, c.bx, fa, fb, c.f, c.opt)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if c.wantErr != nil {
				return
			}
			if c.exactEnd && got != c.want || math.Abs(got-c.want) > c.opt.Tol {
				t.Errorf("root %v, want %v (tolerance %g)", got, c.want, c.opt.Tol)
			}
		})
	}
	// Without ZeroULP the subnormal is no root: the search goes on into
	// the interval.
	f := subnormalAtOne(func(x float64) float64 { return 2 - x })
	got, err := Zeroin(1, 3, 5e-324, -1, f, ZeroinOptions{Tol: 1e-9, MaxIter: 1000})
	if err != nil || math.Abs(got-2) > 1e-9 {
		t.Errorf("R's zeroin gave %v (error %v), want the root 2 past the subnormal at 1", got, err)
	}
}

// subnormalAtOne is g, except that it is the smallest subnormal at 1.
func subnormalAtOne(g func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if x == 1 {
			return 5e-324, nil
		}
		return g(x), nil
	}
}
