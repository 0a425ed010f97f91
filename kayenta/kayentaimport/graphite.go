package kayentaimport

import (
	"strings"

	"github.com/verdict-aca/verdict/metrics/graphite"
)

// Graphite queries (Kayenta's kayenta-graphite):
//
//   - Kayenta's GraphiteCanaryMetricSetQueryConfig has one field,
//     metricName: the whole target, in which GraphiteMetricsService
//     replaces every "$scope" with the scope and every "$location" with
//     the location (plain text replacement, and only when the scope or
//     location is not empty), then asks graphite-web's render API for the
//     points from the scope's start to its end, as graphite-web stores
//     them. The target is kept as written, "$scope" becoming {{.scope}}
//     and "$location" {{.location}} (a literal "{{" is escaped first).
//   - Kayenta's query has no metric type: Kayenta judges the points as
//     graphite-web answers them, which is what Verdict's graphite source
//     reads for a signal that is not a count, so the target is not
//     wrapped in summarize(X, "{{.step}}", "sum"); a note says how to
//     write a count when the metric counts events.
//   - Every converted target is checked with the graphite source's
//     template rules (graphite.Language.Validate: a scope value only
//     after a metric path's first element or inside a quoted string);
//     what fails them is Lost. Scope values are checked when the analysis
//     runs: Verdict places only ASCII letters, digits, '_' and '-' in a
//     target (Kayenta places anything, '.' and '*' included), a note says
//     so.
//   - A target without $scope reads the same series for the baseline and
//     the canary, in Kayenta as in Verdict: Lost, so it is not mistaken
//     for a comparison.
//   - The signal reads source: graphite, which the operator configures
//     (type graphite, url): a note says so.

// graphiteQueryKeys are the fields of Kayenta's
// GraphiteCanaryMetricSetQueryConfig.
var graphiteQueryKeys = keys("type", "metricName", "serviceType")

// graphiteVars are the placeholders Kayenta's GraphiteMetricsService
// replaces, in the order it replaces them, with their Verdict variables.
var graphiteVars = strings.NewReplacer("$scope", "{{.scope}}", "$location", "{{.location}}")

// graphiteQuery converts a Kayenta Graphite query; comment explains a
// missing query.
func (c *converter) graphiteQuery(qpath string, q map[string]any) (string, string) {
	c.unknown(qpath, q, graphiteQueryKeys, "(not a Graphite query field)")
	metric, _ := q["metricName"].(string)
	if strings.TrimSpace(metric) == "" {
		c.lost(join(qpath, "metricName"), "missing: Kayenta's Graphite query needs a metricName, the target it renders")
		return "", "graphite query not converted: no metricName"
	}
	target := graphiteVars.Replace(strings.ReplaceAll(metric, "{{", `{{"{{"}}`))
	vars := templateVars(target)
	if err := (graphite.Language{}).Validate(target, vars); err != nil {
		c.lost(join(qpath, "metricName"), "the target %s is not one Verdict can run: %v", oneLine(target), err)
		return "", "graphite query not converted: " + oneLine(err.Error())
	}
	if !strings.Contains(metric, "$scope") {
		c.lost(join(qpath, "metricName"), "the target has no $scope, so the baseline and the canary read the same series (in Kayenta too): put {{.scope}} in the path element that tells them apart")
	}
	c.note(join(qpath, "metricName"), "Verdict places only scope values of ASCII letters, digits, '_' and '-' in a Graphite target (Kayenta places any text, '.' and '*' included); Kayenta's query has no metric type, so the target reads points as stored: for a count, write summarize(TARGET, \"{{.step}}\", \"sum\")")
	c.note(qpath, "the signal reads from the source named graphite: configure it (sources: {graphite: {type: graphite, url: ...}} in the config, or verdict serve's --sources-file)")
	return target, ""
}
