package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/judge/stat"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/scoring"
)

// KayentaSignal holds the settings of a signal that only the Kayenta judge
// reads (the signal's `kayenta:` block). It is valid only with judge: kayenta.
type KayentaSignal struct {
	// EffectSize configures Kayenta's effect-size gates.
	EffectSize *KayentaEffectSize `yaml:"effectSize"`
	// Muted signals are judged and reported but left out of the score.
	Muted bool `yaml:"muted"`
	// OutlierFactor is the IQR factor of outliers: remove (default 3).
	OutlierFactor *float64 `yaml:"outlierFactor"`
}

// KayentaEffectSize is Kayenta's analysisConfigurations.canary.effectSize.
// Unset bounds take Kayenta's defaults: 1.0 for meanRatio, 0.5 for cles.
type KayentaEffectSize struct {
	Measure          EffectMeasure `yaml:"measure"`
	AllowedIncrease  *float64      `yaml:"allowedIncrease"`
	AllowedDecrease  *float64      `yaml:"allowedDecrease"`
	CriticalIncrease *float64      `yaml:"criticalIncrease"`
	CriticalDecrease *float64      `yaml:"criticalDecrease"`
}

// EffectMeasure is meanRatio (canary mean / baseline mean) or cles (the
// probability that a canary point exceeds a baseline point).
type EffectMeasure string

// UnmarshalText accepts meanRatio or cles. Kayenta itself reads any other
// string as meanRatio; Verdict refuses it, because a typo would silently
// change the gate.
func (m *EffectMeasure) UnmarshalText(text []byte) error {
	switch v := EffectMeasure(text); v {
	case EffectMeasure(kayenta.MeanRatioMeasure), EffectMeasure(kayenta.CLESMeasure):
		*m = v
		return nil
	}
	return fmt.Errorf("%q is not an effect-size measure (want meanRatio or cles)", text)
}

// kayentaDisallowed lists the signal settings that have no meaning under
// the Kayenta judge, with what to use instead.
var kayentaDisallowed = []struct{ key, instead string }{
	{"allowedChange", "Kayenta's judge has a fixed tolerance band of ±25% of the estimated shift; bound the change with kayenta.effectSize.allowedIncrease / allowedDecrease (a mean ratio such as 1.1)"},
	{"criticalChange", "set critical: true and kayenta.effectSize.criticalIncrease / criticalDecrease"},
	{"minSamples", "Kayenta judges any non-empty series; use mustHaveData to make missing data a failure"},
	{"statistic", "Kayenta has only the Mann-Whitney comparison; use judge: verdict for threshold tests"},
	{"min", "Kayenta has only the Mann-Whitney comparison; use judge: verdict for threshold tests"},
	{"max", "Kayenta has only the Mann-Whitney comparison; use judge: verdict for threshold tests"},
	{"requireEvidence", "Kayenta's judge has no bound on what the data rule out; use judge: verdict"},
}

// kayentaDisallowedTop lists the config settings that have no meaning
// under the Kayenta judge, which repeats its fixed-sample test at every look.
var kayentaDisallowedTop = []string{"sequential", "horizon", "requireEvidence"}

