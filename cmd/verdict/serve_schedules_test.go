package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/lokitest"
	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// scheduledConfig is restartConfig (named steady) with one schedule.
func scheduledConfig(cron, lookback string) string {
	return strings.Replace(restartConfig, "name: regress", "name: steady", 1) + fmt.Sprintf(`schedules:
  - cron: %q
    baselineScope: {track: baseline}
    canaryScope: {track: canary}
    lookback: %s
    step: 10s
`, cron, lookback)
}

// firing is a stored analysis of a schedule's firing.
type firing struct {
	id, owner string
	due       time.Time
	lookback  time.Duration
}

// storedFirings lists the analyses of config steady through p, with the
// due time of the firing each ran (request.due) and its lookback.
func storedFirings(t *testing.T, p *serveProc) []firing {
	t.Helper()
	var list struct {
		Analyses []struct {
			ID     string `json:"id"`
			Origin string `json:"origin"`
		} `json:"analyses"`
	}
	call(t, "GET", p.url+"/api/v1/analyses?config=steady&limit=1000", "", 200, &list)
	var out []firing
	for _, a := range list.Analyses {
		if a.Origin != "schedule" {
			t.Fatalf("analysis %s of steady has origin %s", a.ID, a.Origin)
		}
		var full struct {
			Owner   string `json:"owner"`
			Request struct {
				Start time.Time `json:"start"`
				End   time.Time `json:"end"`
				Due   time.Time `json:"due"`
			} `json:"request"`
		}
		call(t, "GET", p.url+"/api/v1/analyses/"+a.ID, "", 200, &full)
		out = append(out, firing{id: a.ID, owner: full.Owner, due: full.Request.Due.UTC(), lookback: full.Request.End.Sub(full.Request.Start)})
	}
	slices.SortFunc(out, func(a, b firing) int { return a.due.Compare(b.due) })
	return out
}

// slotsOf counts the firings due at each multiple of period in [from, to].
func slotsOf(fs []firing, period time.Duration, from, to time.Time) (counts map[time.Time]int, slots []time.Time) {
	counts = map[time.Time]int{}
	for _, f := range fs {
		if !f.due.Before(from) && !f.due.After(to) {
			counts[f.due]++
		}
	}
	first := time.Unix(0, (from.UnixNano()+int64(period)-1)/int64(period)*int64(period)).UTC()
	for s := first; !s.After(to); s = s.Add(period) {
		slots = append(slots, s)
	}
	return counts, slots
}

// reloadedAt is the time of p's first log line saying its schedules
// followed a config change at or after since (zero: none yet).
func reloadedAt(p *serveProc, since time.Time) time.Time {
	for _, line := range strings.Split(p.log.String(), "\n") {
		if !strings.Contains(line, `msg="schedules reloaded: the configs changed"`) {
			continue
		}
		field, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, field)
		if err == nil && !at.Before(since) {
			return at
		}
	}
	return time.Time{}
}

