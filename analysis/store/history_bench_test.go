package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/benchcpu"
)

// BenchmarkSQLiteHistory lists a SQLite history of 1,000, 10,000 and
// 100,000 recorded analyses (each finished with benchOutcome's report and
// series, or failed) by every filter of the analyses page and API, newest
// 100 first; and reports the bytes per analysis of the file's used pages
// (bytes sub-benchmark, B/analysis; file-B/analysis is the file's size)
// and the time to record one more analysis. Besides the wall
// time per operation it reports the process' CPU time per operation
// (cpu-ns/op), steadier on a busy machine.
//
// The histories take minutes to build at 100,000. With
// VERDICT_BENCH_HISTORY=DIR they are kept in DIR (history-N.db) and reused
// by the next run, so that a run measures lists only, and `verdict store
// stats --db sqlite:DIR/history-100000.db` can read one; without it each
// run builds them in a temporary directory.
//
// The analyses are spread over 3 configs; 90% finished, half of those
// with verdict fail and the rest pass, marginal or none; 10% failed. So
// at 1,000 analyses every filter below still matches more than the 100 a
// list returns, and a list's time compares the same work at every size.
func BenchmarkSQLiteHistory(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("analyses=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, path := historyStore(b, n)
			defer s.Close()
			var since time.Time // the last 500 analyses
			list, err := s.ListAnalyses(ctx, Filter{Limit: 500})
			if err != nil || len(list) != 500 {
				b.Fatalf("%d analyses, %v", len(list), err)
			}
			since = list[499].CreatedAt
			for _, f := range []struct {
				name string
				f    Filter
			}{
				{"none", Filter{}},
				{"config", Filter{Config: "checkout-1"}},
				{"verdict", Filter{Verdict: "fail"}},
				{"status", Filter{Status: Finished}},
				{"status=failed", Filter{Status: Failed}},
				{"since", Filter{Since: since}},
				{"config+verdict", Filter{Config: "checkout-1", Verdict: "fail"}},
				{"config+status", Filter{Config: "checkout-1", Status: Finished}},
				{"verdict+status", Filter{Verdict: "fail", Status: Finished}},
				{"config+verdict+status", Filter{Config: "checkout-1", Verdict: "fail", Status: Finished}},
				{"config+status+since", Filter{Config: "checkout-1", Status: Finished, Since: since}},
			} {
				b.Run("list="+f.name, func(b *testing.B) {
					cpu := benchcpu.Now(b)
					for b.Loop() {
						list, err := s.ListAnalyses(ctx, f.f)
						if err != nil || len(list) != 100 {
							b.Fatalf("%d analyses, %v", len(list), err)
						}
					}
					benchcpu.Report(b, cpu)
				})
			}
			b.Run("bytes", func(b *testing.B) {
				var used, size int64
				for b.Loop() {
					if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
						b.Fatal(err)
					}
					var pageSize, pages, free int64
					for q, dst := range map[string]*int64{`PRAGMA page_size`: &pageSize, `PRAGMA page_count`: &pages, `PRAGMA freelist_count`: &free} {
						if err := s.db.QueryRowContext(ctx, q).Scan(dst); err != nil {
							b.Fatal(err)
						}
					}
					info, err := os.Stat(path)
					if err != nil {
						b.Fatal(err)
					}
					used, size = (pages-free)*pageSize, info.Size()
				}
				// Used pages: the free ones earlier runs' record left are
				// not the history's.
				b.ReportMetric(float64(used)/float64(n), "B/analysis")
				b.ReportMetric(float64(size)/float64(n), "file-B/analysis")
			})
			b.Run("record", func(b *testing.B) {
				o := benchOutcome(b)
				cpu := benchcpu.Now(b)
				for b.Loop() {
					id := NewID()
					if err := s.CreateAnalysis(ctx, &Analysis{ID: id, ConfigName: "checkout-extra", Config: []byte("name: checkout\n"), Origin: "api"}); err != nil {
						b.Fatal(err)
					}
					if err := s.FinishAnalysis(ctx, id, o); err != nil {
						b.Fatal(err)
					}
				}
				benchcpu.Report(b, cpu)
				// The history stays as built, for the next run's lists.
				if _, err := s.w.ExecContext(ctx, `DELETE FROM analyses WHERE config_name = 'checkout-extra'`); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// historyStore opens the history of n analyses BenchmarkSQLiteHistory
// lists, building it when it does not exist yet (see there).
func historyStore(b *testing.B, n int) (*SQLite, string) {
	b.Helper()
	ctx := context.Background()
	dir := os.Getenv("VERDICT_BENCH_HISTORY")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("history-%d.db", n))
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM analyses`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == n {
		return s, path
	}
	if have != 0 {
		b.Fatalf("%s holds %d analyses, not %d: delete it to build it again", path, have, n)
	}
	finished := benchOutcome(b)
	verdicts := []string{"pass", "marginal", "none"}
	rng := rand.New(rand.NewPCG(17, uint64(n)))
	start := time.Now()
	for i := range n {
		id := fmt.Sprintf("h%07d", i)
		a := &Analysis{ID: id, ConfigName: fmt.Sprintf("checkout-%d", rng.IntN(3)), Config: []byte("name: checkout\n"),
			Request: []byte(`{"scopes":{"baseline":{"track":"baseline"},"canary":{"track":"canary"}}}`), Origin: "schedule"}
		if err := s.CreateAnalysis(ctx, a); err != nil {
			b.Fatal(err)
		}
		o := Outcome{Status: Failed, Error: "prometheus did not answer"}
		if rng.IntN(10) < 9 {
			o = finished
			o.Verdict = "fail"
			if rng.IntN(2) == 0 {
				o.Verdict = verdicts[rng.IntN(len(verdicts))]
			}
		}
		if err := s.FinishAnalysis(ctx, id, o); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %s: %d analyses in %s", path, n, time.Since(start).Round(time.Second))
	return s, path
}
