package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Firing is one due time of one schedule: the Schedule-th `schedules:`
// entry of the stored config Config, due at At. Replicas sharing a store
// run the same schedules, so each of them meets every firing; the one that
// claims it first (ClaimFiring) runs it, and the others leave it.
type Firing struct {
	Config string
	// Schedule is the index of the schedule in the config's schedules.
	Schedule int
	// At is when the firing was due, by the schedule (not when a replica
	// noticed it): the same on every replica. It is kept to the
	// microsecond.
	At time.Time
	// Owner is the instance id of the replica that claims it.
	Owner string
}

// checkFiring refuses a firing no store may record.
func checkFiring(f Firing) error {
	switch {
	case f.Config == "":
		return errors.New("claim a firing: no config")
	case f.Schedule < 0:
		return fmt.Errorf("claim a firing of %s: schedule index %d is negative", f.Config, f.Schedule)
	case f.At.IsZero():
		return fmt.Errorf("claim a firing of %s schedules[%d]: no due time", f.Config, f.Schedule)
	case f.Owner == "":
		return fmt.Errorf("claim a firing of %s schedules[%d]: no owner", f.Config, f.Schedule)
	}
	return nil
}

// ClaimFiring implements Store.
func (s *SQLite) ClaimFiring(ctx context.Context, f Firing) (bool, error) {
	if err := checkFiring(f); err != nil {
		return false, err
	}
	res, err := s.exec(ctx, `INSERT INTO firings (config_name, schedule, due_at, owner, claimed_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (config_name, schedule, due_at) DO NOTHING`,
		f.Config, f.Schedule, nanos(f.At.Round(time.Microsecond)), f.Owner, nanos(s.now()))
	if err != nil {
		return false, fmt.Errorf("claim the firing of %s schedules[%d] due %s: %w", f.Config, f.Schedule, f.At.UTC().Format(time.RFC3339Nano), err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteFirings implements Store.
func (s *SQLite) DeleteFirings(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete firings: limit %d is not positive", limit)
	}
	res, err := s.exec(ctx, `DELETE FROM firings WHERE rowid IN (SELECT rowid FROM firings WHERE due_at < ? ORDER BY due_at LIMIT ?)`, nanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete the firings due before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ListConfigVersions implements Store.
func (s *SQLite) ListConfigVersions(ctx context.Context) ([]Config, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, version, updated_at FROM configs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list config versions: %w", err)
	}
	defer rows.Close()
	out, err := collectRows(rows, func() (Config, error) {
		var c Config
		var at int64
		err := rows.Scan(&c.Name, &c.Version, &at)
		c.UpdatedAt = fromNanos(at)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list config versions: %w", err)
	}
	return out, nil
}

// ClaimFiring implements Store: one INSERT ... ON CONFLICT DO NOTHING on
// the firing's key, so of replicas claiming at once exactly one inserts.
func (s *Postgres) ClaimFiring(ctx context.Context, f Firing) (bool, error) {
	if err := checkFiring(f); err != nil {
		return false, err
	}
	if !storable(f.Config) {
		return false, fmt.Errorf("claim a firing of %q: a config name must be UTF-8 text without NUL bytes", f.Config)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO firings (config_name, schedule, due_at, owner, claimed_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (config_name, schedule, due_at) DO NOTHING`,
		f.Config, f.Schedule, f.At.Round(time.Microsecond).UTC(), cleanText(f.Owner), s.clock())
	if err != nil {
		return false, fmt.Errorf("claim the firing of %s schedules[%d] due %s: %w", f.Config, f.Schedule, f.At.UTC().Format(time.RFC3339Nano), err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteFirings implements Store. As DeleteFinished, the rows are chosen
// FOR UPDATE SKIP LOCKED, so replicas pruning at once delete different rows.
func (s *Postgres) DeleteFirings(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete firings: limit %d is not positive", limit)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM firings WHERE (config_name, schedule, due_at) IN (SELECT config_name, schedule, due_at FROM firings
		WHERE due_at < $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete the firings due before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}

// ListConfigVersions implements Store.
func (s *Postgres) ListConfigVersions(ctx context.Context) ([]Config, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, version, updated_at FROM configs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list config versions: %w", err)
	}
	defer rows.Close()
	out, err := collectRows(rows, func() (Config, error) {
		var c Config
		err := rows.Scan(&c.Name, &c.Version, &c.UpdatedAt)
		c.UpdatedAt = c.UpdatedAt.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list config versions: %w", err)
	}
	return out, nil
}
