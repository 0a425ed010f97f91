package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// SQLitePath returns the file path of a SQLite DSN, as Open reads it
// ("sqlite:PATH", or a path ending in .db or .sqlite), and false for any
// other DSN.
func SQLitePath(dsn string) (string, bool) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return strings.TrimPrefix(dsn, "sqlite:"), true
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "", false
	case strings.HasSuffix(dsn, ".db"), strings.HasSuffix(dsn, ".sqlite"):
		return dsn, true
	}
	return "", false
}

// SQLiteStats is what a SQLite store holds and the room it takes.
type SQLiteStats struct {
	Path          string
	SchemaVersion int
	Analyses      int64
	Configs       int64
	Evidence      int64
	// FileBytes is the size of the database file, WALBytes of its
	// write-ahead log (pages written since the last checkpoint).
	FileBytes int64
	WALBytes  int64
	// FreeBytes is the part of the file that deleted rows left free: new
	// rows reuse it; Vacuum gives it back to the file system.
	FreeBytes int64
}

// BytesPerAnalysis is the file's used bytes (its size less its free
// pages) per analysis, configs and evidence included; 0 without analyses.
func (st SQLiteStats) BytesPerAnalysis() int64 {
	if st.Analyses == 0 {
		return 0
	}
	return (st.FileBytes - st.FreeBytes) / st.Analyses
}

// Stats counts the store's rows and measures its file.
func (s *SQLite) Stats(ctx context.Context) (SQLiteStats, error) {
	st := SQLiteStats{Path: s.path}
	var pageSize, freePages int64
	for _, q := range []struct {
		query string
		dst   any
	}{
		{`SELECT version FROM schema_version`, &st.SchemaVersion},
		{`SELECT count(*) FROM analyses`, &st.Analyses},
		{`SELECT count(*) FROM configs`, &st.Configs},
		{`SELECT count(*) FROM evidence`, &st.Evidence},
		{`PRAGMA page_size`, &pageSize},
		{`PRAGMA freelist_count`, &freePages},
	} {
		if err := s.db.QueryRowContext(ctx, q.query).Scan(q.dst); err != nil {
			return SQLiteStats{}, fmt.Errorf("store stats of %s: %s: %w", s.path, q.query, err)
		}
	}
	st.FreeBytes = pageSize * freePages
	info, err := os.Stat(s.path)
	if err != nil {
		return SQLiteStats{}, fmt.Errorf("store stats: %w", err)
	}
	st.FileBytes = info.Size()
	switch wal, err := os.Stat(s.path + "-wal"); {
	case err == nil:
		st.WALBytes = wal.Size()
	case !errors.Is(err, fs.ErrNotExist):
		return SQLiteStats{}, fmt.Errorf("store stats: %w", err)
	}
	return st, nil
}

// Vacuum rewrites the database file without its free pages (SQLite's
// VACUUM) and then empties the write-ahead log into it, so the space of
// deleted analyses goes back to the file system. It holds the write lock
// while it runs (writers of other processes wait, up to busyTimeout each)
// and needs free disk room for a copy of the database.
func (s *SQLite) Vacuum(ctx context.Context) error {
	if _, err := s.exec(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum %s: %w", s.path, err)
	}
	if _, err := s.exec(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("vacuum %s: checkpoint: %w", s.path, err)
	}
	return nil
}
