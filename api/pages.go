package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/internal/cell"
	"github.com/verdict-aca/verdict/report/htmlreport"
	"github.com/verdict-aca/verdict/scoring"
)

// pages registers the HTML pages: a finished analysis is the report page
// of package htmlreport (with plots from the stored series); a running
// one, the list and a config's history are small pages that refresh while
// something runs. They need the read role like the JSON API. GET / is the
// list for a browser (a request that accepts text/html) and a JSON 404
// that points to the list for anything else, so that an API client never
// gets HTML it did not ask for.
func (s *Server) pages(m *http.ServeMux, read func(http.Handler) http.Handler) {
	m.Handle("GET /{$}", read(http.HandlerFunc(s.rootPage)))
	m.Handle("GET /analyses", read(http.HandlerFunc(s.analysesPage)))
	m.Handle("GET /analyses/{id}", read(http.HandlerFunc(s.analysisPage)))
	m.Handle("GET /configs/{name}", read(http.HandlerFunc(s.configPage)))
}

// pageTmpl is parsed on first use (not at every start of the binary).
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"score": func(p *float64) string {
			if p == nil {
				return "–"
			}
			return fmt.Sprintf("%.4g", *p)
		},
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		// mark gives a verdict a sign that reads without colour.
		"mark":   func(verdict string) string { return cell.VerdictMark(scoring.Verdict(verdict)) },
		"scopes": scopesText,
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>{{.Title}} — Verdict</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}
.pass{color:#0a6b2d}.fail{color:#a4161a}.marginal{color:#8a5a00}.none{color:#555}
form{margin:1em 0}pre{background:#f5f5f5;padding:.8em;overflow:auto}
</style></head><body>
<p><a href="/analyses">All analyses</a></p>
<h1>{{.Title}}</h1>
{{if .Analysis}}{{with .Analysis}}
<p>Status: <strong>{{.Status}}</strong>{{if .Verdict}}, verdict <strong class="{{.Verdict}}">{{.Verdict}}</strong>{{end}};
progress {{.Progress.Done}} of {{.Progress.Total}} judgements; started {{when .CreatedAt}}.</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
{{end}}
{{if .Intervals}}<table><tr><th>#</th><th>window</th><th>verdict</th><th>score</th><th>reason</th></tr>
{{range .Intervals}}<tr><td>{{.Index}}</td><td>{{when .Start}} – {{when .End}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{score .Score}}</td><td>{{.Reason}}</td></tr>{{end}}
</table>{{end}}
{{end}}
{{if .List}}
<form method="get">config <input name="config" value="{{.Filter.Config}}"> verdict <select name="verdict">
{{range .Verdicts}}<option{{if eq . $.Filter.Verdict}} selected{{end}}>{{.}}</option>{{end}}</select>
status <select name="status">{{range .Statuses}}<option{{if eq . $.FilterStatus}} selected{{end}}>{{.}}</option>{{end}}</select>
since <input name="since" value="{{.FilterSince}}" placeholder="24h or 2026-11-23T00:00:00Z" size="24">
<button>Filter</button></form>
<table><tr><th>started</th><th>config</th><th>scopes</th><th>origin</th><th>status</th><th>verdict</th><th>score</th><th>progress</th></tr>
{{range .Rows}}<tr data-analysis="{{.ID}}" data-verdict="{{.Verdict}}" data-status="{{.Status}}"><td><a href="/analyses/{{.ID}}">{{when .CreatedAt}}</a></td><td>{{if .ConfigName}}<a href="/configs/{{.ConfigName}}">{{.ConfigName}}</a>{{else}}(inline){{end}}</td>
<td class="scopes">{{scopes .Scopes}}</td><td>{{.Origin}}</td><td>{{.Status}}</td><td class="{{.Verdict}}">{{mark .Verdict}} {{.Verdict}}</td><td>{{score .Score}}</td><td>{{.Progress.Done}}/{{.Progress.Total}}</td></tr>{{else}}<tr><td colspan="8">No analyses.</td></tr>{{end}}
</table>{{end}}
{{if .ConfigText}}<h2>Config (version {{.ConfigVersion}})</h2><pre>{{.ConfigText}}</pre>{{end}}
</body></html>
`))
})

type pageData struct {
	Title        string
	Refresh      int
	Analysis     *store.Analysis
	Intervals    []analysis.IntervalResult
	List         bool
	Rows         []store.Analysis
	Filter       store.Filter
	FilterStatus string
	// FilterSince echoes the since filter as the reader wrote it (24h, or a time).
	FilterSince   string
	Verdicts      []string
	Statuses      []string
	ConfigText    string
	ConfigVersion int64
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTmpl().Execute(w, d); err != nil {
		s.log.Error("render page", "path", r.URL.Path, "err", err)
	}
}

func (s *Server) analysisPage(w http.ResponseWriter, r *http.Request) {
	a, err := s.store.GetAnalysis(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderPage(w, r, http.StatusNotFound, pageData{Title: "No such analysis"})
			return
		}
		s.internalError(w, r, err)
		return
	}
	if a.Status == store.Finished && len(a.Report) > 0 {
		var rep analysis.Report
		if err := json.Unmarshal(a.Report, &rep); err != nil {
			s.internalError(w, r, fmt.Errorf("analysis %s: read the report: %w", a.ID, err))
			return
		}
		rep.Series = store.DecodeSeries(a.Series)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := htmlreport.WritePage(w, &rep, htmlreport.PageOptions{BackLink: "/analyses", Generated: a.FinishedAt}); err != nil {
			s.log.Error("render report page", "id", a.ID, "err", err)
		}
		return
	}
	d := pageData{Title: "Analysis " + a.ID, Analysis: &a}
	_ = json.Unmarshal(a.Intervals, &d.Intervals)
	if !a.Status.Terminal() {
		d.Refresh = 5
	}
	s.renderPage(w, r, http.StatusOK, d)
}

// rootPage is GET /: the analyses page for a browser, a JSON 404 naming
// the pages and the API for any other client.
func (s *Server) rootPage(w http.ResponseWriter, r *http.Request) {
	if !acceptsHTML(r.Header.Get("Accept")) {
		writeError(w, http.StatusNotFound, "no such endpoint: GET /; analyses are listed at /api/v1/analyses (JSON) and /analyses (HTML)")
		return
	}
	s.analysesPage(w, r)
}

// acceptsHTML reports whether an Accept header names text/html (or
// application/xhtml+xml) with a quality above zero, as browsers send for a
// page; */* alone (curl, most API clients) does not count.
func acceptsHTML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		media, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || media != "text/html" && media != "application/xhtml+xml" {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
				continue
			}
		}
		return true
	}
	return false
}

// scopesText writes an analysis' scopes in one short line: the keys both
// sides share with one value as k=v, the others as k: baseline → canary
// ("app=shop, track: baseline → canary"); "–" for none.
func scopesText(sc *analysis.Scopes) string {
	if sc == nil || len(sc.Baseline) == 0 && len(sc.Canary) == 0 {
		return "–"
	}
	all := make(map[string]string, len(sc.Baseline)+len(sc.Canary))
	maps.Copy(all, sc.Baseline)
	maps.Copy(all, sc.Canary)
	keys := slices.Sorted(maps.Keys(all))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		b, inB := sc.Baseline[k]
		c, inC := sc.Canary[k]
		switch {
		case inB && inC && b == c:
			parts = append(parts, k+"="+b)
		case !inC:
			parts = append(parts, k+": "+b+" → (none)")
		case !inB:
			parts = append(parts, k+": (none) → "+c)
		default:
			parts = append(parts, k+": "+b+" → "+c)
		}
	}
	return strings.Join(parts, ", ")
}

func (s *Server) analysesPage(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		s.renderPage(w, r, http.StatusBadRequest, pageData{Title: err.Error()})
		return
	}
	s.listPage(w, r, "Analyses", f, "", 0)
}

// sinceText is the since filter as the request gave it, for the form.
func sinceText(r *http.Request) string { return r.URL.Query().Get("since") }

func (s *Server) listPage(w http.ResponseWriter, r *http.Request, title string, f store.Filter, cfgText string, version int64) {
	if f.Limit == 0 {
		f.Limit = 100
	}
	rows, err := s.store.ListAnalyses(r.Context(), f)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	d := pageData{Title: title, List: true, Rows: rows, Filter: f, FilterStatus: string(f.Status), FilterSince: sinceText(r),
		Verdicts:   []string{"", "pass", "marginal", "fail", "none"},
		Statuses:   []string{"", "queued", "running", "finished", "failed", "cancelled", "interrupted"},
		ConfigText: cfgText, ConfigVersion: version}
	for _, a := range rows {
		if !a.Status.Terminal() {
			d.Refresh = 10
			break
		}
	}
	s.renderPage(w, r, http.StatusOK, d)
}

func (s *Server) configPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rec, err := s.store.GetConfig(r.Context(), name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderPage(w, r, http.StatusNotFound, pageData{Title: "No config named " + name})
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.listPage(w, r, "Config "+name+": recent verdicts", store.Filter{Config: name, Limit: 50}, string(rec.Data), rec.Version)
}
