package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

type role int

const (
	roleNone role = iota
	roleRead
	roleWrite
)

// Tokens are the bearer tokens the service accepts, each with a role.
type Tokens struct {
	entries []tokenEntry
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
	return len(t.entries)
}

// ParseTokens reads "role token" entries, one a line ("#" starts a
// comment); in env form entries may also be separated by commas and
// written "role:token". Roles are read and write (write may also read).
// origin names the input in errors.
func ParseTokens(origin, text string) (*Tokens, error) {
	t := &Tokens{}
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
			return nil, fmt.Errorf("%s entry %d: want \"ROLE TOKEN\" (role read or write)", origin, line)
		}
		var r role
		switch fields[0] {
		case "read":
			r = roleRead
		case "write":
			r = roleWrite
		default:
			return nil, fmt.Errorf("%s entry %d: %q is not a role (want read or write)", origin, line, fields[0])
		}
		if len(fields[1]) < 16 {
			return nil, fmt.Errorf("%s entry %d: the token is shorter than 16 characters", origin, line)
		}
		t.entries = append(t.entries, tokenEntry{digest: sha256.Sum256([]byte(fields[1])), role: r})
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("%s has no tokens", origin)
	}
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
	for _, e := range t.entries {
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
			token, ok := bearer(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="verdict"`)
				writeError(w, http.StatusUnauthorized, "this endpoint needs a bearer token (Authorization: Bearer TOKEN)")
				return
			}
			got := s.opt.Tokens.roleOf(token)
			switch {
			case got == roleNone:
				w.Header().Set("WWW-Authenticate", `Bearer realm="verdict", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, "the bearer token is not valid")
				return
			case got < need:
				writeError(w, http.StatusForbidden, "this endpoint needs a token with the write role")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}
