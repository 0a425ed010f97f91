package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/verdict-aca/verdict/analysis/store"
)

// Resume claims the analyses this runner should run at start (see the
// store's ownership rules): its own, left by its previous process, and
// those of servers whose leases expired, never those another live replica
// holds. Of the latter it takes only what it can start soon (claimLimit),
// the oldest first, leaving the rest to the other replicas. Each is run
// again when its config still parses, its origin waits for it in the
// background and its window started within ResumeWithin; the others are
// marked interrupted with the reason. It returns how many of each. From
// then on, every Lease/2 while Run runs, the reaper takes over, the same
// way and within the same bound, the analyses of replicas that die.
func (r *Runner) Resume(ctx context.Context) (resumed, interrupted int, err error) {
	resumed, interrupted, err = r.claimAndTake(ctx, true)
	r.resumeOnce.Do(func() { close(r.resumed) })
	return resumed, interrupted, err
}

// claimLimit is how many analyses of other owners a claim may take: the
// workers this runner has free (Workers minus the background analyses
// running or waiting here), at least one, so that an idle replica takes its
// share of a dead replica's work at each reaper round, a busy one leaves
// the rest to the others, and work is still taken when every replica is
// busy.
func (r *Runner) claimLimit() int {
	return max(r.opt.Workers-r.backgroundCount(), 1)
}

// claimAndTake claims (ClaimUnfinished at start, with all of this runner's
// own; else ClaimExpired) at most claimLimit analyses of other owners and
// takes them (take). Those it interrupts (too old, a synchronous caller
// gone) use no worker, so while a claim comes back full and part of the
// bound is still unused it claims again, for what is left: a dead
// replica's backlog of unresumable analyses is closed at once, and no more
// than the bound is started.
func (r *Runner) claimAndTake(ctx context.Context, start bool) (resumed, interrupted int, err error) {
	budget := r.claimLimit()
	for {
		limit := budget
		now := time.Now()
		claim := r.opt.Store.ClaimExpired
		if start {
			claim = r.opt.Store.ClaimUnfinished
			start = false // a later round's own analyses are this runner's already
		}
		list, err := claim(ctx, r.opt.InstanceID, now, now.Add(r.opt.Lease), limit)
		if err != nil {
			return resumed, interrupted, err
		}
		res, intr, err := r.take(ctx, list)
		resumed, interrupted = resumed+res, interrupted+intr
		if err != nil {
			return resumed, interrupted, err
		}
		others := 0
		for _, a := range list {
			if a.ClaimedFrom != r.opt.InstanceID {
				others++
			}
		}
		budget -= res
		if others < limit || budget <= 0 { // none left to claim, or no worker free
			return resumed, interrupted, nil
		}
	}
}

// local reports whether the analysis id is queued, running or executing
// here.
func (r *Runner) local(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, bg := r.running[id]
	_, ex := r.executing[id]
	return bg || ex
}

// take resumes or interrupts claimed analyses; it skips those that run
// here already (a reaper's claim of a lease this runner let lapse).
func (r *Runner) take(ctx context.Context, list []store.Analysis) (resumed, interrupted int, err error) {
	now := r.opt.Now()
	for _, a := range list {
		if r.local(a.ID) {
			continue
		}
		takenOver := a.ClaimedFrom != "" && a.ClaimedFrom != r.opt.InstanceID
		if takenOver {
			r.log.Warn("taking over analysis", "id", a.ID, "from", a.ClaimedFrom)
		}
		reason := r.resumable(a, now)
		if reason == "" {
			var p Plan
			_ = json.Unmarshal(a.Request, &p)
			cfg, _ := ParseStoredConfig(storedName(a), a.Config)
			prep, perr := r.prepare(Request{Config: cfg, ConfigName: a.ConfigName, ConfigText: a.Config, Plan: p, Origin: a.Origin})
			if perr == nil {
				// What it recorded is kept (unreadable: judged anew).
				if json.Unmarshal(a.Intervals, &prep.done) != nil {
					prep.done = nil
				}
				r.log.Info("resuming analysis", "id", a.ID, "config", a.ConfigName)
				r.startBackground(a.ID, prep)
				if takenOver {
					r.takenOver("resumed")
				}
				resumed++
				continue
			}
			reason = "it cannot run any more: " + perr.Error()
		}
		r.log.Warn("analysis interrupted", "id", a.ID, "reason", reason)
		if err := r.opt.Store.FinishOwnedAnalysis(ctx, a.ID, r.opt.InstanceID, store.Outcome{Status: store.Interrupted, Error: "the server stopped while the analysis ran; " + reason}); err != nil && !errors.Is(err, store.ErrConflict) {
			return resumed, interrupted, err
		}
		if takenOver {
			r.takenOver("interrupted")
		}
		interrupted++
	}
	return resumed, interrupted, nil
}

