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
//   - The scheduler knows nothing of HTTP or storage: it calls Run, which
//     `verdict serve` implements by storing and running an analysis,
//     updating /metrics and pushing the verdict event.
//   - Stop stops new firings and waits (up to its context) for running jobs.
//   - Reloader follows config changes: a new scheduler replaces the old,
//     whose running jobs finish instead of being cancelled. A retired
//     scheduler is kept only until they have: a server whose configs are
//     PUT every few seconds reloads all day.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/verdict-aca/verdict/analysis"
)

// Job is one firing: the config to run and its schedule.
type Job struct {
	Config   string
	Index    int
	Schedule analysis.Schedule
}

// Hooks are what the scheduler calls.
type Hooks struct {
	// Run runs one firing; ctx ends when the scheduler stops.
	Run func(ctx context.Context, j Job) error
	// Outcome, when set, is told of every firing: "ran", "failed",
	// "skipped" or "panicked".
	Outcome func(j Job, outcome string)
}

// Scheduler runs the schedules of a set of configs.
type Scheduler struct {
	cron   *cron.Cron
	hooks  Hooks
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	// done, set by retire, ends when the jobs running at retirement have
	// finished.
	done context.Context
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
			wrapped := cron.NewChain(cron.SkipIfStillRunning(skipLogger{s: s, job: j}), cron.Recover(cronLogger{log: log})).Then(s.job(j))
			if _, err := s.cron.AddJob(sch.Cron, wrapped); err != nil {
				cancel()
				return nil, fmt.Errorf("config %s schedules[%d]: %q: %w", cfg.Name, i, sch.Cron, err)
			}
		}
	}
	return s, nil
}

// Len is the number of scheduled jobs.
func (s *Scheduler) Len() int { return len(s.cron.Entries()) }

// job runs one firing, recording a panic before Recover logs it.
func (s *Scheduler) job(j Job) cron.Job {
	return cron.FuncJob(func() {
		defer func() {
			if v := recover(); v != nil {
				s.outcome(j, "panicked")
				panic(v) // Recover, next in the chain, logs it and keeps the scheduler alive
			}
		}()
		if err := s.hooks.Run(s.ctx, j); err != nil {
			s.log.Error("scheduled analysis failed", "config", j.Config, "schedule", j.Index, "err", err)
			s.outcome(j, "failed")
			return
		}
		s.outcome(j, "ran")
	})
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

// retire stops firing without cancelling or waiting for running jobs; done
// is then a context that ends when they have finished.
func (s *Scheduler) retire() { s.done = s.cron.Stop() }

// Reloader keeps the schedules in step with configs that change while the
// service runs (PUT and DELETE of configs). Reload builds a new scheduler
// from the current configs and retires the old one: it stops firing, and
// its running jobs finish normally instead of being cut short. A retired
// scheduler is kept until its jobs have finished (Stop cancels and waits
// for them), then dropped at the next Reload.
type Reloader struct {
	load  func(context.Context) ([]*analysis.Config, error)
	hooks Hooks
	log   *slog.Logger

	mu      sync.Mutex
	cur     *Scheduler
	retired []*Scheduler
}

// NewReloader makes a Reloader; call Reload to start the first scheduler.
func NewReloader(load func(context.Context) ([]*analysis.Config, error), hooks Hooks, log *slog.Logger) *Reloader {
	if log == nil {
		log = slog.Default()
	}
	return &Reloader{load: load, hooks: hooks, log: log}
}

// Reload reads the configs and replaces the running scheduler. On an error
// the old scheduler keeps running.
func (r *Reloader) Reload(ctx context.Context) error {
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
	if r.cur != nil {
		r.cur.retire()
		r.retired = append(r.retired, r.cur)
	}
	// Keep a retired scheduler only while its jobs run, for Stop to cancel
	// and wait for them: configs PUT all day must not pile them up.
	r.retired = slices.DeleteFunc(r.retired, func(s *Scheduler) bool {
		if s.done.Err() == nil {
			return false
		}
		s.cancel()
		return true
	})
	r.cur = next
	next.Start()
	return nil
}

// current is the scheduler firing now (nil before the first Reload).
func (r *Reloader) current() *Scheduler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// retiredNow lists the retired schedulers kept for Stop.
func (r *Reloader) retiredNow() []*Scheduler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.retired)
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

// Stop stops the current and retired schedulers, cancels their running
// jobs and waits for them until ctx ends.
func (r *Reloader) Stop(ctx context.Context) error {
	r.mu.Lock()
	all := append(r.retired, r.cur)
	r.cur, r.retired = nil, nil
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
	return first
}
