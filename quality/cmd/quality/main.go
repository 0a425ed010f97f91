// Command quality runs the verdict-quality harness (package quality): it
// judges labelled canary scenarios with the default judge and with the
// Kayenta-compatible judge and reports false-alarm and detection rates,
// and runs the traffic study (release signals as counts with their
// traffic: error ratio, checkout completion, latency histograms).
//
//	quality [-study all|grid|traffic] [-quick] [-seed N] [-docs DIR] [-machine TEXT] [-confidence C]
//
// Without -quick it runs the full studies and writes DIR/quality/*.svg,
// DIR/quality/rows.csv and DIR/quality/traffic.csv, and the generated
// sections of DIR/quality.md (the grid's between <!-- BEGIN GENERATED -->
// and <!-- END GENERATED -->, the traffic study's between its own markers);
// -study grid or -study traffic runs, and rewrites, only that study. With
// -quick it runs the reduced studies and prints their tables only.
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
	study := flag.String("study", "all", "which study to run: all, grid (the scenario grid, headline and multi-interval runs) or traffic")
	quick := flag.Bool("quick", false, "run the reduced harness (seconds) and print its tables")
	seed := flag.Uint64("seed", 20261123, "seed of every random stream")
	docs := flag.String("docs", "docs", "directory holding quality.md and quality/ (full runs)")
	machine := flag.String("machine", "", "description of the machine, for the report")
	confidence := flag.Float64("confidence", 0.95, "confidence given to the default judge")
	flag.Parse()
	if *study != "all" && *study != "grid" && *study != "traffic" {
		fmt.Fprintf(os.Stderr, "quality: -study %q: want all, grid or traffic\n", *study)
		os.Exit(64)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *machine == "" {
		*machine = fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	meta := quality.Meta{Seed: *seed, Quick: *quick, Machine: *machine, GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if *study != "traffic" {
		if err := runGrid(ctx, meta, *docs, *confidence); err != nil {
			fmt.Fprintln(os.Stderr, "quality:", err)
			os.Exit(1)
		}
	}
	if *study != "grid" {
		if err := runTraffic(ctx, meta, *docs, *confidence); err != nil {
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
