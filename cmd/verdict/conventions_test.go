package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestUsageErrors: usage errors say what is wrong in one line, suggest the
// command a typo was close to, report every missing flag at once, and point
// to the help of the command that was run.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want, hint string
	}{
		{"a typo of a command", []string{"jugde"}, `unknown command "jugde" for verdict; did you mean judge?`, "Run 'verdict --help' for usage."},
		{"a prefix", []string{"ana", "--config", "x"}, `unknown command "ana" for verdict; did you mean analyze?`, "Run 'verdict --help' for usage."},
		{"no resemblance", []string{"frobnicate"}, `unknown command "frobnicate" for verdict`, "Run 'verdict --help' for usage."},
		{"every missing flag at once", []string{"judge"}, "verdict judge needs --config, --baseline and --canary", "Run 'verdict judge --help' for usage."},
		{"two missing", []string{"analyze", "-c", "x.yaml"}, "verdict analyze needs --baseline-scope and --canary-scope", "Run 'verdict analyze --help' for usage."},
		{"an unknown flag", []string{"validate", "--bogus"}, "unknown flag: --bogus", "Run 'verdict validate --help' for usage."},
		{"a bad flag value", []string{"serve", "--lease", "soon"}, `invalid argument "soon" for "--lease" flag`, "Run 'verdict serve --help' for usage."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, tt.args...)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code != exitUsage || len(lines) != 2 || !strings.Contains(lines[0], tt.want) || lines[1] != tt.hint || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 64, %q and %q", code, stdout, stderr, tt.want, tt.hint)
			}
			if strings.Contains(tt.name, "no resemblance") && strings.Contains(stderr, "did you mean") {
				t.Errorf("a suggestion for a word like no command: %q", stderr)
			}
		})
	}
}

// TestFormatCompletion: the shell completes --format's values.
func TestFormatCompletion(t *testing.T) {
	for _, cmd := range []string{"judge", "analyze"} {
		code, out, _ := invoke(t, "__complete", cmd, "--format", "")
		got := strings.Fields(strings.Split(out, ":")[0])
		if code != 0 || !slices.Equal(got, []string{"table", "json", "markdown", "html"}) {
			t.Errorf("completing %s --format: exit %d, %q", cmd, code, out)
		}
	}
}

// exampleCommand is one command line of a help's Examples: its arguments
// after "verdict", and the file a `cat FILE |` before it feeds it.
type exampleCommand struct {
	line  string
	args  []string
	stdin string
}

// examples reads the command lines of an Examples section: lines continued
// with a backslash are joined, comments and blank lines skipped, a
// "> FILE" redirection dropped.
func examples(t *testing.T, text string) []exampleCommand {
	t.Helper()
	var out []exampleCommand
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ex := exampleCommand{line: line}
		if before, after, ok := strings.Cut(line, "|"); ok {
			fields := strings.Fields(before)
			if len(fields) != 2 || fields[0] != "cat" {
				t.Fatalf("example %q: only `cat FILE | verdict ...` pipes are understood", line)
			}
			ex.stdin, line = fields[1], after
		}
		line, _, _ = strings.Cut(line, ">")
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "verdict" {
			t.Fatalf("example %q does not run verdict", ex.line)
		}
		for _, f := range fields {
			if strings.ContainsAny(f, `"'$`) {
				t.Fatalf("example %q: quotes and variables are not understood here", ex.line)
			}
		}
		ex.args = fields[1:]
		out = append(out, ex)
	}
	return out
}

// TestExamples: every command's help has Examples, every example parses
// (its command exists, its flags are the command's and its values parse),
// and the offline ones (judge, validate, version) run as written from the
// repository's root: they end with a verdict, never a usage or data error.
func TestExamples(t *testing.T) {
	root := newRootCommand(io.Discard)
	fixtures, err := filepath.Abs(fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(fixtures, filepath.Join(dir, "fixtures")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // so that -o report.html lands in the temporary directory
	runnable := map[string]bool{"judge": true, "validate": true, "version": true}
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			exs := examples(t, c.Example)
			if len(exs) == 0 {
				t.Fatalf("verdict %s --help has no Examples", c.Name())
			}
			for _, ex := range exs {
				fresh := newRootCommand(io.Discard)
				fresh.InitDefaultVersionFlag() // as Execute does
				found, rest, err := fresh.Find(ex.args)
				if err != nil || found == fresh && !strings.HasPrefix(ex.args[0], "-") {
					t.Errorf("example %q: no such command (%v)", ex.line, err)
					continue
				}
				if err := found.ParseFlags(rest); err != nil {
					t.Errorf("example %q: %v", ex.line, err)
					continue
				}
				if err := found.ValidateArgs(found.Flags().Args()); err != nil {
					t.Errorf("example %q: %v", ex.line, err)
				}
				if !runnable[found.Name()] || found.Name() != c.Name() && found != fresh {
					continue
				}
				code, _, stderr := invokeWithInput(t, ex.stdin, ex.args...)
				if code >= exitUsage {
					t.Errorf("example %q: exit %d: %s", ex.line, code, stderr)
				}
			}
		})
	}
}
