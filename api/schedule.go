package api

import (
	"context"
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
)

// RunSchedule runs one firing of a config's schedule: it judges the last
// lookback of the schedule's scopes and stores the analysis (origin
// schedule); like every analysis, it updates /metrics and pushes its
// verdict event (execute).
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
	return nil
}