// TestServeReplicaSchedules runs three `verdict serve` replicas, A, B and
// C, on one PostgreSQL database, pushing their verdict events to one
// Loki-shaped server, and checks through the real processes:
//   - a config with an @every 2s schedule, stored through A only: over a
//     minute every firing is stored exactly once (one analysis per due
//     time, none missing, whichever replica ran it) and its verdict event
//     pushed once;
//   - the config changed through A (@every 3s, another lookback) reaches
//     B's and C's schedules within 5 s (their logs), and from then on only
//     the new schedule fires, each firing stored once;
//   - kill -9 of the replica that ran the newest firing loses at most the
//     one firing it may have claimed; the others go on.
func TestServeReplicaSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts Prometheus and PostgreSQL")
	}
	t.Parallel() // most of its time is waiting for firings
	dsn := pgtest.Start(t).NewDatabase(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	now := time.Now().Truncate(time.Second)
	prom := promtest.Start(t, nowMetrics(now, now.Add(time.Hour))) // healthy: every firing passes
	lk := lokitest.Start(t, lokitest.Options{})
	sources := write(t, dir, "sources.yaml", fmt.Sprintf("prometheus: {url: %q}\nloki: {url: %q, pushURL: %q}\n", prom.URL, lk.URL, lk.URL))
	replicas := map[string]*serveProc{}
	var started sync.WaitGroup
	var mu sync.Mutex
	for _, name := range []string{"A", "B", "C"} {
		started.Go(func() {
			p := startServe(t, bin, "--db", dsn, "--sources-file", sources, "--instance-id", name, "--lease", "2s")
			mu.Lock()
			replicas[name] = p
			mu.Unlock()
		})
	}
	started.Wait()
	a, b, c := replicas["A"], replicas["B"], replicas["C"]

	// 1. @every 2s through A; a minute of firings, from 5 s after.
	call(t, "PUT", a.url+"/api/v1/configs/steady", scheduledConfig("@every 2s", "5m"), 200, nil)
	from := time.Now().Add(5 * time.Second)
	to := from.Add(time.Minute)
	time.Sleep(time.Until(to) + 3*time.Second) // the last firing stored
	fs := storedFirings(t, b)
	counts, slots := slotsOf(fs, 2*time.Second, from, to)
	byOwner := map[string]int{}
	var ids []string
	for _, f := range fs {
		if counts[f.due] > 0 {
			byOwner[f.owner]++
			ids = append(ids, f.id)
		}
		if f.lookback != 5*time.Minute {
			t.Errorf("firing due %s judged %s; want the schedule's 5m", f.due, f.lookback)
		}
	}
	for _, s := range slots {
		if counts[s] != 1 {
			t.Errorf("the firing due %s is stored %d times; want once", s.Format(time.RFC3339), counts[s])
		}
	}
	if len(counts) != len(slots) {
		t.Errorf("firings stored at %d due times in the minute, want the %d of @every 2s", len(counts), len(slots))
	}
	t.Logf("a minute of @every 2s on 3 replicas: %d firings due, %d analyses stored, run by %v", len(slots), len(ids), byOwner)
	// Their events: each pushed once (an event is pushed within a second).
	events := func() map[string]int {
		out := map[string]int{}
		for _, l := range lk.Lines(map[string]string{"job": "verdict"}) {
			var ev loki.Event
			if err := json.Unmarshal([]byte(l.Text), &ev); err != nil {
				t.Fatalf("event %q: %v", l.Text, err)
			}
			out[ev.Report]++
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second) // a hang guard
	for {
		got := events()
		missing := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return got[id] > 0 })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verdict event for %d of the minute's %d analyses: %v", len(missing), len(ids), missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
	pushed := 0
	for _, id := range ids {
		pushed += events()[id]
	}
	if pushed != len(slots) {
		t.Errorf("%d verdict events for the minute's %d firings; want one each", pushed, len(slots))
	}

	// 2. A change through A: B and C follow within 5 s.
	changed := time.Now()
	call(t, "PUT", a.url+"/api/v1/configs/steady", scheduledConfig("@every 3s", "4m"), 200, nil)
	for _, p := range []struct {
		name string
		proc *serveProc
	}{{"B", b}, {"C", c}} {
		deadline := time.Now().Add(30 * time.Second) // a hang guard; the bound is checked below
		var at time.Time
		for at = reloadedAt(p.proc, changed); at.IsZero(); at = reloadedAt(p.proc, changed) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not reload its schedules after the change through A:\n%s", p.name, p.proc.log)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if lag := at.Sub(changed); lag > 5*time.Second {
			t.Errorf("%s reloaded its schedules %s after the change through A; want within 5s", p.name, lag)
		} else {
			t.Logf("%s followed the change through A after %s", p.name, lag.Round(time.Millisecond))
		}
	}

	// 3. kill -9 of the replica that ran the newest firing.
	time.Sleep(time.Until(changed.Add(12 * time.Second)))
	fs = storedFirings(t, a)
	newest := fs[len(fs)-1]
	victim := replicas[newest.owner]
	if victim == nil {
		t.Fatalf("the newest firing (due %s) is owned by %q, not a replica", newest.due, newest.owner)
	}
	if err := syscall.Kill(victim.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	killed := time.Now()
	var survivor *serveProc
	for name, p := range replicas {
		if name != newest.owner {
			survivor = p
		}
	}
	time.Sleep(25 * time.Second)
	end := time.Now().Add(-3 * time.Second) // firings due by then are stored
	fs = storedFirings(t, survivor)
	counts, slots = slotsOf(fs, 3*time.Second, changed.Add(5*time.Second), end)
	var lost []time.Time
	for _, s := range slots {
		switch n := counts[s]; {
		case n == 0:
			lost = append(lost, s)
		case n > 1:
			t.Errorf("the firing due %s is stored %d times; want once", s.Format(time.RFC3339), n)
		}
	}
	if len(lost) > 1 || len(lost) == 1 && (lost[0].Before(killed.Add(-3*time.Second)) || lost[0].After(killed.Add(3*time.Second))) {
		t.Errorf("firings due %v were not stored; want at most the one interval around the kill at %s", lost, killed.Format(time.RFC3339Nano))
	}
	after := 0
	for _, f := range fs {
		if f.due.Before(changed.Add(5 * time.Second)) {
			continue
		}
		if f.lookback != 4*time.Minute || f.due.UnixNano()%int64(3*time.Second) != 0 {
			t.Errorf("firing due %s judged %s: not the changed schedule (@every 3s, 4m)", f.due, f.lookback)
		}
		if f.due.After(killed) {
			after++
		}
	}
	if after < 5 {
		t.Errorf("%d firings stored after the kill; want the survivors to go on", after)
	}
	t.Logf("killed %s (it ran the firing due %s); %d firings of @every 3s due since the change, lost %v, %d stored after the kill",
		newest.owner, newest.due.Format(time.RFC3339), len(slots), lost, after)
	for id, n := range events() {
		if n > 1 {
			t.Errorf("the verdict event of %s was pushed %d times", id, n)
		}
	}
	for name, p := range replicas {
		if p == victim {
			continue
		}
		if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-p.done
		if p.err != nil {
			t.Errorf("%s's SIGTERM: %v\n%s", name, p.err, p.log)
		}
	}
}
