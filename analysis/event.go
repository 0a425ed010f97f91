package analysis

import (
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// Event is the verdict event of a finished live analysis: one structured
// line for Loki, so that dashboards and alerts can follow verdicts. id names
// the stored report, when there is one.
func Event(rep *Report, finished time.Time, id string) loki.Event {
	ev := loki.Event{Time: finished, Config: rep.Name, Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason, Report: id}
	if rep.Scopes != nil {
		ev.Scopes = map[string]metrics.Scope{"baseline": rep.Scopes.Baseline, "canary": rep.Scopes.Canary}
	}
	if rep.Window != nil {
		ev.Start, ev.End = rep.Window.Start, rep.Window.End
	}
	return ev
}
