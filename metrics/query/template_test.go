package query

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/verdict-aca/verdict/metrics"
)

var testWindow = metrics.Window{
	Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2024, 1, 1, 1, 30, 0, 0, time.UTC),
	Step:  10 * time.Second,
}

// payloads are scope values that must come out of a query exactly as they
// went in, whatever they contain.
var payloads = []struct{ name, value string }{
	{"plain", "canary"},
	{"empty", ""},
	{"double quote", `a"b`},
	{"single quote", `a'b`},
	{"backslash", `a\b`},
	{"trailing backslash", `a\`},
	{"escaped quote attempt", `\"`},
	{"closing brace", `}`},
	{"newline", "a\nb"},
	{"carriage return and tab", "a\r\tb"},
	{"control characters", "\x00\x01\x1b\x7f"},
	{"C1 control and line separator", "\u0085\u2028"},
	{"or vector injection", `"} or vector(1) #`},
	{"single-quote injection", `'} or vector(1) #`},
	{"unless injection", `canary"} unless up{job="x`},
	{"comment injection", "x\"}\n# rest is a comment"},
	{"unicode", "ünïcødé 日本語"},
	{"astral plane", "🐤"},
	{"template syntax", "{{.track}}"},
	{"regex metacharacters", `a.*|b(c)[d]+?^$`},
}

// selectors parses q as PromQL and returns its vector selectors.
func selectors(t *testing.T, q string) (parser.Expr, []*parser.VectorSelector) {
	t.Helper()
	expr, err := parser.ParseExpr(q)
	if err != nil {
		t.Fatalf("rendered query does not parse: %v\nquery: %s", err, q)
	}
	var sels []*parser.VectorSelector
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			sels = append(sels, vs)
		}
		return nil
	})
	return expr, sels
}

func matcher(vs *parser.VectorSelector, name string) *labels.Matcher {
	for _, m := range vs.LabelMatchers {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func TestRenderEscapesEveryPayload(t *testing.T) {
	templates := []struct {
		name string
		expr string
		typ  labels.MatchType
	}{
		{"double-quoted matcher", `sum(rate(http_requests_total{app="shop",track="{{.track}}"}[{{.interval}}]))`, labels.MatchEqual},
		{"single-quoted matcher", `sum(rate(http_requests_total{app="shop",track='{{.track}}'}[{{.interval}}]))`, labels.MatchEqual},
		{"negative matcher", `sum(rate(http_requests_total{app="shop",track!="{{.track}}"}[{{.interval}}]))`, labels.MatchNotEqual},
		{"regex matcher", `sum(rate(http_requests_total{app="shop",track=~"{{.track}}"}[{{.interval}}]))`, labels.MatchRegexp},
		{"value inside a longer literal", `sum(rate(http_requests_total{app="shop",track="pre-{{.track}}-post"}[{{.interval}}]))`, labels.MatchEqual},
	}
	for _, tmpl := range templates {
		for _, p := range payloads {
			t.Run(tmpl.name+"/"+p.name, func(t *testing.T) {
				q, err := Render(tmpl.expr, metrics.Scope{"track": p.value}, testWindow)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				expr, sels := selectors(t, q)
				// The structure must be the template's: one aggregation of one
				// selector, whatever the value contained.
				agg, ok := expr.(*parser.AggregateExpr)
				if !ok || agg.Op != parser.SUM {
					t.Fatalf("query structure changed: %T %s", expr, q)
				}
				if len(sels) != 1 {
					t.Fatalf("got %d selectors, want 1: %s", len(sels), q)
				}
				if got := len(sels[0].LabelMatchers); got != 3 { // __name__, app, track
					t.Fatalf("got %d matchers, want 3: %s", got, q)
				}
				m := matcher(sels[0], "track")
				if m == nil {
					t.Fatalf("no track matcher in %s", q)
				}
				if m.Type != tmpl.typ {
					t.Fatalf("matcher type %v, want %v", m.Type, tmpl.typ)
				}
				want := p.value
				if strings.Contains(tmpl.expr, "pre-") {
					want = "pre-" + p.value + "-post"
				}
				if tmpl.typ == labels.MatchRegexp {
					// The regex must match the value itself and nothing broader.
					if !m.Matches(p.value) {
						t.Errorf("regex %q does not match %q", m.Value, p.value)
					}
					if p.value != "" && m.Matches(p.value+"x") {
						t.Errorf("regex %q matches more than %q", m.Value, p.value)
					}
					if want != regexp.QuoteMeta(want) && m.Value == want {
						t.Errorf("regex metacharacters were not quoted: %q", m.Value)
					}
					return
				}
				if m.Value != want {
					t.Errorf("matcher value %q, want %q\nquery: %s", m.Value, want, q)
				}
				if r := sels[0].LabelMatchers; matcher(sels[0], "app").Value != "shop" {
					t.Errorf("app matcher changed: %v", r)
				}
			})
		}
	}
}

func TestRenderRawString(t *testing.T) {
	expr := "up{track=`{{.track}}`}"
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			q, err := Render(expr, metrics.Scope{"track": p.value}, testWindow)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			_, sels := selectors(t, q)
			if len(sels) != 1 {
				t.Fatalf("got %d selectors: %s", len(sels), q)
			}
			if m := matcher(sels[0], "track"); m == nil || m.Value != p.value {
				t.Fatalf("matcher %v, want value %q", m, p.value)
			}
		})
	}
	if _, err := Render(expr, metrics.Scope{"track": "a`} or vector(1) #"}, testWindow); err == nil {
		t.Fatal("a backtick inside a backtick string was accepted")
	}
}

