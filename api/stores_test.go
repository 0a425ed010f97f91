package api

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/verdict-aca/verdict/analysis/store"
)

// This file lets the tests whose behaviour depends on the store run on both
// implementations, as subtests named "sqlite" and "postgres": configs,
// analyses, cancellation, resuming, the integrations' polling flows and the
// replicas' leases go through the same HTTP API over SQLite and over a real
// PostgreSQL (internal/pgtest). Tests of request parsing alone stay on
// SQLite (newTestServer).
//
// One PostgreSQL serves the whole test binary (sharedPostgres): each test
// gets a fresh database of its own, so tests never see each other's rows.
// Without PostgreSQL's binaries the postgres subtests skip (fail when
// CI=true), as pgtest decides.

// storeKind names a store implementation.
type storeKind string

const (
	onSQLite   storeKind = "sqlite"
	onPostgres storeKind = "postgres"
)

// forEachStore runs f as one subtest per store kind, named after the kind.
// The subtests run in parallel with each other (not with other tests): most
// of their time is spent waiting on timers, leases and polls, so the pair
// takes about as long as one.
func forEachStore(t *testing.T, f func(t *testing.T, kind storeKind)) {
	t.Helper()
	for _, kind := range []storeKind{onSQLite, onPostgres} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}

// openStores opens n stores on one fresh, empty database of kind, closed
// when t ends: the stores of n servers sharing a database. On PostgreSQL
// each is a connection pool of its own, as each replica process has; SQLite
// is one server's local file, so the n are one handle (servers sharing it
// must be in one process).
func openStores(t testing.TB, kind storeKind, n int) []store.Store {
	t.Helper()
	ctx := context.Background()
	out := make([]store.Store, 0, n)
	switch kind {
	case onSQLite:
		st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "verdict.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		for range n {
			out = append(out, st)
		}
	case onPostgres:
		dsn := sharedPostgres.get(t).NewDatabase(t)
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
