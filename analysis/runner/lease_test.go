package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis/store"
)

// TestCancelOnAnotherReplica cancels, through replica B, an analysis that
// runs on replica A and writes nothing for half an hour: A learns of it at
// its next lease renewal and stops it, and nothing A does afterwards
// changes the recorded cancellation.
func TestCancelOnAnotherReplica(t *testing.T) { forEachStore(t, testCancelOnAnotherReplica) }

func testCancelOnAnotherReplica(t *testing.T, kind storeKind) {
	const lease = 300 * time.Millisecond
	rs := replicas(t, kind, Options{Lease: lease}, "A", "B")
	a, b := rs[0], rs[1]
	id := startLong(t, a)
	eventually(t, 5*time.Second, "the analysis runs on A", func() bool {
		got, err := a.store.GetAnalysis(t.Context(), id)
		return err == nil && got.Status == store.Running && a.local(id)
	})
	if b.local(id) {
		t.Fatal("B runs A's analysis")
	}
	if err := b.Cancel(t.Context(), id, "cancelled by request"); err != nil {
		t.Fatalf("cancel through B: %v", err)
	}
	if got, err := b.store.GetAnalysis(t.Context(), id); err != nil || got.Status != store.Cancelled {
		t.Fatalf("after the cancel through B: %s, %v; want cancelled", got.Status, err)
	}
	took := eventually(t, 3*lease, "A stops the analysis B cancelled", func() bool { return !a.local(id) })
	t.Logf("A stopped the analysis %s after the cancel on B (lease %s, renewal every %s)", took.Round(time.Millisecond), lease, lease/3)
	time.Sleep(lease) // a late write by A would show now
	got, err := a.store.GetAnalysis(t.Context(), id)
	if err != nil || got.Status != store.Cancelled || got.Error != "cancelled by request" || got.Owner != "A" {
		t.Errorf("after A stopped: %s %q owner %q, %v; want cancelled by request, still A's", got.Status, got.Error, got.Owner, err)
	}
}

// TestTakeOverOnClose closes replica A (a graceful stop) while its
// analysis waits: A hands its lease over, and B's reaper takes the analysis
// over and resumes it, counting the takeover in its metrics; A's restart
// with the same id finds nothing to resume, B keeping what it took.
func TestTakeOverOnClose(t *testing.T) { forEachStore(t, testTakeOverOnClose) }

func testTakeOverOnClose(t *testing.T, kind storeKind) {
	// A lease long enough that A's renewals (every half lease) keep it on
	// a loaded machine; B's takeover after A closes is waited for with a
	// hang guard, not timed.
	const lease = time.Second
	rs := replicas(t, kind, Options{Lease: lease}, "A", "B")
	a, b := rs[0], rs[1]
	id := startLong(t, a)
	eventually(t, 5*time.Second, "the analysis runs on A", func() bool { return a.local(id) })
	// B leaves it alone while A renews: several reaper rounds.
	time.Sleep(3 * lease)
	if b.local(id) {
		t.Fatal("B took the analysis of a live replica")
	}
	if got, _ := a.store.GetAnalysis(t.Context(), id); got.Owner != "A" || !got.LeaseUntil.After(time.Now()) {
		t.Fatalf("A's analysis: owner %q lease %v; want A's, renewed into the future", got.Owner, got.LeaseUntil)
	}
	a.stop()
	took := eventually(t, 30*time.Second, "B takes the analysis over", func() bool { return b.local(id) })
	t.Logf("B took over %s after A closed (lease %s, reaper every %s)", took.Round(time.Millisecond), lease, lease/2)
	got, err := b.store.GetAnalysis(t.Context(), id)
	if err != nil || got.Owner != "B" || got.Status.Terminal() {
		t.Errorf("after the takeover: owner %q status %s, %v; want B's, live", got.Owner, got.Status, err)
	}
	if n := b.counted.takenOver("resumed"); n != 1 {
		t.Errorf("B counted %v takeovers, want 1", n)
	}

	// A restarts with the same identity: B holds the analysis, A takes nothing.
	again := startReplica(t, Options{Store: a.store, Sources: a.opt.Sources, InstanceID: "A", Lease: lease})
	if resumed, interrupted, err := again.Resume(t.Context()); err != nil || resumed+interrupted != 0 {
		t.Errorf("A's restart resumed %d, interrupted %d, %v; want nothing (B holds it)", resumed, interrupted, err)
	}
}

