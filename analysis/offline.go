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

// values maps each signal to its concatenated values.
func (s SeriesSet) values() map[string][]float64 {
	out := make(map[string][]float64, len(s.Series))
	for _, series := range s.Series {
		out[series.Signal] = append(out[series.Signal], series.Values...)
	}
	return out
}

// JudgeSeries judges a canary offline: the config's signals, read from the
// baseline's and the canary's series. Every config signal must be present on
// both sides and every series must belong to a config signal; otherwise the
// input is wrong and the error (a *DataError) says which signal and file.
func JudgeSeries(c *Config, baseline, canary SeriesSet) (*Report, error) {
	b, cn := baseline.values(), canary.values()
	known := make(map[string]bool, len(c.Signals))
	for _, s := range c.Signals {
		known[s.Name] = true
	}
	for _, side := range []SeriesSet{baseline, canary} {
		for _, series := range side.Series {
			if !known[series.Signal] {
				return nil, &DataError{Origin: side.Origin, Msg: fmt.Sprintf("signal %q is not in the config %s", series.Signal, c.file)}
			}
		}
	}
	for _, s := range c.Signals {
		for _, side := range []struct {
			set    SeriesSet
			values map[string][]float64
		}{{baseline, b}, {canary, cn}} {
			if _, ok := side.values[s.Name]; !ok {
				return nil, &DataError{Origin: side.set.Origin, Msg: fmt.Sprintf("no series for signal %q of the config %s", s.Name, c.file)}
			}
		}
	}
	if c.Judge == JudgeKayenta {
		return nil, fmt.Errorf("%s: judge: kayenta is not available in this build yet", c.file)
	}
	opts := judge.Options{Confidence: c.Confidence}
	results := make([]judge.Result, len(c.Signals))
	for i, s := range c.Signals {
		results[i] = judge.Judge(s.Spec, b[s.Name], cn[s.Name], opts)
	}
	return newReport(c, results, nil), nil
}
