package deploycheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/verdict-aca/verdict/api"
)

// served lists the metrics verdict serve's /metrics has, with their
// labels: every collector of its registry described.
func served(t *testing.T) map[string][]string {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() {
		api.NewMetrics().Registry().Describe(ch)
		close(ch)
	}()
	// A Desc says its name and labels only in its String form.
	re := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	out := map[string][]string{}
	for d := range ch {
		m := re.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %s", d)
		}
		var labels []string
		if m[2] != "" {
			labels = strings.Split(m[2], ",")
		}
		out[m[1]] = labels
	}
	return out
}

// grafanaVariables replaces the dashboard's variables and Grafana's macros
// with values PromQL accepts.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__range", "6h", "$__interval", "1m", "$config", ".*")

// TestDashboard: deploy/monitoring/verdict-dashboard.json is a Grafana
// dashboard whose every query parses as PromQL and reads metrics /metrics
// serves, by labels they have: a renamed metric or label breaks it here,
// not on a screen. It shows the verdicts by path and the per-signal
// figures.
func TestDashboard(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repo, "deploy", "monitoring", "verdict-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title, UID string
		Panels     []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(text)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("no title, uid or panels: %+v", dash)
	}
	metrics := served(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		e, err := parser.ParseExpr(grafanaVariables.Replace(expr))
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, expr, err)
			return
		}
		parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := vs.Name
			labels, ok := metrics[name]
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if base, cut := strings.CutSuffix(name, suffix); !ok && cut {
					labels, ok = metrics[base]
					labels = append(labels, "le")
				}
			}
			if !ok {
				t.Errorf("%s: %q reads %s, which /metrics does not serve", where, expr, name)
				return nil
			}
			used[name] = true
			for _, m := range vs.LabelMatchers {
				if m.Name != "__name__" && !slices.Contains(labels, m.Name) {
					t.Errorf("%s: %q matches label %s, which %s does not have (%v)", where, expr, m.Name, name, labels)
				}
			}
			return nil
		})
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			check("panel "+p.Title, target.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := regexp.MustCompile(`^label_values\((\w+), *(\w+)\)$`).FindStringSubmatch(s)
		if m == nil || !slices.Contains(metrics[m[1]], m[2]) {
			t.Errorf("variable %s: %q is not label_values of a served metric and one of its labels", v.Name, s)
		}
	}
	for _, name := range []string{"verdict_verdicts_total", "verdict_signal_classification", "verdict_signal_estimate", "verdict_signal_bound", "verdict_signal_allowed", "verdict_last_score"} {
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}
