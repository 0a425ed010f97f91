package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteStep is one schema migration: SQL, then (if set) Go code for what
// SQL cannot do (compressing documents), both in the migration's
// transaction.
type sqliteStep struct {
	sql string
	run func(ctx context.Context, tx *sql.Tx, codec *documentCodec) error
}

// migrations are the schema versions in order; migrations[i] brings the
// schema from version i to i+1. Never edit a released step: append one.
var migrations = []sqliteStep{
	{sql: `CREATE TABLE configs (
		name       TEXT PRIMARY KEY,
		data       BLOB NOT NULL,
		version    INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE TABLE analyses (
		id          TEXT PRIMARY KEY,
		config_name TEXT NOT NULL DEFAULT '',
		config      BLOB NOT NULL,
		request     BLOB NOT NULL,
		origin      TEXT NOT NULL DEFAULT '',
		status      TEXT NOT NULL,
		done        INTEGER NOT NULL DEFAULT 0,
		total       INTEGER NOT NULL DEFAULT 0,
		intervals   BLOB,
		verdict     TEXT NOT NULL DEFAULT '',
		score       REAL,
		error       TEXT NOT NULL DEFAULT '',
		report      BLOB,
		series      BLOB,
		created_at  INTEGER NOT NULL,
		updated_at  INTEGER NOT NULL,
		finished_at INTEGER
	);
	CREATE INDEX analyses_created ON analyses (created_at DESC);
	CREATE INDEX analyses_config ON analyses (config_name, created_at DESC);
	CREATE INDEX analyses_status ON analyses (status);`},
	// 2: Kayenta's own judge result of a judge: kayenta analysis.
	{sql: `ALTER TABLE analyses ADD COLUMN kayenta BLOB;`},
	// 3: owners and leases (replicas sharing a database). Existing rows
	// get no owner and an expired lease (0), so the first claim takes them.
	{sql: `ALTER TABLE analyses ADD COLUMN owner TEXT NOT NULL DEFAULT '';
	ALTER TABLE analyses ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX analyses_owner ON analyses (owner, status);`},
	// 4: retention deletes ended analyses by the time they ended.
	{sql: `CREATE INDEX analyses_finished ON analyses (finished_at) WHERE finished_at IS NOT NULL;`},
	// 5: the scopes compared, for lists (JSON; NULL for older rows and
	// offline analyses).
	{sql: `ALTER TABLE analyses ADD COLUMN scopes BLOB;`},
	// 6: the evidence of canaries judged one look at a time (sequential:
	// anytime), by config and canary; retention deletes it by its last look.
	{sql: `CREATE TABLE evidence (
		config_name TEXT NOT NULL,
		scope_key   TEXT NOT NULL,
		version     TEXT NOT NULL,
		step        INTEGER NOT NULL,
		start_at    INTEGER NOT NULL,
		last_look   INTEGER NOT NULL,
		refs        BLOB NOT NULL,
		looks       INTEGER NOT NULL,
		revision    INTEGER NOT NULL,
		created_at  INTEGER NOT NULL,
		updated_at  INTEGER NOT NULL,
		PRIMARY KEY (config_name, scope_key)
	);
	CREATE INDEX evidence_updated ON evidence (updated_at);`},
	// 7: the firings of schedules, one row per config, schedule and due
	// time, so that replicas run each firing once; retention deletes them
	// by due time.
	{sql: `CREATE TABLE firings (
		config_name TEXT NOT NULL,
		schedule    INTEGER NOT NULL,
		due_at      INTEGER NOT NULL,
		owner       TEXT NOT NULL,
		claimed_at  INTEGER NOT NULL,
		PRIMARY KEY (config_name, schedule, due_at)
	);
	CREATE INDEX firings_due ON firings (due_at);`},
	// 8: lists at any history size. The analyses table keeps only what
	// lists read (before 8, a row's created_at came after tens of kB of
	// report and series, read for every row a list sorted); the documents
	// move, zstd-compressed, to analysis_documents; and every list filter
	// (config, verdict, status, their combinations, since) has an index
	// that yields its rows newest first, so a list reads LIMIT entries.
	{sql: `DROP INDEX analyses_created;
	DROP INDEX analyses_config;
	DROP INDEX analyses_status;
	DROP INDEX analyses_owner;
	DROP INDEX analyses_finished;
	ALTER TABLE analyses RENAME TO analyses_v7;
	` + analysesV8 + `
	INSERT INTO analyses (id, config_name, origin, status, verdict, created_at, updated_at, finished_at,
		done, total, score, owner, lease_until, error, scopes, intervals)
	SELECT id, config_name, origin, status, verdict, created_at, updated_at, finished_at,
		done, total, score, owner, lease_until, error, scopes, intervals
	FROM analyses_v7 ORDER BY rowid;`,
		run: moveDocumentsV8},
}

