package graphite

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxTargetBytes bounds a rendered target: it travels in the URL of a GET.
const MaxTargetBytes = 8 << 10

// Language is the template language of Graphite targets; the zero value
// is ready to use.
type Language struct{}

var _ metrics.Language = Language{}

// Validate checks a target template for scopes with these keys: the
// template rules every source shares (metrics/query.Parts), every
// variable a scope key or a window variable, every scope variable placed
// where a value can stand (inside a metric path after literal text, or
// inside a quoted string), and the target, filled in with sample values,
// one whole Graphite expression.
func (Language) Validate(expr string, scopeKeys []string) error {
	return query.ValidateParts(expr, scopeKeys, render)
}

// Render fills the target in for scope and w. A scope value is placed
// only as it is: it must consist of ASCII letters, digits, '_' and '-'
// (Graphite has no escape that its functions undo, and '.', '*', ',', a
// bracket or a quote would change which series the target reads), so a
// value that holds anything else is refused with an error naming it.
// Window variables read {{.step}} and {{.interval}} as Graphite intervals
// in seconds ("60s"), {{.start}} and {{.end}} as unix seconds.
func (Language) Render(expr string, scope metrics.Scope, w metrics.Window) (string, error) {
	return query.RenderParts(expr, scope, w, render)
}

// render places every part, checking each scope variable's place, and
// parses the result as one Graphite expression.
func render(parts []query.Part, scope metrics.Scope, w metrics.Window) (string, error) {
	var (
		b  strings.Builder
		sc scanner
	)
	for _, p := range parts {
		if p.Variable == "" {
			b.WriteString(p.Text)
			sc.feed(p.Text)
			continue
		}
		if query.IsWindowVar(p.Variable) {
			v, err := windowValue(p.Variable, w)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			sc.feed(v)
			continue
		}
		if err := sc.checkPlace(p.Variable); err != nil {
			return "", err
		}
		v, ok := scope[p.Variable]
		if !ok {
			return "", fmt.Errorf("query template: unknown variable {{.%s}}", p.Variable)
		}
		if err := checkValue(p.Variable, v); err != nil {
			return "", err
		}
		b.WriteString(v)
		sc.feed(v)
	}
	target := b.String()
	if len(target) > MaxTargetBytes {
		return "", fmt.Errorf("the target is %d bytes long, more than the %d a request carries", len(target), MaxTargetBytes)
	}
	if err := parseTarget(target); err != nil {
		return "", fmt.Errorf("graphite target %q: %w", target, err)
	}
	return target, nil
}

// checkValue refuses a scope value that is not made only of the
// characters that mean nothing to Graphite's syntax and functions.
func checkValue(name, v string) error {
	if v == "" {
		return fmt.Errorf("scope value for %s is empty, which in a Graphite target would read another metric path", name)
	}
	for _, r := range v {
		if !valueRune(r) {
			return fmt.Errorf("scope value %q for %s cannot be placed in a Graphite target: only ASCII letters, digits, '_' and '-' can be (Graphite has no escape for its paths and strings, and %q would change which series the target reads)", v, name, r)
		}
	}
	return nil
}

func valueRune(r rune) bool {
	return r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
}

func windowValue(name string, w metrics.Window) (string, error) {
	seconds := func(d time.Duration, what string) (string, error) {
		if d <= 0 || d%time.Second != 0 {
			return "", fmt.Errorf("query uses {{.%s}} but the window's %s, %s, is not a whole number of seconds (Graphite's resolution)", name, what, d)
		}
		return strconv.FormatInt(int64(d/time.Second), 10) + "s", nil
	}
	switch name {
	case query.VarStep:
		return seconds(w.Step, "step")
	case query.VarInterval:
		return seconds(w.End.Sub(w.Start), "length")
	case query.VarStart:
		return strconv.FormatInt(w.Start.Unix(), 10), nil
	default:
		return strconv.FormatInt(w.End.Unix(), 10), nil
	}
}

// scanner follows where in a target the text written so far ends: in
// code (and then the metric path being written, if any) or in a quoted
// string.
type scanner struct {
	quote   byte // the open string's quote, 0 in code
	escaped bool // the previous byte in a string was a backslash
	choice  bool // inside a {a,b} choice of a path
	// path is the metric path written so far at the end of the code: the
	// text since the last byte that ends one.
	path strings.Builder
}

