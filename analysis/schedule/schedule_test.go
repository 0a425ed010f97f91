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

// TestDueTimes checks the due times every replica must agree on: @every D
// fires at the multiples of D since the Unix epoch (not D after a start),
// and the due time of a firing that runs at a moment is the schedule's
// last at or before it, also when the run started late.
func TestDueTimes(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		spec, now, next, due string
	}{
		{"@every 2s", "2026-12-07T21:00:01.3Z", "2026-12-07T21:00:02Z", "2026-12-07T21:00:00Z"},
		{"@every 2s", "2026-12-07T21:00:02Z", "2026-12-07T21:00:04Z", "2026-12-07T21:00:02Z"},
		{"@every 5m", "2026-12-07T21:03:27Z", "2026-12-07T21:05:00Z", "2026-12-07T21:00:00Z"},
		{"@every 90s", "2026-12-07T00:00:10Z", "2026-12-07T00:01:30Z", "2026-12-07T00:00:00Z"}, // a day is 960 periods
		{"@every 7s", "1969-12-31T23:59:55Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:53Z"},  // before the epoch: rounded down
		{"*/5 * * * *", "2026-12-07T21:05:00.004Z", "2026-12-07T21:10:00Z", "2026-12-07T21:05:00Z"},
		{"*/5 * * * *", "2026-12-07T21:07:40Z", "2026-12-07T21:10:00Z", "2026-12-07T21:05:00Z"}, // started late
		{"* * * * *", "2026-12-07T21:05:59.9Z", "2026-12-07T21:06:00Z", "2026-12-07T21:05:00Z"},
		{"@hourly", "2026-12-07T21:00:00.2Z", "2026-12-07T22:00:00Z", "2026-12-07T21:00:00Z"},
		{"@hourly", "2026-12-07T21:42:00Z", "2026-12-07T22:00:00Z", "2026-12-07T21:00:00Z"},
		{"@daily", "2026-12-07T21:00:00Z", "2026-12-08T00:00:00Z", "2026-12-07T00:00:00Z"},
		{"0 0 1 1 *", "2026-12-07T21:00:00Z", "2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
	} {
		spec, err := parseSpec(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		now := at(tc.now)
		if got := spec.Next(now); !got.Equal(at(tc.next)) {
			t.Errorf("%s: next after %s is %s, want %s", tc.spec, tc.now, got.Format(time.RFC3339Nano), tc.next)
		}
		if got := dueAt(spec, now); !got.Equal(at(tc.due)) {
			t.Errorf("%s: a firing running at %s was due %s, want %s", tc.spec, tc.now, got.Format(time.RFC3339Nano), tc.due)
		}
	}
}

// TestFiringsCarryDueTimes runs an @every 2s schedule on two schedulers
// started 1.3 s apart, as two replicas are: each firing reaches Run with
// its due time (an even second, not after the call), and both schedulers
// meet the same due times (started apart, firing 2 s after their starts,
// they would fire on seconds of different parity). A firing Run reports as taken elsewhere is counted as
// such, not as a failure.
func TestFiringsCarryDueTimes(t *testing.T) {
	cfg := config(t, base+"schedules:\n  - cron: \"@every 2s\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n")
	var mu sync.Mutex
	dues := [2]map[time.Time]bool{{}, {}}
	outcomes := map[string]int{}
	start := func(replica int) *Scheduler {
		s, err := New([]*analysis.Config{cfg}, Hooks{
			Run: func(_ context.Context, j Job) error {
				called := time.Now()
				mu.Lock()
				defer mu.Unlock()
				if j.Due.IsZero() || j.Due.UnixNano()%int64(2*time.Second) != 0 || j.Due.After(called) {
					t.Errorf("replica %d: a firing due %s reached Run at %s; want an even second at or before it", replica, j.Due, called)
				}
				dues[replica][j.Due] = true
				if replica == 1 {
					return fmt.Errorf("claim: %w", ErrElsewhere)
				}
				return nil
			},
			Outcome: func(_ Job, o string) {
				mu.Lock()
				outcomes[o]++
				mu.Unlock()
			},
		}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { _ = s.Stop(context.Background()) })
		return s
	}
	start(0)
	time.Sleep(1300 * time.Millisecond) // not a phase a start-relative @every would share
	start(1)
	deadline := time.Now().Add(time.Minute) // a hang guard
	for {
		mu.Lock()
		var common int
		for d := range dues[1] {
			if dues[0][d] {
				common++
			}
		}
		mu.Unlock()
		if common >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two schedulers met no common due times: %v and %v", dues[0], dues[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if outcomes["failed"] != 0 || outcomes["elsewhere"] == 0 || outcomes["ran"] == 0 {
		t.Errorf("outcomes %v; want runs and firings taken elsewhere, no failures", outcomes)
	}
}

// TestFollow changes the stored configs under a Reloader that follows
// them: each change of the version summary reloads the schedules, an
// unchanged summary reloads nothing, and a failed check changes nothing
// until the next one succeeds.
func TestFollow(t *testing.T) {
	var mu sync.Mutex
	current, version := []*analysis.Config{scheduled(t, "a", "@hourly")}, "v1"
	var checkErr error
	var loads atomic.Int32
	r := NewReloader(func(context.Context) ([]*analysis.Config, error) {
		loads.Add(1)
		mu.Lock()
		defer mu.Unlock()
		return current, nil
	}, Hooks{Run: func(context.Context, Job) error { return nil }}, quiet)
	ctx, cancel := context.WithCancel(t.Context())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		r.Follow(ctx, 10*time.Millisecond, func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			return version, checkErr
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-followed
		_ = r.Stop(context.Background())
	})
	await := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute) // a hang guard
		for !slices.Equal(jobsOf(r), want) {
			if time.Now().After(deadline) {
				t.Fatalf("running schedules %v; want %v", jobsOf(r), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	await([]string{"a/0/@hourly"})
	// Unchanged: 20 more checks load nothing.
	before := loads.Load()
	time.Sleep(200 * time.Millisecond)
	if n := loads.Load() - before; n != 0 {
		t.Errorf("%d reloads without a config change", n)
	}
	// A change elsewhere: the new version is followed.
	mu.Lock()
	current, version = []*analysis.Config{scheduled(t, "a", "@daily"), scheduled(t, "b", "@every 5m")}, "v2"
	mu.Unlock()
	await([]string{"a/0/@daily", "b/0/@every 5m"})
	// The check fails: nothing changes, even though the configs did.
	mu.Lock()
	current, version, checkErr = nil, "v3", fmt.Errorf("database down")
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if got := jobsOf(r); !slices.Equal(got, []string{"a/0/@daily", "b/0/@every 5m"}) {
		t.Errorf("after failed checks the schedules are %v; want them unchanged", got)
	}
	mu.Lock()
	checkErr = nil
	mu.Unlock()
	await(nil)
}
