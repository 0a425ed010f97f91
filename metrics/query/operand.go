package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// operand is what a string literal is to the query language, which decides
// how a value inside it must be written to read back as itself.
type operand int

const (
	// opPlain is a literal compared as it is: a label matcher's or label
	// filter's value (=, !=), a line filter's text (|=, !=), any string
	// whose role is not listed below.
	opPlain operand = iota
	// opRegex is an RE2 regular expression: =~, !~, |~ and their or-chained
	// operands, | regexp, label_replace's regex.
	opRegex
	// opPattern is a Loki pattern: |>, !> and their or-chained operands,
	// | pattern. <name> is a capture and there is no escape.
	opPattern
	// opTemplate is a Go text/template: line_format, label_format's
	// strings. {{ starts an action.
	opTemplate
	// opReplacement is label_replace's replacement: $1 and ${name} expand.
	opReplacement
	// opPath is a json, logfmt or xml parser's extraction expression
	// (a path such as "a.b[0]"): a value cannot be made literal there.
	opPath
	// opIP is ip("..."): an address, range or CIDR; a value cannot be made
	// a single address there.
	opIP
)

func (o operand) String() string {
	switch o {
	case opRegex:
		return "a regular expression"
	case opPattern:
		return "a pattern (|>, | pattern)"
	case opTemplate:
		return "a line_format or label_format template"
	case opReplacement:
		return "label_replace's replacement"
	case opPath:
		return "a json, logfmt or xml extraction path"
	case opIP:
		return "ip(...)"
	default:
		return "a string"
	}
}

// codeToken is a token of the query text outside string literals, or a
// string literal (str true) with the operand it was.
type codeToken struct {
	text string
	str  bool
	op   operand
}

func (t codeToken) is(text string) bool {
	return !t.str && strings.EqualFold(t.text, text)
}

// lineFilterOps are LogQL's line filter operators and what their operands
// are.
var lineFilterOps = map[string]operand{"|=": opPlain, "!=": opPlain, "|~": opRegex, "!~": opRegex, "|>": opPattern, "!>": opPattern}

// tokenizeCode splits query text outside string literals into tokens:
// identifiers, the two-character operators of PromQL and LogQL, and single
// characters. Whitespace separates tokens. It is not a full lexer: it only
// needs to tell what role the next string literal has.
func tokenizeCode(text string) []codeToken {
	var out []codeToken
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(text) && (text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			out = append(out, codeToken{text: text[i:j]})
			i = j
		default:
			if i+1 < len(text) {
				switch two := text[i : i+2]; two {
				case "|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=":
					out = append(out, codeToken{text: two})
					i += 2
					continue
				}
			}
			_, size := utf8.DecodeRuneInString(text[i:])
			out = append(out, codeToken{text: text[i : i+size]})
			i += size
		}
	}
	return out
}

// classify says what a string literal that follows toks is.
func classify(toks []codeToken) operand {
	n := len(toks)
	if n == 0 {
		return opPlain
	}
	last := toks[n-1]
	if last.str {
		return opPlain
	}
	if op, ok := lineFilterOps[last.text]; ok {
		return op
	}
	switch strings.ToLower(last.text) {
	case "=~":
		return opRegex
	case "regexp", "pattern", "line_format":
		if n >= 2 && toks[n-2].is("|") {
			return map[string]operand{"regexp": opRegex, "pattern": opPattern, "line_format": opTemplate}[strings.ToLower(last.text)]
		}
	case "or":
		return orChainOperand(toks[:n-1])
	case "=":
		return assignmentOperand(toks[:n-1])
	case "(", ",":
		return argumentOperand(toks)
	}
	return opPlain
}

