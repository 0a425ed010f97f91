package newrelic

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// MaxQueryBytes bounds a rendered NRQL query (New Relic refuses longer
// ones).
const MaxQueryBytes = 4096

// MaxTimeseriesBuckets is the most buckets NRQL's TIMESERIES answers.
const MaxTimeseriesBuckets = 366

// Language is the template language of NRQL queries; the zero value is
// ready to use.
type Language struct{}

var _ metrics.Language = Language{}

// Validate checks a NRQL template for scopes with these keys: the
// template rules every source shares (metrics/query.Parts), every
// variable a scope key or a window variable, every scope variable inside
// a single-quoted string literal that is not a LIKE or RLIKE pattern, a
// TIMESERIES clause, and no SINCE, UNTIL or COMPARE WITH (the source sets
// the window).
func (Language) Validate(expr string, scopeKeys []string) error {
	return query.ValidateParts(expr, scopeKeys, render)
}

// Render fills the query in for scope and w. A scope value must stand
// inside a single-quoted string literal of the template
// (WHERE track = '{{.track}}'), where it is written as it is: a value
// holding a quote, a backslash (NRQL's escape), a control character or
// invalid UTF-8 cannot be made safe and is refused with an error naming
// it. Window variables: {{.step}} and {{.interval}} are whole seconds
// with their unit ("60 seconds", for TIMESERIES {{.step}}), {{.start}}
// and {{.end}} unix seconds.
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
			if sc.quote != 0 {
				return "", fmt.Errorf("query template: window variable {{.%s}} sits inside a quoted string or name", p.Variable)
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
			sc.value()
		}
	}
	q := b.String()
	if err := sc.finish(); err != nil {
		return "", fmt.Errorf("NRQL query %q: %w", q, err)
	}
	if len(q) > MaxQueryBytes {
		return "", fmt.Errorf("the NRQL query is %d bytes long, more than the %d New Relic takes", len(q), MaxQueryBytes)
	}
	return q, nil
}

// CheckValue refuses a scope value that cannot stand inside a NRQL
// single-quoted string as plain text.
func CheckValue(name, v string) error {
	if v == "" {
		return fmt.Errorf("scope value for %s is empty, which in a NRQL comparison would match the events without the attribute's value", name)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("scope value for %s is not valid UTF-8", name)
	}
	for _, r := range v {
		if r == '\'' || r == '\\' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("scope value %q for %s cannot be placed in a NRQL string: %q would end or escape the string (NRQL has no escape Verdict can rely on), so the value is refused", v, name, r)
		}
	}
	return nil
}

func windowValue(name string, w metrics.Window) (string, error) {
	seconds := func(d time.Duration, what string) (string, error) {
		if d <= 0 || d%time.Second != 0 {
			return "", fmt.Errorf("query uses {{.%s}} but the window's %s, %s, is not a whole number of seconds (NRQL's resolution)", name, what, d)
		}
		return strconv.FormatInt(int64(d/time.Second), 10) + " seconds", nil
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

// scanner follows the lexical context of NRQL text: inside a
// single-quoted string, a double-quoted one, a backtick name, or code;
// and the words of the code, to find the operator before a string and
// the clauses the query has.
type scanner struct {
	quote   rune // the open quote, 0 in code
	escaped bool
	word    strings.Builder // the code word being written
	words   []string        // the code's words, upper-cased
	// before are the two code words before the open string, upper-cased.
	before    [2]string
	hasSeries bool
}

func (s *scanner) endWord() {
	if s.word.Len() > 0 {
		w := strings.ToUpper(s.word.String())
		s.words = append(s.words, w)
		if w == "TIMESERIES" {
			s.hasSeries = true
		}
		s.word.Reset()
	}
}

func (s *scanner) feed(text string) {
	for _, r := range text {
		if s.quote != 0 {
			switch {
			case s.escaped:
				s.escaped = false
			case r == '\\':
				s.escaped = true
			case r == s.quote:
				s.quote = 0
			}
			continue
		}
		switch {
		case r == '\'' || r == '"' || r == '`':
			s.endWord()
			s.quote = r
			s.before = [2]string{}
			for i := 0; i < 2 && i < len(s.words); i++ {
				s.before[i] = s.words[len(s.words)-1-i]
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.':
			s.word.WriteRune(r)
		default:
			s.endWord()
		}
	}
}

// value records a value written inside the open string.
func (s *scanner) value() { s.escaped = false }

func (s *scanner) finish() error {
	s.endWord()
	switch {
	case s.quote != 0:
		return fmt.Errorf("a %c string is not closed", s.quote)
	case !s.hasSeries:
		return fmt.Errorf("it has no TIMESERIES clause; write TIMESERIES {{.step}} so that each step is one point")
	}
	for i, w := range s.words {
		if w == "SINCE" || w == "UNTIL" || (w == "COMPARE" && i+1 < len(s.words) && s.words[i+1] == "WITH") {
			return fmt.Errorf("it says %s, but the window is Verdict's: the source adds SINCE and UNTIL for each query; leave them out", w)
		}
	}
	return nil
}

// checkPlace says whether a scope value may stand where the text ends:
// inside a single-quoted string, not right after a backslash, not a
// LIKE or RLIKE pattern (where % and _ would be wildcards).
func (s *scanner) checkPlace(name string) error {
	switch {
	case s.quote == 0:
		return fmt.Errorf("query template: scope variable {{.%s}} stands outside a string; in NRQL put it in a single-quoted string: WHERE %s = '{{.%s}}'", name, name, name)
	case s.quote == '`':
		return fmt.Errorf("query template: scope variable {{.%s}} sits in a `name`, where it would name another attribute", name)
	case s.quote == '"':
		return fmt.Errorf("query template: scope variable {{.%s}} sits in a double-quoted string; NRQL compares values in single quotes: '{{.%s}}'", name, name)
	case s.escaped:
		return fmt.Errorf("query template: scope variable {{.%s}} sits right after a backslash, which would escape the value's first character", name)
	case slices.Contains(s.before[:], "LIKE") || slices.Contains(s.before[:], "RLIKE"):
		return fmt.Errorf("query template: scope variable {{.%s}} sits in a LIKE or RLIKE pattern, where %% and _ (or a regular expression) in the value would match other values; compare with = or IN", name)
	}
	return nil
}
