package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis/store"
)

// invoke runs the CLI in-process, with nothing on standard input, and
// returns its exit code and output.
func invoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return invokeWithInput(t, "", args...)
}

// invokeWithInput runs the CLI in-process with the file stdin (none for
// "") on standard input.
func invokeWithInput(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var in io.Reader = strings.NewReader("")
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		in = f
	}
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, in, &out, &errOut)
	return code, out.String(), errOut.String()
}

// write creates a file in dir and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// series writes n points per signal into a CSV file, value(i) for point i.
func series(t *testing.T, dir, name string, n int, signals map[string]func(i int) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("signal,value\n")
	for sig, value := range signals {
		for i := range n {
			b.WriteString(sig + "," + value(i) + "\n")
		}
	}
	return write(t, dir, name, b.String())
}

const twoSignals = `name: shop
signals:
  - name: latency
    direction: increase
    allowedChange: 10%
  - name: errors
    test: rate
    direction: increase
`

func flat(v string) func(int) string { return func(int) string { return v } }

func TestJudgeExitCodes(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "shop.yaml", twoSignals)
	num := func(base, step int) func(int) string {
		return func(i int) string { return jsonNumber(float64(base + (i*step)%17)) }
	}
	base := series(t, dir, "base.csv", 60, map[string]func(int) string{"latency": num(100, 7), "errors": flat("0")})
	same := series(t, dir, "same.csv", 60, map[string]func(int) string{"latency": num(100, 5), "errors": flat("0")})
	slow := series(t, dir, "slow.csv", 60, map[string]func(int) string{"latency": num(160, 7), "errors": flat("0")})
	short := series(t, dir, "short.csv", 4, map[string]func(int) string{"latency": num(100, 7), "errors": flat("0")})

	tests := []struct {
		name    string
		canary  string
		code    int
		verdict string
	}{
		{"healthy canary passes", same, 0, "pass"},
		{"slow canary fails", slow, 1, "fail"},
		{"too little data is no verdict", short, 3, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := invoke(t, "judge", "--config", cfg, "--baseline", base, "--canary", tt.canary, "--format", "json")
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			var rep struct {
				Schema, Verdict string
				Signals         []struct{ Name, Classification string }
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if rep.Schema != "verdict/report/v1" || rep.Verdict != tt.verdict || len(rep.Signals) != 2 {
				t.Errorf("report %+v, want verdict %s with 2 signals", rep, tt.verdict)
			}
		})
	}

	t.Run("table and output file", func(t *testing.T) {
		out := filepath.Join(dir, "report.txt")
		code, stdout, _ := invoke(t, "judge", "--config", cfg, "--baseline", base, "--canary", slow, "--output", out)
		if code != 1 || stdout != "" {
			t.Fatalf("exit %d, stdout %q", code, stdout)
		}
		text, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(text), "shop: ✘ FAIL") || !strings.Contains(string(text), "latency rose") {
			t.Errorf("report file: %v\n%s", err, text)
		}
	})
}

