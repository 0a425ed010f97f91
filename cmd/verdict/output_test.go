package main

import (
	"os"
	"strings"
	"testing"
)

// TestOutputSetsFormat: --output's extension sets the report's format; a
// format's name given as --output, an extension that contradicts --format
// and an unknown extension without --format are usage errors (64) that
// write nothing.
func TestOutputSetsFormat(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // a bare --output lands here, never in the package
	cfg := write(t, dir, "shop.yaml", twoSignals)
	num := func(base int) func(int) string {
		return func(i int) string { return jsonNumber(float64(base + (i*7)%17)) }
	}
	base := series(t, dir, "base.csv", 60, map[string]func(int) string{"latency": num(100), "errors": flat("0")})
	slow := series(t, dir, "slow.csv", 60, map[string]func(int) string{"latency": num(160), "errors": flat("0")})
	formats := map[string]string{ // how each format's text starts
		"json":     "{\n  \"schema\": \"verdict/report/v1\"",
		"html":     "<!DOCTYPE html>",
		"markdown": "### ✘ shop: **FAIL**",
		"table":    "shop: ✘ FAIL",
	}
	tests := []struct {
		name   string
		output string // a file name in dir, or "-"
		format string // --format, or "" for none
		want   string // the format written, or "" for a usage error
		err    string // fragment of the usage error
	}{
		{name: ".json", output: "report.json", want: "json"},
		{name: ".html", output: "report.html", want: "html"},
		{name: ".htm, any case", output: "REPORT.HTM", want: "html"},
		{name: ".md", output: "report.md", want: "markdown"},
		{name: ".markdown", output: "report.markdown", want: "markdown"},
		{name: ".txt", output: "report.txt", want: "table"},
		{name: "no extension", output: "report", want: "table"},
		{name: "no extension, --format", output: "report", format: "json", want: "json"},
		{name: "agreeing --format", output: "report.json", format: "json", want: "json"},
		{name: "unknown extension with --format", output: "report.log", format: "table", want: "table"},
		{name: "standard output", output: "-", format: "markdown", want: "markdown"},
		{name: "a format word", output: "json", err: `--output json would write the report to a file named "json"; --output takes a file name (its extension sets the format), --format the format: --format json`},
		{name: "another format word", output: "md", err: "--format markdown"},
		{name: "a contradiction", output: "report.html", format: "json", err: "--format json contradicts --output report.html, whose extension says html"},
		{name: "unknown extension", output: "report.pdf", err: ".pdf is not a report extension (.json, .md, .markdown, .html, .htm, .txt, .text); give --format to write that file anyway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.output
			args := []string{"judge", "--config", cfg, "--baseline", base, "--canary", slow, "-o", out}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			code, stdout, stderr := invoke(t, args...)
			if tt.want == "" {
				if code != exitUsage || !strings.Contains(stderr, tt.err) || stdout != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want 64 and %q", code, stdout, stderr, tt.err)
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a usage error wrote %s", out)
				}
				return
			}
			if code != exitFail {
				t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
			}
			text := stdout
			if out != "-" {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				text = string(b)
				os.Remove(out)
			}
			if !strings.HasPrefix(text, formats[tt.want]) {
				t.Errorf("the report does not start as %s does (%q):\n%.200s", tt.want, formats[tt.want], text)
			}
		})
	}
}
