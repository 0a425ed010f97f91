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
	// CanaryWeight is the canary's expected share of the two sides'
	// traffic for this judgement (0: the config's canaryWeight, if any).
	CanaryWeight float64
	// Anytime, for a config with sequential: anytime, is the evidence this
	// look continues (nil: a first look, or not anytime).
	Anytime *AnytimeLook
	// Timeout, when set, bounds this judgement: its queries, retries and
	// judging. When it passes before every query has answered, Run returns
	// an *UnansweredError (a judgement of what answered in time would be
	// a verdict on part of the evidence). In a multi-interval run it bounds
	// each judgement, not the waits between them.
	Timeout time.Duration
	// FailUnanswered makes Run return an *UnansweredError when a source
	// answered none of its queries (it could not be reached, refused or
	// misread every request, or did not answer in time), instead of a
	// report whose signals are all errors and whose verdict is none, which
	// reads like too little data.
	FailUnanswered bool
}

// UnansweredError is a judgement without a verdict because a source did
// not answer: it answered none of its queries (connection refused, DNS,
// HTTP 404 or 401 for every request, an answer that is no Prometheus or
// Loki answer, retries exhausted on timeouts or 5xx), or the request's
// Timeout passed before it answered them all.
type UnansweredError struct {
	// Source names the source ("prometheus", or an operator's name).
	Source string
	// URL is the source's URL when the caller knows it (Run does not;
	// the command line fills it in), for the message.
	URL string
	// Window is the judgement's window.
	Window metrics.Window
	// Queries is how many queries the judgement asked of the source, and
	// Answered how many it answered (0 unless Timeout is set).
	Queries, Answered int
	// Timeout is the request's Timeout when it passed first; 0 otherwise.
	Timeout time.Duration
	// Err is the first failure, in signal order, without the query text.
	Err error
}

func (e *UnansweredError) Error() string {
	source := "source " + e.Source
	if e.URL != "" {
		source += " at " + e.URL
	}
	what := fmt.Sprintf("%s answered none of its %d queries", source, e.Queries)
	if e.Timeout > 0 {
		what = fmt.Sprintf("the judgement did not finish within %s: %s answered %d of its %d queries", query.Duration(e.Timeout), source, e.Answered, e.Queries)
	}
	return fmt.Sprintf("%s for the window %s: %v", what, FormatWindow(e.Window), e.Err)
}

func (e *UnansweredError) Unwrap() error { return e.Err }

// FormatWindow writes a window as "START .. END (step S)", times in UTC
// RFC 3339, the step when it has one.
func FormatWindow(w metrics.Window) string {
	s := w.Start.UTC().Format(time.RFC3339) + " .. " + w.End.UTC().Format(time.RFC3339)
	if w.Step > 0 {
		s += " (step " + query.Duration(w.Step) + ")"
	}
	return s
}

// unanswered tells whether a query's failure means the source gave no
// answer at all, as opposed to an answer that says the query is wrong (bad
// query, several series, too large).
func unanswered(err error) bool {
	var qe *query.Error
	if err == nil || !errors.As(err, &qe) {
		return false
	}
	switch qe.Kind {
	case query.KindTimeout, query.KindUnavailable, query.KindRateLimited, query.KindRejected, query.KindBadResponse, query.KindCanceled:
		return true
	}
	return false
}

