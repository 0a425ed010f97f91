// Package store keeps what `verdict serve` must not forget: the configs
// posted to it and every analysis it runs, from the moment it is accepted
// to its report.
//
// Decisions:
//   - An analysis is created (status queued) before any work starts, so a
//     crash never loses it; ClaimUnfinished hands a starting server the
//     ones it must resume or mark interrupted (see Ownership below).
//     Terminal states (finished, failed,
//     cancelled, interrupted) are final: Finish and Cancel on a terminal
//     analysis return ErrConflict, so a late worker cannot overwrite a
//     cancellation and a cancellation cannot rewrite a verdict.
//   - Configs are stored as the text the user sent (YAML or JSON) with a
//     version that grows by one on every write, so callers can cache the
//     parsed form and detect staleness.
//   - Reports and series are opaque JSON documents to the store; it indexes
//     only what lists filter on (config, verdict, status, creation time),
//     and a list never reads a document. PostgreSQL compresses them itself
//     (TOAST, lz4); the SQLite store keeps them zstd-compressed in a table
//     of their own (analysis_documents), beside a narrow analyses table
//     with one index per combination of list filters, so a list reads its
//     limit of index entries and rows whatever the history's size.
//   - SQLite maintenance: (*SQLite).Stats counts rows and measures the file
//     (verdict store stats); (*SQLite).Vacuum gives the room of deleted
//     analyses back to the file system (verdict store vacuum).
//   - The interface uses only plain values and context-aware calls. Open
//     picks the implementation from a DSN: "sqlite:PATH" (the default; one
//     server, a local file) or "postgres://..." / "postgresql://..." (several
//     replicas sharing state). Both keep the same semantics, asserted by one
//     behavioural suite run against each: the same not-found and conflict
//     errors, filters, ordering (newest first, ties by id bytewise), limits,
//     and the exact bytes of every JSON document.
//   - The PostgreSQL store uses pgxpool (github.com/jackc/pgx/v5) directly,
//     not pgx's database/sql driver: typed errors with SQLSTATE codes (a
//     duplicate id is 23505, not a message to match), []byte, time.Time and
//     *float64 without database/sql's conversions, and a pool that checks
//     its connections' health and takes its size from the DSN.
//   - Each store migrates its own schema at open, in one transaction, with
//     its own numbered steps; a database newer than the build is refused,
//     never altered.
//   - Retention: DeleteFinished deletes ended analyses by the time they
//     ended, in bounded batches (an index on finished_at serves it); the
//     server calls it periodically (verdict serve --retention).
//   - Evidence (sequential: anytime): what a canary judged one look at a
//     time keeps between its looks, one row per config and canary, written
//     over the revision the writer read (optimistic concurrency: of two
//     looks writing at once, one gets ErrConflict), never owned or leased.
//     DeleteEvidence deletes it by its last look, in bounded batches.
//   - Firings: replicas run the same schedules, so each meets every firing
//     of them. A firing is recorded by config, schedule index and due time
//     (Firing); ClaimFiring inserts that key unless it is there (INSERT ...
//     ON CONFLICT DO NOTHING), so exactly one replica's claim succeeds and
//     that replica runs the firing. Keying by index rather than by the
//     schedule's text keeps a firing single while replicas briefly hold
//     different versions of a config (a change reaches them within
//     seconds): one of them runs it, under its version. DeleteFirings
//     deletes them by due time, in bounded batches.
//
// PostgreSQL usage:
//
//	verdict serve --db 'postgres://verdict:PASSWORD@db.internal:5432/verdict?sslmode=verify-full'
//
// The database must exist and its user must be allowed to create tables in
// it. The first server to start creates the schema (a pg advisory lock makes
// servers that start together wait for it); the others find it done. Pool
// size comes from the DSN (pool_max_conns=N), TLS and timeouts from the
// usual libpq parameters (sslmode, sslrootcert, connect_timeout) or PG*
// environment variables. Times are kept to the microsecond (TIMESTAMPTZ) and
// documents as BYTEA; to read a report in SQL, use
// convert_from(report, 'UTF8')::jsonb.
//
// Ownership (several replicas on one database):
//   - Every live analysis has an owner, the instance id of the server
//     running it (api.Options.InstanceID, `verdict serve --instance-id`),
//     and a lease: the time until which no other server may take it.
//     CreateAnalysis records both. The owner extends the leases of the
//     analyses it is working on with RenewLeases well before they end
//     (serve: every lease/3), naming them: an analysis the owner holds but
//     no longer works on (its run ended and its outcome could not be
//     recorded) is left out, so its lease lapses and a claim resumes or
//     interrupts it instead of it staying live forever.
//   - A server that starts calls ClaimUnfinished: it takes the live
//     analyses whose lease has expired (their owner died or stopped) and its
//     own (a restart with the same identity resumes them at once), never one
//     another live replica holds. A running server calls ClaimExpired
//     periodically to take over the analyses of replicas that died. Both are
//     one atomic statement or transaction, so of servers claiming at once
//     each analysis goes to exactly one.
//   - A claim is bounded so that a dead replica's work is spread over the
//     survivors instead of landing on the first one to look: the caller
//     passes a limit (what it can start soon, e.g. its free workers), and
//     the claim takes at most that many analyses of other owners (a dead
//     replica's, or none's), the oldest first (creation time, then id), and
//     leaves the rest to the next claimer. The claimer's own claimable
//     analyses are always all taken and not counted: they are already its
//     work. A limit of 0 is no limit. On PostgreSQL the bounded rows are
//     chosen by ORDER BY ... LIMIT ... FOR UPDATE SKIP LOCKED, so claimers
//     racing each take different rows (a row another claimer is taking is
//     skipped, not waited on); on SQLite the choice and the update happen
//     in one write transaction.
//   - The owner's writes are fenced: UpdateOwnedAnalysis and
//     FinishOwnedAnalysis return ErrConflict when the analysis ended or was
//     taken over by another owner, and RenewLeases returns the ids the owner
//     still holds. Either way the owner learns it must stop, so a paused
//     server that lost its lease cannot record over its successor.
//   - Cancelling is not fenced: any replica may cancel any analysis
//     (CancelAnalysis); the owner sees it at its next progress write or
//     lease renewal and stops.
//   - Analyses from before owners existed (migration) have owner "" and an
//     expired lease: the first server to claim takes them.
//   - Leases are wall-clock times written by the owner and compared with
//     the claimer's clock (the callers pass now), so replicas' clocks must
//     agree to well within a lease (NTP does); a skewed claimer takes over
//     early, and the fencing keeps that from recording twice. Two live
//     servers must never share an owner name.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound is a config or analysis that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is a state change that is no longer possible, such as
	// cancelling a finished analysis, or an owner's write to an analysis
	// another server took over.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable marks an Open error where the DSN is well formed but
	// the store cannot be reached or used now: connection refused,
	// authentication failed, a timeout, a missing database; for SQLite a
	// file that cannot be opened or written (read-only, a missing
	// directory, not a database) or a schema newer than the build. Other
	// Open errors (a malformed DSN) are the caller's mistake.
	ErrUnavailable = errors.New("store unavailable")
)

