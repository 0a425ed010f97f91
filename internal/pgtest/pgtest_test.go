package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestNewestBinDir(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions map[string][]string // version dir → files in its bin
		want     string
	}{
		{"numeric not lexical", map[string][]string{"9.6": {"initdb", "postgres"}, "15": {"initdb", "postgres"}, "10": {"initdb", "postgres"}}, "15"},
		{"needs both binaries", map[string][]string{"15": {"initdb", "postgres"}, "16": {"initdb"}}, "15"},
		{"ignores odd names", map[string][]string{"15": {"initdb", "postgres"}, "latest": {"initdb", "postgres"}}, "15"},
		{"none", map[string][]string{"16": {"postgres"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for v, files := range tc.versions {
				bin := filepath.Join(root, v, "bin")
				if err := os.MkdirAll(bin, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					if err := os.WriteFile(filepath.Join(bin, f), nil, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := ""
			if tc.want != "" {
				want = filepath.Join(root, tc.want, "bin")
			}
			if got := newestBinDir(root); got != want {
				t.Errorf("newestBinDir = %q, want %q", got, want)
			}
		})
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(...any)           { r.skipped = true }
func (r *recorder) Fatal(...any)          { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

// TestMissingBinariesFailInCI checks that without PostgreSQL a test skips,
// except under CI=true where it fails, and that Debian's directory wins
// over PATH.
func TestMissingBinariesFailInCI(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	for _, tc := range []struct {
		ci         string
		skip, fail bool
	}{
		{"", true, false}, {"false", true, false}, {"true", false, true},
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		if a, b := binaries(r, empty); a != "" || b != "" || r.skipped != tc.skip || r.failed != tc.fail {
			t.Errorf("CI=%q: %q %q, skipped %v failed %v; want skipped %v failed %v", tc.ci, a, b, r.skipped, r.failed, tc.skip, tc.fail)
		}
	}
	bin := filepath.Join(empty, "16", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(bin, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &recorder{TB: t}
	if a, b := binaries(r, empty); a != filepath.Join(bin, "initdb") || b != filepath.Join(bin, "postgres") || r.skipped || r.failed {
		t.Errorf("with %s: %q %q (skipped %v, failed %v)", bin, a, b, r.skipped, r.failed)
	}
}

func TestStartServesSeparateDatabases(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share the DSN %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := ca.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync = %q, %v; want off", fsync, err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil || n != 0 {
		t.Errorf("the second database sees %d tables named t (%v); want 0", n, err)
	}

	s.Stop()
	if c, err := pgx.Connect(ctx, a); err == nil {
		c.Close(ctx)
		t.Fatal("server still accepts connections after Stop")
	}
	s.Stop() // a second Stop (and the cleanup's) must not block
}
