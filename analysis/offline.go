package analysis

import (
	"fmt"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// DataError is input data that does not fit the config or cannot be used:
// a signal in a file that the config does not name, or the reverse.
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

// values maps each signal to its concatenated values. A signal with one
// series shares that series' values (capacity capped, so that a second
// series appends to a copy): the judge only reads them.
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

// bySignal maps each signal's name to the values of the series it reads
// (signals whose series is absent are left out).
func (c *Config) bySignal(bySeries map[string][]float64) map[string][]float64 {
	out := make(map[string][]float64, len(c.Signals))
	for _, s := range c.Signals {
		if v, ok := bySeries[s.SeriesName()]; ok {
			out[s.Name] = v
		}
	}
	return out
}

// JudgeSeries judges a canary offline: the config's signals, read from the
// baseline's and the canary's series.
//
// A series whose signal the config does not name, or a config signal found
// in neither side, is a mistake in the input (a typo, the wrong files): the
// error is a *DataError naming the signal and the files. A signal present on
// one side only is data that is really missing (the canary stopped exporting
// it): it is judged with no points on the other side, so it has no data.
func JudgeSeries(c *Config, baseline, canary SeriesSet) (*Report, error) {
	return JudgeSeriesIn(new(judge.Workspace), c, baseline, canary)
}

// JudgeSeriesIn is JudgeSeries judging the signals in w, so that a caller
// judging request after request (the judge API) reuses one Workspace per
// worker instead of allocating for every signal.
func JudgeSeriesIn(w *judge.Workspace, c *Config, baseline, canary SeriesSet) (*Report, error) {
	bs, cs := baseline.values(), canary.values()
	known := make(map[string]bool, len(c.Signals))
	for _, s := range c.Signals {
		known[s.SeriesName()] = true
	}
	for _, side := range []SeriesSet{baseline, canary} {
		for _, series := range side.Series {
			if !known[series.Signal] {
				return nil, &DataError{Origin: side.Origin, Msg: fmt.Sprintf("signal %q is not in the config %s", series.Signal, c.file)}
			}
		}
	}
	for _, s := range c.Signals {
		_, inBaseline := bs[s.SeriesName()]
		_, inCanary := cs[s.SeriesName()]
		if !inBaseline && !inCanary {
			what := fmt.Sprintf("signal %q", s.Name)
			if s.Series != "" {
				what = fmt.Sprintf("series %q (read by signal %q)", s.Series, s.Name)
			}
			return nil, &DataError{Origin: baseline.Origin + " and " + canary.Origin, Msg: fmt.Sprintf("no series for %s of the config %s", what, c.file)}
		}
	}
	b, cn := c.bySignal(bs), c.bySignal(cs)
	if c.Judge == JudgeKayenta {
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
	for i, s := range c.Signals {
		results[i] = w.Judge(s.Spec, b[s.Name], cn[s.Name], opts)
		for _, side := range []struct {
			origin string
			values map[string][]float64
		}{{baseline.Origin, b}, {canary.Origin, cn}} {
			if _, ok := side.values[s.Name]; !ok {
				results[i].Reason += fmt.Sprintf(" (%s has no series for it)", side.origin)
			}
		}
	}
	rep := newReport(c, results, nil)
	rep.Series = collectSeries(c, baseline.Series, canary.Series)
	rep.checkMeasured(c.Weight())
	return rep, nil
}
