package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/loki"
	"github.com/verdict-aca/verdict/metrics/query"
)

type analyzeFlags struct {
	config, baselineScope, canaryScope string
	start, end                         string
	lookback, step, lifetime, interval time.Duration
	format, output, db                 string
	prometheusURL, lokiURL             string
	parallelism                        int
	canaryWeight                       string
	timeout                            time.Duration
}

// defaultAnalyzeTimeout bounds a judgement of verdict analyze: the
// queries with their retries, and the judging.
const defaultAnalyzeTimeout = 2 * time.Minute

func newAnalyzeCommand() *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze --config FILE --baseline-scope K=V[,K=V] --canary-scope K=V[,K=V] (--start T --end T | --lookback DUR)",
		Short: "Judge a canary on live data from Prometheus or Loki",
		Long: "Judge a canary on live data: every signal's query is rendered for the baseline and the canary scope,\n" +
			"run over the window, judged and scored. With --lifetime and --interval the canary is judged at the end\n" +
			"of every interval (waiting for windows that end in the future) and the run stops at the first fail.\n" +
			"Times are RFC 3339, unix seconds or \"now\"; now is rounded down to the step, so a command gives the same answer\n" +
			"whatever second within the step it runs. The exit code carries the verdict (0 pass, 1 fail, 2 marginal, 3 none).\n\n" +
			"A source that answered none of its queries (refused, unresolvable, 404 for every query, not a Prometheus or Loki,\n" +
			"out of retries), or one still unanswered when --timeout passes, exits 69 with one line naming the source's URL and\n" +
			"the window, and no report. --timeout bounds the judgement (default 2m: the queries, their retries and judging);\n" +
			"with --lifetime it bounds each judgement, and the lifetime bounds the run.",
		Example: `  # the last hour of a canary on Prometheus, at a 10s step
  verdict analyze -c fixtures/prometheus/latency-regression.yaml --prometheus-url http://127.0.0.1:9090 \
      --baseline-scope scenario=latency-regression,track=baseline \
      --canary-scope scenario=latency-regression,track=canary --lookback 1h --step 10s

  # judge every 15 minutes of the canary's first hour from now, stopping at the first fail
  verdict analyze -c checkout.yaml --baseline-scope track=baseline --canary-scope track=canary --lifetime 1h --interval 15m

  # a Markdown summary for a pull request; give up on a source after 30s
  verdict analyze -c checkout.yaml --baseline-scope track=baseline --canary-scope track=canary --lookback 30m -o verdict.md --timeout 30s`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAnalyze(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "config file (YAML or JSON; - reads standard input)")
	fl.StringVar(&f.baselineScope, "baseline-scope", "", "template variables selecting the baseline, e.g. track=baseline,namespace=shop")
	fl.StringVar(&f.canaryScope, "canary-scope", "", "template variables selecting the canary, e.g. track=canary,namespace=shop")
	fl.StringVar(&f.start, "start", "", "start of the window (or of the canary's lifetime)")
	fl.StringVar(&f.end, "end", "", "end of the window")
	fl.Var((*duration)(&f.lookback), "lookback", "judge the last DUR (instead of --start/--end); with --lifetime, the window of each interval")
	fl.Var((*duration)(&f.step), "step", "query resolution (default: the source's choice)")
	fl.Var((*duration)(&f.lifetime), "lifetime", "judge repeatedly over this lifetime, from --start (default now)")
	fl.Var((*duration)(&f.interval), "interval", "with --lifetime: time between judgements (default: the lifetime)")
	addReportFlags(cmd, &f.format, &f.output)
	fl.StringVar(&f.db, "db", "", "also record the analysis in this store (sqlite:PATH), for verdict serve to list")
	fl.StringVar(&f.prometheusURL, "prometheus-url", "", "Prometheus URL (default $VERDICT_PROMETHEUS_URL, then the config)")
	fl.StringVar(&f.lokiURL, "loki-url", "", "Loki URL (default $VERDICT_LOKI_URL, then the config)")
	f.timeout = defaultAnalyzeTimeout
	fl.Var((*duration)(&f.timeout), "timeout", "bound on the judgement (with --lifetime, on each): queries, retries and judging; a source that has not answered by then exits 69")
	fl.IntVar(&f.parallelism, "parallelism", analysis.DefaultParallelism, "queries in flight at once")
	fl.StringVar(&f.canaryWeight, "canary-weight", "", "the canary's expected share of the two sides' traffic (5% at 95/5); a canary far from it gets no verdict (default: the config's canaryWeight)")
	return cmd
}

