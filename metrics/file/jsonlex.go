package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// pos is a 1-based line and byte column in the input.
type pos struct{ line, col int }

// jsonLexer reads JSON tokens from a stream, a buffer at a time, keeping
// the line and column of the next byte as it goes (one comparison per
// byte), so that a token's position is known without looking back at the
// input. Its syntax errors say what encoding/json's would.
type jsonLexer struct {
	name    string
	r       io.Reader
	buf     []byte // buf[i:] is read and not yet consumed
	i       int
	next    pos    // position of buf[i]
	scratch []byte // a string or number being read
	eof     bool
	err     error // the read error that ended the input, other than io.EOF
}

// jsonBuffer is how much of the input the lexer reads at a time.
const jsonBuffer = 64 << 10

func newJSONLexer(name string, r io.Reader) *jsonLexer {
	return &jsonLexer{name: name, r: r, buf: make([]byte, 0, jsonBuffer), next: pos{1, 1}}
}

// peek returns the next byte without consuming it; ok is false at the end
// of input (or at a read error, kept in l.err).
func (l *jsonLexer) peek() (byte, bool) {
	if l.i < len(l.buf) {
		return l.buf[l.i], true
	}
	return l.fill()
}

// fill reads the next buffer of input and returns its first byte.
func (l *jsonLexer) fill() (byte, bool) {
	for !l.eof && l.err == nil {
		n, err := l.r.Read(l.buf[:cap(l.buf)])
		l.buf, l.i = l.buf[:n], 0
		switch {
		case err == io.EOF:
			l.eof = true
		case err != nil:
			l.err = err
		}
		if n > 0 {
			return l.buf[0], true
		}
	}
	return 0, false
}

// advance consumes b, the byte peek returned.
func (l *jsonLexer) advance(b byte) {
	l.i++
	if b == '\n' {
		l.next.line++
		l.next.col = 1
	} else {
		l.next.col++
	}
}

// skipSpace consumes JSON whitespace and returns the next byte.
func (l *jsonLexer) skipSpace() (byte, bool) {
	for {
		b, ok := l.peek()
		if !ok {
			return 0, false
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			l.advance(b)
		default:
			return b, true
		}
	}
}

// end is the error for input that stopped before the JSON object was
// complete: a read error, or the end of the file.
func (l *jsonLexer) end() *ParseError {
	if l.err != nil {
		return readError(l.name, l.err)
	}
	return &ParseError{File: l.name, Msg: "ends before the JSON object is complete"}
}

// syntax is a syntax error at position at, as encoding/json words it.
func (l *jsonLexer) syntax(at pos, c byte, context string) *ParseError {
	msg := "invalid character " + quoteChar(c) + " " + context
	return &ParseError{File: l.name, Line: at.line, Column: at.col, Msg: "is not valid JSON: " + msg, Err: errors.New(msg)}
}

// quoteChar formats c as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// delimiter consumes the separator expected after a value or key (one of
// want, such as ",]") and returns it, or a syntax error naming context
// ("after array element").
func (l *jsonLexer) delimiter(want string, context string) (byte, error) {
	b, ok := l.skipSpace()
	if !ok {
		return 0, l.end()
	}
	for i := 0; i < len(want); i++ {
		if b == want[i] {
			l.advance(b)
			return b, nil
		}
	}
	return 0, l.syntax(l.next, b, context)
}

// value reads the next value's first token: a delimiter ('{' or '['), a
// string, a json.Number, a bool or nil, and where it starts. context says
// what a syntax error at its first byte was looking for.
func (l *jsonLexer) value(context string) (json.Token, pos, error) {
	b, ok := l.skipSpace()
	at := l.next
	if !ok {
		return nil, at, l.end()
	}
	switch {
	case b == '{' || b == '[':
		l.advance(b)
		return json.Delim(b), at, nil
	case b == '"':
		s, err := l.str()
		return s, at, err
	case b == '-' || b >= '0' && b <= '9':
		n, err := l.number()
		return json.Number(n), at, err
	case b == 't':
		return true, at, l.literal("true")
	case b == 'f':
		return false, at, l.literal("false")
	case b == 'n':
		return nil, at, l.literal("null")
	}
	return nil, at, l.syntax(at, b, context)
}

// literal consumes the literal word (true, false, null).
func (l *jsonLexer) literal(word string) error {
	for i := 0; i < len(word); i++ {
		at := l.next
		b, ok := l.peek()
		if !ok {
			return l.end()
		}
		if b != word[i] {
			return l.syntax(at, b, fmt.Sprintf("in literal %s (expecting %s)", word, quoteChar(word[i])))
		}
		l.advance(b)
	}
	return nil
}

