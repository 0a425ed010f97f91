package query

import (
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/verdict-aca/verdict/metrics"
)

// FuzzRenderMatcher checks the injection rule for any value: rendered in
// each kind of string literal, the query parses to the same structure and
// the matcher holds exactly the value (or Render refuses the value).
func FuzzRenderMatcher(f *testing.F) {
	for _, p := range payloads {
		f.Add(p.value)
	}
	templates := []string{
		`sum(up{job="x",track="{{.track}}"})`,
		`sum(up{job="x",track='{{.track}}'})`,
		"sum(up{job=\"x\",track=`{{.track}}`})",
		`sum(up{job="x",track=~"{{.track}}"})`,
	}
	f.Fuzz(func(t *testing.T, v string) {
		for i, tmpl := range templates {
			q, err := Render(tmpl, metrics.Scope{"track": v}, testWindow)
			if err != nil {
				if utf8.ValidString(v) && i != 2 {
					t.Fatalf("%s: Render refused valid UTF-8 %q: %v", tmpl, v, err)
				}
				continue
			}
			expr, err := parser.ParseExpr(q)
			if err != nil {
				t.Fatalf("%q in %s: rendered query does not parse: %v\n%s", v, tmpl, err, q)
			}
			agg, ok := expr.(*parser.AggregateExpr)
			if !ok {
				t.Fatalf("%q: structure changed: %s", v, q)
			}
			vs, ok := agg.Expr.(*parser.VectorSelector)
			if !ok || len(vs.LabelMatchers) != 3 {
				t.Fatalf("%q: structure changed: %s", v, q)
			}
			for _, m := range vs.LabelMatchers {
				if m.Name != "track" {
					continue
				}
				if i == 3 {
					if !m.Matches(v) {
						t.Fatalf("%q: regex %q does not match the value", v, m.Value)
					}
				} else if m.Value != v {
					t.Fatalf("%q: matcher value %q", v, m.Value)
				}
			}
		}
	})
}
