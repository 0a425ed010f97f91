// Command quality runs the verdict-quality harness (package quality): it
// judges labelled canary scenarios with the default judge and with the
// Kayenta-compatible judge and reports false-alarm and detection rates.
//
//	quality [-quick] [-seed N] [-docs DIR] [-machine TEXT] [-confidence C]
//
// Without -quick it runs the full harness and writes DIR/quality/*.svg,
// DIR/quality/rows.csv and the generated section of DIR/quality.md (between
// the markers <!-- BEGIN GENERATED --> and <!-- END GENERATED -->). With
// -quick it runs the reduced harness and prints its tables only.
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
	quick := flag.Bool("quick", false, "run the reduced harness (seconds) and print its tables")
	seed := flag.Uint64("seed", 20261123, "seed of every random stream")
	docs := flag.String("docs", "docs", "directory holding quality.md and quality/ (full runs)")
	machine := flag.String("machine", "", "description of the machine, for the report")
	confidence := flag.Float64("confidence", 0.95, "confidence given to the default judge")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *quick, *seed, *docs, *machine, *confidence); err != nil {
		fmt.Fprintln(os.Stderr, "quality:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, quick bool, seed uint64, docs, machine string, confidence float64) error {
	cfg := quality.Full(seed)
	if quick {
		cfg = quality.Quick(seed)
	}
	cfg.Confidence = confidence
	if machine == "" {
		machine = fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	start := time.Now()
	res, err := quality.RunAll(ctx, cfg)
	if err != nil {
		return err
	}
	res.Meta = quality.Meta{Seed: seed, Quick: quick, Machine: machine, GoVersion: runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Elapsed: time.Since(start).Round(time.Second)}
	fmt.Print(res.Summary())
	for _, c := range res.Checks() {
		fmt.Println(c)
	}
	if quick {
		return nil
	}
	if err := res.WriteDocs(docs); err != nil {
		return err
	}
	fmt.Printf("wrote %s/quality.md and %s/quality/ in %s\n", docs, docs, res.Meta.Elapsed)
	return nil
}
