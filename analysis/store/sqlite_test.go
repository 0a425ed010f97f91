package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
// on for concurrent readers and writers: WAL, a busy timeout on both pools,
// one writer connection, and readers that cannot write.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	// The readers wait in SQLite's busy handler; the writer retries its
	// transactions itself (write), so SQLite must not make it wait.
	for _, tc := range []struct {
		name string
		db   *sql.DB
		want int64
	}{{"reader", s.db, busyTimeout.Milliseconds()}, {"writer", s.w, 0}} {
		var timeout int64
		if err := tc.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != tc.want {
			t.Errorf("%s busy_timeout = %d, %v; want %d", tc.name, timeout, err, tc.want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("the writer pool has up to %d connections; want 1", n)
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE schema_version SET version = version"); err == nil {
		t.Error("a reader connection could write")
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
	for _, q := range []string{"DROP TABLE analysis_documents", "DROP TABLE analyses", "DROP TABLE configs", "DROP TABLE evidence", "DROP TABLE firings", "DROP TABLE schema_version"} {
		if _, err := old.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.migrate(ctx, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := old.w.ExecContext(ctx, `INSERT INTO analyses (id, config, request, status, created_at, updated_at) VALUES ('old', 'x', '{}', 'running', 1, 1)`); err != nil {
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
	if _, err := s.w.ExecContext(ctx, "UPDATE schema_version SET version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(ctx, path); err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// TestSQLiteConcurrentOpens opens one database from several stores at
// once, as servers and `verdict analyze --db` starting together do: every
// open's migration check must wait for the others' instead of failing with
// SQLITE_BUSY (a deferred transaction that read first could not take the
// write lock without giving up its snapshot), and they must all then write.
func TestSQLiteConcurrentOpens(t *testing.T) {
	ctx := context.Background()
	_, path := openTemp(t) // the database exists: opens find the schema done
	const opens = 8
	errs := make([]error, opens)
	var wg sync.WaitGroup
	for i := range opens {
		wg.Go(func() {
			s, err := OpenSQLite(ctx, path)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.CreateAnalysis(ctx, &Analysis{ID: fmt.Sprintf("a%d", i), Config: []byte("x")})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

// TestSQLiteFileIdentity checks that Ping notices the database file being
// deleted or replaced under the running store (its open handle would keep
// answering from the unlinked file), and that Created says whether the
// open found a database or made a new one.
func TestSQLiteFileIdentity(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
		want   string
	}{
		{"unchanged", func(*testing.T, string) {}, ""},
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "was deleted"},
		{"replaced", func(t *testing.T, path string) {
			other, otherPath := openTemp(t)
			other.Close()
			if err := os.Rename(otherPath, path); err != nil {
				t.Fatal(err)
			}
		}, "was replaced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := openTemp(t)
			if !s.Created() {
				t.Error("Created() = false for a new file")
			}
			tc.change(t, path)
			err := s.Ping(ctx)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Ping after the file was %s: %v; want %q", tc.name, err, tc.want)
			}
			s.Close()
			// Opening the path again finds the database, or makes a new one.
			again, err := OpenSQLite(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			if wantCreated := tc.name == "deleted"; again.Created() != wantCreated {
				t.Errorf("reopened after the file was %s: Created() = %v, want %v", tc.name, again.Created(), wantCreated)
			}
		})
	}
}

// TestSQLiteUnusable checks that a well-formed path to a file that cannot
// be used is ErrUnavailable (an environment failure, exit 70 from serve),
// never a usage error: a path under a regular file, a file that is not a
// database, a directory.
func TestSQLiteUnusable(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(notDB, []byte("these are not the pages of a SQLite database, just text long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(notDB, "sub.db"), notDB, dir} {
		s, err := OpenSQLite(context.Background(), path)
		if err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%s) succeeded", path)
			continue
		}
		if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "open the store "+path+": ") {
			t.Errorf("OpenSQLite(%s) = %v; want ErrUnavailable naming the path", path, err)
		}
	}
}