func TestLeaseOption(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "verdict.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		lease, want time.Duration
		id          string
		ok          bool
	}{
		{0, 30 * time.Second, "", true},
		{-time.Second, 30 * time.Second, "x", true},
		{2 * time.Second, 2 * time.Second, "x", true},
		{time.Nanosecond, 0, "x", false}, // would tick every 0 ns
		{9 * time.Millisecond, 0, "x", false},
	} {
		r, err := New(Options{Store: st, Lease: tc.lease, InstanceID: tc.id, Logger: quiet})
		if !tc.ok {
			if err == nil {
				t.Errorf("lease %s: accepted", tc.lease)
			}
			continue
		}
		if err != nil {
			t.Errorf("lease %s: %v", tc.lease, err)
			continue
		}
		if r.opt.Lease != tc.want || r.InstanceID() == "" || (tc.id != "" && r.InstanceID() != tc.id) {
			t.Errorf("lease %s id %q: lease %s, id %q", tc.lease, tc.id, r.opt.Lease, r.InstanceID())
		}
	}
	// Two runners without an id get different ones.
	x, _ := New(Options{Store: st, Logger: quiet})
	y, _ := New(Options{Store: st, Logger: quiet})
	if x.InstanceID() == y.InstanceID() {
		t.Errorf("two runners share the default id %q", x.InstanceID())
	}
}

// TestReplicasResumeTogether starts three replicas of two workers each at
// once on a database holding six live analyses of a server that died (its
// lease expired): their Resume calls race, each takes no more than its two
// free workers can start, so the six are spread two by two whatever the
// order, and each analysis is claimed, run and recorded by exactly one of
// them, as a takeover.
func TestReplicasResumeTogether(t *testing.T) { forEachStore(t, testReplicasResumeTogether) }

