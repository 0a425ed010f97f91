package analysis

import (
	"fmt"
	"slices"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// DataError is input data that does not fit the config or cannot be used:
// a signal in a file that the config does not name, or the reverse; a
// count without its exposure; values the judge refuses (a per-second rate
// where counts are needed, buckets that are not cumulative).
type DataError struct {
	// Origin names the data, usually its file.
	Origin string
	Msg    string
}

func (e *DataError) Error() string { return e.Origin + ": " + e.Msg }

// SeriesSet is one side's series with the name of where they came from.
type SeriesSet struct {
	Origin string
	Series []metrics.Series
}

// inputs maps each input series name to its series; several series of one
// name are concatenated (a histogram's windows after one another, when
// their buckets agree). A name with one series shares that series' slices
// (capacity capped, so that a second series appends to a copy): the judge
// only reads them.
func (s SeriesSet) inputs() (map[string]metrics.Series, error) {
	out := make(map[string]metrics.Series, len(s.Series))
	for _, series := range s.Series {
		v := series.Values[:len(series.Values):len(series.Values)]
		if v == nil {
			v = []float64{}
		}
		prev, ok := out[series.Signal]
		if !ok {
			series.Values = v
			series.Times = series.Times[:len(series.Times):len(series.Times)]
			out[series.Signal] = series
			continue
		}
		if !slices.Equal(prev.Bounds, series.Bounds) {
			return nil, &DataError{Origin: s.Origin, Msg: fmt.Sprintf("series %q comes in parts with different buckets (%s and %s); its windows must all have the same buckets",
				series.Signal, bucketsText(prev.Bounds), bucketsText(series.Bounds))}
		}
		prev.Values = append(prev.Values, v...)
		if len(prev.Times) == prev.Observations()-series.Observations() && len(series.Times) == series.Observations() {
			prev.Times = append(prev.Times, series.Times...)
		} else {
			prev.Times = nil
		}
		out[series.Signal] = prev
	}
	return out, nil
}

// values maps each input series name to its concatenated values. A name
// with one series shares that series' values (capacity capped, so that a
// second series appends to a copy).
func (s SeriesSet) values() map[string][]float64 {
	out := make(map[string][]float64, len(s.Series))
	for _, series := range s.Series {
		v := series.Values[:len(series.Values):len(series.Values)]
		if prev, ok := out[series.Signal]; ok {
			v = append(prev, v...)
		} else if v == nil {
			v = []float64{}
		}
		out[series.Signal] = v
	}
	return out
}

// bucketsText names a series' buckets for a message.
func bucketsText(bounds []float64) string {
	if len(bounds) == 0 {
		return "plain values"
	}
	return fmt.Sprintf("le %v", bounds)
}

// exposureSeries is the input series the signal's counts are out of, with
// the config key that names it ("exposure", "trials"), or "" when the
// signal has none.
func (s Signal) exposureSeries() (name, key string) {
	switch {
	case s.Test == judge.Rate && s.Exposure != "":
		return s.Exposure, "exposure"
	case s.Test == judge.Proportion && s.Trials != "":
		return s.Trials, "trials"
	}
	return "", ""
}

// sample builds one side's judge.Sample of signal s from that side's input
// series. present is false when the side has no series for the signal (data
// really missing: judged as no points). A series of the wrong shape (plain
// values for a histogram test, or the reverse), an exposure or trials
// series missing beside the events, of another shape or of another number
// of windows is a *DataError naming the series, the signal and the side.
func sample(s Signal, side SeriesSet, in map[string]metrics.Series) (smp judge.Sample, present bool, err error) {
	events, ok := in[s.SeriesName()]
	if !ok {
		return judge.Sample{}, false, nil
	}
	fail := func(format string, args ...any) (judge.Sample, bool, error) {
		return judge.Sample{}, true, &DataError{Origin: side.Origin, Msg: fmt.Sprintf(format, args...)}
	}
	if s.Test == judge.Histogram {
		if events.Bounds == nil {
			return fail("series %q of signal %q holds plain values, but a histogram test needs bucket counts (an le column in CSV, {\"le\": [...], \"counts\": [[...]]} in JSON)", events.Signal, s.Name)
		}
		return judge.Sample{Histogram: &judge.Buckets{Bounds: events.Bounds, Counts: events.Values}}, true, nil
	}
	if events.Bounds != nil {
		return fail("series %q of signal %q is a histogram (it has le buckets), but a %s test reads plain values; only test: histogram reads buckets", events.Signal, s.Name, s.Test)
	}
	name, key := s.exposureSeries()
	if name == "" {
		return judge.Sample{Values: events.Values}, true, nil
	}
	exposure, ok := in[name]
	switch {
	case !ok:
		return fail("has no series %q, the %s of signal %q; a %s test needs it beside %q, window by window, on both sides", name, key, s.Name, s.Test, events.Signal)
	case exposure.Bounds != nil:
		return fail("series %q, the %s of signal %q, is a histogram (it has le buckets); it must count what the events of %q are out of, one number per window", name, key, s.Name, events.Signal)
	case len(exposure.Values) != len(events.Values):
		return fail("series %q has %d windows but %q, its %s for signal %q, has %d; both must cover the same windows", events.Signal, len(events.Values), name, key, s.Name, len(exposure.Values))
	}
	return judge.Sample{Values: events.Values, Exposure: exposure.Values}, true, nil
}

// JudgeSeries judges a canary offline: the config's signals, read from the
// baseline's and the canary's series.
//
// Each signal reads its input series (series:, by default its name); a
// rate test with exposure: and a proportion with trials: also read that
// series, whose windows align with the events' by position, and a
// histogram test reads a histogram series (metrics.Series with Bounds).
// Baseline and canary windows align by position too.
//
// A series that no signal reads (neither as its series nor as its exposure
// or trials), or a config signal whose series is in neither side, is a
// mistake in the input (a typo, the wrong files): the error is a
// *DataError naming the series and the files. A signal whose series is
// present on one side only is data that is really missing (the canary
// stopped exporting it): it is judged with no points on that side, so it
// has no data. Values a signal cannot be judged on (an exposure missing
// beside its events or covering other windows, counts below one event,
// more events than exposure, buckets that are not cumulative or differ
// between the sides) are a *DataError too, never a verdict: a signal that
// cannot be judged must not let the others pass the canary.
func JudgeSeries(c *Config, baseline, canary SeriesSet) (*Report, error) {
	return JudgeSeriesIn(new(judge.Workspace), c, baseline, canary)
}

// JudgeSeriesIn is JudgeSeries judging the signals in w, so that a caller
// judging request after request (the judge API) reuses one Workspace per
// worker instead of allocating for every signal.
func JudgeSeriesIn(w *judge.Workspace, c *Config, baseline, canary SeriesSet) (*Report, error) {
	bIn, err := baseline.inputs()
	if err != nil {
		return nil, err
	}
	cIn, err := canary.inputs()
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
	for _, side := range []SeriesSet{baseline, canary} {
		for _, series := range side.Series {
			if !known[series.Signal] {
				return nil, &DataError{Origin: side.Origin, Msg: fmt.Sprintf("signal %q is not in the config %s", series.Signal, c.file)}
			}
		}
	}
	for _, s := range c.Signals {
		_, inBaseline := bIn[s.SeriesName()]
		_, inCanary := cIn[s.SeriesName()]
		if !inBaseline && !inCanary {
			what := fmt.Sprintf("signal %q", s.Name)
			if s.Series != "" {
				what = fmt.Sprintf("series %q (read by signal %q)", s.Series, s.Name)
			}
			return nil, &DataError{Origin: baseline.Origin + " and " + canary.Origin, Msg: fmt.Sprintf("no series for %s of the config %s", what, c.file)}
		}
	}
	if c.Judge == JudgeKayenta {
		b, cn := c.bySignal(bIn), c.bySignal(cIn)
		rep, jr, err := JudgeKayentaValues(c, b, cn)
		if err != nil {
			return nil, err
		}
		rep.Kayenta = jr
		noteMissingSeries(rep, baseline, canary, b, cn)
		rep.Series = collectSeries(c, baseline.Series, canary.Series)
		return rep, nil
	}
	opts := judge.Options{Confidence: c.Confidence}
	results := make([]judge.Result, len(c.Signals))
	samples := make([][2]judge.Sample, len(c.Signals))
	for i, s := range c.Signals {
		bs, inBaseline, err := sample(s, baseline, bIn)
		if err != nil {
			return nil, err
		}
		cs, inCanary, err := sample(s, canary, cIn)
		if err != nil {
			return nil, err
		}
		samples[i] = [2]judge.Sample{bs, cs}
		results[i] = w.JudgeSamples(s.Spec, bs, cs, opts)
		if results[i].Classification == judge.Error {
			return nil, &DataError{Origin: baseline.Origin + " and " + canary.Origin, Msg: results[i].Reason}
		}
		for _, side := range []struct {
			origin  string
			present bool
		}{{baseline.Origin, inBaseline}, {canary.Origin, inCanary}} {
			if !side.present {
				results[i].Reason += fmt.Sprintf(" (%s has no series for it)", side.origin)
			}
		}
	}
	rep := newReport(c, results, nil)
	rep.Series = collectSeries(c, baseline.Series, canary.Series)
	attachExposures(rep.Series, samples)
	rep.checkMeasured(c.Weight(), false)
	return rep, nil
}

// attachExposures gives each count signal's series its exposure (trials)
// series, window for window, so that reports can plot the ratio the test
// judged and checkMeasured can compare the sides' traffic.
func attachExposures(series []SignalSeries, samples [][2]judge.Sample) {
	for i := range series {
		for side, dst := range []*metrics.Series{&series[i].BaselineExposure, &series[i].CanaryExposure} {
			if exp := samples[i][side].Exposure; exp != nil {
				dst.Signal = series[i].Name
				dst.Values = exp
				if src := []*metrics.Series{&series[i].Baseline, &series[i].Canary}[side]; len(src.Times) == len(exp) {
					dst.Times = src.Times
				}
			}
		}
	}
}

// bySignal maps each signal's name to the values of the series it reads
// (signals whose series is absent are left out).
func (c *Config) bySignal(bySeries map[string]metrics.Series) map[string][]float64 {
	out := make(map[string][]float64, len(c.Signals))
	for _, s := range c.Signals {
		if v, ok := bySeries[s.SeriesName()]; ok {
			out[s.Name] = v.Values
		}
	}
	return out
}
