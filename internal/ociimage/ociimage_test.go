package ociimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// options build testdata/hello, a small stand-in for verdict (the
// builder is the same; compiling verdict twice for two platforms takes
// minutes of CPU), at a fixed time.
func options() Options {
	return Options{Package: "./testdata/hello", Version: "v9.9.9", Ref: "v9.9.9",
		Created: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Labels: map[string]string{"org.opencontainers.image.revision": "0123abc"}}
}

// TestImageReproducible builds the image twice into two directories: the
// same digest, and every file of the layouts byte for byte the same.
func TestImageReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles for two platforms")
	}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	da, err := Build(t.Context(), options(), a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Build(t.Context(), options(), b)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("two builds: %s and %s", da, db)
	}
	files := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			rel, _ := filepath.Rel(dir, path)
			out[rel] = data
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fa, fb := files(a), files(b)
	if len(fa) < 8 || len(fa) != len(fb) {
		t.Errorf("layouts of %d and %d files", len(fa), len(fb))
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between the builds", name)
		}
	}

	// A later time is another image (the time is in it, not the clock's).
	later := options()
	later.Created = later.Created.Add(time.Hour)
	dc, err := Build(t.Context(), later, filepath.Join(t.TempDir(), "c"))
	if err != nil {
		t.Fatal(err)
	}
	if dc == da {
		t.Error("a build at another SOURCE_DATE_EPOCH has the same digest")
	}
}

// TestImageContents reads the layout back: a valid OCI index of one image
// per platform, each from scratch (one layer: the binary, passwd, group,
// the home and /tmp; no shell), running as 65532 with the binary as its
// entrypoint, every file at the fixed time, the binary static and built
// for its platform; and it pushes to a registry as an index.
func TestImageContents(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles for two platforms")
	}
	dir := filepath.Join(t.TempDir(), "image")
	opt := options()
	digest, err := Build(t.Context(), opt, dir)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(om.Manifests) != 1 || om.Manifests[0].Digest != digest || om.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v9.9.9" {
		t.Fatalf("index.json lists %+v; want the index %s named v9.9.9", om.Manifests, digest)
	}
	idx, err := outer.ImageIndex(digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("not a valid image index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		where := m.Platform.Architecture
		if cf.OS != m.Platform.OS || cf.Architecture != m.Platform.Architecture {
			t.Errorf("%s: config says %s/%s", where, cf.OS, cf.Architecture)
		}
		if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/verdict"}) || len(cf.Config.Cmd) != 0 {
			t.Errorf("%s: user %q, entrypoint %q, cmd %q; want 65532:65532, [/verdict], none", where, cf.Config.User, cf.Config.Entrypoint, cf.Config.Cmd)
		}
		if !cf.Created.Time.Equal(opt.Created) || len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(opt.Created) {
			t.Errorf("%s: created %v, history %+v; want everything at %v", where, cf.Created, cf.History, opt.Created)
		}
		if cf.Config.Labels["org.opencontainers.image.version"] != "v9.9.9" || cf.Config.Labels["org.opencontainers.image.revision"] != "0123abc" {
			t.Errorf("%s: labels %v", where, cf.Config.Labels)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers (%v); want 1", where, len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
			if !h.ModTime.Equal(opt.Created) || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: %s at %v owned by %q:%q; want %v, no names", where, h.Name, h.ModTime, h.Uname, h.Gname, opt.Created)
			}
			switch h.Name {
			case "verdict":
				if h.Mode != 0o555 || h.Uid != 0 {
					t.Errorf("%s: the binary has mode %o, owner %d; want 0555, root's (the user cannot change it)", where, h.Mode, h.Uid)
				}
				data, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				f, err := elf.NewFile(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: the binary is not ELF: %v", where, err)
				}
				if f.Machine != machines[m.Platform.Architecture] {
					t.Errorf("%s: the binary is for %v", where, f.Machine)
				}
				for _, p := range f.Progs {
					if p.Type == elf.PT_INTERP {
						t.Errorf("%s: the binary is dynamically linked (it has an interpreter); the image has no libc", where)
					}
				}
			case "etc/passwd":
				data, _ := io.ReadAll(tr)
				if !strings.Contains(string(data), "nonroot:x:65532:65532:") {
					t.Errorf("%s: /etc/passwd does not name the user 65532: %s", where, data)
				}
			}
		}
		rc.Close()
		want := []string{"etc/", "etc/group", "etc/passwd", "home/", "home/nonroot/", "tmp/", "verdict"}
		if !slices.Equal(names, want) {
			t.Errorf("%s: the layer holds %v; want %v (no shell, nothing else)", where, names, want)
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v; want linux/amd64 and linux/arm64", platforms)
	}

	// Pushed to a registry (in memory, on loopback), the index keeps its digest.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	u, err := url.Parse(reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(u.Host+"/verdict:v9.9.9", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push: %v", err)
	}
	desc, err := remote.Get(ref, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != digest || desc.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("the registry holds %s (%s); want the index %s", desc.Digest, desc.MediaType, digest)
	}
}

// TestBuildRefuses: a directory that holds something, a platform that is
// not OS/ARCH, a package that does not build: an error saying so, and
// nothing written.
func TestBuildRefuses(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), options(), full); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("into a directory that holds a file: %v", err)
	}
	if _, err := ParsePlatforms("linux/amd64,arm64"); err == nil || !strings.Contains(err.Error(), `platform "arm64": want OS/ARCH`) {
		t.Errorf("ParsePlatforms: %v", err)
	}
	opt := options()
	opt.Package = "./testdata/missing"
	out := filepath.Join(t.TempDir(), "image")
	if _, err := Build(t.Context(), opt, out); err == nil || !strings.Contains(err.Error(), "go build ./testdata/missing for linux/amd64") {
		t.Errorf("a package that does not build: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed build left %s: %v", out, err)
	}
}
