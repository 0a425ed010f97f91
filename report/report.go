// Package report renders an analysis.Report for people and programs: a
// terminal table, the verdict/report/v1 JSON document, and (as they are
// added) Markdown and HTML.
//
// Renderers only format: every figure and sentence comes from the report,
// so each form tells the same story.
package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/verdict-aca/verdict/analysis"
)

// Format names an output form.
type Format string

// The output forms.
const (
	Table Format = "table"
	JSON  Format = "json"
)

// Formats lists the forms Write accepts, for help texts and errors.
var Formats = []Format{Table, JSON}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q is not an output format (want %v)", s, Formats)
}

// Write renders r to w in the given format.
func Write(w io.Writer, r *analysis.Report, f Format) error {
	switch f {
	case JSON:
		return WriteJSON(w, r)
	case Table:
		return WriteTable(w, r)
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
