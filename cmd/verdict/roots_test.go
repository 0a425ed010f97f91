package main

import (
	"testing"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

func TestNeedFallbackRoots(t *testing.T) {
	none := func(string) bool { return false }
	only := func(path string) func(string) bool { return func(p string) bool { return p == path } }
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name   string
		goos   string
		env    map[string]string
		exists func(string) bool
		want   bool
	}{
		{name: "an image without roots", goos: "linux", exists: none, want: true},
		{name: "Debian's bundle", goos: "linux", exists: only("/etc/ssl/certs/ca-certificates.crt"), want: false},
		{name: "Fedora's bundle", goos: "linux", exists: only("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"), want: false},
		{name: "a directory of roots", goos: "linux", exists: only("/etc/ssl/certs"), want: false},
		{name: "SSL_CERT_FILE", goos: "linux", env: map[string]string{"SSL_CERT_FILE": "/run/ca.pem"}, exists: none, want: false},
		{name: "SSL_CERT_DIR", goos: "linux", env: map[string]string{"SSL_CERT_DIR": "/run/certs"}, exists: none, want: false},
		{name: "another system", goos: "darwin", exists: only("/etc/ssl/cert.pem"), want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := noEnv
			if tc.env != nil {
				getenv = func(k string) string { return tc.env[k] }
			}
			if got := needFallbackRoots(tc.goos, getenv, tc.exists); got != tc.want {
				t.Errorf("needFallbackRoots = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFallbackRootsHoldTheBundle: every root of the bundle is in the pool.
func TestFallbackRootsHoldTheBundle(t *testing.T) {
	n := 0
	for range bundle.Roots() {
		n++
	}
	if n < 100 {
		t.Fatalf("the bundle has %d roots, want the Mozilla set (over 100)", n)
	}
	//lint:ignore SA1019 Subjects is the way to count a pool's certificates here
	if got := len(fallbackRoots().Subjects()); got != n {
		t.Errorf("pool holds %d roots, want the bundle's %d", got, n)
	}
}
