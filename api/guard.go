package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// This file holds what a request passes before its handler (guard): the
// same-origin rule of the no-token mode, the bearer tokens (auth.go), the
// media types a write's body may have, and the budget of request body
// bytes held at once.
//
// Browsers send some requests to any site without asking it first (no
// CORS preflight): GETs, and POSTs whose Content-Type is text/plain,
// application/x-www-form-urlencoded or multipart/form-data, or none. So a
// web page an operator opens could judge, store or cancel through a server
// that has no tokens, and read its answers after pointing its own host
// name at 127.0.0.1 (DNS rebinding). Hence, without tokens, a request must
// be addressed to a loopback host, and one that judges or changes anything
// must not come from another origin; and with or without tokens, a write's
// body must have a media type that a browser only sends after a preflight,
// which this server never answers.

// bodyTypes are the media types a route's request body may have.
type bodyTypes []string

var (
	// jsonBody is every write's but a config's.
	jsonBody = bodyTypes{"application/json"}
	// configBody is PUT /api/v1/configs/{name}'s: the config text, YAML
	// or JSON.
	configBody = bodyTypes{"application/json", "application/yaml", "application/x-yaml", "text/yaml"}
)

// accept reports whether a Content-Type header names one of the types.
func (types bodyTypes) accept(ct string) bool {
	if slices.Contains(types, ct) {
		return true // the common case, without parameters: nothing to parse
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && slices.Contains(types, mt)
}

// guard returns the wrapper of a route that needs role need: without
// tokens the same-origin rule (sameOrigin), with tokens the token's role
// (auth); then, for writes, the body's media type (one of types) and the
// body budget (limitBodies).
func (s *Server) guard(need role, types bodyTypes) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if need >= roleJudge {
			h = s.acceptBody(types, s.limitBodies(h))
		}
		if s.opt.Tokens.Len() > 0 {
			return s.auth(need)(h)
		}
		return s.sameOrigin(need >= roleJudge, h)
	}
}

// sameOrigin is the rule of a server without tokens, which only listens on
// loopback: the request's Host must be a loopback name or address (or the
// external URL's host), so that a page whose host name resolves to
// 127.0.0.1 is refused; and a request that acts (judges or changes
// anything) must not be marked by the browser as coming from another site
// (Sec-Fetch-Site) or another origin (Origin). Clients other than browsers
// send neither header and pass.
func (s *Server) sameOrigin(acts bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := s.crossSite(r, acts); msg != "" {
			s.metrics.refused("cross_site")
			writeError(w, http.StatusForbidden, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// crossSite says why r is refused under the same-origin rule ("" when it
// is not).
func (s *Server) crossSite(r *http.Request, acts bool) string {
	if !s.ownHost(r.Host) {
		return fmt.Sprintf("Host %q is not a loopback name or address: without tokens verdict serve answers only requests addressed to 127.0.0.1, ::1 or localhost (or to --external-url's host)", r.Host)
	}
	if !acts {
		return ""
	}
	if what := s.foreignOrigin(r); what != "" {
		return what + ", and without tokens only this server's own pages and clients other than browsers may judge or change anything"
	}
	return ""
}

// foreignOrigin says how a browser marked r as coming from another site
// (Sec-Fetch-Site) or origin (Origin), "" when it did not: clients other
// than browsers send neither header.
func (s *Server) foreignOrigin(r *http.Request) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Sprintf("the browser marks this request Sec-Fetch-Site: %s", site)
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.ownOrigin(origin, r) {
		return fmt.Sprintf("Origin %q is not this server's", origin)
	}
	return ""
}

// ownHost reports whether a Host header names this server in the no-token
// mode: localhost, a loopback address, or the external URL's host. A
// request without Host (HTTP/1.0) does not come from a browser and passes.
func (s *Server) ownHost(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	return s.external != nil && strings.EqualFold(host, s.external.Hostname())
}

// ownOrigin reports whether an Origin header is this server's: the
// external URL's origin, or the request's own scheme and (checked) host.
func (s *Server) ownOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // "null" among others: a sandboxed or local document
	}
	if s.external != nil && u.Scheme == s.external.Scheme && strings.EqualFold(u.Host, s.external.Host) {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// acceptBody refuses with 415 a write whose Content-Type is not one of
// types, or that has a body and no Content-Type: the types a browser sends
// to another site without a preflight (text/plain, forms, none) are never
// among them. GET and HEAD read no body and pass.
func (s *Server) acceptBody(types bodyTypes, h http.Handler) http.Handler {
	want := strings.Join(types, " or ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		ct := r.Header.Get("Content-Type")
		if ct == "" && r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		msg := ""
		switch {
		case ct == "":
			msg = fmt.Sprintf("the request body has no Content-Type; send it as %s", want)
		case !types.accept(ct):
			msg = fmt.Sprintf("Content-Type %q is not accepted here; send the body as %s", ct, want)
		}
		if msg != "" {
			s.metrics.refused("content_type")
			writeError(w, http.StatusUnsupportedMediaType, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// inFlight counts the request body bytes held at once against a limit.
type inFlight struct {
	mu          sync.Mutex
	limit, held int64
	peak        int64 // the most held at once
}

// acquire takes n bytes if they fit under the limit.
func (f *inFlight) acquire(n int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held+n > f.limit {
		return false
	}
	f.held += n
	f.peak = max(f.peak, f.held)
	return true
}

func (f *inFlight) release(n int64) {
	f.mu.Lock()
	f.held -= n
	f.mu.Unlock()
}

// limitBodies charges a request with a body its Content-Length (MaxBody
// when it is unknown) from Limits.MaxBodiesInFlight until it has been
// answered: the memory a request takes (its body, the numbers parsed from
// it, the judgement's copies) grows with its body, so bounding the bodies
// held at once bounds the server's memory. A request that does not fit is
// refused at once with 503 and Retry-After, without reading its body; one
// larger than MaxBody with 413.
func (s *Server) limitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.ContentLength
		switch {
		case n == 0:
			h.ServeHTTP(w, r)
			return
		case n > s.opt.Limits.MaxBody:
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than the limit of %d bytes", s.opt.Limits.MaxBody))
			return
		case n < 0:
			n = s.opt.Limits.MaxBody
		}
		if !s.bodies.acquire(n) {
			s.metrics.refused("busy")
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the request bodies being served would exceed the server's limit of %d bytes; try again in a second", s.opt.Limits.MaxBodiesInFlight))
			return
		}
		defer s.bodies.release(n)
		h.ServeHTTP(w, r)
	})
}
