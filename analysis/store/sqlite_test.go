package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func openTemp(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "verdict.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenDSN(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		dsn     string
		wantErr string
	}{
		{"sqlite:" + filepath.Join(dir, "a.db"), ""},
		{filepath.Join(dir, "b.db"), ""},
		// Nothing listens on port 1: the PostgreSQL store is chosen and
		// fails to connect, without showing the password.
		{"postgres://u:s3cret@127.0.0.1:1/verdict?connect_timeout=5", "store: open postgres:"},
		{"postgresql://u:s3cret@127.0.0.1:1/verdict?connect_timeout=5", "store: open postgres:"},
		{"mysql://x", "is not a store"},
		{"mysql://u:s3cret@db/v", `"mysql://u:xxxxx@db/v" is not a store`},
		{"u:s3cret@db", "the DSN is not a store"},
		{"sqlite:", "needs a file path"},
	} {
		s, err := Open(ctx, tc.dsn)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("Open(%q): %v", tc.dsn, err)
				continue
			}
			s.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v, want error containing %q (and no password)", tc.dsn, err, tc.wantErr)
		}
	}
}

// TestSQLitePragmas checks the connection settings the SQLite store relies
// on for concurrent readers and writers.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var timeout int
	if err := s.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 5000 {
		t.Errorf("busy_timeout = %d, %v; want 5000", timeout, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("schema version %d, %v; want %d", v, err, len(migrations))
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ok       bool
		terminal bool
	}{
		{"queued", true, false}, {"running", true, false}, {"finished", true, true},
		{"failed", true, true}, {"cancelled", true, true}, {"interrupted", true, true}, {"done", false, false},
	} {
		st, err := ParseStatus(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseStatus(%q) error %v", tc.in, err)
		}
		if err == nil && st.Terminal() != tc.terminal {
			t.Errorf("%s.Terminal() = %v", st, st.Terminal())
		}
	}
}

// TestMigrateFromVersion1 opens a database written by the first schema
// (with an analysis in it) and checks that opening it with this build
// applies the later migrations and keeps the data.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild it as version 1: drop everything and apply the first step only.
	for _, q := range []string{"DROP TABLE analyses", "DROP TABLE configs", "DROP TABLE schema_version"} {
		if _, err := old.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.migrate(ctx, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := old.db.ExecContext(ctx, `INSERT INTO analyses (id, config, request, status, created_at, updated_at) VALUES ('old', 'x', '{}', 'running', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if v, _ := old.SchemaVersion(ctx); v != 1 {
		t.Fatalf("version %d, want 1", v)
	}
	old.Close()

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Errorf("version %d after reopening, want %d", v, len(migrations))
	}
	if err := s.FinishAnalysis(ctx, "old", Outcome{Status: Finished, Verdict: "fail", Kayenta: []byte("{}")}); err != nil {
		t.Fatalf("the migrated table does not take the new column: %v", err)
	}
	a, err := s.GetAnalysis(ctx, "old")
	if err != nil || a.Verdict != "fail" || string(a.Kayenta) != "{}" || a.Owner != "" || !a.LeaseUntil.IsZero() {
		t.Errorf("migrated analysis = %+v, %v; want no owner and an expired lease", a, err)
	}
	// A database newer than the build is refused, not damaged.
	if _, err := s.db.ExecContext(ctx, "UPDATE schema_version SET version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(ctx, path); err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("opening a newer schema: %v", err)
	}
}
