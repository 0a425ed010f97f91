package analysis

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

const liveCountsConfig = `name: shop
signals:
  - name: error_ratio
    test: rate
    direction: increase
    query: 'sum(increase(http_requests_total{code=~"5..",track="{{.track}}"}[{{.step}}]))'
    exposureQuery: 'sum(increase(http_requests_total{track="{{.track}}"}[{{.step}}]))'
  - name: latency
    test: histogram
    quantile: 0.5
    direction: increase
    query: 'sum(increase(http_request_duration_seconds{track="{{.track}}"}[{{.step}}]))'
`

// countSource answers the counts config: requests per step on each side
// (perStep[track]), errors at errorRate (none at all: no series, as an
// error counter that was never created), and a latency histogram.
type countSource struct {
	perStep   map[string]float64
	errorRate map[string]float64
	bounds    map[string][]float64
	sameAs    bool // both tracks answer the baseline's series
	// sparseErrors, when set, is the error count of every step on both
	// sides alike (a few errors an hour, equal by chance).
	sparseErrors map[int]float64
}

func (s countSource) Fetch(_ context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	track := scope["track"]
	if s.sameAs {
		track = "baseline"
	}
	steps := int(w.End.Sub(w.Start) / w.Step)
	times := make([]time.Time, steps)
	for i := range times {
		times[i] = w.Start.Add(time.Duration(i+1) * w.Step)
	}
	n := s.perStep[track]
	series := metrics.Series{Signal: q.Signal, Times: times}
	switch {
	case q.Kind == metrics.Histogram:
		bounds := s.bounds[track]
		series.Bounds = bounds
		for i := range steps {
			for _, b := range bounds {
				share := 1.0
				if !math.IsInf(b, 1) {
					share = math.Min(1, b/0.2)
				}
				series.Values = append(series.Values, math.Round(n*share*(1+0.01*math.Sin(float64(i)))))
			}
		}
	case strings.Contains(q.Expr, "5..") && s.sparseErrors != nil:
		for i := range steps {
			series.Values = append(series.Values, s.sparseErrors[i])
		}
	case strings.Contains(q.Expr, "5.."):
		if s.errorRate[track] == 0 {
			return metrics.Result{}, nil
		}
		for i := range steps {
			series.Values = append(series.Values, math.Round(n*s.errorRate[track]*(1+0.3*math.Sin(float64(i)))))
		}
	default:
		for i := range steps {
			series.Values = append(series.Values, math.Round(n*(1+0.05*math.Sin(float64(i)*0.7))))
		}
	}
	return metrics.Result{Series: []metrics.Series{series}}, nil
}

func TestMeasured(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte(liveCountsConfig))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	window := metrics.Window{Start: start, End: start.Add(time.Hour), Step: time.Minute}
	bounds := []float64{0.05, 0.1, 0.2, math.Inf(1)}
	fine := []float64{0.05, 0.075, 0.1, 0.15, 0.2, math.Inf(1)}
	tests := []struct {
		name    string
		src     countSource
		weight  float64
		verdict scoring.Verdict
		inRsn   string
		errors  judge.Classification
	}{
		{"no error counter on either side is no errors, not no data",
			countSource{perStep: map[string]float64{"baseline": 950, "canary": 50}, bounds: map[string][]float64{"baseline": bounds, "canary": bounds}},
			0.05, scoring.Pass, "", judge.Pass},
		{"errors on a canary with no error series on the baseline fail",
			countSource{perStep: map[string]float64{"baseline": 950, "canary": 50}, errorRate: map[string]float64{"canary": 0.05}, bounds: map[string][]float64{"baseline": bounds, "canary": bounds}},
			0, scoring.Fail, "", judge.High},
		{"a canary without traffic has no verdict",
			countSource{perStep: map[string]float64{"baseline": 950, "canary": 0}, bounds: map[string][]float64{"baseline": bounds, "canary": bounds}},
			0, scoring.None, "the canary received no traffic", judge.NoData},
		{"a canary at half the traffic when 5% was expected has no verdict",
			countSource{perStep: map[string]float64{"baseline": 500, "canary": 520}, bounds: map[string][]float64{"baseline": bounds, "canary": bounds}},
			0.05, scoring.None, "traffic split mismatch", judge.Pass},
		{"a canary at the expected 5% is judged",
			countSource{perStep: map[string]float64{"baseline": 950, "canary": 50}, errorRate: map[string]float64{"baseline": 0.01, "canary": 0.01}, bounds: map[string][]float64{"baseline": bounds, "canary": bounds}},
			0.05, scoring.Pass, "", judge.Pass},
		{"baseline and canary reading the same series have no verdict",
			countSource{perStep: map[string]float64{"baseline": 950}, errorRate: map[string]float64{"baseline": 0.01}, bounds: map[string][]float64{"baseline": bounds}, sameAs: true},
			0, scoring.None, "read the same series", judge.Pass},
		{"two errors an hour at the same minutes on both sides are a coincidence, not one series read twice",
			countSource{perStep: map[string]float64{"baseline": 950, "canary": 900}, sparseErrors: map[int]float64{7: 1, 23: 1}, bounds: map[string][]float64{"baseline": bounds, "canary": bounds}},
			0, scoring.Pass, "", judge.Pass},
		{"native histograms with different buckets hit are merged",
			countSource{perStep: map[string]float64{"baseline": 950, "canary": 50}, bounds: map[string][]float64{"baseline": bounds, "canary": fine}},
			0, "", "", judge.Pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), cfg, SourceSet{"prometheus": tt.src}, LiveRequest{Scopes: scopes, Window: window, CanaryWeight: tt.weight})
			if err != nil {
				t.Fatal(err)
			}
			if (tt.verdict != "" && rep.Verdict != tt.verdict) || !strings.Contains(rep.Reason, tt.inRsn) || rep.Signals[0].Classification != tt.errors {
				t.Errorf("verdict %s (%s), error_ratio %s (%s); want %s with %q, error_ratio %s", rep.Verdict, rep.Reason, rep.Signals[0].Classification, rep.Signals[0].Reason, tt.verdict, tt.inRsn, tt.errors)
			}
			if rep.Signals[1].Classification == judge.Error {
				t.Errorf("latency: %s", rep.Signals[1].Reason)
			}
		})
	}
}
