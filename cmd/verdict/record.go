package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
)

// openRecord opens the store of --db before anything is judged, so that a
// wrong --db is a usage error and not a lost analysis. No --db gives nil.
func openRecord(cmd *cobra.Command, dsn string) (store.Store, error) {
	if dsn == "" {
		return nil, nil
	}
	st, err := store.Open(cmd.Context(), dsn)
	if err != nil {
		return nil, usageError{fmt.Errorf("--db: %w", err)}
	}
	return st, nil
}

// record stores an analysis run from the command line, so that
// `verdict serve --db` lists it and shows its report page. configText is
// the config as judged; request says what was judged (files, or scopes and
// window). A nil store records nothing.
func record(cmd *cobra.Command, st store.Store, dsn string, configText []byte, rep *analysis.Report, request any) error {
	if st == nil {
		return nil
	}
	ctx := cmd.Context()
	req, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("recording the analysis: %w", err)
	}
	out, err := store.OutcomeOf(rep)
	if err != nil {
		return fmt.Errorf("recording the analysis: %w", err)
	}
	a := &store.Analysis{ID: store.NewID(), ConfigName: rep.Name, Config: configText, Request: req, Origin: "cli", Status: store.Running, Progress: store.Progress{Done: 1, Total: 1}}
	if err := st.CreateAnalysis(ctx, a); err != nil {
		return fmt.Errorf("recording the analysis in %s: %w", dsn, err)
	}
	if err := st.FinishAnalysis(ctx, a.ID, out); err != nil {
		return fmt.Errorf("recording the analysis in %s: %w", dsn, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "recorded as analysis %s in %s\n", a.ID, dsn)
	return nil
}
