package htmlreport

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

//go:embed page.html.tmpl
var pageTemplate string

//go:embed page.css
var pageCSS string

// tmpl is parsed once, on first use (not at every start of the binary);
// it is read-only after that.
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"css": func() template.CSS { return template.CSS(pageCSS) },
	}).Parse(pageTemplate))
})

// PageOptions adapt the page to where it is shown. The zero value gives
// the stand-alone file that `verdict judge --format html` writes.
type PageOptions struct {
	// Title replaces the document title ("<name>: <VERDICT> — Verdict report").
	Title string
	// BackLink, when set, adds a "← all analyses" link to this URL at the
	// top of the page (the service's list of analyses).
	BackLink string
	// AutoRefresh, when positive, makes the browser reload the page after
	// this long (rounded up to whole seconds) with a <meta http-equiv="refresh">
	// tag; the service sets it while an analysis is still running.
	AutoRefresh time.Duration
	// Generated, when set, is shown as the time the page was made.
	Generated time.Time
	// NoPlots leaves the plots out (a smaller, faster page).
	NoPlots bool
}

// Write writes r as one self-contained HTML document: the verdict banner,
// the interval timeline of a multi-interval run, group scores, a summary
// of all signals and one section per signal with its statistics, test
// figures, deciding rule and plots. It is WritePage with zero options.
func Write(w io.Writer, r *analysis.Report) error {
	return WritePage(w, r, PageOptions{})
}

// WritePage writes r as one self-contained HTML document with the given
// options. It returns an error, and writes nothing, when r is nil or a
// plot cannot be drawn; otherwise only w's errors.
func WritePage(w io.Writer, r *analysis.Report, opts PageOptions) error {
	if r == nil {
		return fmt.Errorf("writing the HTML report: no report")
	}
	p, err := buildPage(r, opts, !opts.NoPlots)
	if err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl().Execute(bw, p); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}
