package analysis

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/judge/kayenta"
	"github.com/verdict-aca/verdict/scoring"
)

func TestKayentaValidation(t *testing.T) {
	const head = "name: k\njudge: kayenta\nsignals:\n  - name: lat\n"
	tests := []struct {
		name, config string
		field        string // "" means valid
		line         int
		want         string
	}{
		{"minimal", head, "", 0, ""},
		{"all kayenta settings", head + "    direction: increase\n    nan: zero\n    outliers: remove\n    critical: true\n    mustHaveData: true\n    test: mann-whitney\n" +
			"    kayenta: {muted: true, outlierFactor: 2.5, effectSize: {measure: cles, allowedIncrease: 0.6, criticalIncrease: 0.9}}\n", "", 0, ""},
		{"block without kayenta judge", "name: k\nsignals:\n  - name: lat\n    kayenta: {muted: true}\n", "signals[0].kayenta", 4, "needs judge: kayenta"},
		{"allowedChange", head + "    allowedChange: 10%\n", "signals[0].allowedChange", 5, "allowedIncrease"},
		{"allowedChange zero is refused too", head + "    allowedChange: 0\n", "signals[0].allowedChange", 5, "tolerance band"},
		{"criticalChange", head + "    criticalChange: 50%\n", "signals[0].criticalChange", 5, "criticalIncrease"},
		{"minSamples", head + "    minSamples: 50\n", "signals[0].minSamples", 5, "mustHaveData"},
		{"rate test", head + "    test: rate\n", "signals[0].test", 5, "only the Mann-Whitney"},
		{"threshold test", head + "    test: threshold\n    max: 1\n", "signals[0].max", 6, "threshold"},
		{"confidence", "name: k\njudge: kayenta\nconfidence: 0.95\nsignals:\n  - name: lat\n", "confidence", 3, "0.98"},
		{"weights must total 100", "name: k\njudge: kayenta\ngroups: {a: {weight: 60}, b: {weight: 60}}\nsignals:\n  - name: lat\n    group: a\n", "groups", 3, "total 120"},
		{"outlierFactor without removal", head + "    kayenta: {outlierFactor: 2}\n", "signals[0].kayenta.outlierFactor", 5, "outliers: remove"},
		{"outlierFactor zero", head + "    outliers: remove\n    kayenta: {outlierFactor: 0}\n", "signals[0].kayenta.outlierFactor", 6, "not above 0"},
		{"measure typo", head + "    kayenta: {effectSize: {measure: meanratio}}\n", "signals[0].kayenta.effectSize.measure", 5, "meanRatio or cles"},
		{"cles above 1", head + "    kayenta: {effectSize: {measure: cles, allowedIncrease: 1.2}}\n", "signals[0].kayenta.effectSize.allowedIncrease", 5, "between 0 and 1"},
		{"negative ratio", head + "    kayenta: {effectSize: {allowedDecrease: -1}}\n", "signals[0].kayenta.effectSize.allowedDecrease", 5, "negative"},
		{"unknown kayenta key", head + "    kayenta: {mute: true}\n", "signals[0].kayenta", 5, `did you mean "muted"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("k.yaml", []byte(tt.config))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if c.Confidence != kayenta.ConfidenceLevel {
					t.Errorf("confidence = %g, want Kayenta's 0.98", c.Confidence)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a ConfigError, got %v", err)
			}
			if ce.Field != tt.field || ce.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got field %q line %d: %v\nwant field %q line %d containing %q", ce.Field, ce.Line, err, tt.field, tt.line, tt.want)
			}
		})
	}
}

func TestKayentaConfigMapping(t *testing.T) {
	c := mustParse(t, `name: shop
judge: kayenta
thresholds: {pass: 90, marginal: 50}
groups: {latency: {weight: 70}, errors: {weight: 30}}
signals:
  - name: p99
    group: latency
    direction: increase
    nan: zero
    outliers: remove
    critical: true
    kayenta: {outlierFactor: 2.5, effectSize: {measure: cles, allowedIncrease: 0.6, criticalIncrease: 0.9}}
  - name: errs
    group: errors
    mustHaveData: true
    kayenta: {muted: true}
`)
	cfg, th := c.KayentaConfig()
	if th != (kayenta.Thresholds{Pass: 90, Marginal: 50}) {
		t.Errorf("thresholds = %+v", th)
	}
	if cfg.Classifier.GroupWeights["latency"] != 70 || cfg.Classifier.GroupWeights["errors"] != 30 || len(cfg.Classifier.GroupWeights) != 2 {
		t.Errorf("groupWeights = %v", cfg.Classifier.GroupWeights)
	}
	// Read the documents back with Kayenta's own settings parser.
	p99, err := kayenta.ParseMetricSettings(cfg.Metrics[0])
	if err != nil {
		t.Fatal(err)
	}
	want := kayenta.MetricSettings{Direction: kayenta.Increase, NaNStrategy: kayenta.NaNReplace, Outliers: kayenta.OutliersRemove, OutlierFactor: 2.5,
		Critical: true, Effect: kayenta.EffectSizeSettings{Measure: kayenta.CLESMeasure, AllowedIncrease: 0.6, AllowedDecrease: 0.5, CriticalIncrease: 0.9, CriticalDecrease: 0.5}}
	if p99 != want {
		t.Errorf("p99 settings = %+v\nwant %+v", p99, want)
	}
	errs, err := kayenta.ParseMetricSettings(cfg.Metrics[1])
	if err != nil {
		t.Fatal(err)
	}
	want = kayenta.MetricSettings{Direction: kayenta.Either, NaNStrategy: kayenta.NaNRemove, Outliers: kayenta.OutliersKeep, OutlierFactor: 3,
		MustHaveData: true, Muted: true, Effect: kayenta.DefaultEffectSize(kayenta.MeanRatioMeasure)}
	if errs != want {
		t.Errorf("errs settings = %+v\nwant %+v", errs, want)
	}
	if g := cfg.Metrics[1].Groups; len(g) != 1 || g[0] != "errors" {
		t.Errorf("errs groups = %v", g)
	}
}

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := ParseConfig("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ramp returns n values start, start+step, ...
func ramp(n int, start, step float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = start + float64(i)*step
	}
	return out
}

func TestKayentaResultMapping(t *testing.T) {
	base := ramp(60, 100, 1) // 100..159
	shifted := func(d float64) []float64 { return ramp(60, 100+d, 1) }
	zeros := make([]float64, 60)
	spike := append(make([]float64, 50), ramp(10, 50, 1)...) // zero-inflated errors, all 0 in the baseline

	type want struct {
		class           judge.Classification
		gate            judge.Gate
		failed, crit    bool
		reason          string
		effectUndefined bool
	}
	tests := []struct {
		name     string
		signal   string // YAML of the signal's settings
		b, c     []float64
		want     want
		verdict  scoring.Verdict
		scoreNil bool
	}{
		{"clear rise", "direction: increase", base, shifted(40), want{judge.High, judge.GateToleranceBand, true, false, "clears the tolerance band", false}, scoring.Fail, false},
		{"no change", "direction: increase", base, shifted(1), want{judge.Pass, judge.GateToleranceBand, false, false, "does not clear", false}, scoring.Pass, false},
		{"harmless direction", "direction: decrease", base, shifted(40), want{judge.Pass, judge.GateDirection, false, false, "harmless", false}, scoring.Pass, false},
		// mean ratio of shifted(40) is about 1.31: below an allowed increase of 1.5.
		{"within effect size", "direction: increase\n    kayenta: {effectSize: {allowedIncrease: 1.5}}", base, shifted(40), want{judge.Pass, judge.GateEffectSize, false, false, "< allowed 1.5", false}, scoring.Pass, false},
		{"critical beyond critical bound", "critical: true\n    kayenta: {effectSize: {criticalIncrease: 1.2}}", base, shifted(40), want{judge.High, judge.GateCriticalEffectSize, true, true, "(Critical)", false}, scoring.Fail, false},
		{"critical below critical bound", "critical: true\n    kayenta: {effectSize: {criticalIncrease: 2}}", base, shifted(40), want{judge.High, judge.GateToleranceBand, true, false, "not critical", false}, scoring.Fail, false},
		// Kayenta quirk Q6: a zero-mean baseline makes the ratio undefined and skips the gate.
		{"zero baseline jump", "direction: increase\n    kayenta: {effectSize: {allowedIncrease: 5}}", zeros, ramp(60, 50, 1), want{judge.High, judge.GateToleranceBand, true, false, "skips the effect-size gate", true}, scoring.Fail, false},
		// Kayenta quirk Q2: zero-inflated errors on a zero baseline give an
		// estimate of 0, the band collapses, and the CI touching 0 passes.
		{"zero baseline sporadic errors", "direction: increase", zeros, spike, want{judge.Pass, judge.GateToleranceBand, false, false, "does not clear the tolerance band ±0", true}, scoring.Pass, false},
		{"identical", "", base, base, want{judge.Pass, judge.GateIdenticalData, false, false, "identical", false}, scoring.Pass, false},
		{"one constant", "", []float64{3, 3, 3}, []float64{3, 3}, want{judge.Pass, judge.GateIdentical, false, false, "constant 3", false}, scoring.Pass, false},
		{"no canary data", "", base, nil, want{judge.NoData, judge.GateMissingData, false, false, "Missing data for s", false}, scoring.None, true},
		{"must have data", "mustHaveData: true", base, nil, want{judge.NoData, judge.GateMustHaveData, true, false, "mustHaveData", false}, scoring.Fail, false},
		// Quirk Q8: a critical signal without data is a critical Nodata: Kayenta fails the canary.
		{"critical without data", "critical: true", base, nil, want{judge.NoData, judge.GateMissingData, false, true, "critical", false}, scoring.Fail, false},
		{"nan zero, no data", "nan: zero", base, nil, want{judge.Pass, judge.GateMissingData, false, false, "nan: zero", false}, scoring.Pass, false},
		{"muted rise", "kayenta: {muted: true}", base, shifted(40), want{judge.High, judge.GateToleranceBand, false, false, "muted", false}, scoring.None, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "name: k\njudge: kayenta\nsignals:\n  - name: s\n"
			if tt.signal != "" {
				text += "    " + tt.signal + "\n"
			}
			c := mustParse(t, text)
			rep, jr, err := JudgeKayentaValues(c, map[string][]float64{"s": tt.b}, map[string][]float64{"s": tt.c})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Signals[0]
			got := want{r.Classification, r.Gate, r.Failed, r.CriticalFailure, tt.want.reason, false}
			if r.Test != nil && r.Test.EffectSize != nil && r.Test.EffectSize.Value == nil {
				got.effectUndefined = true
			}
			if got != tt.want || !strings.Contains(r.Reason, tt.want.reason) {
				t.Errorf("got %+v, reason %q\nwant %+v", got, r.Reason, tt.want)
			}
			if rep.Verdict != tt.verdict || (rep.Score == nil) != tt.scoreNil {
				t.Errorf("verdict %s score %v (%s), want %s (score nil: %v)", rep.Verdict, rep.Score, rep.Reason, tt.verdict, tt.scoreNil)
			}
			if rep.Score != nil && *rep.Score != float64(jr.Score.Score) {
				t.Errorf("report score %g, Kayenta score %g", *rep.Score, float64(jr.Score.Score))
			}
			if rep.Judge != JudgeKayenta {
				t.Errorf("judge = %s", rep.Judge)
			}
		})
	}
}

// TestKayentaTestBlock checks the figures of the test block: Kayenta's own
// interval and estimate at 0.98 with the band, and the effect size.
func TestKayentaTestBlock(t *testing.T) {
	c := mustParse(t, "name: k\njudge: kayenta\nsignals:\n  - name: s\n    direction: increase\n")
	b, cn := ramp(60, 100, 1), ramp(60, 140, 1)
	rep, _, err := JudgeKayentaValues(c, map[string][]float64{"s": b}, map[string][]float64{"s": cn})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := kayenta.MannWhitney(cn, b, kayenta.ConfidenceLevel)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Signals[0].Test
	if tr == nil || tr.Method != judge.MannWhitney || tr.Confidence != 0.98 {
		t.Fatalf("test block = %+v", tr)
	}
	if *tr.Estimate != mw.Estimate || *tr.CILow != mw.CILower || *tr.CIHigh != mw.CIUpper {
		t.Errorf("estimate %g [%g, %g], Kayenta %+v", *tr.Estimate, *tr.CILow, *tr.CIHigh, mw)
	}
	if *tr.Band != 0.25*math.Abs(mw.Estimate) {
		t.Errorf("band %g", *tr.Band)
	}
	// Mean ratio: mean(140..199) / mean(100..159) = 169.5/129.5.
	if e := tr.EffectSize; e == nil || e.Measure != "meanRatio" || math.Abs(*e.Value-169.5/129.5) > 1e-12 || *e.Allowed != 1 {
		t.Errorf("effect size = %+v", tr.EffectSize)
	}
	if s := rep.Signals[0].Baseline; s.Count != 60 || s.Median != 129.5 {
		t.Errorf("baseline summary = %+v", s)
	}
}

func TestKayentaNodataRule(t *testing.T) {
	c := mustParse(t, "name: k\njudge: kayenta\nsignals:\n  - name: a\n  - name: b\n  - name: c\n")
	b := map[string][]float64{"a": ramp(30, 1, 1), "b": ramp(30, 1, 1), "c": ramp(30, 1, 1)}
	cn := map[string][]float64{"a": ramp(30, 1, 1), "b": nil, "c": nil}
	rep, jr, err := JudgeKayentaValues(c, b, cn)
	if err != nil {
		t.Fatal(err)
	}
	if jr.Score.ClassificationReason != kayentaNodataReason || jr.Score.Classification != kayenta.ScoreFail {
		t.Fatalf("Kayenta score = %+v", jr.Score)
	}
	if rep.Verdict != scoring.None || rep.Score != nil || !strings.Contains(rep.Reason, "2 of 3") {
		t.Errorf("verdict %s score %v reason %q", rep.Verdict, rep.Score, rep.Reason)
	}
	// The group holds a judged signal, so it has a score; Kayenta's weight is 100.
	if len(rep.Groups) != 1 || rep.Groups[0].Weight != 100 || rep.Groups[0].Score == nil {
		t.Errorf("groups = %+v", rep.Groups)
	}
}
