package loadgen

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/analysis"
)

// Schedule is the schedule the mixed load gives a live config: it fires on
// Cron and judges the last Lookback of Baseline and Canary (template
// variables) at Step.
type Schedule struct {
	Cron             string
	Baseline, Canary map[string]string
	Lookback, Step   string
}

// LiveConfig rewrites a config's YAML text (a fixture scenario's
// Prometheus config, fixtures/prometheus) for the mixed load: its name
// becomes name and, when sched is not nil, its schedules are [sched]
// (replacing any it had). The result must parse as a config with that
// name; the error says why it does not.
func LiveConfig(text []byte, name string, sched *Schedule) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("live config %s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("live config %s: the text is not a YAML mapping", name)
	}
	top := doc.Content[0]
	set(top, "name", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name})
	if sched != nil {
		var node yaml.Node
		if err := node.Encode([]map[string]any{{
			"cron": sched.Cron, "baselineScope": sched.Baseline, "canaryScope": sched.Canary,
			"lookback": sched.Lookback, "step": sched.Step,
		}}); err != nil {
			return nil, fmt.Errorf("live config %s: schedules: %w", name, err)
		}
		set(top, "schedules", &node)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("live config %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("live config %s: %w", name, err)
	}
	cfg, err := analysis.ParseConfig(name, out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("live config %s does not parse: %w", name, err)
	}
	if cfg.Name != name || (sched != nil && len(cfg.Schedules) != 1) {
		return nil, fmt.Errorf("live config %s: parsed as %q with %d schedules", name, cfg.Name, len(cfg.Schedules))
	}
	return out.Bytes(), nil
}

// set replaces the value of key in a mapping node, or adds the pair at
// the end.
func set(m *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = value
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, value)
}

// Revision returns text followed by a comment naming revision n: a config
// PUT again with it replaces the stored text with a different one, as an
// operator's edit does.
func Revision(text []byte, n int) []byte {
	out := bytes.TrimRight(text, "\n")
	return fmt.Appendf(out[:len(out):len(out)], "\n# revision %d\n", n)
}

// Scope renders template variables as the Argo endpoint's K=V,K=V
// parameter, sorted by key.
func Scope(vars map[string]string) string {
	var b bytes.Buffer
	for i, k := range slices.Sorted(maps.Keys(vars)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + vars[k])
	}
	return b.String()
}