// validateKayenta checks the Kayenta-specific parts of a config: the
// kayenta blocks only with judge: kayenta, and with it no setting that the
// Kayenta judge would silently ignore. It reads the keys the decoder met,
// so that a setting written with its default value is refused too.
func (c *Config) validateKayenta() error {
	if c.Judge != JudgeKayenta {
		for i, s := range c.Signals {
			if s.Kayenta != nil {
				return c.fieldError(fmt.Sprintf("signals[%d].kayenta", i), fmt.Errorf("a kayenta block needs judge: kayenta (this config's judge is %s)", c.Judge))
			}
		}
		return nil
	}
	if _, set := c.lines["confidence"]; set && c.Confidence != kayenta.ConfidenceLevel {
		return c.fieldError("confidence", errors.New("the Kayenta judge uses a fixed confidence of 0.98; remove confidence (or set 0.98)"))
	}
	c.Confidence = kayenta.ConfidenceLevel
	for _, key := range kayentaDisallowedTop {
		if _, set := c.lines[key]; set {
			return c.fieldError(key, fmt.Errorf("%s has no meaning with judge: kayenta: Kayenta's judge repeats its fixed-sample test at every look; use judge: verdict for sequential decisions and evidence", key))
		}
	}
	var total float64
	for _, g := range c.Groups {
		total += g.Weight
	}
	if len(c.Groups) > 0 && math.Abs(total-100) > 1e-9 {
		return c.fieldError("groups", fmt.Errorf("the weights total %g; Kayenta adds group scores times weight/100 without normalising, so with judge: kayenta the weights must total 100", total))
	}
	for i, s := range c.Signals {
		path := fmt.Sprintf("signals[%d]", i)
		for _, d := range kayentaDisallowed {
			if _, set := c.lines[path+"."+d.key]; set {
				return c.fieldError(path+"."+d.key, fmt.Errorf("%s has no meaning with judge: kayenta: %s", d.key, d.instead))
			}
		}
		if _, set := c.lines[path+".test"]; set && s.Test != "" && s.Test != judge.MannWhitney {
			return c.fieldError(path+".test", fmt.Errorf("test: %s has no meaning with judge: kayenta: Kayenta has only the Mann-Whitney comparison; use judge: verdict for rate, threshold and quantile tests", s.Test))
		}
		k := s.Kayenta
		if k == nil {
			continue
		}
		if k.OutlierFactor != nil {
			if s.Outliers != judge.OutliersRemove {
				return c.fieldError(path+".kayenta.outlierFactor", errors.New("outlierFactor only applies with outliers: remove"))
			}
			if !(*k.OutlierFactor > 0) {
				return c.fieldError(path+".kayenta.outlierFactor", fmt.Errorf("%g is not above 0", *k.OutlierFactor))
			}
		}
		if e := k.EffectSize; e != nil {
			lo, hi := 0.0, math.Inf(1)
			if e.Measure == EffectMeasure(kayenta.CLESMeasure) {
				hi = 1
			}
			for _, b := range []struct {
				key string
				v   *float64
			}{{"allowedIncrease", e.AllowedIncrease}, {"allowedDecrease", e.AllowedDecrease}, {"criticalIncrease", e.CriticalIncrease}, {"criticalDecrease", e.CriticalDecrease}} {
				if b.v != nil && (*b.v < lo || *b.v > hi) {
					what := "a mean ratio must not be negative"
					if hi == 1 {
						what = "a CLES is a probability between 0 and 1"
					}
					return c.fieldError(path+".kayenta.effectSize."+b.key, fmt.Errorf("%g is out of range: %s", *b.v, what))
				}
			}
		}
	}
	return nil
}

// KayentaConfig returns the Kayenta canary config and thresholds that
// judge: kayenta runs for this config (see JudgeKayentaValues for the mapping).
// The metrics have no query: the judge does not read it.
func (c *Config) KayentaConfig() (kayenta.CanaryConfig, kayenta.Thresholds) {
	weights := make(map[string]float64, len(c.Groups))
	for _, g := range c.Groups {
		weights[g.Name] = g.Weight
	}
	t := c.ThresholdsOrDefault()
	cfg := kayenta.CanaryConfig{
		Name:       c.Name,
		Judge:      &kayenta.JudgeConfig{Name: kayenta.JudgeName},
		Classifier: kayenta.ClassifierConfig{GroupWeights: weights},
	}
	for _, s := range c.Signals {
		cfg.Metrics = append(cfg.Metrics, kayenta.MetricConfig{
			Name:                   s.Name,
			Groups:                 []string{groupOf(s)},
			ScopeName:              "default",
			AnalysisConfigurations: map[string]any{"canary": kayentaSettings(s)},
		})
	}
	return cfg, kayenta.Thresholds{Pass: t.Pass, Marginal: t.Marginal}
}

func groupOf(s Signal) string {
	if s.Group == "" {
		return scoring.DefaultGroup
	}
	return s.Group
}