// analysesV8 is the analyses table and its indexes as of schema version 8.
// Lists filter by equality on any of config_name, status and verdict and
// by a range of created_at, newest first, ties by id: for each set of
// equality filters an index whose columns are those, then created_at DESC
// and id, serves every list as one range scan in the list's order
// (TestSQLiteListPlans checks each). Small, fixed columns come first in a
// row.
const analysesV8 = `CREATE TABLE analyses (
		id          TEXT PRIMARY KEY,
		config_name TEXT NOT NULL DEFAULT '',
		origin      TEXT NOT NULL DEFAULT '',
		status      TEXT NOT NULL,
		verdict     TEXT NOT NULL DEFAULT '',
		created_at  INTEGER NOT NULL,
		updated_at  INTEGER NOT NULL,
		finished_at INTEGER,
		done        INTEGER NOT NULL DEFAULT 0,
		total       INTEGER NOT NULL DEFAULT 0,
		score       REAL,
		owner       TEXT NOT NULL DEFAULT '',
		lease_until INTEGER NOT NULL DEFAULT 0,
		error       TEXT NOT NULL DEFAULT '',
		scopes      BLOB,
		intervals   BLOB
	);
	CREATE TABLE analysis_documents (
		id      TEXT PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
		config  BLOB NOT NULL,
		request BLOB NOT NULL,
		report  BLOB,
		series  BLOB,
		kayenta BLOB
	);
	CREATE INDEX analyses_created ON analyses (created_at DESC, id);
	CREATE INDEX analyses_config ON analyses (config_name, created_at DESC, id);
	CREATE INDEX analyses_verdict ON analyses (verdict, created_at DESC, id);
	CREATE INDEX analyses_status ON analyses (status, created_at DESC, id);
	CREATE INDEX analyses_config_verdict ON analyses (config_name, verdict, created_at DESC, id);
	CREATE INDEX analyses_config_status ON analyses (config_name, status, created_at DESC, id);
	CREATE INDEX analyses_status_verdict ON analyses (status, verdict, created_at DESC, id);
	CREATE INDEX analyses_config_status_verdict ON analyses (config_name, status, verdict, created_at DESC, id);
	CREATE INDEX analyses_owner ON analyses (owner, status);
	CREATE INDEX analyses_finished ON analyses (finished_at) WHERE finished_at IS NOT NULL;`

