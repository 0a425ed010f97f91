package cloudwatch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/cloudwatchtest"
	"github.com/verdict-aca/verdict/metrics"
)

// BenchmarkFetch reads one gauge of 11,000 points (query.MaxPoints, a
// week at a minute) in pages of 2,000 through the SDK, its CBOR and
// SigV4, from the local CloudWatch.
func BenchmarkFetch(b *testing.B) {
	srv := cloudwatchtest.Start(b)
	dims := []cloudwatchtest.Dimension{{Name: "Track", Value: "canary"}}
	const n = 11_000
	for i := range n {
		srv.Put("Shop/Checkout", "Latency", dims, t0.Add(time.Duration(i)*time.Minute), float64(100+i%7))
	}
	srv.SetPageSize(2_000)
	src := newSource(b, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 0)
	w := metrics.Window{Start: t0, End: t0.Add(n * time.Minute), Step: time.Minute}
	q := metrics.Query{Signal: "latency", Expr: latencyQuery}
	b.ReportAllocs()
	for b.Loop() {
		res, err := src.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, w)
		if err != nil || len(res.Series[0].Values) != n {
			b.Fatalf("%v, %d points", err, len(res.Series))
		}
	}
}

// BenchmarkDecode is the source's own share of reading 11,000 points: the
// answer (one page, 11,000 timestamps and values, 165 KB of CBOR) is
// encoded once, so what is measured is signing the request, decoding the
// answer and turning it into a series.
func BenchmarkDecode(b *testing.B) {
	const n = 11_000
	stamps := make([]any, n)
	values := make([]float64, n)
	for i := range n {
		stamps[i] = t0.Add(time.Duration(i) * time.Minute)
		values[i] = float64(100 + i%7)
	}
	answer := map[string]any{"MetricDataResults": []any{map[string]any{
		"Id": "m1", "Label": "Latency", "StatusCode": "Complete", "Timestamps": stamps, "Values": values}}}
	body, err := cloudwatchtest.EncodeCBOR(answer)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Write(body)
	}))
	defer srv.Close()
	src := newSource(b, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 0)
	w := metrics.Window{Start: t0, End: t0.Add(n * time.Minute), Step: time.Minute}
	q := metrics.Query{Signal: "latency", Expr: latencyQuery}
	b.ReportAllocs()
	for b.Loop() {
		res, err := src.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, w)
		if err != nil || len(res.Series[0].Values) != n {
			b.Fatalf("%v", err)
		}
	}
}
