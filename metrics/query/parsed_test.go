package query

import (
	"fmt"
	"testing"

	"github.com/verdict-aca/verdict/metrics"
)

// FuzzParsedTemplate proves that a template parsed once (PromQL.Parse,
// MetricsQL.Parse) validates and renders exactly as the language's
// Validate and Render of the same text, for any text and any value: the
// same query or the same error. An analysis renders its fetches from the
// parsed template, so this is what keeps a scope value from ever changing
// a query's meaning there (the fuzzers of Render prove it for Render).
func FuzzParsedTemplate(f *testing.F) {
	templates := []string{
		`sum(up{job="x",track="{{.track}}"})`,
		"sum(up{job=\"x\",track=`{{.track}}`})",
		`sum(up{job="x",track=~"{{.track}}+"})`,
		`rate(up{track="{{.track}}"}[{{.interval}}:{{.step}}]) @ {{.end}}`,
		`up{track={{.track}}}`,
		"up # {{.track}}\n",
		`up{track="{{.trakc}}"}`,
		`up{track="{{.track}}"`,
		`up{track="{{if .track}}x{{end}}"}`,
		`up{track="\{{.track}}"}`,
	}
	for _, c := range logqlConstructs {
		templates = append(templates, c.expr)
	}
	values := []string{"canary", "", "a\xffb", "a`b", "a\rb\\"}
	for _, p := range payloads {
		values = append(values, p.value)
	}
	for i, tmpl := range templates {
		f.Add(tmpl, values[i%len(values)])
	}
	f.Fuzz(func(t *testing.T, expr, v string) {
		for _, lang := range []metrics.TemplateLanguage{PromQL{}, MetricsQL{}} {
			parsed, parseErr := lang.Parse(expr)
			for _, scope := range []metrics.Scope{{"track": v}, {"track": v, "v": v}, {"step": v}, nil} {
				keys := scopeKeysOf(scope)
				wantValid := lang.Validate(expr, keys)
				want, wantErr := lang.Render(expr, scope, testWindow)
				if parseErr != nil {
					if wantValid == nil || wantErr == nil {
						t.Fatalf("%T: %q does not parse (%v), but Validate and Render take it", lang, expr, parseErr)
					}
					continue
				}
				if !parsed.ParsedBy(lang) || parsed.Expr() != expr {
					t.Fatalf("%T: the template of %q says it is %q, parsed by another language", lang, expr, parsed.Expr())
				}
				if got := parsed.Validate(keys); errString(got) != errString(wantValid) {
					t.Fatalf("%T: %q for %v: the parsed template validates as %v, Validate as %v", lang, expr, keys, got, wantValid)
				}
				got, err := parsed.Render(scope, testWindow)
				if got != want || errString(err) != errString(wantErr) {
					t.Fatalf("%T: %q for %q: the parsed template renders %q (%v), Render %q (%v)", lang, expr, v, got, err, want, wantErr)
				}
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestParsedByItsLanguageOnly: a template is rendered from its parsed form
// only by the language that parsed it (PromQL's and MetricsQL's escaping of
// a backtick string differ).
func TestParsedByItsLanguageOnly(t *testing.T) {
	expr := "up{track=`{{.track}}`}"
	for _, tc := range []struct {
		parser           metrics.TemplateLanguage
		promQL, metricsQ bool
	}{
		{PromQL{}, true, false},
		{MetricsQL{}, false, true},
	} {
		parsed, err := tc.parser.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := parsed.ParsedBy(PromQL{}); got != tc.promQL {
			t.Errorf("%T's template: ParsedBy(PromQL) = %v", tc.parser, got)
		}
		if got := parsed.ParsedBy(MetricsQL{}); got != tc.metricsQ {
			t.Errorf("%T's template: ParsedBy(MetricsQL) = %v", tc.parser, got)
		}
		if parsed.ParsedBy(otherLanguage{}) {
			t.Errorf("%T's template: parsed by another language", tc.parser)
		}
	}
}

type otherLanguage struct{}

func (otherLanguage) Validate(string, []string) error { return nil }
func (otherLanguage) Render(expr string, _ metrics.Scope, _ metrics.Window) (string, error) {
	return fmt.Sprint("other:", expr), nil
}
