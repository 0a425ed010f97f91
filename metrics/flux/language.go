package flux

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxQueryBytes bounds a rendered query.
const MaxQueryBytes = 32 << 10

// Language is the template language of Flux queries; the zero value is
// ready to use.
type Language struct{}

var _ metrics.Language = Language{}

// Validate checks a query template for scopes with these keys: the
// template rules every source shares (metrics/query.Parts), every
// variable a scope key or a window variable, {{.start}} and {{.end}} both
// used (the query's range), every scope variable inside a "..." string
// and every window variable outside one, and the query, filled in with
// sample values, one whose strings, comments and regular expressions
// close.
func (Language) Validate(expr string, scopeKeys []string) error {
	for _, k := range scopeKeys {
		if query.IsWindowVar(k) {
			return fmt.Errorf("scope key %q is reserved for the query window", k)
		}
	}
	parts, err := query.Parts(expr)
	if err != nil {
		return err
	}
	sample := metrics.Scope{}
	uses := map[string]bool{}
	for _, p := range parts {
		uses[p.Variable] = true
		if p.Variable == "" || query.IsWindowVar(p.Variable) {
			continue
		}
		if !slices.Contains(scopeKeys, p.Variable) {
			return fmt.Errorf("query template: unknown variable {{.%s}} (scope has %s; window has %s)",
				p.Variable, listOrNone(scopeKeys), strings.Join(query.WindowVars(), ", "))
		}
		sample[p.Variable] = "x"
	}
	if !uses[query.VarStart] || !uses[query.VarEnd] {
		return errors.New("query template: a Flux query reads the analysis window through {{.start}} and {{.end}}: write |> range(start: {{.start}}, stop: {{.end}})")
	}
	end := time.Unix(1_000_000_020, 0)
	_, err = render(parts, sample, metrics.Window{Start: end.Add(-time.Hour), End: end, Step: time.Minute})
	return err
}

// Render fills the query in for scope and w. A scope value is written
// inside the "..." string the template placed it in, escaped as Flux
// reads strings: \\ and \" for a backslash and a quote, \n, \r and \t,
// and \xNN for '$', '{' and every other control byte, so that no value
// can open an interpolation (${...}), close the string or end an escape
// the template started. Window variables are Flux literals:
// {{.start}} and {{.end}} RFC 3339 times (2026-01-02T03:04:05Z),
// {{.step}} and {{.interval}} durations (60s, 1500ms).
func (Language) Render(expr string, scope metrics.Scope, w metrics.Window) (string, error) {
	parts, err := query.Parts(expr)
	if err != nil {
		return "", err
	}
	return render(parts, scope, w)
}

// render places every part, checking each variable's place, and then
// checks that the query reads as the same tokens with every value
// replaced by "x": the same code, the same strings, comments and regular
// expressions, only the strings' contents differing.
func render(parts []query.Part, scope metrics.Scope, w metrics.Window) (string, error) {
	var b, shadow strings.Builder
	for _, p := range parts {
		switch {
		case p.Variable == "":
			b.WriteString(p.Text)
			shadow.WriteString(p.Text)
		case query.IsWindowVar(p.Variable):
			st, err := lex(b.String())
			if err != nil {
				return "", err
			}
			if st.mode != modeCode {
				return "", fmt.Errorf("query template: window variable {{.%s}} stands inside a %s; write it in code (range(start: {{.start}}, stop: {{.end}}))", p.Variable, st.mode)
			}
			v, err := windowValue(p.Variable, w)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			shadow.WriteString(v)
		default:
			st, err := lex(b.String())
			if err != nil {
				return "", err
			}
			if st.mode != modeString {
				return "", fmt.Errorf("query template: scope variable {{.%s}} stands in a Flux %s, where a value would be read as Flux; put it inside a string: r.track == \"{{.%s}}\"", p.Variable, st.mode, p.Variable)
			}
			if st.pendingEscape {
				return "", fmt.Errorf("query template: scope variable {{.%s}} follows a backslash, which would escape the value's first character", p.Variable)
			}
			v, ok := scope[p.Variable]
			if !ok {
				return "", fmt.Errorf("query template: unknown variable {{.%s}}", p.Variable)
			}
			quoted, err := quoteValue(p.Variable, v)
			if err != nil {
				return "", err
			}
			b.WriteString(quoted)
			shadow.WriteString("x")
		}
	}
	rendered := b.String()
	if len(rendered) > MaxQueryBytes {
		return "", fmt.Errorf("the query is %d bytes long, more than the %d a request carries", len(rendered), MaxQueryBytes)
	}
	got, err := lex(rendered)
	if err != nil {
		return "", fmt.Errorf("flux query: %w", err)
	}
	if got.mode != modeCode {
		return "", fmt.Errorf("flux query: a %s is not closed", got.mode)
	}
	want, err := lex(shadow.String())
	if err != nil {
		return "", fmt.Errorf("flux query: %w", err)
	}
	if !sameShape(got.tokens, want.tokens) {
		return "", errors.New("flux query: a scope value changes how the query reads")
	}
	return rendered, nil
}

// quoteValue escapes a scope value for a Flux string literal.
func quoteValue(name, v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("scope value for %s is not valid UTF-8", name)
	}
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '$' || r == '{' || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func windowValue(name string, w metrics.Window) (string, error) {
	switch name {
	case query.VarStart:
		return w.Start.UTC().Format(time.RFC3339Nano), nil
	case query.VarEnd:
		return w.End.UTC().Format(time.RFC3339Nano), nil
	case query.VarStep:
		return durationLiteral(name, w.Step)
	default:
		return durationLiteral(name, w.End.Sub(w.Start))
	}
}

// durationLiteral writes d as a Flux duration literal.
func durationLiteral(name string, d time.Duration) (string, error) {
	switch {
	case d <= 0:
		return "", fmt.Errorf("query uses {{.%s}} but it is %s, not a positive duration", name, d)
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s", nil
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms", nil
	default:
		return strconv.FormatInt(int64(d), 10) + "ns", nil
	}
}

func listOrNone(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}
