// Package schedule re-scores live canaries on cron schedules: every
// config's `schedules:` entries become cron jobs that judge the last
// lookback of their scopes, under `verdict serve`.
//
// Decisions:
//   - robfig/cron v3 with the chain SkipIfStillRunning then Recover (in that
//     order): a firing that finds the previous run of the same schedule
//     still going is skipped, not stacked, and counted; a panic is
//     recovered, counted and logged, and the schedule keeps firing.
//   - Standard 5-field specs and descriptors (@every 5m, @hourly), in UTC.
//     @every D fires at the multiples of D since the Unix epoch (@every 5m
//     at :00, :05, ...), not D after the scheduler started: every replica,
//     and every scheduler a reload builds, meets the same due times.
//   - Each firing is passed to Run with its due time (Job.Due): the time
//     the schedule set, the same on every replica, not the moment a replica
//     noticed it. Replicas sharing a store run the same schedules, so Run
//     claims the firing by its config, schedule index and due time and runs
//     it only when the claim is its own (serve: store.ClaimFiring); when
//     another replica has it, Run returns ErrElsewhere, counted as the
//     outcome "elsewhere".
//   - Firing records rather than a leader: with a leader (PostgreSQL
//     leader election, or River's periodic jobs, which only its elected
//     leader enqueues), a leader killed with SIGKILL stops all firings
//     until its term expires; River's term is its elect interval plus 10 s
//     of padding, 15 s by default and not set through its public Config
//     (river v0.51.2, internal/leadership), about 7 lost firings of an
//     @every 2s schedule where at most one may be lost. River would also
//     bring its own schema, job table and workers while robfig/cron and
//     the reloads stay. A firing record costs each replica one INSERT ...
//     ON CONFLICT DO NOTHING per firing, 0.6 ms on PostgreSQL on loopback
//     (BenchmarkClaimFiring), and has no failover: a killed replica loses
//     at most the firing it had claimed and not yet stored.
//   - The scheduler knows nothing of HTTP or storage: it calls Run, which
//     `verdict serve` sets to analysis/runner's RunSchedule: it stores and
//     runs an analysis, updating /metrics and pushing the verdict event.
//   - Stop stops new firings and waits (up to its context) for running jobs.
//   - Reloader follows config changes: a new scheduler replaces the old,
//     whose running jobs finish instead of being cancelled; once they have,
//     the old scheduler is released. Reloads may run concurrently (one per
//     config PUT): each takes a ticket before it loads the configs, and a
//     reload whose ticket is older than the running scheduler's discards
//     what it built, so the schedules running after the reloads settle are
//     those of the newest load, never a stale one that finished last.
//   - Follow keeps the schedules in step with configs that another replica
//     changes: it polls a summary of the stored configs' versions (serve:
//     every 2 s, one query of names and versions) and reloads when it
//     changes. Polling was chosen over PostgreSQL's LISTEN/NOTIFY: it works
//     on every store, needs no connection held open per replica, cannot
//     miss a change while a connection is down (a notification sent then
//     is lost, so LISTEN needs the poll as a fallback anyway), and costs
//     one indexed read of about 0.2 ms every 2 s (BenchmarkListConfigVersions,
//     100 configs); a change reaches every replica within the period plus
//     a reload.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/verdict-aca/verdict/analysis"
)

// Job is one schedule of a config; the Job passed to Run is one firing of
// it, due at Due.
type Job struct {
	Config   string
	Index    int
	Schedule analysis.Schedule
	// Due is when the firing passed to Run was due by its schedule, the
	// same on every replica (zero in Jobs).
	Due time.Time
}

// ErrElsewhere is what Run returns (wrapped) when another replica has
// claimed the firing: it is not run here, and its outcome is "elsewhere".
var ErrElsewhere = errors.New("the firing was claimed by another replica")

// Hooks are what the scheduler calls.
type Hooks struct {
	// Run runs one firing; ctx ends when the scheduler stops.
	Run func(ctx context.Context, j Job) error
	// Outcome, when set, is told of every firing: "ran", "failed",
	// "skipped", "panicked" or "elsewhere" (another replica ran it).
	Outcome func(j Job, outcome string)
}

// Scheduler runs the schedules of a set of configs.
type Scheduler struct {
	cron   *cron.Cron
	jobs   []Job
	hooks  Hooks
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
}

