package analysis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// SignalData is one side's data for one signal of a config, as the judge
// reads it, with the time each of its points (windows) covers.
type SignalData struct {
	Signal string
	Sample judge.Sample
	// Step is the time one point or window covers: the query step of live
	// data, the usual spacing of a file's timestamps; 0 when unknown (a
	// file without timestamps).
	Step time.Duration
}

// SamplesOf reads every signal of the config from one side's series (series
// files), as JudgeSeries reads each side: a signal's input series, its
// exposure or trials, its histogram. A series no signal reads, a signal
// whose series is missing, and a series of the wrong shape are a
// *DataError naming the series and the file. It is for tools that look at
// one side alone (verdict plan reads the stable version's data).
func (c *Config) SamplesOf(side SeriesSet) ([]SignalData, error) {
	in, err := side.inputs()
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(c.Signals))
	for _, s := range c.Signals {
		known[s.SeriesName()] = true
		if name, _ := s.exposureSeries(); name != "" {
			known[name] = true
		}
	}
	for _, series := range side.Series {
		if !known[series.Signal] {
			return nil, &DataError{Origin: side.Origin, Msg: fmt.Sprintf("signal %q is not in the config %s", series.Signal, c.file)}
		}
	}
	out := make([]SignalData, len(c.Signals))
	for i, s := range c.Signals {
		smp, present, err := sample(s, side, in)
		if err != nil {
			return nil, err
		}
		if !present {
			what := fmt.Sprintf("signal %q", s.Name)
			if s.Series != "" {
				what = fmt.Sprintf("series %q (read by signal %q)", s.Series, s.Name)
			}
			return nil, &DataError{Origin: side.Origin, Msg: fmt.Sprintf("has no series for %s of the config %s", what, c.file)}
		}
		out[i] = SignalData{Signal: s.Name, Sample: smp, Step: spacing(in[s.SeriesName()].Times)}
	}
	return out, nil
}

// spacing is the usual time between consecutive times: the median of the
// positive differences, 0 when there are none.
func spacing(times []time.Time) time.Duration {
	var d []time.Duration
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap > 0 {
			d = append(d, gap)
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// FetchSide queries every signal of the config for one scope over the
// window (at most parallelism queries at a time; 0 means
// DefaultParallelism), as Run queries each side: a count's exposure or
// trials beside its events, a histogram's buckets. A signal whose query
// fails, or that returns nothing, is an error naming the signal and the
// scope: a tool reading one side alone (verdict plan) needs every signal.
func FetchSide(ctx context.Context, c *Config, sources SourceSet, scope metrics.Scope, w metrics.Window, parallelism int) ([]SignalData, error) {
	if err := c.CheckLive(sources, Scopes{Baseline: scope, Canary: scope}); err != nil {
		return nil, err
	}
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	events := make([]fetched, len(c.Signals))
	exposure := make([]fetched, len(c.Signals))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for i, s := range c.Signals {
		q, qe := signalQueries(s)
		src := sources[s.Source]
		g.Go(func() error {
			events[i] = fetch(gctx, src, q, scope, w)
			return nil
		})
		if qe != nil {
			g.Go(func() error {
				exposure[i] = fetch(gctx, src, *qe, scope, w)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("querying %s: %w", query.FormatScope(scope), err)
	}
	step := query.Step(w)
	out := make([]SignalData, len(c.Signals))
	for i, s := range c.Signals {
		_, qe := signalQueries(s)
		for _, f := range []struct {
			what string
			f    fetched
		}{{"query", events[i]}, {"exposure query", exposure[i]}} {
			if f.f.err != nil {
				return nil, fmt.Errorf("signal %s: the %s for %s failed: %w", s.Name, f.what, query.FormatScope(scope), f.f.err)
			}
		}
		if events[i].series == 0 && (qe == nil || exposure[i].series == 0) {
			return nil, fmt.Errorf("signal %s: the query returned no series for %s over %s .. %s", s.Name, query.FormatScope(scope),
				w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339))
		}
		smp := judge.Sample{Values: events[i].values}
		switch {
		case s.Test == judge.Histogram:
			if len(events[i].bounds) == 0 {
				return nil, fmt.Errorf("signal %s: the query returned plain values, not histogram buckets (a classic histogram needs sum by (le) (increase(x_bucket[{{.step}}])), a native one sum(increase(x[{{.step}}])))", s.Name)
			}
			smp = judge.Sample{Histogram: &judge.Buckets{Bounds: events[i].bounds, Counts: events[i].values}}
		case qe != nil:
			smp.Values, smp.Exposure = countsOnExposure(events[i], exposure[i])
		}
		out[i] = SignalData{Signal: s.Name, Sample: smp, Step: step}
	}
	return out, nil
}
