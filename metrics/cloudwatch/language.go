package cloudwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// The bounds CloudWatch sets on a query's parts.
const (
	// maxValueBytes is the longest scope value placed in a metric list
	// (CloudWatch's dimension values are at most 1024 characters).
	maxValueBytes = 1024
	// maxExpressionBytes is the longest expression (GetMetricData's limit
	// on MetricDataQuery.Expression: 2048 characters).
	maxExpressionBytes = 2048
	// maxMetricQueries bounds the entries of a metric list (GetMetricData
	// takes up to 500 per call).
	maxMetricQueries = 500
	// maxDimensions is how many dimensions a metric may have.
	maxDimensions = 30
)

// Language is the template language of CloudWatch queries; the zero value
// is ready to use. A query is either a metric list in the JSON shape of
// the CloudWatch console's "source" view and of dashboards' metrics
// arrays:
//
//	["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "{{.lb}}", {"stat": "Sum"}]
//	[["NS", "Errors", "Track", "{{.track}}", {"id": "e", "stat": "Sum", "visible": false}],
//	 ["NS", "Requests", "Track", "{{.track}}", {"id": "r", "stat": "Sum", "visible": false}],
//	 [{"expression": "e / r", "id": "ratio"}]]
//
// or, when it does not start with '[', one metric math or Metrics
// Insights expression (SELECT SUM(RequestCount) FROM ... WHERE
// LoadBalancer = '{{.lb}}').
type Language struct{}

var _ metrics.Language = Language{}

// Validate checks a query template for scopes with these keys: every
// variable a scope key or a window variable, each scope variable where a
// value can stand, and the query, filled in with sample values, one
// CloudWatch query.
func (Language) Validate(expr string, scopeKeys []string) error {
	for _, k := range scopeKeys {
		if query.IsWindowVar(k) {
			return fmt.Errorf("scope key %q is reserved for the query window", k)
		}
	}
	parts, err := query.Parts(expr)
	if err != nil {
		return err
	}
	sample := metrics.Scope{}
	for _, p := range parts {
		if p.Variable == "" || query.IsWindowVar(p.Variable) {
			continue
		}
		if !slices.Contains(scopeKeys, p.Variable) {
			keys := "none"
			if len(scopeKeys) > 0 {
				keys = strings.Join(scopeKeys, ", ")
			}
			return fmt.Errorf("query template: unknown variable {{.%s}} (scope has %s; window has %s)",
				p.Variable, keys, strings.Join(query.WindowVars(), ", "))
		}
		sample[p.Variable] = "x"
	}
	end := time.Unix(1_000_000_020, 0)
	_, err = plan(parts, sample, metrics.Window{Start: end.Add(-time.Hour), End: end, Step: time.Minute})
	return err
}

// Render fills the query in for scope and w and returns it as the JSON
// list of MetricDataQuery structures it sends (Period left to Fetch).
func (Language) Render(expr string, scope metrics.Scope, w metrics.Window) (string, error) {
	parts, err := query.Parts(expr)
	if err != nil {
		return "", err
	}
	qs, err := plan(parts, scope, w)
	if err != nil {
		return "", err
	}
	return qs.String(), nil
}

// metricQuery is one MetricDataQuery, Period aside.
type metricQuery struct {
	ID         string      `json:"Id"`
	Namespace  string      `json:"Namespace,omitempty"`
	MetricName string      `json:"MetricName,omitempty"`
	Dimensions []dimension `json:"Dimensions,omitempty"`
	Stat       string      `json:"Stat,omitempty"`
	Expression string      `json:"Expression,omitempty"`
	Label      string      `json:"Label,omitempty"`
	ReturnData bool        `json:"ReturnData"`
}

type dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// queries is a rendered query: what GetMetricData is asked.
type queries []metricQuery

// String is the queries as JSON: the rendered query of errors and reports.
func (qs queries) String() string {
	b, _ := json.Marshal(qs) // only strings and bools: cannot fail
	return string(b)
}

