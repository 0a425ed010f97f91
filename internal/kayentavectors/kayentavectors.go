// Package kayentavectors finds the Kayenta conformance vectors for tests.
//
// The vectors (JSON files taken from the tests of spinnaker/kayenta, with
// values derived by an independent port) are not part of this repository:
// they live in the project's shared folder, conformance/kayenta, next to
// the module (../shared) or wherever VERDICT_SHARED_DIR says.
//
// The rule: when VERDICT_SHARED_DIR is set, the vectors must be there and
// a test that needs them fails without them (a CI that provides them sets
// it, so their loss cannot pass unnoticed). When it is not set, ../shared
// is tried, and a test skips with a message saying how to run it when the
// vectors are not there either, also under CI=true: a fresh clone of the
// repository does not have them, and cannot.
package kayentavectors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvDir names the variable that points to the shared folder.
const EnvDir = "VERDICT_SHARED_DIR"

// Dir returns the directory that holds the vectors (conformance/kayenta of
// the shared folder), or ends the test as the package doc says: a skip
// when nobody asked for them, a failure when VERDICT_SHARED_DIR did.
func Dir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("working directory: %v", err)
	}
	dir, err := locate(os.Getenv(EnvDir), wd)
	var missing *missingError
	switch {
	case errors.As(err, &missing) && !missing.asked:
		tb.Skip(err.Error())
	case err != nil:
		tb.Fatal(err.Error())
	}
	return dir
}

// missingError says the vectors were not found; asked tells whether
// VERDICT_SHARED_DIR pointed to them.
type missingError struct {
	dir   string
	asked bool
}

func (e *missingError) Error() string {
	if e.asked {
		return fmt.Sprintf("the Kayenta conformance vectors are not in %s, where %s says the shared folder is", e.dir, EnvDir)
	}
	return fmt.Sprintf("skipped: the Kayenta conformance vectors are not part of the repository and are not in %s; set %s to the shared folder that holds conformance/kayenta to run this test", e.dir, EnvDir)
}

// locate finds conformance/kayenta from the environment's shared folder
// (env, "" when unset) or, without one, from ../shared beside the module
// that holds wd. The directory must hold at least one .json file.
func locate(env, wd string) (string, error) {
	if env != "" {
		dir := filepath.Join(env, "conformance", "kayenta")
		if !hasVectors(dir) {
			return "", &missingError{dir: dir, asked: true}
		}
		return dir, nil
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
		root = parent
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "conformance", "kayenta")
	if !hasVectors(dir) {
		return "", &missingError{dir: dir}
	}
	return dir, nil
}

func hasVectors(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	return len(files) > 0
}
