package main

import (
	"crypto/x509"
	"os"
	"runtime"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The container image (internal/ociimage) has no system certificate
// store: there, and only where the system has no roots, TLS to a source
// without its own tls.caFile verifies against the bundle of the Mozilla
// roots that the Go team publishes (golang.org/x/crypto/x509roots). A
// system with roots uses its own. The bundle is parsed only where it is
// needed: importing x509roots/fallback parses it at every start, some 7 ms
// of CPU before any command runs.

// linuxRootFiles and linuxRootDirs are where Go's crypto/x509 looks for
// the system's roots on Linux (root_linux.go).
var (
	linuxRootFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	linuxRootDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// useFallbackRoots gives crypto/x509 the bundle as its fallback roots
// when the system has none it would read.
func useFallbackRoots() {
	if !needFallbackRoots(runtime.GOOS, os.Getenv, fileExists) {
		return
	}
	x509.SetFallbackRoots(fallbackRoots())
}

// needFallbackRoots reports whether a process on goos, with this
// environment and file system, finds no system roots: on Linux, when
// neither SSL_CERT_FILE nor SSL_CERT_DIR is set and none of Go's
// locations exists. Elsewhere the bundle is always given (crypto/x509
// uses it only when the platform has no roots of its own).
func needFallbackRoots(goos string, getenv func(string) string, exists func(string) bool) bool {
	if goos != "linux" {
		return true
	}
	if getenv("SSL_CERT_FILE") != "" || getenv("SSL_CERT_DIR") != "" {
		return false
	}
	for _, p := range append(append([]string{}, linuxRootFiles...), linuxRootDirs...) {
		if exists(p) {
			return false
		}
	}
	return true
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// fallbackRoots parses the bundle into a pool, with each root's
// constraint, as x509roots/fallback does.
func fallbackRoots() *x509.CertPool {
	p := x509.NewCertPool()
	for c := range bundle.Roots() {
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			continue // the bundle's own tests parse every root
		}
		if c.Constraint == nil {
			p.AddCert(cert)
		} else {
			p.AddCertWithConstraint(cert, c.Constraint)
		}
	}
	return p
}
