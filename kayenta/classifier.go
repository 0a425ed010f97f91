package kayenta

import (
	"math"
	"sort"
)

// Label is a metric classification label, serialised verbatim
// ("Pass", "High", ...).
type Label string

// Metric classification labels (§4.6 of the reference).
const (
	Pass             Label = "Pass"
	High             Label = "High"
	Low              Label = "Low"
	Nodata           Label = "Nodata"
	NodataFailMetric Label = "NodataFailMetric"
	Error            Label = "Error"
)

// Direction says which change of a metric is harmful.
type Direction string

// Directions. Any configured value other than "increase" or "decrease" means
// either.
const (
	Increase Direction = "increase"
	Decrease Direction = "decrease"
	Either   Direction = "either"
)

// EffectMeasure selects the effect size used by the effect-size gates.
type EffectMeasure string

// Effect-size measures. Any configured value other than "cles" means meanRatio.
const (
	MeanRatioMeasure EffectMeasure = "meanRatio"
	CLESMeasure      EffectMeasure = "cles"
)

// Judge constants, hard-coded upstream (quirk Q1).
const (
	// Tolerance is the Mann-Whitney tolerance band factor: the CI must clear
	// ±Tolerance × |estimate|.
	Tolerance = 0.25
	// ConfidenceLevel is the level of the Mann-Whitney confidence interval.
	ConfidenceLevel = 0.98
	// NoiseScale is the relative standard deviation of the constant-data noise.
	NoiseScale = 1e-5
)

// Decision paths reported in ClassificationDetails.Path.
const (
	PathMissingData = "missing_data"
	PathIdentical   = "identical"
	PathSingleValue = "single_value"
	PathMannWhitney = "mann_whitney"
	PathNoise       = "noise+mann_whitney"
)

// ClassifierParams are the inputs of one metric classification besides the
// data. Use JudgeClassifierParams for the judge's own constants.
type ClassifierParams struct {
	Name         string // metric (pair) name, used in reasons and as the noise seed
	Tolerance    float64
	Confidence   float64
	Direction    Direction
	NaNStrategy  NaNStrategy
	Critical     bool
	MustHaveData bool
	Effect       EffectSizeSettings
}

// EffectSizeSettings are the effect-size gate settings of a metric.
type EffectSizeSettings struct {
	Measure          EffectMeasure
	AllowedIncrease  float64
	AllowedDecrease  float64
	CriticalIncrease float64
	CriticalDecrease float64
}

// DefaultEffectSize returns the upstream defaults for a measure: 1.0 for every
// threshold with meanRatio, 0.5 with cles.
func DefaultEffectSize(m EffectMeasure) EffectSizeSettings {
	d := 1.0
	if m == CLESMeasure {
		d = 0.5
	} else {
		m = MeanRatioMeasure
	}
	return EffectSizeSettings{Measure: m, AllowedIncrease: d, AllowedDecrease: d, CriticalIncrease: d, CriticalDecrease: d}
}

// MetricClassification is the outcome of classifying one metric.
type MetricClassification struct {
	Label Label
	// Reason is the classification reason; empty means none (omitted on the wire).
	Reason string
	// Deviation is the mean ratio experiment/control (1.0 on early exits),
	// reported as resultMetadata.ratio.
	Deviation float64
	Critical  bool
	Details   ClassificationDetails
}

// ClassificationDetails explains a classification. Kayenta does not expose
// these numbers (quirk Q22); Verdict keeps them for reports.
type ClassificationDetails struct {
	Path string // one of the Path* constants
	// Test is set when the Mann-Whitney comparison ran.
	Test *MannWhitneyResult
	// Band is Tolerance × |estimate|, the margin the CI must clear.
	Band float64
	// EffectSize is the measure used by the gates (NaN when undefined).
	EffectSize float64
	// CLES is the common-language effect size of the compared data.
	CLES float64
	// Experiment and Control are the data the test ran on (noised if Path is PathNoise).
	Experiment, Control []float64
	// Err is the runtime error behind an Error label, or "".
	Err string
}

