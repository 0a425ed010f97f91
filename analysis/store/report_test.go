package store

import (
	"math"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
)

func TestSeriesRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	in := []analysis.SignalSeries{
		{Name: `p99 "latency" ms`,
			Baseline: metrics.Series{Values: []float64{1.5, math.NaN(), -2e-300}, Times: []time.Time{t0, t0.Add(10 * time.Second), t0.Add(20 * time.Second)}},
			Canary:   metrics.Series{Values: []float64{3, 4}}},
		{Name: "empty"},
	}
	out := DecodeSeries(EncodeSeries(in))
	if len(out) != 2 || out[0].Name != in[0].Name || out[1].Name != "empty" {
		t.Fatalf("names: %+v", out)
	}
	b := out[0].Baseline
	if len(b.Values) != 3 || b.Values[0] != 1.5 || !math.IsNaN(b.Values[1]) || b.Values[2] != -2e-300 {
		t.Errorf("baseline values %v", b.Values)
	}
	if len(b.Times) != 3 || !b.Times[1].Equal(t0.Add(10*time.Second)) {
		t.Errorf("baseline times %v", b.Times)
	}
	if c := out[0].Canary; len(c.Values) != 2 || c.Times != nil || c.Signal != in[0].Name {
		t.Errorf("canary %+v: want two values, no times", c)
	}
	if DecodeSeries([]byte("not json")) != nil {
		t.Error("unreadable data decoded")
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("ids %q %q: want two different version-4 UUIDs", a, b)
	}
}
