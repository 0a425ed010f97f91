package influxdb

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/influxtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// TestInfluxDBServer runs queries against a real InfluxDB 1.x: counts on
// the step grid with empty windows as zeros, gauges at their points'
// times, a classic histogram by le, an injection attempt that reads no
// other series, the server's own errors, and a stopped server.
func TestInfluxDBServer(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	// 12:00:00 .. 12:01:00 on a day in 2025, 10s steps. The canary has
	// events in its first two windows only; the baseline in the fourth.
	t0 := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return " " + strconv.FormatInt(t0.Add(d).Unix(), 10) }
	lines := []string{
		`req,track=canary,code=500 n=1` + at(5*time.Second),
		`req,track=canary,code=200 n=3` + at(12*time.Second),
		`req,track=canary,code=200 n=2` + at(19*time.Second),
		`req,track=baseline,code=200 n=7` + at(33*time.Second),
		`latency,track=canary p50=120` + at(0),
		`latency,track=canary p50=130` + at(20*time.Second),
		`latency,track=baseline p50=99` + at(0),
		`ctr,track=canary total=10` + at(-5*time.Second),
		`ctr,track=canary total=12` + at(5*time.Second),
		`ctr,track=canary total=15` + at(15*time.Second),
		`ctr,track=canary total=15` + at(25*time.Second),
		`dur,track=canary,le=0.1 c=2` + at(11*time.Second),
		`dur,track=canary,le=0.5 c=5` + at(11*time.Second),
		`dur,track=canary,le=+Inf c=6` + at(11*time.Second),
	}
	if err := srv.Write(ctx, strings.Join(lines, "\n"), "s"); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{URL: srv.URL, Database: influxtest.DB, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	w := metrics.Window{Start: t0, End: t0.Add(time.Minute), Step: 10 * time.Second}
	canary := metrics.Scope{"track": "canary"}
	fetch := func(t *testing.T, expr string, kind metrics.Kind, scope metrics.Scope) (metrics.Result, error) {
		t.Helper()
		return src.Fetch(ctx, metrics.Query{Signal: "s", Expr: expr, Kind: kind, Aggregate: "sum"}, scope, w)
	}

	t.Run("counts per step, empty windows zero", func(t *testing.T) {
		for _, fill := range []string{"fill(0)", "fill(none)", ""} {
			res, err := fetch(t, `SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) `+fill, metrics.Count, canary)
			if err != nil {
				t.Fatalf("%s: %v", fill, err)
			}
			if len(res.Series) != 1 {
				t.Fatalf("%s: %d series, want 1", fill, len(res.Series))
			}
			s := res.Series[0]
			// The grid is 12:00:10 .. 12:01:00: each value counts the 10s before it.
			want := []float64{1, 5, 0, 0, 0, 0}
			if !slices.Equal(s.Values, want) {
				t.Errorf("%s: values %v, want %v", fill, s.Values, want)
			}
			if len(s.Times) == 0 || !s.Times[0].Equal(t0.Add(10*time.Second)) || !s.Times[len(s.Times)-1].Equal(t0.Add(time.Minute)) {
				t.Errorf("%s: times %v, want 12:00:10 to 12:01:00", fill, s.Times)
			}
		}
	})

	t.Run("a cumulative counter's differences, the first window too", func(t *testing.T) {
		res, err := fetch(t, `SELECT non_negative_difference(last("total")) FROM "ctr" WHERE "track" = '{{.track}}' GROUP BY time({{.step}})`, metrics.Count, canary)
		if err != nil {
			t.Fatal(err)
		}
		if want := []float64{2, 3, 0, 0, 0, 0}; len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, want) {
			t.Fatalf("got %+v, want one series %v", res.Series, want)
		}
	})

	t.Run("a count of nothing is no data", func(t *testing.T) {
		res, err := fetch(t, `SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) fill(0)`, metrics.Count, metrics.Scope{"track": "nobody"})
		if err != nil || len(res.Series) != 0 {
			t.Fatalf("got %v, %v; want no series", res.Series, err)
		}
	})

	t.Run("gauges keep their points' times", func(t *testing.T) {
		res, err := fetch(t, `SELECT "p50" FROM "latency" WHERE "track" = '{{.track}}'`, metrics.Gauge, canary)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || !slices.Equal(res.Series[0].Values, []float64{120, 130}) || !res.Series[0].Times[1].Equal(t0.Add(20*time.Second)) {
			t.Fatalf("got %+v", res.Series)
		}
	})

	t.Run("a classic histogram by le", func(t *testing.T) {
		res, err := fetch(t, `SELECT sum("c") FROM "dur" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}), "le" fill(0)`, metrics.Histogram, canary)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 {
			t.Fatalf("%d series, want 1", len(res.Series))
		}
		h := res.Series[0]
		if !slices.Equal(h.Bounds, []float64{0.1, 0.5, math.Inf(1)}) || !slices.Equal(h.Values[3:6], []float64{2, 5, 6}) {
			t.Errorf("bounds %v, values %v; want the second step to hold 2, 5, 6", h.Bounds, h.Values)
		}
	})

	t.Run("an answer the server cut is partial data", func(t *testing.T) {
		// More raw points than the server's max-row-limit, a second apart.
		var b strings.Builder
		n := influxtest.MaxRowLimit + 200
		for i := range n {
			b.WriteString("busy,track=canary v=1 " + strconv.FormatInt(t0.Unix()+int64(i), 10) + "\n")
		}
		if err := srv.Write(ctx, b.String(), "s"); err != nil {
			t.Fatal(err)
		}
		long := metrics.Window{Start: t0, End: t0.Add(time.Duration(n) * time.Second), Step: time.Minute}
		res, err := src.Fetch(ctx, metrics.Query{Signal: "busy", Expr: `SELECT "v" FROM "busy" WHERE "track" = '{{.track}}'`}, canary, long)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || len(res.Series[0].Values) != influxtest.MaxRowLimit {
			t.Fatalf("got %d series, want one of %d points", len(res.Series), influxtest.MaxRowLimit)
		}
		if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.HasPrefix(w, "partial data: InfluxDB cut its answer short") }) {
			t.Errorf("warnings %q, want partial data", res.Warnings)
		}
	})

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		expr := `SELECT sum("n") FROM "req" WHERE "track" = '{{.track}}' GROUP BY time({{.step}}) fill(0)`
		for _, evil := range []string{
			`canary' OR "track" = 'baseline`,
			`canary' OR '1' = '1`,
			`canary\' OR track=\'baseline`,
			"canary'\nOR track='baseline",
			`canary' GROUP BY time(1h) --`,
			`x'; DROP DATABASE "verdict"; SELECT '`,
		} {
			res, err := fetch(t, expr, metrics.Count, metrics.Scope{"track": evil})
			if err != nil {
				t.Errorf("%q: %v", evil, err)
				continue
			}
			if len(res.Series) != 0 {
				t.Errorf("%q read %d series: %+v", evil, len(res.Series), res.Series)
			}
		}
		// The database is still there.
		if _, err := fetch(t, expr, metrics.Count, canary); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the server's errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, expr string
			kind       query.Kind
			says       string
		}{
			{"an unknown function", `SELECT nosuch("p50") FROM "latency" WHERE "track" = '{{.track}}'`, query.KindBadQuery, "undefined function nosuch()"},
		} {
			_, err := fetch(t, tc.expr, metrics.Gauge, canary)
			var qe *query.Error
			if !errors.As(err, &qe) || qe.Kind != tc.kind || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: %v, want a %s error saying %q", tc.name, err, tc.kind, tc.says)
			}
		}
		other, err := New(Config{URL: srv.URL, Database: "nosuch", Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.Fetch(ctx, metrics.Query{Signal: "s", Expr: `SELECT "p50" FROM "latency"`}, canary, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "database not found: nosuch") {
			t.Errorf("unknown database: %v", err)
		}
	})

	t.Run("a stopped server is down", func(t *testing.T) {
		srv.Stop()
		_, err := fetch(t, `SELECT "p50" FROM "latency" WHERE "track" = '{{.track}}'`, metrics.Gauge, canary)
		var qe *query.Error
		if !errors.As(err, &qe) || !qe.Kind.SourceDown() {
			t.Fatalf("%v, want an error of a source that is down", err)
		}
	})
}
