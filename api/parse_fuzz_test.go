package api

import (
	"testing"
)

// FuzzParseJudgeRequest feeds the judge API's hand-written parser arbitrary
// bodies: it never panics, stays within its limits, and every histogram it
// accepts holds a whole number of windows of its buckets.
func FuzzParseJudgeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"configName": "x", "baseline": {"a": [1, 2, null]}, "canary": {"a": [3]}}`,
		`{"configName": "x", "baseline": {"l": {"le": [0.1, 0.5, "+Inf"], "counts": [[1, 2, 3], [0, 1, 1]]}}, "canary": {"l": {"counts": [[1, 1, 1]], "le": [0.1, 0.5, "Inf"]}}}`,
		`{"config": {"name": "c", "signals": [{"name": "a"}]}, "baseline": {}, "canary": {}}`,
		`{"baseline": {"l": {"le": [], "counts": [[]]}}}`,
		`{"baseline": {"l": {"le": [1, "+Inf"], "counts": [[1], [1, 2]]}}}`,
	} {
		f.Add([]byte(seed))
	}
	limits := Limits{MaxPoints: 1000, MaxSignals: 20}.withDefaults()
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _, err := parseJudgeRequest(body, limits, nil)
		if err != nil {
			return
		}
		for _, side := range []seriesMap{req.Baseline, req.Canary} {
			if len(side.series) > limits.MaxSignals {
				t.Fatalf("%d signals, over the limit %d", len(side.series), limits.MaxSignals)
			}
			for _, s := range side.series {
				if len(s.Bounds) == 0 {
					if len(s.Values) > limits.MaxPoints {
						t.Fatalf("%s: %d points, over the limit %d", s.Signal, len(s.Values), limits.MaxPoints)
					}
					continue
				}
				if len(s.Values)%len(s.Bounds) != 0 {
					t.Fatalf("%s: %d counts for %d bounds", s.Signal, len(s.Values), len(s.Bounds))
				}
			}
		}
	})
}
