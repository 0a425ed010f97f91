package prometheus

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics"
)

// The live data: 30 minutes of samples every 10 s, ending ten minutes ago
// (in Prometheus' head block, written through remote write), queried at a
// step of one minute: 30 windows of 6 scrape intervals each.
const (
	scrapes       = 180 // intervals; samples 0..180
	perWindow     = 6
	liveWindows   = scrapes / perWindow
	scrapeSeconds = 10
)

// Counters are the state of cumulative counters at each sample i, built
// from per-interval increments; missing lists the samples not scraped.
type counter struct {
	values  []float64
	missing func(i int) bool
}

func cumulative(inc func(i int) float64) []float64 {
	out := make([]float64, scrapes+1)
	for i := 1; i <= scrapes; i++ {
		out[i] = out[i-1] + inc(i)
	}
	return out
}

// windowIncrease is what increase(x[1m]) at the end of window k (1-based)
// counts: the counter's rise over the window when all its samples were
// scraped; nothing when a gap leaves it without two samples.
func (c counter) windowIncrease(k int) float64 {
	for i := (k - 1) * perWindow; i <= k*perWindow; i++ {
		if c.missing != nil && c.missing(i) {
			return 0
		}
	}
	return c.values[k*perWindow] - c.values[(k-1)*perWindow]
}

func (c counter) samples(at func(i int) time.Time) []promtest.Sample {
	var out []promtest.Sample
	for i, v := range c.values {
		if c.missing == nil || !c.missing(i) {
			out = append(out, promtest.Sample{Time: at(i), Value: v})
		}
	}
	return out
}

// Gaps: requests_total misses the samples of windows 11..13 (only their
// edge samples 60 and 78 remain, one per window), the classic canary
// histogram those of windows 20 and 21.
func requestsGap(i int) bool  { return i > 60 && i < 78 }
func histogramGap(i int) bool { return i > 114 && i < 126 }

var classicBounds = []string{"0.1", "0.5", "+Inf"}

// classicIncrement is the observations per interval at or below each
// bound (cumulative, as _bucket series are).
func classicIncrement(track string, bucket, i int) float64 {
	fast, mid, slow := float64(i%3), float64(i%4), 1.0
	if track == "canary" {
		fast, slow = float64(i%2), 2
	}
	return []float64{fast, fast + mid, fast + mid + slow}[bucket]
}

// nativeIndexes are the native histogram's positive bucket indexes at
// schema 0 for each track: (2^(i−1), 2^i]. The canary's reach one bucket
// higher, so the two sides come back on different bounds.
var nativeIndexes = map[string][]int32{"baseline": {-3, -2, -1, 0, 1}, "canary": {-2, -1, 0, 1, 2}}

func nativeIncrement(idx int32, i int) uint64 {
	return uint64((i+int(idx*idx))%5 + (i/perWindow+int(idx)+3)%3)
}
func zeroIncrement(i int) uint64 { return uint64(i % 4 / 3) }

