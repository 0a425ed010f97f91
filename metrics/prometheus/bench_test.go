package prometheus

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics"
)

const (
	benchSignals = 100
	benchLimit   = 8
)

// benchData is an hour of samples every 10s for benchSignals signals and
// two tracks: 200 series of 361 points.
func benchData() string {
	var b strings.Builder
	b.WriteString("# TYPE bench_value gauge\n")
	for s := range benchSignals {
		for _, track := range []string{"baseline", "canary"} {
			for i := 0; i <= 360; i++ {
				fmt.Fprintf(&b, "bench_value{signal=\"s%03d\",track=%q} %d %d\n", s, track, (s*31+i*7)%97, t0+10*i)
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

type fetchJob struct {
	q     metrics.Query
	scope metrics.Scope
}

func benchJobs() []fetchJob {
	var jobs []fetchJob
	for s := range benchSignals {
		q := metrics.Query{Signal: fmt.Sprintf("s%03d", s), Expr: fmt.Sprintf(`bench_value{signal="s%03d",track="{{.track}}"}`, s)}
		for _, track := range []string{"baseline", "canary"} {
			jobs = append(jobs, fetchJob{q, metrics.Scope{"track": track}})
		}
	}
	return jobs
}

func checkResult(res metrics.Result, err error) error {
	if err != nil {
		return err
	}
	if len(res.Series) != 1 || len(res.Series[0].Values) != 361 {
		return fmt.Errorf("got %d series", len(res.Series))
	}
	return nil
}

// BenchmarkFetchParallel fetches 100 signals × 2 scopes × 1h at a 10s step
// from a local Prometheus, one after another and with at most 8 in flight.
// Each op is the whole set of 200 fetches.
func BenchmarkFetchParallel(b *testing.B) {
	srv := promtest.Start(b, benchData())
	src, err := New(Config{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	jobs := benchJobs()
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			for _, j := range jobs {
				if err := checkResult(src.Fetch(ctx, j.q, j.scope, hour)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(jobs)), "fetches/op")
	})
	b.Run(fmt.Sprintf("parallel%d", benchLimit), func(b *testing.B) {
		for b.Loop() {
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(benchLimit)
			for _, j := range jobs {
				g.Go(func() error { return checkResult(src.Fetch(gctx, j.q, j.scope, hour)) })
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(jobs)), "fetches/op")
	})
}
