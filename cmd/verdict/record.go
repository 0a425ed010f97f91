package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
)

// openRecord opens the store of --db before anything is judged, so that a
// wrong --db fails at once and not after the analysis. No --db gives nil.
func openRecord(cmd *cobra.Command, dsn string) (store.Store, error) {
	if dsn == "" {
		return nil, nil
	}
	return openStore(cmd.Context(), "--db", dsn)
}

// openStore opens the store a DSN names; origin (--db, VERDICT_DB) names
// where it came from in errors. A malformed DSN is a usage
// error (exit 64); a well-formed one whose store cannot be reached or used
// (a database down, a read-only or missing SQLite file's directory) is an
// internal one (exit 70): the command line is right, the environment is not.
func openStore(ctx context.Context, origin, dsn string) (store.Store, error) {
	st, err := store.Open(ctx, dsn)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return nil, fmt.Errorf("%s: %w", origin, err)
	case err != nil:
		return nil, usageError{fmt.Errorf("%s: %w", origin, err)}
	}
	return st, nil
}

// record stores an analysis run from the command line, so that
// `verdict serve --db` lists it and shows its report page, and returns its
// id. configText is the config as judged; request says what was judged
// (files, or scopes and window). A nil store records nothing (and returns
// "").
func record(cmd *cobra.Command, st store.Store, dsn string, configText []byte, rep *analysis.Report, request any) (string, error) {
	if st == nil {
		return "", nil
	}
	ctx := cmd.Context()
	req, err := json.Marshal(request)
	if err != nil {
		return "", fmt.Errorf("recording the analysis: %w", err)
	}
	out, err := store.OutcomeOf(rep)
	if err != nil {
		return "", fmt.Errorf("recording the analysis: %w", err)
	}
	a := &store.Analysis{ID: store.NewID(), ConfigName: rep.Name, Config: configText, Request: req, Origin: "cli", Scopes: rep.Scopes,
		Status: store.Running, Progress: store.Progress{Done: 1, Total: 1}}
	if err := st.CreateAnalysis(ctx, a); err != nil {
		return "", fmt.Errorf("recording the analysis in %s: %w", dsn, err)
	}
	if err := st.FinishAnalysis(ctx, a.ID, out); err != nil {
		return "", fmt.Errorf("recording the analysis in %s: %w", dsn, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "recorded as analysis %s in %s\n", a.ID, dsn)
	return a.ID, nil
}