// kayentaSettings is a signal's analysisConfigurations.canary document.
func kayentaSettings(s Signal) map[string]any {
	dir := s.Direction
	if dir == "" {
		dir = judge.Either
	}
	nan := kayenta.NaNRemove
	if s.NaN == judge.NaNZero {
		nan = kayenta.NaNReplace
	}
	out := map[string]any{
		"direction":    string(dir),
		"nanStrategy":  string(nan),
		"critical":     s.Critical,
		"mustHaveData": s.MustHaveData,
	}
	if s.Outliers == judge.OutliersRemove {
		factor := judge.OutlierFactor
		if s.Kayenta != nil && s.Kayenta.OutlierFactor != nil {
			factor = *s.Kayenta.OutlierFactor
		}
		out["outliers"] = map[string]any{"strategy": string(kayenta.OutliersRemove), "outlierFactor": factor}
	}
	if k := s.Kayenta; k != nil {
		out["muted"] = k.Muted
		if e := k.EffectSize; e != nil {
			es := map[string]any{}
			if e.Measure != "" {
				es["measure"] = string(e.Measure)
			}
			for key, v := range map[string]*float64{"allowedIncrease": e.AllowedIncrease, "allowedDecrease": e.AllowedDecrease,
				"criticalIncrease": e.CriticalIncrease, "criticalDecrease": e.CriticalDecrease} {
				if v != nil {
					es[key] = *v
				}
			}
			out["effectSize"] = es
		}
	}
	return out
}

// kayentaNodataReason is the score reason of Kayenta's NODATA rule.
const kayentaNodataReason = "Canary Failed: 50% or more metrics returned NODATA"

