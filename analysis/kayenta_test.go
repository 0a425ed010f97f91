package analysis

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/fixtures"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/metrics/file"
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
		{"sequential anytime", "name: k\njudge: kayenta\nsequential: anytime\nsignals:\n  - name: lat\n", "sequential", 3, "repeats its fixed-sample test"},
		{"sequential false is refused too", "name: k\njudge: kayenta\nsequential: false\nsignals:\n  - name: lat\n", "sequential", 3, "judge: verdict"},
		{"horizon", "name: k\njudge: kayenta\nhorizon: 30m\nsignals:\n  - name: lat\n", "horizon", 3, "no meaning with judge: kayenta"},
		{"requireEvidence", "name: k\njudge: kayenta\nrequireEvidence: true\nsignals:\n  - name: lat\n", "requireEvidence", 3, "no meaning with judge: kayenta"},
		{"signal requireEvidence", head + "    requireEvidence: true\n", "signals[0].requireEvidence", 5, "no bound on what the data rule out"},
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

// kayentaFixture is one fixture judged both ways.
type kayentaFixture struct {
	scenario fixtures.Scenario
	verdict  *Report // nil when the default judge failed
	verr     string
	kayenta  *Report
	jr       *kayenta.JudgeResult
	config   *Config // the Verdict config
	kconfig  *Config // its judge: kayenta equivalent
}

// kayentaEquivalent rewrites a Verdict config for judge: kayenta: the same
// signals, directions, NaN and outlier policies, critical and mustHaveData
// flags, groups and thresholds, without the settings Kayenta has no
// equivalent for.
func kayentaEquivalent(t *testing.T, name string, data []byte) *Config {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	doc := root.Content[0]
	drop := func(m *yaml.Node, keys ...string) {
		for i := 0; i+1 < len(m.Content); {
			if slices.Contains(keys, m.Content[i].Value) {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				continue
			}
			i += 2
		}
	}
	drop(doc, "confidence", "judge")
	doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "judge"}, &yaml.Node{Kind: yaml.ScalarNode, Value: "kayenta"})
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "signals" {
			for _, s := range doc.Content[i+1].Content {
				drop(s, "allowedChange", "criticalChange", "minSamples", "test", "statistic", "min", "max")
			}
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(name, out)
	if err != nil {
		t.Fatalf("kayenta equivalent of %s: %v\n%s", name, err, out)
	}
	return c
}

