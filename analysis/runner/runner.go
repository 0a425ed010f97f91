package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// Observer is told of what the runner does, for metrics.
type Observer interface {
	// ObserveAnalysis is told of every analysis that ends with a report
	// (rep) or without one (rep nil: it failed), and how long it ran.
	ObserveAnalysis(origin, config string, rep *analysis.Report, d time.Duration)
	// TakenOver is told of every analysis taken over from another
	// replica: outcome "resumed" or "interrupted".
	TakenOver(outcome string)
}

// Configs reads stored configs, parsed, for the schedules' firings.
type Configs interface {
	// StoredConfig returns the stored config name, parsed, and its text;
	// an error wrapping store.ErrNotFound when there is none.
	StoredConfig(ctx context.Context, name string) (*analysis.Config, []byte, error)
}

// Options configure a Runner.
type Options struct {
	Store store.Store
	// Sources are the metric sources live analyses read, by name.
	Sources analysis.SourceSet
	// Configs reads the stored configs the schedules' firings judge.
	Configs Configs
	// Events, when set, receives the verdict event of every analysis that
	// ends, whatever its origin. The runner does not close it.
	Events *loki.EventPusher
	// Observer, when set, is told of every analysis that ends and every
	// takeover.
	Observer Observer
	// Workers bounds the judgements of background analyses running at once
	// (default 4); a multi-interval analysis waiting for its next interval
	// holds none. It also bounds how many of a dead replica's analyses one
	// claim takes: the workers free, at least one.
	Workers int
	// MaxQueued bounds the background analyses running or waiting for a
	// worker; beyond it Submit refuses new ones (default 1,000).
	MaxQueued int
	// ResumeWithin is how old an unfinished analysis' window may be for a
	// claim to resume it (default 24 h); older ones are interrupted.
	ResumeWithin time.Duration
	// InstanceID names this runner as the owner of the analyses it runs
	// (see the store's ownership rules). It must be unique among the
	// replicas sharing a store and stable across restarts of one replica,
	// so that a restart resumes its own analyses at once. Empty: the
	// hostname and a random suffix (a restart then resumes only once the
	// old leases expire).
	InstanceID string
	// Lease is how long this runner's claim on a live analysis lasts
	// without renewal (default 30 s, at least 10 ms): Run renews every
	// Lease/3, and takes over the analyses of a replica dead for Lease
	// (checking every Lease/2).
	Lease time.Duration
	// RecordRetry bounds how long the outcome of an analysis that ended is
	// retried while the store refuses it (default 10 × Lease); then the
	// analysis is given up and its lease lapses (see finish).
	RecordRetry time.Duration
	// LinkBase prefixes the link to an analysis in its verdict event
	// (LinkBase + "/analyses/" + id).
	LinkBase string
	Logger   *slog.Logger
	// Now tells the time; nil uses time.Now.
	Now func() time.Time
	// Clock is given to multi-interval runs; nil uses the real clock.
	Clock analysis.Clock
}

// Runner runs the live analyses of one server. Create it with New, call
// Resume once to claim what is left to run, and Run until the server stops.
type Runner struct {
	opt Options
	log *slog.Logger

	// background is cancelled when Run stops: background analyses run
	// under it.
	background context.Context
	stopAll    context.CancelFunc
	sem        chan struct{}
	wg         sync.WaitGroup
	// resumed is closed by the first Resume: Run's reaper starts then.
	resumed    chan struct{}
	resumeOnce sync.Once

	mu sync.Mutex
	// running holds the background analyses (queued or running here);
	// executing every analysis executing here, background or synchronous
	// (a reaper's claim skips them).
	running   map[string]context.CancelCauseFunc
	executing map[string]context.CancelCauseFunc
}

// New checks opt, fills in its defaults and builds a Runner. Nothing runs
// until Resume and Run; Submit and Look work at once.
func New(opt Options) (*Runner, error) {
	if opt.Store == nil {
		return nil, errors.New("runner: no store")
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.MaxQueued <= 0 {
		opt.MaxQueued = 1000
	}
	if opt.ResumeWithin <= 0 {
		opt.ResumeWithin = 24 * time.Hour
	}
	if opt.Lease <= 0 {
		opt.Lease = 30 * time.Second
	}
	if opt.Lease < 10*time.Millisecond {
		return nil, fmt.Errorf("runner: a lease of %s is too short (at least 10ms)", opt.Lease)
	}
	if opt.RecordRetry <= 0 {
		opt.RecordRetry = 10 * opt.Lease
	}
	if opt.InstanceID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "verdict"
		}
		opt.InstanceID = host + ":" + store.NewID()[:8]
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	background, stopAll := context.WithCancel(context.Background())
	return &Runner{
		opt:        opt,
		log:        opt.Logger,
		background: background,
		stopAll:    stopAll,
		sem:        make(chan struct{}, opt.Workers),
		resumed:    make(chan struct{}),
		running:    map[string]context.CancelCauseFunc{},
		executing:  map[string]context.CancelCauseFunc{},
	}, nil
}

