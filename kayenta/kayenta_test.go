package kayenta

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func metricCfg(name string, canary map[string]any, groups ...string) MetricConfig {
	mc := MetricConfig{Name: name, Query: QueryConfig{Type: "prometheus", MetricName: name}, Groups: groups, ScopeName: "default"}
	if canary != nil {
		mc.AnalysisConfigurations = map[string]any{"canary": canary}
	}
	return mc
}

func pair(name string, control, experiment []float64) MetricSetPair {
	return MetricSetPair{Name: name, ID: "id-" + name, Tags: map[string]string{}, Values: PairValues{Control: control, Experiment: experiment}}
}

func TestFloatJSON(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
		{1.5, `1.5`},
		{100, `100`},
		{1e-5, `1e-05`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Float(tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
	}
	var s Series
	if err := json.Unmarshal([]byte(`[1, "NaN", "+Inf", "-Inf", "Infinity", null, 2.5]`), &s); err != nil {
		t.Fatal(err)
	}
	if len(s) != 7 || s[0] != 1 || !math.IsNaN(s[1]) || !math.IsInf(s[2], 1) || !math.IsInf(s[3], -1) ||
		!math.IsInf(s[4], 1) || !math.IsNaN(s[5]) || s[6] != 2.5 {
		t.Errorf("Series decode = %v", s)
	}
	if err := json.Unmarshal([]byte(`["nope"]`), &s); err == nil {
		t.Error("want an error for a non-number string")
	}
}

func TestJavaDoubleString(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{100, "100.0"},
		{0, "0.0"},
		{33.33, "33.33"},
		{0.001, "0.001"},
		{1e-4, "1.0E-4"},
		{1.2345678e7, "1.2345678E7"},
		{1e7, "1.0E7"},
		{-2.5, "-2.5"},
		{math.NaN(), "NaN"},
		{math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := javaDoubleString(tt.in); got != tt.want {
			t.Errorf("javaDoubleString(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRoundHalfUp(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{1.025, 1.03}, // 1.025*100 = 102.49999999999999: math.Round would give 1.02
		{2.675, 2.68}, // same trap
		{-1.025, -1.03},
		{33.333333333333336, 33.33},
		{66.66666666666667, 66.67},
		{5.0, 5.0},
		{0.005, 0.01},
		{0.004999, 0.0},
	}
	for _, tt := range tests {
		if got := roundHalfUp(tt.in, 2); got != tt.want {
			t.Errorf("RoundHalfUp(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !math.IsNaN(roundHalfUp(math.NaN(), 2)) {
		t.Error("NaN must stay NaN")
	}
}

func TestFormatInstant(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "2020-01-01T00:00:00Z"},
		{time.Date(2018, 12, 17, 20, 56, 39, 689_000_000, time.UTC), "2018-12-17T20:56:39.689Z"},
		{time.Date(2018, 12, 17, 20, 56, 39, 500_000_000, time.UTC), "2018-12-17T20:56:39.500Z"},
		{time.Date(2018, 12, 17, 20, 56, 39, 1_000, time.UTC), "2018-12-17T20:56:39.000001Z"},
	}
	for _, tt := range tests {
		if got := FormatInstant(tt.in); got != tt.want {
			t.Errorf("FormatInstant(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPercentileDomain(t *testing.T) {
	for _, p := range []float64{0, -1, 100.5, math.NaN()} {
		if _, err := Percentile([]float64{1, 2}, p); err == nil {
			t.Errorf("Percentile(p=%v) accepted", p)
		}
	}
	if v, err := Percentile(nil, 50); err != nil || !math.IsNaN(v) {
		t.Errorf("Percentile(empty) = %v, %v; want NaN", v, err)
	}
	// NaNs are dropped (commons-math NaNStrategy.REMOVED): median of {1, 3}.
	if v, _ := Percentile([]float64{math.NaN(), 3, 1}, 50); v != 2 {
		t.Errorf("Percentile with NaN = %v, want 2", v)
	}
}

func TestParseMetricSettings(t *testing.T) {
	tests := []struct {
		name      string
		canary    map[string]any
		want      MetricSettings
		wantField string // non-empty: a *SettingError on this field
		wantErr   string // non-empty: another error containing this
	}{
		{name: "defaults", canary: nil,
			want: MetricSettings{Direction: Either, NaNStrategy: NaNRemove, Outliers: OutliersKeep, OutlierFactor: 3, Effect: DefaultEffectSize(MeanRatioMeasure)}},
		{name: "everything", canary: map[string]any{
			"direction": "increase", "nanStrategy": "replace", "critical": true, "mustHaveData": true, "muted": true,
			"effectSize": map[string]any{"measure": "meanRatio", "allowedIncrease": 1.1, "allowedDecrease": 0.9, "criticalIncrease": 5, "criticalDecrease": 0.5},
			"outliers":   map[string]any{"strategy": "remove", "outlierFactor": 2}},
			want: MetricSettings{Direction: Increase, NaNStrategy: NaNReplace, Outliers: OutliersRemove, OutlierFactor: 2, Critical: true, MustHaveData: true, Muted: true,
				Effect: EffectSizeSettings{Measure: MeanRatioMeasure, AllowedIncrease: 1.1, AllowedDecrease: 0.9, CriticalIncrease: 5, CriticalDecrease: 0.5}}},
		{name: "cles defaults", canary: map[string]any{"effectSize": map[string]any{"measure": "cles"}},
			want: MetricSettings{Direction: Either, NaNStrategy: NaNRemove, Outliers: OutliersKeep, OutlierFactor: 3, Effect: DefaultEffectSize(CLESMeasure)}},
		{name: "unknown enums fall back", canary: map[string]any{"direction": "up", "nanStrategy": "zero", "outliers": map[string]any{"strategy": "drop"}, "effectSize": map[string]any{"measure": "CLES"}},
			want: MetricSettings{Direction: Either, NaNStrategy: NaNRemove, Outliers: OutliersKeep, OutlierFactor: 3, Effect: DefaultEffectSize(MeanRatioMeasure)}},
		{name: "null is absent", canary: map[string]any{"critical": nil, "effectSize": map[string]any{"allowedIncrease": nil}},
			want: MetricSettings{Direction: Either, NaNStrategy: NaNRemove, Outliers: OutliersKeep, OutlierFactor: 3, Effect: DefaultEffectSize(MeanRatioMeasure)}},
		{name: "string boolean", canary: map[string]any{"critical": "true"}, wantField: "canary.critical"},
		{name: "string muted", canary: map[string]any{"muted": "false"}, wantField: "canary.muted"},
		{name: "string number", canary: map[string]any{"effectSize": map[string]any{"allowedIncrease": "1.2"}}, wantField: "canary.effectSize.allowedIncrease"},
		{name: "string factor even when keeping", canary: map[string]any{"outliers": map[string]any{"outlierFactor": "3"}}, wantField: "canary.outliers.outlierFactor"},
		{name: "zero factor with removal", canary: map[string]any{"outliers": map[string]any{"strategy": "remove", "outlierFactor": 0}}, wantErr: "greater than zero"},
		{name: "zero factor while keeping is fine", canary: map[string]any{"outliers": map[string]any{"outlierFactor": 0}},
			want: MetricSettings{Direction: Either, NaNStrategy: NaNRemove, Outliers: OutliersKeep, OutlierFactor: 0, Effect: DefaultEffectSize(MeanRatioMeasure)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetricSettings(metricCfg("lat", tt.canary))
			switch {
			case tt.wantField != "":
				var se *SettingError
				if !errors.As(err, &se) || se.Field != tt.wantField || se.Metric != "lat" {
					t.Fatalf("err = %v, want a SettingError on %s", err, tt.wantField)
				}
				if !strings.Contains(err.Error(), `"lat"`) || !strings.Contains(err.Error(), tt.wantField) {
					t.Errorf("message %q does not name metric and field", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("got %+v\nwant %+v", got, tt.want)
				}
			}
		})
	}
}

func TestJudgeFailsWholeJudgement(t *testing.T) {
	cfg := CanaryConfig{Name: "c", Metrics: []MetricConfig{metricCfg("cpu", map[string]any{"critical": "true"}, "g")}}
	th := Thresholds{Pass: 95, Marginal: 75}
	if _, err := Judge(cfg, th, []MetricSetPair{pair("cpu", []float64{1, 2}, []float64{3, 4})}); err == nil ||
		!strings.Contains(err.Error(), "canary.critical") {
		t.Errorf("mistyped critical: err = %v", err)
	}
	if _, err := Judge(cfg, th, []MetricSetPair{pair("mem", []float64{1}, []float64{2})}); err == nil ||
		!strings.Contains(err.Error(), "could not find metric config for mem") {
		t.Errorf("unknown metric: err = %v", err)
	}
}

// A constant far below the noise scale's resolution: the noise sigma
// underflows to 0, every observation ties at the only shift, and the
// statistic has no variance. Upstream yields an Error result here too.
func TestJudgeErrorResult(t *testing.T) {
	tiny := 5e-320
	cfg := CanaryConfig{Name: "c", Metrics: []MetricConfig{
		metricCfg("tiny", map[string]any{"critical": true}, "g"),
		metricCfg("ok", nil, "g"),
	}}
	pairs := []MetricSetPair{
		pair("tiny", []float64{0, 0, 0}, []float64{tiny, tiny, tiny}),
		pair("ok", []float64{1, 2, 3}, []float64{1, 2, 3}),
	}
	res, err := Judge(cfg, Thresholds{Pass: 95, Marginal: 75}, pairs)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Results[0]
	if r.Label != Error || r.ClassificationReason != "Metric Classification Failed" || r.Critical || r.ResultMetadata != nil {
		t.Fatalf("got %+v, want a non-critical Error without resultMetadata", r)
	}
	if r.Details == nil || !strings.Contains(r.Details.Err, "all observations are tied") {
		t.Errorf("details should carry the cause, got %+v", r.Details)
	}
	// Error is excluded from the group denominator: the group is 100.
	if res.Score.Score != 100 || res.Score.Classification != ScorePass {
		t.Errorf("score = %+v, want 100 Pass", res.Score)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if _, ok := generic.Results[0]["resultMetadata"]; ok {
		t.Errorf("Error result must have no resultMetadata: %s", b)
	}
}

func TestJudgeResultWireFormat(t *testing.T) {
	cfg := CanaryConfig{Name: "c", Classifier: ClassifierConfig{GroupWeights: map[string]float64{"errors": 100}},
		Metrics: []MetricConfig{metricCfg("5xx", map[string]any{"direction": "increase"}, "errors"), metricCfg("same", nil, "errors")}}
	pairs := []MetricSetPair{
		pair("5xx", []float64{0, 0, 0, 0, 0}, []float64{54.9, 54.5, 55.1, 55.6, 57.4}),
		pair("same", []float64{1, 2}, []float64{2, 1}),
	}
	res, err := Judge(cfg, Thresholds{Pass: 95, Marginal: 75}, pairs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`"judgeName":"NetflixACAJudge-v1.0"`,
		`"classification":"High"`,
		`"classificationReason":"5xx was classified as High"`,
		`"resultMetadata":{"ratio":"NaN"}`,
		`"experimentMetadata":{"stats":{"min":54.5,"max":57.4,`,
		`"controlMetadata":{"stats":{"min":0,"max":0,"mean":0,"std":0,"count":5}}`,
		`"groupScores":[{"name":"errors","score":50,"classification":"","classificationReason":""}]`,
		`"score":{"score":50,"classification":"Fail","classificationReason":""}`,
		`"classificationReason":"The Canary and Baseline data are identical"`,
		`"critical":false,"muted":false`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s\n%s", want, s)
		}
	}
	if strings.Contains(s, "Details") || strings.Contains(s, "ciLower") {
		t.Errorf("details must not be serialised: %s", s)
	}
	// Round trip.
	var back JudgeResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(back.Results[0].ResultMetadata.Ratio)) || back.Results[1].Label != Pass {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestJudgePreprocessingAndMuting(t *testing.T) {
	d3 := []float64{21, 23, 24, 25, 50, 29, 23, 21}
	cfg := CanaryConfig{Name: "c", Classifier: ClassifierConfig{GroupWeights: map[string]float64{"pod": 100}}, Metrics: []MetricConfig{
		metricCfg("lat", map[string]any{"outliers": map[string]any{"strategy": "remove"}, "nanStrategy": "remove"}, "pod"),
		metricCfg("cpu", map[string]any{"critical": true, "muted": true, "direction": "increase"}, "pod"),
	}}
	withNaN := append([]float64{math.NaN()}, d3...)
	pairs := []MetricSetPair{
		pair("lat", withNaN, d3),
		pair("cpu", []float64{40, 41, 42, 43, 44, 40, 41}, []float64{1000, 1000, 1000, 1000, 1000, 1000, 1001}),
	}
	res, err := Judge(cfg, Thresholds{Pass: 75, Marginal: 50}, pairs)
	if err != nil {
		t.Fatal(err)
	}
	lat := res.Results[0]
	// NaN removed, then 50 is an outlier with the judge's reduced-sensitivity fences (DJ1).
	if lat.ControlMetadata.Stats.Count != 7 || lat.ControlMetadata.Stats.Max != 29 || lat.ExperimentMetadata.Stats.Count != 7 {
		t.Errorf("preprocessing: control %+v experiment %+v", lat.ControlMetadata.Stats, lat.ExperimentMetadata.Stats)
	}
	cpu := res.Results[1]
	if cpu.Label != High || !cpu.Critical || !cpu.Muted {
		t.Errorf("muted metric must still be classified: %+v", cpu)
	}
	if res.Score.Score != 100 || res.Score.Classification != ScorePass || res.Score.ClassificationReason != "" {
		t.Errorf("muted critical High must not fail the canary: %+v", res.Score)
	}
}

func TestConstantNoiseIsDeterministic(t *testing.T) {
	p := ClassifierParams{Name: "high-metric", Tolerance: Tolerance, Confidence: ConfidenceLevel, Direction: Either,
		NaNStrategy: NaNRemove, Effect: DefaultEffectSize(MeanRatioMeasure)}
	ctl, exp := []float64{1, 1, 1, 1, 1}, []float64{10, 10, 10, 10, 10}
	a, err := Classify(ctl, exp, p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Classify(ctl, exp, p)
	if a.Details.Path != PathNoise || a.Label != High || *a.Details.Test != *b.Details.Test || a.Deviation != b.Deviation {
		t.Errorf("noise path not deterministic: %+v vs %+v", a.Details.Test, b.Details.Test)
	}
	p.Name = "other"
	c, _ := Classify(ctl, exp, p)
	if c.Label != High || *c.Details.Test == *a.Details.Test {
		t.Errorf("seed should depend on the name and keep the class: %+v", c)
	}
	// A zero constant gets sigma 0 and stays exactly 0 (U7).
	zero := newNoiseSource(1).AddGaussianNoise([]float64{0, 0}, 0, 0)
	if zero[0] != 0 || zero[1] != 0 {
		t.Errorf("zero sigma changed the data: %v", zero)
	}
}

func TestNoiseSourceMoments(t *testing.T) {
	xs := newNoiseSource(42).NormalSamples(10, 3, 20000)
	// Standard errors: mean 3/sqrt(n) = 0.021, sd ~ 3/sqrt(2n) = 0.015.
	if m := Mean(xs); math.Abs(m-10) > 0.1 {
		t.Errorf("mean %v, want 10 ± 0.1", m)
	}
	if s := math.Sqrt(Variance(xs)); math.Abs(s-3) > 0.1 {
		t.Errorf("sd %v, want 3 ± 0.1", s)
	}
}

func TestMixerLimitsAndIDs(t *testing.T) {
	huge := MetricSet{Name: "m", Tags: map[string]string{}, StartTimeMillis: 0, EndTimeMillis: 1 << 40, StepMillis: 1}
	if _, err := mixOne(huge, huge, "x"); err == nil {
		t.Error("want an error for an absurd number of expected points")
	}
	ctl := []MetricSet{{Name: "m", Tags: map[string]string{"pod": "a"}}, {Name: "m", Tags: map[string]string{"pod": "b"}}}
	pairs, err := mixAll([]string{"m"}, ctl, ctl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[0].ID == pairs[1].ID || pairs[0].Tags["pod"] != "a" {
		t.Errorf("pairs %+v: want 2 pairs in first-appearance order with distinct ids", pairs)
	}
	again, _ := mixAll([]string{"m"}, ctl, ctl, nil)
	if again[0].ID != pairs[0].ID {
		t.Error("default ids must be deterministic")
	}
	var ue *UpstreamError
	if _, err := mixAll([]string{"n"}, ctl, ctl, nil); !errors.As(err, &ue) {
		t.Errorf("missing metric: err = %v, want an UpstreamError", err)
	}
}

func TestStandaloneErrors(t *testing.T) {
	zero := int64(0)
	tests := []struct {
		name string
		req  AnalysisRequest
		want string
	}{
		{"no scopes", AnalysisRequest{LifetimeDurationMins: &zero}, "at least one scope"},
		{"no lifetime", AnalysisRequest{Scopes: []AnalysisScope{{}}}, "lifetimeDuration"},
		{"zero lifetime", AnalysisRequest{Scopes: []AnalysisScope{{}}, LifetimeDurationMins: &zero}, "interval is zero"},
		{"bad start", AnalysisRequest{Scopes: []AnalysisScope{{StartTimeIso: "yesterday"}}, LifetimeDurationMins: &zero}, "startTimeIso"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanAnalysis(tt.req, time.Unix(0, 0))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestPlanAnalysis(t *testing.T) {
	life, interval := int64(60), int64(15)
	req := AnalysisRequest{Scopes: []AnalysisScope{{}}, LifetimeDurationMins: &life, AnalysisIntervalMins: &interval, BeginAfterMins: 5, LookbackMins: 15}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := PlanAnalysis(req, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Windows) != 4 || !p.RealTime || p.WarmupMinutes != 5 {
		t.Fatalf("plan %+v", p)
	}
	// Real-time sliding window: judgement 4 covers [5+60-15, 5+60] minutes after now.
	w := p.Windows[3]
	if !w.Start.Equal(now.Add(50*time.Minute)) || !w.End.Equal(now.Add(65*time.Minute)) {
		t.Errorf("window 4 = %v .. %v", w.Start, w.End)
	}
}

func TestScoreThresholdBoundaries(t *testing.T) {
	th := Thresholds{Pass: 95, Marginal: 75}
	tests := []struct {
		score float64
		judge string
		run   bool
	}{
		{95, ScorePass, true},
		{94.99, ScoreMarginal, true},
		{75, ScoreMarginal, false}, // Q17: Marginal for the judge, yet the run stops
		{74.99, ScoreFail, false},
	}
	for _, tt := range tests {
		if got := classifyScore(tt.score, th); got != tt.judge {
			t.Errorf("ClassifyScore(%v) = %s, want %s", tt.score, got, tt.judge)
		}
		if got := intervalPassed(tt.score, th); got != tt.run {
			t.Errorf("intervalPassed(%v) = %v, want %v", tt.score, got, tt.run)
		}
	}
}

func TestQueryConfigRoundTrip(t *testing.T) {
	in := `{"type":"atlas","q":"name,cpu,:eq","metricName":"cpu","labelBindings":["a=\"b\""]}`
	var q QueryConfig
	if err := json.Unmarshal([]byte(in), &q); err != nil {
		t.Fatal(err)
	}
	if q.Type != "atlas" || q.MetricName != "cpu" || string(q.Extra["q"]) != `"name,cpu,:eq"` || len(q.LabelBindings) != 1 {
		t.Fatalf("decoded %+v", q)
	}
	out, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal([]byte(in), &a)
	_ = json.Unmarshal(out, &b)
	if describe(a) != describe(b) {
		t.Errorf("round trip %s != %s", out, in)
	}
}

// Inputs that must never panic, whatever they produce.
func TestJudgeOddInputsDoNotPanic(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	cases := [][2][]float64{
		{{inf, inf, 1}, {1, 2, 3}},
		{{-inf, 1, 2}, {inf, 3, 4}},
		{{nan, nan}, {nan}},
		{{1}, {2}},
		{{}, {}},
		{{0, math.Copysign(0, -1)}, {0, 0}},
		{{1e308, -1e308}, {1e308, 1}},
		{{5e-324, 5e-324}, {0, 0}},
	}
	for _, nanStrategy := range []string{"remove", "replace"} {
		for _, outliers := range []string{"keep", "remove"} {
			cfg := CanaryConfig{Name: "c", Metrics: []MetricConfig{metricCfg("m", map[string]any{
				"nanStrategy": nanStrategy, "outliers": map[string]any{"strategy": outliers}, "critical": true,
				"effectSize": map[string]any{"measure": "cles"}}, "g")}}
			for _, c := range cases {
				if _, err := Judge(cfg, Thresholds{Pass: 95, Marginal: 75}, []MetricSetPair{pair("m", c[0], c[1])}); err != nil {
					t.Errorf("%s/%s %v: unexpected error %v", nanStrategy, outliers, c, err)
				}
			}
		}
	}
}

func TestValidateExecutionRequest(t *testing.T) {
	th := &Thresholds{Pass: 95, Marginal: 75}
	scopes := map[string]ScopePair{"default": {}}
	withScope := CanaryConfig{Metrics: []MetricConfig{metricCfg("cpu", nil)}}
	noScope := CanaryConfig{Metrics: []MetricConfig{{Name: "cpu"}}}
	tests := []struct {
		name string
		cfg  CanaryConfig
		req  ExecutionRequest
		want string // "" = valid
	}{
		{"valid", withScope, ExecutionRequest{Scopes: scopes, Thresholds: th}, ""},
		{"no metrics", CanaryConfig{}, ExecutionRequest{Scopes: scopes, Thresholds: th}, "at least one metric"},
		{"no scopes", withScope, ExecutionRequest{Thresholds: th}, "no scopes were provided"},
		{"missing scope", withScope, ExecutionRequest{Scopes: map[string]ScopePair{"other": {}}, Thresholds: th}, "not provided in the execution request: [default]"},
		{"no thresholds", withScope, ExecutionRequest{Scopes: scopes}, "must contain thresholds"},
		{"metric without scope", noScope, ExecutionRequest{Scopes: scopes, Thresholds: th}, "Canary scope for metric named 'cpu' is null."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateExecutionRequest(tt.cfg, tt.req)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCanaryDuration(t *testing.T) {
	sc := func(start, end string) CanaryScope { return CanaryScope{Start: start, End: end} }
	same := ExecutionRequest{Scopes: map[string]ScopePair{"default": {
		ControlScope:    sc("2024-01-01T00:00:00Z", "2024-01-01T01:30:00Z"),
		ExperimentScope: sc("2024-01-01T00:00:00Z", "2024-01-01T01:30:00Z")}}}
	if got := CanaryDuration(same); got != "PT1H30M" {
		t.Errorf("CanaryDuration = %q, want PT1H30M", got)
	}
	differ := ExecutionRequest{Scopes: map[string]ScopePair{"default": {
		ControlScope:    sc("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"),
		ExperimentScope: sc("2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z")}}}
	if got := CanaryDuration(differ); got != "" {
		t.Errorf("CanaryDuration of differing scopes = %q, want \"\"", got)
	}
	for d, want := range map[time.Duration]string{0: "PT0S", time.Hour: "PT1H", 90 * time.Second: "PT1M30S", 500 * time.Millisecond: "PT0.5S"} {
		if got := ISODuration(d); got != want {
			t.Errorf("ISODuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestConfigJSONDefaults(t *testing.T) {
	b, err := json.Marshal(CanaryConfig{Name: "c", Metrics: []MetricConfig{{Name: "m", Query: QueryConfig{Type: "prometheus"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"groups":[]`, `"groupWeights":{}`, `"query":{"type":"prometheus"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
