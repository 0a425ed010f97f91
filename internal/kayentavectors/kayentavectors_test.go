package kayentavectors

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	// A module at top/module with the shared folder beside it, and another
	// shared folder elsewhere.
	top := t.TempDir()
	module := filepath.Join(top, "module")
	pkg := filepath.Join(module, "judge", "kayenta")
	beside := filepath.Join(top, "shared", "conformance", "kayenta")
	elsewhere := filepath.Join(top, "elsewhere")
	for _, d := range []string{pkg, beside, filepath.Join(elsewhere, "conformance", "kayenta")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(module, "go.mod"), filepath.Join(beside, "classifier.json"), filepath.Join(elsewhere, "conformance", "kayenta", "scorer.json")} {
		if err := os.WriteFile(f, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bare := filepath.Join(top, "bare") // a clone without the shared folder beside it
	if err := os.MkdirAll(filepath.Join(bare, "clone", "judge"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "clone", "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, env, wd string
		want          string // the directory found; "" for an error
		asked         bool   // the error is a failure (VERDICT_SHARED_DIR was set)
	}{
		{"beside the module", "", pkg, beside, false},
		{"the environment wins", elsewhere, pkg, filepath.Join(elsewhere, "conformance", "kayenta"), false},
		{"a bare clone skips", "", filepath.Join(bare, "clone", "judge"), "", false},
		{"a wrong VERDICT_SHARED_DIR fails", filepath.Join(top, "nowhere"), pkg, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := locate(tt.env, tt.wd)
			if tt.want != "" {
				if err != nil || dir != tt.want {
					t.Fatalf("locate = %q, %v; want %q", dir, err, tt.want)
				}
				return
			}
			var missing *missingError
			if !errors.As(err, &missing) || missing.asked != tt.asked {
				t.Fatalf("locate = %q, %v; want a missingError with asked %v", dir, err, tt.asked)
			}
			if !tt.asked && !strings.Contains(err.Error(), "set VERDICT_SHARED_DIR to the shared folder") {
				t.Errorf("the skip message does not say how to run the test: %v", err)
			}
		})
	}
}
