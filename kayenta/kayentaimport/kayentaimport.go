// Package kayentaimport converts a Kayenta canary config (the JSON document
// of Kayenta's POST /canaryConfig) into a Verdict config with
// judge: kayenta, so that the same data judges to the same classifications
// and score. It backs `verdict import-kayenta`.
//
// Convert is a pure function of the document. Everything it cannot carry
// over, or carries over with a different meaning, is a Problem naming the
// metric and the field; nothing is dropped silently, because silent
// differences are what Kayenta users complain about. A Problem is Lost when
// part of the input has no place in the output (the output is incomplete);
// otherwise it is a note about a meaning that changes or a Kayenta default
// that was made explicit.
//
// Decisions:
//
//   - Prometheus queries convert, and InfluxDB's (influxdb.go), Datadog's
//     (datadog.go: Kayenta's metricName{scope,tags}, with .as_count() for
//     a count, the scope tag reported lost) and New Relic's
//     customInlineTemplate (newrelic.go: the window's SINCE and UNTIL
//     dropped, TIMESERIES {{.step}}, LIKE '${scope}' as = '{{.scope}}') and
//     Graphite's metricName (graphite.go: the target, $scope and $location
//     as {{.scope}} and {{.location}}).
//     customInlineTemplate wins over
//     customFilterTemplate, as in Kayenta. ${scope}, ${location},
//     ${project}, ${resourceType} and extendedScopeParams variables become
//     Verdict template variables {{.scope}}, {{.location}}, ...; a
//     "PromQL:" template becomes the query itself, any other template is a
//     label filter and the query is avg(metricName{filter, labelBindings}),
//     as Kayenta builds it. Without a template, resourceType
//     aws_ec2_instance gives Kayenta's asg_groupName and zone matchers;
//     gce_instance gives the instance matcher, and its zone matcher is
//     reported as lost. Every converted query is checked with Verdict's
//     template rules (metrics/query.Validate): a variable outside a string
//     literal is refused by Verdict and reported.
//   - groupByFields would split a metric into one result per label set;
//     Verdict judges one series per signal, so the by clause is dropped
//     (Lost). Other metric sources (stackdriver, ...) are Lost:
//     the signal keeps its judge settings but has no query, so it can be
//     judged from series files only.
//   - Verdict has one group per signal: the first group is kept, the others
//     are Lost. A metric without groups never enters Kayenta's weighted sum
//     (quirk Q12): it goes to group "default" with weight 0, which keeps
//     Kayenta's score. Groups without a configured weight get Kayenta's
//     default share, written out. Weights that do not total 100 are Lost:
//     Verdict refuses them in Kayenta mode (Kayenta does not normalise).
//   - classifier.scoreThresholds becomes thresholds (Kayenta reads
//     thresholds from the execution request instead, quirk Q18).
//   - Unknown keys and values of the wrong type are Lost (Kayenta ignores
//     the first and fails every judgement on the second); enum strings
//     Kayenta does not know fall back to Kayenta's default, with a note.
//   - Metrics with a scopeName other than the first metric's are Lost:
//     Verdict has one baseline and one canary scope per analysis.
package kayentaimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/metrics/query"
)

// queryType is a metric's query type ("prometheus", "datadog", ...).
func queryType(raw any) string {
	q, _ := raw.(map[string]any)
	t, _ := q["type"].(string)
	return t
}

// Problem is one thing Convert could not carry over, or carried over with a
// different meaning.
type Problem struct {
	// Path locates the field in the Kayenta document, e.g.
	// `metrics[2] "5xx rate": query.type`.
	Path string
	// Msg says what happened and why.
	Msg string
	// Lost is true when part of the input has no place in the output.
	Lost bool
}

func (p Problem) String() string {
	kind := "note"
	if p.Lost {
		kind = "not converted"
	}
	return fmt.Sprintf("%s: %s: %s", p.Path, kind, p.Msg)
}

// Incomplete reports whether any problem is Lost.
func Incomplete(problems []Problem) bool {
	return slices.ContainsFunc(problems, func(p Problem) bool { return p.Lost })
}

