package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// TestReadConnections: each new connection to Prometheus is counted as
// accepted, and as closed once closed; a kept-alive one stays open.
func TestReadConnections(t *testing.T) {
	s := Start(t, "")
	// Start's own requests may leave idle connections in
	// http.DefaultTransport's pool, which any test closing an
	// httptest.Server closes too, at a moment of its choosing: close them
	// now, and wait until the server has counted them closed and only the
	// read itself is open (a connection that sent no request is closed by
	// the server after some seconds).
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	var before Connections
	var err error
	for settle := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if before, err = ReadConnections(t.Context(), s.URL); err != nil {
			t.Fatal(err)
		}
		if before.Open() == 1 || time.Now().After(settle) {
			break
		}
	}
	get := func(c *http.Client) {
		resp, err := c.Get(s.URL + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	closing := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 3 {
		get(closing)
	}
	kept := &http.Client{Transport: &http.Transport{}}
	get(kept)
	get(kept)
	var after Connections
	reads := 0
	deadline := time.Now().Add(10 * time.Second)
	for {
		if after, err = ReadConnections(t.Context(), s.URL); err != nil {
			t.Fatal(err)
		}
		reads++
		if after.Open()-before.Open() == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Three closed requests, one kept-alive connection, the reads.
	if want := 4 + reads; after.Accepted-before.Accepted != want || after.Open()-before.Open() != 1 {
		t.Errorf("before %+v, after %+v: want %d more accepted and 1 more open", before, after, want)
	}
}

// TestHugeMatrix: the answer is a valid matrix of at least the size asked.
func TestHugeMatrix(t *testing.T) {
	srv := httptest.NewServer(HugeMatrix(300<<10, time.Millisecond))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct {
				Values [][2]any
			}
		}
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	if len(body) < 300<<10 || answer.Status != "success" || answer.Data.ResultType != "matrix" || len(answer.Data.Result) != 1 || len(answer.Data.Result[0].Values) < 10000 {
		t.Errorf("%d bytes: status %q, %s with %d series", len(body), answer.Status, answer.Data.ResultType, len(answer.Data.Result))
	}
}

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
