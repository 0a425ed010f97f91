// Package ociimage builds Verdict's container image with Go tooling alone:
// no Docker engine, no base image from a registry. It cross-compiles the
// verdict command (CGO_ENABLED=0, -trimpath, the time zone database
// embedded) for each platform and writes one multi-platform OCI image
// layout (an image index of one image per platform), which any OCI tool
// pushes (crane push, skopeo copy oci:..., oras).
//
// Each image is built from scratch: one layer holding the binary at
// /verdict (the entrypoint), /etc/passwd and /etc/group naming the
// non-root user nonroot (65532) the image runs as, its home and /tmp.
// There is no shell nor anything else to run: a Deployment starts
// `verdict serve` with its args. Verdict reaches its sources over TLS with
// the CA files its sources name (tls.caFile) or the roots the binary
// carries as a fallback (golang.org/x/crypto/x509roots/fallback), since
// the image has no system certificate store.
//
// The build is reproducible: every file and the image's history and
// creation carry one fixed time (Options.Created: SOURCE_DATE_EPOCH, by
// default the Unix epoch), tar headers hold nothing of the machine
// (owner 0:0 or 65532, no user or group names, no access times), layers
// are gzipped by the standard library at a fixed level, and Go builds with
// -trimpath are reproducible: the same source, Go version and options give
// the same index digest, byte for byte.
package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the uid and gid the image runs as: distroless' nonroot.
const User = 65532

// Entrypoint is where the binary is in the image.
const Entrypoint = "/verdict"

// Platform is one OS and architecture to build for.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatforms reads "linux/amd64,linux/arm64".
func ParsePlatforms(s string) ([]Platform, error) {
	var out []Platform
	for _, f := range strings.Split(s, ",") {
		os, arch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || os == "" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want OS/ARCH, such as linux/arm64", f)
		}
		out = append(out, Platform{OS: os, Arch: arch})
	}
	return out, nil
}

// Options say what to build.
type Options struct {
	// Dir is the module's root, where go build runs (default ".").
	Dir string
	// Package is the main package to build (default ./cmd/verdict).
	Package string
	// Platforms to build for (default linux/amd64 and linux/arm64).
	Platforms []Platform
	// Version is set as main.version (-ldflags -X), when not empty.
	Version string
	// Created is the time of every file, the image's creation and history
	// (default the Unix epoch): a fixed time, for reproducible builds.
	Created time.Time
	// Ref, when not empty, names the index in the layout's index.json
	// (annotation org.opencontainers.image.ref.name), e.g. v1.2.3.
	Ref string
	// Labels are added to each image's config (e.g.
	// org.opencontainers.image.revision).
	Labels map[string]string
	// Go is the go command (default "go"); Stderr gets its output.
	Go     string
	Stderr io.Writer
}

func (o *Options) defaults() {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Package == "" {
		o.Package = "./cmd/verdict"
	}
	if len(o.Platforms) == 0 {
		o.Platforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}}
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	// Whole seconds: a tar header (USTAR) holds no more.
	o.Created = o.Created.UTC().Truncate(time.Second)
}

// Build builds the images and writes their OCI image layout to out, which
// must not exist or be empty. It returns the index's digest.
func Build(ctx context.Context, opt Options, out string) (v1.Hash, error) {
	opt.defaults()
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return v1.Hash{}, fmt.Errorf("%s is not empty; give a new directory for the image layout", out)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return v1.Hash{}, err
	}
	work, err := os.MkdirTemp("", "verdict-image")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(work)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range opt.Platforms {
		bin := filepath.Join(work, "verdict-"+p.OS+"-"+p.Arch)
		if err := compile(ctx, opt, p, bin); err != nil {
			return v1.Hash{}, err
		}
		img, err := image(opt, p, bin)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image for %s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch},
		}})
	}
	path, err := layout.Write(out, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("write the image layout: %w", err)
	}
	var options []layout.Option
	if opt.Ref != "" {
		options = append(options, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": opt.Ref}))
	}
	if err := path.AppendIndex(idx, options...); err != nil {
		return v1.Hash{}, fmt.Errorf("write the image layout: %w", err)
	}
	return idx.Digest()
}

// compile builds the binary for one platform: static (no cgo), without
// the paths of the machine that built it, with the time zone database.
func compile(ctx context.Context, opt Options, p Platform, bin string) error {
	ldflags := "-s -w -buildid="
	if opt.Version != "" {
		ldflags += " -X main.version=" + opt.Version
	}
	cmd := exec.CommandContext(ctx, opt.Go, "build", "-trimpath", "-tags", "timetzdata", "-ldflags", ldflags, "-o", bin, opt.Package)
	cmd.Dir = opt.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = opt.Stderr, io.MultiWriter(opt.Stderr, &stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w: %s", opt.Package, p, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// image is the image of one platform: its layer, config and history.
func image(opt Options, p Platform, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	fs, err := rootfs(data, opt.Created)
	if err != nil {
		return nil, err
	}
	layer, err := layerOf(fs)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: opt.Created}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: created, CreatedBy: "ociimage: verdict " + opt.Version + " from scratch", Comment: "the verdict binary, passwd and group",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = p.OS, p.Arch, created
	cf.Config.User = fmt.Sprintf("%d:%d", User, User)
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Env = []string{"PATH=/", "HOME=/home/nonroot"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "verdict",
		"org.opencontainers.image.description": "Automated canary analysis: judges a canary's metrics against its baseline's",
	}
	if opt.Version != "" {
		cf.Config.Labels["org.opencontainers.image.version"] = opt.Version
	}
	for k, v := range opt.Labels {
		cf.Config.Labels[k] = v
	}
	return mutate.ConfigFile(img, cf)
}

// layerOf is an OCI layer of an uncompressed tar, gzipped by the standard
// library (deterministic for one Go version).
func layerOf(tar []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// rootfs is the layer's tar: the directories, passwd and group, and the
// binary, every entry at time created and owned by root but the user's
// home.
func rootfs(binary []byte, created time.Time) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", User, User)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", User)
	entries := []struct {
		name  string
		mode  int64
		owner int
		data  []byte
		dir   bool
	}{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, owner: User, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: strings.TrimPrefix(Entrypoint, "/"), mode: 0o555, data: binary},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.owner, Gid: e.owner, ModTime: created, Format: tar.FormatUSTAR}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
