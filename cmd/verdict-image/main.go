// Command verdict-image is `make image`: it builds Verdict's container
// image with Go tooling alone (package ociimage): verdict cross-compiled
// for each platform, each image from scratch, non-root, the binary as its
// entrypoint, written as one multi-platform OCI image layout, and prints
// the index's digest. Built twice from the same tree with the same Go and
// the same SOURCE_DATE_EPOCH, the digest is the same.
//
// Usage, from the repository's root:
//
//	verdict-image [-o bin/image] [-platforms linux/amd64,linux/arm64] [-version V] [-ref V] [-revision COMMIT]
//
// SOURCE_DATE_EPOCH (Unix seconds) is the time of every file and of the
// image (default 0, the epoch). Exit codes: 0 built, 64 bad flags or
// environment, 70 the build failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/verdict-aca/verdict/internal/ociimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv("SOURCE_DATE_EPOCH"), os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, epoch string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verdict-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "bin/image", "the directory to write the OCI image layout to (must not exist, or be empty)")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "the platforms to build for, OS/ARCH separated by commas")
	version := fs.String("version", "", "the version the binary reports (main.version) and the image's label")
	ref := fs.String("ref", "", "the name of the index in the layout (org.opencontainers.image.ref.name), e.g. the version")
	revision := fs.String("revision", "", "the commit, as the label org.opencontainers.image.revision")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 64
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "verdict-image: unexpected argument %q\n", fs.Arg(0))
		return 64
	}
	opt := ociimage.Options{Version: *version, Ref: *ref, Stderr: stderr, Created: time.Unix(0, 0)}
	var err error
	if opt.Platforms, err = ociimage.ParsePlatforms(*platforms); err != nil {
		fmt.Fprintf(stderr, "verdict-image: -platforms: %v\n", err)
		return 64
	}
	if epoch != "" {
		secs, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil || secs < 0 {
			fmt.Fprintf(stderr, "verdict-image: SOURCE_DATE_EPOCH %q is not a number of seconds since 1970\n", epoch)
			return 64
		}
		opt.Created = time.Unix(secs, 0)
	}
	if *revision != "" {
		opt.Labels = map[string]string{"org.opencontainers.image.revision": *revision}
	}
	digest, err := ociimage.Build(ctx, opt, *out)
	if err != nil {
		fmt.Fprintf(stderr, "verdict-image: %v\n", err)
		return 70
	}
	fmt.Fprintf(stdout, "%s %s\n", *out, digest)
	return 0
}