// checkAnswered returns an *UnansweredError for the first source (in
// signal order) that answered none of its queries or, when timedOut, that
// left some unanswered; nil when every source answered enough.
func checkAnswered(c *Config, req LiveRequest, timedOut bool, results ...[]fetched) error {
	type tally struct {
		asked, answered int
		first           error
	}
	tallies := map[string]*tally{}
	var order []string
	for i, s := range c.Signals {
		t := tallies[s.Source]
		if t == nil {
			t = &tally{}
			tallies[s.Source] = t
			order = append(order, s.Source)
		}
		_, exposure := signalQueries(s)
		for k, side := range results {
			if k >= 2 && exposure == nil {
				break
			}
			t.asked++
			f := side[i]
			if !unanswered(f.err) {
				t.answered++
			} else if t.first == nil {
				t.first = f.err
				var qe *query.Error
				if errors.As(f.err, &qe) {
					t.first = qe.Err
				}
			}
		}
	}
	for _, name := range order {
		t := tallies[name]
		if t.asked > 0 && (t.answered == 0 && req.FailUnanswered || timedOut && t.answered < t.asked) {
			e := &UnansweredError{Source: name, Window: req.Window, Queries: t.asked, Answered: t.answered, Err: t.first}
			if timedOut {
				e.Timeout = req.Timeout
			}
			return e
		}
	}
	return nil
}

// AnytimeLook is what one look of an anytime analysis carries over from
// the looks before it: each signal's reference information, set at its
// first look (judge.Anytime), and the share of the horizon this look's
// window covers (used by signals without a reference yet).
type AnytimeLook struct {
	References map[string]float64 `json:"references,omitempty"`
	Fraction   float64            `json:"fraction"`
	// Known says that the horizon Fraction is a share of is known (a
	// multi-interval run's lifetime, a config's sequential horizon): the
	// decisions spend their level over it (judge.Horizon), and Looks holds
	// each signal's looks under it so far.
	Known bool                           `json:"known,omitempty"`
	Looks map[string][]judge.HorizonLook `json:"looks,omitempty"`
}

// horizonFamilies are the sizes of a config's two Holm families
// (judge.AdjustFamily): every signal, and those that can fail critically.
func (c *Config) horizonFamilies() (signals, critical int) {
	for _, s := range c.Signals {
		if s.Critical || s.CriticalChange != nil {
			critical++
		}
	}
	return len(c.Signals), critical
}

// FailsAlone reports, signal by signal, whether an ordinary failure of
// that signal alone fails the canary under the config's groups and
// thresholds (scoring.FailsAlone): an anytime run over a known horizon
// holds such a failure to the critical level (judge.Horizon.FailsAlone).
func (c *Config) FailsAlone() []bool {
	groups := make([]string, len(c.Signals))
	for i, s := range c.Signals {
		groups[i] = s.Group
	}
	return scoring.FailsAlone(c.ScoringSpec(), groups)
}

// References collects each signal's reference information from the report
// of an anytime look (judge.TestResult.Reference): what the next look of
// the same canary passes back.
func (rep *Report) References() map[string]float64 {
	out := make(map[string]float64, len(rep.Signals))
	for _, r := range rep.Signals {
		if r.Test != nil && r.Test.Reference > 0 {
			out[r.Name] = r.Test.Reference
		}
	}
	return out
}

// DefaultParallelism is the number of queries an analysis runs at once.
const DefaultParallelism = 8

// SourceSet maps a source name (prometheus, loki, or a name the operator
// chose) to the source that serves it.
type SourceSet map[string]metrics.Source

// CheckLive reports what stops the config from running live for these
// scopes: a signal without a query, a source that is not configured, a
// template variable that neither scope defines, or a scope value the
// source's query language cannot hold (a Graphite target takes only
// letters, digits, '_' and '-'; an InfluxQL query takes values only inside
// its strings and quoted identifiers). It queries nothing.
func (c *Config) CheckLive(sources SourceSet, scopes Scopes) error {
	_, err := c.checkLive(sources, scopes)
	return err
}

// queryTemplates are a signal's query and exposure query as their source's
// language parsed them (nil where it does not parse once: the source
// parses the text).
type queryTemplates struct{ query, exposure metrics.Template }

