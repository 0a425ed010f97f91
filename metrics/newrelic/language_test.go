package newrelic

import (
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var testWindow = metrics.Window{Start: time.Unix(1_699_999_980, 0), End: time.Unix(1_700_003_580, 0), Step: time.Minute}

func TestValidate(t *testing.T) {
	keys := []string{"track", "app"}
	tests := []struct {
		name, expr string
		wantErr    string
	}{
		{"string value", "SELECT average(duration) FROM Transaction WHERE track = '{{.track}}' TIMESERIES {{.step}}", ""},
		{"two values", "SELECT count(*) FROM Transaction WHERE appName = '{{.app}}' AND track = '{{.track}}' FACET host TIMESERIES {{.step}}", ""},
		{"in a list", "SELECT count(*) FROM Transaction WHERE track IN ('{{.track}}', 'both') TIMESERIES {{.step}}", ""},
		{"value prefix", "SELECT count(*) FROM Transaction WHERE host = 'pod-{{.track}}-1' TIMESERIES {{.step}}", ""},
		{"outside a string", "SELECT count(*) FROM Transaction WHERE track = {{.track}} TIMESERIES {{.step}}", "stands outside a string"},
		{"as a name", "SELECT count(*) FROM Transaction WHERE `{{.track}}` = 'x' TIMESERIES {{.step}}", "sits in a `name`"},
		{"double quotes", `SELECT count(*) FROM Transaction WHERE track = "{{.track}}" TIMESERIES {{.step}}`, "double-quoted string"},
		{"like pattern", "SELECT count(*) FROM Transaction WHERE track LIKE '{{.track}}%' TIMESERIES {{.step}}", "LIKE or RLIKE pattern"},
		{"not like", "SELECT count(*) FROM Transaction WHERE track NOT LIKE '%{{.track}}' TIMESERIES {{.step}}", "LIKE or RLIKE pattern"},
		{"rlike raw", "SELECT count(*) FROM Transaction WHERE track RLIKE r'{{.track}}.*' TIMESERIES {{.step}}", "LIKE or RLIKE pattern"},
		{"after backslash", `SELECT count(*) FROM Transaction WHERE track = 'a\{{.track}}' TIMESERIES {{.step}}`, "right after a backslash"},
		{"no timeseries", "SELECT count(*) FROM Transaction WHERE track = '{{.track}}'", "no TIMESERIES clause"},
		{"own since", "SELECT count(*) FROM Transaction WHERE track = '{{.track}}' TIMESERIES {{.step}} SINCE 1 hour ago", "says SINCE"},
		{"compare with", "SELECT count(*) FROM Transaction WHERE track = '{{.track}}' TIMESERIES {{.step}} COMPARE WITH 1 week ago", "says COMPARE"},
		{"unclosed", "SELECT count(*) FROM Transaction WHERE track = '{{.track}} TIMESERIES 60 seconds", "string is not closed"},
		{"step in a string", "SELECT count(*) FROM Transaction WHERE track = '{{.step}}' TIMESERIES 60 seconds", "window variable {{.step}} sits inside"},
		{"unknown", "SELECT count(*) FROM Transaction WHERE track = '{{.zone}}' TIMESERIES {{.step}}", "unknown variable {{.zone}}"},
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
	const expr = "SELECT count(*) FROM Transaction WHERE track = '{{.track}}' TIMESERIES {{.step}}"
	for _, evil := range []string{
		"canary' OR track = 'baseline",
		"canary\\",
		"canary\\' OR 1=1 OR track = \\'",
		"canary\n",
		"canary\x00",
		"canary\u2028",
		"",
		"\xff",
	} {
		if q, err := (Language{}).Render(expr, metrics.Scope{"track": evil}, testWindow); err == nil {
			t.Errorf("track=%q rendered %q, want it refused", evil, q)
		}
	}
	// Whatever else a value holds stays inside the string: NRQL keywords,
	// wildcards, backticks, double quotes and parentheses mean nothing there.
	for _, v := range []string{"canary OR track = baseline", "50%_off", "`x`", `"y"`, "a) FACET (b", "canário", "{{.step}}"} {
		q, err := Language{}.Render(expr, metrics.Scope{"track": v}, testWindow)
		if err != nil {
			t.Errorf("track=%q: %v", v, err)
			continue
		}
		if want := "SELECT count(*) FROM Transaction WHERE track = '" + v + "' TIMESERIES 60 seconds"; q != want {
			t.Errorf("track=%q rendered %q, want %q", v, q, want)
		}
	}
}
