package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestStartServesTheGivenSeries(t *testing.T) {
	s := Start(t, "# TYPE demo gauge\n"+
		"demo{track=\"canary\"} 1.5 1704067200\n"+
		"demo{track=\"canary\"} 2.5 1704067260\n"+
		"# EOF\n")
	u := s.URL + "/api/v1/query?" + url.Values{"query": {`demo{track="canary"}`}, "time": {"1704067260"}}.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 || body.Data.Result[0].Value[1] != "2.5" {
		t.Fatalf("got %+v, want one sample 2.5", body)
	}

	s.Stop()
	if _, err := http.Get(u); err == nil {
		t.Fatal("server still answers after Stop")
	}
	s.Stop() // a second Stop (and the cleanup's) must not block
}

// TestWriteNativeHistograms writes a float series and a native histogram
// with gaps between its bucket spans through remote write and reads them
// back as Prometheus' API reports them.
func TestWriteNativeHistograms(t *testing.T) {
	s := StartWith(t, Options{RemoteWrite: true, NativeHistograms: true})
	ctx := context.Background()
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	err := s.Write(ctx,
		Series{Labels: map[string]string{"__name__": "requests_total", "track": "canary"}, Samples: []Sample{{at.Add(-10 * time.Second), 1}, {at, 4}}},
		Series{Labels: map[string]string{"__name__": "latency_seconds", "track": "canary"}, Histograms: []Histogram{{
			Time: at, Schema: 0, ZeroThreshold: 0.001, ZeroCount: 1, Sum: 42,
			Positive: map[int32]uint64{-2: 1, 0: 2, 1: 3, 5: 4},
			Negative: map[int32]uint64{1: 5},
		}}},
	)
	if err != nil {
		t.Fatal(err)
	}

	if v := instant(t, s, `requests_total{track="canary"}`, at); len(v) != 1 || v[0].Value != 4 {
		t.Fatalf("requests_total = %v, want 4", v)
	}
	v := instant(t, s, `latency_seconds{track="canary"}`, at)
	if len(v) != 1 || v[0].Histogram == nil {
		t.Fatalf("latency_seconds = %v, want one native histogram", v)
	}
	h := v[0].Histogram
	if h.Count != 16 || h.Sum != 42 {
		t.Errorf("count %v sum %v, want 16 and 42", h.Count, h.Sum)
	}
	var got []string
	for _, b := range h.Buckets {
		got = append(got, fmt.Sprintf("%d %g %g %g", b.Boundaries, b.Lower, b.Upper, b.Count))
	}
	want := []string{
		"1 -2 -1 5",        // negative bucket 1: [-2, -1)
		"3 -0.001 0.001 1", // the zero bucket
		"0 0.125 0.25 1",   // bucket -2: (2^-3, 2^-2]
		"0 0.5 1 2",        // bucket 0
		"0 1 2 3",          // bucket 1
		"0 16 32 4",        // bucket 5
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("buckets\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if UpperBound(0, 5) != 32 || UpperBound(3, 8) != 2 || UpperBound(-1, 1) != 4 {
		t.Errorf("UpperBound: %v %v %v", UpperBound(0, 5), UpperBound(3, 8), UpperBound(-1, 1))
	}
}

// TestWriteNativeHistogramsNeedsTheFeature documents what Prometheus 2.42
// does with a native histogram written without the feature flag.
func TestWriteNativeHistogramsNeedsTheFeature(t *testing.T) {
	s := StartWith(t, Options{RemoteWrite: true})
	err := s.Write(context.Background(), Series{Labels: map[string]string{"__name__": "latency_seconds"},
		Histograms: []Histogram{{Time: time.Now(), Positive: map[int32]uint64{0: 1}}}})
	if err == nil || !strings.Contains(err.Error(), "native histograms are disabled") {
		t.Fatalf("err = %v, want Prometheus to refuse native histograms", err)
	}
}

func instant(t *testing.T, s *Server, q string, at time.Time) model.Vector {
	t.Helper()
	u := s.URL + "/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatInt(at.Unix(), 10)}}.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct{ Result model.Vector }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v (status %q)", q, err, body.Status)
	}
	return body.Data.Result
}
