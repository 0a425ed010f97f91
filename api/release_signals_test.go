package api

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseHistogramSeries: a side's series may be a histogram object,
// {"le": [...], "counts": [[...], ...]}, read into one series with Bounds
// and the windows' counts one after another; every malformed form is a
// 400 naming the field.
func TestParseHistogramSeries(t *testing.T) {
	body := `{"configName": "x",
	  "baseline": {"latency": {"le": [0.1, 0.5, "+Inf"], "counts": [[5, 9, 10], [6, 8, 12]]}, "requests": [1, 2]},
	  "canary": {"latency": {"counts": [[1, 2, 2]], "le": [0.1, 0.5, "Inf"]}}}`
	req, _, err := parseJudgeRequest([]byte(body), Limits{}.withDefaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := req.Baseline.series[0]
	if !slices.Equal(b.Bounds, []float64{0.1, 0.5, math.Inf(1)}) || !slices.Equal(b.Values, []float64{5, 9, 10, 6, 8, 12}) || b.Observations() != 2 {
		t.Errorf("baseline latency: bounds %v values %v", b.Bounds, b.Values)
	}
	if r := req.Baseline.series[1]; r.Bounds != nil || !slices.Equal(r.Values, []float64{1, 2}) {
		t.Errorf("a plain series after a histogram: %+v", r)
	}
	if c := req.Canary.series[0]; !slices.Equal(c.Values, []float64{1, 2, 2}) || len(c.Bounds) != 3 {
		t.Errorf("canary latency: %+v", c)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"baseline": {"l": {"le": [0.1, "+Inf"]}}}`, "baseline.l.counts: missing"},
		{`{"baseline": {"l": {"counts": [[1, 2]]}}}`, "baseline.l.le: missing"},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "counts": [[1, 2], [1, 2, 3]]}}}`, "baseline.l.counts[1]: 3 counts where window 0 has 2"},
		{`{"baseline": {"l": {"le": [0.1, 0.5, "+Inf"], "counts": [[1, 2]]}}}`, "baseline.l.counts: 2 counts per window for 3 bounds"},
		{`{"baseline": {"l": {"le": [0.1, "inf"], "counts": [[1, 2]]}}}`, `baseline.l.le[1]: want a number or "+Inf"`},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "le": [0.1, "+Inf"], "counts": []}}}`, "baseline.l.le: given twice"},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "count": [[1, 2]]}}}`, "baseline.l.count: unknown field"},
	} {
		if _, _, err := parseJudgeRequest([]byte(tt.body), Limits{}.withDefaults(), nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.body, err, tt.want)
		}
	}
}

// TestCanaryWeightParams: the expected canary share reaches the plan from
// the Argo and Flagger parameters ("5", "5%") and the analyses body ("5%"),
// and anything else is a 400 naming the field.
func TestCanaryWeightParams(t *testing.T) {
	for v, want := range map[string]float64{"": 0, "5": 0.05, "5%": 0.05, " 50 ": 0.5, "0.5": 0.005} {
		if got, err := parseWeightParam("canaryWeight", v); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("%q: %g, %v; want %g", v, got, err, want)
		}
	}
	for _, v := range []string{"0", "100", "-5", "five", "120%"} {
		if _, err := parseWeightParam("canaryWeight", v); err == nil || !strings.HasPrefix(err.Error(), "canaryWeight: ") {
			t.Errorf("%q: %v; want an error naming canaryWeight", v, err)
		}
	}
	var req analysisRequest
	if err := json.Unmarshal([]byte(`{"baselineScope": {"track": "b"}, "canaryScope": {"track": "c"}, "lookback": "5m", "canaryWeight": "5%"}`), &req); err != nil {
		t.Fatal(err)
	}
	if p, err := req.plan(time.Now()); err != nil || p.CanaryWeight != 0.05 {
		t.Errorf("plan: weight %g, %v; want 0.05", p.CanaryWeight, err)
	}
	if err := json.Unmarshal([]byte(`{"baselineScope": {"track": "b"}, "canaryScope": {"track": "c"}, "lookback": "5m", "canaryWeight": "1pp"}`), &req); err != nil {
		t.Fatal(err)
	}
	if _, err := req.plan(time.Now()); err == nil || !strings.HasPrefix(err.Error(), "canaryWeight: ") {
		t.Errorf("a weight in points: %v; want an error naming canaryWeight", err)
	}
}