// InstanceID is the owner name this runner writes on its analyses.
func (r *Runner) InstanceID() string { return r.opt.InstanceID }

// Run renews, every Lease/3, the leases of the analyses this runner works
// on and, from the first Resume on, takes over every Lease/2 the analyses
// of replicas that died. When ctx ends it stops taking over, stops the
// background analyses and waits for them, then stops renewing and hands
// the leases it held over: the analyses stay queued or running in the
// store with leases that end now, so this replica's next start or any
// other replica resumes them. It returns once all that is done; call it
// once. Cancel ctx after the synchronous judgements (Look) have returned:
// their leases are renewed until then.
func (r *Runner) Run(ctx context.Context) {
	renewCtx, stopRenewing := context.WithCancel(context.Background())
	var renewing sync.WaitGroup
	renewing.Go(func() { r.renewLoop(renewCtx) })
	var reaping sync.WaitGroup
	reaping.Go(func() { r.reapLoop(ctx) })

	<-ctx.Done()
	reaping.Wait() // no claim starts an analysis from here on
	working := r.workingOn()
	r.stopAll()
	r.wg.Wait()
	stopRenewing()
	renewing.Wait()
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if held, err := r.opt.Store.RenewLeases(hctx, r.opt.InstanceID, working, time.Now()); err != nil {
		r.log.Warn("handing the leases over", "err", err)
	} else if len(held) > 0 {
		r.log.Info("analyses left for the next start or another replica", "analyses", len(held))
	}
}

// Submit stores a live analysis as queued and starts it in the background;
// it returns the analysis id. The error is ErrInvalid for a request that
// cannot run, a *QueueFullError when MaxQueued analyses are running or
// waiting, else the store's.
func (r *Runner) Submit(ctx context.Context, req Request) (string, error) {
	prep, err := r.prepare(req)
	if err != nil {
		return "", err
	}
	if n := r.backgroundCount(); n >= r.opt.MaxQueued {
		return "", &QueueFullError{Queued: n}
	}
	id, err := r.record(ctx, prep, store.Queued)
	if err != nil {
		return "", err
	}
	r.startBackground(id, prep)
	return id, nil
}

// Cancel ends an analysis by request: the store records it cancelled
// (store.ErrNotFound, store.ErrConflict when it has ended), and it stops
// here if it runs here; on another replica, its owner stops it at its next
// progress write or lease renewal.
func (r *Runner) Cancel(ctx context.Context, id, reason string) error {
	if err := r.opt.Store.CancelAnalysis(ctx, id, reason); err != nil {
		return err
	}
	r.stopLocal(id)
	return nil
}

func (r *Runner) backgroundCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// record stores a new analysis (before anything runs).
func (r *Runner) record(ctx context.Context, p prepared, status store.Status) (string, error) {
	reqJSON, err := json.Marshal(p.plan)
	if err != nil {
		return "", fmt.Errorf("encode the plan: %w", err)
	}
	scopes := p.plan.Scopes
	a := &store.Analysis{ID: store.NewID(), ConfigName: p.configName, Config: p.configText, Request: reqJSON, Origin: p.origin, Status: status,
		Scopes: &scopes, Owner: r.opt.InstanceID, LeaseUntil: time.Now().Add(r.opt.Lease)}
	a.Progress.Total = p.plan.judgements()
	if err := r.opt.Store.CreateAnalysis(ctx, a); err != nil {
		return "", err
	}
	return a.ID, nil
}

// errStopped is the cause of an analysis stopped because another server
// ended it (a cancel) or holds it now (a takeover): it must not write.
var errStopped = errors.New("the analysis was cancelled, or taken over by another server")