func (r *Runner) takenOver(outcome string) {
	if r.opt.Observer != nil {
		r.opt.Observer.TakenOver(outcome)
	}
}

// storedName is the name a stored analysis' config is parsed under: the
// stored config's, or "config" for an inline one.
func storedName(a store.Analysis) string {
	if a.ConfigName != "" {
		return a.ConfigName
	}
	return "config"
}

// resumable says why an unfinished analysis cannot be resumed ("" if it can).
func (r *Runner) resumable(a store.Analysis, now time.Time) string {
	switch a.Origin {
	case "argo", "flagger":
		return "its caller waited synchronously and has gone (the controller asks again)"
	}
	var p Plan
	if err := json.Unmarshal(a.Request, &p); err != nil {
		return "its request could not be read"
	}
	if now.Sub(p.Start) > r.opt.ResumeWithin {
		return fmt.Sprintf("its window started %s ago, beyond the resume horizon of %s", now.Sub(p.Start).Round(time.Second), r.opt.ResumeWithin)
	}
	if _, err := ParseStoredConfig(storedName(a), a.Config); err != nil {
		return "its config cannot be used any more: " + err.Error()
	}
	return ""
}

// stopLocal stops a background analysis if it runs (or waits for a
// worker) here, without recording anything: the store already says how it
// ended or who holds it. A synchronous judgement (Look) is left to answer
// its caller within its deadline; its outcome write is fenced.
func (r *Runner) stopLocal(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cancel, ok := r.running[id]; ok {
		cancel(errStopped)
	}
}

// renewLoop extends, every Lease/3 until ctx ends, the leases of the
// analyses this runner is working on (running, waiting for a worker, or
// recording their outcome), and stops the background analyses the store no
// longer lists as this runner's (cancelled through another replica, or
// taken over after a lapse). An analysis this runner holds in the store
// but no longer works on (its outcome could not be recorded) is not
// renewed: its lease lapses.
func (r *Runner) renewLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.renew(ctx)
		}
	}
}

func (r *Runner) renew(ctx context.Context) {
	// The local analyses are listed before the store is asked, so one that
	// starts in between is not mistaken for one this runner lost.
	r.mu.Lock()
	local := make([]string, 0, len(r.running))
	for id := range r.running {
		local = append(local, id)
	}
	r.mu.Unlock()
	working := r.workingOn()
	if len(working) == 0 {
		return
	}
	held, err := r.opt.Store.RenewLeases(ctx, r.opt.InstanceID, working, time.Now().Add(r.opt.Lease))
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("renewing the leases of this server's analyses", "err", err)
		}
		return
	}
	for _, id := range local {
		if _, ok := slices.BinarySearch(held, id); !ok {
			r.log.Info("analysis stopped: it ended or moved elsewhere", "id", id)
			r.stopLocal(id)
		}
	}
}

// workingOn lists the analyses this runner is working on: background ones
// (running, or waiting for a worker) and every one executing here
// (synchronous ones too, and those recording their outcome).
func (r *Runner) workingOn() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.running)+len(r.executing))
	for id := range r.running {
		ids = append(ids, id)
	}
	for id := range r.executing {
		if _, bg := r.running[id]; !bg {
			ids = append(ids, id)
		}
	}
	return ids
}

// reapLoop takes over, every Lease/2 from the first Resume until ctx ends,
// the analyses whose owner's lease expired (a replica that died), at most
// claimLimit of them per round (claimAndTake).
func (r *Runner) reapLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-r.resumed:
	}
	t := time.NewTicker(r.opt.Lease / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, _, err := r.claimAndTake(ctx, false); err != nil && ctx.Err() == nil {
			r.log.Warn("taking over the analyses of replicas that stopped", "err", err)
		}
	}
}
