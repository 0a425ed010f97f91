package datadog

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var testWindow = metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}

func TestValidate(t *testing.T) {
	keys := []string{"track", "service"}
	tests := []struct {
		name, expr string
		wantErr    string // "" for valid
	}{
		{"tag value", "avg:checkout.latency{track:{{.track}}}", ""},
		{"two tags", "avg:checkout.latency{service:{{.service}},track:{{.track}}}", ""},
		{"negated tag", "avg:checkout.latency{service:web,!track:{{.track}}}", ""},
		{"value prefix", "avg:checkout.latency{track:canary-{{.track}}}", ""},
		{"count with step", "sum:checkout.errors{track:{{.track}}}.as_count().rollup(sum, {{.step}})", ""},
		{"arithmetic", "sum:a{track:{{.track}}}.as_count() / sum:b{track:{{.track}}}.as_count()", ""},
		{"group by", "avg:checkout.latency{track:{{.track}}} by {host}", ""},
		{"in the metric name", "avg:checkout.{{.track}}.latency{*}", "outside a {...} tag filter"},
		{"as a tag key", `avg:checkout.latency{{"{"}}{{.track}}:canary}`, "does not follow a tag key"},
		{"as a whole tag", "avg:checkout.latency{env:prod,{{.track}}}", "does not follow a tag key"},
		{"in a function argument", "avg:checkout.latency{*}.rollup(avg, {{.track}})", "outside a {...} tag filter"},
		{"after IN (", "avg:checkout.latency{track IN ({{.track}})}", "does not follow a tag key"},
		{"after a quote", `avg:checkout.latency{track:"{{.track}}"}`, "not plain tag text"},
		{"unknown variable", "avg:checkout.latency{track:{{.zone}}}", "unknown variable {{.zone}}"},
		{"step inside a filter", "avg:checkout.latency{track:{{.step}}}", "window variable {{.step}} sits inside"},
		{"unclosed brace", "avg:checkout.latency{track:{{.track}}", "a { is not closed"},
		{"unclosed paren", "avg:checkout.latency{track:{{.track}}}.rollup(sum, 60", "a ( is not closed"},
		{"nested brace", "avg:checkout.latency{track:{x:{{.track}}}}", "a { inside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Language{}.Validate(tt.expr, keys)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want nil", tt.expr, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate(%q) = %v, want an error containing %q", tt.expr, err, tt.wantErr)
			}
		})
	}
}

func TestRenderRefusesValues(t *testing.T) {
	const expr = "avg:checkout.latency{service:web,track:{{.track}}}"
	for _, evil := range []string{
		"canary,env:prod",           // adds a tag filter
		"canary}+avg:other{*",       // closes the filter
		"*",                         // wildcard
		"canary*",                   // wildcard suffix
		"canary OR track:baseline",  // boolean operator
		"canary AND NOT env:prod",   // boolean operator
		"!canary",                   // negation
		"canary:x",                  // colon
		`"canary"`,                  // quote
		"canary)",                   // parenthesis
		"can ary",                   // space
		"canary\n",                  // newline
		"canárY",                    // non-ASCII
		"",                          // empty
		strings.Repeat("a", 201),    // longer than a tag
		"canary\\",                  // backslash
		"canary{{.step}}",           // template text is a value like any other
		"canary.rollup(sum,1)",      // parentheses
		"canary\x00",                // NUL
		"canary\u2028",              // line separator
		"canary#",                   // comment-ish
		"canary|avg:other{*}",       // pipe
		"canary;avg:other{*}",       // separator
		"canary/../other,env:prod",  // comma again
		"canary\tenv:prod",          // tab
		"canary\renv:prod",          // carriage return
		"canary%2Cenv:prod",         // percent
		"canary&query=avg:other{*}", // URL parameter
	} {
		_, err := Language{}.Render(expr, metrics.Scope{"track": evil}, testWindow)
		if err == nil {
			t.Errorf("Render with track=%q succeeded, want it refused", evil)
			continue
		}
		if evil != "" && len(evil) <= MaxValueBytes && !strings.Contains(err.Error(), "only ASCII letters, digits") {
			t.Errorf("track=%q: error %q does not say which characters a value may hold", evil, err)
		}
	}
}

// TestRenderPlacesValueAsTag renders random values of the allowed set and
// reads the tag filter back the way Datadog splits it (elements by ',',
// key and value at the first ':'): the value is always exactly the
// track tag's value, and the filter has exactly the template's tags.
func TestRenderPlacesValueAsTag(t *testing.T) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./"
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(40)
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		v := b.String()
		q, err := Language{}.Render("sum:checkout.errors{service:web,track:{{.track}}}.as_count().rollup(sum, {{.step}})", metrics.Scope{"track": v}, testWindow)
		if err != nil {
			t.Fatalf("value %q: %v", v, err)
		}
		open, end := strings.IndexByte(q, '{'), strings.IndexByte(q, '}')
		if q[:open] != "sum:checkout.errors" || q[end:] != "}.as_count().rollup(sum, 60)" {
			t.Fatalf("value %q: query %q changed outside the filter", v, q)
		}
		tags := strings.Split(q[open+1:end], ",")
		if len(tags) != 2 || tags[0] != "service:web" {
			t.Fatalf("value %q: filter %q does not hold exactly the template's two tags", v, q[open+1:end])
		}
		key, value, _ := strings.Cut(tags[1], ":")
		if key != "track" || value != v {
			t.Fatalf("value %q: read back as %q:%q", v, key, value)
		}
	}
}

func TestRenderWindowVariables(t *testing.T) {
	q, err := Language{}.Render("sum:a{track:{{.track}}}.rollup(sum, {{.step}}) / {{.interval}} + {{.start}} - {{.end}}", metrics.Scope{"track": "canary"}, testWindow)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sum:a{track:canary}.rollup(sum, 60) / 3600 + 1700000000 - 1700003600"; q != want {
		t.Errorf("rendered %q, want %q", q, want)
	}
	w := testWindow
	w.Step = 1500 * time.Millisecond
	if _, err := (Language{}).Render("sum:a{*}.rollup(sum, {{.step}})", nil, w); err == nil || !strings.Contains(err.Error(), "not a whole number of seconds") {
		t.Errorf("a step of 1.5s: %v, want refused", err)
	}
}