// New makes a scheduler for the configs' schedules. It returns an error
// naming the config and schedule whose spec does not parse.
func New(configs []*analysis.Config, hooks Hooks, log *slog.Logger) (*Scheduler, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{hooks: hooks, log: log, ctx: ctx, cancel: cancel}
	s.cron = cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cronLogger{log: log}))
	for _, cfg := range configs {
		for i, sch := range cfg.Schedules {
			j := Job{Config: cfg.Name, Index: i, Schedule: sch}
			spec, err := parseSpec(sch.Cron)
			if err != nil {
				cancel()
				return nil, fmt.Errorf("config %s schedules[%d]: %q: %w", cfg.Name, i, sch.Cron, err)
			}
			wrapped := cron.NewChain(cron.SkipIfStillRunning(skipLogger{s: s, job: j}), cron.Recover(cronLogger{log: log})).Then(s.job(j, spec))
			s.cron.Schedule(spec, wrapped)
			s.jobs = append(s.jobs, j)
		}
	}
	return s, nil
}

// Len is the number of scheduled jobs.
func (s *Scheduler) Len() int { return len(s.jobs) }

// Jobs lists the scheduled jobs, in the order of the configs and their
// schedules.
func (s *Scheduler) Jobs() []Job { return slices.Clone(s.jobs) }

// job runs one firing of j, due by spec, recording a panic before Recover
// logs it.
func (s *Scheduler) job(j Job, spec cron.Schedule) cron.Job {
	return cron.FuncJob(func() {
		defer func() {
			if v := recover(); v != nil {
				s.outcome(j, "panicked")
				panic(v) // Recover, next in the chain, logs it and keeps the scheduler alive
			}
		}()
		j.Due = dueAt(spec, time.Now().UTC()) // the specs are in UTC, as the scheduler runs them
		err := s.hooks.Run(s.ctx, j)
		switch {
		case errors.Is(err, ErrElsewhere):
			s.log.Debug("scheduled analysis run by another replica", "config", j.Config, "schedule", j.Index, "due", j.Due)
			s.outcome(j, "elsewhere")
		case err != nil:
			s.log.Error("scheduled analysis failed", "config", j.Config, "schedule", j.Index, "err", err)
			s.outcome(j, "failed")
		default:
			s.outcome(j, "ran")
		}
	})
}

// parseSpec parses a schedule's cron spec (5 fields or a descriptor, in
// UTC), with @every D made to fire at the multiples of D since the Unix
// epoch.
func parseSpec(spec string) (cron.Schedule, error) {
	sch, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if every, ok := sch.(cron.ConstantDelaySchedule); ok {
		return alignedEvery{every: every.Delay}, nil
	}
	return sch, nil
}

// alignedEvery is @every D firing at the multiples of D since the Unix
// epoch, so that every process meets the same due times whenever it
// started. robfig/cron makes D a whole number of seconds, at least one.
type alignedEvery struct{ every time.Duration }

// Next is the first multiple of the period after t.
func (a alignedEvery) Next(t time.Time) time.Time {
	return a.last(t).Add(a.every)
}

// last is the last multiple of the period at or before t.
func (a alignedEvery) last(t time.Time) time.Time {
	n, d := t.UnixNano(), int64(a.every)
	q := n / d
	if n%d < 0 {
		q-- // before the epoch: round down, not toward zero
	}
	return time.Unix(0, q*d).In(t.Location())
}

// dueAt is when the firing of spec that runs at now was due: the last due
// time at or before now. cron starts a job once its due time has passed,
// so that is the firing's, unless the job started later than the next due
// time (a stalled process), when it is the latest one missed: replicas
// late by less than a period agree on it. A spec fires at most once a
// minute; dueAt looks back a minute, then 4 times further each round (up
// to two years: a spec that fires more rarely never ran), and walks forward
// to the last due time at or before now.
func dueAt(spec cron.Schedule, now time.Time) time.Time {
	if a, ok := spec.(alignedEvery); ok {
		return a.last(now)
	}
	for back := time.Minute; back < 2*366*24*time.Hour; back *= 4 {
		due := spec.Next(now.Add(-back))
		if due.IsZero() || due.After(now) {
			continue
		}
		for next := spec.Next(due); !next.IsZero() && !next.After(now); next = spec.Next(next) {
			due = next
		}
		return due
	}
	return now.Truncate(time.Minute)
}

func (s *Scheduler) outcome(j Job, o string) {
	if s.hooks.Outcome != nil {
		s.hooks.Outcome(j, o)
	}
}

// Start starts firing.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops firing, cancels the running jobs' context and waits for them
// until ctx ends.
func (s *Scheduler) Stop(ctx context.Context) error {
	done := s.cron.Stop()
	s.cancel()
	select {
	case <-done.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduled jobs still running: %w", ctx.Err())
	}
}

// cronLogger sends cron's messages to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// skipLogger counts the skips SkipIfStillRunning reports (it logs "skip").
type skipLogger struct {
	s   *Scheduler
	job Job
}

func (l skipLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		l.s.log.Warn("scheduled analysis skipped: the previous run is still going", "config", l.job.Config, "schedule", l.job.Index)
		l.s.outcome(l.job, "skipped")
	}
}

