package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

// TestSQLiteListPlans checks with EXPLAIN QUERY PLAN that every list
// filter and every combination of them (config, verdict, status, since)
// is one index range scan constrained by all of its filters, read in the
// list's order (no sort of the matching rows: no temporary B-tree), and
// that no list reads the documents table. A list's cost is then its
// limit, not the history's size.
func TestSQLiteListPlans(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	for i := range 50 {
		a := &Analysis{ID: fmt.Sprintf("a%02d", i), ConfigName: fmt.Sprintf("c%d", i%3), Config: []byte("x")}
		if err := s.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.FinishAnalysis(ctx, a.ID, Outcome{Status: Finished, Verdict: "pass", Report: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for mask := range 16 {
		var f Filter
		var want []string // the constraints the index search must show
		if mask&1 != 0 {
			f.Config, want = "c1", append(want, "config_name=?")
		}
		if mask&2 != 0 {
			f.Verdict, want = "pass", append(want, "verdict=?")
		}
		if mask&4 != 0 {
			f.Status, want = Finished, append(want, "status=?")
		}
		if mask&8 != 0 {
			f.Since, want = since, append(want, "created_at>?")
		}
		name := strings.Join(want, ",")
		if name == "" {
			name = "no filter"
		}
		t.Run(name, func(t *testing.T) {
			q, args := listQuery(f)
			rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, " | ")
			if len(plan) != 1 {
				t.Fatalf("plan %q: want one step, an index scan of analyses", all)
			}
			step := plan[0]
			switch {
			case len(want) == 0:
				if step != "SCAN analyses USING INDEX analyses_created" {
					t.Errorf("plan %q: want the newest-first scan of analyses_created", step)
				}
			case !strings.HasPrefix(step, "SEARCH analyses USING INDEX "):
				t.Errorf("plan %q: want an index search of analyses", step)
			}
			for _, c := range want {
				if !strings.Contains(step, c) {
					t.Errorf("plan %q does not constrain the index by %s", step, c)
				}
			}
			if strings.Contains(all, "TEMP B-TREE") || strings.Contains(all, "analysis_documents") {
				t.Errorf("plan %q sorts the matching rows or reads the documents", all)
			}
		})
	}
}

// TestMigrateFromVersion6 writes analyses, a config and evidence in the
// layout of schema version 6 (documents inline, uncompressed), opens the
// database with this build (migration 7: documents moved and compressed,
// the analyses table rebuilt with its list indexes) and reads everything
// back, byte for byte.
func TestMigrateFromVersion6(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v6.db")
	old, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE analysis_documents", "DROP TABLE analyses", "DROP TABLE configs", "DROP TABLE evidence", "DROP TABLE firings", "DROP TABLE schema_version"} {
		if _, err := old.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.migrate(ctx, migrations[:6]); err != nil {
		t.Fatal(err)
	}
	report := []byte(`{"schema":"verdict/report/v1","verdict":"fail","reason":"` + strings.Repeat("p99 above baseline; ", 500) + `"}`)
	series := []byte(`[{"name":"p99","baseline":{"times":[1,2],"values":[1.5,null]},"canary":{"times":[1,2],"values":[2,3]}}]`)
	scopes := encodeScopes(&analysis.Scopes{Baseline: map[string]string{"track": "baseline"}, Canary: map[string]string{"track": "canary"}})
	type row struct {
		id, config, status, verdict, owner  string
		cfg, req, intervals, report, series []byte
		kayenta                             []byte
		score                               any
		created, finished                   any
		lease                               int64
	}
	// More rows than one batch of the migration (64), with every kind of
	// document present or missing.
	var want []row
	for i := range 150 {
		r := row{id: fmt.Sprintf("a%03d", i), config: fmt.Sprintf("c%d", i%4), status: "finished", verdict: "fail",
			cfg: []byte(fmt.Sprintf("name: c%d\n", i%4)), req: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			intervals: []byte(`[{"verdict":"fail"}]`), report: report, series: series, score: 12.5,
			created: int64(1000 + i), finished: int64(2000 + i)}
		switch i % 5 {
		case 1: // running, owned, no documents yet
			r.status, r.verdict, r.owner, r.lease = "running", "", "replica-a", 5000
			r.intervals, r.report, r.series, r.score, r.finished = nil, nil, nil, nil, nil
		case 2: // Kayenta's judge result, an empty series document
			r.kayenta, r.series = []byte(`{"result":1}`), []byte{}
		}
		want = append(want, r)
		if _, err := old.w.ExecContext(ctx, `INSERT INTO analyses (id, config_name, config, request, origin, status, done, total, intervals, verdict, score,
			error, report, series, created_at, updated_at, finished_at, kayenta, owner, lease_until, scopes)
			VALUES (?, ?, ?, ?, 'api', ?, 1, 1, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.id, r.config, r.cfg, r.req, r.status, r.intervals, r.verdict, r.score, r.report, r.series, r.created, r.created, r.finished,
			r.kayenta, r.owner, r.lease, scopes); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.w.ExecContext(ctx, `INSERT INTO configs (name, data, version, updated_at) VALUES ('c1', 'name: c1', 3, 7)`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.w.ExecContext(ctx, `INSERT INTO evidence (config_name, scope_key, version, step, start_at, last_look, refs, looks, revision, created_at, updated_at)
		VALUES ('c1', 'k', 'v1', 60, 1, 2, '{}', 2, 1, 1, 2)`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("migrating from version 6: %v", err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Errorf("version %d after the migration, want %d", v, len(migrations))
	}
	var left int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'analyses_v7'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("the version 7 table is still there (%d, %v)", left, err)
	}
	var raw []byte
	if err := s.db.QueryRowContext(ctx, `SELECT report FROM analysis_documents WHERE id = 'a000'`).Scan(&raw); err != nil || len(raw) >= len(report)/4 {
		t.Errorf("a migrated report is stored in %d bytes (%v); want it compressed below a quarter of its %d", len(raw), err, len(report))
	}
	for _, r := range want {
		a, err := s.GetAnalysis(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []struct {
			name      string
			got, want []byte
		}{{"config", a.Config, r.cfg}, {"request", a.Request, r.req}, {"intervals", a.Intervals, r.intervals},
			{"report", a.Report, r.report}, {"series", a.Series, r.series}, {"kayenta", a.Kayenta, r.kayenta}} {
			// A missing document stays missing (nil); an empty one reads
			// back empty, nil or not, as before the migration.
			if !bytes.Equal(d.got, d.want) || d.want == nil && d.got != nil {
				t.Errorf("%s: %s %q, want %q", r.id, d.name, d.got, d.want)
			}
		}
		if a.ConfigName != r.config || string(a.Status) != r.status || a.Verdict != r.verdict || a.Owner != r.owner ||
			a.CreatedAt != fromNanos(r.created.(int64)) || a.LeaseUntil != leaseTime(r.lease) || a.Origin != "api" ||
			a.Scopes == nil || a.Scopes.Canary["track"] != "canary" || (a.Score == nil) != (r.score == nil) || (r.finished == nil) != a.FinishedAt.IsZero() {
			t.Errorf("%s: migrated as %+v; want %+v", r.id, a, r)
		}
	}
	// Lists: newest first, by every index.
	for _, f := range []Filter{{Limit: 1000}, {Config: "c2", Limit: 1000}, {Status: Running, Limit: 1000}, {Verdict: "fail", Config: "c1", Limit: 1000}} {
		list, err := s.ListAnalyses(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var got, wantIDs []string
		for _, a := range list {
			got = append(got, a.ID)
		}
		for _, r := range slices.Backward(want) {
			if (f.Config == "" || r.config == f.Config) && (f.Status == "" || r.status == string(f.Status)) && (f.Verdict == "" || r.verdict == f.Verdict) {
				wantIDs = append(wantIDs, r.id)
			}
		}
		if !slices.Equal(got, wantIDs) {
			t.Errorf("list %+v after the migration: %v, want %v", f, got, wantIDs)
		}
	}
	live, err := s.Unfinished(ctx)
	if err != nil || len(live) != 30 || string(live[0].Config) != "name: c1\n" || string(live[0].Request) != `{"n":1}` {
		t.Errorf("unfinished after the migration: %d analyses, %v", len(live), err)
	}
	if c, err := s.GetConfig(ctx, "c1"); err != nil || string(c.Data) != "name: c1" || c.Version != 3 {
		t.Errorf("config after the migration: %+v, %v", c, err)
	}
	if e, err := s.GetEvidence(ctx, "c1", "k"); err != nil || e.Looks != 2 {
		t.Errorf("evidence after the migration: %+v, %v", e, err)
	}
	// Retention deletes a migrated analysis with its documents.
	if n, err := s.DeleteFinished(ctx, time.Unix(0, 3000), 1000); err != nil || n != 120 {
		t.Errorf("DeleteFinished after the migration: %d, %v; want 120", n, err)
	}
	var docs int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM analysis_documents`).Scan(&docs); err != nil || docs != 30 {
		t.Errorf("%d documents rows left (%v); want the 30 of the analyses left", docs, err)
	}
}

// TestSQLiteStatsVacuum checks that Stats counts the rows and sees the
// room deleted analyses leave free, and that Vacuum gives it back to the
// file system and empties the write-ahead log, keeping the rows left.
func TestSQLiteStatsVacuum(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	o := Outcome{Status: Finished, Verdict: "pass", Report: bytes.Repeat([]byte(`{"reason":"noise"},`), 2000)}
	// Incompressible series, so that each analysis takes pages.
	series := make([]byte, 64<<10)
	for i := range series {
		series[i] = byte(i*7919 + i/251*31 + i*i%253)
	}
	o.Series = []byte(fmt.Sprintf("%x", series))
	for i := range 40 {
		id := fmt.Sprintf("a%02d", i)
		if err := s.CreateAnalysis(ctx, &Analysis{ID: id, Config: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishAnalysis(ctx, id, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutConfig(ctx, "c", []byte("name: c")); err != nil {
		t.Fatal(err)
	}
	full, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if full.Path != path || full.Analyses != 40 || full.Configs != 1 || full.Evidence != 0 || full.SchemaVersion != len(migrations) ||
		full.FileBytes+full.WALBytes < 40*int64(len(series)) || full.BytesPerAnalysis() <= 0 {
		t.Fatalf("stats of 40 analyses: %+v", full)
	}
	if n, err := s.DeleteFinished(ctx, time.Now().Add(time.Hour), 30); err != nil || n != 30 {
		t.Fatalf("DeleteFinished: %d, %v", n, err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if deleted.Analyses != 10 || deleted.FreeBytes < 20*int64(len(series)) {
		t.Fatalf("stats after deleting 30 of 40 analyses: %+v; want their room free", deleted)
	}
	if err := s.Vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Analyses != 10 || after.FreeBytes != 0 || after.WALBytes != 0 || after.FileBytes > deleted.FileBytes-deleted.FreeBytes {
		t.Errorf("stats after vacuum: %+v; before %+v", after, deleted)
	}
	if a, err := s.GetAnalysis(ctx, "a39"); err != nil || !bytes.Equal(a.Series, o.Series) {
		t.Errorf("an analysis after vacuum: %v", err)
	}
}
