package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// t0 is the start of the test data: 2024-01-01T00:00:00Z, well inside the
// test server's 100y retention.
const t0 = 1704067200

// gauge is the value of the latency gauge for pod at sample i (every 10s).
func gauge(pod string, i int) float64 {
	switch pod {
	case "b1":
		return 100 + float64(i%5)
	case "c1":
		return 110 + float64(i%7)
	default: // c2
		return 120 - float64(i%3)
	}
}

// histogram increments per 10s for each track: counts of requests at most
// 0.1s, at most 0.5s, and in all (cumulative, as Prometheus buckets are).
var histogramIncrements = map[string][3]float64{
	"baseline": {8, 10, 10}, // 80% under 0.1s
	"canary":   {2, 8, 10},  // 20% under 0.1s, 80% under 0.5s
}

// testData writes an hour of samples every 10s (361 per series) as
// OpenMetrics text.
func testData() string {
	var b strings.Builder
	b.WriteString("# TYPE req_latency_ms gauge\n")
	pods := []struct{ track, pod string }{{"baseline", "b1"}, {"canary", "c1"}, {"canary", "c2"}}
	for _, p := range pods {
		for i := 0; i <= 360; i++ {
			fmt.Fprintf(&b, "req_latency_ms{track=%q,pod=%q} %g %d\n", p.track, p.pod, gauge(p.pod, i), t0+10*i)
		}
	}
	b.WriteString("# TYPE http_request_duration_seconds histogram\n")
	les := []string{"0.1", "0.5", "+Inf"}
	for _, track := range []string{"baseline", "canary"} {
		inc := histogramIncrements[track]
		for j, le := range les {
			for i := 0; i <= 360; i++ {
				fmt.Fprintf(&b, "http_request_duration_seconds_bucket{track=%q,le=%q} %g %d\n", track, le, inc[j]*float64(i), t0+10*i)
			}
		}
		for i := 0; i <= 360; i++ {
			fmt.Fprintf(&b, "http_request_duration_seconds_count{track=%q} %g %d\n", track, inc[2]*float64(i), t0+10*i)
		}
		for i := 0; i <= 360; i++ {
			fmt.Fprintf(&b, "http_request_duration_seconds_sum{track=%q} %g %d\n", track, float64(i), t0+10*i)
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

var hour = metrics.Window{Start: time.Unix(t0, 0), End: time.Unix(t0+3600, 0), Step: 10 * time.Second}

func TestIntegration(t *testing.T) {
	srv := promtest.Start(t, testData())
	src, err := New(Config{URL: srv.URL, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gaugeQ := metrics.Query{Signal: "latency", Expr: `req_latency_ms{track="{{.track}}"}`}

	t.Run("gauge range query", func(t *testing.T) {
		res, err := src.Fetch(ctx, gaugeQ, metrics.Scope{"track": "baseline"}, hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 {
			t.Fatalf("got %d series", len(res.Series))
		}
		s := res.Series[0]
		if len(s.Values) != 361 {
			t.Fatalf("got %d points, want 361", len(s.Values))
		}
		for i, v := range s.Values {
			if v != gauge("b1", i) || !s.Times[i].Equal(time.Unix(int64(t0+10*i), 0)) {
				t.Fatalf("point %d = (%v, %v), want (%v, %v)", i, s.Times[i], v, time.Unix(int64(t0+10*i), 0), gauge("b1", i))
			}
		}
		if s.Labels["pod"] != "b1" || s.Labels["track"] != "baseline" || s.Signal != "latency" {
			t.Errorf("labels %v signal %q", s.Labels, s.Signal)
		}
	})

	t.Run("coarser step", func(t *testing.T) {
		w := hour
		w.Step = time.Minute
		res, err := src.Fetch(ctx, gaugeQ, metrics.Scope{"track": "baseline"}, w)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.Series[0].Values); n != 61 {
			t.Fatalf("got %d points at 1m, want 61", n)
		}
		if v := res.Series[0].Values[1]; v != gauge("b1", 6) {
			t.Fatalf("point at +1m = %v, want %v", v, gauge("b1", 6))
		}
	})

	t.Run("several series is an error", func(t *testing.T) {
		_, err := src.Fetch(ctx, gaugeQ, metrics.Scope{"track": "canary"}, hour)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindAmbiguous {
			t.Fatalf("err = %v, want KindAmbiguous", err)
		}
		want := `query for latency returned 2 series for scope track=canary that differ in label "pod" (c1, c2)`
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%q does not contain %q", err, want)
		}
	})

	t.Run("aggregate", func(t *testing.T) {
		for _, op := range []string{"sum", "max", "min", "mean"} {
			q := gaugeQ
			q.Aggregate = op
			res, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, hour)
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			if len(res.Series) != 1 || len(res.Series[0].Values) != 361 {
				t.Fatalf("%s: got %d series", op, len(res.Series))
			}
			for i, v := range res.Series[0].Values {
				a, b := gauge("c1", i), gauge("c2", i)
				want := map[string]float64{"sum": a + b, "max": math.Max(a, b), "min": math.Min(a, b), "mean": (a + b) / 2}[op]
				if v != want {
					t.Fatalf("%s point %d = %v, want %v", op, i, v, want)
				}
			}
			if l := res.Series[0].Labels; l["track"] != "canary" || l["pod"] != "" {
				t.Errorf("%s: labels %v, want only the shared ones", op, l)
			}
		}
	})

	t.Run("histogram_quantile", func(t *testing.T) {
		q := metrics.Query{Signal: "p50", Expr: `histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{track="{{.track}}"}[1m])))`}
		w := metrics.Window{Start: hour.Start.Add(5 * time.Minute), End: hour.End, Step: time.Minute}
		// Prometheus interpolates linearly inside the bucket holding the
		// rank: baseline 0.5 of the requests sit in (0, 0.1] holding 0.8 of
		// them → 0.1 × 0.5/0.8; canary: (0.1, 0.5] holds 0.2..0.8 → 0.1 + 0.4 × (0.5-0.2)/(0.8-0.2).
		for track, want := range map[string]float64{"baseline": 0.1 * 0.5 / 0.8, "canary": 0.1 + 0.4*(0.5-0.2)/(0.8-0.2)} {
			res, err := src.Fetch(ctx, q, metrics.Scope{"track": track}, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Series) != 1 || len(res.Series[0].Values) != 56 {
				t.Fatalf("%s: %d series", track, len(res.Series))
			}
			for i, v := range res.Series[0].Values {
				if math.Abs(v-want) > 1e-9 {
					t.Fatalf("%s point %d = %v, want %v", track, i, v, want)
				}
			}
		}
	})

	t.Run("interval variable", func(t *testing.T) {
		q := metrics.Query{Signal: "p50", Expr: `increase(http_request_duration_seconds_count{track="{{.track}}"}[{{.interval}}])`}
		res, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, hour)
		if err != nil {
			t.Fatal(err)
		}
		// At the end of the hour the [1h] range holds all 361 samples,
		// 0..3600 requests: Prometheus extrapolates the increase over the
		// hour, 3600 exactly, since the samples span the whole range.
		vals := res.Series[0].Values
		if got := vals[len(vals)-1]; math.Abs(got-3600) > 1e-6 {
			t.Fatalf("increase over the hour = %v, want 3600", got)
		}
	})

	t.Run("empty result", func(t *testing.T) {
		res, err := src.Fetch(ctx, gaugeQ, metrics.Scope{"track": "nonexistent"}, hour)
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("got %v, %v; want no series and no error", res, err)
		}
	})

	t.Run("bad query", func(t *testing.T) {
		q := metrics.Query{Signal: "broken", Expr: `sum(rate(req_latency_ms{track="{{.track}}"}[5m]`}
		_, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, hour)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery {
			t.Fatalf("err = %v, want KindBadQuery", err)
		}
		if !strings.Contains(err.Error(), "bad_data") || strings.Contains(err.Error(), "attempts") {
			t.Fatalf("%q: want a bad_data error from a single attempt", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		// A proxy that holds every request for a second in front of the
		// real server: a slow Prometheus.
		target, _ := url.Parse(srv.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Second):
				proxy.ServeHTTP(w, r)
			case <-r.Context().Done():
			}
		})}
		ln := listen(t)
		go func() { _ = slow.Serve(ln) }()
		t.Cleanup(func() { _ = slow.Close() })
		s, err := New(Config{URL: "http://" + ln.Addr().String(), Timeout: 100 * time.Millisecond, Retries: 1, RetryWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Fetch(ctx, gaugeQ, metrics.Scope{"track": "baseline"}, hour)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindTimeout {
			t.Fatalf("err = %v, want KindTimeout", err)
		}
		if !strings.Contains(err.Error(), "timeout after 100ms") || !strings.Contains(err.Error(), "after 2 attempts") {
			t.Fatalf("%q does not say what happened", err)
		}
	})

	t.Run("stopped server", func(t *testing.T) {
		other := promtest.Start(t, "")
		s, err := New(Config{URL: other.URL, RetryWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		other.Stop()
		_, err = s.Fetch(ctx, gaugeQ, metrics.Scope{"track": "baseline"}, hour)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindUnavailable || !qe.Kind.SourceDown() {
			t.Fatalf("err = %v, want KindUnavailable", err)
		}
		if !strings.Contains(err.Error(), "after 3 attempts") {
			t.Fatalf("%q: want 3 attempts", err)
		}
	})
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
