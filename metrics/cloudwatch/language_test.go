package cloudwatch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/cloudwatch"
)

func TestRender(t *testing.T) {
	w := metrics.Window{Start: t0, End: t0.Add(time.Hour), Step: time.Minute}
	for _, c := range []struct {
		name, expr string
		scope      metrics.Scope
		want       string // the rendered queries, or the start of...
		err        string // ...an error that holds this
	}{
		{"metric", `["NS", "Latency", "Track", "{{.track}}", {"stat": "p95"}]`, metrics.Scope{"track": "canary"},
			`[{"Id":"m1","Namespace":"NS","MetricName":"Latency","Dimensions":[{"Name":"Track","Value":"canary"}],"Stat":"p95","ReturnData":true}]`, ""},
		{"a metric's value is data, whatever it holds", `["NS", "Latency", "Track", "{{.track}}"]`, metrics.Scope{"track": `canary", "Track", "baseline`},
			`[{"Id":"m1","Namespace":"NS","MetricName":"Latency","Dimensions":[{"Name":"Track","Value":"canary\", \"Track\", \"baseline"}],"Stat":"Average","ReturnData":true}]`, ""},
		{"a variable outside a JSON string", `["NS", "Latency", "Track", {{.track}}]`, metrics.Scope{"track": "canary"}, "", "may only stand inside a string"},
		{"period is the step's", `["NS", "Latency", {"period": 300}]`, nil, "", `"period" cannot be set`},
		{"insights literal", `SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", AutoScalingGroupName) WHERE AutoScalingGroupName = '{{.asg}}'`, metrics.Scope{"asg": "shop-canary-1.2"},
			`[{"Id":"q","Expression":"SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", AutoScalingGroupName) WHERE AutoScalingGroupName = 'shop-canary-1.2'","ReturnData":true}]`, ""},
		{"insights: a quote ends the literal", `SELECT AVG(CPUUtilization) FROM "AWS/EC2" WHERE AutoScalingGroupName = '{{.asg}}'`, metrics.Scope{"asg": "x' OR AutoScalingGroupName != '"}, "", "only ASCII letters, digits"},
		{"insights: a backslash", `SELECT AVG(CPUUtilization) FROM "AWS/EC2" WHERE AutoScalingGroupName = '{{.asg}}'`, metrics.Scope{"asg": `x\`}, "", "only ASCII letters, digits"},
		{"insights: a space", `SELECT AVG(CPUUtilization) FROM "AWS/EC2" WHERE AutoScalingGroupName = '{{.asg}}'`, metrics.Scope{"asg": "a b"}, "", "only ASCII letters, digits"},
		{"insights: outside quotes", `SELECT AVG(CPUUtilization) FROM "AWS/EC2" WHERE AutoScalingGroupName = {{.asg}}`, metrics.Scope{"asg": "a"}, "", "must stand inside a quoted string"},
		{"search: exact term", `SEARCH('{AWS/EC2,InstanceId} MetricName="CPUUtilization" InstanceId="{{.id}}"', 'Average', {{.step}})`, metrics.Scope{"id": "i-0abc"},
			`[{"Id":"q","Expression":"SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\" InstanceId=\"i-0abc\"', 'Average', 60)","ReturnData":true}]`, ""},
		{"search: a bare word is a search term", `SEARCH('{AWS/EC2,InstanceId} {{.id}}', 'Average', 60)`, metrics.Scope{"id": "OR"}, "", "must stand inside double quotes"},
		{"search: a closing brace", `SEARCH('{AWS/EC2,InstanceId} InstanceId="{{.id}}"', 'Average', 60)`, metrics.Scope{"id": `x" OR "y`}, "", "only ASCII letters, digits"},
		{"expression in a metric list", `[[{"expression": "SEARCH('{NS,Track} Track=\"{{.track}}\"', 'Sum', 60)"}]]`, metrics.Scope{"track": "canary*"}, "", "only ASCII letters, digits"},
		{"empty value", `SELECT AVG(x) FROM "NS" WHERE Track = '{{.track}}'`, metrics.Scope{"track": ""}, "", "is empty"},
		{"ids", `[["NS", "A", {"id": "Bad"}]]`, nil, "", "not a CloudWatch query id"},
		{"nothing returned", `[["NS", "A", {"visible": false}]]`, nil, "", "returns nothing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := cloudwatch.Language{}.Render(c.expr, c.scope, w)
			switch {
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("Render = %s, %v; want an error holding %q", got, err, c.err)
			case c.err == "" && err != nil:
				t.Errorf("Render: %v", err)
			case c.err == "" && got != c.want:
				t.Errorf("Render =\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct{ expr, err string }{
		{`["NS", "M", "Track", "{{.track}}"]`, ""},
		{`["NS", "M", "Track", "{{.nope}}"]`, "unknown variable {{.nope}}"},
		{`["NS", "M", "Track"]`, "name-value pairs"},
		{`SELECT AVG(x) FROM "NS" WHERE Track = '{{.track}}`, "open"},
	} {
		err := cloudwatch.Language{}.Validate(c.expr, []string{"track"})
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Validate(%s) = %v, want %q", c.expr, err, c.err)
		}
	}
}