// marker stands for a scope variable while a metric list is parsed: a
// private-use character no template can hold, then the part's index.
const (
	markerOpen  = '\uE000'
	markerClose = '\uE001'
)

var markerRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("\uE000([0-9]+)\uE001") })

// plan places every part and reads the result as CloudWatch queries.
func plan(parts []query.Part, scope metrics.Scope, w metrics.Window) (queries, error) {
	var text strings.Builder
	for i, p := range parts {
		switch {
		case p.Variable == "":
			if strings.ContainsRune(p.Text, markerOpen) || strings.ContainsRune(p.Text, markerClose) {
				return nil, errors.New("the query holds a private-use character (U+E000 or U+E001)")
			}
			text.WriteString(p.Text)
		case query.IsWindowVar(p.Variable):
			v, err := windowValue(p.Variable, w)
			if err != nil {
				return nil, err
			}
			text.WriteString(v)
		default:
			if _, ok := scope[p.Variable]; !ok {
				return nil, fmt.Errorf("query template: unknown variable {{.%s}}", p.Variable)
			}
			fmt.Fprintf(&text, "%c%d%c", markerOpen, i, markerClose)
		}
	}
	fill := func(s string, inExpression bool) (string, error) {
		var err error
		out := markerRE().ReplaceAllStringFunc(s, func(m string) string {
			i, _ := strconv.Atoi(m[len(string(markerOpen)) : len(m)-len(string(markerClose))])
			name := parts[i].Variable
			v := scope[name]
			var e error
			if inExpression {
				e = checkExpressionValue(name, v)
			} else {
				e = checkStructuredValue(name, v)
			}
			if e != nil && err == nil {
				err = e
			}
			return v
		})
		return out, err
	}
	t := strings.TrimSpace(text.String())
	if !strings.HasPrefix(t, "[") {
		if err := checkPlaces(t); err != nil {
			return nil, err
		}
		e, err := fill(t, true)
		if err != nil {
			return nil, err
		}
		if err := checkExpression(e); err != nil {
			return nil, err
		}
		return queries{{ID: "q", Expression: e, ReturnData: true}}, nil
	}
	return parseMetricList(t, fill)
}

// parseMetricList reads a metric list (one metric array, or an array of
// them) whose scope values are still markers; fill places them.
func parseMetricList(t string, fill func(string, bool) (string, error)) (queries, error) {
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("the metric list is not JSON (%s); a scope variable may only stand inside a string", markerFree(err.Error()))
	}
	if dec.More() {
		return nil, errors.New("the metric list is followed by more text")
	}
	var rows [][]any
	if len(raw) > 0 {
		if _, nested := raw[0].([]any); nested {
			for i, r := range raw {
				row, ok := r.([]any)
				if !ok {
					return nil, fmt.Errorf("metric list entry %d is not an array: write every entry as [\"Namespace\", \"MetricName\", ...] or [{\"expression\": ...}]", i+1)
				}
				rows = append(rows, row)
			}
		} else {
			rows = [][]any{raw}
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("the metric list is empty")
	}
	if len(rows) > maxMetricQueries {
		return nil, fmt.Errorf("the metric list has %d entries, more than the %d GetMetricData takes", len(rows), maxMetricQueries)
	}
	out := make(queries, 0, len(rows))
	ids := map[string]bool{}
	returned := 0
	for i, row := range rows {
		q, err := parseRow(row, fill)
		if err != nil {
			return nil, fmt.Errorf("metric list entry %d: %w", i+1, err)
		}
		if q.ID == "" {
			q.ID = fmt.Sprintf("m%d", i+1)
		}
		if !metricID().MatchString(q.ID) {
			return nil, fmt.Errorf("metric list entry %d: id %q is not a CloudWatch query id (a lower-case letter, then letters, digits and '_')", i+1, q.ID)
		}
		if ids[q.ID] {
			return nil, fmt.Errorf("metric list entry %d: id %q is used twice", i+1, q.ID)
		}
		ids[q.ID] = true
		if q.ReturnData {
			returned++
		}
		out = append(out, q)
	}
	if returned == 0 {
		return nil, errors.New(`every entry of the metric list has "visible": false, so the query returns nothing`)
	}
	return out, nil
}

