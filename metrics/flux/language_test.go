package flux

import (
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var testWindow = metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}

const testQuery = `from(bucket: "shop")
  |> range(start: {{.start}}, stop: {{.end}})
  |> filter(fn: (r) => r._measurement == "http" and r.track == "{{.track}}") // the scope's track
  |> aggregateWindow(every: {{.step}}, fn: mean)`

func TestRenderPlacesValues(t *testing.T) {
	got, err := Language{}.Render(testQuery, metrics.Scope{"track": "canary"}, testWindow)
	if err != nil {
		t.Fatal(err)
	}
	want := `from(bucket: "shop")
  |> range(start: 2023-11-14T22:13:20Z, stop: 2023-11-14T23:13:20Z)
  |> filter(fn: (r) => r._measurement == "http" and r.track == "canary") // the scope's track
  |> aggregateWindow(every: 60s, fn: mean)`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRenderEscapes: a value that tries to close the string, open an
// interpolation or end with a backslash stays one string whose text is
// the value, and the query's code is the template's.
func TestRenderEscapes(t *testing.T) {
	tests := []struct{ value, quoted string }{
		{`a" or r.track != "`, `a\" or r.track != \"`},
		{`${r._value}`, `\x24\x7br._value}`},
		{`tail\`, `tail\\`},
		{"line\nbreak\ttab", `line\nbreak\ttab`},
		{`$`, `\x24`},
		{`{`, `\x7b`},
		{"ctl\x01", `ctl\x01`},
		{"Zürich", "Zürich"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			got, err := Language{}.Render(testQuery, metrics.Scope{"track": tc.value}, testWindow)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, `r.track == "`+tc.quoted+`")`) {
				t.Errorf("the value is not written as %s:\n%s", tc.quoted, got)
			}
			checkOneString(t, got, tc.value)
		})
	}
}

// checkOneString asserts that the rendered test query reads as the
// template with "x" and that its track string decodes to value.
func checkOneString(t *testing.T, rendered, value string) {
	t.Helper()
	got, err := lex(rendered)
	if err != nil {
		t.Fatalf("the rendered query does not lex: %v\n%s", err, rendered)
	}
	base, err := Language{}.Render(testQuery, metrics.Scope{"track": "x"}, testWindow)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := lex(base)
	if !sameShape(got.tokens, want.tokens) {
		t.Fatalf("the value changed the query's tokens:\n%s", rendered)
	}
	found := 0
	for i, tok := range want.tokens {
		if tok.kind == tokStringText && tok.text == "x" {
			found++
			if got.tokens[i].text != value {
				t.Errorf("the string reads %q, want %q", got.tokens[i].text, value)
			}
		}
	}
	if found != 1 {
		t.Fatalf("found %d scope strings", found)
	}
}

func TestValidateRefusesPlaces(t *testing.T) {
	tests := []struct{ name, expr, want string }{
		{"in code", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.track == {{.track}})`, "stands in a Flux code"},
		{"in a comment", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) // {{.track}}`, "stands in a Flux comment"},
		{"in a regexp", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.track =~ /{{.track}}/)`, "regular expression"},
		{"in an interpolation", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.track == "${ {{.track}} }")`, "interpolation"},
		{"after a backslash", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.track == "\{{.track}}")`, "follows a backslash"},
		{"window in a string", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.track == "{{.step}}")`, "window variable"},
		{"no range", `from(bucket: "b") |> filter(fn: (r) => r.track == "{{.track}}")`, "{{.start}} and {{.end}}"},
		{"unknown variable", `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.app == "{{.app}}")`, "unknown variable"},
		{"unclosed string", `from(bucket: "b) |> range(start: {{.start}}, stop: {{.end}})`, "inside a string"},
		{"bad escape", `from(bucket: "b\q") |> range(start: {{.start}}, stop: {{.end}})`, `invalid escape \q`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Language{}.Validate(tc.expr, []string{"track"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := (Language{}).Validate(testQuery, []string{"track"}); err != nil {
		t.Fatalf("the test query: %v", err)
	}
	// A division is not a regular expression: the string after it holds
	// the value.
	div := `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> map(fn: (r) => ({r with _value: r._value / 2.0, t: "{{.track}}"}))`
	if err := (Language{}).Validate(div, []string{"track"}); err != nil {
		t.Fatalf("a division: %v", err)
	}
}

// FuzzRender: whatever the value, the query reads as the template with
// "x" in its place, and the string holds exactly the value.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"canary", `"`, `\`, "${x}", "$", "{", "\n", `a"+"b`, `\${`, "\x00", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		got, err := Language{}.Render(testQuery, metrics.Scope{"track": value}, testWindow)
		if err != nil {
			if strings.Contains(err.Error(), "UTF-8") {
				return
			}
			t.Fatalf("%q: %v", value, err)
		}
		checkOneString(t, got, value)
	})
}
