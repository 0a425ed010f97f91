package main

// The container image (internal/ociimage) has no system certificate
// store: there, and only where the system has no roots, TLS to a source
// without its own tls.caFile verifies against this bundle of the Mozilla
// roots that the Go team publishes. A system with roots uses its own.
import _ "golang.org/x/crypto/x509roots/fallback"
