package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/judge/stat"
	"github.com/verdict-aca/verdict/scoring"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func f(v float64) *float64 { return &v }

// sample is a report built by hand, so the renderers are tested apart from the judge.
func sample() *analysis.Report {
	base := stat.Summary{Count: 360, Mean: 131.2, Median: 120.5, StdDev: 40.1, Min: 61, Max: 402, P90: 180, P95: 210, P99: 330}
	slow := stat.Summary{Count: 360, Mean: 170.9, Median: 158.2, StdDev: 52.3, Min: 80, Max: 530, P90: 240, P95: 281, P99: 431}
	return &analysis.Report{
		Schema: analysis.ReportSchema, Name: "checkout", Judge: analysis.JudgeVerdict,
		Verdict: scoring.Fail, Score: f(0),
		Reason:     "fail: critical signal p99_latency_ms failed: p99_latency_ms rose 31% (95% CI +26% .. +36%); allowed +10%, critical beyond +25%",
		Thresholds: scoring.Thresholds{Pass: 95, Marginal: 75},
		Groups: []scoring.GroupScore{
			{Name: "latency", Weight: 60, Score: f(0), Signals: []string{"p99_latency_ms"}},
			{Name: "errors", Weight: 40, Score: f(100), Signals: []string{"errors", "error_ratio"}},
			{Name: "saturation", Weight: 10, Signals: []string{"cpu_percent"}},
		},
		Signals: []judge.Result{
			{Name: "p99_latency_ms", Group: "latency", Classification: judge.High, Failed: true, CriticalFailure: true, Gate: judge.GateCriticalChange,
				Reason: "p99_latency_ms rose 31% (95% CI +26% .. +36%); allowed +10%, critical beyond +25%", Baseline: base, Canary: slow,
				Test: &judge.TestResult{Method: judge.MannWhitney, PValue: f(1e-12), Estimate: f(37.4), CILow: f(31.3), CIHigh: f(43.4), Confidence: 0.95, RelativeShift: f(0.3104), Allowed: f(0.1), CriticalAllowed: f(0.25), DecisionBound: f(0.2598)}},
			{Name: "errors", Group: "errors", Classification: judge.Pass, Gate: judge.GateInterval, Critical: true,
				Reason:   "errors rate went from 0.01 to 0.01389 per interval (+38.9%, 95% CI ratio 0.5 .. 3.9); not a significant change",
				Baseline: stat.Summary{Count: 360, Mean: 0.01, Max: 1, P99: 1}, Canary: stat.Summary{Count: 360, Mean: 0.01389, Max: 1, P99: 1},
				Test: &judge.TestResult{Method: judge.Rate, PValue: f(0.74), Estimate: f(0.00389), Confidence: 0.95, RelativeShift: f(0.389), BaselineRate: f(0.01), CanaryRate: f(0.01389), RateRatio: f(1.389), RatioLow: f(0.5), RatioHigh: f(3.9)}},
			{Name: "error_ratio", Group: "errors", Classification: judge.Pass, Gate: judge.GateThreshold,
				Reason: "error_ratio canary p95 0.004 is within the maximum 0.01", Baseline: base, Canary: base,
				Test: &judge.TestResult{Method: judge.Threshold, Estimate: f(0.004), Statistic: judge.StatP95, Max: f(0.01)}},
			{Name: "cpu_percent", Group: "saturation", Classification: judge.NoData, Gate: judge.GateMinSamples,
				Reason: "cpu_percent has too little data: 360 baseline and 4 canary points, 10 needed on each side", Baseline: base},
		},
		Warnings: []string{"query for cpu_percent returned fewer points than the window holds"},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it):\n%s", name, got)
	}
}

func TestTableGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), Table); err != nil {
		t.Fatal(err)
	}
	golden(t, "checkout.table.golden", b.Bytes())
}

