package analysis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/scoring"
)

// Scopes names the two deployments an analysis compares: the template
// variables that make each signal's query select the baseline or the canary.
type Scopes struct {
	Baseline metrics.Scope `json:"baseline"`
	Canary   metrics.Scope `json:"canary"`
}

// Window is the time range a report covers, in its JSON form.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Step is the query resolution, as a Go duration string ("10s").
	Step string `json:"step,omitempty"`
}

// LiveRequest asks for one judgement of a canary on live data.
type LiveRequest struct {
	Scopes Scopes
	Window metrics.Window
	// Parallelism bounds the queries in flight (default DefaultParallelism).
	Parallelism int
	// Look and Looks number this judgement among the repeated looks of a
	// multi-interval run with a sequential config (see judge.Options).
	Look, Looks int
}

// DefaultParallelism is the number of queries an analysis runs at once.
const DefaultParallelism = 8

// SourceSet maps a source name (prometheus, loki) to the source that serves it.
type SourceSet map[string]metrics.Source

// CheckLive reports what stops the config from running live for scopes
// with these variables: a signal without a query, a source that is not
// configured, or a template variable that neither scope defines. It queries
// nothing.
func (c *Config) CheckLive(sources SourceSet, scopes Scopes) error {
	keys := scopeKeys(scopes)
	for i, s := range c.Signals {
		path := fmt.Sprintf("signals[%d]", i)
		if s.Source == "" || s.Source == "file" || s.Query == "" {
			return c.fieldError(path+".query", fmt.Errorf("signal %q has no query, so it can only be judged from files", s.Name))
		}
		if _, ok := sources[s.Source]; !ok {
			return c.fieldError(path+".source", fmt.Errorf("signal %q reads from %s, but no %s source is configured (sources.%s.url, --%s-url or VERDICT_%s_URL)",
				s.Name, s.Source, s.Source, s.Source, s.Source, upper(s.Source)))
		}
		if err := query.Validate(s.Query, keys); err != nil {
			return c.fieldError(path+".query", err)
		}
	}
	return nil
}

// RenderedQuery is one signal's query as it will run for each scope.
type RenderedQuery struct {
	Signal, Source   string
	Baseline, Canary string
}

// RenderQueries checks that every signal can run live for these scopes
// (as CheckLive, without needing the sources) and renders each query for
// both scopes over the window.
func (c *Config) RenderQueries(scopes Scopes, w metrics.Window) ([]RenderedQuery, error) {
	keys := scopeKeys(scopes)
	out := make([]RenderedQuery, 0, len(c.Signals))
	for i, s := range c.Signals {
		path := fmt.Sprintf("signals[%d].query", i)
		if s.Source == "" || s.Source == "file" || s.Query == "" {
			return nil, c.fieldError(path, fmt.Errorf("signal %q has no query, so it can only be judged from files", s.Name))
		}
		if err := query.Validate(s.Query, keys); err != nil {
			return nil, c.fieldError(path, err)
		}
		r := RenderedQuery{Signal: s.Name, Source: s.Source}
		var err error
		if r.Baseline, err = query.Render(s.Query, scopes.Baseline, w); err != nil {
			return nil, c.fieldError(path, fmt.Errorf("baseline scope: %w", err))
		}
		if r.Canary, err = query.Render(s.Query, scopes.Canary, w); err != nil {
			return nil, c.fieldError(path, fmt.Errorf("canary scope: %w", err))
		}
		out = append(out, r)
	}
	return out, nil
}

