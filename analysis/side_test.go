package analysis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/file"
)

// TestSamplesOf reads one side of a judgement, as verdict plan reads the
// stable version: each signal's events with their exposure, a histogram's
// buckets, and the step its timestamps are spaced by.
func TestSamplesOf(t *testing.T) {
	cfg, err := ParseConfig("plan.yaml", []byte(`name: shop
signals:
  - name: error_ratio
    test: rate
    series: http_5xx
    exposure: http_requests
    direction: increase
  - name: p99
    test: histogram
    series: latency
    direction: increase
  - name: cpu
    direction: increase
`))
	if err != nil {
		t.Fatal(err)
	}
	csv := `timestamp,signal,le,value
2025-06-04T15:00:00Z,http_requests,,100
2025-06-04T15:00:00Z,http_5xx,,2
2025-06-04T15:00:00Z,latency,0.1,90
2025-06-04T15:00:00Z,latency,+Inf,100
2025-06-04T15:00:00Z,cpu,,40
2025-06-04T15:00:30Z,cpu,,41
2025-06-04T15:01:00Z,http_requests,,120
2025-06-04T15:01:00Z,http_5xx,,1
2025-06-04T15:01:00Z,latency,0.1,100
2025-06-04T15:01:00Z,latency,+Inf,120
2025-06-04T15:01:00Z,cpu,,42
`
	series, err := file.Parse("baseline.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	data, err := cfg.SamplesOf(SeriesSet{Origin: "baseline.csv", Series: series})
	if err != nil {
		t.Fatal(err)
	}
	if got := data[0].Sample; len(got.Values) != 2 || got.Exposure[1] != 120 || got.Values[1] != 1 || data[0].Step != time.Minute {
		t.Errorf("error_ratio: %+v every %s; want 2 and 1 of 100 and 120, every minute", got, data[0].Step)
	}
	if h := data[1].Sample.Histogram; h == nil || h.Windows() != 2 || h.Counts[3] != 120 {
		t.Errorf("p99: histogram %+v; want 2 windows", h)
	}
	if got := data[2]; len(got.Sample.Values) != 3 || got.Step != 30*time.Second {
		t.Errorf("cpu: %v every %s; want 3 points every 30s", got.Sample.Values, got.Step)
	}

	for _, tt := range []struct {
		name, csv, want string
	}{
		{"unknown series", csv + "2025-06-04T15:01:00Z,memory,,1\n", `signal "memory" is not in the config`},
		{"missing signal", withoutLines(csv, ",cpu,"), `has no series for signal "cpu"`},
		{"missing exposure", strings.ReplaceAll(csv, "http_requests", "http_5xx"), `has no series "http_requests", the exposure of signal "error_ratio"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			series, err := file.Parse("baseline.csv", strings.NewReader(tt.csv))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.SamplesOf(SeriesSet{Origin: "baseline.csv", Series: series})
			var de *DataError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "baseline.csv") {
				t.Errorf("SamplesOf: %v; want a data error from baseline.csv with %q", err, tt.want)
			}
		})
	}
}

// withoutLines drops the lines of text that hold cut.
func withoutLines(text, cut string) string {
	var keep []string
	for _, line := range strings.SplitAfter(text, "\n") {
		if !strings.Contains(line, cut) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// exprSource answers each query expression with its series, and fails
// the ones it does not know.
type exprSource map[string]metrics.Series

func (s exprSource) Fetch(_ context.Context, q metrics.Query, scope metrics.Scope, _ metrics.Window) (metrics.Result, error) {
	series, ok := s[q.Expr]
	if !ok {
		return metrics.Result{}, errors.New("no such query")
	}
	if scope["track"] != "stable" {
		return metrics.Result{}, nil
	}
	series.Signal = q.Signal
	return metrics.Result{Series: []metrics.Series{series}}, nil
}

// TestFetchSide queries one scope: events laid on their exposure's
// windows (an error counter without a value for a window counted none),
// at the window's step; a query that fails or finds nothing is an error
// naming the signal.
func TestFetchSide(t *testing.T) {
	cfg, err := ParseConfig("plan.yaml", []byte(`name: shop
signals:
  - name: error_ratio
    test: rate
    direction: increase
    query: 'sum(increase(http_requests_total{code="500",track="{{.track}}"}[{{.step}}]))'
    exposureQuery: 'sum(increase(http_requests_total{track="{{.track}}"}[{{.step}}]))'
`))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	times := []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)}
	src := exprSource{
		cfg.Signals[0].Query:         {Values: []float64{3, 1}, Times: []time.Time{times[0], times[2]}},
		cfg.Signals[0].ExposureQuery: {Values: []float64{100, 110, 120}, Times: times},
	}
	w := metrics.Window{Start: t0, End: t0.Add(3 * time.Minute), Step: time.Minute}
	data, err := FetchSide(context.Background(), cfg, SourceSet{"prometheus": src}, metrics.Scope{"track": "stable"}, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := data[0]
	if len(got.Sample.Values) != 3 || got.Sample.Values[1] != 0 || got.Sample.Values[2] != 1 || got.Sample.Exposure[2] != 120 || got.Step != time.Minute {
		t.Errorf("error_ratio: %+v every %s; want 3, 0, 1 errors of 100, 110, 120 requests every minute", got.Sample, got.Step)
	}
	if _, err := FetchSide(context.Background(), cfg, SourceSet{"prometheus": src}, metrics.Scope{"track": "nothing"}, w, 0); err == nil || !strings.Contains(err.Error(), "signal error_ratio: the query returned no series for") {
		t.Errorf("a scope without series: %v; want an error naming the signal", err)
	}
	delete(src, cfg.Signals[0].ExposureQuery)
	if _, err := FetchSide(context.Background(), cfg, SourceSet{"prometheus": src}, metrics.Scope{"track": "stable"}, w, 0); err == nil || !strings.Contains(err.Error(), "signal error_ratio: the exposure query for") {
		t.Errorf("a failing exposure query: %v; want an error naming the signal and the query", err)
	}
}
