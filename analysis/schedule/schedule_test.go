package schedule

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

func config(t *testing.T, text string) *analysis.Config {
	t.Helper()
	cfg, err := analysis.ParseConfig("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const base = `name: checkout
signals:
  - name: p99
    query: 'up{track="{{.track}}"}'
`

func TestScheduleConfig(t *testing.T) {
	cfg := config(t, base+`schedules:
  - cron: "*/5 * * * *"
    baselineScope: {track: baseline}
    canaryScope: {track: canary, port: 8080}
  - cron: "@every 1m"
    baselineScope: {track: baseline}
    canaryScope: {track: canary}
    lookback: 30m
`)
	if len(cfg.Schedules) != 2 {
		t.Fatalf("schedules = %+v", cfg.Schedules)
	}
	s0 := cfg.Schedules[0]
	if got := analysis.ScopeOf(s0.CanaryScope); got["track"] != "canary" || got["port"] != "8080" || len(got) != 2 {
		t.Errorf("canary scope = %v", got)
	}
	if time.Duration(s0.Lookback) != 10*time.Minute {
		t.Errorf("default lookback = %v, want 10m", time.Duration(s0.Lookback))
	}
	if time.Duration(cfg.Schedules[1].Lookback) != 30*time.Minute {
		t.Errorf("lookback = %v, want 30m", time.Duration(cfg.Schedules[1].Lookback))
	}
}

func TestScheduleConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, sched, want string }{
		{"bad cron", "  - cron: \"61 * * * *\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n", "test.yaml line 6: schedules[0].cron: \"61 * * * *\" is not a cron schedule"},
		{"no cron", "  - baselineScope: {track: b}\n    canaryScope: {track: c}\n", "schedules[0].cron: missing"},
		{"no canary scope", "  - cron: \"@hourly\"\n    baselineScope: {track: b}\n", "schedules[0].canaryScope: missing"},
		{"unknown key", "  - cron: \"@hourly\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n    lookbak: 5m\n", "did you mean \"lookback\""},
		{"empty scope value", "  - cron: \"@hourly\"\n    baselineScope: {track: b}\n    canaryScope: {track: \"\"}\n", "test.yaml line 8: schedules[0].canaryScope: track has an empty value"},
		{"quoted scope value", "  - cron: \"@hourly\"\n    baselineScope: {track: '\"b\"'}\n    canaryScope: {track: c}\n", `schedules[0].baselineScope: the value of track, "b", is quoted`},
		{"bad lookback", "  - cron: \"@hourly\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n    lookback: soon\n", "schedules[0].lookback"},
	} {
		_, err := analysis.ParseConfig("test.yaml", []byte(base+"schedules:\n"+tc.sched))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestSkipAndRecover fires a schedule every second whose first run blocks
// for 2.5 s and whose second run panics: the overlapping firings are
// skipped, the panic is recorded, and the schedule keeps running.
func TestSkipAndRecover(t *testing.T) {
	cfg := config(t, base+"schedules:\n  - cron: \"@every 1s\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n")
	var calls atomic.Int32
	var mu sync.Mutex
	outcomes := map[string]int{}
	s, err := New([]*analysis.Config{cfg}, Hooks{
		Run: func(ctx context.Context, j Job) error {
			switch calls.Add(1) {
			case 1:
				select {
				case <-time.After(2500 * time.Millisecond):
				case <-ctx.Done():
				}
			case 2:
				panic("boom")
			}
			return nil
		},
		Outcome: func(j Job, o string) {
			mu.Lock()
			outcomes[o]++
			mu.Unlock()
		},
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
	s.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		done := outcomes["panicked"] >= 1 && outcomes["ran"] >= 2 && outcomes["skipped"] >= 1
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if outcomes["skipped"] < 1 || outcomes["panicked"] != 1 || outcomes["ran"] < 2 {
		t.Errorf("outcomes = %v; want skips while the first run blocked, one panic, and runs after it", outcomes)
	}
}

func TestReloader(t *testing.T) {
	withSchedule := config(t, base+"schedules:\n  - cron: \"@hourly\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n  - cron: \"@daily\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n")
	without := config(t, base)
	current := []*analysis.Config{without}
	r := NewReloader(func(context.Context) ([]*analysis.Config, error) { return current, nil }, Hooks{Run: func(context.Context, Job) error { return nil }}, quiet)
	steps := []struct {
		configs []*analysis.Config
		want    int
	}{{[]*analysis.Config{without}, 0}, {[]*analysis.Config{withSchedule}, 2}, {[]*analysis.Config{withSchedule, without}, 2}, {nil, 0}}
	for i, st := range steps {
		current = st.configs
		if err := r.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r.Len() != st.want {
			t.Errorf("step %d: %d jobs, want %d", i, r.Len(), st.want)
		}
	}
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("after Stop: %d jobs", r.Len())
	}
}
