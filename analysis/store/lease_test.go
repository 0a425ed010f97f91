package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The shared suite's cases of owners and leases (registered in suiteCases):
// they run on SQLite and PostgreSQL alike.

// claimed describes a claim's answer as "id<from" items, oldest first.
func claimed(list []Analysis) string {
	var out []string
	for _, a := range list {
		out = append(out, a.ID+"<"+a.ClaimedFrom)
	}
	return strings.Join(out, ",")
}

// testLeases walks the ownership rules through one database: who a claim
// takes (expired leases, one's own at start, never a live replica's nor an
// ended analysis), renewals, fenced writes of a replaced owner, and a
// cancellation through another replica that the owner learns of.
func testLeases(t *testing.T, db database) {
	ctx := context.Background()
	a, b := db.open(t), db.open(t) // two replicas
	now := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []Store{a, b} {
		setClock(t, s, func() time.Time { return now })
	}
	mk := func(id, owner string, lease time.Time) {
		t.Helper()
		an := &Analysis{ID: id, Config: []byte("name: " + id), Request: []byte(`{"id":"` + id + `"}`), Owner: owner, LeaseUntil: lease}
		if err := a.CreateAnalysis(ctx, an); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	mk("held", "A", now.Add(time.Minute))      // A is alive
	mk("dead", "B", now.Add(-time.Second))     // B died: its lease ended
	mk("none", "", time.Time{})                // from before owners
	mk("mine", "C", now.Add(-time.Hour))       // C's own, expired
	mk("ended", "D", now.Add(-time.Hour))      // finished: never claimed
	mk("c-live", "C", now.Add(10*time.Minute)) // C's own, lease still running
	if err := a.FinishAnalysis(ctx, "ended", Outcome{Status: Finished, Verdict: "pass"}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.GetAnalysis(ctx, "held"); err != nil || got.Owner != "A" || !got.LeaseUntil.Equal(time.Date(2025, 7, 1, 12, 1, 0, 0, time.UTC)) {
		t.Fatalf("created analysis reads owner %q lease %v, %v", got.Owner, got.LeaseUntil, err)
	}
	if got, _ := b.GetAnalysis(ctx, "none"); got.Owner != "" || !got.LeaseUntil.IsZero() {
		t.Errorf("an analysis without owner reads owner %q lease %v; want none and the zero time", got.Owner, got.LeaseUntil)
	}
	// The listing carries owners too.
	if list, _ := b.ListAnalyses(ctx, Filter{}); len(list) != 6 || list[len(list)-1].ID != "held" || list[len(list)-1].Owner != "A" {
		t.Errorf("ListAnalyses: %+v", list)
	}

	// A running server (C) reaps: only expired leases, its own expired one included.
	until := now.Add(30 * time.Second)
	got, err := b.ClaimExpired(ctx, "C", now, until, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "dead<B,none<,mine<C"; claimed(got) != want {
		t.Errorf("ClaimExpired by C: %s, want %s", claimed(got), want)
	}
	for _, g := range got {
		if g.Owner != "C" || !g.LeaseUntil.Equal(until) || string(g.Config) != "name: "+g.ID || string(g.Request) != `{"id":"`+g.ID+`"}` {
			t.Errorf("claimed %s: owner %q lease %v config %q request %q", g.ID, g.Owner, g.LeaseUntil, g.Config, g.Request)
		}
		if r, _ := a.GetAnalysis(ctx, g.ID); r.Owner != "C" || !r.LeaseUntil.Equal(until) {
			t.Errorf("%s reads owner %q lease %v after the claim", g.ID, r.Owner, r.LeaseUntil)
		}
	}
	if got, _ := a.ClaimExpired(ctx, "E", now, until, 0); len(got) != 0 {
		t.Errorf("a second reaper took %s: the leases were just renewed", claimed(got))
	}
	// C restarts with the same identity: it takes back all its own at once.
	got, err = a.ClaimUnfinished(ctx, "C", now, until.Add(time.Second), 0)
	if want := "dead<C,none<C,mine<C,c-live<C"; err != nil || claimed(got) != want {
		t.Errorf("ClaimUnfinished by C: %s, %v; want %s", claimed(got), err, want)
	}
	// A new replica E finds nothing to take: A and C hold everything live.
	if got, err := b.ClaimUnfinished(ctx, "E", now, until, 0); err != nil || len(got) != 0 {
		t.Errorf("ClaimUnfinished by E: %s, %v; want nothing", claimed(got), err)
	}

	// Renewals touch only the named analyses that are the owner's and
	// live: not A's "held", not the ended one, not one that does not exist.
	renewed, err := a.RenewLeases(ctx, "C", []string{"none", "dead", "held", "ended", "c-live", "mine", "zz"}, now.Add(time.Hour))
	if want := "c-live,dead,mine,none"; err != nil || strings.Join(renewed, ",") != want {
		t.Errorf("RenewLeases(C): %v, %v; want %s", renewed, err, want)
	}
	if r, _ := b.GetAnalysis(ctx, "held"); !r.LeaseUntil.Equal(time.Date(2025, 7, 1, 12, 1, 0, 0, time.UTC)) {
		t.Errorf("C's renewal moved A's lease to %v", r.LeaseUntil)
	}
	if r, _ := b.GetAnalysis(ctx, "dead"); !r.LeaseUntil.Equal(now.Add(time.Hour)) {
		t.Errorf("renewed lease reads %v, want %v", r.LeaseUntil, now.Add(time.Hour))
	}

	// Fenced writes: B, the former owner of "dead", cannot write to it any more.
	steps := []struct {
		name string
		do   func() error
		want error
		part string
	}{
		{"the former owner's progress", func() error { return b.UpdateOwnedAnalysis(ctx, "dead", "B", Running, Progress{1, 2}, []byte("[1]")) }, ErrConflict, `held by "C"`},
		{"the former owner's verdict", func() error {
			return b.FinishOwnedAnalysis(ctx, "dead", "B", Outcome{Status: Finished, Verdict: "pass"})
		}, ErrConflict, `held by "C"`},
		{"the owner's progress", func() error { return a.UpdateOwnedAnalysis(ctx, "dead", "C", Running, Progress{1, 2}, []byte("[2]")) }, nil, ""},
		{"the owner interrupts none", func() error {
			return a.FinishOwnedAnalysis(ctx, "none", "C", Outcome{Status: Interrupted, Error: "too old"})
		}, nil, ""},
		{"the owner cannot finish twice", func() error {
			return a.FinishOwnedAnalysis(ctx, "none", "C", Outcome{Status: Finished, Verdict: "pass"})
		}, ErrConflict, "already interrupted"},
		{"another replica cancels mine", func() error { return b.CancelAnalysis(ctx, "mine", "by request on B") }, nil, ""},
		{"the owner's progress after the cancel", func() error { return a.UpdateOwnedAnalysis(ctx, "mine", "C", Running, Progress{}, nil) }, ErrConflict, "already cancelled"},
		{"an owned write without owner", func() error { return a.UpdateOwnedAnalysis(ctx, "dead", "", Running, Progress{}, nil) }, errAny, ""},
		{"an owned finish without owner", func() error { return a.FinishOwnedAnalysis(ctx, "dead", "", Outcome{Status: Failed}) }, errAny, ""},
		{"an owned write to nothing", func() error { return a.UpdateOwnedAnalysis(ctx, "zz", "C", Running, Progress{}, nil) }, ErrNotFound, ""},
		{"renew without owner", func() error { _, err := a.RenewLeases(ctx, "", []string{"dead"}, now); return err }, errAny, ""},
		{"claim without owner", func() error { _, err := a.ClaimUnfinished(ctx, "", now, now, 0); return err }, errAny, ""},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.want == nil && err != nil:
			t.Errorf("%s: %v", st.name, err)
		case st.want == errAny && (err == nil || errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound)):
			t.Errorf("%s: error %v, want a usage error", st.name, err)
		case st.want != nil && st.want != errAny && (!errors.Is(err, st.want) || !strings.Contains(err.Error(), st.part)):
			t.Errorf("%s: error %v, want %v saying %q", st.name, err, st.want, st.part)
		}
	}
	if r, _ := a.GetAnalysis(ctx, "dead"); string(r.Intervals) != "[2]" || r.Status != Running {
		t.Errorf("dead after the fenced writes: %s %s; want running with the owner's [2]", r.Status, r.Intervals)
	}
	// The owner learns of the cancel at its next renewal: "mine" is gone.
	renewed, err = a.RenewLeases(ctx, "C", []string{"c-live", "dead", "mine"}, now.Add(time.Hour))
	if want := "c-live,dead"; err != nil || strings.Join(renewed, ",") != want {
		t.Errorf("RenewLeases(C) after the cancel: %v, %v; want %s", renewed, err, want)
	}
	// An analysis the owner leaves out keeps its lease, which then lapses:
	// c-live is renewed no further.
	if renewed, err := a.RenewLeases(ctx, "C", []string{"dead"}, now.Add(2*time.Hour)); err != nil || strings.Join(renewed, ",") != "dead" {
		t.Errorf("RenewLeases(C, dead): %v, %v; want dead", renewed, err)
	}
	if r, _ := b.GetAnalysis(ctx, "c-live"); !r.LeaseUntil.Equal(now.Add(time.Hour)) {
		t.Errorf("c-live, left out of the renewal, has its lease moved to %v; want %v", r.LeaseUntil, now.Add(time.Hour))
	}
	if renewed, err := a.RenewLeases(ctx, "C", nil, now.Add(2*time.Hour)); err != nil || len(renewed) != 0 {
		t.Errorf("RenewLeases(C, no ids): %v, %v; want nothing", renewed, err)
	}

	// A dies: once its lease ends, C takes "held" over, and A's renewal no
	// longer returns it.
	now = now.Add(2 * time.Minute)
	got, err = b.ClaimExpired(ctx, "C", now, now.Add(30*time.Second), 0)
	if want := "held<A"; err != nil || claimed(got) != want {
		t.Errorf("ClaimExpired by C after A's lease: %s, %v; want %s", claimed(got), err, want)
	}
	if renewed, err := a.RenewLeases(ctx, "A", []string{"held"}, now.Add(time.Hour)); err != nil || len(renewed) != 0 {
		t.Errorf("A renews %v, %v after the takeover; want nothing", renewed, err)
	}
	// Unfinished still lists every live analysis, whoever owns it.
	if un, err := a.Unfinished(ctx); err != nil || ids(un) != "held,dead,c-live" {
		t.Errorf("Unfinished: %s, %v; want held,dead,c-live", ids(un), err)
	}
}

// testBoundedClaims walks bounded claims through one database: a limit
// bounds the analyses taken from other owners, the oldest first (creation
// time, then id), never the claimer's own; limit 0 takes all, and a
// negative limit is refused without taking anything.
func testBoundedClaims(t *testing.T, db database) {
	ctx := context.Background()
	a, b := db.open(t), db.open(t) // two replicas
	base := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	now := base
	for _, s := range []Store{a, b} {
		setClock(t, s, func() time.Time { return now })
	}
	expired, alive := base.Add(-time.Hour), base.Add(time.Hour)
	mk := func(id, owner string, lease time.Time, next time.Duration) {
		t.Helper()
		an := &Analysis{ID: id, Config: []byte("x"), Owner: owner, LeaseUntil: lease}
		if err := a.CreateAnalysis(ctx, an); err != nil {
			t.Fatal(err)
		}
		now = now.Add(next)
	}
	mk("o1", "B", expired, time.Second) // a dead replica's, oldest first
	mk("o2", "", expired, time.Second)  // from before owners
	mk("mine", "C", expired, time.Second)
	mk("held", "A", alive, time.Second) // a live replica's: never taken
	mk("o3", "B", expired, time.Second)
	mk("c-live", "C", alive, time.Second)
	mk("o4", "B", expired, time.Second)
	mk("ended", "B", expired, time.Second)
	mk("o5b", "B", expired, 0) // o5b and o5a tie on creation time: o5a first
	mk("o5a", "B", expired, time.Second)
	if err := a.FinishAnalysis(ctx, "ended", Outcome{Status: Finished, Verdict: "pass"}); err != nil {
		t.Fatal(err)
	}
	now = base // the claims happen between the expired and the live leases
	until := base.Add(30 * time.Second)

	steps := []struct {
		name  string
		s     Store
		start bool // ClaimUnfinished; else ClaimExpired
		owner string
		limit int
		want  string // claimed(...); "error" for a refused claim
	}{
		{"a reaper takes its own expired one and the two oldest others", a, false, "C", 2, "o1<B,o2<,mine<C"},
		{"another reaper takes the next oldest", b, false, "E", 1, "o3<B"},
		{"a negative limit is refused", b, false, "E", -1, "error"},
		{"a negative limit is refused at start too", a, true, "C", -1, "error"},
		{"a restart takes all its own and one more", a, true, "C", 1, "o1<C,o2<C,mine<C,c-live<C,o4<B"},
		{"a tie on creation time goes by id", b, false, "F", 1, "o5a<B"},
		{"a limit beyond what is left takes the rest", b, false, "G", 5, "o5b<B"},
		{"nothing is left to take", a, true, "H", 0, ""},
	}
	for _, st := range steps {
		claim := st.s.ClaimExpired
		if st.start {
			claim = st.s.ClaimUnfinished
		}
		got, err := claim(ctx, st.owner, now, until, st.limit)
		if st.want == "error" {
			if err == nil || errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %s, %v; want a usage error", st.name, claimed(got), err)
			}
			continue
		}
		if err != nil || claimed(got) != st.want {
			t.Errorf("%s: %s by %s (limit %d): %s, %v; want %s", st.name, map[bool]string{true: "ClaimUnfinished", false: "ClaimExpired"}[st.start], st.owner, st.limit, claimed(got), err, st.want)
		}
	}
	// The store records each claim: every live analysis has the owner that
	// claimed it, and the live replica's and the ended one are untouched.
	want := map[string]string{"o1": "C", "o2": "C", "mine": "C", "held": "A", "o3": "E", "c-live": "C", "o4": "C", "ended": "B", "o5a": "F", "o5b": "G"}
	for id, owner := range want {
		r, err := b.GetAnalysis(ctx, id)
		if err != nil || r.Owner != owner {
			t.Errorf("%s is stored with owner %q (%v), want %q", id, r.Owner, err, owner)
		}
		if id != "held" && id != "ended" && (err != nil || !r.LeaseUntil.Equal(until)) {
			t.Errorf("%s is stored with lease %v, want %v", id, r.LeaseUntil, until)
		}
	}
}

