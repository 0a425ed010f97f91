package kayentaimport

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/verdict-aca/verdict/metrics/influxdb"
)

// InfluxDB queries (Kayenta's kayenta-influxdb):
//
//   - Kayenta's scope is one "tag:value" string, compared as tag='value'.
//     Verdict's scope values may not be written outside a string, so the
//     scope becomes two scope keys, the tag's name as a quoted identifier
//     and its value as a string: "{{.scopeTag}}" = '{{.scope}}' (the
//     analysis gives scopeTag=app,scope=checkout-canary where Kayenta had
//     app:checkout-canary).
//   - metricName and fields: Kayenta's SELECT fields FROM metricName WHERE
//     time filter AND scope, raw points, becomes the same SELECT of the
//     first field (Verdict judges one series per signal: further fields
//     are Lost); a metric without fields, which Kayenta reads as every
//     field (*::field), is not converted. A name that is an identifier is
//     quoted; anything else (sum(x)) is kept as written.
//   - customInlineTemplate: ${scope} becomes the condition above,
//     ${timeFilter} time >= {{.start}} AND time < {{.end}} (the source adds
//     the window's range itself too), any other ${var} {{.var}}.
//   - Every converted query is checked with the influxdb source's template
//     rules (influxdb.Language.Validate); what fails them is Lost.
//   - The signal reads source: influxdb, which the operator configures
//     (type influxdb, url, database): a note says so.

// influxQueryKeys are the fields of Kayenta's
// InfluxdbCanaryMetricSetQueryConfig.
var influxQueryKeys = keys("type", "metricName", "fields", "customInlineTemplate", "customFilterTemplate", "serviceType")

// influxScope is Kayenta's scope filter in Verdict's form.
const influxScope = `"{{.scopeTag}}" = '{{.scope}}'`

// querySource is the source a converted metric's query reads: influxdb
// for Kayenta's influxdb queries, "" (the default, prometheus) otherwise.
func querySource(raw any) string {
	if q, ok := raw.(map[string]any); ok && q["type"] == "influxdb" {
		return "influxdb"
	}
	return ""
}

var influxIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// influxName quotes an identifier; anything else is kept as written.
func influxName(s string) string {
	if influxIdent.MatchString(s) {
		return `"` + s + `"`
	}
	return s
}

// influxQuery converts an influxdb metric's query; comment explains a
// missing query.
func (c *converter) influxQuery(qpath string, q map[string]any) (string, string) {
	c.unknown(qpath, q, influxQueryKeys, "(not an InfluxDB query field)")
	str := func(k string) string { s, _ := q[k].(string); return s }
	if str("customFilterTemplate") != "" {
		c.lost(join(qpath, "customFilterTemplate"), "Kayenta's InfluxDB source does not read filter templates; write the query as customInlineTemplate")
	}
	var expr string
	if t := str("customInlineTemplate"); t != "" {
		ok := true
		text := strings.ReplaceAll(t, "{{", `{{"{{"}}`)
		text = kayentaVar.ReplaceAllStringFunc(text, func(m string) string {
			switch name := m[2 : len(m)-1]; {
			case name == "scope":
				return influxScope
			case name == "timeFilter":
				return "time >= {{.start}} AND time < {{.end}}"
			case identifier.MatchString(name):
				return "{{." + name + "}}"
			default:
				c.lost(join(qpath, "customInlineTemplate"), "variable ${%s} cannot be a Verdict template variable (letters, digits and _ only)", name)
				ok = false
				return m
			}
		})
		if !ok {
			return "", "query not converted: see import-kayenta's messages"
		}
		expr = text
	} else {
		metric := str("metricName")
		var fields []string
		if l, ok := q["fields"].([]any); ok {
			for _, v := range l {
				if s, ok := v.(string); ok && s != "" {
					fields = append(fields, s)
				}
			}
		}
		switch {
		case metric == "":
			c.lost(qpath, "neither metricName nor customInlineTemplate: Kayenta refuses it (\"Measurement is required to query metrics\")")
			return "", "query not converted: no measurement"
		case len(fields) == 0:
			c.lost(join(qpath, "fields"), "no fields: Kayenta reads every field of %s (*::field) as one metric; Verdict judges one series per signal, so name the field", metric)
			return "", "query not converted: name the field this signal judges"
		case len(fields) > 1:
			c.lost(join(qpath, "fields"), "Verdict judges one series per signal: kept field %q, dropped %s", fields[0], strings.Join(quoteAll(fields[1:]), ", "))
		}
		expr = fmt.Sprintf("SELECT %s FROM %s WHERE %s", influxName(fields[0]), influxName(metric), influxScope)
	}
	c.note(qpath, "the signal reads source influxdb: configure it (type: influxdb, url, database) in the config's sources: or verdict serve's --sources-file; Kayenta's scope tag:value is given as scopeTag=TAG,scope=VALUE")
	if err := (influxdb.Language{}).Validate(expr, templateVars(expr)); err != nil {
		c.lost(qpath, "the converted query %s does not pass Verdict's InfluxQL template rules: %v", oneLine(expr), err)
	}
	return expr, ""
}