// moveDocumentsV8 copies the documents of every analysis of the version 7
// table into analysis_documents, compressed, a batch at a time (memory
// stays bounded by the batch), then drops the version 7 table.
func moveDocumentsV8(ctx context.Context, tx *sql.Tx, codec *documentCodec) error {
	const batch = 64
	type docs struct {
		rowid                                int64
		id                                   string
		config, request, report, series, kay []byte
	}
	insert, err := tx.PrepareContext(ctx, `INSERT INTO analysis_documents (id, config, request, report, series, kayenta) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	after := int64(-1 << 63)
	for {
		rows, err := tx.QueryContext(ctx, `SELECT rowid, id, config, request, report, series, kayenta FROM analyses_v7 WHERE rowid > ? ORDER BY rowid LIMIT ?`, after, batch)
		if err != nil {
			return err
		}
		list, err := collectRows(rows, func() (docs, error) {
			var d docs
			err := rows.Scan(&d.rowid, &d.id, &d.config, &d.request, &d.report, &d.series, &d.kay)
			return d, err
		})
		rows.Close()
		if err != nil {
			return err
		}
		for _, d := range list {
			if _, err := insert.ExecContext(ctx, d.id, codec.compress(d.config), codec.compress(d.request),
				codec.compress(d.report), codec.compress(d.series), codec.compress(d.kay)); err != nil {
				return fmt.Errorf("analysis %s: %w", d.id, err)
			}
			after = d.rowid
		}
		if len(list) < batch {
			break
		}
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE analyses_v7`)
	return err
}

// busyTimeout bounds how long a write waits for the write lock while
// another process (verdict analyze --db, a second server) writes the same
// file, and how long a read waits for a checkpoint or recovery.
const busyTimeout = 30 * time.Second

// SQLite is the Store on a SQLite file (modernc.org/sqlite, WAL mode).
//
// Reads and writes use separate connection pools:
//   - Every write runs on the writer, a pool of one connection: a single
//     statement on its own, several in a transaction begun with BEGIN
//     IMMEDIATE. The writers of one process queue in Go for that connection
//     instead of racing each other for SQLite's lock; and a transaction
//     holds the write lock from its start, so it never has to upgrade a read
//     snapshot another writer has made stale (SQLITE_BUSY at once, whatever
//     the busy timeout: what made servers opening one file together fail).
//   - While another process holds the lock, a write retries its whole
//     transaction every 1 to 10 ms (jittered) for up to busyTimeout, rather
//     than in SQLite's busy handler, whose waits grow to 100 ms: against a
//     process that writes in a loop, a waiter polling that slowly almost
//     never finds the lock free, and failed with SQLITE_BUSY under load.
//   - Readers are a pool of query-only connections: WAL lets them read
//     beside the writer.
//
// Rows: the analyses table holds what lists read (status, verdict, times,
// progress, intervals, scopes); the documents (config, request, report,
// series, Kayenta's result) are in analysis_documents, one zstd frame
// each, read only by GetAnalysis (all of them) and by Unfinished and
// claims (config and request). See analysesV8 for the indexes.
//
// The store remembers the identity (device and inode) of the file it
// opened: Ping fails once that file is deleted or replaced, because the
// store would go on reading and writing the open, unlinked file, and the
// next start would find another, or none (see Created).
type SQLite struct {
	db    *sql.DB // readers (query_only)
	w     *sql.DB // the writer: one connection, BEGIN IMMEDIATE transactions
	codec *documentCodec
	now   func() time.Time

	path    string      // absolute
	file    os.FileInfo // the file opened, for os.SameFile
	created bool
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating when needed, see Created) the database file
// at path and brings its schema up to date in one transaction. Every error
// but an empty path is ErrUnavailable: the path is well formed, the file
// cannot be used (read-only, in a missing directory, not a database, a
// newer schema).
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("the SQLite store needs a file path (sqlite:PATH)")
	}
	s, err := openSQLite(ctx, path)
	if err != nil {
		return nil, &unavailableError{msg: fmt.Sprintf("open the store %s: %v", path, err), err: err}
	}
	return s, nil
}

func openSQLite(ctx context.Context, path string) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	path = abs
	// A missing or empty file is a new database: SQLite creates it.
	info, err := os.Stat(path)
	created := errors.Is(err, fs.ErrNotExist) || err == nil && info.Size() == 0
	dsn := func(pragmas ...string) string {
		q := url.Values{}
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		return "file:" + path + "?" + q.Encode()
	}
	// The writer has no busy timeout: write retries its transactions itself.
	w, err := sql.Open("sqlite", dsn("journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	codec, err := newDocumentCodec()
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &SQLite{w: w, codec: codec, now: time.Now, path: path, created: created}
	fail := func(err error) (*SQLite, error) {
		codec.Close()
		w.Close()
		return nil, err
	}
	if err := s.migrate(ctx, migrations); err != nil {
		return fail(err)
	}
	if s.file, err = os.Stat(path); err != nil {
		return fail(err)
	}
	// The readers open the file the writer has created and set to WAL
	// (a persistent setting of the file).
	r, err := sql.Open("sqlite", dsn(fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()), "query_only(1)", "foreign_keys(1)"))
	if err != nil {
		return fail(err)
	}
	r.SetMaxOpenConns(4)
	s.db = r
	return s, nil
}

