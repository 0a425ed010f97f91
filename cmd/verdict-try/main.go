// Command verdict-try is `make try`: it brings up Verdict's playground
// (package try: a Prometheus holding the fixture scenarios up to now and
// kept current, a Loki-shaped server with their checkout logs, verdict
// serve over both), prints the URLs and commands to try, and stops
// everything on Ctrl-C (SIGINT or SIGTERM).
//
// Usage, from the repository's root:
//
//	verdict-try [--verdict bin/verdict] [--fixtures fixtures]
//
// Exit codes: 0 after Ctrl-C, 69 when Prometheus is not installed, 70 when
// the playground cannot start or stops on an error, 64 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/verdict-aca/verdict/internal/try"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verdict-try", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verdict := fs.String("verdict", "bin/verdict", "the verdict binary to serve with")
	fixturesDir := fs.String("fixtures", "fixtures", "the repository's fixtures directory")
	if err := fs.Parse(args); err != nil {
		return 64
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "verdict-try: unexpected argument %q\n", fs.Arg(0))
		return 64
	}
	dir, err := os.MkdirTemp("", "verdict-try-")
	if err != nil {
		fmt.Fprintf(stderr, "verdict-try: %v\n", err)
		return 70
	}
	defer os.RemoveAll(dir)

	env, err := try.Start(ctx, try.Options{
		Verdict: *verdict, Fixtures: *fixturesDir, Dir: dir,
		PrometheusPort: try.PrometheusPort, LokiPort: try.LokiPort, ServePort: try.ServePort,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "verdict-try: "+format+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "verdict-try: %v\n", err)
		if errors.Is(err, try.ErrNoPrometheus) {
			return 69
		}
		return 70
	}
	defer env.Stop()
	fmt.Fprint(stdout, Banner(env))

	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "verdict-try: stopping")
		return 0
	case err := <-env.Failed():
		fmt.Fprintf(stderr, "verdict-try: %v\n", err)
		return 70
	}
}

// Banner is what the playground prints once it is up: where each server
// is, and the commands to try with their expected verdicts.
func Banner(env *try.Env) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nVerdict's playground is up, on 127.0.0.1 only. Ctrl-C stops it.\n\n")
	fmt.Fprintf(&b, "  Prometheus     %s  the fixture scenarios, the last hour up to now and a new sample every 10 s\n", env.PrometheusURL)
	fmt.Fprintf(&b, "  Loki stand-in  %s  each scenario's checkout log, one line per checkout\n", env.LokiURL)
	fmt.Fprintf(&b, "  verdict serve  %s  analyses: %s/analyses\n\n", env.ServeURL, env.ServeURL)
	fmt.Fprintf(&b, "  scenarios (scope scenario=NAME, track=baseline|canary): %s\n", strings.Join(env.Scenarios, ", "))
	fmt.Fprintf(&b, "  configs stored: %s\n", strings.Join(env.Configs, ", "))
	fmt.Fprintf(&b, "  served by: %s\n", strings.Join(env.ServeCommand, " "))
	if moved := env.MovedPorts(); moved != "" {
		fmt.Fprintf(&b, "\n  %s: the commands below use the ports in use; README's use the documented ones.\n", moved)
	}
	fmt.Fprintf(&b, "\nTry (README, \"Judging a live canary\" and \"Serving\", has more):\n")
	for _, ex := range try.Examples(env) {
		fmt.Fprintf(&b, "\n  # %s\n  %s   # → %s\n", ex.Title, ex.Command, ex.Expect)
	}
	b.WriteString("\n")
	return b.String()
}
