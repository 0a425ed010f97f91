package schedule

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
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

// schedulesOf describes configs' schedules as "config/index/cron" items,
// the way Reloader.Jobs should list them.
func schedulesOf(configs []*analysis.Config) []string {
	var out []string
	for _, c := range configs {
		for i, s := range c.Schedules {
			out = append(out, fmt.Sprintf("%s/%d/%s", c.Name, i, s.Cron))
		}
	}
	return out
}

func jobsOf(r *Reloader) []string {
	var out []string
	for _, j := range r.Jobs() {
		out = append(out, fmt.Sprintf("%s/%d/%s", j.Config, j.Index, j.Schedule.Cron))
	}
	return out
}

func scheduled(t *testing.T, name, cron string) *analysis.Config {
	t.Helper()
	return config(t, strings.Replace(base, "name: checkout", "name: "+name, 1)+
		"schedules:\n  - cron: \""+cron+"\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n")
}

// TestReloaderStaleLoadLast runs two reloads whose loads interleave: the
// first reads the configs, the configs change, the second reads and
// applies them, and only then does the first finish building its
// scheduler. The stale first must not replace the second's: the schedules
// running are the newest configs'.
func TestReloaderStaleLoadLast(t *testing.T) {
	var mu sync.Mutex
	current := []*analysis.Config{scheduled(t, "old", "@hourly")}
	loaded, gate := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	r := NewReloader(func(context.Context) ([]*analysis.Config, error) {
		mu.Lock()
		got := current
		mu.Unlock()
		if calls.Add(1) == 1 {
			close(loaded)
			<-gate
		}
		return got, nil
	}, Hooks{Run: func(context.Context, Job) error { return nil }}, quiet)
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	first := make(chan error)
	go func() { first <- r.Reload(t.Context()) }()
	<-loaded
	newest := []*analysis.Config{scheduled(t, "new", "@daily"), scheduled(t, "other", "*/5 * * * *")}
	mu.Lock()
	current = newest
	mu.Unlock()
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got, want := jobsOf(r), schedulesOf(newest); !slices.Equal(got, want) {
		t.Errorf("running schedules %v; want the newest configs' %v", got, want)
	}
}

// TestReloaderConcurrentPuts stores and reloads from 10 goroutines at
// once, as 10 concurrent config PUTs do (each load parses the stored
// texts, as serve's does), for 20 rounds: after each round the running
// schedules are exactly the stored configs'.
func TestReloaderConcurrentPuts(t *testing.T) {
	var mu sync.Mutex
	stored := map[string]string{}
	text := func(i, variant int) string {
		c := strings.Replace(base, "name: checkout", fmt.Sprintf("name: c%d", i), 1)
		if variant == 0 {
			c += "schedules:\n  - cron: \"@hourly\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n"
		}
		return c
	}
	load := func(context.Context) ([]*analysis.Config, error) {
		mu.Lock()
		texts := make([]string, 0, len(stored))
		for i := range 10 {
			if c, ok := stored[fmt.Sprintf("c%d", i)]; ok {
				texts = append(texts, c)
			}
		}
		mu.Unlock()
		var out []*analysis.Config
		for _, c := range texts {
			cfg, err := analysis.ParseConfig("stored.yaml", []byte(c))
			if err != nil {
				return nil, err
			}
			out = append(out, cfg)
		}
		return out, nil
	}
	r := NewReloader(load, Hooks{Run: func(context.Context, Job) error { return nil }}, quiet)
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	for round := range 20 {
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				mu.Lock()
				stored[fmt.Sprintf("c%d", i)] = text(i, (round+i)%2)
				mu.Unlock()
				if err := r.Reload(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		want, err := load(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := jobsOf(r); !slices.Equal(got, schedulesOf(want)) {
			t.Fatalf("round %d: running schedules %v; want the stored configs' %v", round, got, schedulesOf(want))
		}
	}
}

// TestReloaderReleasesRetired replaces a scheduler while one of its jobs
// runs: the job goes on (its context is not cancelled) and the replaced
// scheduler stays retired until it ends; then the scheduler is released
// (its context cancelled) and forgotten.
func TestReloaderReleasesRetired(t *testing.T) {
	running, finish := make(chan context.Context, 1), make(chan struct{})
	var fired atomic.Int32
	cfg := scheduled(t, "slow", "@every 1s")
	r := NewReloader(func(context.Context) ([]*analysis.Config, error) { return []*analysis.Config{cfg}, nil },
		Hooks{Run: func(ctx context.Context, _ Job) error {
			if fired.Add(1) == 1 {
				running <- ctx
				<-finish
			}
			return nil
		}}, quiet)
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	var jobCtx context.Context
	select {
	case jobCtx = <-running:
	case <-time.After(time.Minute): // a hang guard: @every 1s fires within a second
		t.Fatal("the schedule did not fire")
	}
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := r.Retired(); n != 1 || jobCtx.Err() != nil {
		t.Fatalf("while its job runs: %d retired, job context %v; want 1 retired and the job going on", n, jobCtx.Err())
	}
	close(finish)
	deadline := time.Now().Add(time.Minute) // a hang guard
	for r.Retired() != 0 || jobCtx.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("after its job ended: %d retired, job context %v; want the scheduler released", r.Retired(), jobCtx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