func loadFixtureSeries(t *testing.T, dir string) (SeriesSet, SeriesSet) {
	t.Helper()
	ctx := context.Background()
	b, err := file.Load(ctx, filepath.Join(dir, "baseline.csv"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := file.Load(ctx, filepath.Join(dir, "canary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return SeriesSet{Origin: "baseline.csv", Series: b}, SeriesSet{Origin: "canary.csv", Series: c}
}

// judgeFixtures judges every fixture scenario with the default judge and
// with the Kayenta judge on the Kayenta equivalent of its config.
func judgeFixtures(t *testing.T) []kayentaFixture {
	t.Helper()
	scenarios, err := fixtures.Load("../fixtures")
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) == 0 {
		t.Fatal("no fixtures")
	}
	var out []kayentaFixture
	for _, sc := range scenarios {
		data, err := os.ReadFile(filepath.Join(sc.Dir, "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		f := kayentaFixture{scenario: sc}
		f.config, err = ParseConfig("config.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		f.kconfig = kayentaEquivalent(t, sc.Name+"/config.yaml", data)
		b, c := loadFixtureSeries(t, sc.Dir)
		f.verdict, f.verr = judgeDefaultSafely(f.config, b, c)
		f.kayenta, err = JudgeSeries(f.kconfig, b, c)
		if err != nil {
			t.Fatalf("%s: kayenta mode: %v", sc.Name, err)
		}
		_, f.jr, err = JudgeKayentaValues(f.kconfig, b.values(), c.values())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// judgeDefaultSafely runs the default judge, turning an error or a panic
// into a message (the default judge's statistics are developed elsewhere).
func judgeDefaultSafely(c *Config, b, cn SeriesSet) (rep *Report, msg string) {
	defer func() {
		if r := recover(); r != nil {
			rep, msg = nil, fmt.Sprint(r)
		}
	}()
	rep, err := JudgeSeries(c, b, cn)
	if err != nil {
		return nil, err.Error()
	}
	return rep, ""
}

var kayentaLabel = map[kayenta.Label]judge.Classification{
	kayenta.Pass: judge.Pass, kayenta.High: judge.High, kayenta.Low: judge.Low,
	kayenta.Nodata: judge.NoData, kayenta.NodataFailMetric: judge.NoData, kayenta.Error: judge.Error,
}

// TestKayentaParityFixtures judges every fixture in kayenta mode through a
// Verdict config and directly through kayenta.Judge with a canary config
// built by hand from the same settings: the classifications and the score
// must be identical.
func TestKayentaParityFixtures(t *testing.T) {
	for _, f := range judgeFixtures(t) {
		t.Run(f.scenario.Name, func(t *testing.T) {
			cfg := kayenta.CanaryConfig{Name: f.scenario.Name, Classifier: kayenta.ClassifierConfig{GroupWeights: map[string]float64{}}}
			for _, g := range f.config.Groups {
				cfg.Classifier.GroupWeights[g.Name] = g.Weight
			}
			b, c := loadFixtureSeries(t, f.scenario.Dir)
			bv, cv := b.values(), c.values()
			var pairs []kayenta.MetricSetPair
			for _, s := range f.config.Signals {
				canary := map[string]any{"direction": string(s.Direction), "critical": s.Critical, "mustHaveData": s.MustHaveData}
				if s.NaN == judge.NaNZero {
					canary["nanStrategy"] = "replace"
				}
				if s.Outliers == judge.OutliersRemove {
					canary["outliers"] = map[string]any{"strategy": "remove"}
				}
				cfg.Metrics = append(cfg.Metrics, kayenta.MetricConfig{Name: s.Name, Groups: []string{s.Group}, ScopeName: "default",
					AnalysisConfigurations: map[string]any{"canary": canary}})
				pairs = append(pairs, kayenta.MetricSetPair{Name: s.Name, ID: s.Name,
					Values: kayenta.PairValues{Control: bv[s.Name], Experiment: cv[s.Name]}})
			}
			th := f.config.ThresholdsOrDefault()
			direct, err := kayenta.Judge(cfg, kayenta.Thresholds{Pass: th.Pass, Marginal: th.Marginal}, pairs)
			if err != nil {
				t.Fatal(err)
			}
			if len(direct.Results) != len(f.kayenta.Signals) {
				t.Fatalf("%d direct results, %d signals", len(direct.Results), len(f.kayenta.Signals))
			}
			for i, r := range direct.Results {
				got := f.kayenta.Signals[i]
				if got.Name != r.Name || got.Classification != kayentaLabel[r.Label] || f.jr.Results[i].Label != r.Label {
					t.Errorf("%s: kayenta mode %s (%s), kayenta.Judge %s", r.Name, got.Classification, f.jr.Results[i].Label, r.Label)
				}
				if got.CriticalFailure != (r.Critical && r.Label != kayenta.Pass) {
					t.Errorf("%s: criticalFailure %v, kayenta.Judge critical %v %s", r.Name, got.CriticalFailure, r.Critical, r.Label)
				}
			}
			if f.jr.Score != direct.Score {
				t.Errorf("score %+v, kayenta.Judge %+v", f.jr.Score, direct.Score)
			}
			if f.kayenta.Score != nil && *f.kayenta.Score != float64(direct.Score.Score) {
				t.Errorf("report score %g, kayenta.Judge %g", *f.kayenta.Score, float64(direct.Score.Score))
			}
		})
	}
}

var kayentaDoc = flag.Bool("kayenta-doc", false, "rewrite the comparison tables in docs/kayenta.md")

const (
	comparisonStart = "<!-- comparison:start (generated by go test ./analysis -run TestKayentaComparison -kayenta-doc) -->"
	comparisonEnd   = "<!-- comparison:end -->"
)

// TestKayentaComparison judges every fixture with both judges and renders
// the side-by-side tables of docs/kayenta.md (rewritten with -kayenta-doc).
// It checks the Kayenta side against what the quirks predict for the
// scenarios built to show them.
func TestKayentaComparison(t *testing.T) {
	all := judgeFixtures(t)
	var b strings.Builder
	disagree, total := 0, 0
	for _, f := range all {
		fmt.Fprintf(&b, "### %s\n\n%s\n\n", f.scenario.Name, f.scenario.Description)
		vv := "(default judge error)"
		if f.verdict != nil {
			vv = fmt.Sprintf("%s (score %s)", f.verdict.Verdict, scoreText(f.verdict.Score))
		}
		fmt.Fprintf(&b, "Verdict: default judge **%s**, Kayenta judge **%s** (score %s; Kayenta's own answer %s %s).\n\n",
			vv, f.kayenta.Verdict, scoreText(f.kayenta.Score), f.jr.Score.Classification, num(float64(f.jr.Score.Score)))
		b.WriteString("| signal | Verdict mode | Kayenta mode | why they differ |\n|---|---|---|---|\n")
		for i, ks := range f.kayenta.Signals {
			total++
			vc := "(default judge error)"
			why := ""
			if f.verdict != nil {
				vs := f.verdict.Signals[i]
				vc = fmt.Sprintf("%s (%s)", vs.Classification, vs.Gate)
				if vs.Classification != ks.Classification {
					disagree++
					why = disagreement(f.config.Signals[i], vs, ks)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s (%s) | %s |\n", ks.Name, vc, ks.Classification, ks.Gate, why)
		}
		b.WriteString("\n")
		if f.verdict != nil && f.verdict.Verdict != f.kayenta.Verdict && slices.ContainsFunc(f.kayenta.Signals, func(r judge.Result) bool {
			return r.Classification == judge.NoData && r.CriticalFailure
		}) {
			b.WriteString("The verdicts differ: a critical signal without data makes Verdict's judge answer none (no verdict), while Kayenta's critical rule fails the canary with score 0 (quirk Q8); the Kayenta mode keeps Kayenta's answer, which is not a pass.\n\n")
		}
		if f.verr != "" {
			fmt.Fprintf(&b, "The default judge failed on this scenario: %s\n\n", oneLine(f.verr))
		}
	}
	fmt.Fprintf(&b, "In all, %d of %d signal judgements disagree.\n", disagree, total)
	t.Logf("%d of %d signal judgements disagree", disagree, total)

	// What the quirks predict for the scenarios that show them.
	byName := map[string]kayentaFixture{}
	for _, f := range all {
		byName[f.scenario.Name] = f
	}
	if f, ok := byName["error-spike"]; ok {
		if c := signalClass(f.kayenta, "errors"); c != judge.Pass {
			t.Errorf("error-spike: Kayenta classifies the zero-baseline error spike %s; quirk Q2 predicts pass", c)
		}
	}
	if f, ok := byName["missing-signal"]; ok && f.kayenta.Verdict != scoring.Fail {
		t.Errorf("missing-signal: Kayenta verdict %s; a critical signal without data is a critical Nodata (quirk Q8), which fails", f.kayenta.Verdict)
	}
	if f, ok := byName["latency-regression"]; ok && signalClass(f.kayenta, "p99_latency_ms") != judge.High {
		t.Errorf("latency-regression: p99 +40%% is not high in Kayenta mode")
	}

	if !*kayentaDoc {
		return
	}
	path := filepath.Join("..", "docs", "kayenta.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), comparisonStart)
	end := strings.Index(string(doc), comparisonEnd)
	if start < 0 || end < start {
		t.Fatalf("%s lacks the comparison markers", path)
	}
	out := string(doc[:start]) + comparisonStart + "\n\n" + b.String() + "\n" + string(doc[end:])
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func signalClass(r *Report, name string) judge.Classification {
	for _, s := range r.Signals {
		if s.Name == name {
			return s.Classification
		}
	}
	return ""
}

func scoreText(s *float64) string {
	if s == nil {
		return "none"
	}
	return num(*s)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// disagreement explains why the two judges classify a signal differently.
func disagreement(s Signal, v, k judge.Result) string {
	switch {
	case v.Gate == judge.GateMinSamples && k.Classification != judge.NoData:
		return fmt.Sprintf("Kayenta has no minimum sample count: it judges the %d canary points; Verdict asks for %d", k.Canary.Count, s.MinSamples)
	case s.Test == judge.Rate && k.Classification == judge.Pass:
		return "Kayenta has no rate test. With a zero baseline and mostly-zero canary counts the estimate is ~0, the ±25% band collapses to 0 and an interval touching 0 does not clear it (quirk Q2); Verdict's rate test compares the counts as Poisson rates"
	case s.Test == judge.Threshold:
		return fmt.Sprintf("threshold test (canary %s against an absolute bound) has no Kayenta equivalent: Kayenta compares the two distributions instead", s.Statistic)
	case v.Classification == judge.Pass && v.Gate == judge.GateAllowedChange:
		return fmt.Sprintf("Verdict tolerates up to allowedChange %s; Kayenta's only tolerances are the band of 25%% of the estimate and the effect-size gate (default: any mean ratio beyond 1)", s.AllowedChange)
	case v.Classification == judge.Pass && v.Gate == judge.GateInterval:
		return "Verdict's 95% interval contains 0; Kayenta's 98% interval clears the ±25% band"
	case k.Classification == judge.Pass && k.Gate == judge.GateToleranceBand:
		return "Kayenta's 98% interval does not clear ±25% of the estimate; Verdict's 95% interval excludes 0 and the shift exceeds allowedChange"
	case k.Classification == judge.Pass && k.Gate == judge.GateEffectSize:
		return "Kayenta's effect-size gate holds it back"
	}
	return fmt.Sprintf("Verdict gate %s, Kayenta gate %s", v.Gate, k.Gate)
}
