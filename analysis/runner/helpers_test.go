package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/internal/storetest"
)

// The runner's tests run on both stores, as subtests named "sqlite" and
// "postgres" (a real PostgreSQL, internal/pgtest: each postgres subtest
// starts its own), against a real Prometheus (internal/promtest) where an
// analysis queries. Without PostgreSQL's binaries the postgres subtests
// skip (fail when CI=true), as pgtest decides.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// storeKind names a store implementation (storetest.Kind).
type storeKind = storetest.Kind

// forEachStore runs f as one parallel subtest per store kind.
func forEachStore(t *testing.T, f func(t *testing.T, kind storeKind)) { storetest.ForEach(t, f) }

// openStores opens n stores on one fresh, empty database of kind, closed
// when t ends: the stores of n replicas sharing a database.
func openStores(t testing.TB, kind storeKind, n int) []store.Store {
	t.Helper()
	return storetest.Open(t, kind, n, func(t testing.TB) string { return pgtest.Start(t).NewDatabase(t) })
}

// dataStart is the start of the test data (2024-01-01T00:00:00Z); an hour
// of points every 15 s follows.
var dataStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// startPrometheus starts a Prometheus over the test data: per track, a
// latency gauge (baseline ≈ 100 ms, canary ≈ 130 ms: a clear regression)
// and an error ratio drawn from the same distribution on both (healthy).
// The wiggle is a fixed LCG, so the data is the same every run.
func startPrometheus(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	state := uint32(7)
	noise := func() float64 {
		state = state*1664525 + 1013904223
		return float64(state>>8)/float64(1<<24) - 0.5
	}
	level := map[string]float64{"baseline": 100, "canary": 130}
	b.WriteString("# TYPE app_latency_ms gauge\n")
	for _, track := range []string{"baseline", "canary"} {
		for i := range 241 {
			fmt.Fprintf(&b, "app_latency_ms{track=%q} %.3f %d\n", track, level[track]+20*noise(), dataStart.Unix()+int64(15*i))
		}
	}
	b.WriteString("# TYPE app_error_ratio gauge\n")
	for _, track := range []string{"baseline", "canary"} {
		for i := range 241 {
			fmt.Fprintf(&b, "app_error_ratio{track=%q} %.5f %d\n", track, 0.01+0.004*noise(), dataStart.Unix()+int64(15*i))
		}
	}
	b.WriteString("# EOF\n")
	return promtest.Start(t, b.String()).URL
}

// unreachable is a Prometheus URL nothing listens on, for analyses that
// never query within a test (their first interval ends in 30 minutes).
const unreachable = "http://127.0.0.1:1"

// promSources is a server's sources: the prometheus source at promURL,
// built as verdict serve builds it.
func promSources(t testing.TB, promURL string) analysis.SourceSet {
	t.Helper()
	set, err := (*analysis.ServerSources)(nil).Open(analysis.SourceOverrides{PrometheusURL: promURL})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

const liveRegress = `name: regress
thresholds: {pass: 95, marginal: 75}
signals:
  - name: latency
    query: 'app_latency_ms{track="{{.track}}"}'
    direction: increase
    allowedChange: 10%
  - name: errors
    query: 'app_error_ratio{track="{{.track}}"}'
    direction: increase
    allowedChange: 20%
`

func sampleScopes() analysis.Scopes {
	return analysis.Scopes{Baseline: map[string]string{"track": "baseline"}, Canary: map[string]string{"track": "canary"}}
}

// counter is an Observer that counts what it is told.
type counter struct {
	mu        sync.Mutex
	verdicts  map[string]int // by verdict and origin, "fail/api"
	takeovers map[string]int // by outcome
}

func (c *counter) ObserveAnalysis(origin, _ string, rep *analysis.Report, _ time.Duration) {
	v := "none"
	if rep != nil {
		v = string(rep.Verdict)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verdicts == nil {
		c.verdicts = map[string]int{}
	}
	c.verdicts[v+"/"+origin]++
}

func (c *counter) TakenOver(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.takeovers == nil {
		c.takeovers = map[string]int{}
	}
	c.takeovers[outcome]++
}

func (c *counter) verdict(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verdicts[key]
}

func (c *counter) takenOver(outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.takeovers[outcome]
}

// replica is one running Runner of several sharing a store, with the
// Observer it reports to.
type replica struct {
	*Runner
	store   store.Store
	counted *counter
	stopRun context.CancelFunc
	ran     chan struct{}
	stopped bool
}

// startReplica builds a Runner over opt (its observer and logger set
// here) and runs it until stop or the test's end.
func startReplica(t testing.TB, opt Options) *replica {
	t.Helper()
	c := &counter{}
	opt.Observer, opt.Logger = c, quiet
	r, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rep := &replica{Runner: r, store: opt.Store, counted: c, stopRun: cancel, ran: make(chan struct{})}
	go func() {
		defer close(rep.ran)
		r.Run(ctx)
	}()
	t.Cleanup(rep.stop)
	return rep
}

// stop ends the replica's Run and waits for it (a graceful stop).
func (r *replica) stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.stopRun()
	<-r.ran
}

// replicas starts runners named ids on one fresh database of kind, each
// with opt (its store, instance id and sources set here) and resumed, and
// stores the regress config.
func replicas(t *testing.T, kind storeKind, opt Options, ids ...string) []*replica {
	t.Helper()
	stores := openStores(t, kind, len(ids))
	var out []*replica
	for i, id := range ids {
		o := opt
		o.Store, o.InstanceID = stores[i], id
		if o.Sources == nil {
			o.Sources = promSources(t, unreachable)
		}
		r := startReplica(t, o)
		if _, _, err := r.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if _, err := stores[0].PutConfig(t.Context(), "regress", []byte(liveRegress)); err != nil {
		t.Fatal(err)
	}
	return out
}

// startLong submits, through r, an analysis whose first interval ends in
// 30 minutes: it waits, with no progress write, the whole test.
func startLong(t *testing.T, r *replica) string {
	t.Helper()
	cfg, err := analysis.ParseConfig("regress", []byte(liveRegress))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id, err := r.Submit(t.Context(), Request{Config: cfg, ConfigName: "regress", ConfigText: []byte(liveRegress), Origin: "api",
		Plan: Plan{Scopes: sampleScopes(), Start: now, End: now.Add(time.Hour), Step: 15 * time.Second, Lifetime: time.Hour, Interval: 30 * time.Minute}})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return id
}

// eventually polls cond every 20 ms until it holds or limit passes, and
// returns how long it took.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}
