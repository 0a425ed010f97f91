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
// lookback of the schedule's scopes (for a config with sequential: anytime,
// all the data since the canary's evidence started: see judgeLook),
// stores the analysis (origin schedule), updates /metrics, and pushes the
// verdict event to Options.Events when the server has one (verdict serve:
// the loki source's pushURL).
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
	start, end := p.Start, p.End
	if rep.Window != nil { // an anytime look judged since its evidence started
		start, end = rep.Window.Start, rep.Window.End
	}
	s.log.Info("scheduled analysis", "config", j.Config, "id", id, "verdict", rep.Verdict)
	if s.opt.Events == nil {
		return nil
	}
	ev := loki.Event{Time: s.now(), Config: j.Config, Scopes: map[string]metrics.Scope{"baseline": p.Scopes.Baseline, "canary": p.Scopes.Canary},
		Start: start, End: end, Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason, Report: id}
	if err := s.opt.Events.Push(ctx, ev); err != nil {
		return fmt.Errorf("config %s: push the verdict event: %w", j.Config, err)
	}
	return nil
}
