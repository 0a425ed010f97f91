package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Evidence is what a canary judged again and again, one look at a time
// (Argo Rollouts' web provider, Flagger's webhooks, schedules), keeps
// between its looks under sequential: anytime, so that each look judges all
// the data since the evidence started, with the reference information its
// first look set: a decision valid however often the canary is looked at,
// and across restarts and replicas.
//
// The store keeps it as it is given: the caller decides what identifies a
// canary (Config and Key), when evidence starts anew, and what References
// hold. Writes are guarded by Revision, so that of two looks writing at
// once (two replicas, or two controllers' calls) one wins and the other
// learns it (ErrConflict) instead of overwriting it.
type Evidence struct {
	// Config is the stored config's name; Key identifies the canary within
	// it (the caller's canonical form of its scopes). Together they are
	// the evidence's identity.
	Config string
	Key    string
	// Version is the version of the config the evidence was gathered
	// under, as the caller writes it.
	Version string
	// Step is the query step of the looks (0: the source's choice).
	Step time.Duration
	// Start is where the data every look judges begin, and LastLook where
	// the last look's data end, by the caller's clock (both kept to the
	// microsecond).
	Start, LastLook time.Time
	// References is the caller's JSON document (each signal's reference
	// information), kept byte for byte.
	References []byte
	// Looks counts the looks judged on this evidence.
	Looks int
	// Revision grows by one at every write; PutEvidence writes only over
	// the revision its caller read.
	Revision int64
	// CreatedAt is when the evidence was first written, UpdatedAt when its
	// last look wrote it. Both are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// evidenceColumns are read back by scanEvidence, in its order.
const evidenceColumns = `config_name, scope_key, version, step, start_at, last_look, refs, looks, revision, created_at, updated_at`

// GetEvidence implements Store.
func (s *SQLite) GetEvidence(ctx context.Context, config, key string) (Evidence, error) {
	var e Evidence
	var step, start, last, created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT `+evidenceColumns+` FROM evidence WHERE config_name = ? AND scope_key = ?`, config, key).
		Scan(&e.Config, &e.Key, &e.Version, &step, &start, &last, &e.References, &e.Looks, &e.Revision, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Evidence{}, fmt.Errorf("evidence of %s for %s: %w", config, key, ErrNotFound)
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("read the evidence of %s for %s: %w", config, key, err)
	}
	e.Step, e.Start, e.LastLook = time.Duration(step), fromNanos(start), fromNanos(last)
	e.CreatedAt, e.UpdatedAt = fromNanos(created), fromNanos(updated)
	return e, nil
}

// PutEvidence implements Store.
func (s *SQLite) PutEvidence(ctx context.Context, e Evidence, revision int64) (Evidence, error) {
	if err := checkEvidence(e, revision); err != nil {
		return Evidence{}, err
	}
	if e.References == nil {
		e.References = []byte("{}")
	}
	now := fromNanos(nanos(s.now()))
	e.Start = fromNanos(nanos(e.Start.Round(time.Microsecond)))
	e.LastLook = fromNanos(nanos(e.LastLook.Round(time.Microsecond)))
	var err error
	if revision == 0 {
		_, err = s.exec(ctx, `INSERT INTO evidence (`+evidenceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			e.Config, e.Key, e.Version, int64(e.Step), nanos(e.Start), nanos(e.LastLook), e.References, e.Looks, nanos(now), nanos(now))
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return Evidence{}, fmt.Errorf("evidence of %s for %s: another look created it: %w", e.Config, e.Key, ErrConflict)
		}
		e.CreatedAt = now
	} else {
		var created int64
		err = s.retry(ctx, func() error {
			return s.w.QueryRowContext(ctx, `UPDATE evidence SET version = ?, step = ?, start_at = ?, last_look = ?, refs = ?, looks = ?, revision = revision + 1, updated_at = ?
				WHERE config_name = ? AND scope_key = ? AND revision = ? RETURNING created_at`,
				e.Version, int64(e.Step), nanos(e.Start), nanos(e.LastLook), e.References, e.Looks, nanos(now), e.Config, e.Key, revision).Scan(&created)
		})
		if errors.Is(err, sql.ErrNoRows) {
			return Evidence{}, fmt.Errorf("evidence of %s for %s: another look wrote it since revision %d: %w", e.Config, e.Key, revision, ErrConflict)
		}
		e.CreatedAt = fromNanos(created)
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("store the evidence of %s for %s: %w", e.Config, e.Key, err)
	}
	e.Revision, e.UpdatedAt = revision+1, now
	return e, nil
}

// DeleteEvidence implements Store.
func (s *SQLite) DeleteEvidence(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete evidence: limit %d is not positive", limit)
	}
	res, err := s.exec(ctx, `DELETE FROM evidence WHERE rowid IN (SELECT rowid FROM evidence WHERE updated_at < ? ORDER BY updated_at LIMIT ?)`, nanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete the evidence last looked at before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// checkEvidence refuses what no store may keep.
func checkEvidence(e Evidence, revision int64) error {
	switch {
	case e.Config == "" || e.Key == "":
		return errors.New("store evidence: no config or key")
	case revision < 0:
		return fmt.Errorf("store the evidence of %s for %s: revision %d is negative", e.Config, e.Key, revision)
	case e.Looks < 0:
		return fmt.Errorf("store the evidence of %s for %s: %d looks", e.Config, e.Key, e.Looks)
	}
	return nil
}

// GetEvidence implements Store.
func (s *Postgres) GetEvidence(ctx context.Context, config, key string) (Evidence, error) {
	if !storable(config) || !storable(key) {
		return Evidence{}, fmt.Errorf("evidence of %q for %q: %w", config, key, ErrNotFound)
	}
	var e Evidence
	var step int64
	err := s.pool.QueryRow(ctx, `SELECT `+evidenceColumns+` FROM evidence WHERE config_name = $1 AND scope_key = $2`, config, key).
		Scan(&e.Config, &e.Key, &e.Version, &step, &e.Start, &e.LastLook, &e.References, &e.Looks, &e.Revision, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Evidence{}, fmt.Errorf("evidence of %s for %s: %w", config, key, ErrNotFound)
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("read the evidence of %s for %s: %w", config, key, err)
	}
	e.Step = time.Duration(step)
	e.Start, e.LastLook, e.CreatedAt, e.UpdatedAt = e.Start.UTC(), e.LastLook.UTC(), e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// PutEvidence implements Store.
func (s *Postgres) PutEvidence(ctx context.Context, e Evidence, revision int64) (Evidence, error) {
	if err := checkEvidence(e, revision); err != nil {
		return Evidence{}, err
	}
	if !storable(e.Config) || !storable(e.Key) {
		return Evidence{}, fmt.Errorf("store the evidence of %q for %q: names must be UTF-8 text without NUL bytes", e.Config, e.Key)
	}
	if e.References == nil {
		e.References = []byte("{}")
	}
	e.Version = cleanText(e.Version)
	now := s.clock()
	e.Start, e.LastLook = e.Start.Round(time.Microsecond).UTC(), e.LastLook.Round(time.Microsecond).UTC()
	if revision == 0 {
		_, err := s.pool.Exec(ctx, `INSERT INTO evidence (`+evidenceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)`,
			e.Config, e.Key, e.Version, int64(e.Step), e.Start, e.LastLook, e.References, e.Looks, now)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
			return Evidence{}, fmt.Errorf("evidence of %s for %s: another look created it: %w", e.Config, e.Key, ErrConflict)
		}
		if err != nil {
			return Evidence{}, fmt.Errorf("store the evidence of %s for %s: %w", e.Config, e.Key, err)
		}
		e.CreatedAt = now
	} else {
		err := s.pool.QueryRow(ctx, `UPDATE evidence SET version = $1, step = $2, start_at = $3, last_look = $4, refs = $5, looks = $6, revision = revision + 1, updated_at = $7
			WHERE config_name = $8 AND scope_key = $9 AND revision = $10 RETURNING created_at`,
			e.Version, int64(e.Step), e.Start, e.LastLook, e.References, e.Looks, now, e.Config, e.Key, revision).Scan(&e.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return Evidence{}, fmt.Errorf("evidence of %s for %s: another look wrote it since revision %d: %w", e.Config, e.Key, revision, ErrConflict)
		}
		if err != nil {
			return Evidence{}, fmt.Errorf("store the evidence of %s for %s: %w", e.Config, e.Key, err)
		}
		e.CreatedAt = e.CreatedAt.UTC()
	}
	e.Revision, e.UpdatedAt = revision+1, now
	return e, nil
}

// DeleteEvidence implements Store. As DeleteFinished, the rows are chosen
// FOR UPDATE SKIP LOCKED, so replicas pruning at once delete different rows.
func (s *Postgres) DeleteEvidence(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete evidence: limit %d is not positive", limit)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM evidence WHERE (config_name, scope_key) IN (SELECT config_name, scope_key FROM evidence
		WHERE updated_at < $1 ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete the evidence last looked at before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}