// JudgeKayentaValues judges a canary with the Kayenta-compatible judge
// (judge: kayenta): baseline and canary map each signal's name to its
// points (a signal absent from a map has no points). It returns the
// verdict/report/v1 Report and Kayenta's own judgeResult document, whose
// score.score is the score Kayenta would give, for the Kayenta-compatible
// endpoints.
//
// # Mapping a Verdict config to Kayenta
//
// Each signal becomes a metric config of the same name with one group (its
// group, "default" when it names none) and analysisConfigurations.canary:
//
//	direction            → direction (increase | decrease | either)
//	nan: remove | zero   → nanStrategy: remove | replace
//	outliers: remove     → outliers: {strategy: remove, outlierFactor: kayenta.outlierFactor or 3}
//	critical, mustHaveData → critical, mustHaveData
//	kayenta.muted        → muted
//	kayenta.effectSize   → effectSize {measure, allowedIncrease, ... } (Kayenta's defaults when unset)
//	groups.<g>.weight    → classifier.groupWeights.<g> (must total 100)
//	thresholds           → the execution request's thresholds (default 95 / 75)
//
// Each signal's two series become one metric-set pair (control = baseline,
// experiment = canary). The judge's constants are Kayenta's: tolerance band
// ±25% of the estimate, confidence 0.98 (a confidence setting other than
// 0.98 is a config error). Settings Kayenta has no equivalent for
// (allowedChange, criticalChange, minSamples, rate, threshold and quantile tests) are
// config errors in this mode, never silently ignored: see validateKayenta.
//
// # Mapping Kayenta's result to the report
//
//   - Classification: Pass → pass, High → high, Low → low, Nodata → nodata,
//     NodataFailMetric → nodata with Failed, Error → error. High, Low and
//     NodataFailMetric of a signal that is not muted are failures (Failed).
//   - CriticalFailure: Kayenta's critical flag on a non-Pass result of a
//     signal that is not muted (Kayenta's critical rule). Note that a
//     critical signal with no data is a critical Nodata in Kayenta (quirk
//     Q8): it fails the canary, and so it does here.
//   - Gate: missingData (Nodata, or Pass with nan: zero and an empty
//     series), mustHaveData (NodataFailMetric), identicalData (the two
//     sides hold the same values), identical (one constant on both sides),
//     toleranceBand (the interval does or does not clear ±25% of the
//     estimate), direction (it clears the band on the harmless side),
//     effectSize (it clears the band, but the effect size stays within the
//     allowed bound), criticalEffectSize (a critical signal's effect size
//     reached its critical bound), invalid (Error).
//   - Reason: Kayenta's reason, when it has one, followed by the figures
//     behind it ("...: 98% CI +12.1 .. +30.4 clears the tolerance band ±5.3
//     (25% of the estimate +21.2); mean ratio 1.23 ≥ allowed 1"); a
//     Verdict-style sentence with the same figures when Kayenta has none.
//   - Baseline and Canary: Verdict's descriptive statistics (judge/stat
//     Describe) of the preprocessed series, so the fields mean what they
//     mean for the default judge. Kayenta's own stats are in the judgeResult.
//   - Test: method mann-whitney, Kayenta's estimate (which keeps the
//     continuity correction, quirk Q4) and 98% interval, the R-equivalent
//     normal-approximation p-value, relativeShift against the baseline
//     median, the band, and effectSize {measure, value, allowed, critical}.
//     When Kayenta adds noise to two different constants (quirk Q5), the
//     figures are those of the noised data. No test block when no test ran.
//   - Groups: one per config group (then groups only signals name), with
//     its weight (an unconfigured group gets Kayenta's default share) and
//     score; the score is null for a group without a judged signal (Kayenta
//     reports 0 for it but counts it as 100 in the sum, quirk Q10).
//   - Score: Kayenta's summary score. Verdict: Kayenta's score
//     classification (Pass → pass, Marginal → marginal, Fail → fail) with
//     one exception for Verdict's rule "never pass without data": when
//     Kayenta's NODATA rule fires (50% or more of the unmuted signals have
//     no data), or no unmuted signal was judged (all nodata or error, or
//     all muted), the verdict is none and the score null.
func JudgeKayentaValues(c *Config, baseline, canary map[string][]float64) (*Report, *kayenta.JudgeResult, error) {
	cfg, thresholds := c.KayentaConfig()
	pairs := make([]kayenta.MetricSetPair, len(c.Signals))
	for i, s := range c.Signals {
		pairs[i] = kayenta.MetricSetPair{
			Name:   s.Name,
			ID:     s.Name,
			Tags:   map[string]string{},
			Values: kayenta.PairValues{Control: baseline[s.Name], Experiment: canary[s.Name]},
		}
	}
	jr, err := kayenta.Judge(cfg, thresholds, pairs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the Kayenta judge failed: %w", c.file, err)
	}
	results := make([]judge.Result, len(c.Signals))
	for i, s := range c.Signals {
		settings, err := kayenta.ParseMetricSettings(cfg.Metrics[i])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: signal %s: %w", c.file, s.Name, err)
		}
		b, err := kayenta.Preprocess(baseline[s.Name], settings.NaNStrategy, settings.Outliers, settings.OutlierFactor)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: signal %s: %w", c.file, s.Name, err)
		}
		cn, err := kayenta.Preprocess(canary[s.Name], settings.NaNStrategy, settings.Outliers, settings.OutlierFactor)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: signal %s: %w", c.file, s.Name, err)
		}
		results[i] = kayentaSignalResult(s, settings, jr.Results[i], b, cn)
	}
	rep := &Report{
		Schema:     ReportSchema,
		Name:       c.Name,
		Judge:      JudgeKayenta,
		Thresholds: c.ThresholdsOrDefault(),
		Groups:     kayentaGroups(c, jr, results),
		Signals:    results,
	}
	rep.Verdict, rep.Score, rep.Reason = kayentaVerdict(jr, results, c.Signals, thresholds)
	return rep, &jr, nil
}

