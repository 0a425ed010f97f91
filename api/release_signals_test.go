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
		{`{"baseline": {"l": {"le": [0.1, 0.2, "+Inf"], "counts": [[1, 2, 3], [1, 2, 3], [1, 2]]}}}`, "baseline.l.counts[2]: 2 counts where window 0 has 3"},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "counts": [[1, 2], [1, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40]]}}}`, "baseline.l.counts[2]: 40 counts where window 0 has 2"},
		{`{"baseline": {"l": {"le": [0.1, 0.5, "+Inf"], "counts": [[1, 2]]}}}`, "baseline.l.counts: 2 counts per window for 3 bounds"},
		{`{"baseline": {"l": {"le": [0.1, "inf"], "counts": [[1, 2]]}}}`, `baseline.l.le[1]: want a number or "+Inf"`},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "le": [0.1, "+Inf"], "counts": []}}}`, "baseline.l.le: given twice"},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "count": [[1, 2]]}}}`, "baseline.l.count: unknown field"},
		// A bad count names its window and its place in it.
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "counts": [[1, 2], [1, 2], [1, x]]}}}`, "baseline.l.counts[2][1]: want a number or null"},
		{`{"baseline": {"l": {"le": [0.1, "+Inf"], "counts": [[1, 2], [1 2]]}}}`, "baseline.l.counts[1][0]: want ',' or ']'"},
		{`{"baseline": {"a": [1, 2, 1.]}}`, "baseline.a[2]: want a number or null"},
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

// TestJudgeReleaseSignals: the judge API judges counts with their
// exposure, success ratios and histograms as the files do, and refuses
// what cannot be judged with a 400 naming the signal, never a verdict.
func TestJudgeReleaseSignals(t *testing.T) {
	ts := newTestServer(t, Options{})
	cfg := map[string]any{"name": "release", "signals": []map[string]any{
		{"name": "error_ratio", "test": "rate", "series": "http_5xx", "exposure": "http_requests", "direction": "increase"},
		{"name": "latency", "test": "histogram", "quantile": 0.5, "direction": "increase"},
	}}
	windows := func(n int, v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	hist := func(n int, counts ...float64) map[string]any {
		rows := make([][]float64, n)
		for i := range rows {
			rows[i] = counts
		}
		return map[string]any{"le": []any{0.1, 0.25, 0.5, "+Inf"}, "counts": rows}
	}
	side := func(errors, requests float64, latency map[string]any) map[string]any {
		return map[string]any{"http_5xx": windows(30, errors), "http_requests": windows(30, requests), "latency": latency}
	}
	for _, tc := range []struct {
		name             string
		baseline, canary map[string]any
		status           int
		want             string // the verdict, or words of the error
	}{
		{"a healthy 5% canary passes", side(95, 9500, hist(30, 4000, 8000, 9300, 9500)), side(5, 500, hist(30, 210, 420, 490, 500)), 200, "pass"},
		{"a 5% canary with doubled errors fails", side(95, 9500, hist(30, 4000, 8000, 9300, 9500)), side(10, 500, hist(30, 210, 420, 490, 500)), 200, "fail"},
		{"a per-second rate is refused", side(0.2, 158, hist(30, 4000, 8000, 9300, 9500)), side(0.3, 8, hist(30, 210, 420, 490, 500)), 400, "error_ratio: baseline window 1 of events is 0.2"},
		{"more errors than requests are refused", side(95, 9500, hist(30, 4000, 8000, 9300, 9500)), side(50, 40, hist(30, 210, 420, 490, 500)), 400, "only 40 http_requests"},
		{"buckets that are not cumulative are refused", side(95, 9500, hist(30, 4000, 3000, 9300, 9500)), side(5, 500, hist(30, 210, 420, 490, 500)), 400, "not cumulative"},
		{"a missing exposure series is refused", map[string]any{"http_5xx": windows(30, 95), "latency": hist(30, 4000, 8000, 9300, 9500)}, side(5, 500, hist(30, 210, 420, 490, 500)), 400, "http_requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep struct {
				Verdict string `json:"verdict"`
				Reason  string `json:"reason"`
				Error   string `json:"error"`
			}
			code, body := ts.call(t, "POST", "/api/v1/judge", "", map[string]any{"config": cfg, "baseline": tc.baseline, "canary": tc.canary}, &rep)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			if tc.status == 200 && rep.Verdict != tc.want || tc.status != 200 && !strings.Contains(rep.Error, tc.want) {
				t.Errorf("got %s", body)
			}
		})
	}
}