var metricID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-zA-Z0-9_]{0,254}$`) })

// parseRow reads one metric array: strings, then an optional options
// object; or just an options object with an expression.
func parseRow(row []any, fill func(string, bool) (string, error)) (metricQuery, error) {
	q := metricQuery{ReturnData: true}
	var strs []string
	var opts map[string]any
	for i, v := range row {
		switch v := v.(type) {
		case string:
			if opts != nil {
				return q, errors.New("the options object must come last")
			}
			strs = append(strs, v)
		case map[string]any:
			if i != len(row)-1 {
				return q, errors.New("the options object must come last")
			}
			opts = v
		default:
			return q, fmt.Errorf("%s is neither a string nor the options object", markerFree(fmt.Sprint(v)))
		}
	}
	for k, v := range opts {
		switch k {
		case "expression", "id", "label", "stat":
			s, ok := v.(string)
			if !ok {
				return q, fmt.Errorf("option %q is not a string", k)
			}
			filled, err := fill(s, k == "expression")
			if err != nil {
				return q, err
			}
			switch k {
			case "expression":
				if err := checkPlaces(s); err != nil {
					return q, err
				}
				if err := checkExpression(filled); err != nil {
					return q, err
				}
				q.Expression = filled
			case "id":
				q.ID = filled
			case "label":
				q.Label = filled
			case "stat":
				q.Stat = filled
			}
		case "visible":
			b, ok := v.(bool)
			if !ok {
				return q, errors.New(`option "visible" is not true or false`)
			}
			q.ReturnData = b
		case "period":
			return q, errors.New(`option "period" cannot be set: the period is the analysis step`)
		default:
			return q, fmt.Errorf("unknown option %q (want stat, id, label, visible or expression)", markerFree(k))
		}
	}
	if q.Expression != "" {
		if len(strs) > 0 || q.Stat != "" {
			return q, errors.New("an expression entry has only options (expression, id, label, visible)")
		}
		return q, nil
	}
	if len(strs) < 2 || len(strs)%2 != 0 {
		return q, errors.New(`want ["Namespace", "MetricName", "DimensionName", "DimensionValue", ..., {options}]: a namespace, a metric name, then name-value pairs`)
	}
	for i := range strs {
		filled, err := fill(strs[i], false)
		if err != nil {
			return q, err
		}
		if filled == "" {
			return q, errors.New("a namespace, metric name or dimension is empty")
		}
		strs[i] = filled
	}
	q.Namespace, q.MetricName = strs[0], strs[1]
	if n := (len(strs) - 2) / 2; n > maxDimensions {
		return q, fmt.Errorf("%d dimensions, more than CloudWatch's %d", n, maxDimensions)
	}
	for i := 2; i < len(strs); i += 2 {
		q.Dimensions = append(q.Dimensions, dimension{Name: strs[i], Value: strs[i+1]})
	}
	if q.Stat == "" {
		q.Stat = "Average"
	}
	return q, nil
}

// markerFree replaces markers in a message with "{{...}}".
func markerFree(s string) string { return markerRE().ReplaceAllString(s, "{{…}}") }

// checkStructuredValue checks a value placed in a metric list's field
// (namespace, metric name, dimension, stat, id, label): it is data there,
// never syntax, so any text CloudWatch takes will do.
func checkStructuredValue(name, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("scope value for %s is empty", name)
	case len(v) > maxValueBytes:
		return fmt.Errorf("scope value for %s is %d bytes long, more than the %d CloudWatch takes", name, len(v), maxValueBytes)
	case !utf8.ValidString(v):
		return fmt.Errorf("scope value for %s is not valid UTF-8", name)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return fmt.Errorf("scope value %q for %s holds a control character", v, name)
	}
	return nil
}

// checkExpressionValue checks a value placed in an expression: made only
// of characters that mean nothing inside a quoted string of metric math,
// SEARCH or Metrics Insights, so it needs no escape and cannot end its
// string.
func checkExpressionValue(name, v string) error {
	if v == "" {
		return fmt.Errorf("scope value for %s is empty", name)
	}
	for _, r := range v {
		if !expressionRune(r) {
			return fmt.Errorf("scope value %q for %s cannot be placed in a CloudWatch expression: only ASCII letters, digits and '_', '-', '.', '/', ':', '@' can be (%q could end its string or change the search)", v, name, r)
		}
	}
	return nil
}

func expressionRune(r rune) bool {
	return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') || strings.ContainsRune("_-./:@", r)
}

// checkPlaces says whether every scope variable of an expression (its
// markers) stands inside a quoted string: in a Metrics Insights query
// (SELECT ...) a '...' literal or a "..." name; in metric math the "..."
// of an exact SEARCH term, since the words of a SEARCH string outside
// double quotes are search terms and operators (OR, NOT).
func checkPlaces(expr string) error {
	insights := strings.HasPrefix(strings.ToUpper(strings.TrimSpace(expr)), "SELECT")
	var stack []rune // open quotes, innermost last
	escaped := false
	for _, r := range expr {
		if r == markerOpen {
			inner := rune(0)
			if len(stack) > 0 {
				inner = stack[len(stack)-1]
			}
			switch {
			case inner == 0:
				return errors.New("a scope variable in an expression must stand inside a quoted string ('{{.x}}' in Metrics Insights, \"{{.x}}\" in SEARCH)")
			case !insights && inner == '\'':
				return errors.New("a scope variable in a metric math expression must stand inside double quotes (SEARCH('{Namespace,Dim} Dim=\"{{.x}}\"', ...)): the words of a single-quoted SEARCH string are search terms and operators")
			}
			continue
		}
		if len(stack) > 0 {
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == stack[len(stack)-1]:
				stack = stack[:len(stack)-1]
			case !insights && r == '"' && stack[len(stack)-1] == '\'':
				stack = append(stack, r)
			}
			continue
		}
		if r == '\'' || r == '"' {
			stack = append(stack, r)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("the expression leaves a %c string open", stack[len(stack)-1])
	}
	return nil
}

// checkExpression checks a filled-in expression's size.
func checkExpression(e string) error {
	if strings.TrimSpace(e) == "" {
		return errors.New("the expression is empty")
	}
	if len(e) > maxExpressionBytes {
		return fmt.Errorf("the expression is %d bytes long, more than the %d CloudWatch takes", len(e), maxExpressionBytes)
	}
	return nil
}

// windowValue writes a window variable: {{.step}} and {{.interval}} in
// whole seconds (metric math's and SEARCH's period), {{.start}} and
// {{.end}} in unix seconds.
func windowValue(name string, w metrics.Window) (string, error) {
	seconds := func(d time.Duration, what string) (string, error) {
		if d <= 0 || d%time.Second != 0 {
			return "", fmt.Errorf("query uses {{.%s}} but the window's %s, %s, is not a whole number of seconds", name, what, d)
		}
		return strconv.FormatInt(int64(d/time.Second), 10), nil
	}
	switch name {
	case query.VarStep:
		return seconds(query.Step(w), "step")
	case query.VarInterval:
		return seconds(w.End.Sub(w.Start), "length")
	case query.VarStart:
		return strconv.FormatInt(w.Start.Unix(), 10), nil
	default:
		return strconv.FormatInt(w.End.Unix(), 10), nil
	}
}
