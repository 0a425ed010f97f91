package kayenta

import (
	"encoding/json"
	"fmt"
	"sort"
)

// JudgeName is the name Kayenta registers the judge under.
const JudgeName = "NetflixACAJudge-v1.0"

// CanaryConfig is Kayenta's canary configuration document (POST /canaryConfig,
// or inline as "canaryConfig"). Unknown fields are ignored on input, as
// upstream does; empty optional fields are omitted on output.
type CanaryConfig struct {
	CreatedTimestamp    *int64            `json:"createdTimestamp,omitempty"`
	UpdatedTimestamp    *int64            `json:"updatedTimestamp,omitempty"`
	CreatedTimestampIso string            `json:"createdTimestampIso,omitempty"`
	UpdatedTimestampIso string            `json:"updatedTimestampIso,omitempty"`
	Name                string            `json:"name"`
	ID                  string            `json:"id,omitempty"`
	Description         string            `json:"description,omitempty"`
	ConfigVersion       string            `json:"configVersion,omitempty"`
	Applications        []string          `json:"applications,omitempty"`
	Judge               *JudgeConfig      `json:"judge,omitempty"`
	Metrics             []MetricConfig    `json:"metrics"`
	Templates           map[string]string `json:"templates,omitempty"`
	Classifier          ClassifierConfig  `json:"classifier"`
}

// JudgeConfig selects the judge ("NetflixACAJudge-v1.0"); judgeConfigurations
// is unused by that judge.
type JudgeConfig struct {
	Name                string         `json:"name"`
	JudgeConfigurations map[string]any `json:"judgeConfigurations,omitempty"`
}

// MetricConfig is one entry of CanaryConfig.Metrics.
type MetricConfig struct {
	// Name is the key that pairs metric-set pairs with this config (first match wins, quirk Q20).
	Name  string      `json:"name"`
	Query QueryConfig `json:"query"`
	// Groups are the score groups the metric's result counts in.
	Groups []string `json:"groups"`
	// AnalysisConfigurations holds the judge settings under "canary"
	// (direction, nanStrategy, critical, mustHaveData, muted, effectSize.*,
	// outliers.*), kept as untyped JSON because upstream reads it by path
	// (see Lookup and ParseMetricSettings).
	AnalysisConfigurations map[string]any `json:"analysisConfigurations,omitempty"`
	// ScopeName names a key of the execution request's scopes (conventionally "default").
	ScopeName string `json:"scopeName,omitempty"`
}

// QueryConfig is a metric's polymorphic query ("type" selects the metric
// source). The Prometheus fields are typed; fields of other sources are kept
// verbatim in Extra and written back on output.
type QueryConfig struct {
	Type string `json:"type"`
	// Prometheus fields (also used by several other sources).
	MetricName           string   `json:"metricName,omitempty"`
	LabelBindings        []string `json:"labelBindings,omitempty"`
	GroupByFields        []string `json:"groupByFields,omitempty"`
	ResourceType         string   `json:"resourceType,omitempty"`
	CustomInlineTemplate string   `json:"customInlineTemplate,omitempty"`
	CustomFilterTemplate string   `json:"customFilterTemplate,omitempty"`
	// CustomFilter is deprecated upstream and rejected by the Prometheus source.
	CustomFilter string `json:"customFilter,omitempty"`
	// Extra holds every other field of the query object.
	Extra map[string]json.RawMessage `json:"-"`
}

type queryConfigFields struct {
	Type                 string   `json:"type"`
	MetricName           string   `json:"metricName,omitempty"`
	LabelBindings        []string `json:"labelBindings,omitempty"`
	GroupByFields        []string `json:"groupByFields,omitempty"`
	ResourceType         string   `json:"resourceType,omitempty"`
	CustomInlineTemplate string   `json:"customInlineTemplate,omitempty"`
	CustomFilterTemplate string   `json:"customFilterTemplate,omitempty"`
	CustomFilter         string   `json:"customFilter,omitempty"`
}

var queryKnownKeys = map[string]bool{
	"type": true, "metricName": true, "labelBindings": true, "groupByFields": true, "resourceType": true,
	"customInlineTemplate": true, "customFilterTemplate": true, "customFilter": true,
}

// UnmarshalJSON implements json.Unmarshaler.
func (q *QueryConfig) UnmarshalJSON(b []byte) error {
	var f queryConfigFields
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	*q = queryConfigWithoutExtra(f)
	for k, v := range all {
		if !queryKnownKeys[k] {
			if q.Extra == nil {
				q.Extra = make(map[string]json.RawMessage)
			}
			q.Extra[k] = v
		}
	}
	return nil
}

func queryConfigWithoutExtra(f queryConfigFields) QueryConfig {
	return QueryConfig{Type: f.Type, MetricName: f.MetricName, LabelBindings: f.LabelBindings, GroupByFields: f.GroupByFields,
		ResourceType: f.ResourceType, CustomInlineTemplate: f.CustomInlineTemplate, CustomFilterTemplate: f.CustomFilterTemplate,
		CustomFilter: f.CustomFilter}
}

// MarshalJSON implements json.Marshaler; Extra fields are merged back in.
func (q QueryConfig) MarshalJSON() ([]byte, error) {
	f := queryConfigFields{Type: q.Type, MetricName: q.MetricName, LabelBindings: q.LabelBindings, GroupByFields: q.GroupByFields,
		ResourceType: q.ResourceType, CustomInlineTemplate: q.CustomInlineTemplate, CustomFilterTemplate: q.CustomFilterTemplate,
		CustomFilter: q.CustomFilter}
	b, err := json.Marshal(f)
	if err != nil || len(q.Extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(q.Extra))
	for k := range q.Extra {
		if !queryKnownKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		all[k] = q.Extra[k]
	}
	return json.Marshal(all)
}