func (s *scanner) feed(text string) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if s.quote != 0 {
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped = true
			case c == s.quote:
				s.quote = 0
			}
			continue
		}
		switch {
		case c == '"' || c == '\'':
			s.quote = c
			s.path.Reset()
		case c == '{' || c == '}':
			s.choice = c == '{'
			s.path.WriteByte(c)
		case c == ',' && s.choice:
			s.path.WriteByte(c)
		case strings.IndexByte("(),| \t\n\r", c) >= 0:
			s.choice = false
			s.path.Reset()
		default:
			s.path.WriteByte(c)
		}
	}
}

// checkPlace says whether a scope value may stand where the text ends:
// inside a quoted string (not right after a backslash), or inside a
// metric path after its first element, which the template wrote and which
// starts with a letter or '_' (a path with a dot can never read as a
// number, a boolean, a function or a keyword), outside a {a,b} choice and
// not after a $ (a template() parameter).
func (s *scanner) checkPlace(name string) error {
	if s.quote != 0 {
		if s.escaped {
			return fmt.Errorf("query template: scope variable {{.%s}} sits right after a backslash, which would join the value's first character to it", name)
		}
		return nil
	}
	path := s.path.String()
	switch {
	case path == "":
		return fmt.Errorf("query template: scope variable {{.%s}} stands alone; in a Graphite target put it inside a metric path after literal text (shop.{{.%s}}.requests) or inside a quoted string", name, name)
	case !(path[0] == '_' || ('a' <= path[0] && path[0] <= 'z') || ('A' <= path[0] && path[0] <= 'Z')):
		return fmt.Errorf("query template: scope variable {{.%s}} sits in a metric path that does not start with a letter (%q); start the path with literal text", name, path)
	case !strings.Contains(path, "."):
		return fmt.Errorf("query template: scope variable {{.%s}} sits in the first element of a metric path (%q), where it could name a function or a keyword; put it after a dot (shop.{{.%s}}.requests)", name, path, name)
	case strings.ContainsAny(path, "{}"):
		return fmt.Errorf("query template: scope variable {{.%s}} sits in a {a,b} choice of a metric path, where a value cannot be told from the choices", name)
	case strings.Contains(path, "$"):
		return fmt.Errorf("query template: scope variable {{.%s}} sits in a metric path with a $ parameter, which the value would rename", name)
	case strings.HasSuffix(path, `\`):
		return fmt.Errorf("query template: scope variable {{.%s}} sits right after a backslash, which would escape the value's first character", name)
	}
	return nil
}

// parseTarget checks that s is one whole Graphite target expression, by
// graphite-web's grammar (render/grammar.py): a function call or a metric
// path, then any number of "| call" pipes. Unlike graphite-web, which
// ignores whatever follows the longest expression it can read (so
// "sumSeries(a.b" quietly reads the metric "sumSeries"), the whole text
// must be the expression.
func parseTarget(s string) error {
	p := &parser{s: s}
	p.space()
	if err := p.expression(); err != nil {
		return err
	}
	p.space()
	if p.i < len(p.s) {
		return p.errorf("unexpected %q after the expression", p.s[p.i:])
	}
	return nil
}

type parser struct {
	s     string
	i     int
	depth int
}

// maxDepth bounds the nesting of calls, so a long target cannot exhaust
// the stack.
const maxDepth = 100

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// expression reads (call | path) { | call }.
func (p *parser) expression() error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return p.errorf("calls nested more than %d deep", maxDepth)
	}
	if p.atCall() {
		if err := p.call(); err != nil {
			return err
		}
	} else if err := p.path(); err != nil {
		return err
	}
	for {
		save := p.i
		p.space()
		if p.peek() != '|' {
			p.i = save
			return nil
		}
		p.i++
		p.space()
		if !p.atCall() {
			return p.errorf("want a function call after |")
		}
		if err := p.call(); err != nil {
			return err
		}
	}
}

// name reads [A-Za-z_][A-Za-z0-9_]* at i, returning its end (i when none).
func (p *parser) name(i int) int {
	if i >= len(p.s) || !(p.s[i] == '_' || isAlpha(p.s[i])) {
		return i
	}
	i++
	for i < len(p.s) && (p.s[i] == '_' || isAlpha(p.s[i]) || isDigit(p.s[i])) {
		i++
	}
	return i
}

func (p *parser) atCall() bool {
	end := p.name(p.i)
	if end == p.i {
		return false
	}
	for end < len(p.s) && (p.s[end] == ' ' || p.s[end] == '\t') {
		end++
	}
	return end < len(p.s) && p.s[end] == '('
}

// call reads name ( [args] [, kwargs] ).
func (p *parser) call() error {
	p.i = p.name(p.i)
	p.space()
	p.i++ // (
	p.space()
	if p.peek() == ')' {
		p.i++
		return nil
	}
	seenKwarg := false
	for {
		p.space()
		if end := p.name(p.i); end > p.i && p.kwargAt(end) {
			p.i = end
			p.space()
			p.i++ // =
			p.space()
			seenKwarg = true
		} else if seenKwarg {
			return p.errorf("a positional argument after a keyword argument")
		}
		if err := p.arg(); err != nil {
			return err
		}
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
			p.i++
			return nil
		case 0:
			return p.errorf("a call is not closed: want )")
		default:
			return p.errorf("want , or ) in a call, not %q", p.peek())
		}
	}
}

// kwargAt reports whether a name ending at end is followed by = (a
// keyword argument).
func (p *parser) kwargAt(end int) bool {
	for end < len(p.s) && (p.s[end] == ' ' || p.s[end] == '\t') {
		end++
	}
	return end < len(p.s) && p.s[end] == '='
}

// arg reads a string, a number, a boolean, none, inf or an expression.
func (p *parser) arg() error {
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		return p.str()
	case c == '-' || isDigit(c):
		if p.number() {
			return nil
		}
	}
	end := p.name(p.i)
	switch strings.ToLower(p.s[p.i:end]) {
	case "true", "false", "none", "inf":
		if p.argEnds(end) {
			p.i = end
			return nil
		}
	}
	return p.expression()
}

// argEnds reports whether an argument may end at i: before , ) or the end.
func (p *parser) argEnds(i int) bool {
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	return i == len(p.s) || p.s[i] == ',' || p.s[i] == ')'
}

// number reads -?\d+(\.\d+)?([eE]-?\d+)? when an argument ends after it.
func (p *parser) number() bool {
	i := p.i
	if i < len(p.s) && p.s[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(p.s) && isDigit(p.s[i]) {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i+1 < len(p.s) && p.s[i] == '.' && isDigit(p.s[i+1]) {
		i++
		digits()
	}
	if i < len(p.s) && (p.s[i] == 'e' || p.s[i] == 'E') {
		j := i
		i++
		if i < len(p.s) && p.s[i] == '-' {
			i++
		}
		if !digits() {
			i = j
		}
	}
	if !p.argEnds(i) {
		return false
	}
	p.i = i
	return true
}

// str reads a quoted string: backslash escapes any character (graphite-web
// keeps the backslash), no line breaks.
func (p *parser) str() error {
	quote := p.s[p.i]
	start := p.i
	p.i++
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '\\':
			p.i += 2
		case c == quote:
			p.i++
			return nil
		case c == '\n' || c == '\r':
			p.i = start
			return p.errorf("a string holds a line break")
		default:
			p.i++
		}
	}
	p.i = start
	return p.errorf("a string is not closed: want %c", quote)
}

// path reads element { . element }, an element being metric characters,
// \-escaped symbols and {a,b} choices.
func (p *parser) path() error {
	for {
		if err := p.element(); err != nil {
			return err
		}
		if p.peek() != '.' {
			return nil
		}
		p.i++
	}
}

// symbols are the characters that are not metric characters.
const symbols = `(){},.'"\|`

func metricChar(c byte) bool { return c > ' ' && c < 0x7f && strings.IndexByte(symbols, c) < 0 }

func (p *parser) element() error {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case metricChar(c):
			p.i++
		case c == '\\':
			if p.i+1 >= len(p.s) || (strings.IndexByte(symbols, p.s[p.i+1]) < 0 && p.s[p.i+1] != '=') {
				return p.errorf("a backslash in a metric path must escape one of %s or =", symbols)
			}
			p.i += 2
		case c == '{':
			if err := p.choice(); err != nil {
				return err
			}
		default:
			if p.i == start {
				if c == 0 {
					return p.errorf("want a metric path or a function call, found the end")
				}
				return p.errorf("want a metric path or a function call, not %q", c)
			}
			return nil
		}
	}
	if p.i == start {
		return p.errorf("want a metric path or a function call, found the end")
	}
	return nil
}

// choice reads {a,b,...}.
func (p *parser) choice() error {
	p.i++ // {
	for {
		start := p.i
		for p.i < len(p.s) && (metricChar(p.s[p.i]) || p.s[p.i] == '\\') {
			if p.s[p.i] == '\\' {
				p.i++
			}
			p.i++
		}
		if p.i == start {
			return p.errorf("an empty choice in {a,b}")
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.errorf("a {a,b} choice is not closed: want , or }")
		}
	}
}

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
