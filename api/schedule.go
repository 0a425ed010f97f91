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
// schedule), updates /metrics, and pushes the verdict event to Loki when
// the config sets sources.loki.pushURL.
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
	cfg, ok := s.configs.get(j.Config)
	if !ok || cfg.Sources.Loki == nil || cfg.Sources.Loki.PushURL == "" {
		return nil
	}
	pusher, err := s.pusher(cfg.Sources.Loki)
	if err != nil {
		return fmt.Errorf("config %s: verdict events: %w", j.Config, err)
	}
	ev := loki.Event{Time: s.now(), Config: j.Config, Scopes: map[string]metrics.Scope{"baseline": p.Scopes.Baseline, "canary": p.Scopes.Canary},
		Start: p.Start, End: p.End, Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason, Report: id}
	if err := pusher.Push(ctx, ev); err != nil {
		return fmt.Errorf("config %s: push the verdict event: %w", j.Config, err)
	}
	return nil
}

// pusher returns the event pusher for a Loki push URL and tenant, created
// once and closed by Close.
func (s *Server) pusher(src *analysis.LokiSource) (*loki.EventPusher, error) {
	key := src.PushURL + "\x00" + src.Tenant
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pushers[key]; ok {
		return p, nil
	}
	p, err := loki.NewEventPusher(loki.PusherConfig{URL: src.PushURL, Tenant: src.Tenant, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.pushers[key] = p
	return p, nil
}
