package influxdb

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/influxdata/influxql"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxQueryBytes bounds a rendered query: it travels in the URL of a GET.
const MaxQueryBytes = 8 << 10

// Language is the template language of InfluxQL queries; the zero value
// is ready to use.
type Language struct{}

var _ metrics.Language = Language{}

// Validate checks a query template for scopes with these keys: the
// template rules every source shares (metrics/query.Parts), every
// variable a scope key or a window variable, every scope variable inside
// a '...' string or a "..." identifier, and the query, filled in with
// sample values, one InfluxQL SELECT statement.
func (Language) Validate(expr string, scopeKeys []string) error {
	return query.ValidateParts(expr, scopeKeys, render)
}

// Render fills the query in for scope and w. A scope value is written
// inside the string or identifier the template placed it in, its
// backslashes, quotes and newlines escaped as InfluxQL reads them; the
// rendered query is parsed and compared with the template's own parse
// (see render), so a value can never change what the query means.
// Window variables read {{.step}} and {{.interval}} as InfluxQL durations
// ("60s", "1500ms"), {{.start}} and {{.end}} as epoch times in seconds
// ("1700000000s", which InfluxQL compares with time).
func (Language) Render(expr string, scope metrics.Scope, w metrics.Window) (string, error) {
	return query.RenderParts(expr, scope, w, render)
}

// lexContext is where a scanner stands in InfluxQL text.
type lexContext int

const (
	inCode lexContext = iota
	inString
	inIdent
	inRegex
	inLineComment
	inBlockComment
)

// scanner follows InfluxQL's lexical contexts through template text: its
// strings ('...'), quoted identifiers ("..."), regexes (/.../ where a
// regex can stand: after =~, !~, a comma, an opening parenthesis, FROM,
// BY or SELECT) and comments (-- to the line's end, /* ... */).
type scanner struct {
	ctx     lexContext
	escaped bool   // the previous rune was an escaping backslash
	last    string // the last significant token in code, upper-cased
	word    strings.Builder
}

func (s *scanner) feed(text string) {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		next := ""
		if i+size < len(text) {
			next = text[i+size : i+size+1]
		}
		i += size
		switch s.ctx {
		case inString, inIdent, inRegex:
			quote := closing(s.ctx)
			switch {
			case s.escaped:
				s.escaped = false
			case r == '\\':
				s.escaped = true
			case r == quote:
				s.ctx = inCode
				s.last = string(quote)
			}
		case inLineComment:
			if r == '\n' {
				s.ctx = inCode
			}
		case inBlockComment:
			if r == '*' && next == "/" {
				i++
				s.ctx = inCode
			}
		default:
			if isWordRune(r) {
				s.word.WriteRune(r)
				continue
			}
			s.endWord()
			switch {
			case r == '\'':
				s.ctx = inString
			case r == '"':
				s.ctx = inIdent
			case r == '-' && next == "-":
				i++
				s.ctx = inLineComment
			case r == '/' && next == "*":
				i++
				s.ctx = inBlockComment
			case r == '/' && regexMayFollow(s.last):
				s.ctx = inRegex
			case (r == '=' || r == '!') && next == "~":
				i++
				s.last = string(r) + "~"
			case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			default:
				s.last = string(r)
			}
		}
	}
}

// closing is the rune that ends a string, identifier or regex.
func closing(c lexContext) rune {
	switch c {
	case inString:
		return '\''
	case inIdent:
		return '"'
	}
	return '/'
}

// endWord records a finished word as the last token.
func (s *scanner) endWord() {
	if s.word.Len() > 0 {
		s.last = strings.ToUpper(s.word.String())
		s.word.Reset()
	}
}

func isWordRune(r rune) bool {
	return r == '_' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}

func regexMayFollow(last string) bool {
	switch last {
	case "=~", "!~", ",", "(", "FROM", "BY", "SELECT":
		return true
	}
	return false
}

// marker stands for scope value i in the template's own parse: no
// InfluxQL token holds it outside a string or quoted identifier, and no
// escape is needed inside one.
func marker(i int) string { return "\u27e6" + strconv.Itoa(i) + "\u27e7" }