func runAnalyze(cmd *cobra.Command, f analyzeFlags) error {
	if err := requireFlags(cmd, "config", "baseline-scope", "canary-scope"); err != nil {
		return err
	}
	format, err := reportFormat(cmd, f.format, f.output)
	if err != nil {
		return err
	}
	scopes, err := parseScopes(f.baselineScope, f.canaryScope)
	if err != nil {
		return err
	}
	now := time.Now()
	window, err := analysisWindow(f, now)
	if err != nil {
		return err
	}
	extent := analysis.Extent{Window: window, Lifetime: f.lifetime, Interval: f.interval, Lookback: f.lookback}
	if err := analysis.CheckExtent(extent, analysis.ExtentFields{Step: "--step", Lifetime: "--lifetime", Interval: "--interval"}); err != nil {
		return err // exit 65: the request is well formed but asks too much
	}
	ctx := cmd.Context()
	st, err := openRecord(cmd, f.db)
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	cfg, configText, err := loadConfig(cmd, f.config)
	if err != nil {
		return err
	}
	overrides := analysis.SourceOverrides{PrometheusURL: firstOf(f.prometheusURL, os.Getenv("VERDICT_PROMETHEUS_URL")), LokiURL: firstOf(f.lokiURL, os.Getenv("VERDICT_LOKI_URL"))}
	sources, err := analysis.OpenSources(cfg, overrides)
	if err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usageError{errors.New("--timeout must be positive")}
	}
	live := analysis.LiveRequest{Scopes: scopes, Window: window, Parallelism: f.parallelism, Timeout: f.timeout, FailUnanswered: true}
	if f.canaryWeight != "" {
		var w judge.Change
		if err := w.UnmarshalText([]byte(f.canaryWeight)); err != nil || w.Points || !(w.Value > 0 && w.Value < 1) {
			return usageError{fmt.Errorf("--canary-weight %q is not a share of the traffic; give a percentage such as 5%%", f.canaryWeight)}
		}
		live.CanaryWeight = w.Value
	}

	var rep *analysis.Report
	if f.lifetime > 0 {
		// A progress bar on a terminal; nothing when stderr is a file or pipe.
		progress := func(done, total int, r analysis.IntervalResult) {}
		if isTerminal(cmd.ErrOrStderr()) {
			intervals := 1
			if f.interval > 0 && f.interval < f.lifetime {
				intervals = int(f.lifetime / f.interval)
			}
			bar := progressbar.NewOptions(intervals, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionSetDescription("waiting for interval 1"), progressbar.OptionShowCount(),
				progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(false))
			defer func() {
				_ = bar.Exit()
				fmt.Fprintln(cmd.ErrOrStderr()) // end the bar's line before the report
			}()
			progress = func(done, total int, r analysis.IntervalResult) {
				score := "none"
				if r.Score != nil {
					score = strconv.FormatFloat(*r.Score, 'g', 4, 64)
				}
				bar.ChangeMax(total)
				bar.Describe(fmt.Sprintf("interval %d/%d (%s .. %s): %s, score %s", done, total, r.Start.Format(time.TimeOnly), r.End.Format(time.TimeOnly), r.Verdict, score))
				_ = bar.Set(done)
			}
		}
		rep, err = analysis.RunIntervals(ctx, cfg, sources, analysis.IntervalRequest{
			LiveRequest: live, Lifetime: f.lifetime, Interval: f.interval, Lookback: f.lookback, Progress: progress})
	} else {
		rep, err = analysis.Run(ctx, cfg, sources, live)
	}
	var unanswered *analysis.UnansweredError
	if errors.As(err, &unanswered) {
		unanswered.URL = cfg.SourceURL(unanswered.Source, overrides)
	}
	if err != nil {
		return err
	}
	if err := writeReport(cmd, rep, format, f.output); err != nil {
		return err
	}
	request := map[string]any{"baselineScope": scopes.Baseline, "canaryScope": scopes.Canary, "start": window.Start, "end": window.End}
	id, err := record(cmd, st, f.db, configText, rep, request)
	if err != nil {
		return err
	}
	pushEvent(cmd, cfg, rep, id)
	return verdictExit{verdictCode(rep.Verdict)}
}

