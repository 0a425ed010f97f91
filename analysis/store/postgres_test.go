package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/pgtest"
)

// TestPostgres covers what only the PostgreSQL store has: migrations under
// an advisory lock, concurrent starts, and what its errors show.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, srv *pgtest.Server)
	}{
		{"concurrent starts migrate once", testPGConcurrentOpen},
		{"migrations", testPGMigrations},
		{"analyses from before owners", testPGMigrateOwners},
		{"open errors", testPGOpenErrors},
		{"documents compressed with lz4", testPGCompression},
		{"ping after the server stops", testPGPingDown},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, srv) })
	}
}

func testPGConcurrentOpen(t *testing.T, srv *pgtest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := srv.NewDatabase(t)
	const servers = 6
	var wg sync.WaitGroup
	stores := make([]*Postgres, servers)
	errs := make([]error, servers)
	start := make(chan struct{})
	for i := range servers {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = OpenPostgres(ctx, dsn)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("server %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	var rows, max int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &max); err != nil {
		t.Fatal(err)
	}
	if rows != len(pgMigrations) || max != len(pgMigrations) {
		t.Errorf("schema_migrations has %d rows up to %d; want each of the %d steps once", rows, max, len(pgMigrations))
	}
}

func testPGMigrations(t *testing.T, srv *pgtest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := srv.NewDatabase(t)
	s, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "old", Config: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A failing step leaves the schema as it was: all or nothing.
	nextStep := fmt.Sprintf("migration %d", len(pgMigrations)+1)
	bad := append(pgMigrations[:len(pgMigrations):len(pgMigrations)], `ALTER TABLE analyses ADD COLUMN future TEXT; SELECT no_such_function()`)
	if _, err := openPostgres(ctx, dsn, bad); err == nil || !strings.Contains(err.Error(), nextStep) {
		t.Errorf("a failing migration: %v, want an error naming %s", err, nextStep)
	}

	// A later build adds a step: it runs once, and the data stays.
	next := append(pgMigrations[:len(pgMigrations):len(pgMigrations)], `ALTER TABLE analyses ADD COLUMN future TEXT NOT NULL DEFAULT ''`)
	s2, err := openPostgres(ctx, dsn, next)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.SchemaVersion(ctx); err != nil || v != len(next) {
		t.Errorf("version %d, %v; want %d", v, err, len(next))
	}
	var future string
	if err := s2.pool.QueryRow(ctx, `SELECT future FROM analyses WHERE id = 'old'`).Scan(&future); err != nil {
		t.Errorf("the new column: %v", err)
	}
	if a, err := s2.GetAnalysis(ctx, "old"); err != nil || a.Status != Queued {
		t.Errorf("the analysis after migrating: %+v, %v", a, err)
	}
	s2.Close()
	s3, err := openPostgres(ctx, dsn, next)
	if err != nil {
		t.Fatalf("reopening at the same version: %v", err)
	}
	s3.Close()

	// This build does not know the last step: it refuses the database.
	_, err = OpenPostgres(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "newer than this build") || !strings.HasPrefix(err.Error(), "store: open postgres: ") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

func testPGOpenErrors(t *testing.T, srv *pgtest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const pw = "Pa55-w0rd"
	good := srv.DSN("postgres")
	for _, tc := range []struct {
		name, dsn, want string
		unavailable     bool // ErrUnavailable: well formed, but not reachable now
	}{
		{"no such database", strings.Replace(good, "/postgres?", "/nope?", 1), `database "nope" does not exist`, true},
		{"no such role", strings.Replace(good, "://postgres@", "://nobody@", 1), `role "nobody" does not exist`, true},
		{"password in the URL", "postgres://verdict:" + pw + "@127.0.0.1:1/v?connect_timeout=5", "store: open postgres:", true},
		{"password as a parameter", "postgres://verdict@127.0.0.1:1/v?connect_timeout=5&password=" + pw, "store: open postgres:", true},
		// 192.0.2.0/24 is TEST-NET-1: nothing answers (unroutable, or a timeout).
		{"unroutable", "postgres://verdict@192.0.2.1:5432/v?connect_timeout=1", "store: open postgres:", true},
		{"bad parameter", "postgres://verdict:" + pw + "@127.0.0.1/v?sslmode=sometimes", "store: open postgres:", false},
		{"not a URL", "postgres://verdict:" + pw + "@[::1/v", "not a valid postgres:// URL", false},
	} {
		_, err := Open(ctx, tc.dsn)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "store: open postgres:") || !strings.Contains(msg, tc.want) || strings.Contains(msg, pw) {
			t.Errorf("%s: %q; want it to start with store: open postgres:, contain %q and not the password", tc.name, msg, tc.want)
		}
		if errors.Is(err, ErrUnavailable) != tc.unavailable {
			t.Errorf("%s: errors.Is(%q, ErrUnavailable) = %v, want %v", tc.name, msg, !tc.unavailable, tc.unavailable)
		}
	}
}

func testPGPingDown(t *testing.T, _ *pgtest.Server) {
	// A server of its own, to stop under the store.
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := OpenPostgres(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	err = s.Ping(ctx)
	if err == nil {
		t.Fatal("Ping succeeds with the server stopped")
	}
	if errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "store: ") {
		t.Errorf("Ping with the server stopped: %v", err)
	}
}

func testPGCompression(t *testing.T, srv *pgtest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := OpenPostgres(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version int
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 140000 {
		t.Skipf("PostgreSQL %d has no lz4 column compression", version)
	}
	big := []byte(strings.Repeat(`{"times":[1700000000000,1700000010000],"values":[101.25,null]},`, 1000))
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "z", Config: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAnalysis(ctx, "z", Outcome{Status: Finished, Series: big, Report: big}); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"series", "report"} {
		var method *string
		var stored int
		if err := s.pool.QueryRow(ctx, `SELECT pg_column_compression(`+col+`), pg_column_size(`+col+`) FROM analyses WHERE id = 'z'`).Scan(&method, &stored); err != nil {
			t.Fatal(err)
		}
		if method == nil || *method != "lz4" || stored >= len(big)/4 {
			t.Errorf("%s: compression %v, %d bytes stored of %d; want lz4 and under a quarter", col, method, stored, len(big))
		}
	}
	if a, err := s.GetAnalysis(ctx, "z"); err != nil || string(a.Series) != string(big) {
		t.Errorf("the compressed series does not read back (%v)", err)
	}
}

// testPGMigrateOwners opens a database at schema version 1 holding a
// running analysis: after the migration it has no owner and an expired
// lease, so the first claim takes it.
func testPGMigrateOwners(t *testing.T, srv *pgtest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := srv.NewDatabase(t)
	old, err := openPostgres(ctx, dsn, pgMigrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.pool.Exec(ctx, `INSERT INTO analyses (id, config, request, status, created_at, updated_at) VALUES ('old', 'x', '{}', 'running', now(), now())`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.GetAnalysis(ctx, "old")
	if err != nil || a.Owner != "" || !a.LeaseUntil.IsZero() {
		t.Fatalf("migrated analysis: owner %q lease %v, %v; want no owner and a zero lease", a.Owner, a.LeaseUntil, err)
	}
	now := time.Now()
	got, err := s.ClaimUnfinished(ctx, "r1", now, now.Add(time.Minute), 0)
	if err != nil || len(got) != 1 || got[0].ID != "old" || got[0].ClaimedFrom != "" || got[0].Owner != "r1" {
		t.Errorf("claim after the migration: %+v, %v; want old, from no owner", got, err)
	}
}