// orChainOperand is the operand of a line filter's `or` alternative: the
// chain's first operator decides (|~ "a" or "b" is two regexes). toks end
// before the `or`: operand (or operand)* after the operator, where an
// operand is a string or ip("...").
func orChainOperand(toks []codeToken) operand {
	i := len(toks) - 1
	for i >= 0 {
		switch {
		case toks[i].str:
			i--
		case toks[i].is(")"):
			// ip("...")
			if i < 3 || !toks[i-1].str || !toks[i-2].is("(") || !toks[i-3].is("ip") {
				return opPlain
			}
			i -= 4
		default:
			return opPlain
		}
		if i >= 0 && toks[i].is("or") {
			i--
			continue
		}
		break
	}
	if i >= 0 {
		if op, ok := lineFilterOps[toks[i].text]; ok && !toks[i].str {
			return op
		}
	}
	return opPlain
}

// assignmentOperand is the operand after `name =`: a stream matcher or a
// label filter (plain), label_format (a template), a json, logfmt or xml
// extraction (a path), drop or keep (plain). toks end before the `=`; the
// stage is found by walking back to the `|` or `{` that starts it.
func assignmentOperand(toks []codeToken) operand {
	depth := 0
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		if t.str {
			continue
		}
		switch {
		case t.is(")"):
			depth++
		case t.is("("):
			if depth > 0 {
				depth--
			}
		case t.is("{"):
			return opPlain
		case t.is("|"):
			if i+1 < len(toks) {
				switch strings.ToLower(toks[i+1].text) {
				case "label_format":
					return opTemplate
				case "json", "logfmt", "xml":
					return opPath
				}
			}
			return opPlain
		}
		if _, ok := lineFilterOps[t.text]; ok {
			return opPlain
		}
	}
	return opPlain
}

// argumentOperand is the operand of a function argument: toks end with
// the `(` or `,` before it. ip(...) takes an address; label_replace's third
// argument is a replacement and its fifth a regex.
func argumentOperand(toks []codeToken) operand {
	depth, commas := 0, 0
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		if t.str {
			continue
		}
		switch {
		case t.is(")"), t.is("]"), t.is("}"):
			depth++
		case t.is("{"), t.is("["):
			if depth == 0 {
				return opPlain // a selector's list, or a range
			}
			depth--
		case t.is(","):
			if depth == 0 {
				commas++
			}
		case t.is("("):
			if depth > 0 {
				depth--
				continue
			}
			if i == 0 {
				return opPlain
			}
			switch fn := strings.ToLower(toks[i-1].text); {
			case fn == "ip":
				return opIP
			case fn == "label_replace" && commas == 2:
				return opReplacement
			case fn == "label_replace" && commas == 4:
				return opRegex
			}
			return opPlain
		}
	}
	return opPlain
}