func jsonNumber(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBadInput checks that every kind of bad input ends in one clear
// sentence on stderr and the exit code of its class, never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "shop.yaml", twoSignals)
	good := func(i int) string { return jsonNumber(float64(100 + i%9)) }
	base := series(t, dir, "base.csv", 30, map[string]func(int) string{"latency": good, "errors": flat("0")})
	tests := []struct {
		name string
		args []string
		code int
		want string // fragment of the one-line message
	}{
		{"malformed YAML", []string{"--config", write(t, dir, "bad.yaml", "signals: [\n"), "--baseline", base, "--canary", base}, 65, "bad.yaml line"},
		{"unknown key", []string{"--config", write(t, dir, "typo.yaml", "signals:\n  - name: latency\n    critcal: true\n"), "--baseline", base, "--canary", base}, 65, `typo.yaml line 3: signals[0]: unknown key "critcal"; did you mean "critical"?`},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml"), "--baseline", base, "--canary", base}, 65, "nope.yaml: the config file does not exist"},
		{"missing series file", []string{"--config", cfg, "--baseline", filepath.Join(dir, "nope.csv"), "--canary", base}, 65, "nope.csv"},
		{"non-numeric value", []string{"--config", cfg, "--baseline", base, "--canary", write(t, dir, "abc.csv", "signal,value\nlatency,12\nlatency,abc\nerrors,0\n")}, 65, "abc.csv line 3"},
		{"infinite value", []string{"--config", cfg, "--baseline", base, "--canary", write(t, dir, "inf.csv", "signal,value\nlatency,+Inf\nerrors,0\n")}, 65, "inf.csv line 2"},
		{"empty series", []string{"--config", cfg, "--baseline", base, "--canary", write(t, dir, "empty.json", `{"latency": [], "errors": [0]}`)}, 65, "empty.json"},
		{"signal in data, not in config", []string{"--config", cfg, "--baseline", base, "--canary", write(t, dir, "extra.csv", "signal,value\nlatency,1\nerrors,0\ncpu,3\n")}, 65, `extra.csv: signal "cpu" is not in the config shop.yaml`},
		{"signal in config, in neither file", []string{"--config", write(t, dir, "more.yaml", twoSignals+"  - name: cpu\n"), "--baseline", base, "--canary", base}, 65, `base.csv and base.csv: no series for signal "cpu" of the config more.yaml`},
		{"unknown extension", []string{"--config", cfg, "--baseline", base, "--canary", write(t, dir, "data.txt", "x")}, 65, "data.txt"},
		{"missing flag", []string{"--config", cfg, "--baseline", base}, 64, "verdict judge needs --canary"},
		{"unknown flag", []string{"--config", cfg, "--bogus"}, 64, "unknown flag: --bogus"},
		{"bad format", []string{"--config", cfg, "--baseline", base, "--canary", base, "--format", "xml"}, 64, `--format: "xml" is not an output format`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, append([]string{"judge"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if !strings.HasPrefix(first, "verdict: ") || !strings.Contains(first, tt.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("bad input wrote a report: %q", stdout)
			}
		})
	}
}

func TestValidateAndVersion(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := invoke(t, "validate", "--config", write(t, dir, "shop.yaml", twoSignals))
	if code != 0 || !strings.Contains(out, "2 signals in 1 group,") {
		t.Errorf("validate: exit %d, out %q, err %q", code, out, errOut)
	}
	code, _, errOut = invoke(t, "validate", "--config", write(t, dir, "bad.yaml", "signals:\n  - name: a\n    test: ttest\n"))
	if code != 65 || !strings.Contains(errOut, `bad.yaml line 3: signals[0].test: "ttest" is not a test`) {
		t.Errorf("validate bad: exit %d, err %q", code, errOut)
	}
	code, out, _ = invoke(t, "version")
	if code != 0 || !strings.HasPrefix(out, "verdict ") {
		t.Errorf("version: exit %d, out %q", code, out)
	}
	code, _, errOut = invoke(t, "frobnicate")
	if code != 64 {
		t.Errorf("unknown command: exit %d, err %q", code, errOut)
	}
}

func TestValidateRendersQueries(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "live.yaml", "signals:\n  - name: p99\n    query: 'max(p99{track=\"{{.track}}\", ns=\"{{.ns}}\"})'\n")
	code, out, errOut := invoke(t, "validate", "--config", cfg, "--baseline-scope", "track=baseline,ns=shop", "--canary-scope", `track=canary"} or vector(1),ns=shop`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`baseline: max(p99{track="baseline", ns="shop"})`, `canary:   max(p99{track="canary\"} or vector(1)", ns="shop"})`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = invoke(t, "validate", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary")
	if code != 65 || !strings.Contains(errOut, "live.yaml line 3: signals[0].query") || !strings.Contains(errOut, "{{.ns}}") {
		t.Errorf("a scope without ns: exit %d, %q", code, errOut)
	}
	if strings.Contains(out, "is valid") {
		t.Errorf("validate said %q before failing", out)
	}
}

// TestValidateRendersCounts: {{.step}} renders (1m unless --step), and a
// count signal's exposure query is rendered beside its events.
func TestValidateRendersCounts(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "counts.yaml", "signals:\n  - name: error_ratio\n    test: rate\n    query: 'sum(increase(errors{track=\"{{.track}}\"}[{{.step}}]))'\n    exposureQuery: 'sum(increase(requests{track=\"{{.track}}\"}[{{.step}}]))'\n")
	code, out, errOut := invoke(t, "validate", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`baseline: sum(increase(errors{track="baseline"}[1m]))`, `canary exposureQuery:   sum(increase(requests{track="canary"}[1m]))`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = invoke(t, "validate", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary", "--step", "30s")
	if code != 0 || !strings.Contains(out, "[30s]") {
		t.Errorf("--step 30s: exit %d:\n%s", code, out)
	}
	rate := write(t, dir, "rate.yaml", "signals:\n  - name: errors\n    test: rate\n    query: 'sum(rate(errors{track=\"{{.track}}\"}[5m]))'\n")
	code, _, errOut = invoke(t, "validate", "--config", rate)
	if code != 65 || !strings.Contains(errOut, "rate() gives per-second rates, not counts: use increase(...[{{.step}}])") {
		t.Errorf("a count signal with rate(): exit %d, %q", code, errOut)
	}
}

// TestJudgeRecords checks that --db stores the analysis with its report and
// series, where verdict serve will list it.
func TestJudgeRecords(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "shop.yaml", twoSignals)
	num := func(base int) func(int) string {
		return func(i int) string { return jsonNumber(float64(base + (i*7)%17)) }
	}
	base := series(t, dir, "base.csv", 60, map[string]func(int) string{"latency": num(100), "errors": flat("0")})
	slow := series(t, dir, "slow.csv", 60, map[string]func(int) string{"latency": num(160), "errors": flat("0")})
	db := "sqlite:" + filepath.Join(dir, "verdict.db")
	code, _, errOut := invoke(t, "judge", "--config", cfg, "--baseline", base, "--canary", slow, "--db", db)
	if code != exitFail || !strings.Contains(errOut, "recorded as analysis") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.ListAnalyses(context.Background(), store.Filter{Config: "shop"})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored analyses %+v, %v; want one for config shop", list, err)
	}
	a, err := st.GetAnalysis(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.Finished || a.Verdict != "fail" || a.Origin != "cli" || !strings.Contains(string(a.Report), `"verdict/report/v1"`) || len(store.DecodeSeries(a.Series)) != 2 {
		t.Errorf("stored analysis: status %s verdict %s origin %s, report %d bytes, %d series", a.Status, a.Verdict, a.Origin, len(a.Report), len(store.DecodeSeries(a.Series)))
	}
	code, out, errOut := invoke(t, "judge", "--config", cfg, "--baseline", base, "--canary", slow, "--db", "mysql://x")
	if code != exitUsage || !strings.Contains(errOut, "--db") || out != "" {
		t.Errorf("a bad --db: exit %d, %q, output %q; want a usage error before judging", code, errOut, out)
	}
}

// TestAnalyzeBounds asks `verdict analyze` for more than a live analysis
// may: each request is refused before any query with exit 65 and one
// sentence naming the flag.
func TestAnalyzeBounds(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "live.yaml", "signals:\n  - name: latency\n    query: 'up{track=\"{{.track}}\"}'\n")
	common := []string{"analyze", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary", "--prometheus-url", "http://127.0.0.1:1"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lifetime", "2562047h", "--interval", "1h"}, "verdict: --lifetime: 2562047h0m0s is longer than the longest lifetime, 168h0m0s (7 days)"},
		{[]string{"--lifetime", "1h", "--interval", "1ns"}, "verdict: --interval: 1ns makes 3600000000000 judgements over the lifetime of 1h0m0s, more than 1000; make it at least 4s"},
		{[]string{"--lookback", "1h", "--step", "1ns"}, "verdict: --step: 1ns is finer than the finest step, 1s"},
		{[]string{"--lookback", "24h", "--step", "1s"}, "verdict: --step: 1s asks 86400 points per query over a window of 24h0m0s, more than 11000; make it at least 8s or the window shorter"},
	} {
		code, stdout, stderr := invoke(t, append(common, tc.args...)...)
		if code != exitData || strings.TrimSpace(stderr) != tc.want || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitData, tc.want)
		}
	}
}