// checkLive is CheckLive, returning each signal's parsed templates so that
// the fetches render them without parsing again.
func (c *Config) checkLive(sources SourceSet, scopes Scopes) ([]queryTemplates, error) {
	keys := scopeKeys(scopes)
	out := make([]queryTemplates, len(c.Signals))
	for i, s := range c.Signals {
		path := fmt.Sprintf("signals[%d]", i)
		if s.Source == "" || s.Source == "file" || s.Query == "" {
			return nil, c.fieldError(path+".query", fmt.Errorf("signal %q has no query, so it can only be judged from files", s.Name))
		}
		if _, ok := sources[s.Source]; !ok {
			if IsDefaultSource(s.Source) {
				return nil, c.fieldError(path+".source", fmt.Errorf("signal %q reads from %s, but no %s source is configured (sources.%s.url in the config, --%s-url or VERDICT_%s_URL; verdict serve: --sources-file or --%s-url)",
					s.Name, s.Source, s.Source, s.Source, s.Source, upper(s.Source), s.Source))
			}
			return nil, c.fieldError(path+".source", fmt.Errorf("signal %q reads from source %q, which is not configured (sources.%s in the config; verdict serve: --sources-file)", s.Name, s.Source, s.Source))
		}
		lang := LanguageOf(sources[s.Source])
		var err error
		if out[i].query, err = checkQuery(lang, s.Query, keys, scopes); err != nil {
			return nil, c.fieldError(path+".query", err)
		}
		if _, qe := signalQueries(s); qe != nil {
			field := "exposureQuery"
			if s.Test == judge.Proportion {
				field = "trialsQuery"
			}
			if out[i].exposure, err = checkQuery(lang, qe.Expr, keys, scopes); err != nil {
				return nil, c.fieldError(path+"."+field, err)
			}
		}
	}
	return out, nil
}

// checkQuery validates a query template for the scopes' keys and renders
// it for each scope over a nominal window, so that a value the language
// cannot hold is refused before anything is queried. It returns the
// template parsed once for the fetches (nil where the language does not
// parse once).
func checkQuery(lang metrics.Language, expr string, keys []string, scopes Scopes) (metrics.Template, error) {
	end := time.Unix(1_000_000_020, 0)
	w := metrics.Window{Start: end.Add(-time.Hour), End: end, Step: time.Minute}
	_, _, t, err := renderBoth(lang, expr, keys, scopes, w)
	return t, err
}

// renderBoth validates a query template for the scopes' keys and renders
// it for each scope over w. A TemplateLanguage parses the text once for
// all three, and the template is returned; any other language validates
// and renders the text, and the template is nil.
func renderBoth(lang metrics.Language, expr string, keys []string, scopes Scopes, w metrics.Window) (baseline, canary string, t metrics.Template, err error) {
	validate, render := lang.Validate, lang.Render
	if tl, ok := lang.(metrics.TemplateLanguage); ok {
		parsed, perr := tl.Parse(expr)
		if perr != nil {
			// The language's own Validate reports it, as without parsing
			// once (a reserved scope key is named before a parse error).
			if verr := lang.Validate(expr, keys); verr != nil {
				return "", "", nil, verr
			}
			return "", "", nil, perr
		}
		t = parsed
		validate = func(string, []string) error { return parsed.Validate(keys) }
		render = func(_ string, scope metrics.Scope, win metrics.Window) (string, error) {
			return parsed.Render(scope, win)
		}
	}
	if err := validate(expr, keys); err != nil {
		return "", "", nil, err
	}
	if baseline, err = render(expr, scopes.Baseline, w); err != nil {
		return "", "", nil, fmt.Errorf("baseline scope: %w", err)
	}
	if canary, err = render(expr, scopes.Canary, w); err != nil {
		return "", "", nil, fmt.Errorf("canary scope: %w", err)
	}
	return baseline, canary, t, nil
}

// LanguageOf is the template language of a source's queries: its own
// (metrics.LanguageSource), or PromQL/LogQL's. A wrapper of a source
// (instrumentation) must implement LanguageSource with the wrapped
// source's LanguageOf.
func LanguageOf(src metrics.Source) metrics.Language {
	if ls, ok := src.(metrics.LanguageSource); ok {
		return ls.Language()
	}
	return query.PromQL{}
}