// ClassifierConfig holds the group weights. ScoreThresholds is a UI default
// that the judge does not read (quirk Q18).
type ClassifierConfig struct {
	GroupWeights    map[string]float64 `json:"groupWeights"`
	ScoreThresholds *Thresholds        `json:"scoreThresholds,omitempty"`
}

// Thresholds are the score thresholds of an execution request: score >= Pass
// is Pass, score >= Marginal is Marginal, else Fail.
type Thresholds struct {
	Pass     float64 `json:"pass"`
	Marginal float64 `json:"marginal"`
}

// MetricSetPair is one judge input: the control and experiment series of one
// metric and tag set.
type MetricSetPair struct {
	Name       string                       `json:"name"`
	ID         string                       `json:"id"`
	Tags       map[string]string            `json:"tags"`
	Values     PairValues                   `json:"values"`
	Scopes     map[string]MetricSetScope    `json:"scopes,omitempty"`
	Attributes map[string]map[string]string `json:"attributes,omitempty"`
}

// PairValues are the two series of a MetricSetPair.
type PairValues struct {
	Control    Series `json:"control"`
	Experiment Series `json:"experiment"`
}

// MetricSetScope records where a side's series starts and its step.
type MetricSetScope struct {
	StartTimeIso    string `json:"startTimeIso,omitempty"`
	StartTimeMillis int64  `json:"startTimeMillis"`
	StepMillis      int64  `json:"stepMillis"`
}

// MetricSet is one series returned by a metric source for one side.
type MetricSet struct {
	Name            string            `json:"name"`
	Tags            map[string]string `json:"tags"`
	StartTimeMillis int64             `json:"startTimeMillis"`
	StartTimeIso    string            `json:"startTimeIso,omitempty"`
	EndTimeMillis   int64             `json:"endTimeMillis"`
	EndTimeIso      string            `json:"endTimeIso,omitempty"`
	StepMillis      int64             `json:"stepMillis"`
	Values          Series            `json:"values"`
	Attributes      map[string]string `json:"attributes,omitempty"`
}

// ExpectedDataPoints is (end - start) / step (integer division), 0 when the
// step is 0.
func (m MetricSet) ExpectedDataPoints() int64 {
	if m.StepMillis == 0 {
		return 0
	}
	return (m.EndTimeMillis - m.StartTimeMillis) / m.StepMillis
}

// JudgeResult is the judge's output (result.judgeResult).
type JudgeResult struct {
	JudgeName   string           `json:"judgeName"`
	Results     []AnalysisResult `json:"results"`
	GroupScores []GroupScore     `json:"groupScores"`
	Score       Score            `json:"score"`
}

// AnalysisResult is the per-metric result. Muted results are included.
type AnalysisResult struct {
	Name  string            `json:"name"`
	ID    string            `json:"id"`
	Tags  map[string]string `json:"tags"`
	Label Label             `json:"classification"`
	// ClassificationReason is omitted when empty (a plain Pass).
	ClassificationReason string          `json:"classificationReason,omitempty"`
	Groups               []string        `json:"groups"`
	ExperimentMetadata   MetricMetadata  `json:"experimentMetadata"`
	ControlMetadata      MetricMetadata  `json:"controlMetadata"`
	ResultMetadata       *ResultMetadata `json:"resultMetadata,omitempty"` // nil for Error results
	Critical             bool            `json:"critical"`
	Muted                bool            `json:"muted"`
	// Details explains the classification (CI, estimate, effect size). It is
	// not part of Kayenta's wire format and is not serialised.
	Details *ClassificationDetails `json:"-"`
}

// MetricMetadata wraps the per-side statistics.
type MetricMetadata struct {
	Stats Stats `json:"stats"`
}

// ResultMetadata carries the mean ratio ("NaN" when a mean is 0).
type ResultMetadata struct {
	Ratio Float `json:"ratio"`
}

// GroupScore is one group's score; Classification and ClassificationReason
// are always "".
type GroupScore struct {
	Name                 string `json:"name"`
	Score                Float  `json:"score"`
	Classification       string `json:"classification"`
	ClassificationReason string `json:"classificationReason"`
}

// Score is the summary score and its classification ("Pass", "Marginal",
// "Fail"); ClassificationReason is "" when none.
type Score struct {
	Score                Float  `json:"score"`
	Classification       string `json:"classification"`
	ClassificationReason string `json:"classificationReason"`
}

// MarshalJSON writes absent lists and maps that Kayenta requires as empty
// ones (metrics, groupWeights) so that Kayenta clients can read the document.
func (c CanaryConfig) MarshalJSON() ([]byte, error) {
	type plain CanaryConfig
	p := plain(c)
	if p.Metrics == nil {
		p.Metrics = []MetricConfig{}
	}
	if p.Classifier.GroupWeights == nil {
		p.Classifier.GroupWeights = map[string]float64{}
	}
	return json.Marshal(p)
}

// MarshalJSON writes an absent groups list as [].
func (m MetricConfig) MarshalJSON() ([]byte, error) {
	type plain MetricConfig
	p := plain(m)
	if p.Groups == nil {
		p.Groups = []string{}
	}
	return json.Marshal(p)
}