// number consumes a number (JSON's grammar) and returns its text, valid
// until the lexer reads on.
func (l *jsonLexer) number() ([]byte, error) {
	l.scratch = l.scratch[:0]
	digits := func() { // consumes the digits that come next, if any
		for {
			b, ok := l.peek()
			if !ok || b < '0' || b > '9' {
				return
			}
			l.advance(b)
			l.scratch = append(l.scratch, b)
		}
	}
	// need checks that a digit comes next; context says where, for the error.
	need := func(context string) error {
		at := l.next
		b, ok := l.peek()
		if !ok {
			return l.end()
		}
		if b < '0' || b > '9' {
			return l.syntax(at, b, context)
		}
		return nil
	}
	if b, _ := l.peek(); b == '-' {
		l.advance(b)
		l.scratch = append(l.scratch, b)
		if err := need("in numeric literal"); err != nil {
			return nil, err
		}
	}
	if b, _ := l.peek(); b == '0' {
		l.advance(b)
		l.scratch = append(l.scratch, b)
	} else {
		digits()
	}
	if b, ok := l.peek(); ok && b == '.' {
		l.advance(b)
		l.scratch = append(l.scratch, b)
		if err := need("after decimal point in numeric literal"); err != nil {
			return nil, err
		}
		digits()
	}
	if b, ok := l.peek(); ok && (b == 'e' || b == 'E') {
		l.advance(b)
		l.scratch = append(l.scratch, b)
		if b, ok := l.peek(); ok && (b == '+' || b == '-') {
			l.advance(b)
			l.scratch = append(l.scratch, b)
		}
		if err := need("in exponent of numeric literal"); err != nil {
			return nil, err
		}
		digits()
	}
	return l.scratch, nil
}

// str consumes a string and returns its value, decoded as encoding/json
// decodes it (escapes; invalid UTF-8 and lone surrogates become U+FFFD).
func (l *jsonLexer) str() (string, error) {
	l.advance('"')
	l.scratch = l.scratch[:0]
	plain := true // no escape and valid UTF-8 so far: the bytes are the value
	for {
		at := l.next
		b, ok := l.peek()
		if !ok {
			return "", l.end()
		}
		switch {
		case b == '"':
			l.advance(b)
			if plain || utf8.Valid(l.scratch) {
				return string(l.scratch), nil
			}
			return string([]rune(string(l.scratch))), nil // each invalid byte is U+FFFD
		case b < 0x20:
			return "", l.syntax(at, b, "in string literal")
		case b == '\\':
			l.advance(b)
			if err := l.escape(); err != nil {
				return "", err
			}
		default:
			l.advance(b)
			l.scratch = append(l.scratch, b)
			if b >= utf8.RuneSelf {
				plain = false
			}
		}
	}
}

// escape consumes an escape after its backslash and appends its value.
func (l *jsonLexer) escape() error {
	at := l.next
	b, ok := l.peek()
	if !ok {
		return l.end()
	}
	l.advance(b)
	switch b {
	case '"', '\\', '/':
		l.scratch = append(l.scratch, b)
	case 'b':
		l.scratch = append(l.scratch, '\b')
	case 'f':
		l.scratch = append(l.scratch, '\f')
	case 'n':
		l.scratch = append(l.scratch, '\n')
	case 'r':
		l.scratch = append(l.scratch, '\r')
	case 't':
		l.scratch = append(l.scratch, '\t')
	case 'u':
		r, err := l.hex4()
		if err != nil {
			return err
		}
		if utf16.IsSurrogate(r) {
			// A pair is \uD8xx\uDCxx; anything else leaves a lone
			// surrogate, which is U+FFFD.
			if b, ok := l.peek(); ok && b == '\\' {
				l.advance(b)
				if b, ok := l.peek(); ok && b == 'u' {
					l.advance(b)
					r2, err := l.hex4()
					if err != nil {
						return err
					}
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						l.scratch = utf8.AppendRune(l.scratch, pair)
						return nil
					}
					l.scratch = utf8.AppendRune(l.scratch, utf8.RuneError)
					r = r2
					if utf16.IsSurrogate(r) {
						r = utf8.RuneError
					}
				} else {
					l.scratch = utf8.AppendRune(l.scratch, utf8.RuneError)
					return l.escape()
				}
			} else {
				r = utf8.RuneError
			}
		}
		l.scratch = utf8.AppendRune(l.scratch, r)
	default:
		return l.syntax(at, b, "in string escape code")
	}
	return nil
}

// hex4 consumes the four hex digits of a \u escape.
func (l *jsonLexer) hex4() (rune, error) {
	var r rune
	for range 4 {
		at := l.next
		b, ok := l.peek()
		if !ok {
			return 0, l.end()
		}
		var v byte
		switch {
		case b >= '0' && b <= '9':
			v = b - '0'
		case b >= 'a' && b <= 'f':
			v = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			v = b - 'A' + 10
		default:
			return 0, l.syntax(at, b, `in \u hexadecimal character escape`)
		}
		l.advance(b)
		r = r<<4 | rune(v)
	}
	return r, nil
}
