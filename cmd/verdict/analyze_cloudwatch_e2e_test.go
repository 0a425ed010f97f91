package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/fixtures"
	"github.com/verdict-aca/verdict/internal/cloudwatchtest"
	"github.com/verdict-aca/verdict/metrics/file"
)

// cloudWatchNamespace is where the fixtures' metrics live in the local
// CloudWatch: one metric per series of a scenario's CSVs, with the
// dimensions Scenario and Track.
const cloudWatchNamespace = "Verdict/Fixtures"

// cloudWatchMetric is the query of a fixture series, by stat.
func cloudWatchMetric(series, stat string) string {
	return fmt.Sprintf(`["%s", "%s", "Scenario", "{{.scenario}}", "Track", "{{.track}}", {"stat": "%s"}]`, cloudWatchNamespace, series, stat)
}

// cloudWatchScenario is a fixture scenario in the local CloudWatch: its
// config with every signal read from CloudWatch (counts with the Sum of
// each period, gauges with the Average), and the window and step of its
// CSVs. A histogram signal is left out: CloudWatch has none.
type cloudWatchScenario struct {
	sc         fixtures.Scenario
	config     string
	start, end time.Time
	step       time.Duration
	dropped    []string
}

// loadCloudWatchScenario puts a scenario's series into srv and writes its
// CloudWatch config under dir.
func loadCloudWatchScenario(t *testing.T, srv *cloudwatchtest.Server, sc fixtures.Scenario, dir string) cloudWatchScenario {
	t.Helper()
	out := cloudWatchScenario{sc: sc}
	for _, track := range []string{"baseline", "canary"} {
		series, err := file.Load(context.Background(), filepath.Join(sc.Dir, track+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		dims := []cloudwatchtest.Dimension{{Name: "Scenario", Value: sc.Name}, {Name: "Track", Value: track}}
		for _, s := range series {
			if len(s.Bounds) > 0 {
				continue
			}
			for i, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				at := s.Times[i]
				srv.Put(cloudWatchNamespace, s.Signal, dims, at, v)
				if out.start.IsZero() || at.Before(out.start) {
					out.start = at
				}
				if at.After(out.end) {
					out.end = at
				}
				if i > 0 && (out.step == 0 || s.Times[i].Sub(s.Times[i-1]) < out.step) {
					out.step = s.Times[i].Sub(s.Times[i-1])
				}
			}
		}
	}
	out.end = out.end.Add(out.step)

	data, err := os.ReadFile(filepath.Join(sc.Dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var signals []any
	used := map[string]bool{}
	for _, x := range cfg["signals"].([]any) {
		s := x.(map[string]any)
		name, _ := s["name"].(string)
		series, _ := s["series"].(string)
		if series == "" {
			series = name
		}
		delete(s, "series")
		s["source"] = "cloudwatch"
		switch s["test"] {
		case "histogram":
			out.dropped = append(out.dropped, name)
			continue
		case "rate":
			s["query"] = cloudWatchMetric(series, "Sum")
			if e, ok := s["exposure"].(string); ok {
				s["exposureQuery"] = cloudWatchMetric(e, "Sum")
			}
		case "proportion":
			s["query"] = cloudWatchMetric(series, "Sum")
			s["trialsQuery"] = cloudWatchMetric(s["trials"].(string), "Sum")
		default:
			s["query"] = cloudWatchMetric(series, "Average")
		}
		if g, ok := s["group"].(string); ok {
			used[g] = true
		}
		signals = append(signals, s)
	}
	cfg["signals"] = signals
	if groups, ok := cfg["groups"].(map[string]any); ok {
		for g := range groups {
			if !used[g] {
				delete(groups, g)
			}
		}
	}
	cfg["sources"] = map[string]any{"cloudwatch": map[string]any{"type": "cloudwatch", "region": cloudwatchtest.Region, "url": srv.URL}}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.config = filepath.Join(dir, sc.Name+".yaml")
	if err := os.WriteFile(out.config, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func (c cloudWatchScenario) args(extra ...string) []string {
	return append([]string{"--config", c.config, "--start", c.start.Format(time.RFC3339), "--end", c.end.Format(time.RFC3339),
		"--step", c.step.String()}, append(scopeArgs(c.sc.Name), extra...)...)
}

// TestAnalyzeCloudWatch runs `verdict analyze` against the local
// CloudWatch (GetMetricData over the SDK's rpc-v2-cbor, SigV4 checked)
// holding every fixture scenario: each gives its file verdict and its
// signals their file classifications, counts with an exposure and
// proportions with their trials included.
func TestAnalyzeCloudWatch(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", cloudwatchtest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", cloudwatchtest.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	srv := cloudwatchtest.Start(t)
	all, err := fixtures.LoadAll(fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	scenarios := map[string]cloudWatchScenario{}
	for _, sc := range all {
		scenarios[sc.Name] = loadCloudWatchScenario(t, srv, sc, dir)
	}

	t.Run("scenarios", func(t *testing.T) {
		for name, c := range scenarios {
			t.Run(name, func(t *testing.T) {
				code, rep, stderr := analyzeLive(t, c.args()...)
				want := c.sc
				if rep.Schema != "verdict/report/v1" {
					t.Fatalf("exit %d, no report; stderr: %s", code, stderr)
				}
				if len(c.dropped) > 0 {
					t.Logf("left out (CloudWatch has no histograms): %s", strings.Join(c.dropped, ", "))
				}
				decisive := true
				for _, d := range c.dropped {
					decisive = decisive && want.Signals[d] == "pass"
				}
				if !decisive {
					t.Logf("the verdict (%s) rests on a signal left out: checking the classifications only", want.Verdict)
				} else if rep.Verdict != want.Verdict || code != exitOf[want.Verdict] {
					t.Errorf("verdict %s (exit %d), want %s (exit %d); reason: %s", rep.Verdict, code, want.Verdict, exitOf[want.Verdict], rep.Reason)
				}
				if len(rep.Signals) != len(want.Signals)-len(c.dropped) {
					t.Fatalf("report has %d signals, want %d", len(rep.Signals), len(want.Signals)-len(c.dropped))
				}
				for _, s := range rep.Signals {
					wantClass := want.Signals[s.Name]
					if live, ok := liveDifferences[name][s.Name]; ok {
						wantClass = live
					}
					if s.Classification != wantClass {
						t.Errorf("signal %s: %s, want %s (%s)", s.Name, s.Classification, wantClass, s.Reason)
					}
				}
			})
		}
	})

	t.Run("every point of the hour arrives", func(t *testing.T) {
		c := scenarios["healthy"]
		_, rep, stderr := analyzeLive(t, c.args()...)
		if len(rep.Signals) == 0 {
			t.Fatalf("no report; stderr: %s", stderr)
		}
		for _, s := range rep.Signals {
			if s.Baseline.Count != 360 || s.Canary.Count != 360 {
				t.Errorf("signal %s: %d baseline and %d canary points, want 360 each", s.Name, s.Baseline.Count, s.Canary.Count)
			}
		}
	})

	t.Run("a scope value an expression cannot hold is refused", func(t *testing.T) {
		c := scenarios["healthy"]
		cfg := write(t, t.TempDir(), "insights.yaml", fmt.Sprintf(`name: insights
signals:
  - name: cpu
    source: cloudwatch
    test: mann-whitney
    query: SELECT AVG(cpu_percent) FROM SCHEMA("%s", Scenario, Track) WHERE Track = '{{.track}}' AND Scenario = '{{.scenario}}'
sources:
  cloudwatch: {type: cloudwatch, region: us-east-1, url: %q}
`, cloudWatchNamespace, srv.URL))
		for _, evil := range []string{"canary' OR Track != '", `canary\`, "canary' --"} {
			args := []string{"--config", cfg, "--start", c.start.Format(time.RFC3339), "--end", c.end.Format(time.RFC3339), "--step", "10s",
				"--baseline-scope", "scenario=healthy,track=baseline", "--canary-scope", "scenario=healthy,track=" + evil}
			code, rep, stderr := analyzeLive(t, args...)
			if code != exitData || rep.Schema != "" || !strings.Contains(stderr, "signals[0].query: canary scope:") || !strings.Contains(stderr, "only ASCII letters, digits") {
				t.Errorf("scope value %q: exit %d, verdict %q, stderr %q; want 65 naming the query and the characters a value may hold", evil, code, rep.Verdict, stderr)
			}
		}
	})

	t.Run("refused credentials: one sentence, no secret", func(t *testing.T) {
		const secret = "wrong/Secret+Key0123456789abcdefghijklmn"
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		c := scenarios["healthy"]
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"analyze", "--format", "json"}, c.args()...), strings.NewReader(""), &out, &errOut)
		if code != exitUnavailable && code != exitNone {
			t.Errorf("exit %d, want %d or %d", code, exitUnavailable, exitNone)
		}
		all := out.String() + errOut.String()
		t.Logf("exit %d:\n%s", code, all)
		if !strings.Contains(all, "SignatureDoesNotMatch") {
			t.Errorf("output does not name SignatureDoesNotMatch:\n%s", all)
		}
		if strings.Contains(all, secret) {
			t.Errorf("the secret key is in the output:\n%s", all)
		}
		// Another way in: the analysis' log lines.
		if strings.Contains(strings.ReplaceAll(all, `\/`, "/"), secret) {
			t.Errorf("the secret key is in the output, JSON-escaped")
		}
	})
}