// testConcurrentClaims has several replicas (separate stores on one
// database), two goroutines each, claim expired analyses while a writer
// keeps adding them, some claims bounded: every analysis is claimed exactly
// once, by the owner the store records, and no bounded claim takes more
// than its limit. The bounded claimers keep claiming after the writer is
// done until a claim comes back short, so every analysis is taken.
func testConcurrentClaims(t *testing.T, db database) {
	ctx := context.Background()
	const replicas, perReplica, analyses = 4, 2, 60
	stores := make([]Store, replicas)
	for i := range stores {
		stores[i] = db.open(t)
	}
	type claim struct {
		owner string
		ids   []string
		err   error
	}
	results := make([]claim, replicas*perReplica)
	start, created := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(created)
		<-start
		past := time.Now().Add(-time.Minute)
		for i := range analyses {
			owner := ""
			if i%2 == 0 {
				owner = "dead-replica"
			}
			if err := stores[i%replicas].CreateAnalysis(ctx, &Analysis{ID: fmt.Sprintf("a%03d", i), Config: []byte("x"), Owner: owner, LeaseUntil: past}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range results {
		wg.Go(func() {
			r := &results[i]
			r.owner = fmt.Sprintf("r%d-%d", i/perReplica, i%perReplica)
			s := stores[i/perReplica]
			<-start
			// Claim until the writer is done, then once more, alternating the
			// two calls; a third of the claimers take all they may, the
			// others at most one or two of others' analyses at a time.
			limit := i % 3
			for k, last := 0, false; ; k++ {
				select {
				case <-created:
					last = true
				default:
				}
				now := time.Now()
				claim := s.ClaimExpired
				if k%2 == 0 {
					claim = s.ClaimUnfinished
				}
				got, err := claim(ctx, r.owner, now, now.Add(time.Hour), limit)
				if err != nil {
					r.err = err
					return
				}
				taken := 0
				for _, a := range got {
					if a.ClaimedFrom != r.owner {
						taken++
					}
					if a.Owner != r.owner || (a.ClaimedFrom != "" && a.ClaimedFrom != "dead-replica" && a.ClaimedFrom != r.owner) {
						t.Errorf("%s claimed %s: owner %q from %q", r.owner, a.ID, a.Owner, a.ClaimedFrom)
					}
					if a.ClaimedFrom != r.owner { // a reclaim of one's own is not a second claim
						r.ids = append(r.ids, a.ID)
					}
				}
				if limit > 0 && taken > limit {
					t.Errorf("%s took %d analyses of others with limit %d", r.owner, taken, limit)
				}
				if last && (limit == 0 || taken < limit) {
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	by := map[string][]string{}
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.owner, r.err)
		}
		for _, id := range r.ids {
			by[id] = append(by[id], r.owner)
		}
	}
	claimers := map[string]bool{}
	for i := range analyses {
		id := fmt.Sprintf("a%03d", i)
		owners := by[id]
		if len(owners) != 1 {
			t.Errorf("%s was claimed by %v; want exactly one replica", id, owners)
			continue
		}
		claimers[owners[0]] = true
		if a, err := stores[1].GetAnalysis(ctx, id); err != nil || a.Owner != owners[0] {
			t.Errorf("%s is stored with owner %q (%v), claimed by %s", id, a.Owner, err, owners[0])
		}
	}
	var names []string
	for n := range claimers {
		names = append(names, n)
	}
	slices.Sort(names)
	t.Logf("claimed by %d claimers: %v", len(names), names)
}

// BenchmarkLeases measures the steady-state cost of ownership on a store
// holding 5,000 finished analyses and 100 live ones of this replica: one
// lease renewal (every lease/3) and one reaper round that finds nothing
// (every lease/2).
func BenchmarkLeases(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		now := time.Now()
		for i := range 5100 {
			a := &Analysis{ID: fmt.Sprintf("a%05d", i), Config: []byte("x"), Owner: "me", LeaseUntil: now.Add(time.Hour)}
			if err := s.CreateAnalysis(ctx, a); err != nil {
				b.Fatal(err)
			}
			if i >= 100 {
				if err := s.FinishAnalysis(ctx, a.ID, Outcome{Status: Finished, Verdict: "pass"}); err != nil {
					b.Fatal(err)
				}
			}
		}
		live := make([]string, 100)
		for i := range live {
			live[i] = fmt.Sprintf("a%05d", i)
		}
		b.Run("renew 100", func(b *testing.B) {
			for b.Loop() {
				ids, err := s.RenewLeases(ctx, "me", live, time.Now().Add(time.Hour))
				if err != nil || len(ids) != 100 {
					b.Fatalf("renewed %d, %v", len(ids), err)
				}
			}
		})
		b.Run("reap nothing", func(b *testing.B) {
			for b.Loop() {
				got, err := s.ClaimExpired(ctx, "other", time.Now(), time.Now().Add(time.Hour), 0)
				if err != nil || len(got) != 0 {
					b.Fatalf("claimed %d, %v", len(got), err)
				}
			}
		})
	})
}

// BenchmarkBoundedClaim measures a reaper round over a dead replica's
// backlog of 1,000 live analyses (expired leases) among 5,000 finished
// ones: a claim bounded to 4 (a server's free workers) and an unbounded
// one. Each claim leaves the leases expired, and two claimers alternate,
// so every round takes the same rows again from the other.
func BenchmarkBoundedClaim(b *testing.B) {
	benchStores(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		past := time.Now().Add(-time.Hour)
		for i := range 6000 {
			a := &Analysis{ID: fmt.Sprintf("a%05d", i), Config: []byte("x"), Request: []byte(`{}`), Owner: "dead", LeaseUntil: past}
			if err := s.CreateAnalysis(ctx, a); err != nil {
				b.Fatal(err)
			}
			if i%6 != 0 {
				if err := s.FinishAnalysis(ctx, a.ID, Outcome{Status: Finished, Verdict: "pass"}); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, bc := range []struct {
			name        string
			limit, want int
		}{{"claim 4 of 1000", 4, 4}, {"claim all 1000", 0, 1000}} {
			b.Run(bc.name, func(b *testing.B) {
				owners := [2]string{"x", "y"}
				for i := 0; b.Loop(); i++ {
					got, err := s.ClaimExpired(ctx, owners[i%2], time.Now(), past, bc.limit)
					if err != nil || len(got) != bc.want {
						b.Fatalf("claimed %d, %v; want %d", len(got), err, bc.want)
					}
				}
			})
		}
	})
}
