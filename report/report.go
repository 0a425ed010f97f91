// Package report renders an analysis.Report for people and programs: a
// terminal table, the verdict/report/v1 JSON document, Markdown for
// pull-request comments and chat, and a self-contained HTML page with plots
// (package report/htmlreport, which the service also uses directly).
//
// Renderers only format: every figure and sentence comes from the report,
// so each form tells the same story.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/report/htmlreport"
)

// Format names an output form.
type Format string

// The output forms.
const (
	Table    Format = "table"
	JSON     Format = "json"
	Markdown Format = "markdown"
	HTML     Format = "html"
)

// Formats lists the forms Write accepts, for help texts and errors.
var Formats = []Format{Table, JSON, Markdown, HTML}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q is not an output format (want %v)", s, Formats)
}

// formatExtensions maps a file name's extension to the format it holds,
// in the order help texts list them.
var formatExtensions = []struct {
	ext    string
	format Format
}{{".json", JSON}, {".md", Markdown}, {".markdown", Markdown}, {".html", HTML}, {".htm", HTML}, {".txt", Table}, {".text", Table}}

// FormatOfFile returns the format a file name's extension (any case) says:
// .json, .md or .markdown, .html or .htm, and .txt or .text for the table.
// ok is false for any other extension, or none.
func FormatOfFile(name string) (f Format, ok bool) {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range formatExtensions {
		if e.ext == ext {
			return e.format, true
		}
	}
	return "", false
}

// FileExtensions lists the extensions FormatOfFile knows.
func FileExtensions() []string {
	out := make([]string, len(formatExtensions))
	for i, e := range formatExtensions {
		out[i] = e.ext
	}
	return out
}

// Write renders r to w in the given format.
func Write(w io.Writer, r *analysis.Report, f Format) error {
	switch f {
	case JSON:
		return WriteJSON(w, r)
	case Table:
		return WriteTable(w, r)
	case Markdown:
		return WriteMarkdown(w, r)
	case HTML:
		return WriteHTML(w, r)
	}
	return fmt.Errorf("%q is not an output format (want %v)", f, Formats)
}

// WriteJSON writes r as an indented verdict/report/v1 document.
func WriteJSON(w io.Writer, r *analysis.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// WriteHTML writes r as one self-contained HTML page with plots; see
// htmlreport.WritePage for the service's variant with navigation and refresh.
func WriteHTML(w io.Writer, r *analysis.Report) error {
	return htmlreport.Write(w, r)
}
