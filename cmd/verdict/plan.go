package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/plan"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/file"
	"github.com/verdict-aca/verdict/metrics/query"
)

type planFlags struct {
	config, ramp, baseline     string
	baselineScope, window, end string
	step, baselineShare        string
	prometheusURL, lokiURL     string
	format, output             string
	replicates                 int
	seed                       uint64
}

func newPlanCommand() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan --config FILE (--baseline FILE | --baseline-scope K=V[,K=V] --window DUR) --ramp 1%:15m,5%:30m,25%:1h",
		Short: "Say what each step of a rollout ramp can detect, signal by signal",
		Long: "Before a rollout: from the stable version's data (a series file, or a window of a live source for a scope)\n" +
			"and a ramp of weight:duration steps, simulate canaries at each step through Verdict's judge and print, per\n" +
			"step and signal, the smallest harmful change that fails the signal in 80% and in 95% of canaries, whether the\n" +
			"step can tell the signal's allowedChange from no change, and whether it catches its criticalChange, with a\n" +
			"summary of what each step cannot do. The canary gets the step's weight of the traffic, the stable version the\n" +
			"rest; the baseline data are taken as all of the traffic unless --baseline-share says otherwise.\n" +
			"--format table (default), markdown (for a release packet) or json (verdict/plan/v1, for tools).",
		Example: `  # what each step of a ramp detects, from the stable version's series file
  verdict plan --config fixtures/error-ratio-5pct/config.yaml --baseline fixtures/error-ratio-5pct/baseline.csv \
      --ramp 1%:15m,5%:30m,25%:1h,50%:1h

  # for a release packet: Markdown, written to a file
  verdict plan --config fixtures/error-ratio-5pct/config.yaml --baseline fixtures/error-ratio-5pct/baseline.csv \
      --ramp 5%:30m,50%:1h --format markdown --output plan.md

  # from the last day of the stable version on Prometheus, which served 95% of the traffic beside a canary
  verdict plan --config fixtures/prometheus/latency-regression.yaml \
      --baseline-scope scenario=latency-regression,track=baseline --window 1d \
      --prometheus-url http://127.0.0.1:9090 --baseline-share 95% --ramp 5%:30m,50%:1h --format json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "config file (YAML or JSON)")
	fl.StringVar(&f.ramp, "ramp", "", "the rollout's steps, weight:duration, e.g. 1%:15m,5%:30m,25%:1h,50%:1h")
	fl.StringVar(&f.baseline, "baseline", "", "the stable version's series file (.csv or .json)")
	fl.StringVar(&f.baselineScope, "baseline-scope", "", "instead of --baseline: template variables selecting the stable version in the live source, e.g. track=stable")
	fl.StringVar(&f.window, "window", "", "with --baseline-scope: how much of the stable version's recent data to read, e.g. 1h or 1d")
	fl.StringVar(&f.end, "end", "", "with --baseline-scope: the end of the window (RFC 3339, unix seconds or now; default now)")
	fl.StringVar(&f.step, "step", "", "the time one point of the data covers: the query step with --baseline-scope (default 1m); for files without timestamps")
	fl.StringVar(&f.baselineShare, "baseline-share", "100%", "the share of the service's traffic the baseline data served (95% for a stable version beside a 5% canary)")
	fl.StringVar(&f.prometheusURL, "prometheus-url", "", "Prometheus URL (default $VERDICT_PROMETHEUS_URL, then the config)")
	fl.StringVar(&f.lokiURL, "loki-url", "", "Loki URL (default $VERDICT_LOKI_URL, then the config)")
	fl.StringVar(&f.format, "format", "table", "output format "+strings.Join(plan.Formats, ", "))
	fl.StringVar(&f.output, "output", "", "write the plan to this file instead of standard output")
	fl.IntVar(&f.replicates, "replicates", plan.DefaultReplicates, fmt.Sprintf("simulated canaries per step and signal (100 to %d)", plan.MaxReplicates))
	fl.Uint64Var(&f.seed, "seed", 1, "the simulation's seed (the same seed gives the same plan)")
	return cmd
}

func runPlan(cmd *cobra.Command, f planFlags) error {
	if err := requireFlags(cmd, "config", "ramp"); err != nil {
		return err
	}
	live := f.baselineScope != ""
	switch {
	case f.baseline == "" && !live:
		return usageError{errors.New("verdict plan needs the stable version's data: --baseline FILE, or --baseline-scope K=V with --window DUR")}
	case f.baseline != "" && live:
		return usageError{errors.New("--baseline and --baseline-scope are two sources of the same data; give one")}
	case live && f.window == "":
		return usageError{errors.New("--baseline-scope needs --window, how much of the stable version's data to read (e.g. 1h)")}
	case !live && (f.window != "" || f.end != ""):
		return usageError{errors.New("--window and --end go with --baseline-scope")}
	}
	if !slices.Contains(plan.Formats, f.format) {
		return usageError{fmt.Errorf("--format %q is not a plan format (want %s)", f.format, strings.Join(plan.Formats, ", "))}
	}
	ramp, err := plan.ParseRamp(f.ramp)
	if err != nil {
		return usageError{fmt.Errorf("--ramp: %w", err)}
	}
	var share judge.Change
	if err := share.UnmarshalText([]byte(f.baselineShare)); err != nil || share.Points || !(share.Value > 0 && share.Value <= 1) {
		return usageError{fmt.Errorf("--baseline-share %q is not a share of the traffic; give a percentage up to 100%%, such as 95%%", f.baselineShare)}
	}
	step, err := durationFlag("--step", f.step)
	if err != nil {
		return err
	}
	if f.replicates < 100 || f.replicates > plan.MaxReplicates {
		return usageError{fmt.Errorf("--replicates %d: give between 100 and %d", f.replicates, plan.MaxReplicates)}
	}
	ctx := cmd.Context()
	cfg, err := analysis.LoadConfig(ctx, f.config)
	if err != nil {
		return err
	}
	in := plan.Input{Config: cfg, Ramp: ramp, BaselineShare: share.Value, Step: step, Replicates: f.replicates, Seed: f.seed}
	if live {
		if in.Baseline, in.Origin, err = liveBaseline(cmd, cfg, f, step); err != nil {
			return err
		}
	} else {
		series, err := file.Load(ctx, f.baseline)
		if err != nil {
			return err
		}
		in.Origin = filepath.Base(f.baseline)
		if in.Baseline, err = cfg.SamplesOf(analysis.SeriesSet{Origin: in.Origin, Series: series}); err != nil {
			return err
		}
		for i, d := range in.Baseline {
			if d.Step == 0 && step == 0 && cfg.Signals[i].Test != judge.Threshold {
				return usageError{fmt.Errorf("%s has no timestamps for signal %s, so give --step, the time each of its points covers (e.g. 1m)", in.Origin, d.Signal)}
			}
		}
	}
	p, err := plan.Build(ctx, in)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, f.format); err != nil {
		return err
	}
	return writePlan(cmd, buf.Bytes(), f.output)
}

// liveBaseline reads the stable version's data over the window from the
// live sources.
func liveBaseline(cmd *cobra.Command, cfg *analysis.Config, f planFlags, step time.Duration) ([]analysis.SignalData, string, error) {
	scopes, err := parseScopes(f.baselineScope, f.baselineScope)
	if err != nil {
		return nil, "", err
	}
	scope := scopes.Baseline
	span, err := durationFlag("--window", f.window)
	if err != nil {
		return nil, "", err
	}
	if span <= 0 {
		return nil, "", usageError{fmt.Errorf("--window %s: give a positive duration", f.window)}
	}
	if step == 0 {
		step = query.DefaultStep
	}
	end := time.Now()
	if f.end != "" {
		if end, err = parseTime("--end", f.end, end); err != nil {
			return nil, "", err
		}
	}
	end = end.Truncate(step)
	w := metrics.Window{Start: end.Add(-span), End: end, Step: step}
	if err := analysis.CheckExtent(analysis.Extent{Window: w}, analysis.ExtentFields{Step: "--step"}); err != nil {
		return nil, "", err
	}
	overrides := analysis.SourceOverrides{PrometheusURL: firstOf(f.prometheusURL, os.Getenv("VERDICT_PROMETHEUS_URL")), LokiURL: firstOf(f.lokiURL, os.Getenv("VERDICT_LOKI_URL"))}
	sources, err := analysis.OpenSources(cfg, overrides)
	if err != nil {
		return nil, "", err
	}
	data, err := analysis.FetchSide(cmd.Context(), cfg, sources, scope, w, analysis.DefaultParallelism)
	if err != nil {
		return nil, "", err
	}
	origin := fmt.Sprintf("%s over %s .. %s", query.FormatScope(scope), w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339))
	return data, origin, nil
}

// durationFlag reads a duration flag written as in configs (Go's 1h30m or
// Prometheus' 90m, 1d); empty is 0.
func durationFlag(name, value string) (time.Duration, error) {
	if value == "" {
		return 0, nil
	}
	var d analysis.Duration
	if err := d.UnmarshalText([]byte(value)); err != nil {
		return 0, usageError{fmt.Errorf("%s %q is not a duration such as 30s, 5m, 1h or 1d", name, value)}
	}
	return time.Duration(d), nil
}

// writePlan writes the plan to standard output or, whole, to a file.
func writePlan(cmd *cobra.Command, out []byte, output string) error {
	if output == "" || output == "-" {
		_, err := cmd.OutOrStdout().Write(out)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), ".verdict-plan-*")
	if err != nil {
		return fmt.Errorf("writing the plan to %s: %w", output, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(out)
	if err := errors.Join(werr, tmp.Close(), os.Chmod(tmp.Name(), 0o644), os.Rename(tmp.Name(), output)); err != nil {
		return fmt.Errorf("writing the plan to %s: %w", output, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: plan written to %s\n", cmd.CommandPath(), output)
	return nil
}