// render places every part and proves the result means what the template
// means. It renders the query twice: once with the scope's values and
// once with a marker in place of each value, parses both with
// InfluxDB's InfluxQL parser, and requires the two parses to be the same
// tree, node for node, where each string, identifier and name of the
// marker parse reads as the value parse's once its markers are replaced by
// the values. A value that escaped its quotes would add, drop or change
// nodes; a marker found in a regex or lost (in a comment) is refused.
func render(parts []query.Part, scope metrics.Scope, w metrics.Window) (string, error) {
	var (
		out, marked strings.Builder
		sc          scanner
		values      []string
	)
	for _, p := range parts {
		if p.Variable == "" {
			out.WriteString(p.Text)
			marked.WriteString(p.Text)
			sc.feed(p.Text)
			continue
		}
		if query.IsWindowVar(p.Variable) {
			v := windowValue(p.Variable, w)
			if sc.ctx != inCode {
				return "", fmt.Errorf("query template: {{.%s}} stands inside a %s; write it in the query itself (GROUP BY time({{.step}}))", p.Variable, contextName(sc.ctx))
			}
			out.WriteString(v)
			marked.WriteString(v)
			sc.feed(v)
			continue
		}
		v, ok := scope[p.Variable]
		if !ok {
			return "", fmt.Errorf("query template: the scope has no value for {{.%s}}", p.Variable)
		}
		if !utf8.ValidString(v) {
			return "", fmt.Errorf("scope value of %s is not valid UTF-8", p.Variable)
		}
		if sc.escaped {
			return "", fmt.Errorf("query template: {{.%s}} follows a backslash, which would escape the value's first character", p.Variable)
		}
		switch sc.ctx {
		case inString:
			out.WriteString(escapeQuoted(v))
		case inIdent:
			out.WriteString(escapeQuoted(v))
		case inCode:
			return "", fmt.Errorf("query template: {{.%s}} stands outside a string; place it inside '...' (a tag value: WHERE \"track\" = '{{.%s}}') or \"...\" (an identifier), where its value can only be text", p.Variable, p.Variable)
		default:
			return "", fmt.Errorf("query template: {{.%s}} stands inside a %s, where a value cannot be made plain text; compare a tag with = '{{.%s}}' instead", p.Variable, contextName(sc.ctx), p.Variable)
		}
		marked.WriteString(marker(len(values)))
		values = append(values, v)
		// The scanner sees a neutral stand-in: the value is text inside
		// the quotes.
		sc.feed("x")
	}
	if sc.ctx != inCode && sc.ctx != inLineComment {
		return "", fmt.Errorf("query: a %s is not closed", contextName(sc.ctx))
	}
	rendered := out.String()
	if len(rendered) > MaxQueryBytes {
		return "", fmt.Errorf("query is %d bytes once rendered, more than %d", len(rendered), MaxQueryBytes)
	}
	stmt, err := parseSelect(rendered)
	if err != nil {
		return "", err
	}
	template, err := parseSelect(marked.String())
	if err != nil {
		return "", fmt.Errorf("query template: %w", err)
	}
	if err := sameMeaning(template, stmt, values); err != nil {
		return "", err
	}
	return rendered, nil
}

// escapeQuoted writes v for the inside of an InfluxQL '...' string or
// "..." identifier: InfluxQL's scanner reads \\, \', \" and \n as the
// characters and ends either at a raw newline.
func escapeQuoted(v string) string { return quotedEscapes.Replace(v) }