// Created reports whether OpenSQLite found no database at its path (no
// file, or an empty one) and created it: a server that had configs and
// analyses before is on the wrong path, or its file was lost.
func (s *SQLite) Created() bool { return s.created }

// Path is the absolute path of the database file.
func (s *SQLite) Path() string { return s.path }

// retry runs write, a statement or transaction on the writer, again after
// a short jittered wait while it fails because another process holds the
// write lock (SQLITE_BUSY), for up to busyTimeout. write must leave nothing
// behind when it fails (one statement, or a transaction it rolls back).
func (s *SQLite) retry(ctx context.Context, write func() error) error {
	deadline := time.Now().Add(busyTimeout)
	wait := time.Millisecond
	for {
		err := write()
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
}

// exec runs one write statement on the writer (its own transaction: it
// takes the write lock at its start), retried while another process holds
// the lock.
func (s *SQLite) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.retry(ctx, func() (err error) {
		res, err = s.w.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// transaction runs fn in a write transaction (BEGIN IMMEDIATE on the
// writer) and commits it, running it again while another process holds
// the write lock; fn must therefore act only through tx.
func (s *SQLite) transaction(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.retry(ctx, func() error {
		tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// busy reports whether err is SQLite's SQLITE_BUSY (another connection
// holds the lock), in any of its extended forms.
func busy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// migrate applies the missing steps in one transaction: all or none.
func (s *SQLite) migrate(ctx context.Context, steps []sqliteStep) error {
	return s.transaction(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("schema_version: %w", err)
		}
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("schema_version: %w", err)
			}
		case err != nil:
			return fmt.Errorf("schema_version: %w", err)
		}
		if version > len(steps) {
			return fmt.Errorf("the database has schema version %d, newer than this build knows (%d)", version, len(steps))
		}
		for i := version; i < len(steps); i++ {
			if _, err := tx.ExecContext(ctx, steps[i].sql); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if steps[i].run == nil {
				continue
			}
			if err := steps[i].run(ctx, tx, s.codec); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		// Written even when nothing changed: it proves the file is writable,
		// so a read-only store fails here rather than at its first write.
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(steps)); err != nil {
			return fmt.Errorf("schema_version: %w", err)
		}
		return nil
	})
}

// SchemaVersion is the schema version the database is at.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// leaseNanos stores a lease end; the zero time (expired) is 0.
func leaseNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// leaseTime reads a lease end back; 0 is the zero time.
func leaseTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromNanos(n)
}

// PutConfig implements Store.
func (s *SQLite) PutConfig(ctx context.Context, name string, data []byte) (Config, error) {
	now := s.now()
	var version int64
	err := s.retry(ctx, func() error {
		return s.w.QueryRowContext(ctx, `INSERT INTO configs (name, data, version, updated_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (name) DO UPDATE SET data = excluded.data, version = configs.version + 1, updated_at = excluded.updated_at
			RETURNING version`, name, data, nanos(now)).Scan(&version)
	})
	if err != nil {
		return Config{}, fmt.Errorf("store config %s: %w", name, err)
	}
	return Config{Name: name, Data: data, Version: version, UpdatedAt: fromNanos(nanos(now))}, nil
}

// GetConfig implements Store.
func (s *SQLite) GetConfig(ctx context.Context, name string) (Config, error) {
	c := Config{Name: name}
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT data, version, updated_at FROM configs WHERE name = ?`, name).Scan(&c.Data, &c.Version, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Config{}, fmt.Errorf("config %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read config %s: %w", name, err)
	}
	c.UpdatedAt = fromNanos(at)
	return c, nil
}

// DeleteConfig implements Store.
func (s *SQLite) DeleteConfig(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM configs WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete config %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("config %s: %w", name, ErrNotFound)
	}
	return nil
}

// ListConfigs implements Store.
func (s *SQLite) ListConfigs(ctx context.Context) ([]Config, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, data, version, updated_at FROM configs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	defer rows.Close()
	out, err := collectRows(rows, func() (Config, error) {
		var c Config
		var at int64
		err := rows.Scan(&c.Name, &c.Data, &c.Version, &at)
		c.UpdatedAt = fromNanos(at)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	return out, nil
}

// CreateAnalysis implements Store.
func (s *SQLite) CreateAnalysis(ctx context.Context, a *Analysis) error {
	if a.ID == "" {
		return errors.New("create analysis: no id")
	}
	if a.Status == "" {
		a.Status = Queued
	}
	now := fromNanos(nanos(s.now()))
	a.CreatedAt, a.UpdatedAt = now, now
	if a.Request == nil {
		a.Request = []byte("{}")
	}
	if !a.LeaseUntil.IsZero() {
		a.LeaseUntil = fromNanos(nanos(a.LeaseUntil))
	}
	a.Scopes = CutScopes(a.Scopes)
	// A nil config stays NULL: the column refuses it, as before.
	config, request := s.codec.compress(a.Config), s.codec.compress(a.Request)
	err := s.transaction(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO analyses (id, config_name, origin, status, done, total, intervals, created_at, updated_at, owner, lease_until, scopes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.ConfigName, a.Origin, string(a.Status), a.Progress.Done, a.Progress.Total, a.Intervals, nanos(now), nanos(now), a.Owner, leaseNanos(a.LeaseUntil), encodeScopes(a.Scopes)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO analysis_documents (id, config, request) VALUES (?, ?, ?)`, a.ID, config, request)
		return err
	})
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("analysis %s: %w", a.ID, ErrConflict)
		}
		return fmt.Errorf("create analysis %s: %w", a.ID, err)
	}
	return nil
}

