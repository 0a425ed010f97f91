package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/metrics"
)

// This file is the behavioural suite every Store implementation must pass:
// each case runs against SQLite and against a real PostgreSQL
// (internal/pgtest), so the two cannot drift apart. Implementation-specific
// checks (pragmas, migrations from old schemas) live in sqlite_test.go and
// postgres_test.go.

// database opens stores of one backend on one database: open gives a new
// Store on the same data each time it is called (a reopen, or a second
// replica), closed when the test ends.
type database struct {
	open func(t *testing.T) Store
}

// backend makes empty databases of one implementation.
type backend struct {
	name  string
	fresh func(t *testing.T) database
}

// setClock replaces a store's clock (tests only).
func setClock(t *testing.T, s Store, now func() time.Time) {
	t.Helper()
	switch s := s.(type) {
	case *SQLite:
		s.now = now
	case *Postgres:
		s.now = now
	default:
		t.Fatalf("no clock to set on %T", s)
	}
}

func sqliteBackend() backend {
	return backend{name: "sqlite", fresh: func(t *testing.T) database {
		path := filepath.Join(t.TempDir(), "verdict.db")
		return database{open: func(t *testing.T) Store {
			t.Helper()
			s, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}}
	}}
}

func postgresBackend(srv *pgtest.Server) backend {
	return backend{name: "postgres", fresh: func(t *testing.T) database {
		dsn := srv.NewDatabase(t)
		return database{open: func(t *testing.T) Store {
			t.Helper()
			s, err := OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}}
	}}
}

// suiteCases are the behaviours every store has.
var suiteCases = []struct {
	name string
	run  func(t *testing.T, db database)
}{
	{"configs", testConfigs},
	{"analysis lifecycle", testAnalysisLifecycle},
	{"timestamps", testTimestamps},
	{"ordering ties", testOrderingTies},
	{"limits", testLimits},
	{"documents", testDocuments},
	{"errors", testErrors},
	{"resume after restart", testResume},
	{"parallel writers", testParallelWriters},
	{"two replicas", testTwoReplicas},
	{"leases and claims", testLeases},
	{"bounded claims", testBoundedClaims},
	{"concurrent claims", testConcurrentClaims},
	{"retention", testRetention},
	{"scopes and final progress", testScopesAndFinalProgress},
	{"evidence", testEvidence},
	{"evidence writers race", testEvidenceRace},
	{"evidence retention", testEvidenceRetention},
	{"firings", testFirings},
	{"firings claimed at once", testFiringsRace},
	{"config versions", testConfigVersions},
}

func TestSuite(t *testing.T) {
	runSuite := func(t *testing.T, b backend) {
		for _, c := range suiteCases {
			t.Run(c.name, func(t *testing.T) { c.run(t, b.fresh(t)) })
		}
	}
	t.Run("sqlite", func(t *testing.T) { runSuite(t, sqliteBackend()) })
	t.Run("postgres", func(t *testing.T) { runSuite(t, postgresBackend(pgtest.Start(t))) })
}

func testConfigs(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	steps := []struct {
		name, data  string
		wantVersion int64
	}{
		{"checkout", "name: checkout\n", 1},
		{"search", "name: search\n", 1},
		{"checkout", "name: checkout\n# v2\n", 2},
		{"checkout", "name: checkout\n# v3\n", 3},
		// Bytewise order, whatever the database's locale: B < _x < a < checkout.
		{"a", "x", 1},
		{"_x", "x", 1},
		{"B", "\xff\xfe not UTF-8", 1},
	}
	for _, st := range steps {
		c, err := s.PutConfig(ctx, st.name, []byte(st.data))
		if err != nil {
			t.Fatal(err)
		}
		if c.Version != st.wantVersion || c.Name != st.name || string(c.Data) != st.data || c.UpdatedAt.IsZero() {
			t.Errorf("put %s: %+v, want version %d", st.name, c, st.wantVersion)
		}
	}
	got, err := s.GetConfig(ctx, "checkout")
	if err != nil || string(got.Data) != "name: checkout\n# v3\n" || got.Version != 3 || got.UpdatedAt.IsZero() {
		t.Fatalf("GetConfig = %+v, %v", got, err)
	}
	if b, err := s.GetConfig(ctx, "B"); err != nil || string(b.Data) != "\xff\xfe not UTF-8" {
		t.Errorf("GetConfig(B) = %q, %v: the bytes changed", b.Data, err)
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
	if _, err := s.GetConfig(ctx, "search"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetConfig after delete error = %v, want ErrNotFound", err)
	}

	// Reopen: the data and the versions survive.
	s.Close()
	s2 := db.open(t)
	list, err := s2.ListConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, fmt.Sprintf("%s@%d", c.Name, c.Version))
	}
	if want := "B@1,_x@1,a@1,checkout@3"; strings.Join(names, ",") != want {
		t.Errorf("after reopen ListConfigs = %v, want %s", names, want)
	}
	c, err := s2.PutConfig(ctx, "checkout", []byte("x"))
	if err != nil || c.Version != 4 {
		t.Errorf("put after reopen: version %d, %v; want 4", c.Version, err)
	}
	// A deleted name starts again at version 1.
	if c, err := s2.PutConfig(ctx, "search", []byte("x")); err != nil || c.Version != 1 {
		t.Errorf("put after delete: version %d, %v; want 1", c.Version, err)
	}
}

var errAny = errors.New("any error")

