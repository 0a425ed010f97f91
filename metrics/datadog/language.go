package datadog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxQueryBytes bounds a rendered query: it travels in the URL of a GET.
const MaxQueryBytes = 8 << 10

// MaxValueBytes is the longest scope value a query takes: Datadog keeps a
// tag to 200 characters.
const MaxValueBytes = 200

// Language is the template language of Datadog metric queries; the zero
// value is ready to use.
type Language struct{}

var _ metrics.Language = Language{}

// Validate checks a query template for scopes with these keys: the
// template rules every source shares (metrics/query.Parts), every
// variable a scope key or a window variable, and every scope variable
// placed as (part of) a tag's value inside a {...} tag filter, after the
// tag's key and its colon (checkout.errors{track:{{.track}}}).
func (Language) Validate(expr string, scopeKeys []string) error {
	return query.ValidateParts(expr, scopeKeys, render)
}

// Render fills the query in for scope and w. A scope value is placed only
// as it is, and only inside a tag filter's value: it must consist of
// ASCII letters, digits, '_', '-', '.' and '/' (Datadog's query language
// has no quoting or escape for a tag value, and ',', ' ', '*', '!', ':',
// a brace or a parenthesis would change which series the query reads),
// at most MaxValueBytes long; any other value is refused with an error
// naming it. Window variables read {{.step}} and {{.interval}} as whole
// seconds ("60", for .rollup(sum, {{.step}})), {{.start}} and {{.end}} as
// unix seconds.
func (Language) Render(expr string, scope metrics.Scope, w metrics.Window) (string, error) {
	return query.RenderParts(expr, scope, w, render)
}

func render(parts []query.Part, scope metrics.Scope, w metrics.Window) (string, error) {
	var (
		b  strings.Builder
		sc scanner
	)
	for _, p := range parts {
		switch {
		case p.Variable == "":
			b.WriteString(p.Text)
			sc.feed(p.Text)
		case query.IsWindowVar(p.Variable):
			if sc.braces > 0 {
				return "", fmt.Errorf("query template: window variable {{.%s}} sits inside a {...} tag filter, where a number means nothing", p.Variable)
			}
			v, err := windowValue(p.Variable, w)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			sc.feed(v)
		default:
			if err := sc.checkPlace(p.Variable); err != nil {
				return "", err
			}
			v, ok := scope[p.Variable]
			if !ok {
				return "", fmt.Errorf("query template: unknown variable {{.%s}}", p.Variable)
			}
			if err := CheckValue(p.Variable, v); err != nil {
				return "", err
			}
			b.WriteString(v)
			sc.feed(v)
		}
	}
	q := b.String()
	if err := sc.finish(); err != nil {
		return "", fmt.Errorf("datadog query %q: %w", q, err)
	}
	if len(q) > MaxQueryBytes {
		return "", fmt.Errorf("the query is %d bytes long, more than the %d a request carries", len(q), MaxQueryBytes)
	}
	return q, nil
}

// CheckValue refuses a scope value that Datadog's query language cannot
// hold as a tag value without changing what the query reads.
func CheckValue(name, v string) error {
	if v == "" {
		return fmt.Errorf("scope value for %s is empty, which in a Datadog tag filter would match another tag", name)
	}
	if len(v) > MaxValueBytes {
		return fmt.Errorf("scope value for %s is %d bytes long; a Datadog tag value is at most %d", name, len(v), MaxValueBytes)
	}
	for _, r := range v {
		if !valueRune(r) {
			return fmt.Errorf("scope value %q for %s cannot be placed in a Datadog query: only ASCII letters, digits, '_', '-', '.' and '/' can be (Datadog has no quoting for tag values, and %q would change which series the query reads)", v, name, r)
		}
	}
	return nil
}

func valueRune(r rune) bool {
	return r == '_' || r == '-' || r == '.' || r == '/' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
}

func keyRune(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '/' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func windowValue(name string, w metrics.Window) (string, error) {
	seconds := func(d time.Duration, what string) (string, error) {
		if d <= 0 || d%time.Second != 0 {
			return "", fmt.Errorf("query uses {{.%s}} but the window's %s, %s, is not a whole number of seconds (Datadog's resolution)", name, what, d)
		}
		return strconv.FormatInt(int64(d/time.Second), 10), nil
	}
	switch name {
	case query.VarStep:
		return seconds(query.Step(w), "step")
	case query.VarInterval:
		return seconds(w.End.Sub(w.Start), "length")
	case query.VarStart:
		return strconv.FormatInt(w.Start.Unix(), 10), nil
	default:
		return strconv.FormatInt(w.End.Unix(), 10), nil
	}
}

// scanner follows where in a query the text written so far ends: inside
// a {...} tag filter or not, and the tag filter's element being written.
type scanner struct {
	braces int // open {: 0 or 1 (Datadog does not nest them)
	parens int
	// elem is the tag filter's element written so far: the text since the
	// last '{', ',', space or parenthesis inside the braces.
	elem strings.Builder
	err  error
}

func (s *scanner) feed(text string) {
	for i := 0; i < len(text) && s.err == nil; i++ {
		c := text[i]
		switch c {
		case '{':
			if s.braces > 0 {
				s.err = fmt.Errorf("a { inside a {...} tag filter")
			}
			s.braces++
			s.elem.Reset()
		case '}':
			if s.braces == 0 {
				s.err = fmt.Errorf("a } closes no {")
			}
			s.braces--
			s.elem.Reset()
		case '(':
			s.parens++
			s.elem.Reset()
		case ')':
			if s.parens == 0 {
				s.err = fmt.Errorf("a ) closes no (")
			}
			s.parens--
			s.elem.Reset()
		case ',', ' ', '\t', '\n', '\r':
			s.elem.Reset()
		default:
			s.elem.WriteByte(c)
		}
	}
}

func (s *scanner) finish() error {
	switch {
	case s.err != nil:
		return s.err
	case s.braces != 0:
		return fmt.Errorf("a { is not closed")
	case s.parens != 0:
		return fmt.Errorf("a ( is not closed")
	}
	return nil
}

// checkPlace says whether a scope value may stand where the text ends: in
// a tag filter's element that the template started with a tag key and a
// colon (track: or !track:, possibly followed by the start of the value).
func (s *scanner) checkPlace(name string) error {
	if s.err != nil {
		return s.err
	}
	if s.braces == 0 {
		return fmt.Errorf("query template: scope variable {{.%s}} stands outside a {...} tag filter; in a Datadog query put it in a tag's value: metric{%s:{{.%s}}}", name, name, name)
	}
	elem := strings.TrimPrefix(s.elem.String(), "!")
	key, value, ok := strings.Cut(elem, ":")
	if !ok || key == "" || !(('a' <= key[0] && key[0] <= 'z') || ('A' <= key[0] && key[0] <= 'Z')) {
		return fmt.Errorf("query template: scope variable {{.%s}} does not follow a tag key and its colon (%q); in a Datadog query put it in a tag's value: metric{%s:{{.%s}}}", name, elem, name, name)
	}
	for i := 0; i < len(key); i++ {
		if !keyRune(key[i]) {
			return fmt.Errorf("query template: scope variable {{.%s}} follows %q, which is not a tag key and its colon", name, elem)
		}
	}
	for i := 0; i < len(value); i++ {
		if !keyRune(value[i]) && value[i] != '*' && value[i] != ':' {
			return fmt.Errorf("query template: scope variable {{.%s}} follows %q inside a tag value, which is not plain tag text", name, elem)
		}
	}
	return nil
}
