package query

import (
	"fmt"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/metrics"
)

// This file proves the LogQL escaping without Loki's parser (AGPL): a
// query rendered with a hostile value must lex to the same tokens as the
// query rendered with a harmless placeholder, except inside the string
// literal that holds the value, and that literal must mean the value
// literally to the construct that reads it. The lexer below follows
// Loki's (text/scanner's strings: "..." with Go's escapes, `...` raw; #
// comments; [..] ranges; its two-character operators). The operands are
// checked with the parsers Loki itself uses: Go's regexp/syntax for
// regexes, text/template for line_format and label_format, regexp.Expand
// for label_replace's replacement; a pattern with a tokenizer of the
// <name> rule of Loki's pattern lexer. Limits: LogQL's grammar is not
// run (the proof is that the tokens around the value do not change, so
// whatever the grammar makes of them does not either), and single-quoted
// strings, which Loki's lexer does not take as strings, are not covered.

type logqlToken struct {
	kind string // "str", "ident", "op", "range", "num"
	text string // a string's decoded value
}

// lexLogQL splits a query the way Loki's lexer does, at the level that
// matters here: where strings start and end and what they hold.
func lexLogQL(q string) ([]logqlToken, error) {
	var out []logqlToken
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '"':
			j := i + 1
			for j < len(q) && q[j] != '"' {
				if q[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(q) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			v, err := strconv.Unquote(q[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("string %s: %v", q[i:j+1], err)
			}
			out = append(out, logqlToken{"str", v})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				return nil, fmt.Errorf("unterminated raw string at %d", i)
			}
			out = append(out, logqlToken{"str", q[i+1 : i+1+j]})
			i += j + 2
		case c == '[':
			j := strings.IndexByte(q[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated range at %d", i)
			}
			out = append(out, logqlToken{"range", q[i : i+j+1]})
			i += j + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, logqlToken{"ident", q[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.' || q[j] >= 'a' && q[j] <= 'z') {
				j++
			}
			out = append(out, logqlToken{"num", q[i:j]})
			i = j
		default:
			if i+1 < len(q) {
				if two := q[i : i+2]; strings.Contains("|= |~ |> != !~ !> =~ == >= <= --", two) && two[0] != ' ' && two[1] != ' ' {
					out = append(out, logqlToken{"op", two})
					i += 2
					continue
				}
			}
			out = append(out, logqlToken{"op", q[i : i+1]})
			i++
		}
	}
	return out, nil
}

// placeholder stands for the value in the reference rendering.
const placeholder = "VALUE"

// hexRegex writes v as RE2 \x{...} escapes: a literal in any position,
// by a route independent of the one Render takes.
func hexRegex(v string) string {
	var b strings.Builder
	for _, r := range v {
		fmt.Fprintf(&b, `\x{%x}`, r)
	}
	return b.String()
}

// patternParts splits a Loki pattern into literals and <name> captures.
var patternCapture = regexp.MustCompile(`<[A-Za-z_][A-Za-z0-9_]*>`)

func patternParts(p string) []string {
	var parts []string
	last := 0
	for _, m := range patternCapture.FindAllStringIndex(p, -1) {
		parts = append(parts, "lit:"+p[last:m[0]], "cap:"+p[m[0]:m[1]])
		last = m[1]
	}
	return append(parts, "lit:"+p[last:])
}

// sameMeaning checks that got (the literal holding the value) means, to a
// construct of operand op, what ref (the placeholder's literal) means with
// the placeholder replaced by v.
func sameMeaning(t *testing.T, op operand, got, ref, v string) {
	t.Helper()
	switch op {
	case opPlain:
		if want := strings.ReplaceAll(ref, placeholder, v); got != want {
			t.Fatalf("string %q, want %q", got, want)
		}
	case opRegex:
		want := strings.ReplaceAll(ref, placeholder, hexRegex(v))
		w, werr := syntax.Parse(want, syntax.Perl)
		g, err := syntax.Parse(got, syntax.Perl)
		if err != nil || werr != nil {
			// The template itself is no regex with this value (an empty
			// value in [...]): it must be none either way.
			if err == nil || werr == nil {
				t.Fatalf("regex %q: %v; the value written literally (%q): %v", got, err, want, werr)
			}
			return
		}
		if !g.Simplify().Equal(w.Simplify()) {
			t.Fatalf("regex %q is %s, want %s (from %q)", got, g, w, want)
		}
	case opPattern:
		want := patternParts(strings.ReplaceAll(ref, placeholder, v))
		if g := patternParts(got); !reflect.DeepEqual(g, want) {
			t.Fatalf("pattern %q reads as %q, want %q", got, g, want)
		}
	case opTemplate:
		data := map[string]string{"a": "A"}
		run := func(text string) string {
			tm, err := template.New("").Parse(text)
			if err != nil {
				t.Fatalf("template %q does not parse: %v", text, err)
			}
			var b strings.Builder
			if err := tm.Execute(&b, data); err != nil {
				t.Fatalf("template %q: %v", text, err)
			}
			return b.String()
		}
		if g, want := run(got), strings.ReplaceAll(run(ref), placeholder, v); g != want {
			t.Fatalf("template %q writes %q, want %q", got, g, want)
		}
	case opReplacement:
		re := regexp.MustCompile(`(?P<x>.*)`)
		expand := func(tmpl string) string {
			return string(re.ExpandString(nil, tmpl, "src", re.FindStringSubmatchIndex("src")))
		}
		if g, want := expand(got), strings.ReplaceAll(expand(ref), placeholder, v); g != want {
			t.Fatalf("replacement %q expands to %q, want %q", got, g, want)
		}
	default:
		t.Fatalf("no check for %s", op)
	}
}

// logqlConstructs are the LogQL constructs that take a string, with a
// scope variable in each, and what the string is.
var logqlConstructs = []struct {
	name, expr string
	op         operand
}{
	{"stream matcher =", `count_over_time({app="shop", track="{{.v}}"}[5m])`, opPlain},
	{"stream matcher !=", `count_over_time({app="shop", track!="{{.v}}"}[5m])`, opPlain},
	{"stream matcher =~", `count_over_time({app="shop", track=~"{{.v}}"}[5m])`, opRegex},
	{"stream matcher !~", `count_over_time({app="shop", track!~"pre-{{.v}}"}[5m])`, opRegex},
	{"line filter |=", `{app="shop"} |= "{{.v}}"`, opPlain},
	{"line filter !=", `{app="shop"} != "x{{.v}}y"`, opPlain},
	{"line filter |~", `{app="shop"} |~ "(?i)error: {{.v}}"`, opRegex},
	{"line filter !~", `{app="shop"} !~ "{{.v}}$"`, opRegex},
	{"line filter |= or", `{app="shop"} |= "a" or "{{.v}}"`, opPlain},
	{"line filter |~ or", `{app="shop"} |~ "a" or "{{.v}}" |= "z"`, opRegex},
	{"line filter !~ or or", `{app="shop"} !~ "a" or "b" OR "{{.v}}"`, opRegex},
	{"line filter |~ or after ip", `{app="shop"} |~ "a" or ip("10.0.0.1") or "{{.v}}"`, opRegex},
	{"line filter |> or", `{app="shop"} |> "<_> a" or "{{.v}} <_>"`, opPattern},
	{"line filter |>", `{app="shop"} |> "<_> {{.v}} <method> <_>"`, opPattern},
	{"line filter !>", `{app="shop"} !> "<_>{{.v}}"`, opPattern},
	{"pattern parser", `{app="shop"} | pattern "<ip> - {{.v}} <_>"`, opPattern},
	{"regexp parser", `{app="shop"} | regexp "(?P<x>\\w+) {{.v}}"`, opRegex},
	{"regexp parser, upper case", `{app="shop"} | REGEXP "{{.v}}(?P<x>.*)"`, opRegex},
	{"line_format", `{app="shop"} | line_format "{{"{{"}}.a}} {{.v}}"`, opTemplate},
	{"line_format backtick", "{app=\"shop\"} | line_format `{{\"{{\"}}.a}}{{.v}}`", opTemplate},
	{"label_format", `{app="shop"} | label_format x="y", dst="{{"{{"}}.a}}-{{.v}}"`, opTemplate},
	{"label filter =", `{app="shop"} | json | level="{{.v}}"`, opPlain},
	{"label filter =~", `{app="shop"} | logfmt | level=~"{{.v}}"`, opRegex},
	{"label filter !~ in or", `{app="shop"} | logfmt | (a="x" or level!~"{{.v}}")`, opRegex},
	{"label filter after json params", `{app="shop"} | json a="b" | level="{{.v}}"`, opPlain},
	{"drop", `{app="shop"} | drop a, b="{{.v}}"`, opPlain},
	{"keep =~", `{app="shop"} | keep a=~"{{.v}}"`, opRegex},
	{"backtick line filter", "{app=\"shop\"} |= `{{.v}}`", opPlain},
	{"backtick regex", "{app=\"shop\"} |~ `a{{.v}}`", opRegex},
	{"regex class", `{app="shop"} |~ "[{{.v}}]"`, opRegex},
	{"regex before a repetition", `{app="shop"} |~ "a{{.v}}+b"`, opRegex},
	{"regex before a counted repetition", `{app="shop"} |~ "{{.v}}{2}"`, opRegex},
	{"label_replace replacement", `label_replace(rate({app="shop"}[5m]), "dst", "{{.v}}-$1", "src", "(.*)")`, opReplacement},
	{"label_replace regex", `label_replace(rate({app="shop"}[5m]), "dst", "$1", "src", "{{.v}}(.*)")`, opRegex},
	{"label_replace dst", `label_replace(rate({app="shop"}[5m]), "d{{.v}}", "$1", "src", "(.*)")`, opPlain},
}

// logqlPayloads are values aimed at LogQL's operands.
var logqlPayloads = []string{
	"<_>", "<ip>", "a<b>c", "{{.a}}", "{{", "{", "}}", "{{/* x */}}", "$1", "${x}", "$$", "$",
	"a-z", "]", "^", `\E`, `\Q`, "(?i)", ".*", "x|y", "(?P<x>.*)", "[[:alpha:]]", "a{2}", "\\", `\d`,
	`" or "x`, `" |= "x`, "` |~ `.*", `"} | line_format "{{.a}}`, "\n", "é日本", "",
}

func TestRenderLogQLConstructs(t *testing.T) {
	values := append([]string{}, logqlPayloads...)
	for _, p := range payloads {
		values = append(values, p.value)
	}
	for _, c := range logqlConstructs {
		t.Run(c.name, func(t *testing.T) {
			checkConstruct(t, c.expr, c.op, values)
		})
	}
}

// checkConstruct renders expr with each value and proves it: the tokens
// are the placeholder rendering's, and the string that changed holds the
// value literally for op. A value may be refused only for a stated reason
// (a backtick in a backtick string, < or > in a pattern).
func checkConstruct(t *testing.T, expr string, op operand, values []string) {
	t.Helper()
	ref, err := Render(expr, metrics.Scope{"v": placeholder}, testWindow)
	if err != nil {
		t.Fatalf("Render with the placeholder: %v", err)
	}
	refToks, err := lexLogQL(ref)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	for _, v := range values {
		q, err := Render(expr, metrics.Scope{"v": v}, testWindow)
		if err != nil {
			raw := strings.Contains(expr, "`") && strings.Contains(v, "`")
			pattern := op == opPattern && strings.ContainsAny(v, "<>")
			if !raw && !pattern || !utf8.ValidString(v) {
				t.Fatalf("Render refused %q: %v", v, err)
			}
			continue
		}
		toks, err := lexLogQL(q)
		if err != nil {
			t.Fatalf("value %q: rendered query does not lex: %v\n%s", v, err, q)
		}
		if len(toks) != len(refToks) {
			t.Fatalf("value %q changed the query's tokens:\n%s\n%s", v, q, ref)
		}
		changed := 0
		for i := range toks {
			if toks[i].kind != refToks[i].kind {
				t.Fatalf("value %q: token %d is %s %q, want %s %q\n%s", v, i, toks[i].kind, toks[i].text, refToks[i].kind, refToks[i].text, q)
			}
			if toks[i].kind != "str" {
				if toks[i].text != refToks[i].text {
					t.Fatalf("value %q: token %d is %q, want %q\n%s", v, i, toks[i].text, refToks[i].text, q)
				}
				continue
			}
			if strings.Contains(refToks[i].text, placeholder) {
				changed++
				sameMeaning(t, op, toks[i].text, refToks[i].text, v)
			} else if toks[i].text != refToks[i].text {
				t.Fatalf("value %q changed another string: %q, want %q", v, toks[i].text, refToks[i].text)
			}
		}
		if changed != 1 {
			t.Fatalf("value %q: %d strings hold it, want 1\n%s", v, changed, q)
		}
	}
}

// FuzzRenderLogQL checks the proof above for any value in every construct.
func FuzzRenderLogQL(f *testing.F) {
	for _, v := range logqlPayloads {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return
		}
		for _, c := range logqlConstructs {
			checkConstruct(t, c.expr, c.op, []string{v})
		}
	})
}

