// Command quality runs the verdict-quality harness (package quality): it
// judges labelled canary scenarios with the default judge and with the
// Kayenta-compatible judge and reports false-alarm and detection rates;
// runs the traffic study (release signals as counts with their traffic:
// error ratio, checkout completion, latency histograms); the sequential
// study (canaries looked at every 30 s, every minute or at irregular times
// for an hour, judged at every look by the fixed-horizon test, over
// planned looks, anytime-valid with and without the hour known); and the
// consequence study (a realistic canary of 10 signals, two of them
// critical, against Kayenta's algorithm).
//
//	quality [-study all|grid|traffic|sequential|consequence] [-quick] [-write] [-seed N] [-docs DIR] [-machine TEXT] [-confidence C] [-share S]
//
// Without -quick it runs the full studies and prints their summaries and
// checks. With -write (make quality-docs) it also writes
// DIR/quality/*.svg, DIR/quality/rows.csv and DIR/quality/traffic.csv, and
// the generated sections of DIR/quality.md (the grid's between
// <!-- BEGIN GENERATED --> and <!-- END GENERATED -->, every other study's
// between its own markers); -study NAME runs, and rewrites, only that
// study. Without -write no file is written, so that make quality never
// changes a tracked file unasked. With -quick it runs the reduced studies
// and prints their tables only; -quick -write is refused (reduced runs
// never go into the docs). -share S (in (0, 1]) makes the sequential study
// run that share of its full runs, to check it before the full run or
// when the machine cannot give the full one its time; its written section
// gives the command and the runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/verdict-aca/verdict/quality"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// studyFunc is a study by its -study name (nil for another name).
type studyFunc func(ctx context.Context, stdout io.Writer, meta quality.Meta, docs string, confidence float64) error

// studyOrder is the order -study all runs the studies in.
func studyOrder() []string { return []string{"grid", "traffic", "sequential", "consequence"} }

func study(name string) studyFunc {
	switch name {
	case "grid":
		return runGrid
	case "traffic":
		return runTraffic
	case "sequential":
		return runLooks
	case "consequence":
		return runFamily
	}
	return nil
}

// options are the command line's settings.
type options struct {
	study, docs, machine string
	quick, write         bool
	seed                 uint64
	confidence, share    float64
}

// parseOptions reads the command line; a mistake is an error for exit 64.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.study, "study", "all", "which study to run: all, grid (the scenario grid, headline and multi-interval runs), traffic, sequential or consequence")
	fs.BoolVar(&o.quick, "quick", false, "run the reduced harness (seconds) and print its tables")
	fs.BoolVar(&o.write, "write", false, "write the full runs' results into -docs (quality.md's generated sections, quality/*.svg and *.csv); make quality-docs")
	fs.Uint64Var(&o.seed, "seed", 20261123, "seed of every random stream")
	fs.StringVar(&o.docs, "docs", "docs", "directory holding quality.md and quality/ (with -write)")
	fs.StringVar(&o.machine, "machine", "", "description of the machine, for the report")
	fs.Float64Var(&o.confidence, "confidence", 0.95, "confidence given to the default judge")
	fs.Float64Var(&o.share, "share", 1, "share of the full runs the sequential study makes, in (0, 1] (a smaller run to check it; the written section lists its runs)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.study != "all" && study(o.study) == nil:
		return o, fmt.Errorf("-study %q: want all, grid, traffic, sequential or consequence", o.study)
	case !(o.share > 0 && o.share <= 1):
		return o, fmt.Errorf("-share %g: want a share within (0, 1]", o.share)
	case o.quick && o.write:
		return o, fmt.Errorf("-quick -write: the reduced runs are never written into the docs; drop -quick to rewrite them")
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

// run runs the studies the command line asks for and returns the exit
// code: 0, 1 when a study failed, 64 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, "quality:", err)
		}
		return 64
	}
	if o.machine == "" {
		o.machine = fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	meta := quality.Meta{Seed: o.seed, Quick: o.quick, Machine: o.machine, GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), Share: o.share}
	docs := o.docs
	if !o.write {
		docs = ""
	}
	for _, name := range studyOrder() {
		if o.study != "all" && o.study != name {
			continue
		}
		if err := study(name)(ctx, stdout, meta, docs, o.confidence); err != nil {
			fmt.Fprintln(stderr, "quality:", err)
			return 1
		}
	}
	if !o.quick && !o.write {
		fmt.Fprintf(stdout, "%s/quality.md was not rewritten: make quality-docs (or -write) writes these results into it\n", o.docs)
	}
	return 0
}