// kayentaSignalResult maps one Kayenta result to Verdict's.
func kayentaSignalResult(s Signal, settings kayenta.MetricSettings, ar kayenta.AnalysisResult, b, cn []float64) judge.Result {
	r := judge.Result{
		Name:     s.Name,
		Group:    groupOf(s),
		Critical: s.Critical,
		Baseline: stat.Describe(finite(b)),
		Canary:   stat.Describe(finite(cn)),
	}
	muted := settings.Muted
	d := ar.Details
	if d == nil {
		d = &kayenta.ClassificationDetails{}
	}
	switch ar.Label {
	case kayenta.Pass:
		r.Classification = judge.Pass
	case kayenta.High:
		r.Classification = judge.High
	case kayenta.Low:
		r.Classification = judge.Low
	case kayenta.Nodata:
		r.Classification = judge.NoData
	case kayenta.NodataFailMetric:
		r.Classification = judge.NoData
	default:
		r.Classification = judge.Error
	}
	if !muted {
		r.Failed = ar.Label == kayenta.High || ar.Label == kayenta.Low || ar.Label == kayenta.NodataFailMetric
		r.CriticalFailure = ar.Critical && ar.Label != kayenta.Pass
	}
	w := kayentaWording{name: s.Name, settings: settings, scale: math.Abs(r.Baseline.Median)}
	switch {
	case ar.Label == kayenta.Error:
		r.Gate = judge.GateInvalid
		r.Reason = ar.ClassificationReason
		if d.Err != "" {
			r.Reason += ": " + d.Err
		}
	case d.Path == kayenta.PathMissingData:
		r.Gate = judge.GateMissingData
		if ar.Label == kayenta.NodataFailMetric {
			r.Gate = judge.GateMustHaveData
		}
		r.Reason = w.missing(ar, len(b), len(cn))
	case d.Path == kayenta.PathIdentical:
		r.Gate = judge.GateIdenticalData
		r.Reason = ar.ClassificationReason + fmt.Sprintf(" (%d points on each side)", len(b))
	case d.Path == kayenta.PathSingleValue:
		r.Gate = judge.GateIdentical
		r.Reason = fmt.Sprintf("%s is the constant %s on both sides", s.Name, num(b[0]))
	default:
		r.Test, r.Gate, r.Reason = w.compared(ar, d)
	}
	if muted {
		r.Reason += "; muted, so it does not count in the score"
	}
	return r
}