func (l skipLogger) Error(err error, msg string, kv ...any) {
	l.s.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// retire stops firing without cancelling or waiting for running jobs; it
// returns a context that is done when they have finished.
func (s *Scheduler) retire() context.Context { return s.cron.Stop() }

// Reloader keeps the schedules in step with configs that change while the
// service runs (PUT and DELETE of configs). Reload builds a new scheduler
// from the current configs and retires the old one: it stops firing, its
// running jobs finish normally instead of being cut short, and then it is
// released.
type Reloader struct {
	load  func(context.Context) ([]*analysis.Config, error)
	hooks Hooks
	log   *slog.Logger

	mu sync.Mutex
	// tickets is the number of reloads started; applied is the ticket of
	// the reload whose scheduler runs (cur).
	tickets, applied uint64
	cur              *Scheduler
	// retired holds the replaced schedulers whose jobs still run.
	retired map[*Scheduler]struct{}
	// releases waits for the goroutines that release retired schedulers.
	releases sync.WaitGroup
	stopped  bool
}

// NewReloader makes a Reloader; call Reload to start the first scheduler.
func NewReloader(load func(context.Context) ([]*analysis.Config, error), hooks Hooks, log *slog.Logger) *Reloader {
	if log == nil {
		log = slog.Default()
	}
	return &Reloader{load: load, hooks: hooks, log: log, retired: map[*Scheduler]struct{}{}}
}

// Reload reads the configs and replaces the running scheduler. On an error
// the old scheduler keeps running. Concurrent reloads are ordered by when
// they started loading: one that started before the reload whose scheduler
// now runs changes nothing, since what it read may be older.
func (r *Reloader) Reload(ctx context.Context) error {
	r.mu.Lock()
	r.tickets++
	ticket := r.tickets
	r.mu.Unlock()
	configs, err := r.load(ctx)
	if err != nil {
		return fmt.Errorf("reload schedules: %w", err)
	}
	next, err := New(configs, r.hooks, r.log)
	if err != nil {
		return fmt.Errorf("reload schedules: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || ticket < r.applied {
		next.cancel() // never started: nothing runs in it
		return nil
	}
	if r.cur != nil {
		r.retire(r.cur)
	}
	r.cur, r.applied = next, ticket
	next.Start()
	return nil
}

// retire stops s firing and releases it once its running jobs end. The
// caller holds r.mu.
func (r *Reloader) retire(s *Scheduler) {
	done := s.retire()
	r.retired[s] = struct{}{}
	r.releases.Go(func() {
		<-done.Done()
		s.cancel()
		r.mu.Lock()
		delete(r.retired, s)
		r.mu.Unlock()
	})
}

// Len is the number of scheduled jobs now.
func (r *Reloader) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return 0
	}
	return r.cur.Len()
}

// Jobs lists the jobs scheduled now.
func (r *Reloader) Jobs() []Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return nil
	}
	return r.cur.Jobs()
}

// Retired is the number of replaced schedulers whose jobs still run.
func (r *Reloader) Retired() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.retired)
}

// Stop stops the current and retired schedulers, cancels their running
// jobs and waits for them until ctx ends. Reloads after Stop change
// nothing.
func (r *Reloader) Stop(ctx context.Context) error {
	r.mu.Lock()
	all := []*Scheduler{r.cur}
	for s := range r.retired {
		all = append(all, s)
	}
	r.cur, r.stopped = nil, true
	r.mu.Unlock()
	var first error
	for _, s := range all {
		if s == nil {
			continue
		}
		if err := s.Stop(ctx); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	released := make(chan struct{})
	go func() {
		r.releases.Wait()
		close(released)
	}()
	select {
	case <-released:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("retired schedulers not yet released: %w", ctx.Err())
	}
}

// Follow reloads the schedules whenever the stored configs change, by
// whichever replica: every period it asks version for a summary of the
// configs' versions, and reloads when the summary differs from the one
// the last successful reload followed (the first check always reloads). A
// failed check or reload is logged and tried again at the next period. It
// returns when ctx ends.
func (r *Reloader) Follow(ctx context.Context, period time.Duration, version func(context.Context) (string, error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	followed, first := "", true
	for {
		switch v, err := version(ctx); {
		case err != nil:
			if ctx.Err() == nil {
				r.log.Warn("checking whether the configs changed", "err", err)
			}
		case first || v != followed:
			if err := r.Reload(ctx); err != nil {
				if ctx.Err() == nil {
					r.log.Error("the schedules were not reloaded after a config change", "err", err)
				}
				break
			}
			if !first {
				r.log.Info("schedules reloaded: the configs changed", "schedules", r.Len())
			}
			followed, first = v, false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
