package doctest

import (
	"fmt"
	"strconv"
	"strings"
)

// Command is one command of a runnable block.
type Command struct {
	// Line is the page's line number of the command's first line.
	Line int
	// Text is the command as written, continuation lines and comments
	// included (bash ignores the comments).
	Text string
	// Expect is what its trailing `# →` comment says it gives.
	Expect Expect
}

// Expect is what a command gives. The zero Expect: exit 0, no error.
type Expect struct {
	// Verdict is pass, fail, marginal or none; "" for no verdict to check.
	Verdict string
	// Status is the answer's HTTP status; 0 for none to check.
	Status int
	// Exit is the exit code, when HasExit.
	Exit    int
	HasExit bool
}

// String writes the expectation as a page would.
func (e Expect) String() string {
	var words []string
	if e.Status != 0 {
		words = append(words, strconv.Itoa(e.Status))
	}
	if e.Verdict != "" {
		words = append(words, e.Verdict)
	}
	if e.HasExit {
		words = append(words, "exit "+strconv.Itoa(e.Exit))
	}
	if len(words) == 0 {
		return "exit 0"
	}
	return strings.Join(words, " ")
}

// arrow starts an expectation comment.
const arrow = "→"

// Commands splits a runnable block into its commands. A command ends at a
// newline outside quotes that does not follow a backslash; a comment
// (# at the start of a word, outside quotes) runs to the end of its line,
// and the last comment of a command that starts with → is its
// expectation.
func Commands(b Block) ([]Command, error) {
	var out []Command
	text := b.Text
	lineOf := func(pos int) int { return b.Line + strings.Count(text[:pos], "\n") }
	start := -1 // the current command's first byte
	var quote byte
	comment := "" // the current command's last comment
	flush := func(end int) error {
		if start < 0 {
			return nil
		}
		cmd, err := newCommand(b, lineOf(start), text[start:end], comment)
		if err != nil {
			return err
		}
		out = append(out, cmd)
		start, comment = -1, ""
		return nil
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = 0
			}
		case c == '#' && (i == 0 || strings.IndexByte(" \t\n", text[i-1]) >= 0):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				end = len(text) - i
			}
			body := strings.TrimSpace(text[i+1 : i+end])
			if start < 0 && strings.HasPrefix(body, arrow) {
				return nil, fmt.Errorf("%s:%d: an expectation (# %s) on a line of its own; put it after its command", b.File, lineOf(i), arrow)
			}
			if start >= 0 {
				comment = body
			}
			i += end - 1 // up to the newline
		case c == '\n':
			if err := flush(i); err != nil {
				return nil, err
			}
		case c == ' ' || c == '\t':
		default:
			if start < 0 {
				start = i
			}
			if c == '\\' {
				i++ // an escaped character, a newline included
			} else if c == '\'' || c == '"' {
				quote = c
			}
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%s:%d: a %c quote is never closed", b.File, lineOf(start), quote)
	}
	if err := flush(len(text)); err != nil {
		return nil, err
	}
	return out, nil
}

func newCommand(b Block, line int, text, comment string) (Command, error) {
	cmd := Command{Line: line, Text: strings.TrimSpace(text)}
	if rest, ok := strings.CutPrefix(comment, arrow); ok {
		exp, err := ParseExpect(rest)
		if err != nil {
			return cmd, fmt.Errorf("%s:%d: %w", b.File, line, err)
		}
		cmd.Expect = exp
	}
	return cmd, nil
}

// ParseExpect reads the words after # →: a verdict, an HTTP status, exit N;
// words in parentheses are ignored.
func ParseExpect(s string) (Expect, error) {
	var e Expect
	// Drop the parentheses.
	var kept strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			kept.WriteRune(r)
		}
	}
	if depth != 0 {
		return e, fmt.Errorf("expectation %q: a parenthesis is never closed", s)
	}
	words := strings.FieldsFunc(kept.String(), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(words) == 0 {
		return e, fmt.Errorf("expectation %q is empty", s)
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "pass" || w == "fail" || w == "marginal" || w == "none":
			if e.Verdict != "" {
				return e, fmt.Errorf("expectation %q: two verdicts", s)
			}
			e.Verdict = w
		case w == "exit":
			if i+1 == len(words) {
				return e, fmt.Errorf("expectation %q: exit without a code", s)
			}
			code, err := strconv.Atoi(words[i+1])
			if err != nil || code < 0 || code > 255 || e.HasExit {
				return e, fmt.Errorf("expectation %q: exit %q is not one exit code", s, words[i+1])
			}
			e.Exit, e.HasExit = code, true
			i++
		case len(w) == 3 && w[0] >= '1' && w[0] <= '5':
			status, err := strconv.Atoi(w)
			if err != nil || e.Status != 0 {
				return e, fmt.Errorf("expectation %q: %q is not one HTTP status", s, w)
			}
			e.Status = status
		default:
			return e, fmt.Errorf("expectation %q: unknown word %q (want pass, fail, marginal, none, an HTTP status or exit N)", s, w)
		}
	}
	return e, nil
}
