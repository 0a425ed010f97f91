package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"postgres://u@localhost/verdict", "not available in this build"},
		{"postgresql://u@localhost/verdict", "not available in this build"},
		{"mysql://x", "is not a store"},
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
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Open(%q) = %v, want error containing %q", tc.dsn, err, tc.wantErr)
		}
	}
}

func TestConfigs(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	steps := []struct {
		name, data  string
		wantVersion int64
	}{
		{"checkout", "name: checkout\n", 1},
		{"search", "name: search\n", 1},
		{"checkout", "name: checkout\n# v2\n", 2},
		{"checkout", "name: checkout\n# v3\n", 3},
	}
	for _, st := range steps {
		c, err := s.PutConfig(ctx, st.name, []byte(st.data))
		if err != nil {
			t.Fatal(err)
		}
		if c.Version != st.wantVersion {
			t.Errorf("put %s: version %d, want %d", st.name, c.Version, st.wantVersion)
		}
	}
	got, err := s.GetConfig(ctx, "checkout")
	if err != nil || string(got.Data) != "name: checkout\n# v3\n" || got.Version != 3 || got.UpdatedAt.IsZero() {
		t.Fatalf("GetConfig = %+v, %v", got, err)
	}
	if _, err := s.GetConfig(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetConfig(nope) error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteConfig(ctx, "search"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConfig(ctx, "search"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete error = %v, want ErrNotFound", err)
	}

	// Reopen: the data and the version survive, and migrations do not rerun.
	s.Close()
	s2, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	list, err := s2.ListConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "checkout" || list[0].Version != 3 {
		t.Fatalf("after reopen ListConfigs = %+v", list)
	}
	if v, err := s2.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("schema version %d, %v; want %d", v, err, len(migrations))
	}
	c, err := s2.PutConfig(ctx, "checkout", []byte("x"))
	if err != nil || c.Version != 4 {
		t.Errorf("put after reopen: version %d, %v; want 4", c.Version, err)
	}
}

func TestAnalysisLifecycle(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	mk := func(id, cfg string) {
		t.Helper()
		a := &Analysis{ID: id, ConfigName: cfg, Config: []byte("name: " + cfg), Request: []byte(`{"lookback":"5m"}`), Origin: "api"}
		if err := s.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.Status != Queued || a.CreatedAt.IsZero() {
			t.Fatalf("created %+v", a)
		}
	}
	mk("a1", "checkout")
	mk("a2", "checkout")
	mk("a3", "search")
	mk("a4", "search")
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "a1", Config: []byte("x")}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id error = %v, want ErrConflict", err)
	}

	score := 100.0
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"a1 runs", func() error { return s.UpdateAnalysis(ctx, "a1", Running, Progress{1, 3}, []byte(`[{"index":1}]`)) }, nil},
		{"a1 finishes pass", func() error {
			return s.FinishAnalysis(ctx, "a1", Outcome{Status: Finished, Verdict: "pass", Score: &score, Report: []byte(`{"verdict":"pass"}`), Series: []byte(`[]`), Kayenta: []byte(`{"judgeName":"x"}`)})
		}, nil},
		{"a1 cannot finish twice", func() error { return s.FinishAnalysis(ctx, "a1", Outcome{Status: Finished, Verdict: "fail"}) }, ErrConflict},
		{"a1 cannot be cancelled", func() error { return s.CancelAnalysis(ctx, "a1", "late") }, ErrConflict},
		{"a1 cannot go back to running", func() error { return s.UpdateAnalysis(ctx, "a1", Running, Progress{}, nil) }, ErrConflict},
		{"a2 cancelled", func() error { return s.CancelAnalysis(ctx, "a2", "by request") }, nil},
		{"a2 worker cannot overwrite the cancel", func() error { return s.FinishAnalysis(ctx, "a2", Outcome{Status: Finished, Verdict: "pass"}) }, ErrConflict},
		{"a3 fails", func() error { return s.FinishAnalysis(ctx, "a3", Outcome{Status: Failed, Error: "boom"}) }, nil},
		{"a4 runs", func() error { return s.UpdateAnalysis(ctx, "a4", Running, Progress{0, 2}, nil) }, nil},
		{"unknown id", func() error { return s.CancelAnalysis(ctx, "zz", "") }, ErrNotFound},
		{"finish needs a terminal status", func() error { return s.FinishAnalysis(ctx, "a4", Outcome{Status: Running}) }, errAny},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.want == nil && err != nil:
			t.Errorf("%s: %v", st.name, err)
		case st.want == errAny && err == nil:
			t.Errorf("%s: no error", st.name)
		case st.want != nil && st.want != errAny && !errors.Is(err, st.want):
			t.Errorf("%s: error %v, want %v", st.name, err, st.want)
		}
	}

	// Reopen before reading: everything is on disk.
	s.Close()
	s2, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	a1, err := s2.GetAnalysis(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Status != Finished || a1.Verdict != "pass" || a1.Score == nil || *a1.Score != 100 || string(a1.Report) != `{"verdict":"pass"}` ||
		string(a1.Intervals) != `[{"index":1}]` || string(a1.Kayenta) != `{"judgeName":"x"}` || a1.Progress != (Progress{1, 3}) || a1.FinishedAt.IsZero() || string(a1.Request) != `{"lookback":"5m"}` {
		t.Errorf("a1 = %+v", a1)
	}
	a2, _ := s2.GetAnalysis(ctx, "a2")
	if a2.Status != Cancelled || a2.Verdict != "" || a2.Error != "by request" {
		t.Errorf("a2 = %+v", a2)
	}

	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"all newest first", Filter{}, []string{"a4", "a3", "a2", "a1"}},
		{"by config", Filter{Config: "checkout"}, []string{"a2", "a1"}},
		{"by verdict", Filter{Verdict: "pass"}, []string{"a1"}},
		{"by status", Filter{Status: Running}, []string{"a4"}},
		{"limit", Filter{Limit: 2}, []string{"a4", "a3"}},
		{"since", Filter{Since: a2.CreatedAt}, []string{"a4", "a3", "a2"}},
		{"nothing", Filter{Config: "nope"}, nil},
	} {
		list, err := s2.ListAnalyses(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range list {
			ids = append(ids, a.ID)
			if a.Report != nil {
				t.Errorf("%s: list carries a report", tc.name)
			}
		}
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v, want %v", tc.name, ids, tc.want)
		}
	}

	un, err := s2.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(un) != 1 || un[0].ID != "a4" || string(un[0].Config) != "name: search" || un[0].Status != Running {
		t.Errorf("Unfinished = %+v", un)
	}
	if err := s2.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	var mode string
	if err := s2.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var timeout int
	if err := s2.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 5000 {
		t.Errorf("busy_timeout = %d, %v; want 5000", timeout, err)
	}
}

var errAny = errors.New("any error")

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
	if err != nil || a.Verdict != "fail" || string(a.Kayenta) != "{}" {
		t.Errorf("migrated analysis = %+v, %v", a, err)
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
