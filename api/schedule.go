package api

import (
	"context"
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// RunSchedule runs one firing of a config's schedule: it judges the last
// lookback of the schedule's scopes, stores the analysis (origin
// schedule), updates /metrics, and pushes the verdict event to
// Options.Events when the server has one (verdict serve: the loki
// source's pushURL).
func (s *Server) RunSchedule(ctx context.Context, j schedule.Job) error {
	now := s.now()
	p := Plan{
		Scopes: analysis.Scopes{Baseline: analysis.ScopeOf(j.Schedule.BaselineScope), Canary: analysis.ScopeOf(j.Schedule.CanaryScope)},
		Start:  now.Add(-time.Duration(j.Schedule.Lookback)), End: now, Step: time.Duration(j.Schedule.Step),
	}
	id, rep, err := s.Submit(ctx, j.Config, p, "schedule", true)
	if err != nil {
		return fmt.Errorf("config %s schedules[%d]: %w", j.Config, j.Index, err)
	}
	s.log.Info("scheduled analysis", "config", j.Config, "id", id, "verdict", rep.Verdict)
	if s.opt.Events == nil {
		return nil
	}
	ev := loki.Event{Time: s.now(), Config: j.Config, Scopes: map[string]metrics.Scope{"baseline": p.Scopes.Baseline, "canary": p.Scopes.Canary},
		Start: p.Start, End: p.End, Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason, Report: id}
	if err := s.opt.Events.Push(ctx, ev); err != nil {
		return fmt.Errorf("config %s: push the verdict event: %w", j.Config, err)
	}
	return nil
}