// TestJSONContract checks the verdict/report/v1 field names the design fixes.
func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), JSON); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	requireKeys(t, "report", doc, "schema", "name", "judge", "verdict", "score", "reason", "thresholds", "groups", "signals")
	requireKeys(t, "thresholds", doc["thresholds"].(map[string]any), "pass", "marginal")
	group := doc["groups"].([]any)[0].(map[string]any)
	requireKeys(t, "group", group, "name", "weight", "score", "signals")
	if s := doc["groups"].([]any)[2].(map[string]any)["score"]; s != nil {
		t.Errorf("a group without judged signals has score %v, want null", s)
	}
	sig := doc["signals"].([]any)[0].(map[string]any)
	requireKeys(t, "signal", sig, "name", "group", "classification", "critical", "criticalFailure", "reason", "baseline", "canary", "test")
	requireKeys(t, "baseline", sig["baseline"].(map[string]any), "count", "mean", "median", "stddev", "min", "max", "p90", "p95", "p99")
	requireKeys(t, "test", sig["test"].(map[string]any), "method", "pValue", "estimate", "ciLow", "ciHigh", "confidence", "relativeShift")
	if doc["schema"] != "verdict/report/v1" || doc["verdict"] != "fail" || doc["score"] != 0.0 {
		t.Errorf("schema %v verdict %v score %v", doc["schema"], doc["verdict"], doc["score"])
	}
	if noData := doc["signals"].([]any)[3].(map[string]any); noData["test"] != nil {
		t.Errorf("a nodata signal has a test block %v, want null", noData["test"])
	}
}

func requireKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			have := make([]string, 0, len(m))
			for h := range m {
				have = append(have, h)
			}
			slices.Sort(have)
			t.Errorf("%s lacks %q (has %v)", what, k, have)
		}
	}
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat("json"); err != nil || f != JSON {
		t.Errorf("json: %v %v", f, err)
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

// TestJSONContractQuantile checks the test block of a quantile signal in
// the verdict/report/v1 JSON: method "quantile", the quantile, both sides'
// quantiles, the pooled threshold, the counts above it and the p-values.
func TestJSONContractQuantile(t *testing.T) {
	base := make([]float64, 300)
	for i := range base {
		base[i] = float64(i + 1)
	}
	canary := slices.Clone(base[:290])
	for i := range 10 {
		canary = append(canary, float64(1000+i))
	}
	res := judge.Judge(judge.Spec{Name: "latency_p99", Test: judge.Quantile, Direction: judge.Increase}, base, canary, judge.Options{})
	rep := &analysis.Report{Schema: analysis.ReportSchema, Name: "checkout", Judge: analysis.JudgeVerdict,
		Verdict: scoring.Fail, Score: f(0), Reason: res.Reason, Thresholds: scoring.Thresholds{Pass: 95, Marginal: 75},
		Signals: []judge.Result{res}}
	var b bytes.Buffer
	if err := Write(&b, rep, JSON); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Signals []struct {
			Test map[string]any `json:"test"`
		} `json:"signals"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	test := doc.Signals[0].Test
	requireKeys(t, "quantile test", test, "method", "quantile", "baselineQuantile", "canaryQuantile", "threshold",
		"baselineAbove", "canaryAbove", "expectedAbove", "pValue", "decisionPValue", "decisionLevel", "estimate", "relativeShift", "confidence")
	// Pooled p99 of 1..290 twice, 291..300 and 1000..1009: 1003.01; the
	// canary's 6 points above it, none of the baseline's, 3 expected.
	if test["method"] != "quantile" || test["quantile"] != 0.99 || test["canaryAbove"] != 6.0 || test["baselineAbove"] != 0.0 || test["expectedAbove"] != 3.0 {
		t.Errorf("quantile test block %v", test)
	}
	var table bytes.Buffer
	if err := Write(&table, rep, Table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p99 297", "p99 1006", "unbounded", "6 of 300 canary points above the pooled p99"} {
		if !bytes.Contains(table.Bytes(), []byte(want)) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}
