package graphite

import (
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var testWindow = metrics.Window{
	Start: time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC),
	End:   time.Date(2026, 1, 2, 13, 0, 0, 0, time.UTC),
	Step:  time.Minute,
}

func TestRenderPlacesValues(t *testing.T) {
	scope := metrics.Scope{"scenario": "healthy", "track": "canary-2"}
	tests := []struct {
		expr, want string
	}{
		{"shop.checkout.{{.scenario}}.{{.track}}.latency.p50", "shop.checkout.healthy.canary-2.latency.p50"},
		{`summarize(sumSeries(shop.{{.track}}.*.errors), "{{.step}}", "sum")`, `summarize(sumSeries(shop.canary-2.*.errors), "60s", "sum")`},
		{`seriesByTag('name=requests', 'track={{.track}}')`, `seriesByTag('name=requests', 'track=canary-2')`},
		{`alias(shop.pod-{{.track}}.cpu, "cpu of {{.track}}")`, `alias(shop.pod-canary-2.cpu, "cpu of canary-2")`},
		{`shop.{{.track}}.requests | scale(0.1) | alias("rps")`, `shop.canary-2.requests | scale(0.1) | alias("rps")`},
		{`movingAverage(shop.{{.track}}.x, "{{.interval}}", xFilesFactor=0.5)`, `movingAverage(shop.canary-2.x, "3600s", xFilesFactor=0.5)`},
		{`timeSlice(shop.{{.track}}.x, "{{.start}}", "{{.end}}")`, `timeSlice(shop.canary-2.x, "1767355200", "1767358800")`},
	}
	for _, tt := range tests {
		got, err := Language{}.Render(tt.expr, scope, testWindow)
		if err != nil {
			t.Errorf("Render(%q): %v", tt.expr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// TestRenderRefusesValuesThatWouldChangeTheTarget tries values that, placed
// as they are, would read other series, call functions or end a string.
func TestRenderRefusesValuesThatWouldChangeTheTarget(t *testing.T) {
	exprs := []string{
		"shop.checkout.{{.track}}.requests",
		`alias(shop.x, "{{.track}}")`,
		`seriesByTag('track={{.track}}')`,
	}
	evil := []string{
		"*", "canary.*", "canary,baseline", "{canary,baseline}", "canary)", "canary),sumSeries(shop.*",
		`canary"`, "canary'", `canary\`, "canary$1", "canary[0-9]", "ca nary", "canary?", "~.*", "=~.*",
		"canary\n", "canary|scale(0)", "кanary", "",
	}
	for _, expr := range exprs {
		for _, v := range evil {
			got, err := Language{}.Render(expr, metrics.Scope{"track": v}, testWindow)
			if err == nil {
				t.Errorf("Render(%q) with track=%q = %q, want an error", expr, v, got)
				continue
			}
			if v != "" && !strings.Contains(err.Error(), "only ASCII letters, digits, '_' and '-'") {
				t.Errorf("track=%q: error %q does not say which characters a value may hold", v, err)
			}
		}
	}
}

func TestValidatePlacement(t *testing.T) {
	keys := []string{"track"}
	tests := []struct {
		expr    string
		wantErr string // "" when valid
	}{
		{"shop.{{.track}}.requests", ""},
		{`summarize(shop.{{.track}}.errors, "{{.step}}", "sum")`, ""},
		{"sumSeries({{.track}})", "stands alone"},
		{"{{.track}}.requests", "stands alone"},
		{"sum{{.track}}(shop.x)", "first element"},
		{"shop{{.track}}", "first element"},
		{"1.{{.track}}.x", "does not start with a letter"},
		{"shop.{a,{{.track}}}.x", "{a,b} choice"},
		{"shop.{a,b}{{.track}}.x", "{a,b} choice"},
		{"template(shop.$1{{.track}}.x, 1='y')", "$ parameter"},
		{`alias(shop.x, "a\{{.track}}")`, "backslash"},
		{"shop.{{.nope}}.x", "unknown variable {{.nope}}"},
		{"sumSeries(shop.{{.track}}.x", "not closed"},
		{"shop.{{.track}}.x)", "after the expression"},
		{`alias(shop.{{.track}}.x, "unclosed)`, "not closed"},
		{"shop.{{.track}}.x | ", "after |"},
		{"f(a=1, shop.{{.track}}.x)", "positional argument after a keyword"},
		{`{{if .track}}x{{end}}`, "only {{.name}}"},
	}
	for _, tt := range tests {
		err := Language{}.Validate(tt.expr, keys)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Validate(%q): %v", tt.expr, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Validate(%q) = %v, want an error saying %q", tt.expr, err, tt.wantErr)
		}
	}
	if err := (Language{}).Validate("shop.x", []string{"step"}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("a scope key named step: %v, want reserved", err)
	}
}

func TestParseTarget(t *testing.T) {
	valid := []string{
		"a.b.c",
		"a.b.*.c[0-9]?",
		"a.{b,c}.d",
		`a.b\(c\).d`,
		"sumSeries(a.b, c.d)",
		"summarize(a.b, '1min', 'sum', true)",
		"scale(a.b, -1.5e3)",
		"divideSeries(sumSeries(a.*.x, scale(a.*.y, 0)), sumSeries(a.*.y))",
		"f()",
		"f(a.b, none, inf, False)",
		"f(a.b, key='v', other=2)",
		"a.b|scale(2) | alias('x')",
		"seriesByTag('name=x', 'track=~a.*')",
		"  a.b  ",
	}
	for _, s := range valid {
		if err := parseTarget(s); err != nil {
			t.Errorf("parseTarget(%q): %v", s, err)
		}
	}
	invalid := []string{
		"", "(", "a.b)", "sumSeries(a.b", "f(a.b,)", "f(,)", "a..b", "a.b.", ".a", "a.{b", "a.{}",
		`f('x)`, `f("x` + "\n" + `")`, "a.b | c.d", "f(a=1, 2)", `a\b`, "a b",
		strings.Repeat("f(", 200) + "a" + strings.Repeat(")", 200),
	}
	for _, s := range invalid {
		if err := parseTarget(s); err == nil {
			t.Errorf("parseTarget(%q) accepted it", s)
		}
	}
}

// FuzzRenderGraphite checks that no scope value renders: a value that
// renders is made of the allowed characters only, and the target it gives
// has the template's shape (the same text with the value as "x").
func FuzzRenderGraphite(f *testing.F) {
	for _, s := range []string{"canary", "a.b", "*", `x"`, "x)", "x,y", "{a,b}"} {
		f.Add(s)
	}
	const expr = `alias(sumSeries(shop.{{.track}}.*.requests), "track {{.track}}")`
	f.Fuzz(func(t *testing.T, v string) {
		got, err := Language{}.Render(expr, metrics.Scope{"track": v}, testWindow)
		if err != nil {
			return
		}
		for _, r := range v {
			if !valueRune(r) {
				t.Fatalf("value %q rendered (%q) but holds %q", v, got, r)
			}
		}
		if strings.ReplaceAll(got, v, "x") != `alias(sumSeries(shop.x.*.requests), "track x")` && !strings.Contains("shop.requests alias sumSeries track", v) {
			t.Fatalf("value %q changed the target's shape: %q", v, got)
		}
	})
}