// TestValidateRefusesUnsafePlacements: where a value cannot be made
// literal, the template is refused before anything is queried, naming why.
func TestValidateRefusesUnsafePlacements(t *testing.T) {
	for _, tc := range []struct{ name, expr, want string }{
		{"json path", `{app="shop"} | json track="{{.v}}"`, "extraction path"},
		{"json path after another", `{app="shop"} | json a="b", track="x.{{.v}}"`, "extraction path"},
		{"logfmt path", `{app="shop"} | logfmt --strict track="{{.v}}"`, "extraction path"},
		{"xml path", `{app="shop"} | xml track="{{.v}}"`, "extraction path"},
		{"ip line filter", `{app="shop"} |= ip("{{.v}}")`, "ip(...)"},
		{"ip label filter", `{app="shop"} | logfmt | addr = ip("{{.v}}")`, "ip(...)"},
		{"ip in an or chain", `{app="shop"} |= "a" or ip("{{.v}}")`, "ip(...)"},
		{"inside a capture", `{app="shop"} |> "<{{.v}}>"`, "capture"},
		{"inside a capture name", `{app="shop"} | pattern "<a{{.v}}> <_>"`, "capture"},
		{"inside a template action", `{app="shop"} | line_format "{{"{{"}} if eq .a \"{{.v}}\" }}x{{"{{"}} end }}"`, "action"},
		{"after a { in a template", `{app="shop"} | line_format "{{"{"}}{{.v}}"`, "after a {"},
		{"after a backslash in the string", `{app="shop"} |= "\{{.v}}"`, "backslash"},
		{"after a backslash in a regex", `{app="shop"} |~ "a\\{{.v}}"`, "after a backslash"},
		{"in \\Q", `{app="shop"} |~ "\\Q{{.v}}"`, `\Q`},
		{"in group flags", `{app="shop"} |~ "(?{{.v}})"`, "flags"},
		{"in a group name", `{app="shop"} | regexp "(?P<{{.v}}>.*)"`, "name"},
		{"in a repetition", `{app="shop"} |~ "a{{"{"}}{{.v}}}"`, "repetition"},
		{"in a posix class", `{app="shop"} |~ "[[:{{.v}}:]]"`, "class"},
		{"after a range dash", `{app="shop"} |~ "[a-{{.v}}]"`, "dash"},
		{"in a hex escape", `{app="shop"} |~ "\\x{{.v}}"`, "escape"},
		{"in an octal escape", `{app="shop"} |~ "\\1{{.v}}"`, "octal"},
		{"after a $ of a replacement", `label_replace(rate({a="b"}[1m]), "d", "${{.v}}", "s", "(.*)")`, "after a $"},
		{"extending a $name", `label_replace(rate({a="b"}[1m]), "d", "$a{{.v}}", "s", "(.*)")`, "$name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.expr, []string{"v"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate(%s) = %v, want an error containing %q", tc.expr, err, tc.want)
			}
		})
	}
}