func testReplicasResumeTogether(t *testing.T, kind storeKind) {
	const n, workers = 6, 2
	names := []string{"A", "B", "C"}
	stores := openStores(t, kind, len(names))
	ctx := t.Context()
	plan, err := json.Marshal(Plan{Scopes: sampleScopes(), Start: dataStart, End: dataStart.Add(40 * time.Minute), Step: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		a := &store.Analysis{ID: store.NewID(), ConfigName: "regress", Config: []byte(liveRegress), Request: plan, Origin: "api",
			Status: store.Running, Owner: "dead", LeaseUntil: time.Now().Add(-time.Minute)}
		if err := stores[0].CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	prom := startPrometheus(t)
	now := dataStart.Add(50 * time.Minute) // the windows are within the resume horizon
	servers := make([]*replica, len(names))
	for i, name := range names {
		servers[i] = startReplica(t, Options{Store: stores[i], Sources: promSources(t, prom), InstanceID: name, Lease: 2 * time.Second,
			Workers: workers, Now: func() time.Time { return now }})
	}
	resumed := make([]int, len(servers))
	errs := make([]error, len(servers))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() {
			<-start
			var interrupted int
			resumed[i], interrupted, errs[i] = srv.Resume(ctx)
			if interrupted != 0 && errs[i] == nil {
				errs[i] = fmt.Errorf("%d interrupted, want 0", interrupted)
			}
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range servers {
		if errs[i] != nil {
			t.Errorf("%s: Resume: %v", names[i], errs[i])
		}
		total += resumed[i]
	}
	if total != n {
		t.Fatalf("the replicas resumed %v analyses, %d in all; want %d in all", resumed, total, n)
	}
	t.Logf("resumed %v", resumed)
	for i, r := range resumed {
		if r != workers { // at most workers each, and six in all
			t.Errorf("%s resumed %d of the dead replica's %d analyses, want its share of %d (resumed %v)", names[i], r, n, workers, resumed)
		}
	}
	owners := map[string]int{}
	for _, id := range ids {
		var got store.Analysis
		eventually(t, 20*time.Second, "analysis "+id+" ends", func() bool {
			got, err = stores[0].GetAnalysis(ctx, id)
			return err == nil && got.Status.Terminal()
		})
		if got.Status != store.Finished || got.Verdict != "fail" {
			t.Errorf("%s: %s %q (%s)", id, got.Status, got.Verdict, got.Error)
		}
		owners[got.Owner]++
	}
	// Each ran once, on the replica that recorded it.
	var judged, takenOver int
	for i, srv := range servers {
		ran := srv.counted.verdict("fail/api")
		if ran != owners[names[i]] || ran != resumed[i] {
			t.Errorf("%s resumed %d, ran %v, is recorded as the owner of %d", names[i], resumed[i], ran, owners[names[i]])
		}
		judged += ran
		takenOver += srv.counted.takenOver("resumed")
	}
	if judged != n || takenOver != n {
		t.Errorf("%v judgements and %v takeovers, want %d of each", judged, takenOver, n)
	}
}

// orphans stores n live analyses of a replica named "dead" whose lease ends
// at lease, each a one-hour run whose first interval ends in 30 minutes (it
// waits, with no progress write, the whole test), or, for origin argo, one
// whose synchronous caller has gone (a claim interrupts it). The analyses
// are created oldest first, in the order of the answer.
func orphans(t *testing.T, st store.Store, n int, origin string, lease time.Time) []string {
	t.Helper()
	plan, err := json.Marshal(Plan{Scopes: sampleScopes(), Start: time.Now(), End: time.Now().Add(time.Hour),
		Step: 15 * time.Second, Lifetime: time.Hour, Interval: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		a := &store.Analysis{ID: store.NewID(), ConfigName: "regress", Config: []byte(liveRegress), Request: plan, Origin: origin,
			Status: store.Running, Owner: "dead", LeaseUntil: lease}
		if err := st.CreateAnalysis(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	return ids
}

// holders says, for each id, which replicas run it, and how many each runs.
func holders(rs []*replica, names []string, ids []string) (by map[string][]string, count map[string]int) {
	by, count = map[string][]string{}, map[string]int{}
	for _, id := range ids {
		for i, r := range rs {
			if r.local(id) {
				by[id] = append(by[id], names[i])
				count[names[i]]++
			}
		}
	}
	return by, count
}

// TestReplicasShareADeadReplicasWork has three idle replicas of two workers
// each running when a fourth dies holding six long analyses: their leases
// end together, and at their next reaper rounds the survivors share them,
// each taking at most its free workers (at least one), so that every
// survivor runs some. Each analysis runs on exactly one replica, the owner
// the store records, and nothing moves between the live replicas later.
func TestReplicasShareADeadReplicasWork(t *testing.T) {
	forEachStore(t, testReplicasShareADeadReplicasWork)
}

func testReplicasShareADeadReplicasWork(t *testing.T, kind storeKind) {
	// A lease long enough that a loaded machine (the race detector, other
	// builds) renews in time and the three reapers' first looks fall well
	// within one period of each other: what the test shows is the sharing,
	// not how fast it happens.
	const n, lease = 6, 4 * time.Second
	names := []string{"A", "B", "C"}
	rs := replicas(t, kind, Options{Lease: lease, Workers: 2}, names...)
	// The leases end together once all six are stored: the three reapers
	// each look once within the next Lease/2, and a replica's second look
	// comes a whole Lease/2 after its first.
	end := time.Now().Add(lease / 2)
	ids := orphans(t, rs[0].store, n, "api", end)
	var by map[string][]string
	var count map[string]int
	eventually(t, time.Minute, "the survivors take the six analyses", func() bool {
		by, count = holders(rs, names, ids)
		return len(by) == n
	})
	t.Logf("the survivors took the dead replica's analyses %s after its leases ended (reaper every %s): %v",
		time.Since(end).Round(10*time.Millisecond), lease/2, count)
	check := func(when string) {
		t.Helper()
		for _, id := range ids {
			got, err := rs[1].store.GetAnalysis(t.Context(), id)
			if len(by[id]) != 1 || err != nil || got.Owner != by[id][0] || got.Status.Terminal() {
				t.Errorf("%s: %s runs on %v, stored owner %q status %s (%v); want one replica, the owner, live", when, id, by[id], got.Owner, got.Status, err)
			}
		}
		for _, name := range names {
			if count[name] == 0 {
				t.Errorf("%s: %s runs none of the dead replica's analyses (%v); want each survivor to take a share", when, name, count)
			}
		}
	}
	check("after the takeover")
	// Several renewals and reaper rounds later, nothing has moved.
	before := count
	time.Sleep(2 * lease)
	by, count = holders(rs, names, ids)
	check("later")
	for _, name := range names {
		if count[name] != before[name] {
			t.Errorf("the analyses moved between live replicas: %v, then %v", before, count)
			break
		}
	}
	for _, r := range rs {
		if n := r.counted.takenOver("resumed"); n != before[r.InstanceID()] {
			t.Errorf("%s counted %v takeovers, runs %d", r.InstanceID(), n, before[r.InstanceID()])
		}
	}
}

// TestClaimSkipsPastInterrupted has one replica of two workers start on a
// database holding a dead replica's five analyses that cannot resume (their
// synchronous caller has gone), then three that can, the oldest first: the
// interrupted ones use no worker, so it claims again until its two workers
// have work, closing all five and resuming two; the third is left for
// another replica.
func TestClaimSkipsPastInterrupted(t *testing.T) { forEachStore(t, testClaimSkipsPastInterrupted) }

func testClaimSkipsPastInterrupted(t *testing.T, kind storeKind) {
	st := openStores(t, kind, 1)[0]
	expired := time.Now().Add(-time.Minute)
	gone := orphans(t, st, 5, "argo", expired)
	long := orphans(t, st, 3, "api", expired)
	a := startReplica(t, Options{Store: st, Sources: promSources(t, unreachable), InstanceID: "A", Workers: 2, Lease: time.Minute})
	resumed, interrupted, err := a.Resume(t.Context())
	if err != nil || resumed != 2 || interrupted != 5 {
		t.Fatalf("Resume: %d resumed, %d interrupted, %v; want 2 and 5", resumed, interrupted, err)
	}
	for _, id := range gone {
		if got, err := st.GetAnalysis(t.Context(), id); err != nil || got.Status != store.Interrupted || got.Owner != "A" {
			t.Errorf("%s: %s owner %q, %v; want interrupted by A", id, got.Status, got.Owner, err)
		}
	}
	for i, id := range long {
		want := "A"
		if i == 2 {
			want = "dead" // beyond A's two workers: left to the others
		}
		got, err := st.GetAnalysis(t.Context(), id)
		if err != nil || got.Owner != want || got.Status.Terminal() || a.local(id) != (want == "A") {
			t.Errorf("long analysis %d: owner %q status %s, runs on A: %v, %v; want %s's, live", i, got.Owner, got.Status, a.local(id), err, want)
		}
	}
}

// TestClaimLimit: a server claims what its free workers can start, at
// least one.
func TestClaimLimit(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "verdict.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct{ workers, running, want int }{
		{4, 0, 4},
		{4, 1, 3},
		{4, 3, 1},
		{4, 4, 1},  // busy: still one, so work is taken when every replica is busy
		{4, 40, 1}, // queued beyond the workers
		{1, 0, 1},
		{0, 0, 4}, // the default workers
		{0, 2, 2},
	} {
		r, err := New(Options{Store: st, Workers: tc.workers, InstanceID: "x", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.running {
			r.running[fmt.Sprint(i)] = func(error) {}
		}
		if got := r.claimLimit(); got != tc.want {
			t.Errorf("workers %d, %d running: limit %d, want %d", tc.workers, tc.running, got, tc.want)
		}
	}
}
