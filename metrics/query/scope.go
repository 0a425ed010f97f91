package query

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/verdict-aca/verdict/metrics"
)

// ParseScope reads a scope written K=V[,K=V] (track=canary,namespace=shop),
// as the command line's --baseline-scope and --canary-scope give it, and
// checks it with CheckScope. Spaces around a key are ignored; a key given
// twice is an error.
func ParseScope(s string) (metrics.Scope, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		return nil, fmt.Errorf("%q is a label selector; write the scope as K=V[,K=V], without braces or quotes (track=canary,namespace=shop)", s)
	}
	scope := metrics.Scope{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", pair)
		}
		if _, dup := scope[k]; dup {
			return nil, fmt.Errorf("%s is given twice", k)
		}
		scope[k] = v
	}
	if err := CheckScope(scope); err != nil {
		return nil, err
	}
	return scope, nil
}

// CheckScope reports the first entry of a scope (in key order) that a query
// would not read as the user meant:
//
//   - a key that is not an identifier (letters, digits and _, not starting
//     with a digit): keys are the templates' variables, {{.track}}, and
//     "track!" or "{scenario" are a matcher typed where a key belongs;
//   - a key reserved for the query window (interval, step, start, end);
//   - an empty value: track="" in PromQL and LogQL matches the series that
//     have no track label at all, not a deployment;
//   - a quoted value (scenario="healthy"): values are written bare, and
//     Verdict quotes and escapes them for the query, so the quotes would
//     become part of the value;
//   - a value that starts with ~ (scenario=~heal.*): a scope value is
//     matched exactly, never as a regular expression;
//   - spaces around a value ("track= canary"): no label value has them.
func CheckScope(scope metrics.Scope) error {
	for _, k := range slices.Sorted(maps.Keys(scope)) {
		if err := checkScopeEntry(k, scope[k]); err != nil {
			return err
		}
	}
	return nil
}

func checkScopeEntry(k, v string) error {
	switch {
	case !isIdentifier(k):
		return fmt.Errorf("key %q is not a template variable name (letters, digits and _, not starting with a digit, as in {{.track}})", k)
	case slices.Contains(windowVars, k):
		return fmt.Errorf("key %q is reserved for the query window (%s)", k, strings.Join(windowVars, ", "))
	case v == "" || strings.TrimSpace(v) == "":
		return fmt.Errorf("%s has an empty value, which in PromQL and LogQL matches the series without a %s label; give the value (%s=canary)", k, k, k)
	case strings.ContainsAny(v[:1], "\"'`"):
		return fmt.Errorf("the value of %s, %s, is quoted; write it bare (%s=%s): Verdict quotes and escapes values for the query itself", k, v, k, strings.Trim(v, "\"'`"))
	case v[0] == '~':
		return fmt.Errorf("the value of %s, %q, reads as a regular-expression matcher (=~), but a scope value is matched exactly", k, v)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("the value of %s, %q, has spaces around it; write it without them", k, v)
	}
	return nil
}

// isIdentifier reports whether s is an ASCII identifier: what a template
// variable ({{.name}}) and a Prometheus label name can both be.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
