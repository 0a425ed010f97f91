package api

import (
	"testing"

	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/internal/storetest"
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

// storeKind names a store implementation (storetest.Kind).
type storeKind = storetest.Kind

const (
	onSQLite   = storetest.SQLite
	onPostgres = storetest.Postgres
)

// forEachStore runs f as one parallel subtest per store kind.
func forEachStore(t *testing.T, f func(t *testing.T, kind storeKind)) { storetest.ForEach(t, f) }

// openStores opens n stores on one fresh, empty database of kind, closed
// when t ends: the stores of n replicas sharing a database.
func openStores(t testing.TB, kind storeKind, n int) []store.Store {
	t.Helper()
	return storetest.Open(t, kind, n, func(t testing.TB) string { return sharedPostgres.get(t).NewDatabase(t) })
}
