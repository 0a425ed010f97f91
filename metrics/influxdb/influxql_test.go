package influxdb

import (
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxql"

	"github.com/verdict-aca/verdict/metrics"
)

func TestRender(t *testing.T) {
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: 90 * time.Second}
	tests := []struct {
		name, expr, value, want string
	}{
		{"a tag value", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}'`, "canary", `SELECT "p50" FROM "latency" WHERE "track" = 'canary'`},
		{"a quote", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}'`, `it's`, `SELECT "p50" FROM "latency" WHERE "track" = 'it\'s'`},
		{"a backslash", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}'`, `a\`, `SELECT "p50" FROM "latency" WHERE "track" = 'a\\'`},
		{"a newline", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}'`, "a\nb", `SELECT "p50" FROM "latency" WHERE "track" = 'a\nb'`},
		{"a double quote in a string", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}'`, `a"b`, `SELECT "p50" FROM "latency" WHERE "track" = 'a\"b'`},
		{"part of a string", `SELECT "p50" FROM "latency" WHERE "pod" = 'checkout-{{.v}}-0'`, "canary", `SELECT "p50" FROM "latency" WHERE "pod" = 'checkout-canary-0'`},
		{"a measurement", `SELECT "p50" FROM "{{.v}}_latency"`, `shop"`, `SELECT "p50" FROM "shop\"_latency"`},
		{"window variables", `SELECT sum("n") FROM "req" WHERE time >= {{.start}} AND time < {{.end}} GROUP BY time({{.step}})`, "", `SELECT sum("n") FROM "req" WHERE time >= 1700000000s AND time < 1700003600s GROUP BY time(90s)`},
		{"an interval", `SELECT sum("n") FROM "req" GROUP BY time({{.interval}})`, "", `SELECT sum("n") FROM "req" GROUP BY time(3600s)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Language{}.Render(tt.expr, metrics.Scope{"v": tt.value}, w)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("milliseconds", func(t *testing.T) {
		got, err := Language{}.Render(`SELECT sum("n") FROM "req" GROUP BY time({{.step}})`, nil, metrics.Window{Start: w.Start, End: w.End, Step: 1500 * time.Millisecond})
		if err != nil || !strings.HasSuffix(got, "time(1500ms)") {
			t.Errorf("%s, %v; want time(1500ms)", got, err)
		}
	})
}

func TestRenderRefuses(t *testing.T) {
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: 10 * time.Second}
	tests := []struct{ name, expr, value, want string }{
		{"outside a string", `SELECT "p50" FROM "latency" WHERE "track" = {{.v}}`, "canary", "stands outside a string"},
		{"a measurement outside quotes", `SELECT "p50" FROM {{.v}}`, "latency", "stands outside a string"},
		{"in a regex", `SELECT "p50" FROM "latency" WHERE "track" =~ /{{.v}}/`, "canary", "inside a /.../ regex"},
		{"in a measurement regex", `SELECT "p50" FROM /{{.v}}/`, "latency", "inside a /.../ regex"},
		{"in a line comment", "SELECT \"p50\" FROM \"latency\" -- '{{.v}}'", "canary", "inside a comment"},
		{"in a block comment", `SELECT "p50" FROM "latency" /* '{{.v}}' */`, "canary", "inside a comment"},
		{"after a backslash", `SELECT "p50" FROM "latency" WHERE "track" = 'a\{{.v}}'`, "canary", "follows a backslash"},
		{"a window variable in a string", `SELECT "p50" FROM "latency" WHERE "track" = '{{.step}}'`, "", "stands inside a '...' string"},
		{"an open string", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}`, "canary", "is not closed"},
		{"two statements", `SELECT "p50" FROM "latency"; SELECT "p99" FROM "latency"`, "", "want one SELECT statement, found 2"},
		{"not a SELECT", `DROP DATABASE "shop"`, "", "want a SELECT statement, found DROP"},
		{"a write", `SELECT "p50" INTO "copy" FROM "latency"`, "", "SELECT ... INTO writes data"},
		{"no scope value", `SELECT "p50" FROM "latency" WHERE "track" = '{{.other}}'`, "canary", "the scope has no value for {{.other}}"},
		{"invalid UTF-8", `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}'`, "a\xffb", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Language{}.Render(tt.expr, metrics.Scope{"v": tt.value}, w)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, %v; want an error saying %q", got, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		expr string
		keys []string
		want string
	}{
		{`SELECT "p50" FROM "latency" WHERE "track" = '{{.track}}'`, []string{"track"}, ""},
		{`SELECT "p50" FROM "latency" WHERE "track" = '{{.trak}}'`, []string{"track"}, "unknown variable {{.trak}} (scope has track"},
		{`SELECT "p50" FROM "latency" WHERE "track" = {{.track}}`, []string{"track"}, "stands outside a string"},
		{`SELECT "p50" FROM "latency" WHERE`, nil, "InfluxQL: found EOF"},
		{`SELECT "p50" FROM "latency"`, []string{"step"}, `scope key "step" is reserved`},
	} {
		err := Language{}.Validate(tc.expr, tc.keys)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.expr, err, tc.want)
		}
	}
}