// unavailableError is an Open error that is ErrUnavailable; its message is
// the whole one-sentence error, and err (if any) its cause.
type unavailableError struct {
	msg string
	err error
}

func (e *unavailableError) Error() string        { return e.msg }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *unavailableError) Unwrap() error        { return e.err }

// Status is where an analysis is in its life.
type Status string

// The statuses. Queued and Running are live; the others are terminal.
const (
	Queued      Status = "queued"
	Running     Status = "running"
	Finished    Status = "finished"    // a report with a verdict
	Failed      Status = "failed"      // could not run (bad config for the scopes, internal error)
	Cancelled   Status = "cancelled"   // stopped on request
	Interrupted Status = "interrupted" // the server stopped while it ran, and it could not be resumed
)

// Terminal reports whether s is a final status.
func (s Status) Terminal() bool {
	switch s {
	case Finished, Failed, Cancelled, Interrupted:
		return true
	}
	return false
}

// ParseStatus checks a status name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Queued, Running, Finished, Failed, Cancelled, Interrupted:
		return st, nil
	}
	return "", fmt.Errorf("%q is not a status (want queued, running, finished, failed, cancelled or interrupted)", s)
}

// Config is a stored config.
type Config struct {
	Name string
	// Data is the config text as written (YAML or JSON).
	Data []byte
	// Version starts at 1 and grows by one on every write of the name.
	Version   int64
	UpdatedAt time.Time
}