// languageOfSpec is the template language of the named source as the
// config's sources: block types it (PromQL/LogQL for the default names).
func (c *Config) languageOfSpec(name string) metrics.Language {
	if sp := c.Sources.Get(name); sp != nil {
		return sp.Language()
	}
	return query.PromQL{}
}

// RenderedQuery is one signal's query as it will run for each scope, and
// its exposure (trials) query when it has one.
type RenderedQuery struct {
	Signal, Source   string
	Baseline, Canary string
	// ExposureName names the exposure query ("exposureQuery", "trialsQuery").
	ExposureName                     string
	BaselineExposure, CanaryExposure string
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
		lang := c.languageOfSpec(s.Source)
		r := RenderedQuery{Signal: s.Name, Source: s.Source}
		var err error
		if r.Baseline, r.Canary, _, err = renderBoth(lang, s.Query, keys, scopes, w); err != nil {
			return nil, c.fieldError(path, err)
		}
		if _, qe := signalQueries(s); qe != nil {
			r.ExposureName = "exposureQuery"
			if s.Test == judge.Proportion {
				r.ExposureName = "trialsQuery"
			}
			epath := fmt.Sprintf("signals[%d].%s", i, r.ExposureName)
			if r.BaselineExposure, r.CanaryExposure, _, err = renderBoth(lang, qe.Expr, keys, scopes, w); err != nil {
				return nil, c.fieldError(epath, err)
			}
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

// fetched is one side's answer for one query of a signal.
type fetched struct {
	values   []float64
	times    []time.Time
	bounds   []float64 // a histogram's bucket bounds
	err      error
	warnings []string
	series   int
}

// signalQueries is what one signal asks of its source: its query and, for
// a count with an exposure (trials), the exposure's query.
func signalQueries(s Signal) (main metrics.Query, exposure *metrics.Query) {
	main = metrics.Query{Signal: s.Name, Expr: s.Query, Aggregate: s.Aggregate, Kind: s.Kind()}
	expr := s.ExposureQuery
	if s.Test == judge.Proportion {
		expr = s.TrialsQuery
	}
	if expr != "" {
		exposure = &metrics.Query{Signal: s.Name, Expr: expr, Aggregate: s.Aggregate, Kind: metrics.Count}
	}
	return main, exposure
}

// Run judges a canary once on live data: it queries every signal for the
// baseline and the canary over the window (at most req.Parallelism queries
// at a time), judges and scores them.
//
// A query that fails gives its signal the classification error with a
// reason naming the query and what happened; a query that returns nothing
// gives nodata. Neither is ever a pass: by the scoring rules enough of them
// make the verdict none. Run itself fails only for a config that cannot run
// live (see CheckLive), a cancelled context, and a source that did not
// answer: with req.FailUnanswered, one that answered none of its queries;
// with req.Timeout, one whose queries were not all answered in time (an
// *UnansweredError either way).
func Run(ctx context.Context, c *Config, sources SourceSet, req LiveRequest) (*Report, error) {
	templates, err := c.checkLive(sources, req.Scopes)
	if err != nil {
		return nil, err
	}
	limit := req.Parallelism
	if limit <= 0 {
		limit = DefaultParallelism
	}
	parent := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	baseline := make([]fetched, len(c.Signals))
	canary := make([]fetched, len(c.Signals))
	baseExp := make([]fetched, len(c.Signals))
	canExp := make([]fetched, len(c.Signals))
	// The default judge takes each signal as soon as all its queries have
	// answered, on the goroutine of the last one, so judging overlaps the
	// remaining queries instead of waiting for the slowest.
	results := make([]judge.Result, len(c.Signals))
	answered := make([]atomic.Int32, len(c.Signals))
	// horizons are the signals' boundaries over a known horizon, which
	// their judgements extend by this look.
	// alone says which signals' failures fail the canary alone.
	var horizons []*judge.Horizon
	var alone []bool
	// The judging goroutines share Workspaces: at most one per query in
	// flight, reused from signal to signal.
	workspaces := sync.Pool{New: func() any { return new(judge.Workspace) }}
	opts := judge.Options{Confidence: c.Confidence, Look: req.Look, Looks: req.Looks, Step: query.Step(req.Window), Extrapolated: true,
		Elapsed: req.Window.End.Sub(req.Window.Start)}
	// The queries in signal order, run by at most limit workers: a worker
	// (and its stack, grown once by the fetching and judging) serves query
	// after query rather than a goroutine starting for each.
	var work []func()
	for i, s := range c.Signals {
		q, qe := signalQueries(s)
		q.Template = templates[i].query
		if qe != nil {
			qe.Template = templates[i].exposure
		}
		src := sources[s.Source]
		type job struct {
			q     metrics.Query
			scope metrics.Scope
			out   *fetched
		}
		jobs := []job{{q, req.Scopes.Baseline, &baseline[i]}, {q, req.Scopes.Canary, &canary[i]}}
		if qe != nil {
			jobs = append(jobs, job{*qe, req.Scopes.Baseline, &baseExp[i]}, job{*qe, req.Scopes.Canary, &canExp[i]})
		}
		so := opts
		if c.Sequential == SequentialAnytime {
			look := req.Anytime
			if look == nil {
				look = &AnytimeLook{Fraction: float64(req.Window.End.Sub(req.Window.Start)) / float64(c.HorizonOrDefault()), Known: c.KnownHorizon > 0}
			}
			so.Anytime = &judge.Anytime{Reference: look.References[s.Name], Fraction: look.Fraction}
			if look.Known {
				if horizons == nil {
					horizons = make([]*judge.Horizon, len(c.Signals))
					alone = c.FailsAlone()
				}
				n, critical := c.horizonFamilies()
				horizons[i] = &judge.Horizon{Elapsed: look.Fraction, Signals: n, CriticalSignals: critical, FailsAlone: alone[i], Looks: slices.Clone(look.Looks[s.Name])}
				so.Anytime.Horizon = horizons[i]
			}
		}
		for _, j := range jobs {
			work = append(work, func() {
				*j.out = fetch(ctx, src, j.q, j.scope, req.Window)
				if answered[i].Add(1) == int32(len(jobs)) && c.Judge != JudgeKayenta {
					w := workspaces.Get().(*judge.Workspace)
					results[i] = judgeSignal(w, s, sides{baseline[i], canary[i], baseExp[i], canExp[i]}, req.Scopes, so)
					workspaces.Put(w)
				}
			})
		}
	}
	var next atomic.Int64
	var workers sync.WaitGroup
	for range min(limit, len(work)) {
		workers.Go(func() {
			for k := next.Add(1) - 1; k < int64(len(work)); k = next.Add(1) - 1 {
				work[k]()
			}
		})
	}
	workers.Wait()
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("analysis %s: %w", c.Name, err)
	}
	timedOut := ctx.Err() != nil
	if req.FailUnanswered || timedOut {
		if err := checkAnswered(c, req, timedOut, baseline, canary, baseExp, canExp); err != nil {
			return nil, err
		}
	}

	var warnings []string
	for i, s := range c.Signals {
		for _, side := range []struct {
			name string
			f    fetched
		}{{"baseline", baseline[i]}, {"canary", canary[i]}, {"baseline exposure", baseExp[i]}, {"canary exposure", canExp[i]}} {
			for _, w := range side.f.warnings {
				warnings = append(warnings, fmt.Sprintf("%s (%s): %s", s.Name, side.name, w))
			}
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
	if horizons != nil {
		rep.HorizonLooks = make(map[string][]judge.HorizonLook, len(horizons))
		for i, h := range horizons {
			if len(h.Looks) > 0 {
				rep.HorizonLooks[c.Signals[i].Name] = h.Looks
			}
		}
	}
	rep.Series = make([]SignalSeries, len(c.Signals))
	for i, s := range c.Signals {
		series := func(f fetched) metrics.Series {
			return metrics.Series{Signal: s.Name, Values: f.values, Times: f.times, Bounds: f.bounds}
		}
		rep.Series[i] = SignalSeries{Name: s.Name, Baseline: series(baseline[i]), Canary: series(canary[i]),
			BaselineExposure: series(baseExp[i]), CanaryExposure: series(canExp[i])}
	}
	if c.Judge != JudgeKayenta {
		weight := req.CanaryWeight
		if weight == 0 {
			weight = c.Weight()
		}
		rep.checkMeasured(weight, true)
	}
	rep.Scopes = &req.Scopes
	rep.Window = &Window{Start: req.Window.Start.UTC(), End: req.Window.End.UTC()}
	if req.Window.Step > 0 {
		rep.Window.Step = req.Window.Step.String()
	}
	return rep, nil
}

// sides are what a signal's queries returned: each side's values and, for
// a count with an exposure, each side's exposure.
type sides struct {
	baseline, canary, baselineExposure, canaryExposure fetched
}

// judgeSignal judges one signal on what its queries returned; a failed
// query makes the signal an error, never a pass.
func judgeSignal(w *judge.Workspace, s Signal, f sides, scopes Scopes, opts judge.Options) judge.Result {
	for _, q := range []struct {
		name string
		f    fetched
	}{{"baseline query", f.baseline}, {"canary query", f.canary}, {"baseline exposure query", f.baselineExposure}, {"canary exposure query", f.canaryExposure}} {
		if q.f.err != nil {
			return judge.Unavailable(s.Spec, q.name+" failed: "+q.f.err.Error())
		}
	}
	b, cn := judge.Sample{Values: f.baseline.values}, judge.Sample{Values: f.canary.values}
	_, qe := signalQueries(s)
	switch {
	case s.Test == judge.Histogram:
		var err error
		if b.Histogram, cn.Histogram, err = histogramSides(f.baseline, f.canary); err != nil {
			return judge.Unavailable(s.Spec, err.Error())
		}
	case qe != nil:
		b.Values, b.Exposure = countsOnExposure(f.baseline, f.baselineExposure)
		cn.Values, cn.Exposure = countsOnExposure(f.canary, f.canaryExposure)
	}
	r := w.JudgeSamples(s.Spec, b, cn, opts)
	if f.baseline.series == 0 && (qe == nil || f.baselineExposure.series == 0) {
		r.Reason += fmt.Sprintf(" (the baseline query returned no series for %s)", query.FormatScope(scopes.Baseline))
	}
	if f.canary.series == 0 && (qe == nil || f.canaryExposure.series == 0) {
		r.Reason += fmt.Sprintf(" (the canary query returned no series for %s)", query.FormatScope(scopes.Canary))
	}
	return r
}

// countsOnExposure lays a side's event counts on its exposure's windows:
// a window the events query had no value for counted no events (an error
// counter is often created only at the first error, so before it the query
// returns nothing at all). Without times, windows align by position.
func countsOnExposure(events, exposure fetched) (values, exp []float64) {
	exp = exposure.values
	if exp == nil {
		exp = []float64{}
	}
	if len(events.times) == 0 || len(exposure.times) == 0 {
		if len(events.values) == 0 {
			return make([]float64, len(exp)), exp
		}
		return events.values, exp
	}
	at := make(map[int64]float64, len(events.times))
	for i, t := range events.times {
		at[t.UnixNano()] = events.values[i]
	}
	values = make([]float64, len(exposure.times))
	for i, t := range exposure.times {
		values[i] = at[t.UnixNano()]
	}
	return values, exp
}

// histogramSides turns two sides' histogram answers into judge.Buckets on
// one set of bounds (metrics.AlignBounds: native histograms only have the
// buckets that were hit).
func histogramSides(b, c fetched) (*judge.Buckets, *judge.Buckets, error) {
	for _, side := range []struct {
		name string
		f    fetched
	}{{"baseline", b}, {"canary", c}} {
		if side.f.series > 0 && len(side.f.values) > 0 && len(side.f.bounds) == 0 {
			return nil, nil, fmt.Errorf("the %s query returned plain values, not histogram buckets (a classic histogram needs sum by (le) (increase(x_bucket[{{.step}}])), a native one sum(increase(x[{{.step}}])))", side.name)
		}
	}
	bs := metrics.Series{Values: b.values, Bounds: b.bounds}
	cs := metrics.Series{Values: c.values, Bounds: c.bounds}
	if err := metrics.AlignBounds(&bs, &cs); err != nil {
		return nil, nil, err
	}
	buckets := func(f fetched, s metrics.Series) *judge.Buckets {
		if f.series == 0 {
			return nil
		}
		bounds := s.Bounds
		if bounds == nil {
			bounds = bs.Bounds
			if bounds == nil {
				bounds = cs.Bounds
			}
		}
		return &judge.Buckets{Bounds: bounds, Counts: s.Values}
	}
	return buckets(b, bs), buckets(c, cs), nil
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
		// The answer is this run's alone: keep its slices (empty ones as
		// nil, as the report has always had them).
		if len(s.Values) > 0 {
			f.values = s.Values
		}
		if len(s.Times) > 0 {
			f.times = s.Times
		}
		f.bounds = s.Bounds
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
	// Done, for a resumed run, are the judgements it recorded before it
	// stopped (Progress's results, in order). The run keeps them and
	// judges again from the last of them on (its report is the run's when
	// it was the last), an anytime run with the references that judgement
	// recorded, so that it continues from its stored evidence instead of
	// recomputing it. Judgements that do not fit the run (another count,
	// other windows, an anytime run's without references) are judged anew.
	Done []IntervalResult
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
	// Signals are each signal's figures at this look, for plotting a
	// sequential analysis: where its estimate and its harmful side's bound
	// stood against its allowance, look by look.
	Signals []IntervalSignal `json:"signals,omitempty"`
	// References, in an anytime run, is each signal's reference
	// information after this judgement: the evidence the next one carries.
	References map[string]float64 `json:"references,omitempty"`
	// Horizon, in an anytime run that spends its level over its lifetime,
	// is each signal's looks under it after this judgement (absent from
	// runs recorded before, which resume with the mixture boundary).
	Horizon *IntervalHorizon `json:"horizon,omitempty"`
}

// IntervalHorizon is the evidence of a known horizon after one judgement
// of a multi-interval anytime run: each signal's looks (judge.Horizon).
type IntervalHorizon struct {
	Looks map[string][]judge.HorizonLook `json:"looks"`
}

// IntervalSignal is one signal at one look of a multi-interval analysis.
type IntervalSignal struct {
	Name           string               `json:"name"`
	Classification judge.Classification `json:"classification"`
	// Shift is the estimated relative change (or in points), RulesOut the
	// harmful side's bound at the decision level (see judge.TestResult),
	// Allowed the allowance; Level the level the decision used (the
	// anytime level when sequential: anytime).
	Shift    *float64 `json:"shift,omitempty"`
	RulesOut *float64 `json:"rulesOut,omitempty"`
	Allowed  float64  `json:"allowed"`
	Level    float64  `json:"level,omitempty"`
}

// intervalSignals extracts each signal's figures from a look's report.
func intervalSignals(rep *Report) []IntervalSignal {
	out := make([]IntervalSignal, 0, len(rep.Signals))
	for _, r := range rep.Signals {
		is := IntervalSignal{Name: r.Name, Classification: r.Classification}
		if t := r.Test; t != nil {
			is.Shift, is.RulesOut = t.RelativeShift, t.RulesOut
			if t.Points {
				is.Shift = t.Estimate
			}
			if t.Allowed != nil {
				is.Allowed = *t.Allowed
			}
			is.Level = t.DecisionLevel
			if t.AnytimeLevel > 0 {
				is.Level = t.AnytimeLevel
			}
		}
		out = append(out, is)
	}
	return out
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
	anytime := c.Sequential == SequentialAnytime
	if anytime && req.Lookback > 0 {
		return nil, errors.New("an anytime analysis judges all its data so far at every look; it takes no lookback")
	}
	var look *AnytimeLook
	// An anytime run knows its lifetime: its decisions spend their level
	// over it (judge.Horizon).
	known := anytime
	first := 1
	if done := resumable(req.Done, start, interval, total, req.Lookback, anytime); len(done) > 0 {
		// Keep the recorded judgements; judge the last one again, with the
		// evidence it recorded, for its report.
		intervals = slices.Clone(done[:len(done)-1])
		first = len(done)
		if anytime {
			last := done[len(done)-1]
			look = &AnytimeLook{References: last.References}
			if last.Horizon != nil {
				look.Known, look.Looks = true, last.Horizon.Looks
			} else {
				known = false // recorded before runs knew their lifetime
			}
		}
	}
	for i := first; i <= total; i++ {
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
		if c.Sequential == SequentialPlanned {
			one.Look, one.Looks = i, total
		}
		if anytime {
			if look == nil {
				look = &AnytimeLook{Known: known}
			}
			// A signal judged for the first time sets its reference from
			// the share of the lifetime its window covers; with the
			// lifetime known, every signal's boundary spends the level by
			// that share.
			look.Fraction = float64(end.Sub(start)) / float64(req.Lifetime)
			one.Anytime = look
		}
		rep, err := runHolding(ctx, req.Acquire, c, sources, one)
		if err != nil {
			return nil, err
		}
		ir := IntervalResult{Index: i, Start: w.Start.UTC(), End: w.End.UTC(), Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason,
			Signals: intervalSignals(rep)}
		if anytime {
			// Signals judged for the first time keep their reference.
			refs := rep.References()
			for name, v := range look.References {
				refs[name] = v
			}
			look = &AnytimeLook{References: refs, Known: known}
			ir.References = refs
			if known {
				looks := maps.Clone(one.Anytime.Looks)
				if looks == nil {
					looks = map[string][]judge.HorizonLook{}
				}
				maps.Copy(looks, rep.HorizonLooks)
				look.Looks = looks
				ir.Horizon = &IntervalHorizon{Looks: looks}
			}
		}
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
		if anytime && i < total && rep.Verdict == "pass" && c.allShownWithin(rep) {
			last.Reason += fmt.Sprintf(" (stopped early after interval %d of %d: every signal is shown within its allowance)", i, total)
			break
		}
	}
	last.Intervals = intervals
	return last, nil
}

// resumable is the part of a resumed run's recorded judgements it can
// keep: all of them when they are the first judgements of this run (their
// indices, windows, and for an anytime run references, as this run would
// make them), none otherwise.
func resumable(done []IntervalResult, start time.Time, interval time.Duration, total int, lookback time.Duration, anytime bool) []IntervalResult {
	if len(done) == 0 || len(done) > total {
		return nil
	}
	for k, d := range done {
		i := k + 1
		end := start.Add(time.Duration(i) * interval)
		from := start
		if lookback > 0 && end.Add(-lookback).After(start) {
			from = end.Add(-lookback)
		}
		if d.Index != i || !d.Start.Equal(from) || !d.End.Equal(end) || anytime && len(d.References) == 0 {
			return nil
		}
	}
	return done
}

// allShownWithin reports whether every judged signal of a report is shown
// within its allowance (judge.ShownWithin), or moved the harmless way: an
// anytime analysis may then stop on a pass, as sure of it as of a fail.
func (c *Config) allShownWithin(rep *Report) bool {
	return len(c.notShownWithin(rep)) == 0
}
