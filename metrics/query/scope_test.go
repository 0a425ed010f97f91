package query

import (
	"maps"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/metrics"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in   string
		want metrics.Scope
		err  string // fragment of the error; "" when valid
	}{
		{in: "track=canary", want: metrics.Scope{"track": "canary"}},
		{in: "track=canary, namespace=shop", want: metrics.Scope{"track": "canary", "namespace": "shop"}},
		{in: "pod_template_hash=7d9f_x", want: metrics.Scope{"pod_template_hash": "7d9f_x"}},
		// A quote inside a value is the value's: it is escaped when rendered.
		{in: `track=canary"} or vector(1)`, want: metrics.Scope{"track": `canary"} or vector(1)`}},
		{in: "track=a=b", want: metrics.Scope{"track": "a=b"}},
		{in: "", err: `"" is not KEY=VALUE`},
		{in: "track", err: `"track" is not KEY=VALUE`},
		{in: "=canary", err: `"=canary" is not KEY=VALUE`},
		{in: "track=a,track=b", err: "track is given twice"},
		{in: "track=", err: "track has an empty value, which in PromQL and LogQL matches the series without a track label"},
		{in: "track= ", err: "track has an empty value"},
		{in: `scenario="healthy"`, err: `the value of scenario, "healthy", is quoted; write it bare (scenario=healthy)`},
		{in: "scenario='healthy'", err: "is quoted"},
		{in: "scenario=`healthy`", err: "is quoted"},
		{in: `{scenario="healthy"}`, err: "is a label selector; write the scope as K=V[,K=V], without braces or quotes"},
		{in: ` {scenario=healthy,track=canary}`, err: "is a label selector"},
		{in: "scenario=~heal.*", err: `the value of scenario, "~heal.*", reads as a regular-expression matcher`},
		{in: "track!=canary", err: `key "track!" is not a template variable name`},
		{in: "app.kubernetes.io/name=shop", err: `key "app.kubernetes.io/name" is not a template variable name`},
		{in: "1track=canary", err: `key "1track" is not a template variable name`},
		{in: "step=10s", err: `key "step" is reserved for the query window`},
		{in: "track= canary", err: `the value of track, " canary", has spaces around it`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseScope(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("ParseScope(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestCheckScopeOrder: the first bad entry in key order is reported, so
// the message does not depend on map order.
func TestCheckScopeOrder(t *testing.T) {
	for range 20 {
		err := CheckScope(metrics.Scope{"b": "", "a": `"x"`, "c": "ok"})
		if err == nil || !strings.Contains(err.Error(), "the value of a") {
			t.Fatalf("CheckScope: %v, want the error about a", err)
		}
	}
}
