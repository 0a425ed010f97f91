package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/internal/try"
)

func TestRunRefuses(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no prometheus
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown flag", []string{"--port", "1"}, 64, "flag provided but not defined: -port"},
		{"an argument", []string{"serve"}, 64, `unexpected argument "serve"`},
		{"no prometheus", []string{"--fixtures", "../../fixtures"}, 69, "sudo apt-get install prometheus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
		})
	}
}

// TestBanner: the banner names every server, the scenarios and configs, and
// prints each example with its expectation.
func TestBanner(t *testing.T) {
	env := &try.Env{PrometheusURL: "http://127.0.0.1:9090", LokiURL: "http://127.0.0.1:3100", ServeURL: "http://127.0.0.1:8080",
		Scenarios: []string{"healthy", "latency-regression"}, Configs: []string{"checkout", "checkout-release"},
		ServeCommand: []string{"bin/verdict", "serve", "--listen", "127.0.0.1:8080"}}
	b := Banner(env)
	for _, want := range []string{"http://127.0.0.1:9090", "http://127.0.0.1:3100", "http://127.0.0.1:8080/analyses",
		"healthy, latency-regression", "checkout, checkout-release", "bin/verdict serve --listen 127.0.0.1:8080"} {
		if !strings.Contains(b, want) {
			t.Errorf("the banner has no %q:\n%s", want, b)
		}
	}
	for _, ex := range try.Examples(env) {
		if !strings.Contains(b, ex.Command+"   # → "+ex.Expect) {
			t.Errorf("the banner has no line %q", ex.Command+"   # → "+ex.Expect)
		}
	}
	if strings.Contains(b, "was taken") {
		t.Errorf("the banner speaks of a taken port where none was:\n%s", b)
	}
}
