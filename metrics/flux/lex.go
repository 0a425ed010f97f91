package flux

import (
	"fmt"
	"slices"
)

// mode is where a Flux lexer stands.
type mode int

const (
	modeCode mode = iota
	modeString
	modeInterpolation
	modeComment
	modeRegexp
)

func (m mode) String() string {
	switch m {
	case modeString:
		return "string"
	case modeInterpolation:
		return "string interpolation ${...}"
	case modeComment:
		return "comment"
	case modeRegexp:
		return "regular expression /.../"
	}
	return "code"
}

// tokenKind is a kind of lexical piece.
type tokenKind int

const (
	tokCode tokenKind = iota
	tokStringOpen
	tokStringText
	tokStringClose
	tokInterpOpen
	tokInterpClose
	tokComment
	tokRegexp
)

type token struct {
	kind tokenKind
	text string // raw code, comment and regexp; a string's decoded text
}

// lexState is what lex read.
type lexState struct {
	mode mode
	// pendingEscape: the text ends inside a string's escape sequence.
	pendingEscape bool
	tokens        []token
}

// regexpKeywords are the words after which '/' starts a regular
// expression, as it does after an operator or an opening bracket.
var regexpKeywords = []string{"return", "and", "or", "not", "if", "then", "else", "exists"}

// lex reads Flux text, possibly a prefix of a query, as Flux's scanner
// does for what matters here: code, "..." strings with their escapes
// (\n \r \t \\ \" \${ and \xNN, SPEC.md "String literals") and ${...}
// interpolations, // comments and /.../ regular expressions (escapes \/
// and \\; a '/' starts one where an expression may start: at the
// beginning, after an operator, a bracket, ',' or ':' or one of
// regexpKeywords, and is a division after an operand). An escape Flux
// does not know is an error.
func lex(s string) (lexState, error) {
	var (
		st     lexState
		cur    []byte
		interp []int // brace depth inside each open interpolation
		last   byte  // last significant code byte
		word   []byte
	)
	flush := func(k tokenKind) {
		if len(cur) > 0 || k == tokStringText {
			st.tokens = append(st.tokens, token{kind: k, text: string(cur)})
		}
		cur = cur[:0]
	}
	inCode := func() mode {
		if len(interp) > 0 {
			return modeInterpolation
		}
		return modeCode
	}
	st.mode = modeCode
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch st.mode {
		case modeCode, modeInterpolation:
			switch {
			case c == '"':
				flush(tokCode)
				st.tokens = append(st.tokens, token{kind: tokStringOpen})
				st.mode = modeString
			case c == '/' && i+1 < len(s) && s[i+1] == '/':
				flush(tokCode)
				st.mode = modeComment
				cur = append(cur, c)
			case c == '/' && regexpMayStart(last, word):
				flush(tokCode)
				st.mode = modeRegexp
				cur = append(cur, c)
			case c == '}' && len(interp) > 0 && interp[len(interp)-1] == 0:
				flush(tokCode)
				interp = interp[:len(interp)-1]
				st.tokens = append(st.tokens, token{kind: tokInterpClose})
				st.mode = modeString
			default:
				if len(interp) > 0 {
					switch c {
					case '{':
						interp[len(interp)-1]++
					case '}':
						interp[len(interp)-1]--
					}
				}
				cur = append(cur, c)
				switch {
				case isWordByte(c):
					if !isWordByte(last) {
						word = word[:0]
					}
					word = append(word, c)
					last = c
				case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				default:
					last, word = c, word[:0]
				}
			}
		case modeString:
			switch {
			case c == '"':
				flush(tokStringText)
				st.tokens = append(st.tokens, token{kind: tokStringClose})
				st.mode = inCode()
				last, word = '"', word[:0]
			case c == '\\':
				if i+1 >= len(s) {
					st.pendingEscape = true
					continue
				}
				i++
				switch e := s[i]; e {
				case 'n':
					cur = append(cur, '\n')
				case 'r':
					cur = append(cur, '\r')
				case 't':
					cur = append(cur, '\t')
				case '\\', '"':
					cur = append(cur, e)
				case '$':
					if i+1 >= len(s) {
						st.pendingEscape = true
						continue
					}
					if s[i+1] != '{' {
						return st, fmt.Errorf(`invalid escape \$ at byte %d (Flux knows \${, not \$ alone)`, i-1)
					}
					i++
					cur = append(cur, '$', '{')
				case 'x':
					if i+2 >= len(s) {
						st.pendingEscape = true
						continue
					}
					h, ok1 := hexValue(s[i+1])
					l, ok2 := hexValue(s[i+2])
					if !ok1 || !ok2 {
						return st, fmt.Errorf(`invalid escape \x%s at byte %d`, s[i+1:i+3], i-1)
					}
					cur = append(cur, h<<4|l)
					i += 2
				default:
					return st, fmt.Errorf(`invalid escape \%c at byte %d`, e, i-1)
				}
			case c == '$' && i+1 < len(s) && s[i+1] == '{':
				flush(tokStringText)
				st.tokens = append(st.tokens, token{kind: tokInterpOpen})
				interp = append(interp, 0)
				st.mode = modeInterpolation
				i++
				last, word = '{', word[:0]
			default:
				cur = append(cur, c)
			}
		case modeComment:
			if c == '\n' {
				flush(tokComment)
				st.mode = inCode()
				cur = append(cur, c)
				continue
			}
			cur = append(cur, c)
		case modeRegexp:
			cur = append(cur, c)
			switch c {
			case '\\':
				if i+1 < len(s) {
					i++
					cur = append(cur, s[i])
				}
			case '\n':
				return st, fmt.Errorf("a regular expression at byte %d is not closed on its line", i)
			case '/':
				flush(tokRegexp)
				st.mode = inCode()
				last, word = '/', []byte("regexp")
			}
		}
	}
	switch st.mode {
	case modeCode, modeInterpolation:
		flush(tokCode)
	case modeString:
		flush(tokStringText)
	case modeComment:
		flush(tokComment)
	case modeRegexp:
		flush(tokRegexp)
	}
	return st, nil
}

// regexpMayStart says whether a '/' after the code byte last (and the
// word that ends there) starts a regular expression rather than a
// division.
func regexpMayStart(last byte, word []byte) bool {
	switch {
	case last == 0:
		return true
	case isWordByte(last):
		return slices.Contains(regexpKeywords, string(word))
	case last == ')' || last == ']' || last == '}' || last == '"' || last == '/':
		return false
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c >= 0x80
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// sameShape says whether two token lists differ only in their strings'
// text.
func sameShape(a, b []token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind {
			return false
		}
		if a[i].kind != tokStringText && a[i].text != b[i].text {
			return false
		}
	}
	return true
}
