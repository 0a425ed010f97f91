package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const kayentaTestdata = "../../kayenta/kayentaimport/testdata"

func TestImportKayenta(t *testing.T) {
	tests := []struct {
		file       string
		code       int
		stderrHas  []string
		goldenYAML bool
	}{
		{"prometheus-inline.json", exitPass, nil, true},
		{"label-bindings.json", exitPass, []string{"label-bindings.json: classifier.groupWeights: note:"}, true},
		{"mixed-sources.json", exitData, []string{`metrics[1] "datadog_errors": query.customFilter: not converted`, "converted only in part"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, stdout, stderr := invoke(t, "import-kayenta", filepath.Join(kayentaTestdata, tt.file))
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			want, err := os.ReadFile(filepath.Join(kayentaTestdata, strings.TrimSuffix(tt.file, ".json")+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if stdout != string(want) {
				t.Errorf("stdout is not the golden YAML:\n%s", stdout)
			}
		})
	}
}

func TestImportKayentaBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"import-kayenta"}, exitUsage, "accepts 1 arg"},
		{[]string{"import-kayenta", filepath.Join(dir, "missing.json")}, exitData, "missing.json"},
		{[]string{"import-kayenta", write(t, dir, "bad.json", `{"name": `)}, exitData, "bad.json: not valid JSON"},
		{[]string{"import-kayenta", write(t, dir, "empty.json", `{"name": "x", "metrics": []}`)}, exitData, "empty.json: metrics: not a Kayenta canary config"},
	}
	for _, tt := range tests {
		code, stdout, stderr := invoke(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tt.args, code, stdout, stderr, tt.code, tt.msg)
		}
	}
}

// TestImportKayentaThenJudge converts a Kayenta config and judges series
// files with the result: the critical latency signal regresses beyond its
// criticalIncrease, so Kayenta's critical rule fails the canary.
func TestImportKayentaThenJudge(t *testing.T) {
	dir := t.TempDir()
	code, yaml, stderr := invoke(t, "import-kayenta", filepath.Join(kayentaTestdata, "prometheus-inline.json"))
	if code != exitPass {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	cfg := write(t, dir, "checkout.yaml", yaml)
	value := func(base, scale float64) func(int) string {
		return func(i int) string { return strconv.FormatFloat(scale*(base+float64(i%13)), 'f', -1, 64) }
	}
	signals := func(p99Scale float64) map[string]func(int) string {
		return map[string]func(int) string{
			"p99_latency_ms": value(200, p99Scale),
			"p50_latency_ms": value(50, 1),
			"5xx_rate":       value(0, 0.01),
		}
	}
	baseline := series(t, dir, "baseline.csv", 60, signals(1))
	same := series(t, dir, "same.csv", 60, signals(1))
	slow := series(t, dir, "slow.csv", 60, signals(2))

	if code, out, stderr := invoke(t, "judge", "--config", cfg, "--baseline", baseline, "--canary", same, "--format", "json"); code != exitPass || !strings.Contains(out, `"judge": "kayenta"`) {
		t.Errorf("same data: exit %d, stderr %s\n%s", code, stderr, out)
	}
	code, out, stderr := invoke(t, "judge", "--config", cfg, "--baseline", baseline, "--canary", slow, "--format", "json")
	if code != exitFail || !strings.Contains(out, `"gate": "criticalEffectSize"`) || !strings.Contains(out, `"score": 0`) {
		t.Errorf("slow canary: exit %d, stderr %s\n%s", code, stderr, out)
	}
}