// decodeLiteral reads the content of a string literal of kind c as the
// query language does (Go's escapes in "..." and '...'; none in `...`).
func decodeLiteral(raw string, c lexContext) (string, error) {
	if c == ctxRaw {
		return raw, nil
	}
	quote := byte('"')
	if c == ctxSingle {
		quote = '\''
	}
	var b strings.Builder
	for s := raw; len(s) > 0; {
		r, multibyte, tail, err := strconv.UnquoteChar(s, quote)
		if err != nil {
			return "", fmt.Errorf("invalid escape in %q", raw)
		}
		if r < utf8.RuneSelf || !multibyte {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
		s = tail
	}
	return b.String(), nil
}

// checkPlacement says why a value cannot be placed in a literal of operand
// op after the literal's decoded content prefix, or nil when it can. For a
// regex it also says whether the value lands in a character class.
func checkPlacement(op operand, prefix string) (inClass bool, err error) {
	switch op {
	case opPath:
		return false, errors.New("a json, logfmt or xml extraction path has no way to make a value literal; extract the field and filter on it instead (| json | track=\"{{.track}}\")")
	case opIP:
		return false, errors.New("ip(...) reads an address, range or CIDR, so a value there could widen the match; filter on the label instead (| addr=\"{{.addr}}\")")
	case opRegex:
		return regexPrefixState(prefix)
	case opPattern:
		if patternCaptureOpen(prefix) {
			return false, errors.New("it would sit inside a pattern capture (<name>); put it in the pattern's literal text")
		}
	case opTemplate:
		return false, templatePrefixState(prefix)
	case opReplacement:
		return false, replacementPrefixState(prefix)
	}
	return false, nil
}

// regexPrefixState follows RE2's syntax over the regex text before a
// value: a value may follow a complete atom (it is written as literal
// atoms) or sit in a character class (as literal members), but not after
// a lone backslash, inside an escape (\x, \p, octal), \Q...\E, a group's
// flags or name, an open {n,m} repetition or a class's [: or range dash.
func regexPrefixState(re string) (inClass bool, err error) {
	fail := func(where string) (bool, error) {
		return false, fmt.Errorf("it would sit %s in the regular expression, where a value cannot be made literal", where)
	}
	classFirst := false
	for i := 0; i < len(re); {
		c := re[i]
		if c == '\\' {
			if i+1 == len(re) {
				return fail("right after a backslash")
			}
			switch n := re[i+1]; {
			case n == 'Q':
				end := strings.Index(re[i+2:], `\E`)
				if end < 0 {
					return fail(`inside \Q...\E`)
				}
				i += 2 + end + 2
			case n == 'x' || n == 'p' || n == 'P':
				j := i + 2
				if j < len(re) && re[j] == '{' {
					end := strings.IndexByte(re[j:], '}')
					if end < 0 {
						return fail(`inside \` + string(n) + "{...}")
					}
					i = j + end + 1
					break
				}
				width := 1
				if n == 'x' {
					width = 2
				}
				if j+width > len(re) {
					return fail(`inside \` + string(n) + " escape")
				}
				i = j + width
			case n >= '0' && n <= '7':
				j := i + 1
				for j < len(re) && j < i+4 && re[j] >= '0' && re[j] <= '7' {
					j++
				}
				if j == len(re) && j < i+4 {
					return fail("inside an octal escape")
				}
				i = j
			default:
				_, size := utf8.DecodeRuneInString(re[i+1:])
				i += 1 + size
			}
			classFirst = false
			continue
		}
		if inClass {
			switch {
			case c == '[' && i+1 < len(re) && re[i+1] == ':':
				end := strings.Index(re[i+2:], ":]")
				if end < 0 {
					return fail("inside a [:class:]")
				}
				i += 2 + end + 2
			case c == ']' && !classFirst:
				inClass = false
				i++
			default:
				i++
			}
			classFirst = false
			continue
		}
		switch c {
		case '[':
			inClass, classFirst = true, true
			i++
			if i < len(re) && re[i] == '^' {
				i++
			}
		case '(':
			i++
			if i < len(re) && re[i] == '?' {
				j := i + 1
				if j < len(re) && re[j] == 'P' {
					j++
				}
				if j < len(re) && re[j] == '<' {
					end := strings.IndexByte(re[j:], '>')
					if end < 0 {
						return fail("inside a group's name")
					}
					i = j + end + 1
					continue
				}
				for j < len(re) && strings.IndexByte("imsU-", re[j]) >= 0 {
					j++
				}
				if j == len(re) {
					return fail("inside a group's flags")
				}
				i = j
			}
		case '{':
			j := i + 1
			for j < len(re) && (re[j] >= '0' && re[j] <= '9' || re[j] == ',') {
				j++
			}
			if j == len(re) {
				return fail("inside a {n,m} repetition")
			}
			i = j
		default:
			i++
		}
	}
	if inClass && !classFirst && strings.HasSuffix(re, "-") {
		return fail("after a range's dash in a character class")
	}
	return inClass, nil
}

// patternCaptureOpen reports whether pattern text ends inside what could
// still become a capture: < followed by identifier characters.
func patternCaptureOpen(p string) bool {
	i := strings.LastIndexByte(p, '<')
	if i < 0 {
		return false
	}
	for _, r := range p[i+1:] {
		if r != '_' && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// templatePrefixState follows Go's text/template over the template text
// before a value: the value must be in the text between actions, not
// inside an action (where it would be code) nor right after a lone { (a
// value written as {{"{"}} would make {{{).
func templatePrefixState(t string) error {
	for i := 0; ; {
		open := strings.Index(t[i:], "{{")
		if open < 0 {
			if strings.HasSuffix(t, "{") {
				return errors.New("it would sit right after a { in a template, where a value starting with { would open an action; put a space or other text between")
			}
			return nil
		}
		j := i + open + 2
		closed := false
		for j < len(t) && !closed {
			switch {
			case t[j] == '"' || t[j] == '\'':
				q := t[j]
				j++
				for j < len(t) && t[j] != q {
					if t[j] == '\\' {
						j++
					}
					j++
				}
				j++
			case t[j] == '`':
				end := strings.IndexByte(t[j+1:], '`')
				if end < 0 {
					j = len(t)
				} else {
					j += end + 2
				}
			case strings.HasPrefix(t[j:], "/*"):
				end := strings.Index(t[j+2:], "*/")
				if end < 0 {
					j = len(t)
				} else {
					j += end + 4
				}
			case strings.HasPrefix(t[j:], "}}"):
				closed = true
				j += 2
			default:
				j++
			}
		}
		if !closed {
			return errors.New("it would sit inside a template action ({{...}}), where it would be code; compare with a label filter instead")
		}
		i = j
	}
}

// replacementPrefixState refuses a value that would complete a $1, $name
// or ${name} reference of label_replace's replacement.
func replacementPrefixState(r string) error {
	for i := 0; i < len(r); {
		if r[i] != '$' {
			i++
			continue
		}
		switch {
		case i+1 == len(r):
			return errors.New("it would sit right after a $ in label_replace's replacement, where it could name a capture group")
		case r[i+1] == '$':
			i += 2
		case r[i+1] == '{':
			end := strings.IndexByte(r[i:], '}')
			if end < 0 {
				return errors.New("it would sit inside a ${...} reference of label_replace's replacement")
			}
			i += end + 1
		default:
			j := i + 1
			for j < len(r) && (r[j] == '_' || r[j] >= 'a' && r[j] <= 'z' || r[j] >= 'A' && r[j] <= 'Z' || r[j] >= '0' && r[j] <= '9') {
				j++
			}
			if j == len(r) {
				return errors.New("it would extend a $name reference of label_replace's replacement")
			}
			i = j
		}
	}
	return nil
}

// escapeOperand writes v so that, in an operand of kind op, it reads as
// exactly v: a regex's ASCII punctuation is backslash-escaped (RE2 reads
// \ + punctuation as the character, in and out of classes), a template's
// { becomes the action {{"{"}}, a replacement's $ becomes $$. A pattern
// has no escape: a value holding < or > is refused.
func escapeOperand(v string, op operand) (string, error) {
	switch op {
	case opRegex:
		var b strings.Builder
		for _, r := range v {
			if r > ' ' && r < utf8.RuneSelf && r != '_' && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		return b.String(), nil
	case opPattern:
		if strings.ContainsAny(v, "<>") {
			return "", fmt.Errorf("%q contains < or >, which a Loki pattern has no escape for (<name> is a capture)", v)
		}
		return v, nil
	case opTemplate:
		return strings.ReplaceAll(v, "{", `{{"{"}}`), nil
	case opReplacement:
		return strings.ReplaceAll(v, "$", "$$"), nil
	case opPath, opIP:
		return "", fmt.Errorf("cannot place a value in %s", op)
	}
	return v, nil
}

// quantifierNext reports whether literal text begins with a repetition
// operator, which would apply to a regex value's last character only.
func quantifierNext(text string) bool {
	return text != "" && strings.IndexByte("*+?{", text[0]) >= 0
}