const live = `status IN ('queued', 'running')`

// UpdateAnalysis implements Store.
func (s *SQLite) UpdateAnalysis(ctx context.Context, id string, status Status, p Progress, intervals []byte) error {
	return s.update(ctx, id, "", status, p, intervals)
}

// UpdateOwnedAnalysis implements Store.
func (s *SQLite) UpdateOwnedAnalysis(ctx context.Context, id, owner string, status Status, p Progress, intervals []byte) error {
	if owner == "" {
		return fmt.Errorf("update analysis %s: no owner", id)
	}
	return s.update(ctx, id, owner, status, p, intervals)
}

// update changes a live analysis; when owner is not empty, only if owner
// holds it.
func (s *SQLite) update(ctx context.Context, id, owner string, status Status, p Progress, intervals []byte) error {
	if status.Terminal() {
		return fmt.Errorf("update analysis %s: %s is terminal; use FinishAnalysis", id, status)
	}
	res, err := s.exec(ctx, `UPDATE analyses SET status = ?, done = ?, total = ?, intervals = COALESCE(?, intervals), updated_at = ?
		WHERE id = ? AND `+live+` AND (? = '' OR owner = ?)`, string(status), p.Done, p.Total, intervals, nanos(s.now()), id, owner, owner)
	if err != nil {
		return fmt.Errorf("update analysis %s: %w", id, err)
	}
	return s.changed(ctx, res, id, owner)
}

// changed turns "no row updated" into ErrNotFound or ErrConflict (ended,
// or held by another owner than owner).
func (s *SQLite) changed(ctx context.Context, res sql.Result, id, owner string) error {
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var status, holder string
	err := s.db.QueryRowContext(ctx, `SELECT status, owner FROM analyses WHERE id = ?`, id).Scan(&status, &holder)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("analysis %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("analysis %s: %w", id, err)
	}
	return conflict(id, Status(status), owner, holder)
}

