package kayentaimport

import (
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/graphite"
)

// TestGraphiteTargets: Kayenta's metricName becomes a target that
// Verdict's graphite source renders, for a scope, as Kayenta's
// GraphiteMetricsService builds it (every $scope and $location replaced).
func TestGraphiteTargets(t *testing.T) {
	end := time.Unix(1_700_000_000, 0)
	w := metrics.Window{Start: end.Add(-time.Hour), End: end, Step: time.Minute}
	scope := metrics.Scope{"scope": "canary", "location": "eu1"}
	for _, tc := range []struct{ metricName, kayenta, lost string }{
		{metricName: "test.server.request.400.$scope", kayenta: "test.server.request.400.canary"},
		{metricName: "sumSeries(servers.$location.$scope.*.requests)", kayenta: "sumSeries(servers.eu1.canary.*.requests)"},
		{metricName: "servers.$scope.$scope_b.cpu", kayenta: "servers.canary.canary_b.cpu"},
		{metricName: `aliasByNode(app.$scope.{a,b}.count, 2)`, kayenta: "aliasByNode(app.canary.{a,b}.count, 2)"},
		{metricName: "$scope.cpu", lost: "stands alone"},
		{metricName: "app.{{x}}.$scope", lost: "not one Verdict can run"},
	} {
		t.Run(tc.metricName, func(t *testing.T) {
			c := &converter{}
			target, comment := c.graphiteQuery("q", map[string]any{"type": "graphite", "metricName": tc.metricName})
			if tc.lost != "" {
				if target != "" || len(c.problems) == 0 || !strings.Contains(c.problems[0].String(), tc.lost) {
					t.Fatalf("target %q (%s), problems %v: want it not converted, %q", target, comment, c.problems, tc.lost)
				}
				return
			}
			if target == "" {
				t.Fatalf("not converted: %s %v", comment, c.problems)
			}
			got, err := graphite.Language{}.Render(target, scope, w)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.kayenta {
				t.Errorf("renders %q, Kayenta sends %q", got, tc.kayenta)
			}
		})
	}
}
