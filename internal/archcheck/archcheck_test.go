package archcheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSameResultsOnArm64 builds archdump for arm64, runs it under
// qemu-aarch64 and requires its output to equal Write's here, line for
// line. Without qemu-aarch64 it skips, except under CI=true, where it
// fails.
func TestSameResultsOnArm64(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-aarch64 is not installed (Debian's qemu-user): CI=true needs it to compare arm64's results with these")
		}
		t.Skip("qemu-aarch64 is not installed (Debian's qemu-user); the arm64 comparison needs it")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build archdump for arm64: %v", err)
	}
	var native bytes.Buffer
	if err := Write(&native); err != nil {
		t.Fatal(err)
	}
	// A hang guard only: the build and the emulated run take seconds to
	// minutes depending on the machine's load.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "archdump")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./archdump")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build for arm64: %v\n%s", err, out)
	}
	var emulated, stderr bytes.Buffer
	run := exec.CommandContext(ctx, qemu, bin)
	run.Stdout, run.Stderr = &emulated, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("archdump under qemu-aarch64: %v\n%s", err, stderr.String())
	}
	want := strings.Split(native.String(), "\n")
	got := strings.Split(emulated.String(), "\n")
	if len(want) < 8000 {
		t.Fatalf("the native run wrote only %d lines", len(want))
	}
	if len(got) != len(want) {
		t.Errorf("arm64 wrote %d lines, amd64 %d", len(got), len(want))
	}
	differ := 0
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			if differ < 10 {
				t.Errorf("line %d differs:\n  here  %s\n  arm64 %s", i+1, want[i], got[i])
			}
			differ++
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d lines differ between this machine and arm64", differ, len(want))
	}
}
