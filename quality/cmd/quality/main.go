// Command quality runs the verdict-quality harness (package quality): it
// judges labelled canary scenarios with the default judge and with the
// Kayenta-compatible judge and reports false-alarm and detection rates;
// runs the traffic study (release signals as counts with their traffic:
// error ratio, checkout completion, latency histograms); the sequential
// study (canaries looked at every 30 s, every minute or at irregular times
// for an hour, judged at every look by the fixed-horizon test, over
// planned looks and anytime-valid); and the consequence study (a realistic
// canary of 10 signals, two of them critical, against Kayenta's algorithm).
//
//	quality [-study all|grid|traffic|sequential|consequence] [-quick] [-seed N] [-docs DIR] [-machine TEXT] [-confidence C]
//
// Without -quick it runs the full studies and writes DIR/quality/*.svg,
// DIR/quality/rows.csv and DIR/quality/traffic.csv, and the generated
// sections of DIR/quality.md (the grid's between <!-- BEGIN GENERATED -->
// and <!-- END GENERATED -->, every other study's between its own
// markers); -study NAME runs, and rewrites, only that study. With -quick
// it runs the reduced studies and prints their tables only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/verdict-aca/verdict/quality"
)

func main() {
	study := flag.String("study", "all", "which study to run: all, grid (the scenario grid, headline and multi-interval runs), traffic, sequential or consequence")
	quick := flag.Bool("quick", false, "run the reduced harness (seconds) and print its tables")
	seed := flag.Uint64("seed", 20261123, "seed of every random stream")
	docs := flag.String("docs", "docs", "directory holding quality.md and quality/ (full runs)")
	machine := flag.String("machine", "", "description of the machine, for the report")
	confidence := flag.Float64("confidence", 0.95, "confidence given to the default judge")
	flag.Parse()
	studies := map[string]func(context.Context, quality.Meta, string, float64) error{
		"grid": runGrid, "traffic": runTraffic, "sequential": runLooks, "consequence": runFamily,
	}
	if _, ok := studies[*study]; !ok && *study != "all" {
		fmt.Fprintf(os.Stderr, "quality: -study %q: want all, grid, traffic, sequential or consequence\n", *study)
		os.Exit(64)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *machine == "" {
		*machine = fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	meta := quality.Meta{Seed: *seed, Quick: *quick, Machine: *machine, GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	for _, name := range []string{"grid", "traffic", "sequential", "consequence"} {
		if *study != "all" && *study != name {
			continue
		}
		if err := studies[name](ctx, meta, *docs, *confidence); err != nil {
			fmt.Fprintln(os.Stderr, "quality:", err)
			os.Exit(1)
		}
	}
}

// runGrid runs the scenario grid, the headline scenarios and the
// multi-interval study.
func runGrid(ctx context.Context, meta quality.Meta, docs string, confidence float64) error {
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
	fmt.Print(res.Summary())
	for _, c := range res.Checks() {
		fmt.Println(c)
	}
	if meta.Quick {
		return nil
	}
	if err := res.WriteDocs(docs); err != nil {
		return err
	}
	fmt.Printf("wrote %s/quality.md and %s/quality/ in %s\n", docs, docs, meta.Elapsed)
	return nil
}

// runTraffic runs the traffic study.
func runTraffic(ctx context.Context, meta quality.Meta, docs string, confidence float64) error {
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
	fmt.Print(quality.TrafficSummary(rows))
	for _, c := range quality.TrafficChecks(rows) {
		fmt.Println(c)
	}
	if meta.Quick {
		return nil
	}
	if err := quality.WriteTrafficDocs(docs, rows, quality.TrafficMeta{Meta: meta, NullReps: cfg.NullReps, EffectReps: cfg.EffectReps}); err != nil {
		return err
	}
	fmt.Printf("wrote the traffic study to %s/quality.md and %s/quality/traffic.csv in %s\n", docs, docs, meta.Elapsed)
	return nil
}

// runLooks runs the sequential study. Its canaries' configs set their own
// confidence (the default); -confidence does not apply.
func runLooks(ctx context.Context, meta quality.Meta, docs string, _ float64) error {
	cfg, err := quality.LooksFull(meta.Seed)
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
	fmt.Print(quality.LooksSummary(rows))
	for _, c := range quality.LooksChecks(rows) {
		fmt.Println(c)
	}
	if meta.Quick {
		return nil
	}
	if err := quality.WriteLooksDocs(docs, rows, quality.LooksMeta{Meta: meta, Config: cfg}); err != nil {
		return err
	}
	fmt.Printf("wrote the sequential study to %s/quality.md in %s\n", docs, meta.Elapsed)
	return nil
}

// runFamily runs the consequence study (the 10-signal family).
func runFamily(ctx context.Context, meta quality.Meta, docs string, confidence float64) error {
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
	fmt.Print(quality.FamilySummary(rows))
	for _, c := range quality.FamilyChecks(rows) {
		fmt.Println(c)
	}
	if meta.Quick {
		return nil
	}
	if err := quality.WriteFamilyDocs(docs, rows, quality.FamilyMeta{Meta: meta, Config: cfg}); err != nil {
		return err
	}
	fmt.Printf("wrote the consequence study to %s/quality.md in %s\n", docs, meta.Elapsed)
	return nil
}
