package numeric

import (
	"math"
	"testing"
)

func TestOrderedBits(t *testing.T) {
	vals := []float64{math.Inf(-1), -math.MaxFloat64, -1, -5e-324, 0, 5e-324, 1, math.MaxFloat64, math.Inf(1)}
	for i, v := range vals {
		if got := FromOrderedBits(OrderedBits(v)); got != v || math.Signbit(got) != math.Signbit(v) {
			t.Errorf("round trip of %v gave %v", v, got)
		}
		if i > 0 && OrderedBits(vals[i-1]) >= OrderedBits(v) {
			t.Errorf("order of %v and %v not kept", vals[i-1], v)
		}
	}
	if OrderedBits(math.Copysign(0, -1)) != OrderedBits(0) {
		t.Error("-0 and +0 must share a code")
	}
	if OrderedBits(0)-OrderedBits(-5e-324) != 1 || OrderedBits(5e-324)-OrderedBits(0) != 1 {
		t.Error("codes around zero are not consecutive")
	}
}
