package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/metrics"
)

// benchStores runs fn on a fresh SQLite file and a fresh PostgreSQL
// database (one server for all the runs of b).
func benchStores(b *testing.B, fn func(b *testing.B, s Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := OpenSQLite(context.Background(), b.TempDir()+"/verdict.db")
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
	srv := pgtest.Start(b)
	b.Run("postgres", func(b *testing.B) {
		s, err := OpenPostgres(context.Background(), srv.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
}

// benchOutcome is a finished analysis of the size `verdict serve` stores
// for a two-signal config over an hour at 10 s steps: two series of 360
// points a side (47 KB of JSON) and a report of 3 KB.
func benchOutcome(b *testing.B) Outcome {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	side := func(level float64) metrics.Series {
		var s metrics.Series
		for i := range 360 {
			s.Times = append(s.Times, t0.Add(time.Duration(i)*10*time.Second))
			s.Values = append(s.Values, level+10*math.Sin(float64(i)/7))
		}
		return s
	}
	series := EncodeSeries([]analysis.SignalSeries{
		{Name: "p99_latency_ms", Baseline: side(100), Canary: side(130)},
		{Name: "error_ratio", Baseline: side(0.01), Canary: side(0.01)},
	})
	report := `{"schema":"verdict/report/v1","name":"checkout","verdict":"fail","score":50,"reason":"` + strings.Repeat("x", 3000) + `"}`
	score := 50.0
	return Outcome{Status: Finished, Verdict: "fail", Score: &score, Report: []byte(report), Series: series}
}

// BenchmarkCreateAnalysis stores a new queued analysis, what every POST
// /api/v1/analyses and scheduled run does first.
func BenchmarkCreateAnalysis(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		req := []byte(`{"scopes":{"baseline":{"track":"baseline"},"canary":{"track":"canary"}},"start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z"}`)
		i := 0
		for b.Loop() {
			i++
			if err := s.CreateAnalysis(ctx, &Analysis{ID: fmt.Sprintf("a%d", i), ConfigName: "checkout", Config: []byte("name: checkout\n"), Request: req, Origin: "api"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecordAnalysis records a whole analysis as `verdict serve` does:
// create, one progress update, finish with its report and series.
func BenchmarkRecordAnalysis(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		o := benchOutcome(b)
		i := 0
		for b.Loop() {
			i++
			id := fmt.Sprintf("a%d", i)
			if err := s.CreateAnalysis(ctx, &Analysis{ID: id, ConfigName: "checkout", Config: []byte("name: checkout\n"), Origin: "api"}); err != nil {
				b.Fatal(err)
			}
			if err := s.UpdateAnalysis(ctx, id, Running, Progress{Done: 1, Total: 1}, nil); err != nil {
				b.Fatal(err)
			}
			if err := s.FinishAnalysis(ctx, id, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecordAnalysisParallel is BenchmarkRecordAnalysis from as many
// goroutines as GOMAXPROCS (the service's workers record at once).
func BenchmarkRecordAnalysisParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		o := benchOutcome(b)
		var n atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := fmt.Sprintf("p%d", n.Add(1))
				if err := s.CreateAnalysis(ctx, &Analysis{ID: id, Config: []byte("x"), Origin: "api"}); err != nil {
					b.Error(err)
					return
				}
				if err := s.FinishAnalysis(ctx, id, o); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkListAnalyses lists the newest 100 of 2,000 analyses, the
// service's analyses page.
func BenchmarkListAnalyses(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		for i := range 2000 {
			if err := s.CreateAnalysis(ctx, &Analysis{ID: fmt.Sprintf("l%05d", i), ConfigName: fmt.Sprintf("c%d", i%10), Config: []byte("x")}); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			list, err := s.ListAnalyses(ctx, Filter{Config: "c3"})
			if err != nil || len(list) != 100 {
				b.Fatalf("%d analyses, %v", len(list), err)
			}
		}
	})
}

// BenchmarkClaimFiring is what each replica pays at every firing of a
// schedule: "won" claims a new firing (the INSERT happens), "lost" one
// another replica claimed already (ON CONFLICT DO NOTHING).
func BenchmarkClaimFiring(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		due := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		b.Run("won", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if ok, err := s.ClaimFiring(ctx, Firing{Config: "checkout", Schedule: 0, At: due.Add(time.Duration(i) * time.Second), Owner: "A"}); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run("lost", func(b *testing.B) {
			for b.Loop() {
				if ok, err := s.ClaimFiring(ctx, Firing{Config: "checkout", Schedule: 0, At: due.Add(time.Second), Owner: "B"}); err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
	})
}

// BenchmarkListConfigVersions is what each replica pays at every check of
// whether the configs changed, with 100 stored configs of 4 KB each.
func BenchmarkListConfigVersions(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		text := []byte(strings.Repeat("#", 4096))
		for i := range 100 {
			if _, err := s.PutConfig(ctx, fmt.Sprintf("config-%03d", i), text); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			list, err := s.ListConfigVersions(ctx)
			if err != nil || len(list) != 100 {
				b.Fatal(len(list), err)
			}
		}
	})
}