var (
	topKeys = keys("id", "name", "description", "configVersion", "applications", "judge", "metrics", "templates", "classifier",
		"createdTimestamp", "updatedTimestamp", "createdTimestampIso", "updatedTimestampIso")
	metricKeys     = keys("name", "query", "groups", "analysisConfigurations", "scopeName")
	canaryKeys     = keys("direction", "nanStrategy", "critical", "mustHaveData", "muted", "effectSize", "outliers")
	effectKeys     = keys("measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease")
	outlierKeys    = keys("strategy", "outlierFactor")
	classifierKeys = keys("groupWeights", "scoreThresholds")
	promQueryKeys  = keys("type", "metricName", "labelBindings", "groupByFields", "resourceType", "customInlineTemplate", "customFilterTemplate", "customFilter", "serviceType")
)

func keys(k ...string) map[string]bool {
	m := make(map[string]bool, len(k))
	for _, s := range k {
		m[s] = true
	}
	return m
}

// converter accumulates the output and the problems of one conversion.
type converter struct {
	doc      map[string]any
	problems []Problem
	out      bytes.Buffer
}

func (c *converter) lost(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Lost: true})
}

func (c *converter) note(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// unknown reports the keys of m that known does not list.
func (c *converter) unknown(path string, m map[string]any, known map[string]bool, why string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !known[k] {
			c.lost(join(path, k), "unknown key %q %s", k, why)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	if strings.HasSuffix(path, ":") {
		return path + " " + key
	}
	return path + "." + key
}

// signal is one converted metric.
type signal struct {
	name, group, query, comment string
	source                      string   // "" for the default source
	settings                    []string // "key: value" lines
	kayenta                     []string // lines of the kayenta block
}

// Convert turns the Kayenta canary config data (JSON) into Verdict config
// YAML with judge: kayenta. name labels the input in the output's header.
// err is non-nil (an *analysis.ConfigError naming name) only when data is
// not a Kayenta canary config at all (not JSON, not an object, no metrics);
// everything else is reported as problems and the output holds what could
// be converted.
func Convert(name string, data []byte) ([]byte, []Problem, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, &analysis.ConfigError{File: name, Err: fmt.Errorf("not valid JSON: %w", err)}
	}
	if dec.More() {
		return nil, nil, &analysis.ConfigError{File: name, Err: errors.New("holds more than one JSON value")}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, &analysis.ConfigError{File: name, Err: errors.New("not a Kayenta canary config: want a JSON object")}
	}
	metrics, ok := m["metrics"].([]any)
	if !ok || len(metrics) == 0 {
		return nil, nil, &analysis.ConfigError{File: name, Field: "metrics", Err: errors.New("not a Kayenta canary config: it has no metrics")}
	}
	c := &converter{doc: m}
	c.unknown("", m, topKeys, "(Kayenta ignores it)")
	if j, ok := m["judge"].(map[string]any); ok {
		if n, _ := j["name"].(string); n != "" && n != kayenta.JudgeName {
			c.lost("judge.name", "judge %q is not %s; the converted config uses Verdict's Kayenta-compatible judge", n, kayenta.JudgeName)
		}
	}
	weights, thresholds := c.classifier(m["classifier"])
	templates := c.templates(m["templates"])

	var signals []signal
	seen := map[string]int{}
	firstScope := ""
	for i, raw := range metrics {
		path := fmt.Sprintf("metrics[%d]", i)
		mm, ok := raw.(map[string]any)
		if !ok {
			c.lost(path, "not an object")
			continue
		}
		nm, _ := mm["name"].(string)
		if nm == "" {
			c.lost(path, "the metric has no name")
			continue
		}
		path += fmt.Sprintf(" %q:", nm)
		if j, dup := seen[nm]; dup {
			c.lost(path, "the name repeats metrics[%d]; Kayenta uses the first config of a name for both (quirk Q20), Verdict needs unique names", j)
			continue
		}
		seen[nm] = i
		c.unknown(path, mm, metricKeys, "(Kayenta ignores it)")
		scope, _ := mm["scopeName"].(string)
		if scope == "" {
			scope = "default"
		}
		if i == 0 || firstScope == "" {
			firstScope = scope
		} else if scope != firstScope {
			c.lost(join(path, "scopeName"), "scope %q differs from %q; Verdict judges one baseline and one canary scope per analysis", scope, firstScope)
		}
		s := signal{name: nm}
		s.group = c.group(path, mm["groups"])
		s.query, s.comment = c.query(path, mm["query"], templates)
		if s.query != "" {
			s.source = querySource(mm["query"])
			if t := queryType(mm["query"]); t == "datadog" || t == "newrelic" || t == "graphite" {
				s.settings = append(s.settings, "source: "+t)
			}
		}
		c.settings(path, mm["analysisConfigurations"], &s)
		signals = append(signals, s)
	}
	c.write(name, m, weights, thresholds, signals)
	return c.out.Bytes(), c.problems, nil
}

// classifier reads groupWeights and scoreThresholds.
func (c *converter) classifier(raw any) (map[string]float64, string) {
	weights := map[string]float64{}
	if raw == nil {
		return weights, ""
	}
	m, ok := raw.(map[string]any)
	if !ok {
		c.lost("classifier", "not an object")
		return weights, ""
	}
	c.unknown("classifier", m, classifierKeys, "(Kayenta ignores it)")
	if gw, ok := m["groupWeights"].(map[string]any); ok {
		for g, v := range gw {
			f, ok := number(v)
			if !ok {
				c.lost("classifier.groupWeights."+g, "weight %s is not a number", show(v))
				continue
			}
			weights[g] = f
		}
	}
	thresholds := ""
	if st, ok := m["scoreThresholds"].(map[string]any); ok {
		p, okp := number(st["pass"])
		mg, okm := number(st["marginal"])
		if okp && okm {
			thresholds = fmt.Sprintf("{pass: %s, marginal: %s}", fnum(p), fnum(mg))
		} else {
			c.lost("classifier.scoreThresholds", "pass and marginal must both be numbers")
		}
	}
	return weights, thresholds
}

func (c *converter) templates(raw any) map[string]string {
	out := map[string]string{}
	m, ok := raw.(map[string]any)
	if !ok {
		return out
	}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		} else {
			c.lost("templates."+k, "template is not a string")
		}
	}
	return out
}

