// Command verdict is the Verdict canary judge: it compares a canary's
// metrics with its baseline's and answers pass, marginal, fail or none.
//
// This file holds the CLI wiring only; the work is done by the packages.
// Exit codes: 0 pass, 1 fail, 2 marginal, 3 none, 64 usage error,
// 65 invalid config or data, 69 a metric source did not answer (analyze),
// 70 internal error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics/file"
	"github.com/verdict-aca/verdict/scoring"
)

// Exit codes.
const (
	exitPass        = 0
	exitFail        = 1
	exitMarginal    = 2
	exitNone        = 3
	exitUsage       = 64
	exitData        = 65
	exitUnavailable = 69
	exitInternal    = 70
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	useFallbackRoots()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks a mistake in the command line itself.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// verdictExit carries the exit code of a finished analysis.
type verdictExit struct{ code int }

func (verdictExit) Error() string { return "" }

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitPass
	}
	var done verdictExit
	if errors.As(err, &done) {
		return done.code
	}
	code := exitCode(err)
	fmt.Fprintf(stderr, "verdict: %s\n", sentence(err))
	if code == exitUsage {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// exitCode maps an error to the exit code the design gives it.
func exitCode(err error) int {
	var (
		usage   usageError
		config  *analysis.ConfigError
		data    *analysis.DataError
		bound   *analysis.BoundError
		parse   *file.ParseError
		pathErr *os.PathError
		silent  *analysis.UnansweredError
	)
	switch {
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &silent):
		return exitUnavailable
	case errors.As(err, &config), errors.As(err, &data), errors.As(err, &bound), errors.As(err, &parse), errors.As(err, &pathErr):
		return exitData
	}
	return exitInternal
}

// sentence makes one line of an error: no trailing newline, no stack.
func sentence(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func newRootCommand(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "verdict",
		Short:         "Verdict judges canaries: is the canary as healthy as the baseline?",
		Long:          "Verdict compares a canary's metrics with its baseline's, signal by signal, and answers pass, marginal, fail or none, with a report that says why.\n\nExit codes: 0 pass, 1 fail, 2 marginal, 3 none (no verdict), 64 usage error, 65 invalid config or data, 69 a metric source did not answer (analyze), 70 internal error.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if !cmd.HasParent() {
			// "verdict ana --config x": the mistyped command is the
			// mistake, not the flag the root does not have.
			if err := unknownCommand(cmd, cmd.Flags().Args()); err != nil {
				return err
			}
		}
		return usageError{err}
	})
	root.AddCommand(newJudgeCommand(), newAnalyzeCommand(), newPlanCommand(), newValidateCommand(), newImportKayentaCommand(), newServeCommand(), newStoreCommand(), newVersionCommand(stdout))
	root.Version = versionText(version, readBuildInfo())
	root.SetVersionTemplate("{{.Version}}")
	root.SuggestionsMinimumDistance = 2
	root.Args = unknownCommand
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := cmd.Help(); err != nil {
			return err
		}
		return usageError{fmt.Errorf("a command is needed")}
	}
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs turns positional-argument errors into usage errors.
func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		check = cobra.NoArgs
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// unknownCommand refuses a word that names no command, suggesting the
// commands it is close to (a typo, or a prefix: "jugde", "ana").
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %s", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg)}
}

// requireFlags reports every one of names that was not given, at once.
func requireFlags(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return usageError{fmt.Errorf("%s needs %s", cmd.CommandPath(), andList(missing))}
}

// andList writes "a", "a and b", "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func newVersionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Verdict's version, commit and Go version",
		Long: "Print Verdict's version: the one make build stamps (git describe), else the module version go install\n" +
			"or go build records, with the commit, its time and whether the tree was modified, and the Go version.",
		Example: "  verdict version\n  verdict --version",
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(stdout, versionText(version, readBuildInfo()))
			return err
		},
	}
}

// verdictCode is the exit code of a verdict.
func verdictCode(v scoring.Verdict) int {
	switch v {
	case scoring.Pass:
		return exitPass
	case scoring.Fail:
		return exitFail
	case scoring.Marginal:
		return exitMarginal
	}
	return exitNone
}
