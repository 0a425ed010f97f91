package metrics_test

import (
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// TestRenderQuery: a query is rendered from its parsed template only when
// the source's language parsed it from the query's own text; otherwise the
// language renders the text (a template of another text or language would
// render another query, or escape a value by another language's rules).
func TestRenderQuery(t *testing.T) {
	expr := "up{track=`{{.track}}`}"
	promTemplate, err := query.PromQL{}.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	otherText, err := query.PromQL{}.Parse("down{track=`{{.track}}`}")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Unix(1_000_000_000, 0)
	w := metrics.Window{Start: end.Add(-time.Hour), End: end, Step: time.Minute}
	scope := metrics.Scope{"track": "canary"}
	tests := []struct {
		name     string
		lang     metrics.Language
		template metrics.Template
		fromIt   bool
	}{
		{"no template", query.PromQL{}, nil, false},
		{"its language and text", query.PromQL{}, counting{Template: promTemplate}, true},
		{"another language", query.MetricsQL{}, counting{Template: promTemplate}, false},
		{"another text", query.PromQL{}, counting{Template: otherText}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			if c, ok := tc.template.(counting); ok {
				c.calls = &calls
				tc.template = c
			}
			got, err := metrics.RenderQuery(tc.lang, metrics.Query{Expr: expr, Template: tc.template}, scope, w)
			if err != nil {
				t.Fatal(err)
			}
			if want := "up{track=`canary`}"; got != want {
				t.Errorf("rendered %q, want %q", got, want)
			}
			if (calls == 1) != tc.fromIt {
				t.Errorf("rendered from the template %d times, want it used: %v", calls, tc.fromIt)
			}
		})
	}
}

// counting is a template that counts its renderings.
type counting struct {
	metrics.Template
	calls *int
}

func (c counting) Render(scope metrics.Scope, w metrics.Window) (string, error) {
	*c.calls++
	return c.Template.Render(scope, w)
}