// runGrid runs the scenario grid, the headline scenarios and the
// multi-interval study, and writes its docs into docs unless docs is "".
func runGrid(ctx context.Context, stdout io.Writer, meta quality.Meta, docs string, confidence float64) error {
	cfg := quality.Full(meta.Seed)
	if meta.Quick {
		cfg = quality.Quick(meta.Seed)
	}
	cfg.Confidence = confidence
	start := time.Now()
	res, err := quality.RunAll(ctx, cfg)
	if err != nil {
		return err
	}
	meta.Elapsed = time.Since(start).Round(time.Second)
	res.Meta = meta
	fmt.Fprint(stdout, res.Summary())
	for _, c := range res.Checks() {
		fmt.Fprintln(stdout, c)
	}
	if meta.Quick || docs == "" {
		return nil
	}
	if err := res.WriteDocs(docs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/quality.md and %s/quality/ in %s\n", docs, docs, meta.Elapsed)
	return nil
}

// runTraffic runs the traffic study, and writes its docs into docs unless
// docs is "".
func runTraffic(ctx context.Context, stdout io.Writer, meta quality.Meta, docs string, confidence float64) error {
	cfg := quality.TrafficFull(meta.Seed)
	if meta.Quick {
		cfg = quality.TrafficQuick(meta.Seed)
	}
	cfg.Confidence = confidence
	start := time.Now()
	rows, err := quality.RunTraffic(ctx, cfg)
	if err != nil {
		return err
	}
	meta.Elapsed = time.Since(start).Round(time.Second)
	fmt.Fprint(stdout, quality.TrafficSummary(rows))
	for _, c := range quality.TrafficChecks(rows) {
		fmt.Fprintln(stdout, c)
	}
	if meta.Quick || docs == "" {
		return nil
	}
	if err := quality.WriteTrafficDocs(docs, rows, quality.TrafficMeta{Meta: meta, NullReps: cfg.NullReps, EffectReps: cfg.EffectReps}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the traffic study to %s/quality.md and %s/quality/traffic.csv in %s\n", docs, docs, meta.Elapsed)
	return nil
}

// runLooks runs the sequential study. Its canaries' configs set their own
// confidence (the default); -confidence does not apply.
func runLooks(ctx context.Context, stdout io.Writer, meta quality.Meta, docs string, _ float64) error {
	cfg, err := quality.LooksFull(meta.Seed)
	if meta.Share > 0 && meta.Share < 1 {
		cfg, err = quality.LooksScaled(meta.Seed, meta.Share)
	}
	if meta.Quick {
		cfg, err = quality.LooksQuick(meta.Seed)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	rows, err := quality.RunLooks(ctx, cfg)
	if err != nil {
		return err
	}
	meta.Elapsed, meta.Date = time.Since(start).Round(time.Second), time.Now().UTC().Format(time.DateOnly)
	fmt.Fprint(stdout, quality.LooksSummary(rows))
	for _, c := range quality.LooksChecks(rows) {
		fmt.Fprintln(stdout, c)
	}
	if meta.Quick || docs == "" {
		return nil
	}
	if err := quality.WriteLooksDocs(docs, rows, quality.LooksMeta{Meta: meta, Config: cfg}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the sequential study to %s/quality.md in %s\n", docs, meta.Elapsed)
	return nil
}

// runFamily runs the consequence study (the 10-signal family).
func runFamily(ctx context.Context, stdout io.Writer, meta quality.Meta, docs string, confidence float64) error {
	cfg := quality.FamilyFull(meta.Seed)
	if meta.Quick {
		cfg = quality.FamilyQuick(meta.Seed)
	}
	cfg.Confidence = confidence
	start := time.Now()
	rows, err := quality.RunFamily(ctx, cfg)
	if err != nil {
		return err
	}
	meta.Elapsed, meta.Date = time.Since(start).Round(time.Second), time.Now().UTC().Format(time.DateOnly)
	fmt.Fprint(stdout, quality.FamilySummary(rows))
	for _, c := range quality.FamilyChecks(rows) {
		fmt.Fprintln(stdout, c)
	}
	if meta.Quick || docs == "" {
		return nil
	}
	if err := quality.WriteFamilyDocs(docs, rows, quality.FamilyMeta{Meta: meta, Config: cfg}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the consequence study to %s/quality.md in %s\n", docs, meta.Elapsed)
	return nil
}