func testAnalysisLifecycle(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { clock = clock.Add(time.Second); return clock })

	mk := func(id, cfg string) {
		t.Helper()
		a := &Analysis{ID: id, ConfigName: cfg, Config: []byte("name: " + cfg), Request: []byte(`{"lookback":"5m"}`), Origin: "api"}
		if err := s.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.Status != Queued || a.CreatedAt.IsZero() || !a.UpdatedAt.Equal(a.CreatedAt) {
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
		{"a1 progresses without new intervals", func() error { return s.UpdateAnalysis(ctx, "a1", Running, Progress{1, 3}, nil) }, nil},
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
		{"unknown id update", func() error { return s.UpdateAnalysis(ctx, "zz", Running, Progress{}, nil) }, ErrNotFound},
		{"finish needs a terminal status", func() error { return s.FinishAnalysis(ctx, "a4", Outcome{Status: Running}) }, errAny},
		{"update refuses a terminal status", func() error { return s.UpdateAnalysis(ctx, "a4", Finished, Progress{}, nil) }, errAny},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.want == nil && err != nil:
			t.Errorf("%s: %v", st.name, err)
		case st.want == errAny && (err == nil || errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound)):
			t.Errorf("%s: error %v, want a usage error", st.name, err)
		case st.want != nil && st.want != errAny && !errors.Is(err, st.want):
			t.Errorf("%s: error %v, want %v", st.name, err, st.want)
		}
	}

	// Reopen before reading: everything was stored.
	s.Close()
	s2 := db.open(t)
	a1, err := s2.GetAnalysis(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Status != Finished || a1.Verdict != "pass" || a1.Score == nil || *a1.Score != 100 || string(a1.Report) != `{"verdict":"pass"}` ||
		string(a1.Series) != `[]` || string(a1.Intervals) != `[{"index":1}]` || string(a1.Kayenta) != `{"judgeName":"x"}` ||
		a1.Progress != (Progress{1, 3}) || string(a1.Request) != `{"lookback":"5m"}` || string(a1.Config) != "name: checkout" ||
		a1.ConfigName != "checkout" || a1.Origin != "api" || a1.Error != "" {
		t.Errorf("a1 = %+v", a1)
	}
	// The clock ticks once a call: a1 was created at 12:00:01, finished at the 8th tick.
	if want := time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC); !a1.CreatedAt.Equal(want) {
		t.Errorf("a1 created %v, want %v", a1.CreatedAt, want)
	}
	if !a1.FinishedAt.After(a1.CreatedAt) || !a1.UpdatedAt.Equal(a1.FinishedAt) {
		t.Errorf("a1 created %v updated %v finished %v", a1.CreatedAt, a1.UpdatedAt, a1.FinishedAt)
	}
	a2, _ := s2.GetAnalysis(ctx, "a2")
	if a2.Status != Cancelled || a2.Verdict != "" || a2.Error != "by request" || a2.Score != nil || a2.Report != nil {
		t.Errorf("a2 = %+v", a2)
	}
	a4, _ := s2.GetAnalysis(ctx, "a4")
	if a4.Status != Running || a4.Progress != (Progress{0, 2}) || a4.Intervals != nil || !a4.FinishedAt.IsZero() || !a4.UpdatedAt.After(a4.CreatedAt) {
		t.Errorf("a4 = %+v", a4)
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
		{"by status cancelled", Filter{Status: Cancelled}, []string{"a2"}},
		{"config and status", Filter{Config: "search", Status: Failed}, []string{"a3"}},
		{"limit", Filter{Limit: 2}, []string{"a4", "a3"}},
		{"since", Filter{Since: a2.CreatedAt}, []string{"a4", "a3", "a2"}},
		{"since and config", Filter{Since: a2.CreatedAt, Config: "checkout"}, []string{"a2"}},
		{"nothing", Filter{Config: "nope"}, nil},
	} {
		list, err := s2.ListAnalyses(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range list {
			ids = append(ids, a.ID)
			if a.Report != nil || a.Series != nil || a.Kayenta != nil || a.Config != nil || a.Request != nil {
				t.Errorf("%s: list carries documents: %+v", tc.name, a)
			}
			if a.ID == "a1" && (a.Verdict != "pass" || a.Score == nil || a.Progress != (Progress{1, 3}) || string(a.Intervals) != `[{"index":1}]`) {
				t.Errorf("%s: listed a1 = %+v", tc.name, a)
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
	if len(un) != 1 || un[0].ID != "a4" || string(un[0].Config) != "name: search" || string(un[0].Request) != `{"lookback":"5m"}` || un[0].Status != Running {
		t.Errorf("Unfinished = %+v", un)
	}
	if err := s2.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// testTimestamps checks that times read back equal the ones CreateAnalysis
// returned (whatever precision the store keeps), are UTC, and that Since
// is inclusive to the nanosecond.
func testTimestamps(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	base := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 3600))
	tick := 0
	setClock(t, s, func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) })
	var created []time.Time
	for i := range 3 {
		a := &Analysis{ID: fmt.Sprintf("t%d", i), Config: []byte("x")}
		if err := s.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt %v is not UTC", a.CreatedAt)
		}
		if d := a.CreatedAt.Sub(base.Add(time.Duration(i+1) * time.Second)); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("CreatedAt %v is %v from the clock", a.CreatedAt, d)
		}
		created = append(created, a.CreatedAt)
	}
	for i, want := range created {
		a, err := s.GetAnalysis(ctx, fmt.Sprintf("t%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !a.CreatedAt.Equal(want) || a.CreatedAt.Location() != time.UTC {
			t.Errorf("t%d read back created %v, CreateAnalysis said %v", i, a.CreatedAt, want)
		}
	}
	for _, tc := range []struct {
		name  string
		since time.Time
		want  string
	}{
		{"at t1", created[1], "t2,t1"},
		{"a nanosecond after t1", created[1].Add(time.Nanosecond), "t2"},
		{"a nanosecond before t1", created[1].Add(-time.Nanosecond), "t2,t1"},
		{"in another zone", created[1].In(time.FixedZone("Y", -7*3600)), "t2,t1"},
		{"after all", created[2].Add(time.Millisecond), ""},
	} {
		list, err := s.ListAnalyses(ctx, Filter{Since: tc.since})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(list); got != tc.want {
			t.Errorf("since %s: %s, want %s", tc.name, got, tc.want)
		}
	}
	c, err := s.PutConfig(ctx, "c", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetConfig(ctx, "c"); err != nil || !got.UpdatedAt.Equal(c.UpdatedAt) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("config UpdatedAt read %v, put said %v (%v)", got.UpdatedAt, c.UpdatedAt, err)
	}
}

