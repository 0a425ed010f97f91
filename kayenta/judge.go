package kayenta

import (
	"fmt"
)

// JudgeClassifierParams returns the classifier parameters the judge uses for
// a metric named name with the given settings: tolerance 0.25 and confidence
// 0.98 (quirk Q1).
func JudgeClassifierParams(name string, s MetricSettings) ClassifierParams {
	return ClassifierParams{
		Name:         name,
		Tolerance:    Tolerance,
		Confidence:   ConfidenceLevel,
		Direction:    s.Direction,
		NaNStrategy:  s.NaNStrategy,
		Critical:     s.Critical,
		MustHaveData: s.MustHaveData,
		Effect:       s.Effect,
	}
}

// Judge runs NetflixACAJudge-v1.0 on the metric-set pairs: for each pair, the
// first metric config with the pair's name (quirk Q20) gives the settings;
// both sides are preprocessed, summarised and classified; then the results
// are scored (muted ones excluded) and classified against thresholds, which
// come from the execution request, not from cfg.Classifier.ScoreThresholds
// (quirk Q18).
//
// Errors that upstream lets escape fail the whole judgement and are returned
// here: a pair without a metric config, a mistyped setting (*SettingError),
// an outlier factor <= 0 with outlier removal on. A runtime failure inside
// the classification (e.g. ErrAllTied) instead yields an Error result for
// that metric, as upstream does.
func Judge(cfg CanaryConfig, thresholds Thresholds, pairs []MetricSetPair) (JudgeResult, error) {
	results := make([]AnalysisResult, 0, len(pairs))
	for i, pair := range pairs {
		r, err := judgeMetric(cfg, pair)
		if err != nil {
			return JudgeResult{}, fmt.Errorf("metric set pair %d (%q): %w", i, pair.Name, err)
		}
		results = append(results, r)
	}
	return ScoreResults(cfg, thresholds, results), nil
}

// FindMetricConfig returns the first metric config named name.
func FindMetricConfig(cfg CanaryConfig, name string) (MetricConfig, bool) {
	for _, m := range cfg.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return MetricConfig{}, false
}

// judgeMetric classifies one pair (steps 1-5 of §2.1 of the reference).
func judgeMetric(cfg CanaryConfig, pair MetricSetPair) (AnalysisResult, error) {
	mc, ok := FindMetricConfig(cfg, pair.Name)
	if !ok {
		return AnalysisResult{}, fmt.Errorf("could not find metric config for %s", pair.Name)
	}
	s, err := ParseMetricSettings(mc)
	if err != nil {
		return AnalysisResult{}, err
	}
	experiment, err := Preprocess(pair.Values.Experiment, s.NaNStrategy, s.Outliers, s.OutlierFactor)
	if err != nil {
		return AnalysisResult{}, fmt.Errorf("metric %q: preprocessing experiment: %w", mc.Name, err)
	}
	control, err := Preprocess(pair.Values.Control, s.NaNStrategy, s.Outliers, s.OutlierFactor)
	if err != nil {
		return AnalysisResult{}, fmt.Errorf("metric %q: preprocessing control: %w", mc.Name, err)
	}
	tags := pair.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	groups := mc.Groups
	if groups == nil {
		groups = []string{}
	}
	res := AnalysisResult{
		Name:               pair.Name,
		ID:                 pair.ID,
		Tags:               tags,
		Groups:             groups,
		Muted:              s.Muted,
		ExperimentMetadata: MetricMetadata{Stats: Summary(experiment)},
		ControlMetadata:    MetricMetadata{Stats: Summary(control)},
	}
	c, err := Classify(control, experiment, JudgeClassifierParams(pair.Name, s))
	details := c.Details
	res.Details = &details
	if err != nil {
		// Upstream catches runtime errors of the classification only.
		res.Label = Error
		res.ClassificationReason = "Metric Classification Failed"
		res.Critical = false
		return res, nil
	}
	res.Label = c.Label
	res.ClassificationReason = c.Reason
	res.Critical = c.Critical
	res.ResultMetadata = &ResultMetadata{Ratio: Float(c.Deviation)}
	return res, nil
}