// quotedEscapes is escapeQuoted's replacer (safe for concurrent use).
var quotedEscapes = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`)

func contextName(c lexContext) string {
	switch c {
	case inString:
		return "'...' string"
	case inIdent:
		return `"..." identifier`
	case inRegex:
		return "/.../ regex"
	case inLineComment, inBlockComment:
		return "comment"
	}
	return "query"
}

// parseSelect parses q as exactly one SELECT statement that writes
// nothing (no INTO).
func parseSelect(q string) (*influxql.SelectStatement, error) {
	parsed, err := influxql.ParseQuery(q)
	if err != nil {
		return nil, fmt.Errorf("InfluxQL: %w", err)
	}
	if len(parsed.Statements) != 1 {
		return nil, fmt.Errorf("InfluxQL: want one SELECT statement, found %d statements", len(parsed.Statements))
	}
	stmt, ok := parsed.Statements[0].(*influxql.SelectStatement)
	if !ok {
		return nil, fmt.Errorf("InfluxQL: want a SELECT statement, found %s", strings.SplitN(parsed.Statements[0].String(), " ", 2)[0])
	}
	if stmt.Target != nil {
		return nil, fmt.Errorf("InfluxQL: SELECT ... INTO writes data; a signal's query only reads")
	}
	return stmt, nil
}

// sameMeaning compares the template's parse (markers for values) with the
// rendered query's, node by node (see render).
func sameMeaning(template, rendered *influxql.SelectStatement, values []string) error {
	pairs := make([]string, 0, 2*len(values))
	for i, v := range values {
		pairs = append(pairs, marker(i), v)
	}
	fill := strings.NewReplacer(pairs...)
	want, got := signature(template), signature(rendered)
	found := make([]bool, len(values))
	for _, e := range want {
		for i := range values {
			if strings.Contains(e.text, marker(i)) {
				if e.regex {
					return fmt.Errorf("query template: a scope value stands inside a regex, where it could match other series; compare a tag with = '...' instead")
				}
				found[i] = true
			}
		}
	}
	for i, ok := range found {
		if !ok {
			return fmt.Errorf("query template: scope value %d is not read by the query (it stands in a comment)", i+1)
		}
	}
	if len(want) != len(got) {
		return fmt.Errorf("a scope value changes the query: it parses as %d parts, not the template's %d", len(got), len(want))
	}
	for i := range want {
		if want[i].kind != got[i].kind || fill.Replace(want[i].text) != got[i].text {
			return fmt.Errorf("a scope value changes the query: the template's %s %q reads as %s %q", want[i].kind, fill.Replace(want[i].text), got[i].kind, got[i].text)
		}
	}
	return nil
}

// entry is one node of a parse as sameMeaning compares it.
type entry struct {
	kind  string
	text  string
	regex bool
}

// signature lists a statement's nodes in walk order, each with its type
// and the text it holds: a string, a name, an identifier, an operator,
// and the statement's own clauses (fill, limits).
func signature(stmt *influxql.SelectStatement) []entry {
	var out []entry
	influxql.WalkFunc(stmt, func(n influxql.Node) {
		e := entry{kind: reflect.TypeOf(n).String()}
		switch n := n.(type) {
		case *influxql.SelectStatement:
			e.text = fmt.Sprintf("fill=%d:%v limit=%d,%d slimit=%d,%d tz=%v", n.Fill, n.FillValue, n.Limit, n.Offset, n.SLimit, n.SOffset, n.Location)
		case *influxql.StringLiteral:
			e.text = n.Val
		case *influxql.VarRef:
			e.text = n.Val + "::" + n.Type.String()
		case *influxql.Measurement:
			e.text = n.Database + "\x00" + n.RetentionPolicy + "\x00" + n.Name + "\x00" + n.SystemIterator
			if n.Regex != nil {
				e.text += "\x00" + n.Regex.Val.String()
				e.regex = true
			}
		case *influxql.RegexLiteral:
			e.text = n.Val.String()
			e.regex = true
		case *influxql.Field:
			e.text = n.Alias
		case *influxql.Call:
			e.text = n.Name
		case *influxql.BinaryExpr:
			e.text = n.Op.String()
		case *influxql.SortField:
			e.text = fmt.Sprintf("%s %v", n.Name, n.Ascending)
		case influxql.Literal:
			e.text = n.String()
		}
		out = append(out, e)
	})
	return out
}

// windowValue writes a window variable as InfluxQL reads it.
func windowValue(name string, w metrics.Window) string {
	switch name {
	case "step":
		return durationLiteral(query.Step(w))
	case "interval":
		return durationLiteral(w.End.Sub(w.Start))
	case "start":
		return strconv.FormatInt(w.Start.Unix(), 10) + "s"
	default: // end
		return strconv.FormatInt(w.End.Unix(), 10) + "s"
	}
}

// durationLiteral writes d in whole seconds, else whole milliseconds
// (InfluxQL's duration literals take one unit).
func durationLiteral(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}
