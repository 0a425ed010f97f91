package api

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
)

// The verdict_signal_* gauges: per config, the signals of its latest
// analysis. They are collected from a snapshot of each config's figures
// (signalCollector), so that a scrape never sees one analysis's signals
// mixed with the next one's, and a config's signals that its latest
// analysis no longer has are gone.
var (
	signalEstimateDesc = prometheus.NewDesc("verdict_signal_estimate",
		"The change the latest analysis of a config estimated per signal, canary against baseline, relative to the baseline (0.1 is 10% higher; a rate's ratio - 1; a proportion with a margin in points: the difference of shares). No series when the test gives none (threshold, judge: kayenta).",
		[]string{"config", "signal"}, nil)
	signalBoundDesc = prometheus.NewDesc("verdict_signal_bound",
		"The one-sided bound of the change, on the side the canary moved, at the decision's level, relative like verdict_signal_estimate: the change is significant when it lies beyond 0.",
		[]string{"config", "signal"}, nil)
	signalAllowedDesc = prometheus.NewDesc("verdict_signal_allowed",
		"The change the signal's allowedChange tolerates on its harmful side, a magnitude relative like verdict_signal_estimate (0.1: 10%).",
		[]string{"config", "signal"}, nil)
	signalClassificationDesc = prometheus.NewDesc("verdict_signal_classification",
		"1 for each signal of the latest analysis of a config, labelled with its classification (pass, high, low, nodata, error).",
		[]string{"config", "signal", "classification"}, nil)
	lastAnalysisDesc = prometheus.NewDesc("verdict_last_analysis_timestamp_seconds",
		"When the latest analysis of a config, the one the verdict_signal_* gauges show, finished (Unix time).",
		[]string{"config"}, nil)
)

// signalFigures are the figures of one config's latest analysis.
type signalFigures struct {
	finished time.Time
	signals  []signalFigure
}

// signalFigure is one signal's: its classification, and its estimate,
// bound and allowance when its test gives them.
type signalFigure struct {
	name                     string
	classification           judge.Classification
	estimate, bound, allowed *float64
}

// signalCollector collects the verdict_signal_* gauges of the configs'
// latest analyses: at most MaxMetricConfigs configs (Metrics.configLabel
// admits them) of MaxMetricSignals signals each.
type signalCollector struct {
	mu     sync.Mutex
	latest map[string]signalFigures
}

// set replaces config's figures with those of rep.
func (c *signalCollector) set(config string, rep *analysis.Report, finished time.Time) {
	figures := signalFigures{finished: finished, signals: shownSignals(rep.Signals)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest[config] = figures
}

// drop deletes config's figures.
func (c *signalCollector) drop(config string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.latest, config)
}

// shownSignals picks the MaxMetricSignals signals the gauges show (those
// not judged pass first, each group in the report's order) and their
// figures.
func shownSignals(results []judge.Result) []signalFigure {
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := results[a].Classification == judge.Pass, results[b].Classification == judge.Pass
		switch {
		case pa == pb:
			return 0
		case pb:
			return -1
		}
		return 1
	})
	out := make([]signalFigure, 0, min(len(results), MaxMetricSignals))
	seen := make(map[string]bool, cap(out))
	for _, i := range order {
		if len(out) == MaxMetricSignals {
			break
		}
		r := results[i]
		name := strings.ToValidUTF8(r.Name, "\uFFFD")
		if seen[name] {
			continue // a label set must be unique
		}
		seen[name] = true
		f := signalFigure{name: name, classification: r.Classification}
		if t := r.Test; t != nil {
			f.estimate, f.bound, f.allowed = t.RelativeShift, t.DecisionBound, t.Allowed
			if t.Points {
				f.estimate = t.Estimate
			}
		}
		out = append(out, f)
	}
	return out
}

// Describe implements prometheus.Collector.
func (c *signalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{signalEstimateDesc, signalBoundDesc, signalAllowedDesc, signalClassificationDesc, lastAnalysisDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *signalCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for config, figures := range c.latest {
		ch <- prometheus.MustNewConstMetric(lastAnalysisDesc, prometheus.GaugeValue, float64(figures.finished.UnixMilli())/1e3, config)
		for _, s := range figures.signals {
			ch <- prometheus.MustNewConstMetric(signalClassificationDesc, prometheus.GaugeValue, 1, config, s.name, string(s.classification))
			for _, g := range []struct {
				desc  *prometheus.Desc
				value *float64
			}{{signalEstimateDesc, s.estimate}, {signalBoundDesc, s.bound}, {signalAllowedDesc, s.allowed}} {
				if g.value != nil {
					ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, *g.value, config, s.name)
				}
			}
		}
	}
}