// Progress counts the judgements of a (multi-interval) analysis.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// Analysis is a stored analysis.
type Analysis struct {
	ID string
	// ConfigName is the stored config it ran (empty for an inline config).
	ConfigName string
	// Config is the config text the analysis runs, kept so that it can be
	// resumed after a restart even if the stored config changed.
	Config []byte
	// Request is the caller's request as JSON (scopes, window, lifetime).
	Request []byte
	// Origin says who asked: api, schedule, kayenta, argo, flagger, cli.
	Origin string
	// Scopes are the scopes a live analysis compares (nil for files), for
	// lists: CreateAnalysis stores them cut to ScopesBytes (CutScopes).
	Scopes   *analysis.Scopes
	Status   Status
	Progress Progress
	// Intervals is the JSON array of interval results so far.
	Intervals []byte
	// Verdict and Score are set when the analysis finished.
	Verdict string
	Score   *float64
	// Error says why an analysis failed or was interrupted.
	Error string
	// Report is the verdict/report/v1 JSON; Series the raw points as JSON.
	// List leaves both empty.
	Report []byte
	Series []byte
	// Kayenta is Kayenta's judgeResult JSON of a judge: kayenta analysis
	// (for the Kayenta-compatible endpoints); List leaves it empty.
	Kayenta []byte

	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time

	// Owner is the instance id of the server that runs (or ran) the
	// analysis; "" for none.
	Owner string
	// LeaseUntil is when the owner's lease ends; after it another server may
	// claim the analysis. The zero time is an expired lease.
	LeaseUntil time.Time
	// ClaimedFrom is set by ClaimUnfinished and ClaimExpired only: the owner
	// the analysis had before the claim ("" for none; the claimer itself
	// when it resumes its own).
	ClaimedFrom string
}

// Outcome is how an analysis ended.
type Outcome struct {
	Status Status
	// Progress, when set, is the final progress (a single-window analysis
	// that finished did its one judgement); nil keeps the last recorded.
	Progress *Progress
	Verdict  string
	Score    *float64
	Error    string
	Report   []byte
	Series   []byte
	Kayenta  []byte
}

// Filter selects analyses for List. Zero fields do not filter.
type Filter struct {
	Config  string
	Verdict string
	Status  Status
	// Since keeps analyses created at or after it.
	Since time.Time
	// Limit bounds the answer (default 100, at most 1000).
	Limit int
}

