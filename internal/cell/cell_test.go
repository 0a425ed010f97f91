package cell

import (
	"math"
	"testing"
)

func TestFigures(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name, got, want string
	}{
		{"relative", Relative(f(0.042)), "+4.2%"},
		{"relative negative", Relative(f(-0.31)), "-31.0%"},
		{"relative thousands", Relative(f(31.246)), "+3,125%"},
		{"relative infinite", Relative(f(math.Inf(1))), "+∞%"},
		{"relative undefined", Relative(nil), "n/a"},
		{"count", Count(2031480), "2,031,480"},
		{"count small", Count(41), "41"},
		{"count fraction", Count(41.25), "41.25"},
		{"count negative", Count(-1234), "-1,234"},
		{"share", Share(41.0 / 2154), "1.9%"},
		{"share keeps its zero", Share(20304.0 / 2031480), "1.0%"},
		{"share tiny", Share(0.00052), "0.052%"},
		{"share half", Share(0.5), "50%"},
		{"share near all", Share(0.96), "96.0%"},
		{"share nearer all", Share(0.9995), "99.950%"},
		{"share none", Share(0), "0%"},
		{"of", Of(41, 2154, "requests"), "41 of 2,154 requests (1.9%)"},
		{"of unnamed", Of(20304, 2031480, ""), "20,304 of 2,031,480 (1.0%)"},
		{"of nothing", Of(0, 0, "requests"), "0 of 0 requests"},
		{"times", Times(1.9), "1.90×"},
		{"times large", Times(15332.4), "15,332×"},
		{"times below one", Times(0.9697), "0.970×"},
		{"times tiny", Times(0.0123), "0.0123×"},
		{"times unbounded", Times(math.Inf(1)), "∞"},
		{"times interval", TimesInterval(f(1.4), f(2.5)), "1.40× .. 2.50×"},
		{"times interval unbounded", TimesInterval(f(15.77), nil), "15.8× .. ∞"},
		{"points", Points(-0.019), "-1.9 pp"},
		{"points small", Points(0.0025), "+0.25 pp"},
		{"points whole", Points(-0.03), "-3.0 pp"},
		{"points rounding up", Points(0.00999), "+1.0 pp"},
		{"allowance rise", Allowance(0.1, false, "+"), "+10%"},
		{"allowance fall in points", Allowance(0.005, true, "-"), "-0.5 pp"},
		{"allowance both sides", Allowance(0.1, false, "±"), "±10%"},
		{"allowance side unknown", Allowance(0.1, false, ""), "10%"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