func TestRenderRefusesInvalidUTF8(t *testing.T) {
	_, err := Render(`up{track="{{.track}}"}`, metrics.Scope{"track": "a\xffb"}, testWindow)
	if err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("err = %v, want an invalid UTF-8 error", err)
	}
}

func TestRenderWindowVariables(t *testing.T) {
	tests := []struct {
		name string
		expr string
		w    metrics.Window
		want string
	}{
		{"interval 90m", `rate(x[{{.interval}}])`, testWindow, `rate(x[1h30m])`},
		{"interval 5m", `rate(x[{{.interval}}])`, metrics.Window{Start: testWindow.Start, End: testWindow.Start.Add(5 * time.Minute)}, `rate(x[5m])`},
		{"sub-second", `rate(x[{{.step}}])`, metrics.Window{Step: 1500 * time.Millisecond}, `rate(x[1s500ms])`},
		{"step", `avg_over_time(x[{{.step}}])`, testWindow, `avg_over_time(x[10s])`},
		{"start and end", `x @ {{.end}} + x @ {{.start}}`, testWindow, `x @ 1704072600 + x @ 1704067200`},
		{"trim markers", `rate(x[ {{- .interval -}} ])`, testWindow, `rate(x[1h30m])`},
		{"constant", `{{"{{"}}x}}`, testWindow, `{{x}}`},
		{"comment action", `up{{/* note */}}`, testWindow, `up`},
		{"no actions", `up`, testWindow, `up`},
		{"empty", ``, testWindow, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.expr, nil, tt.w)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderWindowErrors(t *testing.T) {
	if _, err := Render(`rate(x[{{.interval}}])`, nil, metrics.Window{Start: testWindow.End, End: testWindow.Start}); err == nil {
		t.Error("empty window accepted for {{.interval}}")
	}
	if _, err := Render(`rate(x[{{.step}}])`, nil, metrics.Window{Start: testWindow.Start, End: testWindow.End}); err == nil {
		t.Error("zero step accepted for {{.step}}")
	}
}

func TestValidate(t *testing.T) {
	keys := []string{"track", "namespace"}
	tests := []struct {
		name    string
		expr    string
		keys    []string
		wantErr string // "" means valid
	}{
		{"quoted variables", `up{track="{{.track}}",namespace='{{ .namespace }}'}`, keys, ""},
		{"window variables outside strings", `rate(up{track="{{.track}}"}[{{.interval}}:{{.step}}])`, keys, ""},
		{"string after a regex string", `up{a=~"x",track="{{.track}}"}`, keys, ""},
		{"escaped quote before the action", `up{a="x\"",track="{{.track}}"}`, keys, ""},
		{"unknown variable", `up{track="{{.trakc}}"}`, keys, "unknown variable {{.trakc}}"},
		{"no scope keys", `up{track="{{.track}}"}`, nil, "unknown variable {{.track}}"},
		{"unquoted scope variable", `up{track={{.track}}}`, keys, "outside any string"},
		{"scope variable as an operand", `up{track="x"} {{.track}} vector(1)`, keys, "outside any string"},
		{"scope variable after a closed string", `up{track="x"}{{.track}}`, keys, "outside any string"},
		{"scope variable in a comment", "up # {{.track}}\n", keys, "comment"},
		{"window variable in a comment", "up # {{.step}}\n", keys, "comment"},
		{"scope variable after a comment line", "up # a \"quote\n{{.track}}", keys, "outside any string"},
		{"nested field", `up{track="{{.track.x}}"}`, keys, "only {{.name}}"},
		{"if", `up{track="{{if .track}}x{{end}}"}`, keys, "only {{.name}}"},
		{"pipeline", `up{track="{{.track | printf "%s"}}"}`, keys, "only {{.name}}"},
		{"function", `up{track="{{printf "%s" .track}}"}`, keys, "only {{.name}}"},
		{"variable declaration", `up{track="{{$x := .track}}"}`, keys, "only {{.name}}"},
		{"define", `{{define "x"}}a{{end}}up`, keys, "define"},
		{"parse error", `up{track="{{.track"}`, keys, "query template"},
		{"reserved scope key", `up`, []string{"step"}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.expr, tt.keys)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRenderMissingScopeKeyIsAnError(t *testing.T) {
	_, err := Render(`up{track="{{.track}}",ns="{{.namespace}}"}`, metrics.Scope{"track": "canary"}, testWindow)
	if err == nil || !strings.Contains(err.Error(), "{{.namespace}}") {
		t.Fatalf("err = %v, want unknown variable namespace", err)
	}
}

func TestRenderLogQL(t *testing.T) {
	// LogQL shares PromQL's string literals; a line filter is a string too,
	// and |~ takes a regex.
	expr := `sum(count_over_time({app="shop",track="{{.track}}"} |= "{{.needle}}" |~ "{{.re}}" [{{.interval}}]))`
	got, err := Render(expr, metrics.Scope{"track": `x"} or vector(1)`, "needle": "a\nb", "re": "a.b"}, testWindow)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := `sum(count_over_time({app="shop",track="x\"} or vector(1)"} |= "a\nb" |~ "a\\.b" [1h30m]))`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestValidateParts: the checks every source with its own language shares
// come before the source's render, which sees every scope variable as "x".
func TestValidateParts(t *testing.T) {
	var rendered []string
	render := func(parts []Part, scope metrics.Scope, w metrics.Window) (string, error) {
		var b strings.Builder
		for _, p := range parts {
			switch {
			case p.Variable == "":
				b.WriteString(p.Text)
			case IsWindowVar(p.Variable):
				b.WriteString(w.Step.String())
			default:
				b.WriteString(scope[p.Variable])
			}
		}
		rendered = append(rendered, b.String())
		if strings.Contains(b.String(), "bad") {
			return "", errors.New("the source refuses it")
		}
		return b.String(), nil
	}
	for _, tt := range []struct {
		expr         string
		keys         []string
		wantErr      string
		wantRendered string
	}{
		{expr: "a.{{.track}}.{{.step}}", keys: []string{"track"}, wantRendered: "a.x.1m0s"},
		{expr: "a.{{.track}}", keys: []string{"step"}, wantErr: `scope key "step" is reserved for the query window`},
		{expr: "a.{{.track}}", wantErr: "query template: unknown variable {{.track}} (scope has no keys; window has interval, step, start, end)"},
		{expr: "a.{{.track}}", keys: []string{"zone"}, wantErr: "query template: unknown variable {{.track}} (scope has zone; window has interval, step, start, end)"},
		{expr: "a.{{track}}", keys: []string{"track"}, wantErr: "query template"},
		{expr: "bad.{{.track}}", keys: []string{"track"}, wantErr: "the source refuses it", wantRendered: "bad.x"},
	} {
		rendered = nil
		err := ValidateParts(tt.expr, tt.keys, render)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.expr, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got %v, want an error containing %q", tt.expr, err, tt.wantErr)
		}
		if got := strings.Join(rendered, "|"); got != tt.wantRendered {
			t.Errorf("%s: render saw %q, want %q", tt.expr, got, tt.wantRendered)
		}
	}
}
