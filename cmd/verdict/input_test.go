package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStdin: - reads a config or a series file from standard input (a
// series as JSON when it starts with {, else CSV), errors name "standard
// input", and only one flag may read it.
func TestStdin(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "shop.yaml", twoSignals)
	num := func(base int) func(int) string {
		return func(i int) string { return jsonNumber(float64(base + (i*7)%17)) }
	}
	base := series(t, dir, "base.csv", 60, map[string]func(int) string{"latency": num(100), "errors": flat("0")})
	slow := series(t, dir, "slow.csv", 60, map[string]func(int) string{"latency": num(160), "errors": flat("0")})
	slowJSON := map[string][]float64{"latency": {}, "errors": {}}
	for i := range 60 {
		slowJSON["latency"] = append(slowJSON["latency"], float64(160+(i*7)%17))
		slowJSON["errors"] = append(slowJSON["errors"], 0)
	}
	text, err := json.Marshal(slowJSON)
	if err != nil {
		t.Fatal(err)
	}
	slowJSONFile := write(t, dir, "slow.data", "\n  "+string(text))
	badCSV := write(t, dir, "bad.data", "signal,value\nlatency,12\nlatency,abc\nerrors,0\n")
	badConfig := write(t, dir, "bad.data.yaml", "signals:\n  - name: a\n    test: ttest\n")

	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // fragment of standard output
		stderr string // fragment of standard error
	}{
		{"the canary's CSV", slow, []string{"judge", "--config", cfg, "--baseline", base, "--canary", "-"}, exitFail, "latency rose", ""},
		{"the canary's JSON", slowJSONFile, []string{"judge", "--config", cfg, "--baseline", base, "--canary", "-"}, exitFail, "latency rose", ""},
		{"the config", cfg, []string{"judge", "-c", "-", "--baseline", base, "--canary", slow}, exitFail, "shop: ✘ FAIL", ""},
		{"validate the config", cfg, []string{"validate", "-c", "-"}, 0, "standard input is valid: 2 signals in 1 group", ""},
		{"a series error", badCSV, []string{"judge", "--config", cfg, "--baseline", base, "--canary", "-"}, exitData, "", "verdict: standard input line 3"},
		{"a config error", badConfig, []string{"validate", "--config", "-"}, exitData, "", `verdict: standard input line 3: signals[0].test: "ttest" is not a test`},
		{"two readers", cfg, []string{"judge", "-c", "-", "--baseline", base, "--canary", "-"}, exitUsage, "",
			"verdict: only one of --config, --baseline and --canary can read standard input (-); --config and --canary do"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := invokeWithInput(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %.300q, stderr %q; want %d, %q and %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