// Store persists configs and analyses. Implementations are safe for
// concurrent use.
type Store interface {
	// PutConfig stores data under name, creating it or bumping its version.
	PutConfig(ctx context.Context, name string, data []byte) (Config, error)
	GetConfig(ctx context.Context, name string) (Config, error)
	DeleteConfig(ctx context.Context, name string) error
	// ListConfigs lists every config, by name.
	ListConfigs(ctx context.Context) ([]Config, error)

	// CreateAnalysis stores a new analysis; a.ID must be set and unique,
	// a.Status is queued when empty. CreatedAt/UpdatedAt are set. It
	// records a.Owner and a.LeaseUntil (a zero lease is expired: any
	// server's claim takes the analysis).
	CreateAnalysis(ctx context.Context, a *Analysis) error
	// UpdateAnalysis records status, progress and intervals of a live
	// analysis. It returns ErrConflict when the analysis is already terminal.
	UpdateAnalysis(ctx context.Context, id string, status Status, p Progress, intervals []byte) error
	// FinishAnalysis records how an analysis ended (o.Status must be
	// terminal). ErrConflict when it already ended.
	FinishAnalysis(ctx context.Context, id string, o Outcome) error
	// UpdateOwnedAnalysis is UpdateAnalysis by the analysis' owner: it also
	// returns ErrConflict, changing nothing, when another owner holds the
	// analysis (it was taken over), so the caller must stop running it.
	UpdateOwnedAnalysis(ctx context.Context, id, owner string, status Status, p Progress, intervals []byte) error
	// FinishOwnedAnalysis is FinishAnalysis by the analysis' owner:
	// ErrConflict when it already ended or another owner holds it.
	FinishOwnedAnalysis(ctx context.Context, id, owner string, o Outcome) error
	// CancelAnalysis marks a live analysis cancelled. ErrConflict when it
	// already ended.
	CancelAnalysis(ctx context.Context, id, reason string) error
	GetAnalysis(ctx context.Context, id string) (Analysis, error)
	// ListAnalyses lists analyses newest first, without reports and series.
	ListAnalyses(ctx context.Context, f Filter) ([]Analysis, error)
	// Unfinished lists queued and running analyses, oldest first, with
	// their configs and requests, whoever owns them. It takes nothing: a
	// server resuming work uses ClaimUnfinished.
	Unfinished(ctx context.Context) ([]Analysis, error)

	// RenewLeases sets the lease of each of ids that is live (queued or
	// running) and held by owner to until, and returns those ids, sorted.
	// An id missing from the answer ended elsewhere (it was cancelled) or
	// was taken over: the owner must stop it without writing. Analyses of
	// owner not in ids keep their lease, and lose it when it ends. owner
	// must not be empty; no ids renews nothing.
	RenewLeases(ctx context.Context, owner string, ids []string, until time.Time) ([]string, error)
	// ClaimUnfinished atomically takes every live analysis whose owner is
	// owner and, of the live analyses of other owners whose lease ended
	// before now, the limit oldest (by creation time, then id; limit 0
	// takes them all), setting their owner to owner and their lease to
	// until. It returns them oldest first with their configs, requests and
	// ClaimedFrom. Of servers claiming at once, each analysis goes to
	// exactly one. A server calls it once, at start. A negative limit is an
	// error.
	ClaimUnfinished(ctx context.Context, owner string, now, until time.Time, limit int) ([]Analysis, error)
	// ClaimExpired is ClaimUnfinished for a running server: it takes only
	// the live analyses whose lease ended before now, never one whose lease
	// still runs, so it cannot take an analysis the server itself is just
	// starting. The owner's own expired analyses are all taken; the limit
	// bounds the others'.
	ClaimExpired(ctx context.Context, owner string, now, until time.Time, limit int) ([]Analysis, error)

	// DeleteFinished deletes up to limit analyses that ended (finished,
	// failed, cancelled or interrupted) before before, the longest ended
	// first, and returns how many it deleted; never a live one. limit must
	// be positive: a caller clearing a backlog calls again while it gets
	// limit, so each call holds its locks briefly.
	DeleteFinished(ctx context.Context, before time.Time, limit int) (int, error)

	// GetEvidence returns the evidence of a canary (see Evidence):
	// ErrNotFound when there is none.
	GetEvidence(ctx context.Context, config, key string) (Evidence, error)
	// PutEvidence writes e over the revision its caller read: it creates
	// the evidence when revision is 0, or replaces it when its stored
	// Revision is revision, and returns what it stored (Revision
	// revision+1, CreatedAt and UpdatedAt set). ErrConflict when another
	// look wrote first: a create found evidence, or the stored revision is
	// not revision (or the evidence was deleted).
	PutEvidence(ctx context.Context, e Evidence, revision int64) (Evidence, error)
	// DeleteEvidence deletes up to limit evidence last written before
	// before, the longest unused first, and returns how many it deleted.
	// limit must be positive.
	DeleteEvidence(ctx context.Context, before time.Time, limit int) (int, error)

	// ClaimFiring records that f.Owner runs the firing f, unless it is
	// recorded already: true when this call recorded it, false when
	// another claim (another replica's) came first. Of replicas claiming
	// one firing at once, exactly one gets true.
	ClaimFiring(ctx context.Context, f Firing) (bool, error)
	// DeleteFirings deletes up to limit firings due before before, the
	// oldest first, and returns how many it deleted. limit must be
	// positive.
	DeleteFirings(ctx context.Context, before time.Time, limit int) (int, error)
	// ListConfigVersions lists every config by name with its version and
	// update time but not its text: a cheap check of whether the configs
	// changed (a config deleted and stored again starts at version 1
	// anew, with another update time).
	ListConfigVersions(ctx context.Context) ([]Config, error)

	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// DefaultDSN is where the store lives unless --db says otherwise: a file
// in the working directory.
const DefaultDSN = "sqlite:verdict.db"

// Open opens the store a DSN names: "sqlite:PATH" or a bare path ending in
// .db for SQLite; "postgres://..." or "postgresql://..." for PostgreSQL.
func Open(ctx context.Context, dsn string) (Store, error) {
	if path, ok := SQLitePath(dsn); ok {
		return OpenSQLite(ctx, path)
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return OpenPostgres(ctx, dsn)
	}
	shown := fmt.Sprintf("%q", dsn)
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		shown = fmt.Sprintf("%q", u.Redacted()) // never echo a password
	} else if strings.Contains(dsn, "@") {
		shown = "the DSN"
	}
	return nil, fmt.Errorf("%s is not a store (want sqlite:PATH or postgres://...)", shown)
}

// rowIterator is what collectRows needs of a result set: both database/sql's
// *sql.Rows and pgx's Rows have it.
type rowIterator interface {
	Next() bool
	Err() error
}

// collectRows reads every row of rows with scan, which reads the current
// row; it stops at the first error, scanning's or the iteration's. The
// caller closes rows.
func collectRows[T any](rows rowIterator, scan func() (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
