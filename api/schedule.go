package api

import (
	"context"
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
)

// RunSchedule runs one firing of a config's schedule: it judges the last
// lookback of the schedule's scopes (for a config with sequential: anytime,
// all the data since the canary's evidence started: see judgeLook) and
// stores the analysis (origin schedule); like every analysis, it updates
// /metrics and pushes its verdict event (execute).
func (s *Server) RunSchedule(ctx context.Context, j schedule.Job) error {
	now := s.now()
	lookback := time.Duration(j.Schedule.Lookback)
	p := Plan{
		Scopes: analysis.Scopes{Baseline: analysis.ScopeOf(j.Schedule.BaselineScope), Canary: analysis.ScopeOf(j.Schedule.CanaryScope)},
		Start:  now.Add(-lookback), End: now, Step: time.Duration(j.Schedule.Step),
	}
	fail := func(err error) error { return fmt.Errorf("config %s schedules[%d]: %w", j.Config, j.Index, err) }
	cfg, text, err := s.storedConfigText(ctx, j.Config)
	if err != nil {
		return fail(err)
	}
	// An anytime config's firings are looks at one canary: they continue
	// its evidence, shared with the Argo looks at the same scopes.
	id, rep, _, err := s.judgeLook(ctx, cfg, j.Config, text, p, "schedule", "", lookback)
	if err != nil {
		return fail(err)
	}
	s.log.Info("scheduled analysis", "config", j.Config, "id", id, "verdict", rep.Verdict)
	return nil
}
