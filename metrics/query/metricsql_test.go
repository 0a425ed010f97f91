package query

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/verdict-aca/verdict/metrics"
)

// VictoriaMetrics reads the same templates (a victoriametrics source uses
// PromQL's rules) with its own parser, MetricsQL: its lexer must read
// every escaped value back as the value, in every kind of literal, and
// the query's structure must be the template's.

var metricsqlTemplates = []struct {
	name, expr      string
	regex, negative bool
}{
	{"double-quoted", `sum(up{job="x",track="{{.track}}"})`, false, false},
	{"single-quoted", `sum(up{job="x",track='{{.track}}'})`, false, false},
	{"backtick", "sum(up{job=\"x\",track=`{{.track}}`})", false, false},
	{"negative", `sum(up{job="x",track!="{{.track}}"})`, false, true},
	{"regex", `sum(up{job="x",track=~"{{.track}}"})`, true, false},
}

// checkMetricsQL renders v into tmpl and checks what MetricsQL reads.
func checkMetricsQL(t *testing.T, tmpl string, regex, negative bool, v string) {
	t.Helper()
	q, err := MetricsQL{}.Render(tmpl, metrics.Scope{"track": v}, testWindow)
	if err != nil {
		if utf8.ValidString(v) && !strings.Contains(tmpl, "`") {
			t.Fatalf("%s: Render refused valid UTF-8 %q: %v", tmpl, v, err)
		}
		return
	}
	expr, err := metricsql.Parse(q)
	if err != nil {
		t.Fatalf("%q in %s: MetricsQL does not parse the rendered query: %v\n%s", v, tmpl, err, q)
	}
	agg, ok := expr.(*metricsql.AggrFuncExpr)
	if !ok || agg.Name != "sum" || len(agg.Args) != 1 {
		t.Fatalf("%q: structure changed: %s", v, expr.AppendString(nil))
	}
	me, ok := agg.Args[0].(*metricsql.MetricExpr)
	if !ok || len(me.LabelFilterss) != 1 || len(me.LabelFilterss[0]) != 3 {
		t.Fatalf("%q: structure changed (want one selector of __name__, job and track): %s", v, expr.AppendString(nil))
	}
	for _, lf := range me.LabelFilterss[0] {
		switch lf.Label {
		case "__name__", "job":
			if lf.IsRegexp || lf.IsNegative || (lf.Label == "job" && lf.Value != "x") {
				t.Fatalf("%q: the filter %s changed: %s", v, lf.Label, expr.AppendString(nil))
			}
		case "track":
			if lf.IsRegexp != regex || lf.IsNegative != negative {
				t.Fatalf("%q: the track filter's operator changed: %s", v, expr.AppendString(nil))
			}
			if !regex && lf.Value != v {
				t.Fatalf("%q: MetricsQL reads the track value as %q", v, lf.Value)
			}
			if regex {
				re, err := regexp.Compile("^(?:" + lf.Value + ")$")
				if err != nil || !re.MatchString(v) || (v != "" && re.MatchString(v+"x")) {
					t.Fatalf("%q: MetricsQL's regex %q matches other than the value (%v)", v, lf.Value, err)
				}
			}
		default:
			t.Fatalf("%q: an unexpected filter %s: %s", v, lf.Label, expr.AppendString(nil))
		}
	}
}

func TestRenderIsSafeForMetricsQL(t *testing.T) {
	for _, tmpl := range metricsqlTemplates {
		for _, p := range payloads {
			t.Run(tmpl.name+"/"+p.name, func(t *testing.T) {
				checkMetricsQL(t, tmpl.expr, tmpl.regex, tmpl.negative, p.value)
			})
		}
	}
}

func FuzzRenderMetricsQL(f *testing.F) {
	for _, p := range payloads {
		f.Add(p.value)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, tmpl := range metricsqlTemplates {
			checkMetricsQL(t, tmpl.expr, tmpl.regex, tmpl.negative, v)
		}
	})
}