// startBackground runs an analysis in the background; its judgements
// take workers (workerSlot).
func (r *Runner) startBackground(id string, p prepared) {
	ctx, cancel := context.WithCancelCause(r.background)
	r.mu.Lock()
	r.running[id] = cancel
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.running, id)
			r.mu.Unlock()
			cancel(nil)
		}()
		_, _ = r.execute(ctx, id, p, r.workerSlot)
	}()
}

// workerSlot waits for one of the Workers slots and returns the function
// that gives it back. A background judgement holds a slot while it
// queries and judges, never while a multi-interval analysis waits for its
// next interval.
func (r *Runner) workerSlot(ctx context.Context) (func(), error) {
	select {
	case r.sem <- struct{}{}:
		return func() { <-r.sem }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// execute runs a stored analysis this runner owns and records its end.
// When ctx ends because the runner is stopping, the analysis is left
// running in the store for the next start to resume. When the store says
// the analysis ended or has another owner (at a progress write, or at a
// lease renewal), it stops without writing anything more. slot, when not
// nil, is taken around each judgement (workerSlot); a single judgement
// stays queued until it has one.
func (r *Runner) execute(ctx context.Context, id string, p prepared, slot func(context.Context) (func(), error)) (rep *analysis.Report, err error) {
	start := time.Now()
	ctx, stop := context.WithCancelCause(ctx)
	r.mu.Lock()
	r.executing[id] = stop
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.executing, id)
		r.mu.Unlock()
		stop(nil)
	}()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("analysis %s panicked: %v", id, v)
			r.log.Error("analysis panicked", "id", id, "panic", v)
			r.finish(ctx, id, store.Outcome{Status: store.Failed, Error: "internal error while running the analysis"})
		}
	}()
	rep, err = r.run(ctx, id, p, slot, stop)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err // cancelled or taken over before it started
		}
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errStopped) {
				return nil, err
			}
			if r.background.Err() != nil {
				r.log.Info("analysis left for the next start to resume", "id", id)
				return nil, err
			}
			// Cancelled by request (already recorded: this is a conflict),
			// or its synchronous caller gave up or ran out of time.
			msg := "stopped before it finished: the caller went away"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				msg = "stopped before it finished: the time limit passed"
			}
			r.finish(ctx, id, store.Outcome{Status: store.Interrupted, Error: msg})
			return nil, err
		}
		r.observe(p, nil, time.Since(start))
		if r.finish(ctx, id, store.Outcome{Status: store.Failed, Error: err.Error()}) {
			window := metrics.Window{Start: p.plan.Start, End: p.plan.End, Step: p.plan.Step}
			r.pushEvent(ctx, analysis.FailedEvent(p.displayName(), p.plan.Scopes, window, err.Error(), r.eventInfo(id, p)))
		}
		return nil, err
	}
	r.observe(p, rep, time.Since(start))
	out, err := store.OutcomeOf(rep)
	if err != nil {
		r.log.Error("encode the report", "id", id, "err", err)
		r.finish(ctx, id, store.Outcome{Status: store.Failed, Error: "internal error while storing the report"})
		return nil, err
	}
	if p.plan.Lifetime <= 0 {
		out.Progress = &store.Progress{Done: 1, Total: 1}
	}
	if r.finish(ctx, id, out) {
		r.pushEvent(ctx, analysis.Event(rep, r.eventInfo(id, p)))
	}
	return rep, nil
}

func (r *Runner) observe(p prepared, rep *analysis.Report, d time.Duration) {
	if r.opt.Observer != nil {
		r.opt.Observer.ObserveAnalysis(p.origin, p.configName, rep, d)
	}
}

