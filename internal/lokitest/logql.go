package lokitest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// node is a parsed query: *logSelector, *rangeAgg or *sumAgg.
type node interface{}

// logSelector is a stream selector and its line filters.
type logSelector struct {
	matchers []matcher
	filters  []lineFilter
}

type matcher struct {
	name, op, value string
	re              *regexp.Regexp
}

type lineFilter struct {
	op, text string
	re       *regexp.Regexp
}

// rangeAgg is count_over_time or rate over a log range.
type rangeAgg struct {
	fn  string
	sel *logSelector
	rng time.Duration
}

// sumAgg is sum [by (labels)] of a metric query.
type sumAgg struct {
	by    []string
	inner node
}

func (s *logSelector) matchesStream(labels map[string]string) bool {
	for _, m := range s.matchers {
		v := labels[m.name]
		var ok bool
		switch m.op {
		case "=":
			ok = v == m.value
		case "!=":
			ok = v != m.value
		case "=~":
			ok = m.re.MatchString(v)
		case "!~":
			ok = !m.re.MatchString(v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *logSelector) matchesLine(line string) bool {
	for _, f := range s.filters {
		var ok bool
		switch f.op {
		case "|=":
			ok = strings.Contains(line, f.text)
		case "!=":
			ok = !strings.Contains(line, f.text)
		case "|~":
			ok = f.re.MatchString(line)
		case "!~":
			ok = !f.re.MatchString(line)
		}
		if !ok {
			return false
		}
	}
	return true
}

// parse reads the LogQL this server knows; its errors read as Loki's.
func parse(q string) (node, error) {
	p := &parser{src: q}
	n, err := p.query()
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokEOF {
		return nil, p.unexpected(t, "")
	}
	return n, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokDuration
	tokPunct // { } ( ) , and the operators = != =~ !~ |= |~ |
	tokError
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, the string's value, the duration's text
	pos  int
}

type parser struct {
	src string
	pos int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && strings.ContainsRune(" \t\r\n", rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *parser) peek() token {
	save := p.pos
	t := p.next()
	p.pos = save
	return t
}

func (p *parser) next() token {
	p.skipSpace()
	start := p.pos
	if p.pos >= len(p.src) {
		return token{kind: tokEOF, pos: start}
	}
	c := p.src[p.pos]
	switch {
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for p.pos < len(p.src) && (p.src[p.pos] == '_' || p.src[p.pos] >= 'a' && p.src[p.pos] <= 'z' || p.src[p.pos] >= 'A' && p.src[p.pos] <= 'Z' || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
			p.pos++
		}
		return token{kind: tokIdent, text: p.src[start:p.pos], pos: start}
	case c == '"' || c == '`':
		end := start + 1
		for end < len(p.src) && p.src[end] != c {
			if c == '"' && p.src[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.src) {
			p.pos = len(p.src)
			return token{kind: tokError, text: "unterminated string", pos: start}
		}
		p.pos = end + 1
		v, err := strconv.Unquote(p.src[start:p.pos])
		if err != nil {
			return token{kind: tokError, text: "invalid string " + p.src[start:p.pos], pos: start}
		}
		return token{kind: tokString, text: v, pos: start}
	case c == '[':
		end := strings.IndexByte(p.src[start:], ']')
		if end < 0 {
			p.pos = len(p.src)
			return token{kind: tokError, text: "unterminated range", pos: start}
		}
		p.pos = start + end + 1
		return token{kind: tokDuration, text: strings.TrimSpace(p.src[start+1 : start+end]), pos: start}
	}
	for _, op := range []string{"!=", "=~", "!~", "|=", "|~", "=", "|", "{", "}", "(", ")", ","} {
		if strings.HasPrefix(p.src[start:], op) {
			p.pos += len(op)
			return token{kind: tokPunct, text: op, pos: start}
		}
	}
	p.pos++
	return token{kind: tokError, text: "unexpected character " + strconv.QuoteRune(rune(c)), pos: start}
}

func (p *parser) unexpected(t token, expecting string) error {
	what := "unexpected " + t.text
	switch t.kind {
	case tokEOF:
		what = "unexpected $end"
	case tokString:
		what = "unexpected STRING"
	case tokDuration:
		what = "unexpected RANGE"
	case tokError:
		what = t.text
	}
	if expecting != "" {
		what += ", expecting " + expecting
	}
	return fmt.Errorf("parse error at line 1, col %d: syntax error: %s", t.pos+1, what)
}

func (p *parser) expect(text string) error {
	t := p.next()
	if t.kind != tokPunct || t.text != text {
		return p.unexpected(t, text)
	}
	return nil
}

func (p *parser) query() (node, error) {
	t := p.peek()
	switch {
	case t.kind == tokPunct && t.text == "{":
		return p.logSelector()
	case t.kind == tokIdent && t.text == "sum":
		return p.sum()
	case t.kind == tokIdent && (t.text == "count_over_time" || t.text == "rate"):
		return p.rangeAgg()
	case t.kind == tokIdent:
		return nil, fmt.Errorf("lokitest: %s is LogQL this test server does not evaluate (it knows sum, count_over_time and rate)", t.text)
	}
	return nil, p.unexpected(p.next(), "")
}

func (p *parser) sum() (node, error) {
	p.next() // sum
	var by []string
	var err error
	if t := p.peek(); t.kind == tokIdent {
		if by, err = p.grouping(); err != nil {
			return nil, err
		}
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	inner, err := p.query()
	if err != nil {
		return nil, err
	}
	if _, ok := inner.(*logSelector); ok {
		return nil, fmt.Errorf("parse error : invalid aggregation sum without unwrap")
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokIdent && by == nil {
		if by, err = p.grouping(); err != nil {
			return nil, err
		}
	}
	return &sumAgg{by: by, inner: inner}, nil
}

func (p *parser) grouping() ([]string, error) {
	t := p.next()
	if t.text == "without" {
		return nil, fmt.Errorf("lokitest: sum without (...) is LogQL this test server does not evaluate")
	}
	if t.text != "by" {
		return nil, p.unexpected(t, "by")
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	by := []string{}
	for {
		t := p.next()
		if t.kind == tokPunct && t.text == ")" && len(by) == 0 {
			return by, nil
		}
		if t.kind != tokIdent {
			return nil, p.unexpected(t, "IDENTIFIER")
		}
		by = append(by, t.text)
		t = p.next()
		if t.kind == tokPunct && t.text == ")" {
			return by, nil
		}
		if t.kind != tokPunct || t.text != "," {
			return nil, p.unexpected(t, ") or ,")
		}
	}
}

func (p *parser) rangeAgg() (node, error) {
	fn := p.next().text
	if err := p.expect("("); err != nil {
		return nil, err
	}
	sel, err := p.logSelector()
	if err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tokDuration {
		return nil, p.unexpected(t, "RANGE")
	}
	d, err := model.ParseDuration(t.text)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("parse error at line 1, col %d: syntax error: invalid range [%s]", t.pos+1, t.text)
	}
	if err := p.filters(sel); err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return &rangeAgg{fn: fn, sel: sel, rng: time.Duration(d)}, nil
}

func (p *parser) logSelector() (*logSelector, error) {
	ms, err := p.selector()
	if err != nil {
		return nil, err
	}
	sel := &logSelector{matchers: ms}
	return sel, p.filters(sel)
}

func (p *parser) filters(sel *logSelector) error {
	for {
		t := p.peek()
		if t.kind != tokPunct {
			return nil
		}
		switch t.text {
		case "|=", "!=", "|~", "!~":
		case "|":
			return fmt.Errorf("lokitest: parser and format stages (| ...) are LogQL this test server does not evaluate")
		default:
			return nil
		}
		p.next()
		s := p.next()
		if s.kind != tokString {
			return p.unexpected(s, "STRING")
		}
		f := lineFilter{op: t.text, text: s.text}
		if t.text == "|~" || t.text == "!~" {
			re, err := regexp.Compile(s.text)
			if err != nil {
				return fmt.Errorf("parse error at line 1, col %d: invalid regex %q: %v", s.pos+1, s.text, err)
			}
			f.re = re
		}
		sel.filters = append(sel.filters, f)
	}
}

func (p *parser) selector() ([]matcher, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var ms []matcher
	for {
		t := p.next()
		if t.kind != tokIdent {
			return nil, p.unexpected(t, "IDENTIFIER")
		}
		op := p.next()
		if op.kind != tokPunct || (op.text != "=" && op.text != "!=" && op.text != "=~" && op.text != "!~") {
			return nil, p.unexpected(op, "= or != or =~ or !~")
		}
		v := p.next()
		if v.kind != tokString {
			return nil, p.unexpected(v, "STRING")
		}
		m := matcher{name: t.text, op: op.text, value: v.text}
		if op.text == "=~" || op.text == "!~" {
			re, err := regexp.Compile("^(?:" + v.text + ")$")
			if err != nil {
				return nil, fmt.Errorf("parse error at line 1, col %d: invalid regex %q: %v", v.pos+1, v.text, err)
			}
			m.re = re
		}
		ms = append(ms, m)
		t = p.next()
		if t.kind == tokPunct && t.text == "}" {
			return ms, nil
		}
		if t.kind != tokPunct || t.text != "," {
			return nil, p.unexpected(t, "} or ,")
		}
	}
}
