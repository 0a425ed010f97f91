package loadgen

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

func TestLiveConfig(t *testing.T) {
	fixture, err := os.ReadFile("../../../fixtures/prometheus/latency-regression.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sched := &Schedule{Cron: "@every 1s", Baseline: map[string]string{"scenario": "latency-regression", "track": "baseline"},
		Canary: map[string]string{"scenario": "latency-regression", "track": "canary"}, Lookback: "5m", Step: "10s"}
	withSchedule := "name: x\nsignals:\n  - {name: a, query: q}\nschedules:\n  - {cron: '@hourly', baselineScope: {a: b}, canaryScope: {a: c}}\n"
	original, err := analysis.ParseConfig("fixture", fixture)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		text    string
		sched   *Schedule
		signals int
		wantErr string
	}{
		{name: "mix-argo", text: string(fixture), signals: len(original.Signals)},
		{name: "mix-scheduled", text: string(fixture), sched: sched, signals: len(original.Signals)},
		{name: "renamed-and-rescheduled", text: withSchedule, sched: sched, signals: 1},
		{name: "no-name", text: "signals:\n  - {name: a, query: q}\n", signals: 1},
		{name: "list", text: "- a\n- b\n", wantErr: "not a YAML mapping"},
		{name: "bad", text: "signals: [\n", wantErr: "live config bad"},
		{name: "bad-cron", text: string(fixture), sched: &Schedule{Cron: "every second", Baseline: sched.Baseline, Canary: sched.Canary}, wantErr: "cron"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := LiveConfig([]byte(tt.text), tt.name, tt.sched)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := analysis.ParseConfig(tt.name, out)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Name != tt.name || len(cfg.Signals) != tt.signals {
				t.Fatalf("name %q with %d signals, want %q with %d:\n%s", cfg.Name, len(cfg.Signals), tt.name, tt.signals, out)
			}
			if tt.sched == nil {
				if len(cfg.Schedules) != 0 {
					t.Fatalf("schedules %+v, want none", cfg.Schedules)
				}
				return
			}
			if len(cfg.Schedules) != 1 {
				t.Fatalf("schedules %+v, want one", cfg.Schedules)
			}
			s := cfg.Schedules[0]
			if s.Cron != "@every 1s" || time.Duration(s.Lookback) != 5*time.Minute || time.Duration(s.Step) != 10*time.Second ||
				Scope(analysis.ScopeOf(s.BaselineScope)) != "scenario=latency-regression,track=baseline" ||
				Scope(analysis.ScopeOf(s.CanaryScope)) != "scenario=latency-regression,track=canary" {
				t.Fatalf("schedule %+v", s)
			}
		})
	}
}

func TestRevision(t *testing.T) {
	tests := []struct {
		text string
		n    int
		want string
	}{
		{"name: a\n", 1, "name: a\n# revision 1\n"},
		{"name: a", 2, "name: a\n# revision 2\n"},
		{"name: a\n\n\n", 3, "name: a\n# revision 3\n"},
	}
	for _, tt := range tests {
		text := []byte(tt.text)
		if got := string(Revision(text, tt.n)); got != tt.want || string(text) != tt.text {
			t.Errorf("Revision(%q, %d) = %q (text now %q), want %q", tt.text, tt.n, got, text, tt.want)
		}
	}
}