// run marks the analysis running and judges it: once, or at every interval
// of its lifetime with each interval's result recorded as progress. With a
// slot, a single judgement waits for it before it is marked running (it
// stays queued until a worker is free), and a multi-interval run takes it
// for each judgement only.
func (r *Runner) run(ctx context.Context, id string, p prepared, slot func(context.Context) (func(), error), stop context.CancelCauseFunc) (*analysis.Report, error) {
	if p.plan.Lifetime <= 0 && slot != nil {
		release, err := slot(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		slot = nil
	}
	if err := r.opt.Store.UpdateOwnedAnalysis(ctx, id, r.opt.InstanceID, store.Running, store.Progress{Total: p.plan.judgements()}, nil); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		r.log.Error("mark analysis running", "id", id, "err", err)
	}
	live := analysis.LiveRequest{Scopes: p.plan.Scopes, Window: metrics.Window{Start: p.plan.Start, End: p.plan.End, Step: p.plan.Step},
		CanaryWeight: p.plan.CanaryWeight, Anytime: p.plan.Anytime}
	if p.plan.Lifetime <= 0 {
		rep, err := analysis.Run(ctx, p.cfg, r.opt.Sources, live)
		if err == nil {
			decideLook(p.cfg, p.plan, rep)
		}
		return rep, err
	}
	// A resumed run keeps what it recorded, but for the last judgement,
	// which it judges again (see analysis.IntervalRequest.Done).
	var intervals []analysis.IntervalResult
	return analysis.RunIntervals(ctx, p.cfg, r.opt.Sources, analysis.IntervalRequest{
		LiveRequest: live, Lifetime: p.plan.Lifetime, Interval: p.plan.Interval, Lookback: p.plan.Lookback, Clock: r.opt.Clock, Acquire: slot, Done: p.done,
		Progress: func(done, total int, res analysis.IntervalResult) {
			if intervals == nil && res.Index > 1 && res.Index-1 <= len(p.done) {
				intervals = slices.Clone(p.done[:res.Index-1])
			}
			intervals = append(intervals, res)
			js, _ := json.Marshal(intervals)
			switch err := r.opt.Store.UpdateOwnedAnalysis(ctx, id, r.opt.InstanceID, store.Running, store.Progress{Done: done, Total: total}, js); {
			case errors.Is(err, store.ErrConflict):
				r.log.Info("analysis stopped: it ended or moved elsewhere", "id", id, "reason", err)
				stop(errStopped)
			case err != nil:
				r.log.Error("record analysis progress", "id", id, "err", err)
			}
		}})
}

// eventInfo says how an analysis ran, for its verdict event.
func (r *Runner) eventInfo(id string, p prepared) analysis.EventInfo {
	return analysis.EventInfo{Finished: r.opt.Now(), Origin: p.origin, ID: id, URL: r.opt.LinkBase + "/analyses/" + id}
}

// pushEvent queues a finished analysis' verdict event for Options.Events,
// when the runner has one. The push is asynchronous and outlives the
// request: a caller that went away does not lose the event, and a push
// that fails is logged, never turned into the analysis' outcome.
func (r *Runner) pushEvent(ctx context.Context, ev loki.Event) {
	if r.opt.Events == nil {
		return
	}
	if err := r.opt.Events.Push(context.WithoutCancel(ctx), ev); err != nil {
		r.log.Warn("the verdict event was not queued for Loki", "config", ev.Config, "report", ev.Report, "err", err)
	}
}

// finish records the outcome of an analysis this runner owns and reports
// whether the store has it. A conflict (cancelled meanwhile, or taken
// over) is expected and ends it: the store says how the analysis ended.
// Any other failure (the store is down) is retried, waiting 100 ms, then
// twice as long each time up to 5 s, for up to RecordRetry and while ctx
// lasts (a synchronous caller's deadline; the first attempt is made
// whatever ctx). Meanwhile the analysis is still executing here, so the
// renewal keeps its lease whenever the store answers. When the retries run
// out, or the runner stops, finish gives up: it logs the outcome it lost,
// and the analysis, no longer renewed, loses its lease within Lease; then
// a claim (this runner's reaper, its next start, another replica) resumes
// or interrupts it, so it never stays live forever.
func (r *Runner) finish(ctx context.Context, id string, o store.Outcome) bool {
	deadline := time.Now().Add(r.opt.RecordRetry)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := r.opt.Store.FinishOwnedAnalysis(wctx, id, r.opt.InstanceID, o)
		cancel()
		if err == nil || errors.Is(err, store.ErrConflict) {
			if attempt > 1 {
				r.log.Info("analysis outcome recorded after retries", "id", id, "attempts", attempt)
			}
			return err == nil
		}
		if errors.Is(err, store.ErrNotFound) || !time.Now().Add(wait).Before(deadline) || ctx.Err() != nil || r.background.Err() != nil {
			r.log.Error("the analysis outcome could not be recorded: giving the analysis up, its lease lapses and it will be resumed or interrupted",
				"id", id, "status", o.Status, "verdict", o.Verdict, "attempts", attempt, "err", err)
			return false
		}
		r.log.Warn("recording the analysis outcome failed; retrying", "id", id, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		case <-r.background.Done():
			t.Stop()
		}
		wait = min(2*wait, 5*time.Second)
	}
}
