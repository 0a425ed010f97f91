package api

import (
	"context"
	"time"
)

// retentionBatch is how many ended analyses one delete removes: each batch
// is one short statement, so clearing a backlog of days holds the store's
// locks only briefly at a time.
const retentionBatch = 500

// retentionLoop deletes the analyses that ended more than Retention ago:
// at start, then every Retention/4 (at least a second, at most 10
// minutes apart), until Close.
func (s *Server) retentionLoop() {
	every := min(max(s.opt.Retention/4, time.Second), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.prune(s.reapCtx)
		switch {
		case err != nil && s.reapCtx.Err() == nil:
			s.log.Warn("deleting the analyses past the retention", "deleted", n, "err", err)
		case n > 0:
			s.log.Info("deleted the analyses past the retention", "deleted", n, "retention", s.opt.Retention)
		}
		select {
		case <-s.reapCtx.Done():
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