// group keeps the first group of a metric.
func (c *converter) group(path string, raw any) string {
	list, _ := raw.([]any)
	var groups []string
	for _, g := range list {
		if s, ok := g.(string); ok && s != "" {
			groups = append(groups, s)
		}
	}
	switch {
	case len(groups) == 0:
		c.note(join(path, "groups"), "no groups: Kayenta leaves the metric out of the weighted score (quirk Q12); it goes to group default with weight 0, which keeps that")
		return ""
	case len(groups) > 1:
		c.lost(join(path, "groups"), "Verdict has one group per signal: kept %q, dropped %s", groups[0], strings.Join(quoteAll(groups[1:]), ", "))
	}
	return groups[0]
}

var kayentaVar = regexp.MustCompile(`\$\{([^}]*)\}`)
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// query converts a metric's query config; comment explains a missing query.
func (c *converter) query(path string, raw any, templates map[string]string) (string, string) {
	qpath := join(path, "query")
	q, ok := raw.(map[string]any)
	if !ok {
		c.lost(qpath, "the metric has no query object")
		return "", "no query in the Kayenta config"
	}
	typ, _ := q["type"].(string)
	if typ == "influxdb" {
		return c.influxQuery(qpath, q)
	}
	if typ == "datadog" {
		return c.datadogQuery(qpath, q)
	}
	if typ == "newrelic" {
		return c.newRelicQuery(qpath, q)
	}
	if typ == "graphite" {
		return c.graphiteQuery(qpath, q)
	}
	if typ != "prometheus" {
		c.lost(join(qpath, "type"), "%q queries cannot be converted (only prometheus, influxdb, graphite, datadog and newrelic); the signal keeps its judge settings and can be judged from series files", typ)
		return "", fmt.Sprintf("%s query not converted: give this signal a PromQL query, or judge it from series files", typ)
	}
	c.unknown(qpath, q, promQueryKeys, "(not a Prometheus query field)")
	str := func(k string) string { s, _ := q[k].(string); return s }
	list := func(k string) []string {
		var out []string
		if l, ok := q[k].([]any); ok {
			for _, v := range l {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	if str("customFilter") != "" {
		c.lost(join(qpath, "customFilter"), "customFilter is deprecated and rejected by Kayenta's Prometheus source; use customInlineTemplate")
	}
	if by := list("groupByFields"); len(by) > 0 {
		c.lost(join(qpath, "groupByFields"), "Kayenta judges one result per %s value; Verdict judges one series per signal, so the by clause is dropped (the query averages over them)", strings.Join(by, ", "))
	}
	resourceType := str("resourceType")
	template, tpath := str("customInlineTemplate"), join(qpath, "customInlineTemplate")
	if template == "" && str("customFilterTemplate") != "" {
		tpath = join(qpath, "customFilterTemplate")
		name := str("customFilterTemplate")
		t, ok := templates[name]
		if !ok {
			c.lost(tpath, "template %q is not among the config's templates", name)
			return "", "query not converted: missing filter template " + name
		}
		template = t
	}
	metric := str("metricName")
	var expr string
	if template != "" {
		expanded, ok := c.expand(tpath, template, resourceType)
		if !ok {
			return "", "query not converted: see import-kayenta's messages"
		}
		if rest, isPromQL := strings.CutPrefix(expanded, "PromQL:"); isPromQL {
			expr = rest
		} else {
			expr = selector(metric, append([]string{expanded}, list("labelBindings")...))
		}
	} else {
		var matchers []string
		switch resourceType {
		case "aws_ec2_instance":
			matchers = []string{`asg_groupName="{{.scope}}"`, `zone=~"{{.location}}.{1}"`}
		case "gce_instance":
			matchers = []string{`instance=~"{{.scope}}-.{4}"`}
			c.lost(join(qpath, "resourceType"), "gce_instance: the zone matcher Kayenta adds is not reproduced; add a zone matcher to the query (the instance label follows the account's scopeLabel, default instance)")
		case "":
			c.lost(qpath, "neither a template nor a resourceType: Kayenta refuses it (\"Either a resource type or a custom filter is required.\")")
			return "", "query not converted: no filter"
		default:
			c.lost(join(qpath, "resourceType"), "resourceType %q is not one Kayenta's Prometheus source knows", resourceType)
			return "", "query not converted: unknown resourceType"
		}
		expr = selector(metric, append(matchers, list("labelBindings")...))
	}
	if err := query.Validate(expr, templateVars(expr)); err != nil {
		c.lost(qpath, "the converted query %s does not pass Verdict's template rules: %v", expr, err)
	}
	return expr, ""
}

// selector builds Kayenta's avg(metric{matchers}) query.
func selector(metric string, matchers []string) string {
	var parts []string
	for _, m := range matchers {
		if m = strings.TrimSpace(m); m != "" {
			parts = append(parts, m)
		}
	}
	return fmt.Sprintf("avg(%s{%s})", metric, strings.Join(parts, ","))
}

// expand rewrites Kayenta's ${var} placeholders as Verdict template
// variables, escaping any literal "{{" first.
func (c *converter) expand(path, template, resourceType string) (string, bool) {
	ok := true
	text := strings.ReplaceAll(template, "{{", `{{"{{"}}`)
	text = kayentaVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if name == "resourceType" && resourceType != "" {
			return resourceType
		}
		if !identifier.MatchString(name) {
			c.lost(path, "variable ${%s} cannot be a Verdict template variable (letters, digits and _ only)", name)
			ok = false
			return m
		}
		return "{{." + name + "}}"
	})
	return text, ok
}

var verdictVar = regexp.MustCompile(`\{\{\.([A-Za-z_][A-Za-z0-9_]*)\}\}`)

// templateVars lists the scope variables a converted query uses.
func templateVars(expr string) []string {
	var out []string
	for _, m := range verdictVar.FindAllStringSubmatch(expr, -1) {
		switch m[1] {
		case query.VarInterval, query.VarStep, query.VarStart, query.VarEnd:
			continue
		}
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// settings converts analysisConfigurations.canary.
func (c *converter) settings(path string, raw any, s *signal) {
	if raw == nil {
		return
	}
	ac, ok := raw.(map[string]any)
	if !ok {
		c.lost(join(path, "analysisConfigurations"), "not an object")
		return
	}
	c.unknown(join(path, "analysisConfigurations"), ac, keys("canary"), "(the judge reads only canary)")
	canary, ok := ac["canary"].(map[string]any)
	if !ok {
		return
	}
	cpath := join(path, "analysisConfigurations.canary")
	c.unknown(cpath, canary, canaryKeys, "(Kayenta ignores it)")
	enum := func(key string, values map[string]string, def string) string {
		v, present := canary[key]
		if !present || v == nil {
			return ""
		}
		str, isStr := v.(string)
		if !isStr {
			c.lost(join(cpath, key), "%s is not a string", show(v))
			return ""
		}
		out, known := values[str]
		if !known {
			c.note(join(cpath, key), "%q is not a value Kayenta knows; Kayenta reads it as %s, and so does the converted config", str, def)
			return values[def]
		}
		return out
	}
	boolean := func(key string) bool {
		v, present := canary[key]
		if !present || v == nil {
			return false
		}
		b, isBool := v.(bool)
		if !isBool {
			c.lost(join(cpath, key), "%s is not true or false: Kayenta fails every judgement on it (quirk Q15); left out", show(v))
		}
		return b
	}
	if d := enum("direction", map[string]string{"increase": "increase", "decrease": "decrease", "either": "either"}, "either"); d != "" && d != "either" {
		s.settings = append(s.settings, "direction: "+d)
	}
	if n := enum("nanStrategy", map[string]string{"remove": "remove", "none": "remove", "replace": "zero"}, "remove"); n == "zero" {
		s.settings = append(s.settings, "nan: zero")
	}
	if boolean("critical") {
		s.settings = append(s.settings, "critical: true")
	}
	if boolean("mustHaveData") {
		s.settings = append(s.settings, "mustHaveData: true")
	}
	if boolean("muted") {
		s.kayenta = append(s.kayenta, "muted: true")
	}
	if o, present := canary["outliers"]; present && o != nil {
		c.outliers(join(cpath, "outliers"), o, s)
	}
	if e, present := canary["effectSize"]; present && e != nil {
		c.effectSize(join(cpath, "effectSize"), e, s)
	}
}

func (c *converter) outliers(path string, raw any, s *signal) {
	o, ok := raw.(map[string]any)
	if !ok {
		c.lost(path, "not an object")
		return
	}
	c.unknown(path, o, outlierKeys, "(Kayenta ignores it)")
	strategy, _ := o["strategy"].(string)
	remove := strategy == "remove"
	if !remove && strategy != "" && strategy != "none" && strategy != "keep" {
		c.note(join(path, "strategy"), "%q is not a strategy Kayenta knows; Kayenta keeps outliers, and so does the converted config", strategy)
	}
	factor, hasFactor := o["outlierFactor"]
	if !remove {
		if hasFactor {
			c.note(join(path, "outlierFactor"), "outlierFactor without strategy remove has no effect in Kayenta; left out")
		}
		return
	}
	s.settings = append(s.settings, "outliers: remove")
	if hasFactor && factor != nil {
		f, ok := number(factor)
		switch {
		case !ok:
			c.lost(join(path, "outlierFactor"), "%s is not a number: Kayenta fails every judgement on it", show(factor))
		case !(f > 0):
			c.lost(join(path, "outlierFactor"), "%s is not above 0: Kayenta fails every judgement on it", fnum(f))
		case f != 3:
			s.kayenta = append(s.kayenta, "outlierFactor: "+fnum(f))
		}
	}
}

func (c *converter) effectSize(path string, raw any, s *signal) {
	e, ok := raw.(map[string]any)
	if !ok {
		c.lost(path, "not an object")
		return
	}
	c.unknown(path, e, effectKeys, "(Kayenta ignores it)")
	var parts []string
	if m, present := e["measure"]; present && m != nil {
		ms, _ := m.(string)
		switch ms {
		case "cles", "meanRatio":
			parts = append(parts, "measure: "+ms)
		default:
			c.note(join(path, "measure"), "%s is not a measure Kayenta knows; Kayenta uses meanRatio, and so does the converted config", show(m))
		}
	}
	for _, k := range []string{"allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease"} {
		v, present := e[k]
		if !present || v == nil {
			continue
		}
		f, ok := number(v)
		if !ok {
			c.lost(join(path, k), "%s is not a number: Kayenta fails every judgement on it", show(v))
			continue
		}
		parts = append(parts, k+": "+fnum(f))
	}
	if len(parts) > 0 {
		s.kayenta = append(s.kayenta, "effectSize: {"+strings.Join(parts, ", ")+"}")
	}
}

// write renders the Verdict config.
func (c *converter) write(name string, m map[string]any, weights map[string]float64, thresholds string, signals []signal) {
	w := &c.out
	cfgName, _ := m["name"].(string)
	fmt.Fprintf(w, "# Converted by verdict import-kayenta from %s.\n", oneLine(name))
	w.WriteString("# The Kayenta-compatible judge gives the same classifications and score as Kayenta on the same data.\n")
	if cfgName == "" {
		cfgName = strings.TrimSuffix(name, ".json")
		c.note("name", "the config has no name; using %q", cfgName)
	}
	fmt.Fprintf(w, "name: %s\n", quote(cfgName))
	if d, _ := m["description"].(string); d != "" {
		fmt.Fprintf(w, "description: %s\n", quote(d))
	}
	w.WriteString("judge: kayenta\n")
	if thresholds != "" {
		fmt.Fprintf(w, "thresholds: %s\n", thresholds)
	}
	groups := c.groups(weights, signals)
	if len(groups) > 0 {
		w.WriteString("groups:\n")
		for _, g := range groups {
			fmt.Fprintf(w, "  %s: {weight: %s}\n", quote(g.name), fnum(g.weight))
		}
	}
	w.WriteString("signals:\n")
	for _, s := range signals {
		if s.comment != "" {
			fmt.Fprintf(w, "  # %s\n", oneLine(s.comment))
		}
		fmt.Fprintf(w, "  - name: %s\n", quote(s.name))
		if s.group != "" {
			fmt.Fprintf(w, "    group: %s\n", quote(s.group))
		} else if len(groups) > 0 {
			w.WriteString("    group: default\n")
		}
		if s.source != "" {
			fmt.Fprintf(w, "    source: %s\n", s.source)
		}
		if s.query != "" {
			fmt.Fprintf(w, "    query: %s\n", singleQuote(s.query))
		}
		for _, l := range s.settings {
			fmt.Fprintf(w, "    %s\n", l)
		}
		if len(s.kayenta) > 0 {
			w.WriteString("    kayenta:\n")
			for _, l := range s.kayenta {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
}

type weightedGroup struct {
	name   string
	weight float64
}

// groups lists the groups with explicit weights: configured weights, then
// Kayenta's default share for groups metrics name without a weight, and
// weight 0 for "default" when some metric has no group.
func (c *converter) groups(weights map[string]float64, signals []signal) []weightedGroup {
	var out []weightedGroup
	index := map[string]bool{}
	var unweighted []string
	ungrouped := false
	for _, s := range signals {
		if s.group == "" {
			ungrouped = true
			continue
		}
		if index[s.group] {
			continue
		}
		index[s.group] = true
		if w, ok := weights[s.group]; ok {
			out = append(out, weightedGroup{s.group, w})
		} else {
			unweighted = append(unweighted, s.group)
		}
	}
	var total float64
	for _, w := range weights {
		total += w
	}
	for _, g := range slices.Sorted(maps.Keys(weights)) {
		if !index[g] {
			out = append(out, weightedGroup{g, weights[g]})
			index[g] = true
		}
	}
	if len(unweighted) > 0 {
		share := (100 - total) / float64(len(unweighted))
		for _, g := range unweighted {
			out = append(out, weightedGroup{g, share})
		}
		if len(weights) > 0 {
			c.note("classifier.groupWeights", "groups %s have no weight; Kayenta gives each (100 - %s) / %d = %s, written out", strings.Join(quoteAll(unweighted), ", "), fnum(total), len(unweighted), fnum(share))
		}
		total = 100
	}
	if len(out) == 0 {
		if ungrouped {
			c.lost("metrics", "no metric has a group: Kayenta scores such a config 0 whatever the data (quirk Q12); the converted config scores the signals in one group")
		}
		return nil
	}
	if ungrouped {
		if index["default"] {
			c.lost("metrics", "metrics without groups and a group named default cannot be told apart")
		} else {
			out = append(out, weightedGroup{"default", 0})
		}
	}
	if math.Abs(total-100) > 1e-9 {
		c.lost("classifier.groupWeights", "the weights total %s; Kayenta does not normalise them (a perfect canary scores %s), and Verdict refuses weights that do not total 100 with judge: kayenta: adjust them", fnum(total), fnum(total))
	}
	return out
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && !math.IsInf(f, 0)
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

var plainScalar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_ .-]*[A-Za-z0-9_]$|^[A-Za-z_]$`)

// quote writes a YAML scalar: plain when that reads back as the same
// string, double-quoted (JSON escapes, which YAML reads) otherwise.
func quote(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n":
		return strconv.Quote(s)
	}
	if plainScalar.MatchString(s) && !strings.Contains(s, " #") && !strings.Contains(s, ": ") {
		return s
	}
	b, err := json.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return string(b)
}

// singleQuote writes a YAML single-quoted scalar (no escapes but ”), the
// readable form for PromQL with its double quotes; a query with a line
// break is double-quoted instead.
func singleQuote(s string) string {
	if strings.ContainsAny(s, "\n\r") {
		return quote(s)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
