package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis/store"
)

func newStoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Measure and compact the SQLite store of verdict serve",
		Long: "Measure and compact the SQLite store that verdict serve (and analyze --db) writes.\n" +
			"Opening an older store brings its schema up to date first, as verdict serve would.\n" +
			"For PostgreSQL use the server's own tools (pg_total_relation_size, VACUUM).",
		Example: `  verdict store stats --db sqlite:verdict.db
  verdict store vacuum --db sqlite:verdict.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmd.Help(); err != nil {
				return err
			}
			return usageError{errors.New("verdict store needs a command: stats or vacuum")}
		},
	}
	var db string
	stats := &cobra.Command{
		Use:     "stats [--db sqlite:PATH]",
		Short:   "Print a SQLite store's rows, file size and bytes per analysis",
		Example: `  verdict store stats --db sqlite:verdict.db`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openExistingSQLite(cmd, db)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.Stats(cmd.Context())
			if err != nil {
				return err
			}
			printStoreStats(cmd.OutOrStdout(), st)
			return nil
		},
	}
	vacuum := &cobra.Command{
		Use:   "vacuum [--db sqlite:PATH]",
		Short: "Give the room of deleted analyses back to the file system (SQLite VACUUM)",
		Long: "Rewrite a SQLite store without the free pages that deleted analyses (--retention) left, and empty its\n" +
			"write-ahead log. It holds the store's write lock while it runs (about a second per 100 MB; a running\n" +
			"verdict serve waits up to 30s for each write) and needs free disk room for a copy of the store.",
		Example: `  verdict store vacuum --db sqlite:verdict.db`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openExistingSQLite(cmd, db)
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			before, err := s.Stats(ctx)
			if err != nil {
				return err
			}
			if err := s.Vacuum(ctx); err != nil {
				return err
			}
			after, err := s.Stats(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vacuumed %s: %s (+ %s write-ahead log) -> %s\n", after.Path,
				humanBytes(before.FileBytes), humanBytes(before.WALBytes), humanBytes(after.FileBytes))
			return nil
		},
	}
	for _, c := range []*cobra.Command{stats, vacuum} {
		c.Flags().StringVar(&db, "db", store.DefaultDSN, "the SQLite store: sqlite:PATH")
		c.Args = wrapArgs(cobra.NoArgs)
		cmd.AddCommand(c)
	}
	return cmd
}

// openExistingSQLite opens the SQLite store --db names; unlike serve it
// never creates one: a missing file is a mistake in --db.
func openExistingSQLite(cmd *cobra.Command, dsn string) (*store.SQLite, error) {
	path, ok := store.SQLitePath(dsn)
	if !ok {
		return nil, usageError{fmt.Errorf("--db: %s works on SQLite stores (sqlite:PATH) only", cmd.CommandPath())}
	}
	if path == "" {
		return nil, usageError{errors.New("--db: the SQLite store needs a file path (sqlite:PATH)")}
	}
	switch info, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, usageError{fmt.Errorf("--db: there is no store at %s", path)}
	case err != nil:
		return nil, fmt.Errorf("--db: %w", err)
	case info.IsDir():
		return nil, usageError{fmt.Errorf("--db: %s is a directory, not a store", path)}
	}
	s, err := store.OpenSQLite(cmd.Context(), path)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	return s, nil
}

func printStoreStats(w io.Writer, st store.SQLiteStats) {
	fmt.Fprintf(w, "store           %s (SQLite, schema version %d)\n", st.Path, st.SchemaVersion)
	fmt.Fprintf(w, "analyses        %d\n", st.Analyses)
	fmt.Fprintf(w, "configs         %d\n", st.Configs)
	fmt.Fprintf(w, "evidence        %d\n", st.Evidence)
	fmt.Fprintf(w, "file            %s (%d bytes)\n", humanBytes(st.FileBytes), st.FileBytes)
	fmt.Fprintf(w, "write-ahead log %s\n", humanBytes(st.WALBytes))
	fmt.Fprintf(w, "free            %s (verdict store vacuum gives it back)\n", humanBytes(st.FreeBytes))
	fmt.Fprintf(w, "per analysis    %s\n", humanBytes(st.BytesPerAnalysis()))
}

// humanBytes writes n in the largest binary unit (KiB, MiB, GiB) it
// reaches, with one decimal.
func humanBytes(n int64) string {
	for _, u := range byteUnits {
		if u.size > 1 && n >= u.size {
			return fmt.Sprintf("%.1f %s", float64(n)/float64(u.size), u.suffix)
		}
	}
	return fmt.Sprintf("%d B", n)
}
