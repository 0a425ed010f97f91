package cloudwatch_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/cloudwatch"
)

// FuzzRenderCloudWatch: whatever a scope value holds, it never changes
// what a query means. In a metric list the rendered query is the same
// metric with the value as its dimension's value, byte for byte; in a
// Metrics Insights or SEARCH expression a value that renders is placed
// as it is and holds no character that could end its string.
func FuzzRenderCloudWatch(f *testing.F) {
	for _, v := range []string{"canary", `canary", "Track", "baseline`, "x' OR Track != '", `a\`, "i-0abc", "app/shop/1", "{{.x}}", "\uE0000\uE001", "OR", ""} {
		f.Add(v)
	}
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}
	expressions := []struct{ template, before, after string }{
		{`SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", AutoScalingGroupName) WHERE AutoScalingGroupName = '{{.v}}'`,
			`SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", AutoScalingGroupName) WHERE AutoScalingGroupName = '`, `'`},
		{`SEARCH('{AWS/EC2,InstanceId} InstanceId="{{.v}}"', 'Average', 60)`, `SEARCH('{AWS/EC2,InstanceId} InstanceId="`, `"', 'Average', 60)`},
	}
	f.Fuzz(func(t *testing.T, v string) {
		scope := metrics.Scope{"v": v}
		out, err := cloudwatch.Language{}.Render(`["NS", "M", "Track", "{{.v}}", {"stat": "Sum"}]`, scope, w)
		if err == nil {
			var qs []struct {
				Namespace, MetricName, Stat, Expression string
				Dimensions                              []struct{ Name, Value string }
			}
			if err := json.Unmarshal([]byte(out), &qs); err != nil {
				t.Fatalf("rendered %s: %v", out, err)
			}
			if len(qs) != 1 || qs[0].Namespace != "NS" || qs[0].MetricName != "M" || qs[0].Stat != "Sum" || qs[0].Expression != "" ||
				len(qs[0].Dimensions) != 1 || qs[0].Dimensions[0].Name != "Track" || qs[0].Dimensions[0].Value != v {
				t.Fatalf("value %q changed the metric: %s", v, out)
			}
		}
		for _, e := range expressions {
			out, err := cloudwatch.Language{}.Render(e.template, scope, w)
			if err != nil {
				continue
			}
			var qs []struct{ Expression string }
			if err := json.Unmarshal([]byte(out), &qs); err != nil || len(qs) != 1 {
				t.Fatalf("rendered %s: %v", out, err)
			}
			if qs[0].Expression != e.before+v+e.after || strings.ContainsAny(v, `'"\ (){},=`) {
				t.Fatalf("value %q placed as %q", v, qs[0].Expression)
			}
		}
	})
}
