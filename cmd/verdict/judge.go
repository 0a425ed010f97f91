package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
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
		Example: `  # judge a canary from series files; the exit code is the verdict
  verdict judge -c fixtures/latency-regression/config.yaml \
      --baseline fixtures/latency-regression/baseline.csv --canary fixtures/latency-regression/canary.csv

  # an HTML report: the extension of -o sets the format (.json, .md, .html, .txt)
  verdict judge -c fixtures/error-spike/config.yaml \
      --baseline fixtures/error-spike/baseline.csv --canary fixtures/error-spike/canary.csv -o report.html

  # the verdict/report/v1 JSON on standard output
  verdict judge -c fixtures/healthy/config.yaml --baseline fixtures/healthy/baseline.csv --canary fixtures/healthy/canary.csv --format json

  # one input from standard input (-): a config, or series (CSV, or JSON when it starts with {)
  cat fixtures/healthy/canary.csv | verdict judge -c fixtures/healthy/config.yaml --baseline fixtures/healthy/baseline.csv --canary -`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "config", "baseline", "canary"); err != nil {
				return err
			}
			if err := oneStdin(cmd, "config", "baseline", "canary"); err != nil {
				return err
			}
			f, err := reportFormat(cmd, format, output)
			if err != nil {
				return err
			}
			st, err := openRecord(cmd, db)
			if err != nil {
				return err
			}
			if st != nil {
				defer st.Close()
			}
			cfg, configText, err := loadConfig(cmd, configPath)
			if err != nil {
				return err
			}
			baseline, err := loadSeries(cmd, baselinePath)
			if err != nil {
				return err
			}
			canary, err := loadSeries(cmd, canaryPath)
			if err != nil {
				return err
			}
			rep, err := analysis.JudgeSeries(cfg,
				analysis.SeriesSet{Origin: seriesOrigin(baselinePath), Series: baseline},
				analysis.SeriesSet{Origin: seriesOrigin(canaryPath), Series: canary})
			if err != nil {
				return err
			}
			if err := writeReport(cmd, rep, f, output); err != nil {
				return err
			}
			request := map[string]string{"baseline": displayName(baselinePath), "canary": displayName(canaryPath)}
			if _, err := record(cmd, st, db, configText, rep, request); err != nil {
				return err
			}
			return verdictExit{verdictCode(rep.Verdict)}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&db, "db", "", "also record the analysis in this store (sqlite:PATH), for verdict serve to list")
	fl.StringVarP(&configPath, "config", "c", "", "config file (YAML or JSON; - reads standard input)")
	fl.StringVar(&baselinePath, "baseline", "", "baseline series file (.csv or .json; - reads standard input, JSON when it starts with {)")
	fl.StringVar(&canaryPath, "canary", "", "canary series file (.csv or .json; - reads standard input, JSON when it starts with {)")
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
		Example: `  verdict validate -c fixtures/healthy/config.yaml
  cat fixtures/healthy/config.yaml | verdict validate -c -

  # render every query for the scopes, with {{.step}} at 30s
  verdict validate -c fixtures/prometheus/healthy.yaml \
      --baseline-scope scenario=healthy,track=baseline --canary-scope scenario=healthy,track=canary --step 30s`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "config"); err != nil {
				return err
			}
			cfg, _, err := loadConfig(cmd, configPath)
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
				displayName(configPath), plural(len(cfg.Signals), "signal"), plural(len(groups), "group"), cfg.Judge, cfg.Confidence); err != nil {
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
	fl.StringVarP(&configPath, "config", "c", "", "config file (YAML or JSON; - reads standard input)")
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
