package kayentaimport

import (
	"regexp"
	"strings"

	"github.com/verdict-aca/verdict/metrics/newrelic"
)

// newRelicQueryKeys are the fields of Kayenta's
// NewRelicCanaryMetricSetQueryConfig.
var newRelicQueryKeys = keys("type", "select", "q", "customInlineTemplate", "customFilterTemplate", "template", "serviceType")

var (
	// nrqlWindow matches Kayenta's SINCE ${startEpochSeconds} and
	// UNTIL ${endEpochSeconds} clauses, which the newrelic source adds.
	nrqlWindow = regexp.MustCompile(`(?i)\s*\b(SINCE|UNTIL)\s+\$\{(startEpochSeconds|endEpochSeconds)\}`)
	// nrqlSeries matches a TIMESERIES clause with its interval.
	nrqlSeries = regexp.MustCompile(`(?i)\bTIMESERIES(\s+(MAX|AUTO|\d+\s*[a-z]+|\$\{step\}(\s*seconds?)?))?`)
	// nrqlLikeVar matches LIKE '${var}', Kayenta's scope comparison.
	nrqlLikeVar = regexp.MustCompile(`(?i)\bLIKE\s+'(\$\{[^}]*\})'`)
)

// newRelicQuery converts a Kayenta New Relic query. customInlineTemplate
// (or template) converts: its SINCE ${startEpochSeconds} and
// UNTIL ${endEpochSeconds} are dropped (the source adds the window's),
// its TIMESERIES interval becomes {{.step}}, LIKE '${scope}' becomes
// = '{{.scope}}' (a value placed in a LIKE pattern would read % and _ as
// wildcards; without them the two match the same), and ${var} becomes
// {{.var}}. select and q are lost: Kayenta completes them with the
// scope under a key of its account settings, which the config does not
// say. The signal reads from the source named newrelic.
func (c *converter) newRelicQuery(qpath string, q map[string]any) (string, string) {
	c.unknown(qpath, q, newRelicQueryKeys, "(not a New Relic query field)")
	str := func(k string) string { s, _ := q[k].(string); return s }
	field, template := "customInlineTemplate", str("customInlineTemplate")
	if template == "" {
		field, template = "template", str("template")
	}
	if template == "" {
		if str("select") != "" || str("q") != "" {
			c.lost(qpath, "select and q: Kayenta completes them with the scope under a key of its New Relic account settings, which the canary config does not hold; write the whole NRQL as customInlineTemplate (WHERE appName = '${scope}' ... TIMESERIES)")
			return "", "newrelic query not converted: write it as customInlineTemplate"
		}
		c.lost(qpath, "neither customInlineTemplate nor select: Kayenta refuses it")
		return "", "newrelic query not converted: no NRQL"
	}
	tpath := join(qpath, field)
	text := nrqlWindow.ReplaceAllString(template, "")
	if !nrqlSeries.MatchString(text) {
		c.lost(tpath, "the NRQL has no TIMESERIES, which Kayenta requires too")
		return "", "newrelic query not converted: no TIMESERIES"
	}
	text = nrqlSeries.ReplaceAllLiteralString(text, "TIMESERIES ${step}")
	if nrqlLikeVar.MatchString(text) {
		c.note(tpath, "LIKE '${...}' became = '{{...}}': a scope value in a LIKE pattern would read %% and _ as wildcards; without them the two match the same events")
		text = nrqlLikeVar.ReplaceAllString(text, "= '$1'")
	}
	expanded, ok := c.expand(tpath, text, "")
	if !ok {
		return "", "newrelic query not converted: a variable Verdict cannot name"
	}
	expanded = strings.TrimSpace(expanded)
	if err := (newrelic.Language{}).Validate(expanded, templateVars(expanded)); err != nil {
		c.lost(tpath, "the query %s is not one Verdict can run: %v", expanded, err)
		return "", "newrelic query not converted: " + oneLine(err.Error())
	}
	c.note(qpath, "the signal reads from the source named newrelic: configure it (sources: {newrelic: {type: newrelic}} in the config, or verdict serve's --sources-file), with NEW_RELIC_API_KEY and NEW_RELIC_ACCOUNT_ID")
	return expanded, ""
}
