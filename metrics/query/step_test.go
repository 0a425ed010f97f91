package query

import (
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

func TestStep(t *testing.T) {
	start := time.Unix(1704067200, 0)
	h := time.Hour
	for _, tt := range []struct {
		w    metrics.Window
		want time.Duration
	}{
		{metrics.Window{Start: start, End: start.Add(h), Step: 15 * time.Second}, 15 * time.Second},
		{metrics.Window{Start: start, End: start.Add(h)}, time.Minute},
		{metrics.Window{Start: start, End: start.Add(365 * 24 * h)}, 2867 * time.Second},
	} {
		got := Step(tt.w)
		if got != tt.want {
			t.Errorf("Step(%v) = %v, want %v", tt.w.End.Sub(tt.w.Start), got, tt.want)
		}
		if pts := tt.w.End.Sub(tt.w.Start) / got; pts > MaxPoints {
			t.Errorf("%v at %v is %d points", tt.w.End.Sub(tt.w.Start), got, pts)
		}
	}
}
