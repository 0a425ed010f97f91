package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
)

// scheduledHealthy is liveHealthy with a schedule every 2 s.
const scheduledHealthy = liveHealthy + `schedules:
  - cron: "@every 2s"
    baselineScope: {track: baseline}
    canaryScope: {track: canary}
    lookback: 30m
    step: 15s
`

func TestFiringsRunOnce(t *testing.T) { forEachStore(t, testFiringsRunOnce) }

// testFiringsRunOnce has two servers on one store (two replicas) meet the
// same firings at once: exactly one runs each (the other is told
// ErrElsewhere), recording its due time in the request; a firing of a
// schedule the stored config no longer has is not run nor claimed; and a
// replica holding an older version of the schedule (other scopes, same
// cron) runs the stored one.
func testFiringsRunOnce(t *testing.T, kind storeKind) {
	ctx := t.Context()
	stores := openStores(t, kind, 2)
	sources := promSources(t, e2ePrometheus(t))
	var servers [2]*Server
	for i := range servers {
		now := e2eStart.Add(50 * time.Minute) // 50 minutes into the data
		srv, err := New(Options{Store: stores[i], Sources: sources, InstanceID: fmt.Sprint("replica-", i), Logger: quiet, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		servers[i] = srv
	}
	if _, err := stores[0].PutConfig(ctx, "healthy", []byte(scheduledHealthy)); err != nil {
		t.Fatal(err)
	}
	cfg, err := analysis.ParseConfig("healthy", []byte(scheduledHealthy))
	if err != nil {
		t.Fatal(err)
	}
	// Due times from now on: the servers' retention deletes the records of
	// firings due more than FiringRetention ago, which would let a second
	// claim of an old firing win.
	due := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	fire := func(j schedule.Job) [2]error {
		var errs [2]error
		var wg sync.WaitGroup
		for i, srv := range servers {
			wg.Go(func() { errs[i] = srv.Runner().RunSchedule(ctx, j) })
		}
		wg.Wait()
		return errs
	}
	job := schedule.Job{Config: "healthy", Index: 0, Schedule: cfg.Schedules[0]}
	for n := range 3 {
		job.Due = due.Add(time.Duration(n) * 2 * time.Second)
		errs := fire(job)
		ran, elsewhere := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ran++
			case errors.Is(err, schedule.ErrElsewhere):
				elsewhere++
			default:
				t.Fatalf("firing due %s: %v", job.Due, err)
			}
		}
		if ran != 1 || elsewhere != 1 {
			t.Fatalf("firing due %s: %v; want one replica to run it and the other to leave it", job.Due, errs)
		}
	}
	// A stale replica's firing: the stored schedule has another cron.
	stale := job
	stale.Schedule.Cron, stale.Due = "@every 3s", due.Add(time.Minute)
	if errs := fire(stale); errs[0] == nil || errs[1] == nil || errors.Is(errs[0], schedule.ErrElsewhere) {
		t.Errorf("firings of a schedule the stored config no longer has: %v; want both refused", errs)
	}
	if mine, err := stores[0].ClaimFiring(ctx, store.Firing{Config: "healthy", Schedule: 0, At: stale.Due, Owner: "test"}); err != nil || !mine {
		t.Errorf("the stale firing was claimed (%v, %v); want it left unclaimed", mine, err)
	}
	// An older version of the schedule with other scopes: the stored one runs.
	old := job
	old.Schedule.CanaryScope, old.Due = []analysis.ScopeVar{{Name: "track", Value: "gone"}}, due.Add(2*time.Minute)
	if err := servers[1].Runner().RunSchedule(ctx, old); err != nil {
		t.Fatal(err)
	}

	list, err := stores[0].ListAnalyses(ctx, store.Filter{Config: "healthy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("%d analyses stored; want one per firing run, 4", len(list))
	}
	ends := map[time.Time]int{}
	for _, a := range list {
		full, err := stores[0].GetAnalysis(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var p runner.Plan
		if err := json.Unmarshal(full.Request, &p); err != nil {
			t.Fatal(err)
		}
		if p.Due == nil {
			t.Fatalf("analysis %s records no due time: %s", a.ID, full.Request)
		}
		ends[p.Due.UTC()]++
		if p.End.Sub(p.Start) != 30*time.Minute || a.Origin != "schedule" || a.Status != store.Finished || a.Verdict != "pass" {
			t.Errorf("analysis %s: %s window %s..%s, %s %s; want a finished pass of the schedule over its 30m lookback", a.ID, a.Origin, p.Start, p.End, a.Status, a.Verdict)
		}
		if p.Scopes.Canary["track"] != "canary" {
			t.Errorf("analysis %s judged the canary scope %v; want the stored schedule's", a.ID, p.Scopes.Canary)
		}
	}
	for _, d := range []time.Time{due, due.Add(2 * time.Second), due.Add(4 * time.Second), due.Add(2 * time.Minute)} {
		if ends[d] != 1 {
			t.Errorf("%d analyses ran the firing due %s; want 1 (all: %v)", ends[d], d, ends)
		}
	}
}

// TestFiringRetention checks that a server deletes the records of firings
// due more than FiringRetention ago, and keeps the recent ones.
func TestFiringRetention(t *testing.T) {
	st := openStores(t, onSQLite, 1)[0]
	ctx := t.Context()
	old := store.Firing{Config: "c", Schedule: 0, At: time.Now().Add(-FiringRetention - time.Minute).Truncate(time.Second), Owner: "A"}
	recent := store.Firing{Config: "c", Schedule: 0, At: time.Now().Add(-FiringRetention + 10*time.Minute).Truncate(time.Second), Owner: "A"}
	for _, f := range []store.Firing{old, recent} {
		if mine, err := st.ClaimFiring(ctx, f); err != nil || !mine {
			t.Fatal(mine, err)
		}
	}
	srv, err := New(Options{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	deadline := time.Now().Add(time.Minute) // a hang guard: the loop prunes at start
	for {
		mine, err := st.ClaimFiring(ctx, old) // succeeds once the record is gone
		if err != nil {
			t.Fatal(err)
		}
		if mine {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the record of a firing due more than FiringRetention ago was kept")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if mine, err := st.ClaimFiring(ctx, recent); err != nil || mine {
		t.Errorf("the record of a recent firing was deleted (%v, %v)", mine, err)
	}
}

// TestConfigsVersion checks the summary replicas poll: it changes when a
// config is stored or deleted, also when one is deleted and stored again
// (its version starts at 1 anew), and not otherwise.
func TestConfigsVersion(t *testing.T) {
	ts := newTestServer(t, Options{})
	ctx := context.Background()
	version := func() string {
		t.Helper()
		v, err := ts.ConfigsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	put := func(name string) {
		t.Helper()
		if code, body := ts.call(t, "PUT", "/api/v1/configs/"+name, "", liveHealthy, nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", name, code, body)
		}
	}
	empty := version()
	put("healthy")
	one := version()
	if one == empty || version() != one {
		t.Fatalf("after a PUT: %s (before %s), then %s; want a change, then none", one, empty, version())
	}
	put("healthy")
	two := version()
	if two == one {
		t.Error("storing a config again did not change the version summary")
	}
	if code, _ := ts.call(t, "DELETE", "/api/v1/configs/healthy", "", nil, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if v := version(); v != empty {
		t.Errorf("with no configs again: %s; want the empty store's %s", v, empty)
	}
	put("healthy") // version 1 again
	if v := version(); v == one || v == two || v == empty {
		t.Errorf("a config deleted and stored again left the summary at an earlier value %s", v)
	}
}
