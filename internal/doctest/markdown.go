package doctest

import (
	"fmt"
	"os"
	"strings"
)

// Block is a fenced block of a Markdown page that a marker made runnable or
// tied to a file.
type Block struct {
	// File is the page's path, as given to Blocks; Line the line number of
	// the block's first content line (1-based).
	File string
	Line int
	// Info is the fence's info string (sh, yaml, ...).
	Info string
	// Run is set for <!-- doctest -->: run the block's commands.
	Run bool
	// Content is set for <!-- doctest: file=PATH -->: the block is PATH's
	// content.
	Content string
	// Text is the block's content, its fence's indentation removed, each
	// line ending with a newline.
	Text string
}

// Where is the block's place, FILE:LINE.
func (b Block) Where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

const markerPrefix = "<!-- doctest"

// Blocks returns the marked blocks of a Markdown page, in order. A marker
// that is not the line just before a fence, an unknown marker or a fence
// that is never closed is an error naming the line.
func Blocks(file string, src string) ([]Block, error) {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []Block
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(trimmed, markerPrefix) {
			if strings.Contains(trimmed, markerPrefix) {
				return nil, fmt.Errorf("%s:%d: a doctest marker must be alone on its line", file, i+1)
			}
			continue
		}
		b, err := parseMarker(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
		}
		if i+1 >= len(lines) {
			return nil, fmt.Errorf("%s:%d: the doctest marker is not followed by a fenced block", file, i+1)
		}
		open := lines[i+1]
		indent := len(open) - len(strings.TrimLeft(open, " "))
		fence := fenceOf(strings.TrimLeft(open, " "))
		if fence == "" {
			return nil, fmt.Errorf("%s:%d: the doctest marker is not followed by a fenced block (``` or ~~~ on the next line)", file, i+1)
		}
		b.File, b.Line = file, i+3
		b.Info = strings.TrimSpace(strings.TrimLeft(open, " ")[len(fence):])
		var text strings.Builder
		closed := false
		for j := i + 2; j < len(lines); j++ {
			line := lines[j]
			body := strings.TrimLeft(line, " ")
			if closing := strings.TrimSpace(body); strings.HasPrefix(closing, fence) && strings.Trim(closing, fence[:1]) == "" {
				closed = true
				i = j
				break
			}
			// Remove up to the fence's indentation.
			cut := min(indent, len(line)-len(body))
			text.WriteString(line[cut:])
			text.WriteByte('\n')
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: the fenced block is never closed", file, i+2)
		}
		b.Text = text.String()
		out = append(out, b)
	}
	return out, nil
}

// FencedBlocks returns every fenced block of a Markdown page whose info
// string's first word is lang, marked or not, each without its fence's
// indentation (Info and Text set). A fence never closed ends at the page's
// end.
func FencedBlocks(file, src, lang string) []Block {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []Block
	for i := 0; i < len(lines); i++ {
		open := strings.TrimLeft(lines[i], " ")
		fence := fenceOf(open)
		if fence == "" {
			continue
		}
		info := strings.TrimSpace(open[len(fence):])
		indent := len(lines[i]) - len(open)
		var text strings.Builder
		start := i + 2
		for i++; i < len(lines); i++ {
			body := strings.TrimLeft(lines[i], " ")
			if closing := strings.TrimSpace(body); strings.HasPrefix(closing, fence) && strings.Trim(closing, fence[:1]) == "" {
				break
			}
			text.WriteString(lines[i][min(indent, len(lines[i])-len(body)):])
			text.WriteByte('\n')
		}
		if word, _, _ := strings.Cut(info, " "); word == lang {
			out = append(out, Block{File: file, Line: start, Info: info, Text: text.String()})
		}
	}
	return out
}

// FencedFile reads a Markdown file and returns the texts of its blocks of
// lang (see FencedBlocks).
func FencedFile(path, lang string) ([]string, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, b := range FencedBlocks(path, string(doc), lang) {
		texts = append(texts, b.Text)
	}
	return texts, nil
}

// fenceOf returns the fence a line opens (three or more ` or ~), or "".
func fenceOf(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}

// parseMarker reads <!-- doctest --> or <!-- doctest: file=PATH -->.
func parseMarker(s string) (Block, error) {
	inner, ok := strings.CutSuffix(s, "-->")
	if !ok {
		return Block{}, fmt.Errorf("the doctest marker %q does not end with --> on its line", s)
	}
	inner = strings.TrimSpace(strings.TrimPrefix(inner, markerPrefix))
	if inner == "" {
		return Block{Run: true}, nil
	}
	arg, ok := strings.CutPrefix(inner, ":")
	if ok {
		if path, ok := strings.CutPrefix(strings.TrimSpace(arg), "file="); ok && path != "" && !strings.ContainsAny(path, " \t") {
			return Block{Content: path}, nil
		}
	}
	return Block{}, fmt.Errorf("unknown doctest marker %q (want <!-- doctest --> or <!-- doctest: file=PATH -->)", s)
}