func TestIntegrationLiveKinds(t *testing.T) {
	srv := promtest.StartWith(t, promtest.Options{RemoteWrite: true, NativeHistograms: true})
	base := time.Now().Add(-40 * time.Minute).Truncate(time.Minute).UTC()
	at := func(i int) time.Time { return base.Add(time.Duration(i*scrapeSeconds) * time.Second) }
	window := metrics.Window{Start: base, End: at(scrapes), Step: time.Minute}

	requests := map[string]counter{}
	classic := map[string][]counter{}
	var series []promtest.Series
	for ti, track := range []string{"baseline", "canary"} {
		requests[track] = counter{values: cumulative(func(i int) float64 { return float64(10*(ti+1) + i%7) }), missing: requestsGap}
		series = append(series, promtest.Series{Labels: map[string]string{"__name__": "requests_total", "track": track}, Samples: requests[track].samples(at)})
		for b, le := range classicBounds {
			c := counter{values: cumulative(func(i int) float64 { return classicIncrement(track, b, i) })}
			if track == "canary" {
				c.missing = histogramGap
			}
			classic[track] = append(classic[track], c)
			series = append(series, promtest.Series{Labels: map[string]string{"__name__": "http_latency_seconds_bucket", "track": track, "le": le}, Samples: c.samples(at)})
		}
		native := promtest.Series{Labels: map[string]string{"__name__": "rpc_latency_seconds", "track": track}}
		state := map[int32]uint64{}
		zero := uint64(0)
		for i := 0; i <= scrapes; i++ {
			if i > 0 {
				for _, idx := range nativeIndexes[track] {
					state[idx] += nativeIncrement(idx, i)
				}
				zero += zeroIncrement(i)
			}
			native.Histograms = append(native.Histograms, promtest.Histogram{Time: at(i), Schema: 0, ZeroThreshold: 0.001, ZeroCount: zero, Sum: float64(i), Positive: clone(state)})
		}
		series = append(series, native)
	}
	ctx := context.Background()
	if err := srv.Write(ctx, series...); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{URL: srv.URL, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(t *testing.T, kind metrics.Kind, expr, track string) metrics.Result {
		t.Helper()
		res, err := src.Fetch(ctx, metrics.Query{Signal: "s", Expr: expr, Kind: kind}, metrics.Scope{"track": track}, window)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	checkGrid := func(t *testing.T, s metrics.Series) {
		t.Helper()
		if len(s.Times) != liveWindows {
			t.Fatalf("%d steps, want %d", len(s.Times), liveWindows)
		}
		for k, tm := range s.Times {
			if want := at((k + 1) * perWindow); !tm.Equal(want) {
				t.Fatalf("step %d at %v, want %v", k, tm, want)
			}
		}
	}

	t.Run("count through increase with missing scrapes", func(t *testing.T) {
		for _, track := range []string{"baseline", "canary"} {
			res := fetch(t, metrics.Count, `sum(increase(requests_total{track="{{.track}}"}[{{.step}}]))`, track)
			if len(res.Series) != 1 {
				t.Fatalf("%s: %d series", track, len(res.Series))
			}
			s := res.Series[0]
			checkGrid(t, s)
			for k, v := range s.Values {
				want := requests[track].windowIncrease(k + 1)
				if math.Abs(v-want) > 1e-9 {
					t.Fatalf("%s window %d = %v, want %v (values %v)", track, k+1, v, want, s.Values)
				}
			}
			if s.Values[11] != 0 || s.Values[9] == 0 {
				t.Fatalf("%s: windows 11..13 should be zero-filled and the others counted: %v", track, s.Values)
			}
		}
	})

	t.Run("rate() as a count is filled, not refused", func(t *testing.T) {
		res := fetch(t, metrics.Count, `sum(rate(requests_total{track="{{.track}}"}[{{.step}}]))`, "canary")
		s := res.Series[0]
		checkGrid(t, s)
		for k, v := range s.Values {
			if want := requests["canary"].windowIncrease(k+1) / 60; math.Abs(v-want) > 1e-9 {
				t.Fatalf("window %d = %v, want %v per second", k+1, v, want)
			}
		}
	})

	t.Run("classic histogram", func(t *testing.T) {
		for _, track := range []string{"baseline", "canary"} {
			res := fetch(t, metrics.Histogram, `sum by (le) (increase(http_latency_seconds_bucket{track="{{.track}}"}[{{.step}}]))`, track)
			if len(res.Series) != 1 {
				t.Fatalf("%s: %d series", track, len(res.Series))
			}
			s := res.Series[0]
			checkGrid(t, s)
			if !slices.Equal(s.Bounds, []float64{0.1, 0.5, math.Inf(1)}) {
				t.Fatalf("bounds %v", s.Bounds)
			}
			for k := range liveWindows {
				for b := range classicBounds {
					want := classic[track][b].windowIncrease(k + 1)
					if got := s.Values[k*3+b]; math.Abs(got-want) > 1e-9 {
						t.Fatalf("%s window %d le=%s = %v, want %v", track, k+1, classicBounds[b], got, want)
					}
				}
			}
			if track == "canary" && (s.Values[19*3+2] != 0 || s.Values[18*3+2] == 0) {
				t.Fatalf("canary windows 20, 21 should be zero rows: %v", s.Values[18*3:22*3])
			}
		}
	})

	t.Run("native histogram", func(t *testing.T) {
		got := map[string]metrics.Series{}
		for _, track := range []string{"baseline", "canary"} {
			res := fetch(t, metrics.Histogram, `sum(increase(rpc_latency_seconds{track="{{.track}}"}[{{.step}}]))`, track)
			if len(res.Series) != 1 {
				t.Fatalf("%s: %d series", track, len(res.Series))
			}
			s := res.Series[0]
			checkGrid(t, s)
			bounds := []float64{0.001}
			for _, idx := range nativeIndexes[track] {
				bounds = append(bounds, promtest.UpperBound(0, idx))
			}
			bounds = append(bounds, math.Inf(1))
			if !slices.Equal(s.Bounds, bounds) {
				t.Fatalf("%s bounds %v, want %v", track, s.Bounds, bounds)
			}
			for k := range liveWindows {
				want := nativeWindow(track, k+1)
				row := s.Values[k*len(bounds) : (k+1)*len(bounds)]
				for b := range row {
					if math.Abs(row[b]-want[b]) > 1e-9 {
						t.Fatalf("%s window %d: %v, want %v", track, k+1, row, want)
					}
				}
			}
			got[track] = s
		}
		b, c := got["baseline"], got["canary"]
		canaryBefore := slices.Clone(c.Values)
		if err := metrics.AlignBounds(&b, &c); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.Bounds, c.Bounds) || len(b.Bounds) != 8 {
			t.Fatalf("aligned bounds %v and %v", b.Bounds, c.Bounds)
		}
		// The canary had no bucket at 0.125: its count there is the zero
		// bucket's; at its own bounds nothing changed.
		for k := range liveWindows {
			row, old := c.Values[k*8:(k+1)*8], canaryBefore[k*7:(k+1)*7]
			if row[1] != old[0] || !slices.Equal(row[2:], old[1:]) {
				t.Fatalf("canary window %d aligned %v from %v", k+1, row, old)
			}
		}
	})

	t.Run("nothing matched is no data", func(t *testing.T) {
		for _, tt := range []struct {
			kind metrics.Kind
			expr string
		}{
			{metrics.Count, `sum(increase(requests_total{track="{{.track}}"}[{{.step}}]))`},
			{metrics.Histogram, `sum by (le) (increase(http_latency_seconds_bucket{track="{{.track}}"}[{{.step}}]))`},
			{metrics.Histogram, `sum(increase(rpc_latency_seconds{track="{{.track}}"}[{{.step}}]))`},
		} {
			if res := fetch(t, tt.kind, tt.expr, "nonexistent"); len(res.Series) != 0 {
				t.Fatalf("%s: %d series, want none", tt.expr, len(res.Series))
			}
		}
	})
}

// nativeWindow is the cumulative counts of window k on the track's bounds
// (zero bucket, its positive buckets, +Inf).
func nativeWindow(track string, k int) []float64 {
	var zero float64
	inc := map[int32]float64{}
	for i := (k-1)*perWindow + 1; i <= k*perWindow; i++ {
		zero += float64(zeroIncrement(i))
		for _, idx := range nativeIndexes[track] {
			inc[idx] += float64(nativeIncrement(idx, i))
		}
	}
	out := []float64{zero}
	cum := zero
	for _, idx := range nativeIndexes[track] {
		cum += inc[idx]
		out = append(out, cum)
	}
	return append(out, cum)
}

func clone(m map[int32]uint64) map[int32]uint64 {
	out := make(map[int32]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
