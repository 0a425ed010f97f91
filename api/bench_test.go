package api

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/verdict-aca/verdict/api/internal/loadgen"
)

// BenchmarkJudgeHTTP posts the load payload (20 signals × 2 × 360 points)
// to POST /api/v1/judge over loopback HTTP from parallel clients (4 per
// GOMAXPROCS); ns/op is wall time per judgement at that concurrency, so
// 1e9/ns_per_op is the throughput.
func BenchmarkJudgeHTTP(b *testing.B) {
	ts := newTestServer(b, Options{})
	req, err := http.NewRequest("PUT", ts.URL+"/api/v1/configs/load", bytes.NewReader([]byte(loadgen.Config())))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/yaml")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("PUT config: %v", err)
	}
	body := loadgen.Body()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetBytes(int64(len(body)))
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(ts.URL+"/api/v1/judge", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkJudgeHandler is the same judgement without the network: the
// handler's own cost (decode, judge 20 signals, encode).
func BenchmarkJudgeHandler(b *testing.B) {
	ts := newTestServer(b, Options{})
	req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/configs/load", bytes.NewReader([]byte(loadgen.Config())))
	req.Header.Set("Content-Type", "application/yaml")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("PUT config: %v", err)
	}
	body := loadgen.Body()
	h := ts.Handler()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, _ := http.NewRequest("POST", "/api/v1/judge", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) { w.status = code }

// BenchmarkParseJudgeRequest is the request parsing alone: the load
// payload's 14,400 numbers and its structure, into a reused slab as the
// server parses them.
func BenchmarkParseJudgeRequest(b *testing.B) {
	body := loadgen.Body()
	var slab []float64
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, slab, err = parseJudgeRequest(body, Limits{}.withDefaults(), slab); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJudgeHandlerRelease is BenchmarkJudgeHandler on the release
// payload: 20 signals of which 4 histograms of 30 buckets × 360 windows, 2
// rates with their requests and 2 success ratios with their trials.
func BenchmarkJudgeHandlerRelease(b *testing.B) {
	ts := newTestServer(b, Options{})
	req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/configs/release", bytes.NewReader([]byte(loadgen.ReleaseConfig())))
	req.Header.Set("Content-Type", "application/yaml")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.Fatalf("PUT config: %v", err)
	}
	body := loadgen.ReleaseBody()
	h := ts.Handler()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, _ := http.NewRequest("POST", "/api/v1/judge", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkParseJudgeRequestRelease is the parsing of the release payload
// alone: some 100,000 numbers, most of them the histograms' whole counts,
// into a reused slab as the server parses them.
func BenchmarkParseJudgeRequestRelease(b *testing.B) {
	body := loadgen.ReleaseBody()
	var slab []float64
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, slab, err = parseJudgeRequest(body, Limits{}.withDefaults(), slab); err != nil {
			b.Fatal(err)
		}
	}
}
