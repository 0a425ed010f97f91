package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
)

// RunSchedule runs one firing of a config's schedule (schedule.Hooks.Run):
// it judges the last lookback of the schedule's scopes (for a config with
// sequential: anytime, all the data since the canary's evidence started:
// see Look) and stores the analysis (origin schedule, with the firing's
// due time in its request); like every analysis, it is observed and
// pushes its verdict event.
//
// Replicas sharing a store all meet every firing. RunSchedule reads the
// stored config first (Options.Configs): a firing of a schedule the stored
// config no longer has at that index with that cron spec (this replica's
// schedules are about to reload after a change elsewhere) is not run;
// otherwise it runs the stored config's schedule, so a change of scopes,
// lookback or step applies from the next firing on every replica. It then
// claims the firing by config, schedule index and due time
// (store.ClaimFiring), and when another replica has it returns
// schedule.ErrElsewhere without judging. A Job without a due time (not
// from a scheduler) is judged unclaimed.
func (r *Runner) RunSchedule(ctx context.Context, j schedule.Job) error {
	fail := func(err error) error { return fmt.Errorf("config %s schedules[%d]: %w", j.Config, j.Index, err) }
	if r.opt.Configs == nil {
		return fail(errors.New("the runner reads no stored configs (Options.Configs)"))
	}
	cfg, text, err := r.opt.Configs.StoredConfig(ctx, j.Config)
	if err != nil {
		return fail(err)
	}
	sched := j.Schedule
	var due *time.Time
	if !j.Due.IsZero() {
		if j.Index >= len(cfg.Schedules) || cfg.Schedules[j.Index].Cron != j.Schedule.Cron {
			return fail(errors.New("the stored config no longer has this schedule (changed elsewhere; the schedules reload within seconds)"))
		}
		sched = cfg.Schedules[j.Index]
		mine, err := r.opt.Store.ClaimFiring(ctx, store.Firing{Config: j.Config, Schedule: j.Index, At: j.Due, Owner: r.opt.InstanceID})
		if err != nil {
			return fail(err)
		}
		if !mine {
			return fail(fmt.Errorf("due %s: %w", j.Due.Format(time.RFC3339), schedule.ErrElsewhere))
		}
		at := j.Due.UTC()
		due = &at
	}
	now := r.opt.Now()
	lookback := time.Duration(sched.Lookback)
	p := Plan{
		Scopes: analysis.Scopes{Baseline: analysis.ScopeOf(sched.BaselineScope), Canary: analysis.ScopeOf(sched.CanaryScope)},
		Start:  now.Add(-lookback), End: now, Step: time.Duration(sched.Step), Due: due,
	}
	// An anytime config's firings are looks at one canary: they continue
	// its evidence, shared with the Argo looks at the same scopes.
	id, rep, err := r.Look(ctx, Request{Config: cfg, ConfigName: j.Config, ConfigText: text, Plan: p, Origin: "schedule"}, "", lookback)
	if err != nil {
		return fail(err)
	}
	r.log.Info("scheduled analysis", "config", j.Config, "schedule", j.Index, "due", j.Due, "id", id, "verdict", rep.Verdict)
	return nil
}
