// Package storetest runs a test on both store implementations (SQLite and
// a real PostgreSQL, internal/pgtest) and opens the stores of replicas
// sharing one database, for the tests of packages built on the store
// (analysis/runner, api).
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/verdict-aca/verdict/analysis/store"
)

// Kind names a store implementation; it is also the subtest's name.
type Kind string

// The store kinds.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// ForEach runs f as one subtest per store kind, named after the kind. The
// subtests run in parallel with each other (not with other tests): most of
// their time is spent waiting on timers, leases and polls, so the pair
// takes about as long as one.
func ForEach(t *testing.T, f func(t *testing.T, kind Kind)) {
	t.Helper()
	for _, kind := range []Kind{SQLite, Postgres} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}

// Open opens n stores on one fresh, empty database of kind, closed when t
// ends: the stores of n replicas sharing a database. On PostgreSQL each is
// a connection pool of its own, as each replica process has, on the
// database newDatabase returns (its DSN); SQLite is one server's local
// file, so the n are one handle (replicas sharing it must be in one
// process).
func Open(t testing.TB, kind Kind, n int, newDatabase func(testing.TB) string) []store.Store {
	t.Helper()
	ctx := context.Background()
	out := make([]store.Store, 0, n)
	switch kind {
	case SQLite:
		st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "verdict.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		for range n {
			out = append(out, st)
		}
	case Postgres:
		dsn := newDatabase(t)
		for range n {
			st, err := store.OpenPostgres(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			out = append(out, st)
		}
	default:
		t.Fatalf("no store kind %q", kind)
	}
	return out
}