// TestScopeFlags: a scope that a query would not read as meant is a usage
// error naming the flag and saying why, before anything is judged.
func TestScopeFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "live.yaml", "signals:\n  - name: p99\n    query: 'max(p99{scenario=\"{{.scenario}}\", track=\"{{.track}}\"})'\n")
	tests := []struct {
		name, flag, value, want string
	}{
		{"empty value", "--canary-scope", "scenario=healthy,track=", "--canary-scope: track has an empty value, which in PromQL and LogQL matches the series without a track label"},
		{"quoted value", "--baseline-scope", `scenario="healthy",track=baseline`, `--baseline-scope: the value of scenario, "healthy", is quoted; write it bare (scenario=healthy)`},
		{"a selector", "--canary-scope", `{scenario="healthy",track="canary"}`, "--canary-scope: \"{scenario=\\\"healthy\\\",track=\\\"canary\\\"}\" is a label selector"},
		{"a key that is no variable", "--canary-scope", "scenario=healthy,track!=baseline", `--canary-scope: key "track!" is not a template variable name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := map[string]string{"--baseline-scope": "scenario=healthy,track=baseline", "--canary-scope": "scenario=healthy,track=canary"}
			args[tt.flag] = tt.value
			for _, cmd := range [][]string{
				{"validate", "--config", cfg},
				{"analyze", "--config", cfg, "--lookback", "1h", "--prometheus-url", "http://127.0.0.1:1"},
			} {
				code, stdout, stderr := invoke(t, append(cmd, "--baseline-scope", args["--baseline-scope"], "--canary-scope", args["--canary-scope"])...)
				if code != exitUsage || !strings.Contains(stderr, tt.want) || stdout != "" {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want 64 and %q", cmd[0], code, stdout, stderr, tt.want)
				}
			}
		})
	}
}