// TestSameMeaningCatchesWhatEscapingMisses checks the parse comparison on
// its own: renderings whose values left their strings (as they would
// without escaping) are refused.
func TestSameMeaningCatchesWhatEscapingMisses(t *testing.T) {
	template := `SELECT "p50" FROM "latency" WHERE "track" = '` + marker(0) + `'`
	for _, tc := range []struct{ value, rendered string }{
		{`x' OR "track" = 'baseline`, `SELECT "p50" FROM "latency" WHERE "track" = 'x' OR "track" = 'baseline'`},
		{`x' OR '1' = '1`, `SELECT "p50" FROM "latency" WHERE "track" = 'x' OR '1' = '1'`},
		{`x' LIMIT 1 --`, `SELECT "p50" FROM "latency" WHERE "track" = 'x' LIMIT 1 --'`},
		{`y`, `SELECT "p50" FROM "latency" WHERE "track" = 'x'`},
	} {
		tmpl, err := parseSelect(template)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseSelect(tc.rendered)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameMeaning(tmpl, got, []string{tc.value}); err == nil {
			t.Errorf("%s with %q: no error, want the change refused", tc.rendered, tc.value)
		}
	}
	tmpl, _ := parseSelect(template)
	good, _ := parseSelect(`SELECT "p50" FROM "latency" WHERE "track" = 'x\' OR \'1\' = \'1'`)
	if err := sameMeaning(tmpl, good, []string{`x' OR '1' = '1`}); err != nil {
		t.Errorf("the escaped rendering: %v", err)
	}
}

// checkOneTagCondition parses a rendering of
// SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}' GROUP BY "pod"
// with InfluxDB's parser and requires exactly the template's tree with
// value as the string.
func checkOneTagCondition(t *testing.T, rendered, value string) {
	t.Helper()
	q, err := influxql.ParseQuery(rendered)
	if err != nil {
		t.Fatalf("%q renders %s, which does not parse: %v", value, rendered, err)
	}
	stmt, ok := q.Statements[0].(*influxql.SelectStatement)
	if len(q.Statements) != 1 || !ok {
		t.Fatalf("%q renders %d statements", value, len(q.Statements))
	}
	cond, ok := stmt.Condition.(*influxql.BinaryExpr)
	if !ok || cond.Op != influxql.EQ {
		t.Fatalf("%q: condition %s, want one equality", value, stmt.Condition)
	}
	ref, ok1 := cond.LHS.(*influxql.VarRef)
	lit, ok2 := cond.RHS.(*influxql.StringLiteral)
	if !ok1 || !ok2 || ref.Val != "track" || lit.Val != value {
		t.Fatalf("%q: condition %s, want track = the value", value, cond)
	}
	if len(stmt.Sources) != 1 || stmt.Sources.String() != "latency" || len(stmt.Fields) != 1 || stmt.Fields.String() != "p50" ||
		len(stmt.Dimensions) != 1 || stmt.Dimensions.String() != "pod" || stmt.Limit != 0 || stmt.Fill != influxql.NullFill {
		t.Fatalf("%q: the statement reads %s", value, stmt)
	}
}

const tagTemplate = `SELECT "p50" FROM "latency" WHERE "track" = '{{.v}}' GROUP BY "pod"`

func TestRenderValuesStayStrings(t *testing.T) {
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0)}
	for _, v := range []string{
		`canary' OR "track" = 'baseline`,
		`canary' OR '1' = '1`,
		`canary\' OR track=\'baseline`,
		"canary'\nOR track='baseline",
		`canary' GROUP BY time(1h) --`,
		`x'; DROP DATABASE "shop"; SELECT '`,
		`\`, `\\'`, `'`, `"`, "\n", `/*`, `*/`, `--`, "\u27e60\u27e7", "\u27e61\u27e7",
	} {
		got, err := Language{}.Render(tagTemplate, metrics.Scope{"v": v}, w)
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		checkOneTagCondition(t, got, v)
	}
}

// FuzzRenderInfluxQL checks any value: it either renders a query that
// InfluxDB's parser reads as the template with the value as the tag's
// string, or is refused.
func FuzzRenderInfluxQL(f *testing.F) {
	for _, seed := range []string{"canary", `x' OR '1' = '1`, `a\`, "a\nb", `"`, `\'`, "\u27e60\u27e7"} {
		f.Add(seed)
	}
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0)}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := Language{}.Render(tagTemplate, metrics.Scope{"v": v}, w)
		if err != nil {
			return
		}
		checkOneTagCondition(t, got, v)
	})
}

// BenchmarkRender measures a rendering with its proof: two parses with
// InfluxDB's parser and the comparison of their trees.
func BenchmarkRender(b *testing.B) {
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: 10 * time.Second}
	expr := `SELECT "e" / "r" FROM (SELECT sum("errors") AS "e", sum("requests") AS "r" FROM "checkout" WHERE "scenario" = '{{.scenario}}' AND "track" = '{{.track}}' GROUP BY time({{.step}}) fill(0)) WHERE "r" > 0`
	scope := metrics.Scope{"scenario": "error-spike", "track": `canary' OR "track" = 'baseline`}
	for b.Loop() {
		if _, err := (Language{}).Render(expr, scope, w); err != nil {
			b.Fatal(err)
		}
	}
}
