package store

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
)

// Bounds of the scopes stored for lists: a scope comes from whoever asked
// for the analysis (the whole request is kept in Request), and a list of
// a thousand analyses must stay small.
const (
	// ScopeKeys is the most keys kept per side; the rest are dropped, in
	// key order, and counted under the key "…".
	ScopeKeys = 16
	// ScopeText is the most bytes kept of a key or a value; a cut one ends
	// with "…".
	ScopeText = 64
)

// CutScopes returns s cut to ScopeKeys keys of ScopeText bytes per side
// (s itself when it fits; nil for nil).
func CutScopes(s *analysis.Scopes) *analysis.Scopes {
	if s == nil || fits(s.Baseline) && fits(s.Canary) {
		return s
	}
	return &analysis.Scopes{Baseline: cutScope(s.Baseline), Canary: cutScope(s.Canary)}
}

func fits(sc metrics.Scope) bool {
	if len(sc) > ScopeKeys {
		return false
	}
	for k, v := range sc {
		if len(k) > ScopeText || len(v) > ScopeText {
			return false
		}
	}
	return true
}

func cutScope(sc metrics.Scope) metrics.Scope {
	keys := slices.Sorted(maps.Keys(sc))
	out := make(metrics.Scope, min(len(keys), ScopeKeys+1))
	for i, k := range keys {
		if i == ScopeKeys {
			out["…"] = fmt.Sprintf("%d more", len(keys)-ScopeKeys)
			break
		}
		out[cutText(k)] = cutText(sc[k])
	}
	return out
}

func cutText(s string) string {
	if len(s) <= ScopeText {
		return s
	}
	cut := ScopeText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// encodeScopes is the scopes column: JSON, or NULL for none.
func encodeScopes(s *analysis.Scopes) []byte {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	return b
}

// decodeScopes reads the scopes column; NULL or unreadable is nil.
func decodeScopes(b []byte) *analysis.Scopes {
	if len(b) == 0 {
		return nil
	}
	var s analysis.Scopes
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return &s
}

// finalProgress is an outcome's progress as column values (nil: keep).
func finalProgress(o Outcome) (done, total *int) {
	if o.Progress == nil {
		return nil, nil
	}
	return &o.Progress.Done, &o.Progress.Total
}
