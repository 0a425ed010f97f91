package doctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Result is what a command did.
type Result struct {
	Exit           int
	Stdout, Stderr string
}

// Run runs a command with bash in dir, with the environment env (nil: the
// process's), and returns what it did. An error is a command that could
// not run at all (no bash, a cancelled context), not a non-zero exit.
func Run(ctx context.Context, dir string, env []string, command string) (Result, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		r.Exit = exit.ExitCode()
	default:
		return r, fmt.Errorf("run %q: %w", command, err)
	}
	return r, nil
}

// Rewrite replaces each documented address in a command by the one in use.
func Rewrite(command string, addrs map[string]string) string {
	pairs := make([]string, 0, 2*len(addrs))
	for from, to := range addrs {
		pairs = append(pairs, from, to)
	}
	return strings.NewReplacer(pairs...).Replace(command)
}

// verdictExit is the verdict CLI's exit code of each verdict.
var verdictExit = map[string]int{"pass": 0, "fail": 1, "marginal": 2, "none": 3}

// answer is what a command printed: an HTTP head (curl -i) and a JSON
// object, when there are.
type answer struct {
	status  int    // 0: no HTTP head
	verdict string // the JSON's top-level "verdict"
	err     string // the JSON's top-level "error"
	isJSON  bool
}

// readAnswer reads a command's output: an HTTP head (skipping 1xx heads),
// then a JSON object.
func readAnswer(out string) answer {
	var a answer
	body := out
	for strings.HasPrefix(body, "HTTP/") {
		head, rest, _ := strings.Cut(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n")
		fields := strings.Fields(head)
		if len(fields) >= 2 {
			a.status, _ = strconv.Atoi(fields[1])
		}
		body = rest
		if a.status >= 200 {
			break
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &obj); err == nil {
		a.isJSON = true
		_ = json.Unmarshal(obj["verdict"], &a.verdict)
		_ = json.Unmarshal(obj["error"], &a.err)
	}
	return a
}

// isVerdictCLI reports whether a command runs the verdict CLI, whose exit
// code is the verdict.
func isVerdictCLI(command string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(command), " ")
	return first == "verdict" || strings.HasSuffix(first, "/verdict")
}

// Check returns nil when r is what the command's expectation says, else an
// error listing every difference, with the command's output.
func (c Command) Check(r Result) error {
	a := readAnswer(r.Stdout)
	cli := isVerdictCLI(c.Text)
	want := c.Expect
	var problems []string
	wantExit := 0
	switch {
	case want.HasExit:
		wantExit = want.Exit
	case want.Verdict != "" && cli:
		wantExit = verdictExit[want.Verdict]
	}
	if r.Exit != wantExit {
		problems = append(problems, fmt.Sprintf("exit code %d, want %d", r.Exit, wantExit))
	}
	switch {
	case want.Status != 0 && a.status == 0:
		problems = append(problems, fmt.Sprintf("prints no HTTP status to check against %d (curl -i prints it)", want.Status))
	case want.Status != 0 && a.status != want.Status:
		problems = append(problems, fmt.Sprintf("HTTP status %d, want %d", a.status, want.Status))
	case want.Status == 0 && a.status >= 400:
		problems = append(problems, fmt.Sprintf("HTTP status %d", a.status))
	}
	if a.err != "" && (want.Status == 0 || a.status != want.Status) {
		problems = append(problems, fmt.Sprintf("answered the error %q", a.err))
	}
	if want.Verdict != "" {
		switch {
		case a.verdict != "" && a.verdict != want.Verdict:
			problems = append(problems, fmt.Sprintf("verdict %s, want %s", a.verdict, want.Verdict))
		case a.verdict == "" && !cli:
			problems = append(problems, fmt.Sprintf("gives no verdict to check against %s (no JSON with a verdict, and not the verdict CLI)", want.Verdict))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s (want %s)\nstdout:\n%s\nstderr:\n%s", strings.Join(problems, "; "), want, excerpt(r.Stdout), excerpt(r.Stderr))
}

// excerpt is the start of a command's output, enough to see what went wrong.
func excerpt(s string) string {
	const limit = 3000
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "\n[... " + strconv.Itoa(len(s)-limit) + " more bytes]"
}