// Classify classifies a preprocessed experiment against a preprocessed
// control with upstream's order of checks: missing data, identical data,
// single value, constant-data noise, Mann-Whitney CI against the tolerance
// band with direction and effect-size gates, then the critical post-check.
// A non-nil error is a runtime failure of the comparison (e.g. ErrAllTied);
// Judge turns it into an Error result.
func Classify(control, experiment []float64, p ClassifierParams) (MetricClassification, error) {
	if len(experiment) == 0 || len(control) == 0 {
		out := MetricClassification{Label: Pass, Deviation: 1.0, Details: ClassificationDetails{Path: PathMissingData, EffectSize: math.NaN(), CLES: math.NaN()}}
		if p.NaNStrategy == NaNReplace {
			return out, nil
		}
		out.Reason = "Missing data for " + p.Name
		if p.MustHaveData && !p.Critical {
			out.Label = NodataFailMetric
			return out, nil
		}
		out.Label = Nodata
		out.Critical = p.Critical
		return out, nil
	}
	if identical(experiment, control) {
		return MetricClassification{Label: Pass, Reason: "The Canary and Baseline data are identical", Deviation: 1.0,
			Details: ClassificationDetails{Path: PathIdentical, EffectSize: math.NaN(), CLES: 0.5}}, nil
	}
	if distinctCount(experiment, control) == 1 {
		return MetricClassification{Label: Pass, Deviation: 1.0,
			Details: ClassificationDetails{Path: PathSingleValue, EffectSize: math.NaN(), CLES: 0.5}}, nil
	}

	exp, ctl := experiment, control
	path := PathMannWhitney
	if distinctCount(experiment) == 1 && distinctCount(control) == 1 {
		// Quirk Q5: upstream draws from an unseeded global RNG; here the
		// stream is seeded by the metric name (experiment drawn first).
		src := newNoiseSource(noiseSeed(p.Name))
		exp = src.AddGaussianNoise(experiment, 0, experiment[0]*NoiseScale)
		ctl = src.AddGaussianNoise(control, 0, control[0]*NoiseScale)
		path = PathNoise
	}
	mw, err := MannWhitney(exp, ctl, p.Confidence)
	if err != nil {
		return MetricClassification{Label: Error, Reason: "Metric Classification Failed",
			Details: ClassificationDetails{Path: path, EffectSize: math.NaN(), CLES: math.NaN(), Err: err.Error()}}, err
	}
	band := p.Tolerance * math.Abs(mw.Estimate)
	deviation := MeanRatio(ctl, exp)
	cles := CLES(ctl, exp)
	effect := deviation
	if p.Effect.Measure == CLESMeasure {
		effect = cles
	}
	details := ClassificationDetails{Path: path, Test: &mw, Band: band, EffectSize: effect, CLES: cles, Experiment: exp, Control: ctl}

	nanEffect := math.IsNaN(effect)
	isHigh := (p.Direction == Increase || p.Direction == Either || p.Direction == "") &&
		mw.CILower > band && (nanEffect || effect >= p.Effect.AllowedIncrease)
	isLow := (p.Direction == Decrease || p.Direction == Either || p.Direction == "") &&
		mw.CIUpper < -band && (nanEffect || effect <= p.Effect.AllowedDecrease)

	out := MetricClassification{Label: Pass, Deviation: deviation, Details: details}
	switch {
	case isHigh:
		out.Label, out.Reason = High, p.Name+" was classified as High"
	case isLow:
		out.Label, out.Reason = Low, p.Name+" was classified as Low"
	}
	if p.Critical {
		switch {
		case out.Label == High && (nanEffect || effect >= p.Effect.CriticalIncrease):
			out.Critical, out.Reason = true, "The metric "+p.Name+" was classified as High (Critical)"
		case out.Label == Low && (nanEffect || effect <= p.Effect.CriticalDecrease):
			out.Critical, out.Reason = true, "The metric "+p.Name+" was classified as Low (Critical)"
		}
	}
	return out, nil
}

// MeanInequality is upstream's benchmarking classifier (not used by the
// judge): High iff mean(experiment) > mean(control), Low iff smaller, with its
// own missing-data rules (no reasons; Nodata ratio 0.0).
func MeanInequality(control, experiment []float64, p ClassifierParams) MetricClassification {
	if len(experiment) == 0 || len(control) == 0 {
		switch {
		case p.NaNStrategy == NaNReplace:
			return MetricClassification{Label: Pass, Deviation: 1.0}
		case p.MustHaveData && !p.Critical:
			return MetricClassification{Label: NodataFailMetric, Deviation: 1.0}
		}
		return MetricClassification{Label: Nodata, Deviation: 0.0, Critical: p.Critical}
	}
	me, mc := Mean(experiment), Mean(control)
	ratio := me / mc
	up := p.Direction == Increase || p.Direction == Either || p.Direction == ""
	down := p.Direction == Decrease || p.Direction == Either || p.Direction == ""
	switch {
	case up && me > mc:
		return MetricClassification{Label: High, Reason: "The Canary mean was greater than the Baseline mean", Deviation: ratio, Critical: p.Critical}
	case down && me < mc:
		return MetricClassification{Label: Low, Reason: "The Canary mean was less than the Baseline mean", Deviation: ratio, Critical: p.Critical}
	}
	return MetricClassification{Label: Pass, Deviation: 1.0}
}

// identical reports whether the two series are the same multiset
// (sorted element-wise equality).
func identical(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	as := append([]float64(nil), a...)
	bs := append([]float64(nil), b...)
	sort.Float64s(as)
	sort.Float64s(bs)
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

// distinctCount counts distinct values across the series with Java's boxed
// Double equality (-0.0 and 0.0 differ, NaN equals NaN), as Scala's distinct.
func distinctCount(series ...[]float64) int {
	seen := make(map[uint64]struct{})
	for _, s := range series {
		for _, v := range s {
			bits := math.Float64bits(v)
			if math.IsNaN(v) {
				bits = 0x7ff8000000000000
			}
			seen[bits] = struct{}{}
		}
	}
	return len(seen)
}
