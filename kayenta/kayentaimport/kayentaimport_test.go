package kayentaimport

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/kayenta"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestConvertGolden converts every testdata/*.json Kayenta config and
// compares the YAML with testdata/*.yaml and the problem lines with
// testdata/*.problems. The YAML must be a valid Verdict config.
func TestConvertGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) < 3 {
		t.Fatalf("want at least 3 inputs in testdata, got %v (%v)", inputs, err)
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, problems, err := Convert(filepath.Base(in), data)
			if err != nil {
				t.Fatal(err)
			}
			var lines strings.Builder
			for _, p := range problems {
				lines.WriteString(p.String() + "\n")
			}
			golden(t, "testdata/"+base+".yaml", out)
			golden(t, "testdata/"+base+".problems", []byte(lines.String()))

			cfg, err := analysis.ParseConfig(base+".yaml", out)
			if err != nil {
				t.Fatalf("the converted config is not valid: %v", err)
			}
			if cfg.Judge != analysis.JudgeKayenta {
				t.Errorf("judge = %s", cfg.Judge)
			}
			// The converted config must run the same judge settings as the
			// Kayenta config, metric by metric, except for what was reported lost.
			var src kayenta.CanaryConfig
			if err := jsonUnmarshal(data, &src); err != nil {
				t.Fatal(err)
			}
			converted, _ := cfg.KayentaConfig()
			for _, m := range src.Metrics {
				if lostMetric(problems, m.Name) {
					continue
				}
				want, err := kayenta.ParseMetricSettings(m)
				if err != nil {
					t.Fatal(err)
				}
				cm, ok := kayenta.FindMetricConfig(converted, m.Name)
				if !ok {
					t.Fatalf("metric %q is missing from the converted config", m.Name)
				}
				got, err := kayenta.ParseMetricSettings(cm)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s: settings %+v\nwant %+v", m.Name, got, want)
				}
			}
		})
	}
}

// lostMetric reports whether a problem about the metric lost something.
func lostMetric(problems []Problem, name string) bool {
	for _, p := range problems {
		if p.Lost && strings.Contains(p.Path, `"`+name+`"`) {
			return true
		}
	}
	return false
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestConvertProblems(t *testing.T) {
	metric := func(query string, extra string) string {
		return `{"name": "m", "metrics": [{"name": "lat", "groups": ["g"], "query": ` + query + extra + `}], "classifier": {"groupWeights": {"g": 100}}}`
	}
	tests := []struct {
		name, doc string
		lost      bool
		want      string // in a problem line, or in the output when prefixed with "out:"
	}{
		{"inline PromQL", metric(`{"type": "prometheus", "customInlineTemplate": "PromQL:up{pod=~\"${scope}\"}"}`, ""), false, `out:query: 'up{pod=~"{{.scope}}"}'`},
		{"variable outside a string", metric(`{"type": "prometheus", "customInlineTemplate": "PromQL:rate(x{a=\"b\"}[${window}])"}`, ""), true, "does not pass Verdict's template rules"},
		{"literal braces are escaped", metric(`{"type": "prometheus", "customInlineTemplate": "PromQL:x{a=\"{{b}}\"}"}`, ""), false, `out:x{a="{{"{{"}}b}}"}`},
		{"filter and bindings", metric(`{"type": "prometheus", "metricName": "up", "labelBindings": ["job=\"api\""], "customInlineTemplate": "pod=~\"${scope}.*\""}`, ""), false, `out:avg(up{pod=~"{{.scope}}.*",job="api"})`},
		{"query resourceType wins", metric(`{"type": "prometheus", "metricName": "up", "resourceType": "aws_ec2_instance", "customInlineTemplate": "rt=\"${resourceType}\""}`, ""), false, `out:avg(up{rt="aws_ec2_instance"})`},
		{"gce zone matcher", metric(`{"type": "prometheus", "metricName": "up", "resourceType": "gce_instance"}`, ""), true, "zone matcher"},
		{"no filter", metric(`{"type": "prometheus", "metricName": "up"}`, ""), true, "Either a resource type or a custom filter is required"},
		{"missing named template", metric(`{"type": "prometheus", "metricName": "up", "customFilterTemplate": "nope"}`, ""), true, `template "nope" is not among`},
		{"atlas", metric(`{"type": "atlas", "q": "name,x,:eq"}`, ""), true, `"atlas" queries cannot be converted`},
		{"unknown query key", metric(`{"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}", "metricname": "x"}`, ""), true, `unknown key "metricname"`},
		{"weights not 100", `{"name": "m", "metrics": [{"name": "a", "groups": ["g"], "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}}], "classifier": {"groupWeights": {"g": 80}}}`, true, "total 80"},
		{"no groups at all", `{"name": "m", "metrics": [{"name": "a", "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}}]}`, true, "scores such a config 0"},
		{"ungrouped metric gets weight 0", `{"name": "m", "metrics": [{"name": "a", "groups": ["g"], "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}}, {"name": "b", "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"c\"}"}}], "classifier": {"groupWeights": {"g": 100}}}`, false, "out:default: {weight: 0}"},
		{"duplicate name", `{"name": "m", "metrics": [{"name": "a", "groups": ["g"], "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}}, {"name": "a", "groups": ["g"], "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}}]}`, true, "quirk Q20"},
		{"other judge", `{"name": "m", "judge": {"name": "dredd-v1.0"}, "metrics": [{"name": "a", "groups": ["g"], "query": {"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}}]}`, true, `"dredd-v1.0"`},
		{"string number", metric(`{"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}`, `, "analysisConfigurations": {"canary": {"effectSize": {"allowedIncrease": "1.1"}}}`), true, "is not a number"},
		{"unknown direction", metric(`{"type": "prometheus", "customInlineTemplate": "PromQL:up{a=\"b\"}"}`, `, "analysisConfigurations": {"canary": {"direction": "up"}}`), false, "reads it as either"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, problems, err := Convert("in.json", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if Incomplete(problems) != tt.lost {
				t.Errorf("incomplete = %v, want %v; problems %v", Incomplete(problems), tt.lost, problems)
			}
			if want, ok := strings.CutPrefix(tt.want, "out:"); ok {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
				if _, err := analysis.ParseConfig("out.yaml", out); err != nil {
					t.Errorf("output is not a valid config: %v\n%s", err, out)
				}
				return
			}
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p.String(), tt.want)
			}
			if !found {
				t.Errorf("no problem contains %q: %v", tt.want, problems)
			}
		})
	}
}

func TestConvertRefusesNonConfigs(t *testing.T) {
	for _, doc := range []string{``, `[1]`, `{"name": "x"}`, `{"name": "x", "metrics": []}`, `{"metrics": [}`} {
		_, _, err := Convert("in.json", []byte(doc))
		var ce *analysis.ConfigError
		if !errors.As(err, &ce) || ce.File != "in.json" {
			t.Errorf("%q: got %v, want a ConfigError naming in.json", doc, err)
		}
	}
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