// conflict explains why a write to a present analysis changed nothing.
func conflict(id string, status Status, owner, holder string) error {
	if !status.Terminal() && owner != "" && holder != owner {
		return fmt.Errorf("analysis %s is held by %q, not %q: %w", id, holder, owner, ErrConflict)
	}
	return fmt.Errorf("analysis %s is already %s: %w", id, status, ErrConflict)
}

// FinishAnalysis implements Store.
func (s *SQLite) FinishAnalysis(ctx context.Context, id string, o Outcome) error {
	return s.finish(ctx, id, "", o)
}

// FinishOwnedAnalysis implements Store.
func (s *SQLite) FinishOwnedAnalysis(ctx context.Context, id, owner string, o Outcome) error {
	if owner == "" {
		return fmt.Errorf("finish analysis %s: no owner", id)
	}
	return s.finish(ctx, id, owner, o)
}

func (s *SQLite) finish(ctx context.Context, id, owner string, o Outcome) error {
	if !o.Status.Terminal() {
		return fmt.Errorf("finish analysis %s: %q is not a terminal status", id, o.Status)
	}
	now := nanos(s.now())
	done, total := finalProgress(o)
	report, series, kayenta := s.codec.compress(o.Report), s.codec.compress(o.Series), s.codec.compress(o.Kayenta)
	var res sql.Result
	err := s.transaction(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, `UPDATE analyses SET status = ?, verdict = ?, score = ?, error = ?, updated_at = ?, finished_at = ?,
			done = COALESCE(?, done), total = COALESCE(?, total)
			WHERE id = ? AND `+live+` AND (? = '' OR owner = ?)`, string(o.Status), o.Verdict, o.Score, o.Error, now, now, done, total, id, owner, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE analysis_documents SET report = ?, series = ?, kayenta = ? WHERE id = ?`, report, series, kayenta, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish analysis %s: %w", id, err)
	}
	return s.changed(ctx, res, id, owner)
}

// CancelAnalysis implements Store.
func (s *SQLite) CancelAnalysis(ctx context.Context, id, reason string) error {
	return s.FinishAnalysis(ctx, id, Outcome{Status: Cancelled, Error: reason})
}

const analysisColumns = `id, config_name, origin, status, done, total, intervals, verdict, score, error, created_at, updated_at, finished_at, owner, lease_until, scopes`

type scanner interface{ Scan(...any) error }

func scanAnalysis(row scanner, extra ...any) (Analysis, error) {
	var a Analysis
	var status string
	var score sql.NullFloat64
	var created, updated int64
	var finished sql.NullInt64
	var lease int64
	var scopes []byte
	dest := append([]any{&a.ID, &a.ConfigName, &a.Origin, &status, &a.Progress.Done, &a.Progress.Total, &a.Intervals, &a.Verdict, &score, &a.Error, &created, &updated, &finished, &a.Owner, &lease, &scopes}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Analysis{}, err
	}
	a.Scopes = decodeScopes(scopes)
	a.Status = Status(status)
	if score.Valid {
		v := score.Float64
		a.Score = &v
	}
	a.CreatedAt, a.UpdatedAt = fromNanos(created), fromNanos(updated)
	if finished.Valid {
		a.FinishedAt = fromNanos(finished.Int64)
	}
	a.LeaseUntil = leaseTime(lease)
	return a, nil
}

// GetAnalysis implements Store.
func (s *SQLite) GetAnalysis(ctx context.Context, id string) (Analysis, error) {
	var cfg, req, rep, series, kay []byte
	a, err := scanAnalysis(s.db.QueryRowContext(ctx, `SELECT `+analysisColumns+`, config, request, report, series, kayenta
		FROM analyses JOIN analysis_documents USING (id) WHERE id = ?`, id), &cfg, &req, &rep, &series, &kay)
	if errors.Is(err, sql.ErrNoRows) {
		return Analysis{}, fmt.Errorf("analysis %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Analysis{}, fmt.Errorf("read analysis %s: %w", id, err)
	}
	if err := s.documents(&a, cfg, req, rep, series, kay); err != nil {
		return Analysis{}, fmt.Errorf("read analysis %s: %w", id, err)
	}
	return a, nil
}

// documents decompresses an analysis' stored documents into a (nil
// arguments stay nil: Unfinished and claims read no report).
func (s *SQLite) documents(a *Analysis, config, request, report, series, kayenta []byte) error {
	for _, d := range []struct {
		dst  *[]byte
		blob []byte
	}{{&a.Config, config}, {&a.Request, request}, {&a.Report, report}, {&a.Series, series}, {&a.Kayenta, kayenta}} {
		doc, err := s.codec.decompress(d.blob)
		if err != nil {
			return err
		}
		*d.dst = doc
	}
	return nil
}

// ListAnalyses implements Store. Every filter is served by an index range
// scan that reads the analyses in the list's order (see analysesV8), so a
// list reads at most its limit of rows whatever the history's size, and
// never the documents.
func (s *SQLite) ListAnalyses(ctx context.Context, f Filter) ([]Analysis, error) {
	q, args := listQuery(f)
	return s.list(ctx, q, args...)
}

// listQuery is the query of ListAnalyses and its arguments.
func listQuery(f Filter) (string, []any) {
	var where []string
	var args []any
	if f.Config != "" {
		where, args = append(where, "config_name = ?"), append(args, f.Config)
	}
	if f.Verdict != "" {
		where, args = append(where, "verdict = ?"), append(args, f.Verdict)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, nanos(f.Since))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := `SELECT ` + analysisColumns + ` FROM analyses`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id LIMIT ?"
	return q, append(args, limit)
}

func (s *SQLite) list(ctx context.Context, q string, args ...any) ([]Analysis, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list analyses: %w", err)
	}
	defer rows.Close()
	out, err := collectRows(rows, func() (Analysis, error) { return scanAnalysis(rows) })
	if err != nil {
		return nil, fmt.Errorf("list analyses: %w", err)
	}
	return out, nil
}

// Unfinished implements Store.
func (s *SQLite) Unfinished(ctx context.Context) ([]Analysis, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+analysisColumns+`, config, request FROM analyses JOIN analysis_documents USING (id)
		WHERE `+live+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list unfinished analyses: %w", err)
	}
	defer rows.Close()
	out, err := collectRows(rows, func() (Analysis, error) {
		var cfg, req []byte
		a, err := scanAnalysis(rows, &cfg, &req)
		if err != nil {
			return a, err
		}
		return a, s.documents(&a, cfg, req, nil, nil, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("list unfinished analyses: %w", err)
	}
	return out, nil
}

// RenewLeases implements Store.
func (s *SQLite) RenewLeases(ctx context.Context, owner string, ids []string, until time.Time) ([]string, error) {
	if owner == "" {
		return nil, errors.New("renew leases: no owner")
	}
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("renew the leases of %s: %w", owner, err)
	}
	var out []string
	err = s.retry(ctx, func() error {
		rows, err := s.w.QueryContext(ctx, `UPDATE analyses SET lease_until = ? WHERE owner = ? AND `+live+` AND id IN (SELECT value FROM json_each(?)) RETURNING id`,
			leaseNanos(until), owner, string(list))
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = collectRows(rows, func() (string, error) {
			var id string
			err := rows.Scan(&id)
			return id, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew the leases of %s: %w", owner, err)
	}
	slices.Sort(out)
	return out, nil
}

// ClaimUnfinished implements Store.
func (s *SQLite) ClaimUnfinished(ctx context.Context, owner string, now, until time.Time, limit int) ([]Analysis, error) {
	return s.claim(ctx, owner, now, until, limit, true)
}

// ClaimExpired implements Store.
func (s *SQLite) ClaimExpired(ctx context.Context, owner string, now, until time.Time, limit int) ([]Analysis, error) {
	return s.claim(ctx, owner, now, until, limit, false)
}

// claimable selects the ids a claim takes: the owner's own (all of them, or
// its expired ones) and the oldest LIMIT expired ones of other owners
// (LIMIT -1: all). Its parameters are claimArgs'.
const claimable = `SELECT id FROM analyses WHERE ` + live + ` AND owner = ? AND (? OR lease_until < ?)
	UNION ALL
	SELECT id FROM (SELECT id FROM analyses WHERE ` + live + ` AND owner <> ? AND lease_until < ?
		ORDER BY created_at, id LIMIT ?)`

// claim selects and takes the claimable analyses in one write transaction
// (BEGIN IMMEDIATE): it holds the database's write lock from the start, so
// no other connection or process can claim (or change) them in between,
// and the update's claimable set is the one just read. A reader looks
// first, so that a claim that finds nothing (a reaper's usual round) never
// takes the write lock.
func (s *SQLite) claim(ctx context.Context, owner string, now, until time.Time, limit int, own bool) (out []Analysis, err error) {
	if owner == "" {
		return nil, errors.New("claim analyses: no owner")
	}
	if limit < 0 {
		return nil, fmt.Errorf("claim analyses for %s: limit %d is negative", owner, limit)
	}
	fail := func(err error) ([]Analysis, error) {
		return nil, fmt.Errorf("claim unfinished analyses for %s: %w", owner, err)
	}
	bound := int64(limit)
	if limit == 0 {
		bound = -1 // SQLite: a negative LIMIT is none
	}
	args := []any{owner, own, leaseNanos(now), owner, leaseNanos(now), bound}
	var found bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (`+claimable+`)`, args...).Scan(&found); err != nil {
		return fail(err)
	}
	if !found {
		return nil, nil
	}
	err = s.transaction(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+analysisColumns+`, config, request FROM analyses JOIN analysis_documents USING (id)
			WHERE id IN (`+claimable+`) ORDER BY created_at, id`, args...)
		if err != nil {
			return err
		}
		out, err = collectRows(rows, func() (Analysis, error) {
			var cfg, req []byte
			a, err := scanAnalysis(rows, &cfg, &req)
			if err != nil {
				return a, err
			}
			a.ClaimedFrom, a.Owner, a.LeaseUntil = a.Owner, owner, leaseTime(leaseNanos(until))
			return a, s.documents(&a, cfg, req, nil, nil, nil)
		})
		rows.Close()
		if err != nil || len(out) == 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE analyses SET owner = ?, lease_until = ? WHERE id IN (`+claimable+`)`, append([]any{owner, leaseNanos(until)}, args...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || int(n) != len(out) {
			return fmt.Errorf("selected %d analyses, updated %d (%v)", len(out), n, err)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// DeleteFinished implements Store.
func (s *SQLite) DeleteFinished(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete finished analyses: limit %d is not positive", limit)
	}
	res, err := s.exec(ctx, `DELETE FROM analyses WHERE id IN (SELECT id FROM analyses
		WHERE finished_at IS NOT NULL AND finished_at < ? AND NOT `+live+` ORDER BY finished_at, id LIMIT ?)`, nanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete analyses that ended before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Ping implements Store: the file at the store's path must still be the
// one it opened (not deleted, not replaced), and a query must answer, so
// a locked or corrupt file shows.
func (s *SQLite) Ping(ctx context.Context) error {
	info, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store: the database file %s was deleted while the server used it", s.path)
	case err != nil:
		return fmt.Errorf("store: %w", err)
	case !os.SameFile(info, s.file):
		return fmt.Errorf("store: the database file %s was replaced by another file while the server used it", s.path)
	}
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Close implements Store.
func (s *SQLite) Close() error {
	err := errors.Join(s.db.Close(), s.w.Close())
	s.codec.Close()
	return err
}
