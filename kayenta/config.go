package kayenta

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Lookup walks path through a JSON-like document (map[string]any, []any,
// scalars) with upstream MapUtils.get semantics: an empty path returns doc;
// a missing key, or a path continuing into a scalar or null, is not found; a
// path continuing into a list is applied to every element and returns the
// list ([]any) of hits, not found if there is none.
func Lookup(doc any, path ...string) (any, bool) {
	if len(path) == 0 {
		return doc, true
	}
	switch d := doc.(type) {
	case map[string]any:
		v, ok := d[path[0]]
		if !ok {
			return nil, false
		}
		return Lookup(v, path[1:]...)
	case map[string]string:
		v, ok := d[path[0]]
		if !ok {
			return nil, false
		}
		return Lookup(v, path[1:]...)
	case []any:
		var hits []any
		for _, e := range d {
			if v, ok := Lookup(e, path...); ok {
				hits = append(hits, v)
			}
		}
		if len(hits) == 0 {
			return nil, false
		}
		return hits, true
	}
	return nil, false
}

// MetricSettings are a metric's judge settings, read from
// analysisConfigurations.canary (§2.2 of the reference).
type MetricSettings struct {
	Direction     Direction
	NaNStrategy   NaNStrategy
	Outliers      OutlierStrategy
	OutlierFactor float64
	Critical      bool
	MustHaveData  bool
	Muted         bool
	Effect        EffectSizeSettings
}

// SettingError reports a mistyped analysisConfigurations value. Upstream
// fails the whole judgement on it (quirk Q15); so does Judge, with this error.
type SettingError struct {
	Metric string // metric config name
	Field  string // dotted path under analysisConfigurations, e.g. "canary.critical"
	Want   string // expected JSON type
	Got    any    // offending value
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("metric %q: analysisConfigurations.%s must be a %s, got %s", e.Metric, e.Field, e.Want, describeJSON(e.Got))
}

func describeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return fmt.Sprintf("%T %s", v, b)
}

// ParseMetricSettings reads the settings of mc with upstream defaults and
// leniency: unknown enum strings fall back to the default (either / remove /
// keep / meanRatio), any JSON number is accepted where a number is expected,
// and a JSON null counts as absent. A value of the wrong JSON type (e.g.
// "critical": "true") is a *SettingError.
func ParseMetricSettings(mc MetricConfig) (MetricSettings, error) {
	doc := any(mc.AnalysisConfigurations)
	if mc.AnalysisConfigurations == nil {
		doc = nil
	}
	var s MetricSettings
	var err error
	str := func(def string, path ...string) string {
		v, ok := Lookup(doc, path...)
		if !ok || v == nil {
			return def
		}
		return javaString(v)
	}
	boolean := func(path ...string) bool {
		if err != nil {
			return false
		}
		v, ok := Lookup(doc, path...)
		if !ok || v == nil {
			return false
		}
		b, isBool := v.(bool)
		if !isBool {
			err = &SettingError{Metric: mc.Name, Field: strings.Join(path, "."), Want: "boolean", Got: v}
		}
		return b
	}
	number := func(def float64, path ...string) float64 {
		if err != nil {
			return def
		}
		v, ok := Lookup(doc, path...)
		if !ok || v == nil {
			return def
		}
		f, isNum := toFloat(v)
		if !isNum {
			err = &SettingError{Metric: mc.Name, Field: strings.Join(path, "."), Want: "number", Got: v}
		}
		return f
	}

	switch Direction(str("either", "canary", "direction")) {
	case Increase:
		s.Direction = Increase
	case Decrease:
		s.Direction = Decrease
	default:
		s.Direction = Either
	}
	if str("none", "canary", "nanStrategy") == string(NaNReplace) {
		s.NaNStrategy = NaNReplace
	} else {
		s.NaNStrategy = NaNRemove
	}
	if str("none", "canary", "outliers", "strategy") == string(OutliersRemove) {
		s.Outliers = OutliersRemove
	} else {
		s.Outliers = OutliersKeep
	}
	s.OutlierFactor = number(3.0, "canary", "outliers", "outlierFactor")
	s.Critical = boolean("canary", "critical")
	s.MustHaveData = boolean("canary", "mustHaveData")
	s.Muted = boolean("canary", "muted")

	measure := MeanRatioMeasure
	if str(string(MeanRatioMeasure), "canary", "effectSize", "measure") == string(CLESMeasure) {
		measure = CLESMeasure
	}
	s.Effect = DefaultEffectSize(measure)
	s.Effect.AllowedIncrease = number(s.Effect.AllowedIncrease, "canary", "effectSize", "allowedIncrease")
	s.Effect.AllowedDecrease = number(s.Effect.AllowedDecrease, "canary", "effectSize", "allowedDecrease")
	s.Effect.CriticalIncrease = number(s.Effect.CriticalIncrease, "canary", "effectSize", "criticalIncrease")
	s.Effect.CriticalDecrease = number(s.Effect.CriticalDecrease, "canary", "effectSize", "criticalDecrease")
	if err != nil {
		return MetricSettings{}, err
	}
	if s.Outliers == OutliersRemove && !(s.OutlierFactor > 0) {
		return MetricSettings{}, fmt.Errorf("metric %q: analysisConfigurations.canary.outliers.outlierFactor must be greater than zero when outliers.strategy is \"remove\", got %v", mc.Name, s.OutlierFactor)
	}
	return s, nil
}

// toFloat accepts the numeric types a decoded or hand-built document may hold.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return math.NaN(), false
}

// javaString approximates Java's toString of a decoded JSON value, as upstream
// converts any value to a string before matching enum names.
func javaString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return javaDoubleString(x)
	}
	return fmt.Sprint(v)
}

// lookupNumber reads a number at path with upstream getAsDoubleWithDefault
// semantics: absent (or null) gives def, any JSON number is accepted, any
// other type is an error.
func lookupNumber(doc any, def float64, path ...string) (float64, error) {
	v, ok := Lookup(doc, path...)
	if !ok || v == nil {
		return def, nil
	}
	f, isNum := toFloat(v)
	if !isNum {
		return def, fmt.Errorf("%s must be a number, got %s", strings.Join(path, "."), describeJSON(v))
	}
	return f, nil
}
