package analysis

import (
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// ReportSchema identifies the JSON form of Report.
const ReportSchema = "verdict/report/v1"

// Report is the outcome of one analysis: the verdict, its score and reason,
// and every signal's judgement. Its JSON form is the verdict/report/v1
// contract shared by the CLI, the API and stored analyses.
type Report struct {
	Schema     string               `json:"schema"`
	Name       string               `json:"name"`
	Judge      Judge                `json:"judge"`
	Verdict    scoring.Verdict      `json:"verdict"`
	Score      *float64             `json:"score"`
	Reason     string               `json:"reason"`
	Thresholds scoring.Thresholds   `json:"thresholds"`
	Groups     []scoring.GroupScore `json:"groups"`
	Signals    []judge.Result       `json:"signals"`
	// Warnings are remarks from the sources or the run that do not change
	// the verdict but may limit trust in it.
	Warnings []string `json:"warnings,omitempty"`
	// Scopes and Window say what a live analysis compared; nil offline.
	Scopes *Scopes `json:"scopes,omitempty"`
	Window *Window `json:"window,omitempty"`
	// Intervals lists every judgement of a multi-interval analysis, in order.
	Intervals []IntervalResult `json:"intervals,omitempty"`
	// Evidence, for one look of an anytime canary judged again and again
	// (Argo, Flagger, schedules), is the evidence the look judged.
	Evidence *Evidence `json:"evidence,omitempty"`
	// Series holds the raw points each signal was judged on, in config
	// order, for plots. It is not part of the JSON report.
	Series []SignalSeries `json:"-"`
	// Kayenta is Kayenta's own judgeResult document when the config's judge
	// is kayenta, for the Kayenta-compatible endpoints. Not in the JSON report.
	Kayenta *kayenta.JudgeResult `json:"-"`
	// HorizonLooks, for a look of an anytime canary whose horizon is known,
	// are each judged signal's looks under it, this one included: what the
	// next look continues (AnytimeLook.Looks). Not in the JSON report.
	HorizonLooks map[string][]judge.HorizonLook `json:"-"`
}

// SignalSeries is the raw data of one signal: the baseline's and the
// canary's points as fetched or read, before cleaning. Times are nil when
// the source had none. A rate test with an exposure and a proportion also
// carry each side's exposure (trials) series, window for window; a
// histogram signal's series have Bounds.
type SignalSeries struct {
	Name     string
	Baseline metrics.Series
	Canary   metrics.Series
	// BaselineExposure and CanaryExposure are empty for signals without one.
	BaselineExposure metrics.Series
	CanaryExposure   metrics.Series
}

// collectSeries gathers each config signal's points from both sides,
// concatenating series of the same signal in order.
func collectSeries(c *Config, baseline, canary []metrics.Series) []SignalSeries {
	out := make([]SignalSeries, len(c.Signals))
	index := make(map[string][]int, len(c.Signals)) // series name → signals reading it
	for i, s := range c.Signals {
		out[i].Name = s.Name
		out[i].Baseline.Signal, out[i].Canary.Signal = s.Name, s.Name
		index[s.SeriesName()] = append(index[s.SeriesName()], i)
	}
	// The first series of a signal is shared (the report only reads it),
	// with its capacity capped so that a second one appends to a copy.
	seen := make([]bool, 2*len(c.Signals)) // baseline i at 2i, canary at 2i+1
	add := func(dst *metrics.Series, slot int, src metrics.Series) {
		if !seen[slot] {
			seen[slot] = true
			dst.Values = src.Values[:len(src.Values):len(src.Values)]
			dst.Times = src.Times[:len(src.Times):len(src.Times)]
			dst.Labels = src.Labels
			dst.Bounds = src.Bounds
			return
		}
		dst.Values = append(dst.Values, src.Values...)
		dst.Times = append(dst.Times, src.Times...)
		if dst.Labels == nil {
			dst.Labels = src.Labels
		}
	}
	for _, s := range baseline {
		for _, i := range index[s.Signal] {
			add(&out[i].Baseline, 2*i, s)
		}
	}
	for _, s := range canary {
		for _, i := range index[s.Signal] {
			add(&out[i].Canary, 2*i+1, s)
		}
	}
	return out
}

// newReport assembles a report from judged signals.
func newReport(c *Config, results []judge.Result, warnings []string) *Report {
	outcome := scoring.Score(c.ScoringSpec(), results)
	return &Report{
		Schema:     ReportSchema,
		Name:       c.Name,
		Judge:      c.Judge,
		Verdict:    outcome.Verdict,
		Score:      outcome.Score,
		Reason:     outcome.Reason,
		Thresholds: c.ThresholdsOrDefault(),
		Groups:     outcome.Groups,
		Signals:    results,
		Warnings:   warnings,
	}
}