// pushEvent sends the verdict event to Loki when the config has a push URL,
// naming the analysis recorded with --db (id; "" without). A failed push
// is reported on stderr and does not change the exit code: the verdict
// stands whether or not Loki heard of it.
func pushEvent(cmd *cobra.Command, cfg *analysis.Config, rep *analysis.Report, id string) {
	src := cfg.Sources.Get(analysis.SourceLoki)
	if src == nil || src.PushURL == "" {
		return
	}
	warn := func(err error) {
		fmt.Fprintf(cmd.ErrOrStderr(), "verdict: warning: the verdict event was not sent to Loki: %v\n", err)
	}
	pc := src.PusherConfig(nil)
	pc.Retries = 2
	pusher, err := loki.NewEventPusher(pc)
	if err != nil {
		warn(err)
		return
	}
	defer pusher.Close()
	if err := pusher.Push(cmd.Context(), analysis.Event(rep, analysis.EventInfo{Finished: time.Now(), Origin: "cli", ID: id})); err != nil {
		warn(err)
	}
}

// analysisWindow works out the window (or, with --lifetime, its start) from
// the flags. "now" (--lookback's end, a lifetime's default start, or the
// word now) is rounded down to a multiple of the step (--step, else the
// one query.Step picks for the window, 1m up to 7 days), as the API's Argo
// and Flagger windows are: the queries then see the same samples whatever
// second within the step the command runs.
func analysisWindow(f analyzeFlags, now time.Time) (metrics.Window, error) {
	w := metrics.Window{Step: f.step}
	// nowFor is now aligned to the step of a window of this span.
	nowFor := func(span time.Duration) time.Time {
		return alignDown(now, query.Step(metrics.Window{Start: now.Add(-span), End: now, Step: f.step}))
	}
	if f.interval > 0 && f.lifetime == 0 {
		return w, usageError{errors.New("--interval goes with --lifetime")}
	}
	if f.lifetime > 0 {
		if f.end != "" {
			return w, usageError{errors.New("--end does not go with --lifetime (the lifetime sets the end)")}
		}
		span := f.lifetime
		if f.interval > 0 && f.interval < span {
			span = f.interval
		}
		if f.lookback > 0 && f.lookback < span {
			span = f.lookback
		}
		w.Start = nowFor(span)
		if f.start != "" {
			t, err := parseTime("--start", f.start, w.Start)
			if err != nil {
				return w, err
			}
			w.Start = t
		}
		w.End = w.Start.Add(f.lifetime)
		return w, nil
	}
	switch {
	case f.lookback > 0 && (f.start != "" || f.end != ""):
		return w, usageError{errors.New("give either --lookback or --start and --end, not both")}
	case f.lookback > 0:
		w.End = nowFor(f.lookback)
		w.Start = w.End.Add(-f.lookback)
		return w, nil
	case f.start == "" || f.end == "":
		return w, usageError{errors.New("the window needs --start and --end, or --lookback")}
	}
	var err error
	if w.Start, err = parseTime("--start", f.start, now); err != nil {
		return w, err
	}
	if w.End, err = parseTime("--end", f.end, now); err != nil {
		return w, err
	}
	if f.end == "now" {
		w.End = nowFor(w.End.Sub(w.Start))
	}
	if !w.End.After(w.Start) {
		return w, usageError{fmt.Errorf("--end %s is not after --start %s", f.end, f.start)}
	}
	return w, nil
}

// alignDown rounds t down to a multiple of step since the Unix epoch: the
// times counts are evaluated at (query.CountGrid).
func alignDown(t time.Time, step time.Duration) time.Time {
	if step <= 0 {
		return t
	}
	n := t.UnixNano()
	return time.Unix(0, n-n%int64(step)).In(t.Location())
}

// parseTime reads RFC 3339, unix seconds (possibly fractional) or "now".
func parseTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 && secs < 1e11 {
		whole := int64(secs)
		return time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC(), nil
	}
	return time.Time{}, usageError{fmt.Errorf("%s %q is not a time (RFC 3339, unix seconds or now)", flag, s)}
}

// parseScopes reads K=V[,K=V] lists for both sides.
func parseScopes(baseline, canary string) (analysis.Scopes, error) {
	b, err := parseScope("--baseline-scope", baseline)
	if err != nil {
		return analysis.Scopes{}, err
	}
	c, err := parseScope("--canary-scope", canary)
	if err != nil {
		return analysis.Scopes{}, err
	}
	return analysis.Scopes{Baseline: b, Canary: c}, nil
}

func parseScope(flag, s string) (metrics.Scope, error) {
	scope, err := query.ParseScope(s)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return scope, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
