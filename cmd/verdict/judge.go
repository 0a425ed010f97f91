package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/file"
	"github.com/verdict-aca/verdict/metrics/query"
)

func newJudgeCommand() *cobra.Command {
	var configPath, baselinePath, canaryPath, format, output, db string
	cmd := &cobra.Command{
		Use:   "judge --config FILE --baseline FILE --canary FILE",
		Short: "Judge a canary from series files (CSV or JSON)",
		Long: "Judge a canary offline: every signal of the config is read from the baseline and canary series files,\n" +
			"judged, and scored. The exit code carries the verdict (0 pass, 1 fail, 2 marginal, 3 none).\n\n" +
			"A rate signal with exposure: or a proportion with trials: also reads that series from each file (counts per\n" +
			"window, aligned by position); a histogram signal reads bucket counts (CSV column le, or JSON {\"le\": [...],\n" +
			"\"counts\": [[...], ...]}). Data that cannot be judged exits 65 with one sentence naming the file or signal.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "config", "baseline", "canary"); err != nil {
				return err
			}
			f, err := reportFormat(cmd, format, output)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openRecord(cmd, db)
			if err != nil {
				return err
			}
			if st != nil {
				defer st.Close()
			}
			cfg, err := analysis.LoadConfig(ctx, configPath)
			if err != nil {
				return err
			}
			baseline, err := file.Load(ctx, baselinePath)
			if err != nil {
				return err
			}
			canary, err := file.Load(ctx, canaryPath)
			if err != nil {
				return err
			}
			rep, err := analysis.JudgeSeries(cfg,
				analysis.SeriesSet{Origin: filepath.Base(baselinePath), Series: baseline},
				analysis.SeriesSet{Origin: filepath.Base(canaryPath), Series: canary})
			if err != nil {
				return err
			}
			if err := writeReport(cmd, rep, f, output); err != nil {
				return err
			}
			request := map[string]string{"baseline": baselinePath, "canary": canaryPath}
			if err := record(cmd, st, db, configPath, rep, request); err != nil {
				return err
			}
			return verdictExit{verdictCode(rep.Verdict)}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&db, "db", "", "also record the analysis in this store (sqlite:PATH), for verdict serve to list")
	fl.StringVar(&configPath, "config", "", "config file (YAML or JSON)")
	fl.StringVar(&baselinePath, "baseline", "", "baseline series file (.csv or .json)")
	fl.StringVar(&canaryPath, "canary", "", "canary series file (.csv or .json)")
	addReportFlags(cmd, &format, &output)
	return cmd
}

func newValidateCommand() *cobra.Command {
	var configPath, baselineScope, canaryScope string
	var step time.Duration
	cmd := &cobra.Command{
		Use:   "validate --config FILE [--baseline-scope K=V[,K=V] --canary-scope K=V[,K=V]] [--step DUR]",
		Short: "Check a config: parse it, validate every field, and render every query for the given scopes",
		Long: "Check a config without judging anything: every field is parsed and validated, and with scopes every\n" +
			"signal's queries are rendered for the baseline and the canary (over the last hour, at --step, 1m by default)\n" +
			"and printed, so a template variable that a scope lacks, or a value that cannot be placed safely, is found\n" +
			"before a canary runs. It says the config is valid only once everything checked.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "config"); err != nil {
				return err
			}
			cfg, err := analysis.LoadConfig(cmd.Context(), configPath)
			if err != nil {
				return err
			}
			var rendered []analysis.RenderedQuery
			if baselineScope != "" || canaryScope != "" {
				if err := requireFlags(cmd, "baseline-scope", "canary-scope"); err != nil {
					return err
				}
				scopes, err := parseScopes(baselineScope, canaryScope)
				if err != nil {
					return err
				}
				end := time.Now().Truncate(time.Second)
				w := metrics.Window{Start: end.Add(-time.Hour), End: end, Step: step}
				w.Step = query.Step(w)
				if rendered, err = cfg.RenderQueries(scopes, w); err != nil {
					return err
				}
			}
			groups := map[string]bool{}
			for _, s := range cfg.Signals {
				groups[s.Group] = true
			}
			out := cmd.OutOrStdout()
			if _, err := fmt.Fprintf(out, "%s is valid: %s in %s, judge %s, confidence %g\n",
				configPath, plural(len(cfg.Signals), "signal"), plural(len(groups), "group"), cfg.Judge, cfg.Confidence); err != nil {
				return err
			}
			for _, q := range rendered {
				if _, err := fmt.Fprintf(out, "%s (%s)\n  baseline: %s\n  canary:   %s\n", q.Signal, q.Source, q.Baseline, q.Canary); err != nil {
					return err
				}
				if q.BaselineExposure != "" {
					if _, err := fmt.Fprintf(out, "  baseline %s: %s\n  canary %s:   %s\n", q.ExposureName, q.BaselineExposure, q.ExposureName, q.CanaryExposure); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", "config file (YAML or JSON)")
	fl.StringVar(&baselineScope, "baseline-scope", "", "render the queries for this baseline scope")
	fl.StringVar(&canaryScope, "canary-scope", "", "render the queries for this canary scope")
	fl.Var((*duration)(&step), "step", "the step {{.step}} renders to (default 1m, as analyze)")
	return cmd
}

// plural words a count: "1 signal", "3 signals".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
