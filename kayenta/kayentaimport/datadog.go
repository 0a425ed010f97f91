package kayentaimport

import (
	"fmt"
	"strings"

	"github.com/verdict-aca/verdict/metrics/datadog"
)

// datadogQueryKeys are the fields of Kayenta's
// DatadogCanaryMetricSetQueryConfig.
var datadogQueryKeys = keys("type", "metricName", "metricType", "tags", "serviceType")

// datadogQuery converts a Kayenta Datadog query, built as Kayenta's
// DatadogMetricsService builds it: METRIC{SCOPE[,TAG...]} for a gauge or
// a rate, sum:METRIC{SCOPE[,TAG...]}.as_count() for a count. Kayenta
// places the whole canary scope (host:canary-1) in the tag filter; a
// Verdict scope value may only be a tag's value, so the converted query
// filters on the tag scope:{{.scope}}, reported as lost until the
// operator names the tag the scopes select on. The signal reads from the
// source named datadog, which the operator configures (a config's
// sources: block, or verdict serve's --sources-file).
func (c *converter) datadogQuery(qpath string, q map[string]any) (string, string) {
	c.unknown(qpath, q, datadogQueryKeys, "(not a Datadog query field)")
	metric, _ := q["metricName"].(string)
	if metric == "" {
		c.lost(join(qpath, "metricName"), "missing: Kayenta's Datadog query needs a metricName")
		return "", "datadog query not converted: no metricName"
	}
	filter := []string{"scope:{{.scope}}"}
	if l, ok := q["tags"].([]any); ok {
		for i, v := range l {
			tag, ok := v.(string)
			if !ok || tag == "" {
				c.lost(fmt.Sprintf("%s[%d]", join(qpath, "tags"), i), "not a tag: %s", show(v))
				continue
			}
			filter = append(filter, tag)
		}
	}
	expr := metric + "{" + strings.Join(filter, ",") + "}"
	switch t, _ := q["metricType"].(string); t {
	case "count":
		expr = "sum:" + expr + ".as_count()"
	case "gauge", "rate", "":
	default:
		c.lost(join(qpath, "metricType"), "%q is not count, gauge or rate; Kayenta refuses it", t)
		return "", "datadog query not converted: unknown metricType"
	}
	if err := (datadog.Language{}).Validate(expr, []string{"scope"}); err != nil {
		c.lost(qpath, "the query %s is not one Verdict can run: %v", expr, err)
		return "", "datadog query not converted: " + oneLine(err.Error())
	}
	c.lost(qpath, "Kayenta puts the whole canary scope (such as host:canary-1) in the tag filter; a Verdict scope value can only be a tag's value, so the query filters on the tag scope:{{.scope}}: replace scope with the tag your scopes select on (host:{{.scope}})")
	c.note(qpath, "the signal reads from the source named datadog: configure it (sources: {datadog: {type: datadog}} in the config, or verdict serve's --sources-file), with the keys in DD_API_KEY and DD_APP_KEY")
	return expr, ""
}