func ids(list []Analysis) string {
	var out []string
	for _, a := range list {
		out = append(out, a.ID)
	}
	return strings.Join(out, ",")
}

// testOrderingTies checks that analyses created at the same instant come in
// id order (bytewise) in lists, newest first, and in Unfinished.
func testOrderingTies(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { return at })
	for _, id := range []string{"b", "a", "C", "_"} {
		if err := s.CreateAnalysis(ctx, &Analysis{ID: id, Config: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	at = at.Add(time.Minute)
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "later", Config: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAnalyses(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(list), "later,C,_,a,b"; got != want {
		t.Errorf("ListAnalyses: %s, want %s", got, want)
	}
	un, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(un), "C,_,a,b,later"; got != want {
		t.Errorf("Unfinished: %s, want %s", got, want)
	}
}

// testLimits checks the default (100) and the ceiling (1000) of a list.
func testLimits(t *testing.T, db database) {
	if testing.Short() {
		t.Skip("stores 1,001 analyses")
	}
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { clock = clock.Add(time.Millisecond); return clock })
	for i := range 1001 {
		if err := s.CreateAnalysis(ctx, &Analysis{ID: fmt.Sprintf("a%04d", i), Config: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		limit, want int
		first       string
	}{
		{0, 100, "a1000"}, {-5, 100, "a1000"}, {7, 7, "a1000"}, {1000, 1000, "a1000"}, {5000, 1000, "a1000"},
	} {
		list, err := s.ListAnalyses(ctx, Filter{Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			t.Fatalf("limit %d: nothing listed", tc.limit)
		}
		if len(list) != tc.want || list[0].ID != tc.first || list[len(list)-1].ID != fmt.Sprintf("a%04d", 1001-tc.want) {
			t.Errorf("limit %d: %d analyses from %s to %s, want %d from %s", tc.limit, len(list), list[0].ID, list[len(list)-1].ID, tc.want, tc.first)
		}
	}
	un, err := s.Unfinished(ctx)
	if err != nil || len(un) != 1001 {
		t.Errorf("Unfinished has no limit: %d analyses, %v", len(un), err)
	}
}

// testDocuments checks that every document comes back byte for byte,
// including large and non-JSON ones, and that absent ones stay absent.
func testDocuments(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	big := bytes.Repeat([]byte(`{"name":"p99","values":[1.5,null,-2e-300]},`), 30000) // 1.3 MB
	big = append(append([]byte("["), big[:len(big)-1]...), ']')
	odd := []byte("  {\"b\": 1,   \"a\": [1.0, 1e2]}\n") // JSONB would reorder and respace this
	a := &Analysis{ID: "d", Config: []byte("name: d\n\xff"), Request: odd}
	if err := s.CreateAnalysis(ctx, a); err != nil {
		t.Fatal(err)
	}
	noReq := &Analysis{ID: "e", Config: []byte("x")}
	if err := s.CreateAnalysis(ctx, noReq); err != nil {
		t.Fatal(err)
	}
	if string(noReq.Request) != "{}" {
		t.Errorf("a nil request is stored as %q, want {}", noReq.Request)
	}
	if err := s.UpdateAnalysis(ctx, "d", Running, Progress{1, 1}, odd); err != nil {
		t.Fatal(err)
	}
	score := 87.5
	if err := s.FinishAnalysis(ctx, "d", Outcome{Status: Finished, Verdict: "marginal", Score: &score, Report: odd, Series: big}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAnalysis(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"config", got.Config, a.Config}, {"request", got.Request, odd}, {"intervals", got.Intervals, odd},
		{"report", got.Report, odd}, {"series", got.Series, big},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: %d bytes back, %d stored (first %.40q)", c.name, len(c.got), len(c.want), c.got)
		}
	}
	if got.Kayenta != nil || got.Score == nil || *got.Score != 87.5 {
		t.Errorf("kayenta %q (want none), score %v", got.Kayenta, got.Score)
	}
	e, err := s.GetAnalysis(ctx, "e")
	if err != nil || e.Intervals != nil || e.Report != nil || e.Series != nil || e.Score != nil {
		t.Errorf("an analysis without documents reads %+v, %v", e, err)
	}
}

// testErrors checks the errors callers branch on and what messages name.
func testErrors(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	if err := s.CreateAnalysis(ctx, &Analysis{Config: []byte("x")}); err == nil || errors.Is(err, ErrConflict) {
		t.Errorf("an analysis without id: %v", err)
	}
	// The config text is required (nil is not stored as empty).
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "noconfig"}); err == nil || errors.Is(err, ErrConflict) {
		t.Errorf("an analysis without config: %v", err)
	}
	if _, err := s.GetAnalysis(ctx, "noconfig"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an analysis without config was stored: %v", err)
	}
	if _, err := s.PutConfig(ctx, "nodata", nil); err == nil {
		t.Error("a config without data was stored")
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"get analysis", func() error { _, err := s.GetAnalysis(ctx, "missing-id"); return err }(), ErrNotFound},
		{"finish", s.FinishAnalysis(ctx, "missing-id", Outcome{Status: Failed}), ErrNotFound},
		{"get config", func() error { _, err := s.GetConfig(ctx, "missing-id"); return err }(), ErrNotFound},
		{"delete config", s.DeleteConfig(ctx, "missing-id"), ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.want) || !strings.Contains(fmt.Sprint(tc.err), "missing-id") {
			t.Errorf("%s: %v, want %v naming missing-id", tc.name, tc.err, tc.want)
		}
	}
	// Keys no text column can hold (a NUL byte, invalid UTF-8) are simply
	// not found, as in SQLite; PostgreSQL would refuse the query.
	for _, key := range []string{"a\x00b", "\xff\xfe", "ok\x80"} {
		for name, err := range map[string]error{
			"get analysis":    func() error { _, err := s.GetAnalysis(ctx, key); return err }(),
			"update analysis": s.UpdateAnalysis(ctx, key, Running, Progress{}, nil),
			"finish":          s.FinishAnalysis(ctx, key, Outcome{Status: Failed}),
			"cancel":          s.CancelAnalysis(ctx, key, "x"),
			"get config":      func() error { _, err := s.GetConfig(ctx, key); return err }(),
			"delete config":   s.DeleteConfig(ctx, key),
		} {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s %q: %v, want not found", name, key, err)
			}
		}
		for _, f := range []Filter{{Config: key}, {Verdict: key}, {Status: Status(key)}} {
			if list, err := s.ListAnalyses(ctx, f); err != nil || len(list) != 0 {
				t.Errorf("list with %+v: %d analyses, %v; want none", f, len(list), err)
			}
		}
	}
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "x", Config: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelAnalysis(ctx, "x", "stop"); err != nil {
		t.Fatal(err)
	}
	err := s.CancelAnalysis(ctx, "x", "again")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "already cancelled") {
		t.Errorf("cancel twice: %v, want ErrConflict saying already cancelled", err)
	}
	// Free text from remote systems may hold anything; the store must take it.
	if err := s.CreateAnalysis(ctx, &Analysis{ID: "y", Config: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAnalysis(ctx, "y", Outcome{Status: Failed, Error: "bad \xff answer \x00 from Prometheus"}); err != nil {
		t.Errorf("an error text with invalid UTF-8 and NUL: %v", err)
	}
	if y, err := s.GetAnalysis(ctx, "y"); err != nil || !strings.HasPrefix(y.Error, "bad ") || !strings.Contains(y.Error, "from Prometheus") {
		t.Errorf("stored error %q, %v", y.Error, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ListAnalyses(cctx, Filter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v, want context.Canceled", err)
	}
}

// testResume plays what a restarted server does with the store: list the
// unfinished analyses (oldest first, with config and request), mark some
// interrupted, and find that a late second attempt conflicts.
func testResume(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { clock = clock.Add(time.Second); return clock })
	for _, a := range []*Analysis{
		{ID: "queued", ConfigName: "c", Config: []byte("name: c"), Request: []byte(`{"lifetime":"1h"}`), Origin: "api"},
		{ID: "running", Config: []byte("name: inline"), Request: []byte(`{"lookback":"5m"}`), Origin: "schedule"},
		{ID: "done", Config: []byte("x")},
		{ID: "sync", Config: []byte("x"), Origin: "argo"},
	} {
		if err := s.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateAnalysis(ctx, "running", Running, Progress{2, 5}, []byte(`[1,2]`)); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAnalysis(ctx, "sync", Running, Progress{0, 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAnalysis(ctx, "done", Outcome{Status: Finished, Verdict: "pass"}); err != nil {
		t.Fatal(err)
	}
	// The server dies; a new one opens the store.
	s.Close()
	s2 := db.open(t)
	un, err := s2.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(un); got != "queued,running,sync" {
		t.Fatalf("Unfinished = %s, want queued,running,sync", got)
	}
	r := un[1]
	if r.Status != Running || r.Progress != (Progress{2, 5}) || string(r.Config) != "name: inline" || string(r.Request) != `{"lookback":"5m"}` || r.Origin != "schedule" || string(r.Intervals) != "[1,2]" {
		t.Errorf("unfinished running = %+v", r)
	}
	if q := un[0]; q.Status != Queued || q.ConfigName != "c" || string(q.Request) != `{"lifetime":"1h"}` {
		t.Errorf("unfinished queued = %+v", q)
	}
	// Resume one, interrupt the synchronous one.
	if err := s2.UpdateAnalysis(ctx, "running", Running, Progress{3, 5}, nil); err != nil {
		t.Errorf("resuming: %v", err)
	}
	interrupt := Outcome{Status: Interrupted, Error: "the server stopped while the analysis ran"}
	if err := s2.FinishAnalysis(ctx, "sync", interrupt); err != nil {
		t.Fatal(err)
	}
	if err := s2.FinishAnalysis(ctx, "sync", interrupt); !errors.Is(err, ErrConflict) {
		t.Errorf("interrupting twice: %v, want ErrConflict", err)
	}
	if err := s2.UpdateAnalysis(ctx, "sync", Running, Progress{}, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("an interrupted analysis went back to running: %v", err)
	}
	got, err := s2.GetAnalysis(ctx, "sync")
	if err != nil || got.Status != Interrupted || got.Verdict != "" || got.Error != interrupt.Error || got.FinishedAt.IsZero() {
		t.Errorf("interrupted analysis = %+v, %v", got, err)
	}
	un, _ = s2.Unfinished(ctx)
	if got := ids(un); got != "queued,running" {
		t.Errorf("Unfinished after the restart = %s, want queued,running", got)
	}
}

// testParallelWriters has many goroutines write at once: config versions
// are handed out once each, every analysis is stored, and of a finish and
// a cancel racing on one analysis exactly one wins.
func testParallelWriters(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	const writers, each = 8, 15
	var wg sync.WaitGroup
	versions := make(chan int64, writers*each)
	errs := make(chan error, 4*writers*each)
	type race struct{ finish, cancel error }
	races := make([]race, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				c, err := s.PutConfig(ctx, "shared", fmt.Appendf(nil, "w%d i%d", w, i))
				if err != nil {
					errs <- err
					continue
				}
				versions <- c.Version
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.CreateAnalysis(ctx, &Analysis{ID: id, ConfigName: "shared", Config: []byte("x")}); err != nil {
					errs <- err
					continue
				}
				if err := s.UpdateAnalysis(ctx, id, Running, Progress{0, 1}, nil); err != nil {
					errs <- err
				}
				var rw sync.WaitGroup
				r := &races[w*each+i]
				rw.Go(func() { r.finish = s.FinishAnalysis(ctx, id, Outcome{Status: Finished, Verdict: "pass"}) })
				rw.Go(func() { r.cancel = s.CancelAnalysis(ctx, id, "race") })
				rw.Wait()
			}
		})
	}
	wg.Wait()
	close(versions)
	close(errs)
	for err := range errs {
		t.Errorf("parallel write: %v", err)
	}
	var got []int64
	for v := range versions {
		got = append(got, v)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("config versions %v: want each of 1..%d once", got, writers*each)
		}
	}
	if c, err := s.GetConfig(ctx, "shared"); err != nil || c.Version != writers*each {
		t.Errorf("final config version %d, %v; want %d", c.Version, err, writers*each)
	}
	finished := 0
	for i, r := range races {
		id := fmt.Sprintf("w%d-%d", i/each, i%each)
		a, err := s.GetAnalysis(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.finish == nil && errors.Is(r.cancel, ErrConflict) && a.Status == Finished && a.Verdict == "pass":
			finished++
		case r.cancel == nil && errors.Is(r.finish, ErrConflict) && a.Status == Cancelled && a.Verdict == "":
		default:
			t.Errorf("%s: finish %v, cancel %v, stored %s %q; want exactly one winner", id, r.finish, r.cancel, a.Status, a.Verdict)
		}
	}
	list, err := s.ListAnalyses(ctx, Filter{Config: "shared", Limit: 1000})
	if err != nil || len(list) != writers*each {
		t.Errorf("listed %d analyses, %v; want %d", len(list), err, writers*each)
	}
	t.Logf("%d of %d races won by the finish", finished, len(races))
}

// testTwoReplicas opens two stores on one database at once: what one
// writes, the other reads, and a state change through one is final for
// the other.
func testTwoReplicas(t *testing.T, db database) {
	ctx := context.Background()
	a, b := db.open(t), db.open(t)
	if _, err := a.PutConfig(ctx, "c", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if c, err := b.PutConfig(ctx, "c", []byte("two")); err != nil || c.Version != 2 {
		t.Errorf("second replica's put: version %d, %v; want 2", c.Version, err)
	}
	if err := a.CreateAnalysis(ctx, &Analysis{ID: "x", Config: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateAnalysis(ctx, &Analysis{ID: "x", Config: []byte("x")}); !errors.Is(err, ErrConflict) {
		t.Errorf("same id through the second replica: %v, want ErrConflict", err)
	}
	if err := b.CancelAnalysis(ctx, "x", "by b"); err != nil {
		t.Fatal(err)
	}
	if err := a.FinishAnalysis(ctx, "x", Outcome{Status: Finished, Verdict: "pass"}); !errors.Is(err, ErrConflict) {
		t.Errorf("finish through a after b cancelled: %v, want ErrConflict", err)
	}
	if got, err := a.GetAnalysis(ctx, "x"); err != nil || got.Status != Cancelled || got.Error != "by b" {
		t.Errorf("a reads %+v, %v", got, err)
	}
}

// testRetention checks DeleteFinished: it deletes only analyses that ended
// before the cutoff, the longest ended first and at most the limit per
// call, whatever their status (finished, failed, cancelled, interrupted),
// and never a live one however old; what it keeps reads as before.
func testRetention(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { return clock })
	at := func(day int) time.Time { return time.Date(2025, 3, day, 0, 0, 0, 0, time.UTC) }
	// Each analysis is created on day 1 and ends (or not) on its day.
	for _, a := range []struct {
		id  string
		end Status
		day int
	}{
		{"f3", Finished, 3}, {"c2", Cancelled, 2}, {"x4", Failed, 4}, {"i5", Interrupted, 5},
		{"f20", Finished, 20}, {"q", Queued, 0}, {"r", Running, 0},
	} {
		clock = at(1)
		if err := s.CreateAnalysis(ctx, &Analysis{ID: a.id, Config: []byte("x"), Status: Running}); err != nil {
			t.Fatal(err)
		}
		switch a.end {
		case Queued, Running:
			if err := s.UpdateAnalysis(ctx, a.id, a.end, Progress{}, nil); err != nil {
				t.Fatal(err)
			}
		default:
			clock = at(a.day)
			if err := s.FinishAnalysis(ctx, a.id, Outcome{Status: a.end, Verdict: "pass", Report: []byte(`{"r":1}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	remaining := func() string {
		t.Helper()
		list, err := s.ListAnalyses(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range list {
			out = append(out, a.ID)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	cutoff := at(10) // f3, c2, x4 and i5 ended before it; f20 after
	n, err := s.DeleteFinished(ctx, cutoff, 2)
	if err != nil || n != 2 {
		t.Fatalf("first DeleteFinished: %d, %v; want 2", n, err)
	}
	if got, want := remaining(), "f20,i5,q,r,x4"; got != want {
		t.Errorf("after the first batch: %s; want %s (c2 and f3 ended first)", got, want)
	}
	if n, err := s.DeleteFinished(ctx, cutoff, 5); err != nil || n != 2 {
		t.Errorf("second DeleteFinished: %d, %v; want the last 2 before the cutoff", n, err)
	}
	if n, err := s.DeleteFinished(ctx, cutoff, 5); err != nil || n != 0 {
		t.Errorf("third DeleteFinished: %d, %v; want nothing left", n, err)
	}
	if got, want := remaining(), "f20,q,r"; got != want {
		t.Errorf("after retention: %s; want %s (live ones stay however old)", got, want)
	}
	if a, err := s.GetAnalysis(ctx, "f20"); err != nil || string(a.Report) != `{"r":1}` {
		t.Errorf("a kept analysis reads %+v, %v", a, err)
	}
	if _, err := s.GetAnalysis(ctx, "f3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted analysis reads %v; want ErrNotFound", err)
	}
	// Even a cutoff in the future leaves live analyses alone.
	if n, err := s.DeleteFinished(ctx, at(28), 100); err != nil || n != 1 || remaining() != "q,r" {
		t.Errorf("DeleteFinished(later): %d, %v, left %s; want f20 deleted, q and r kept", n, err, remaining())
	}
	if _, err := s.DeleteFinished(ctx, cutoff, 0); err == nil {
		t.Error("DeleteFinished with limit 0: no error")
	}
}

// testScopesAndFinalProgress: an analysis' scopes come back from every read
// (cut to the list bounds when a request's were huge), and an outcome's
// progress replaces the recorded one while an outcome without one keeps it.
func testScopesAndFinalProgress(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	big := metrics.Scope{}
	for i := range ScopeKeys + 4 {
		big[fmt.Sprintf("k%02d", i)] = strings.Repeat("é", ScopeText)
	}
	small := &analysis.Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}}
	for _, a := range []*Analysis{
		{ID: "small", Config: []byte("x"), Scopes: small, Progress: Progress{0, 1}},
		{ID: "big", Config: []byte("x"), Scopes: &analysis.Scopes{Baseline: big, Canary: big}, Progress: Progress{0, 1}},
		{ID: "files", Config: []byte("x"), Progress: Progress{0, 4}},
	} {
		if err := s.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FinishAnalysis(ctx, "small", Outcome{Status: Finished, Verdict: "pass", Progress: &Progress{1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAnalysis(ctx, "files", Running, Progress{2, 4}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAnalysis(ctx, "files", Outcome{Status: Finished, Verdict: "fail"}); err != nil {
		t.Fatal(err)
	}
	s = db.open(t) // read back through a new handle
	list, err := s.ListAnalyses(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Analysis{}
	for _, a := range list {
		byID[a.ID] = a
	}
	got, err := s.GetAnalysis(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Analysis{got, byID["small"]} {
		if a.Scopes == nil || a.Scopes.Canary["track"] != "canary" || a.Scopes.Baseline["track"] != "baseline" || a.Progress != (Progress{1, 1}) {
			t.Errorf("small: scopes %+v, progress %+v; want the scopes and 1/1", a.Scopes, a.Progress)
		}
	}
	cut := byID["big"].Scopes
	if cut == nil || len(cut.Canary) != ScopeKeys+1 || cut.Canary["…"] != "4 more" || len(cut.Canary["k00"]) > ScopeText || !strings.HasSuffix(cut.Canary["k00"], "…") {
		t.Errorf("big scopes come back as %+v; want %d keys of at most %d bytes and the rest counted", cut, ScopeKeys, ScopeText)
	}
	if f := byID["files"]; f.Scopes != nil || f.Progress != (Progress{2, 4}) {
		t.Errorf("files: scopes %+v, progress %+v; want none and the recorded 2/4", f.Scopes, f.Progress)
	}
}

// testEvidence checks the evidence of a canary: absent until written, read
// back exactly (references byte for byte, the start to the microsecond),
// kept across a reopen and seen by a second replica, and written only over
// the revision the writer read.
func testEvidence(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { return clock })
	const key = `{"baseline":{"track":"baseline"},"canary":{"track":"canary"}}`
	if _, err := s.GetEvidence(ctx, "checkout", key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("evidence before any look: %v; want ErrNotFound", err)
	}
	first := Evidence{Config: "checkout", Key: key, Version: "v1", Step: 15 * time.Second,
		Start: time.Date(2025, 4, 1, 11, 55, 0, 123456789, time.UTC), LastLook: time.Date(2024, 1, 1, 0, 5, 0, 0, time.UTC),
		References: []byte(`{"latency": 1.5e3, "errors":12}`), Looks: 1}
	got, err := s.PutEvidence(ctx, first, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantStart := time.Date(2025, 4, 1, 11, 55, 0, 123457000, time.UTC)
	if got.Revision != 1 || !got.CreatedAt.Equal(clock) || !got.UpdatedAt.Equal(clock) || !got.Start.Equal(wantStart) {
		t.Errorf("created evidence: revision %d, created %v, updated %v, start %v; want 1, %v, %v, %v", got.Revision, got.CreatedAt, got.UpdatedAt, got.Start, clock, clock, wantStart)
	}
	if _, err := s.PutEvidence(ctx, first, 0); !errors.Is(err, ErrConflict) {
		t.Errorf("creating it again: %v; want ErrConflict", err)
	}
	// Another canary of the config, and the same canary of another config,
	// are other evidence.
	for _, other := range []Evidence{{Config: "checkout", Key: key + " ", Looks: 1}, {Config: "search", Key: key, Looks: 1}} {
		if _, err := s.PutEvidence(ctx, other, 0); err != nil {
			t.Errorf("evidence of %s for %q: %v", other.Config, other.Key, err)
		}
	}

	read := func(st Store) Evidence {
		t.Helper()
		e, err := st.GetEvidence(ctx, "checkout", key)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := read(s)
	if e.Version != "v1" || e.Step != 15*time.Second || !e.Start.Equal(wantStart) || !e.LastLook.Equal(first.LastLook) || string(e.References) != string(first.References) || e.Looks != 1 || e.Revision != 1 {
		t.Errorf("read back %+v", e)
	}
	clock = clock.Add(5 * time.Minute)
	next := e
	next.Looks, next.References, next.LastLook = 2, []byte(`{"latency":1500,"errors":12,"cpu":3}`), first.LastLook.Add(5*time.Minute)
	if got, err = s.PutEvidence(ctx, next, e.Revision); err != nil || got.Revision != 2 || !got.UpdatedAt.Equal(clock) || !got.CreatedAt.Equal(e.CreatedAt) {
		t.Fatalf("the second look: %+v, %v; want revision 2, updated now, created as before", got, err)
	}
	// A look that read revision 1 and writes after the second one loses.
	stale := e
	stale.Looks = 7
	if _, err := s.PutEvidence(ctx, stale, 1); !errors.Is(err, ErrConflict) {
		t.Errorf("a write over revision 1 after revision 2: %v; want ErrConflict", err)
	}
	if _, err := s.PutEvidence(ctx, Evidence{Config: "checkout", Key: "nobody", Looks: 1}, 3); !errors.Is(err, ErrConflict) {
		t.Errorf("a write over the revision of missing evidence: %v; want ErrConflict", err)
	}
	s.Close()
	r1, r2 := db.open(t), db.open(t)
	for i, st := range []Store{r1, r2} {
		if e := read(st); e.Looks != 2 || e.Revision != 2 || string(e.References) != `{"latency":1500,"errors":12,"cpu":3}` || !e.Start.Equal(wantStart) || !e.LastLook.Equal(next.LastLook) {
			t.Errorf("replica %d after a reopen reads %+v", i, e)
		}
	}
	for _, bad := range []struct {
		e   Evidence
		rev int64
	}{{Evidence{Key: key}, 0}, {Evidence{Config: "c"}, 0}, {Evidence{Config: "c", Key: "k"}, -1}, {Evidence{Config: "c", Key: "k", Looks: -1}, 0}} {
		if _, err := r1.PutEvidence(ctx, bad.e, bad.rev); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("PutEvidence(%+v, %d): %v; want a refusal", bad.e, bad.rev, err)
		}
	}
}

// testEvidenceRace has several looks (goroutines, on two replicas' stores
// where the backend has them) write over the same revision at once:
// exactly one wins, the others get ErrConflict, and the winner's write is
// what is stored.
func testEvidenceRace(t *testing.T, db database) {
	ctx := context.Background()
	stores := []Store{db.open(t), db.open(t)}
	base, err := stores[0].PutEvidence(ctx, Evidence{Config: "c", Key: "k", Looks: 1, References: []byte(`{}`)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				e := base
				e.Looks = base.Looks + 1
				e.References = fmt.Appendf(nil, `{"writer":%d}`, w)
				_, errs[w] = stores[w%2].PutEvidence(ctx, e, base.Revision)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = w
			case err == nil:
				t.Fatalf("round %d: writers %d and %d both wrote over revision %d", round, winner, w, base.Revision)
			case !errors.Is(err, ErrConflict):
				t.Fatalf("round %d, writer %d: %v", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		if base, err = stores[1].GetEvidence(ctx, "c", "k"); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"writer":%d}`, winner); string(base.References) != want || base.Looks != round+2 {
			t.Fatalf("round %d: stored %s after %d looks; want the winner's %s after %d", round, base.References, base.Looks, want, round+2)
		}
	}
}

// testEvidenceRetention checks DeleteEvidence: it deletes the evidence last
// written before the cutoff, the longest unused first and at most the limit
// per call; a look keeps its evidence alive.
func testEvidenceRetention(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { return clock })
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	revisions := map[string]int64{}
	look := func(key string, d int) {
		t.Helper()
		clock = day(d)
		e, err := s.PutEvidence(ctx, Evidence{Config: "c", Key: key, Looks: 1}, revisions[key])
		if err != nil {
			t.Fatal(err)
		}
		revisions[key] = e.Revision
	}
	look("a", 2)
	look("b", 3)
	look("c", 1)
	look("d", 20)
	look("c", 12) // a later look keeps c
	remaining := func() string {
		t.Helper()
		var out []string
		for _, k := range []string{"a", "b", "c", "d"} {
			_, err := s.GetEvidence(ctx, "c", k)
			switch {
			case err == nil:
				out = append(out, k)
			case !errors.Is(err, ErrNotFound):
				t.Fatal(err)
			}
		}
		return strings.Join(out, ",")
	}
	if n, err := s.DeleteEvidence(ctx, day(10), 1); err != nil || n != 1 || remaining() != "b,c,d" {
		t.Errorf("first DeleteEvidence: %d, %v, left %s; want a deleted", n, err, remaining())
	}
	if n, err := s.DeleteEvidence(ctx, day(10), 5); err != nil || n != 1 || remaining() != "c,d" {
		t.Errorf("second DeleteEvidence: %d, %v, left %s; want b deleted", n, err, remaining())
	}
	if n, err := s.DeleteEvidence(ctx, day(10), 5); err != nil || n != 0 {
		t.Errorf("third DeleteEvidence: %d, %v; want nothing left before the cutoff", n, err)
	}
	if _, err := s.DeleteEvidence(ctx, day(10), 0); err == nil {
		t.Error("DeleteEvidence with limit 0: no error")
	}
	// Deleted evidence starts anew: a write over its old revision conflicts.
	if _, err := s.PutEvidence(ctx, Evidence{Config: "c", Key: "a", Looks: 2}, revisions["a"]); !errors.Is(err, ErrConflict) {
		t.Errorf("a write over deleted evidence: %v; want ErrConflict", err)
	}
	if _, err := s.PutEvidence(ctx, Evidence{Config: "c", Key: "a", Looks: 1}, 0); err != nil {
		t.Errorf("new evidence where deleted evidence was: %v", err)
	}
}

// testFirings checks ClaimFiring and DeleteFirings: a firing is claimed
// once, by its config, schedule index and due time (any other of the three
// is another firing); bad firings are refused; retention deletes the
// firings due before its cutoff, the oldest first and at most the limit
// per call, after which the firing can be claimed again.
func testFirings(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	due := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	claim := func(f Firing) bool {
		t.Helper()
		ok, err := s.ClaimFiring(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	first := Firing{Config: "checkout", Schedule: 0, At: due, Owner: "A"}
	if !claim(first) {
		t.Fatal("the first claim of a firing did not get it")
	}
	for _, f := range []Firing{first, {Config: "checkout", Schedule: 0, At: due, Owner: "B"}, {Config: "checkout", Schedule: 0, At: due.Add(400 * time.Nanosecond), Owner: "B"}} {
		if claim(f) {
			t.Errorf("claim %+v after A's got it too", f)
		}
	}
	for _, f := range []Firing{
		{Config: "checkout", Schedule: 1, At: due, Owner: "B"},
		{Config: "checkout", Schedule: 0, At: due.Add(2 * time.Second), Owner: "B"},
		{Config: "search", Schedule: 0, At: due, Owner: "B"},
		{Config: "checkout", Schedule: 0, At: due.Add(-time.Hour), Owner: "B"},
	} {
		if !claim(f) {
			t.Errorf("claim %+v did not get it: another firing than A's", f)
		}
	}
	for _, bad := range []Firing{
		{Schedule: 0, At: due, Owner: "A"},
		{Config: "checkout", Schedule: -1, At: due, Owner: "A"},
		{Config: "checkout", Schedule: 0, Owner: "A"},
		{Config: "checkout", Schedule: 0, At: due},
	} {
		if ok, err := s.ClaimFiring(ctx, bad); err == nil || ok {
			t.Errorf("claim %+v: %v, %v; want an error", bad, ok, err)
		}
	}
	// Due: 11:00 (1), 12:00 (3), 12:00:02 (1).
	if n, err := s.DeleteFirings(ctx, due, 5); err != nil || n != 1 {
		t.Errorf("delete the firings due before 12:00: %d, %v; want the one of 11:00", n, err)
	}
	if n, err := s.DeleteFirings(ctx, due.Add(time.Second), 2); err != nil || n != 2 {
		t.Errorf("delete 2 of the 3 firings due before 12:00:01: %d, %v", n, err)
	}
	if n, err := s.DeleteFirings(ctx, due.Add(time.Second), 2); err != nil || n != 1 {
		t.Errorf("delete the rest due before 12:00:01: %d, %v; want 1", n, err)
	}
	if _, err := s.DeleteFirings(ctx, due, 0); err == nil {
		t.Error("DeleteFirings with limit 0: no error")
	}
	if !claim(first) {
		t.Error("a firing whose record was deleted cannot be claimed again")
	}
	if claim(Firing{Config: "checkout", Schedule: 0, At: due.Add(2 * time.Second), Owner: "C"}) {
		t.Error("the firing due after the cutoff was deleted")
	}
}

// testFiringsRace has 8 claimers on two stores (two replicas) claim each
// of 20 firings at once: exactly one gets each.
func testFiringsRace(t *testing.T, db database) {
	ctx := context.Background()
	stores := []Store{db.open(t), db.open(t)}
	due := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for round := range 20 {
		const claimers = 8
		won := make([]bool, claimers)
		errs := make([]error, claimers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for c := range claimers {
			wg.Go(func() {
				<-start
				won[c], errs[c] = stores[c%2].ClaimFiring(ctx, Firing{Config: "c", Schedule: 0, At: due.Add(time.Duration(round) * 2 * time.Second), Owner: fmt.Sprint("r", c)})
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for c := range claimers {
			if errs[c] != nil {
				t.Fatalf("round %d, claimer %d: %v", round, c, errs[c])
			}
			if won[c] {
				winners++
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d claimers got the firing; want exactly 1", round, winners)
		}
	}
}

// testConfigVersions checks ListConfigVersions: every config's name,
// version and update time, without its text, and a change of either
// whenever a config is stored or deleted and stored again.
func testConfigVersions(t *testing.T, db database) {
	ctx := context.Background()
	s := db.open(t)
	clock := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	setClock(t, s, func() time.Time { clock = clock.Add(time.Second); return clock })
	describe := func() string {
		t.Helper()
		list, err := s.ListConfigVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			if c.Data != nil {
				t.Errorf("ListConfigVersions returned the text of %s", c.Name)
			}
			out = append(out, fmt.Sprintf("%s@%d/%s", c.Name, c.Version, c.UpdatedAt.Format("15:04:05")))
		}
		return strings.Join(out, ",")
	}
	if got := describe(); got != "" {
		t.Errorf("an empty store lists %q", got)
	}
	for _, put := range []string{"b", "a", "b"} {
		if _, err := s.PutConfig(ctx, put, []byte("name: "+put)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := describe(), "a@1/00:00:02,b@2/00:00:03"; got != want {
		t.Errorf("after storing b, a, b: %s; want %s", got, want)
	}
	if err := s.DeleteConfig(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutConfig(ctx, "a", []byte("name: a")); err != nil {
		t.Fatal(err)
	}
	if got, want := describe(), "a@1/00:00:04,b@2/00:00:03"; got != want {
		t.Errorf("after a was deleted and stored again: %s; want %s (version 1 again, a later time)", got, want)
	}
}
