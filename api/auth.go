package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
)

type role int

// Roles, each allowed what the ones before it are.
const (
	roleNone role = iota
	// roleRead reads: configs, analyses, reports, Kayenta status documents.
	roleRead
	// roleJudge also judges stored configs for the rollout controllers
	// (Argo, Flagger, Kayenta executions of a stored config) and the judge
	// API, but changes no config and runs no query a caller wrote. It is
	// the role for a token that has to sit in a URL (see bearer).
	roleJudge
	// roleWrite also stores and deletes configs, starts analyses of
	// inline configs and cancels analyses.
	roleWrite
)

// String is the role's name in the tokens file.
func (r role) String() string {
	switch r {
	case roleRead:
		return "read"
	case roleJudge:
		return "judge"
	case roleWrite:
		return "write"
	}
	return "none"
}

// Tokens are the bearer tokens the service accepts, each with a role. A
// server's tokens can be replaced while it serves (Replace: verdict serve
// rereads its tokens file on SIGHUP), so that a token is rotated without a
// restart.
type Tokens struct {
	entries atomic.Pointer[[]tokenEntry]
}

type tokenEntry struct {
	digest [sha256.Size]byte
	role   role
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.list())
}

func (t *Tokens) list() []tokenEntry {
	if e := t.entries.Load(); e != nil {
		return *e
	}
	return nil
}

// Replace makes the tokens those of next, for every request that starts
// from now on. A server started without tokens (no authentication) cannot
// be given some, nor can tokens be taken away: next must have tokens.
func (t *Tokens) Replace(next *Tokens) error {
	if t.Len() == 0 {
		return errors.New("the server was started without tokens; restart it to require them")
	}
	entries := next.list()
	if len(entries) == 0 {
		return errors.New("no tokens: the server would refuse every request")
	}
	t.entries.Store(&entries)
	return nil
}

// ParseTokens reads "role token" entries, one a line ("#" starts a
// comment); in env form entries may also be separated by commas and
// written "role:token". Roles are read, judge and write, each allowed
// what the ones before it are. origin names the input in errors.
func ParseTokens(origin, text string) (*Tokens, error) {
	var entries []tokenEntry
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(text, ",", "\n")))
	line := 0
	for sc.Scan() {
		line++
		entry := strings.TrimSpace(sc.Text())
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		fields := strings.Fields(entry)
		if len(fields) == 1 {
			if r, tok, ok := strings.Cut(entry, ":"); ok {
				fields = []string{r, tok}
			}
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s entry %d: want \"ROLE TOKEN\" (role read, judge or write)", origin, line)
		}
		var r role
		switch fields[0] {
		case "read":
			r = roleRead
		case "judge":
			r = roleJudge
		case "write":
			r = roleWrite
		default:
			return nil, fmt.Errorf("%s entry %d: %q is not a role (want read, judge or write)", origin, line, fields[0])
		}
		if len(fields[1]) < 16 {
			return nil, fmt.Errorf("%s entry %d: the token is shorter than 16 characters", origin, line)
		}
		entries = append(entries, tokenEntry{digest: sha256.Sum256([]byte(fields[1])), role: r})
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s has no tokens", origin)
	}
	t := &Tokens{}
	t.entries.Store(&entries)
	return t, nil
}

// LoadTokens reads a tokens file (see ParseTokens).
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the tokens file: %w", err)
	}
	return ParseTokens(path, string(data))
}

// roleOf returns the role of a token, comparing against every entry in
// constant time so that neither the match nor its position leaks.
func (t *Tokens) roleOf(token string) role {
	d := sha256.Sum256([]byte(token))
	found := roleNone
	for _, e := range t.list() {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 && e.role > found {
			found = e.role
		}
	}
	return found
}

// auth wraps a handler with the role it needs. Without tokens every
// request passes: guard applies the same-origin rule instead (serve
// refuses to listen beyond loopback then).
func (s *Server) auth(need role) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if s.opt.Tokens.Len() == 0 {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, basic, ok := credentials(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="verdict"`)
				writeError(w, http.StatusUnauthorized, "this endpoint needs a token (Authorization: Bearer TOKEN, or in the URL as https://verdict:TOKEN@host/ for a client that cannot set headers)")
				return
			}
			got := s.opt.Tokens.roleOf(token)
			switch {
			case got == roleNone:
				w.Header().Set("WWW-Authenticate", `Bearer realm="verdict", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, "the token is not valid")
				return
			case got < need:
				writeError(w, http.StatusForbidden, fmt.Sprintf("this endpoint needs a token with the %s role; this one has the %s role", need, got))
				return
			}
			// A browser that was once given a URL with credentials sends
			// them again by itself, to this server, from any page, as it
			// sends cookies: a request that acts with them must not come
			// from another site. A bearer token is never sent by itself.
			if basic && need >= roleJudge {
				if what := s.foreignOrigin(r); what != "" {
					s.metrics.refused("cross_site")
					writeError(w, http.StatusForbidden, what+": Basic credentials, which a browser sends by itself, may not judge or change anything from another site")
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
}

// credentials returns the token a request carries: Authorization: Bearer
// TOKEN, or Authorization: Basic with the token as the password (basic is
// then true; the user name is not read). Basic is how a client that cannot
// set headers carries a token: Flagger's webhooks and Argo Rollouts'
// kayenta provider take only a URL, and Go's HTTP client (theirs) turns
// the URL's user information (http://verdict:TOKEN@host/...) into this
// header, keeps it out of the request line that proxies and access logs
// record, and writes the URL without the password in its errors.
func credentials(r *http.Request) (token string, basic, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if !found {
		return "", false, false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token = strings.TrimSpace(token)
	case strings.EqualFold(scheme, "Basic"):
		_, token, _ = r.BasicAuth()
		basic = true
	default:
		return "", false, false
	}
	return token, basic, token != ""
}