// finite drops ±Inf (which Kayenta passes through) so that the summary
// stays a set of numbers; series files and sources never deliver them.
func finite(values []float64) []float64 {
	if !slices.ContainsFunc(values, func(v float64) bool { return math.IsInf(v, 0) }) {
		return values
	}
	out := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

// kayentaWording words Kayenta's decisions with their figures.
type kayentaWording struct {
	name     string
	settings kayenta.MetricSettings
	scale    float64 // |baseline median|, for relativeShift
}

func (w kayentaWording) missing(ar kayenta.AnalysisResult, nb, nc int) string {
	var empty []string
	if nb == 0 {
		empty = append(empty, "the baseline")
	}
	if nc == 0 {
		empty = append(empty, "the canary")
	}
	side := strings.Join(empty, " and ") + " has no points"
	if len(empty) == 2 {
		side = "neither side has points"
	}
	switch ar.Label {
	case kayenta.Pass:
		return fmt.Sprintf("%s passes: %s, and with nan: zero Kayenta counts missing data as a pass", w.name, side)
	case kayenta.NodataFailMetric:
		return fmt.Sprintf("%s: %s; mustHaveData makes it a failure", ar.ClassificationReason, side)
	}
	if ar.Critical {
		return fmt.Sprintf("%s: %s; the signal is critical, so Kayenta fails the canary", ar.ClassificationReason, side)
	}
	return fmt.Sprintf("%s: %s", ar.ClassificationReason, side)
}

// compared builds the test block, gate and reason of a Mann-Whitney comparison.
func (w kayentaWording) compared(ar kayenta.AnalysisResult, d *kayenta.ClassificationDetails) (*judge.TestResult, judge.Gate, string) {
	mw := d.Test
	if mw == nil {
		return nil, judge.GateInvalid, ar.ClassificationReason
	}
	eff := w.settings.Effect
	t := &judge.TestResult{
		Method:     judge.MannWhitney,
		Estimate:   fptr(mw.Estimate),
		CILow:      fptr(mw.CILower),
		CIHigh:     fptr(mw.CIUpper),
		Confidence: kayenta.ConfidenceLevel,
		Band:       fptr(d.Band),
		EffectSize: &judge.EffectSize{Measure: string(eff.Measure), Value: fptr(d.EffectSize)},
	}
	if p, err := kayenta.NormalApproxPValue(d.Experiment, d.Control); err == nil {
		t.PValue = fptr(p)
	}
	if w.scale > 0 {
		t.RelativeShift = fptr(mw.Estimate / w.scale)
	}
	up := mw.CILower > d.Band
	down := mw.CIUpper < -d.Band
	ci := fmt.Sprintf("98%% CI %s .. %s", signed(mw.CILower), signed(mw.CIUpper))
	band := fmt.Sprintf("the tolerance band ±%s (25%% of the estimate %s)", num(d.Band), signed(mw.Estimate))
	effect := w.effectText(d)
	prefix := ar.ClassificationReason
	if d.Path == kayenta.PathNoise {
		ci = "with Kayenta's noise added to two different constants, " + ci
	}
	harmful := func(up bool) bool {
		dir := w.settings.Direction
		return dir == kayenta.Either || (up && dir == kayenta.Increase) || (!up && dir == kayenta.Decrease)
	}
	nanEffect := math.IsNaN(d.EffectSize)
	switch ar.Label {
	case kayenta.High, kayenta.Low:
		isUp := ar.Label == kayenta.High
		allowed, critical := eff.AllowedIncrease, eff.CriticalIncrease
		cmp := "≥"
		if !isUp {
			allowed, critical, cmp = eff.AllowedDecrease, eff.CriticalDecrease, "≤"
		}
		t.EffectSize.Allowed = fptr(allowed)
		reason := fmt.Sprintf("%s: %s clears %s", prefix, ci, band)
		if nanEffect {
			reason += fmt.Sprintf("; %s, so Kayenta skips the effect-size gate", effect)
		} else {
			reason += fmt.Sprintf("; %s %s allowed %s", effect, cmp, num(allowed))
		}
		gate := judge.GateToleranceBand
		if w.settings.Critical {
			t.EffectSize.Critical = fptr(critical)
			switch {
			case ar.Critical && nanEffect:
				gate = judge.GateCriticalEffectSize
			case ar.Critical:
				gate = judge.GateCriticalEffectSize
				reason += fmt.Sprintf(" and critical %s", num(critical))
			default:
				reason += fmt.Sprintf(", but not beyond critical %s, so this failure is not critical", num(critical))
			}
		}
		return t, gate, reason
	}
	// Pass after a comparison.
	switch {
	case (up && !harmful(true)) || (down && !harmful(false)):
		return t, judge.GateDirection, fmt.Sprintf("%s passes: %s clears %s on the %s side, which is harmless for this signal (direction %s); %s",
			w.name, ci, band, map[bool]string{true: "upper", false: "lower"}[up], w.settings.Direction, effect)
	case up || down:
		allowed, cmp := w.settings.Effect.AllowedIncrease, "<"
		if !up {
			allowed, cmp = w.settings.Effect.AllowedDecrease, ">"
		}
		t.EffectSize.Allowed = fptr(allowed)
		return t, judge.GateEffectSize, fmt.Sprintf("%s passes: %s clears %s, but %s %s allowed %s", w.name, ci, band, effect, cmp, num(allowed))
	}
	return t, judge.GateToleranceBand, fmt.Sprintf("%s passes: %s does not clear %s; %s", w.name, ci, band, effect)
}

func (w kayentaWording) effectText(d *kayenta.ClassificationDetails) string {
	name := "mean ratio"
	if w.settings.Effect.Measure == kayenta.CLESMeasure {
		name = "CLES"
	}
	if math.IsNaN(d.EffectSize) {
		return name + " undefined (a zero mean)"
	}
	return name + " " + num(d.EffectSize)
}

// kayentaGroups reports the groups: config groups first, then groups only
// signals name, with Kayenta's weights; a group's score is null when none
// of its unmuted signals was judged (Kayenta reports 0 for it, quirk Q10).
func kayentaGroups(c *Config, jr kayenta.JudgeResult, results []judge.Result) []scoring.GroupScore {
	var out []scoring.GroupScore
	index := map[string]int{}
	configured := map[string]bool{}
	var total float64
	for _, g := range c.Groups {
		index[g.Name] = len(out)
		configured[g.Name] = true
		total += g.Weight
		out = append(out, scoring.GroupScore{Name: g.Name, Weight: g.Weight, Signals: []string{}})
	}
	var unweighted []int
	for _, r := range results {
		i, ok := index[r.Group]
		if !ok {
			i = len(out)
			index[r.Group] = i
			out = append(out, scoring.GroupScore{Name: r.Group, Signals: []string{}})
			unweighted = append(unweighted, i)
		}
		out[i].Signals = append(out[i].Signals, r.Name)
	}
	for _, i := range unweighted {
		out[i].Weight = (100 - total) / float64(len(unweighted))
	}
	judged := map[string]bool{}
	for i, r := range results {
		muted := c.Signals[i].Kayenta != nil && c.Signals[i].Kayenta.Muted
		if !muted && r.Classification != judge.Error && (r.Classification != judge.NoData || r.Failed) {
			judged[r.Group] = true
		}
	}
	for _, g := range jr.GroupScores {
		if i, ok := index[g.Name]; ok && judged[g.Name] {
			v := float64(g.Score)
			out[i].Score = &v
		}
	}
	return out
}

// kayentaVerdict maps Kayenta's score to the verdict, honouring "never pass
// without data".
func kayentaVerdict(jr kayenta.JudgeResult, results []judge.Result, signals []Signal, t kayenta.Thresholds) (scoring.Verdict, *float64, string) {
	var active, missing, failed []string
	for i, r := range results {
		if signals[i].Kayenta != nil && signals[i].Kayenta.Muted {
			continue
		}
		active = append(active, r.Name)
		switch {
		case r.Failed || r.CriticalFailure:
			failed = append(failed, r.Name)
		case r.Classification == judge.NoData || r.Classification == judge.Error:
			missing = append(missing, r.Name)
		}
	}
	score := float64(jr.Score.Score)
	kreason := jr.Score.ClassificationReason
	switch {
	case len(active) == 0:
		return scoring.None, nil, "no verdict: every signal is muted"
	case kreason == kayentaNodataReason:
		return scoring.None, nil, fmt.Sprintf("no verdict: %d of %d signals had no data (%s) and Kayenta's rule fails a canary with 50%% or more (%s)",
			len(missing), len(active), strings.Join(missing, ", "), kreason)
	case len(missing) == len(active):
		return scoring.None, nil, fmt.Sprintf("no verdict: no signal could be judged (%s); Kayenta would score it %s", strings.Join(missing, ", "), num(score))
	}
	var v scoring.Verdict
	var head string
	switch jr.Score.Classification {
	case kayenta.ScorePass:
		v, head = scoring.Pass, fmt.Sprintf("pass: Kayenta score %s meets the pass threshold %s", num(score), num(t.Pass))
	case kayenta.ScoreMarginal:
		v, head = scoring.Marginal, fmt.Sprintf("marginal: Kayenta score %s is below the pass threshold %s but meets the marginal threshold %s", num(score), num(t.Pass), num(t.Marginal))
	default:
		v, head = scoring.Fail, fmt.Sprintf("fail: Kayenta score %s is below the marginal threshold %s", num(score), num(t.Marginal))
	}
	if strings.HasPrefix(kreason, "Canary Failed: ") {
		head = fmt.Sprintf("fail: a critical signal failed, so Kayenta scores 0 (%s)", kreason)
	}
	switch {
	case len(failed) > 0:
		head += fmt.Sprintf("; failed: %s", strings.Join(failed, ", "))
	default:
		head += fmt.Sprintf("; all %d judged signals passed", len(active)-len(missing))
	}
	if len(missing) > 0 {
		head += fmt.Sprintf("; no data for %s", strings.Join(missing, ", "))
	}
	return v, &score, head
}

func fptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// num formats a figure with up to four significant digits (whole numbers
// up to a million in full).
func num(v float64) string {
	if a := math.Abs(v); a >= 1000 && a < 1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// signed formats a figure with its sign.
func signed(v float64) string {
	s := num(v)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

// noteMissingSeries adds to each signal's reason which side had no series
// for it, as JudgeSeries does for the default judge.
func noteMissingSeries(rep *Report, baseline, canary SeriesSet, b, cn map[string][]float64) {
	for i := range rep.Signals {
		r := &rep.Signals[i]
		if _, ok := b[r.Name]; !ok {
			r.Reason += fmt.Sprintf(" (%s has no series for it)", baseline.Origin)
		}
		if _, ok := cn[r.Name]; !ok {
			r.Reason += fmt.Sprintf(" (%s has no series for it)", canary.Origin)
		}
	}
}
