package api

import (
	"context"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
)

// retentionBatch is how many ended analyses one delete removes: each batch
// is one short statement, so clearing a backlog of days holds the store's
// locks only briefly at a time.
const retentionBatch = 500

// retentionLoop deletes the analyses that ended more than Retention ago
// (with a Retention), the records of firings past FiringRetention and the
// evidence no look can continue any more: at
// start, then every Retention/4 (at least a second, at most 10 minutes
// apart; every 10 minutes without a Retention), until Close.
func (s *Server) retentionLoop() {
	every := 10 * time.Minute
	if s.opt.Retention > 0 {
		every = min(max(s.opt.Retention/4, time.Second), every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if s.opt.Retention > 0 {
			n, err := s.prune(s.retentionCtx)
			switch {
			case err != nil && s.retentionCtx.Err() == nil:
				s.log.Warn("deleting the analyses past the retention", "deleted", n, "err", err)
			case n > 0:
				s.log.Info("deleted the analyses past the retention", "deleted", n, "retention", s.opt.Retention)
			}
		}
		if err := s.forgetDeletedConfigs(s.retentionCtx); err != nil && s.retentionCtx.Err() == nil {
			s.log.Warn("listing the configs to drop the metrics of deleted ones", "err", err)
		}
		n, err := s.pruneFirings(s.retentionCtx)
		switch {
		case err != nil && s.retentionCtx.Err() == nil:
			s.log.Warn("deleting the records of past firings", "deleted", n, "err", err)
		case n > 0:
			s.log.Debug("deleted the records of past firings", "deleted", n)
		}
		n, err = s.pruneEvidence(s.retentionCtx)
		switch {
		case err != nil && s.retentionCtx.Err() == nil:
			s.log.Warn("deleting the evidence no look can continue", "deleted", n, "err", err)
		case n > 0:
			s.log.Info("deleted the evidence no look can continue", "deleted", n)
		}
		select {
		case <-s.retentionCtx.Done():
			return
		case <-t.C:
		}
	}
}

// prune deletes the analyses that ended more than Retention ago, in
// batches of retentionBatch until a batch comes back short, and returns
// how many it deleted. Live analyses are never deleted, however old.
func (s *Server) prune(ctx context.Context) (int, error) {
	before := time.Now().Add(-s.opt.Retention)
	total := 0
	for {
		n, err := s.store.DeleteFinished(ctx, before, retentionBatch)
		total += n
		if err != nil || n < retentionBatch {
			return total, err
		}
	}
}

// pruneEvidence deletes, in batches of retentionBatch, the evidence of
// anytime canaries last looked at more than analysis.MaxEvidenceWindow
// ago: its start is older still, so no look can continue it (NextLook
// would start anew). It returns how many it deleted.
func (s *Server) pruneEvidence(ctx context.Context) (int, error) {
	before := time.Now().Add(-analysis.MaxEvidenceWindow)
	total := 0
	for {
		n, err := s.store.DeleteEvidence(ctx, before, retentionBatch)
		total += n
		if err != nil || n < retentionBatch {
			return total, err
		}
	}
}

// FiringRetention is how long the record of a schedule's firing is kept
// after its due time. A record only has to outlive the last claim of its
// firing, which replicas make as the firing falls due (their clocks agree
// to well within a second, and a late start still claims within a
// period); an hour leaves room for stalls and skew many times over, and
// keeps about 1,800 rows per @every 2s schedule.
const FiringRetention = time.Hour

// pruneFirings deletes, in batches of retentionBatch, the records of the
// firings due more than FiringRetention ago, and returns how many it
// deleted.
func (s *Server) pruneFirings(ctx context.Context) (int, error) {
	before := time.Now().Add(-FiringRetention)
	total := 0
	for {
		n, err := s.store.DeleteFirings(ctx, before, retentionBatch)
		total += n
		if err != nil || n < retentionBatch {
			return total, err
		}
	}
}

// forgetDeletedConfigs drops the metric series of the configs no longer
// stored (deleted through another replica, or never stored), so that they
// neither stay on /metrics nor hold places among MaxMetricConfigs. Only
// configs tracked before the store is listed are candidates: one stored
// and judged meanwhile keeps its series.
func (s *Server) forgetDeletedConfigs(ctx context.Context) error {
	tracked := s.metrics.trackedConfigs()
	if len(tracked) == 0 {
		return nil
	}
	list, err := s.store.ListConfigs(ctx)
	if err != nil {
		return err
	}
	stored := make(map[string]bool, len(list))
	for _, c := range list {
		stored[strings.ToValidUTF8(c.Name, "\uFFFD")] = true
	}
	for _, name := range tracked {
		if !stored[name] {
			s.metrics.ForgetConfig(name)
		}
	}
	return nil
}