// scopeKeys lists the variables both scopes define: a query must render for each.
func scopeKeys(scopes Scopes) []string {
	var keys []string
	for k := range scopes.Baseline {
		if _, ok := scopes.Canary[k]; ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// fetched is one side's answer for one signal.
type fetched struct {
	values   []float64
	times    []time.Time
	err      error
	warnings []string
	series   int
}

// Run judges a canary once on live data: it queries every signal for the
// baseline and the canary over the window (at most req.Parallelism queries
// at a time), judges and scores them.
//
// A query that fails gives its signal the classification error with a
// reason naming the query and what happened; a query that returns nothing
// gives nodata. Neither is ever a pass: by the scoring rules enough of them
// make the verdict none. Run itself fails only for a config that cannot run
// live (see CheckLive) or a cancelled context.
func Run(ctx context.Context, c *Config, sources SourceSet, req LiveRequest) (*Report, error) {
	if err := c.CheckLive(sources, req.Scopes); err != nil {
		return nil, err
	}
	limit := req.Parallelism
	if limit <= 0 {
		limit = DefaultParallelism
	}
	baseline := make([]fetched, len(c.Signals))
	canary := make([]fetched, len(c.Signals))
	// The default judge takes each signal as soon as both its sides have
	// answered, on the goroutine of the later one, so judging overlaps the
	// remaining queries instead of waiting for the slowest.
	results := make([]judge.Result, len(c.Signals))
	answered := make([]atomic.Int32, len(c.Signals))
	// The judging goroutines share Workspaces: at most one per query in
	// flight, reused from signal to signal.
	workspaces := sync.Pool{New: func() any { return new(judge.Workspace) }}
	opts := judge.Options{Confidence: c.Confidence, Look: req.Look, Looks: req.Looks}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, s := range c.Signals {
		q := metrics.Query{Signal: s.Name, Expr: s.Query, Aggregate: s.Aggregate}
		src := sources[s.Source]
		for _, side := range []struct {
			scope metrics.Scope
			out   *fetched
		}{{req.Scopes.Baseline, &baseline[i]}, {req.Scopes.Canary, &canary[i]}} {
			g.Go(func() error {
				*side.out = fetch(gctx, src, q, side.scope, req.Window)
				if answered[i].Add(1) == 2 && c.Judge != JudgeKayenta {
					w := workspaces.Get().(*judge.Workspace)
					results[i] = judgeSignal(w, s, baseline[i], canary[i], req.Scopes, opts)
					workspaces.Put(w)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("analysis %s: %w", c.Name, err)
	}

	var warnings []string
	for i, s := range c.Signals {
		for _, w := range baseline[i].warnings {
			warnings = append(warnings, fmt.Sprintf("%s (baseline): %s", s.Name, w))
		}
		for _, w := range canary[i].warnings {
			warnings = append(warnings, fmt.Sprintf("%s (canary): %s", s.Name, w))
		}
	}
	var rep *Report
	if c.Judge == JudgeKayenta {
		var err error
		if rep, err = judgeKayentaLive(c, baseline, canary, warnings); err != nil {
			return nil, err
		}
	} else {
		rep = newReport(c, results, warnings)
	}
	rep.Series = make([]SignalSeries, len(c.Signals))
	for i, s := range c.Signals {
		rep.Series[i] = SignalSeries{Name: s.Name,
			Baseline: metrics.Series{Signal: s.Name, Values: baseline[i].values, Times: baseline[i].times},
			Canary:   metrics.Series{Signal: s.Name, Values: canary[i].values, Times: canary[i].times}}
	}
	rep.Scopes = &req.Scopes
	rep.Window = &Window{Start: req.Window.Start.UTC(), End: req.Window.End.UTC()}
	if req.Window.Step > 0 {
		rep.Window.Step = req.Window.Step.String()
	}
	return rep, nil
}

// judgeSignal judges one signal on what its queries returned; a failed
// query makes the signal an error, never a pass.
func judgeSignal(w *judge.Workspace, s Signal, b, cn fetched, scopes Scopes, opts judge.Options) judge.Result {
	switch {
	case b.err != nil:
		return judge.Unavailable(s.Spec, "baseline query failed: "+b.err.Error())
	case cn.err != nil:
		return judge.Unavailable(s.Spec, "canary query failed: "+cn.err.Error())
	}
	r := w.Judge(s.Spec, b.values, cn.values, opts)
	if b.series == 0 {
		r.Reason += fmt.Sprintf(" (the baseline query returned no series for %s)", query.FormatScope(scopes.Baseline))
	}
	if cn.series == 0 {
		r.Reason += fmt.Sprintf(" (the canary query returned no series for %s)", query.FormatScope(scopes.Canary))
	}
	return r
}

// judgeKayentaLive runs the Kayenta-compatible judge on fetched data.
// Kayenta fails a whole run when a query fails; here the run gets no
// verdict instead, and each failed signal says what happened.
func judgeKayentaLive(c *Config, baseline, canary []fetched, warnings []string) (*Report, error) {
	b := make(map[string][]float64, len(c.Signals))
	cn := make(map[string][]float64, len(c.Signals))
	var failed []string
	for i, s := range c.Signals {
		b[s.Name], cn[s.Name] = baseline[i].values, canary[i].values
		if baseline[i].err != nil || canary[i].err != nil {
			failed = append(failed, s.Name)
		}
	}
	rep, jr, err := JudgeKayentaValues(c, b, cn)
	if err != nil {
		return nil, err
	}
	rep.Kayenta = jr
	rep.Warnings = append(rep.Warnings, warnings...)
	for i, s := range c.Signals {
		for _, side := range []struct {
			name string
			err  error
		}{{"baseline", baseline[i].err}, {"canary", canary[i].err}} {
			if side.err != nil && i < len(rep.Signals) {
				rep.Signals[i] = judge.Unavailable(s.Spec, side.name+" query failed: "+side.err.Error())
				break
			}
		}
	}
	if len(failed) > 0 {
		rep.Verdict, rep.Score = scoring.None, nil
		rep.Reason = fmt.Sprintf("no verdict: the queries of %d signals failed (%s)", len(failed), strings.Join(failed, ", "))
	}
	return rep, nil
}

// fetch runs one query and flattens its answer into one side's values.
func fetch(ctx context.Context, src metrics.Source, q metrics.Query, scope metrics.Scope, w metrics.Window) fetched {
	res, err := src.Fetch(ctx, q, maps.Clone(scope), w)
	if err != nil {
		return fetched{err: err}
	}
	f := fetched{warnings: res.Warnings, series: len(res.Series)}
	if len(res.Series) > 1 {
		f.err = fmt.Errorf("signal %s: the source returned %d series where one was expected", q.Signal, len(res.Series))
		return f
	}
	for _, s := range res.Series {
		f.values = append(f.values, s.Values...)
		f.times = append(f.times, s.Times...)
	}
	return f
}

// IntervalRequest asks for a multi-interval analysis: the canary is judged
// at the end of every interval of its lifetime, on a window that grows from
// the start (or, with Lookback, slides), and the run stops at the first fail.
type IntervalRequest struct {
	LiveRequest
	// Lifetime is how long the canary runs from Window.Start; Window.End is ignored.
	Lifetime time.Duration
	// Interval is the time between judgements (default: Lifetime, one judgement).
	Interval time.Duration
	// Lookback, when set, judges only the last Lookback of each window.
	Lookback time.Duration
	// Clock tells the time and waits; nil uses the real clock.
	Clock Clock
	// Progress, when set, is called after each interval is judged.
	Progress func(done, total int, r IntervalResult)
	// Acquire, when set, is called before each judgement and returns once
	// the judgement may run (or ctx's error); the run calls release when
	// the judgement ends. Between judgements, while it waits for the end of
	// the next interval, the run holds nothing: a caller bounding the
	// judgements in progress (verdict serve's workers) is not blocked by
	// long runs that are only waiting.
	Acquire func(ctx context.Context) (release func(), err error)
}

// Clock is the time source of a multi-interval run, replaceable in tests.
type Clock interface {
	Now() time.Time
	// SleepUntil waits until t or until ctx is done.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IntervalResult is the outcome of one interval of a multi-interval run.
type IntervalResult struct {
	Index   int       `json:"index"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Verdict string    `json:"verdict"`
	Score   *float64  `json:"score"`
	Reason  string    `json:"reason"`
}

// runHolding is Run while holding what acquire gives (nothing when nil),
// released however Run ends.
func runHolding(ctx context.Context, acquire func(context.Context) (func(), error), c *Config, sources SourceSet, req LiveRequest) (*Report, error) {
	if acquire != nil {
		release, err := acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("analysis %s: %w", c.Name, err)
		}
		defer release()
	}
	return Run(ctx, c, sources, req)
}

// RunIntervals judges the canary at the end of each interval, waiting for
// windows that end in the future, and stops early at the first fail. The
// returned report is the last interval's, with every interval listed in
// Report.Intervals; its verdict is the run's verdict.
func RunIntervals(ctx context.Context, c *Config, sources SourceSet, req IntervalRequest) (*Report, error) {
	if req.Lifetime <= 0 {
		return nil, errors.New("a multi-interval analysis needs a lifetime")
	}
	interval := req.Interval
	if interval <= 0 || interval > req.Lifetime {
		interval = req.Lifetime
	}
	if req.Lookback < 0 {
		return nil, errors.New("the lookback cannot be negative")
	}
	clock := req.Clock
	if clock == nil {
		clock = realClock{}
	}
	total := int(req.Lifetime / interval)
	start := req.Window.Start
	var last *Report
	var intervals []IntervalResult
	for i := 1; i <= total; i++ {
		end := start.Add(time.Duration(i) * interval)
		if err := clock.SleepUntil(ctx, end); err != nil {
			return nil, fmt.Errorf("analysis %s interval %d of %d: %w", c.Name, i, total, err)
		}
		w := req.Window
		w.Start, w.End = start, end
		if req.Lookback > 0 && end.Add(-req.Lookback).After(start) {
			w.Start = end.Add(-req.Lookback)
		}
		one := req.LiveRequest
		one.Window = w
		if c.Sequential {
			one.Look, one.Looks = i, total
		}
		rep, err := runHolding(ctx, req.Acquire, c, sources, one)
		if err != nil {
			return nil, err
		}
		ir := IntervalResult{Index: i, Start: w.Start.UTC(), End: w.End.UTC(), Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason}
		intervals = append(intervals, ir)
		last = rep
		if req.Progress != nil {
			req.Progress(i, total, ir)
		}
		if rep.Verdict == "fail" {
			if i < total {
				last.Reason += fmt.Sprintf(" (stopped early after interval %d of %d)", i, total)
			}
			break
		}
	}
	last.Intervals = intervals
	return last, nil
}
