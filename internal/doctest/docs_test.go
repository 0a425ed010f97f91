package doctest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/doctest"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/internal/try"
)

// root is the repository's root, relative to this package.
const root = "../.."

// commandTimeout bounds one documented command (a hang guard, not a
// measure: every command takes seconds).
const commandTimeout = 3 * time.Minute

// page is one Markdown page and its marked blocks.
type page struct {
	name   string
	blocks []doctest.Block
}

// pages reads README.md and docs/*.md and their marked blocks.
func pages(t *testing.T) []page {
	t.Helper()
	names := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		names = append(names, filepath.Join("docs", filepath.Base(d)))
	}
	var out []page
	for _, name := range names {
		src, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := doctest.Blocks(name, string(src))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page{name: name, blocks: blocks})
	}
	return out
}

// TestDocsShowTheFiles: a block marked <!-- doctest: file=PATH --> is
// PATH's content, so a config shown on a page is the one its examples use.
func TestDocsShowTheFiles(t *testing.T) {
	n := 0
	for _, p := range pages(t) {
		for _, b := range p.blocks {
			if b.Content == "" {
				continue
			}
			n++
			data, err := os.ReadFile(filepath.Join(root, b.Content))
			if err != nil {
				t.Errorf("%s: %v", b.Where(), err)
				continue
			}
			if string(data) != b.Text {
				t.Errorf("%s: the block is not %s as it is; the file:\n%s", b.Where(), b.Content, data)
			}
		}
	}
	if n == 0 {
		t.Error("no block is marked <!-- doctest: file=PATH -->: the markers are gone?")
	}
}

// TestDocs runs every command of the runnable blocks of README.md and
// docs/*.md, and the commands make try suggests, against the playground
// (package try): a real Prometheus holding the fixture scenarios up to
// now, the Loki-shaped server, verdict serve built from this tree. Each
// must give what its page says (see the package doc).
func TestDocs(t *testing.T) {
	all := pages(t)
	type runnable struct {
		page string
		cmd  doctest.Command
	}
	var cmds []runnable
	perPage := map[string]int{}
	for _, p := range all {
		for _, b := range p.blocks {
			if !b.Run {
				continue
			}
			list, err := doctest.Commands(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range list {
				cmds = append(cmds, runnable{p.name, c})
				perPage[p.name]++
			}
		}
	}
	// The pages with examples to run; a marker lost in an edit fails here.
	for _, name := range []string{"README.md", "docs/integrations.md"} {
		if perPage[name] == 0 {
			t.Errorf("%s has no runnable command (<!-- doctest --> before a fenced block)", name)
		}
	}

	promtest.Binaries(t) // skips without Prometheus, fails under CI=true
	work := workTree(t)
	ctx := context.Background()
	env, err := try.Start(ctx, try.Options{
		Verdict:  filepath.Join(work, "bin", "verdict"),
		Fixtures: filepath.Join(work, "fixtures"),
		Dir:      t.TempDir(),
		Logf:     t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		env.Stop()
		if t.Failed() {
			t.Logf("verdict serve's log:\n%s", env.ServeLog())
		}
	})
	addrs := map[string]string{
		fmt.Sprintf("127.0.0.1:%d", try.PrometheusPort): try.Addr(env.PrometheusURL),
		fmt.Sprintf("127.0.0.1:%d", try.LokiPort):       try.Addr(env.LokiURL),
		fmt.Sprintf("127.0.0.1:%d", try.ServePort):      try.Addr(env.ServeURL),
	}
	shellEnv := commandEnv(work)
	run := func(t *testing.T, cmd doctest.Command) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, commandTimeout)
		defer cancel()
		text := doctest.Rewrite(cmd.Text, addrs)
		r, err := doctest.Run(ctx, work, shellEnv, text)
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Check(r); err != nil {
			t.Errorf("%s\n%v", text, err)
		}
	}
	for _, c := range cmds {
		t.Run(fmt.Sprintf("%s:%d", c.page, c.cmd.Line), func(t *testing.T) {
			select {
			case err := <-env.Failed():
				t.Fatalf("the playground stopped: %v", err)
			default:
			}
			run(t, c.cmd)
		})
	}
	t.Run("make try's examples", func(t *testing.T) {
		for _, ex := range try.Examples(env) {
			expect, err := doctest.ParseExpect(ex.Expect)
			if err != nil {
				t.Fatalf("%s: %v", ex.Title, err)
			}
			run(t, doctest.Command{Text: ex.Command, Expect: expect})
		}
	})
}

// workTree makes a directory that looks like the repository's root for the
// documented commands: bin/verdict built from this tree, every other
// top-level entry a link to the tree's. Commands write their files (a
// report, a database) there, not into the tree.
func workTree(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	entries, err := os.ReadDir(abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if slices.Contains([]string{"bin", ".git"}, e.Name()) {
			continue
		}
		if err := os.Symlink(filepath.Join(abs, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	build := exec.Command(goTool, "build", "-o", filepath.Join(work, "bin", "verdict"), "./cmd/verdict")
	build.Dir = abs
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/verdict: %v\n%s", err, out)
	}
	return work
}

// commandEnv is the environment of the documented commands: the process's,
// without VERDICT_* settings (the pages say what they set), with bin/ of
// the work tree first on PATH so that `verdict` is the binary built.
func commandEnv(work string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VERDICT_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+filepath.Join(work, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
}
