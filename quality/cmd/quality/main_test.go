package main

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		args  []string
		write bool
		err   string // fragment; "" when valid
	}{
		{args: nil},
		{args: []string{"-study", "traffic", "-write"}, write: true},
		{args: []string{"-quick", "-write"}, err: "-quick -write: the reduced runs are never written into the docs"},
		{args: []string{"-share", "0"}, err: "-share 0: want a share within (0, 1]"},
		{args: []string{"-share", "1.5"}, err: "-share 1.5: want a share within (0, 1]"},
		{args: []string{"-study", "all-of-it"}, err: `-study "all-of-it": want all, grid, traffic, sequential or consequence`},
		{args: []string{"docs"}, err: `unexpected argument "docs"`},
	}
	for _, tt := range tests {
		o, err := parseOptions(tt.args, io.Discard)
		switch {
		case tt.err == "" && (err != nil || o.write != tt.write):
			t.Errorf("%v: %+v, %v; want write %v", tt.args, o, err, tt.write)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.err)
		}
	}
}

// TestMakeTargets: make quality only prints (it must not rewrite the
// tracked docs unasked); make quality-docs writes.
func TestMakeTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make is not installed")
		}
		t.Skip("make is not installed")
	}
	for target, write := range map[string]bool{"quality": false, "quality-docs": true} {
		out, err := exec.Command("make", "-s", "-n", "-C", "../../..", target).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		cmd := string(out)
		if !strings.Contains(cmd, "./quality/cmd/quality") || strings.Contains(cmd, "-write") != write {
			t.Errorf("make %s runs %q; want the quality command with -write %v", target, cmd, write)
		}
	}
}
