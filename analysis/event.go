package analysis

import (
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// EventInfo says how a finished analysis was run, for its verdict event.
type EventInfo struct {
	// Finished is when it finished.
	Finished time.Time
	// Origin is who asked: api, schedule, argo, flagger, kayenta or cli.
	Origin string
	// ID is the stored analysis' id ("" when it was not stored); URL the
	// report page's address.
	ID, URL string
}

// Event is the verdict event of a finished analysis: one structured line
// for Loki, so that dashboards and alerts can follow verdicts. It names the
// stored report (info.ID, info.URL) rather than carrying it.
func Event(rep *Report, info EventInfo) loki.Event {
	ev := loki.Event{Time: info.Finished, Level: loki.LevelOf(string(rep.Verdict)), Config: rep.Name, Origin: info.Origin,
		Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason, Report: info.ID, ReportURL: info.URL}
	if rep.Scopes != nil {
		ev.Scopes = scopeMap(*rep.Scopes)
	}
	if rep.Window != nil {
		ev.Start, ev.End = rep.Window.Start, rep.Window.End
	}
	for _, s := range rep.Signals {
		if s.Failed {
			ev.Failed = append(ev.Failed, s.Name) // Push keeps the first few
		}
	}
	return ev
}

// FailedEvent is the event of an analysis that could not run to a verdict
// (an error, not a cancellation): verdict none at level error, with the
// error as its reason.
func FailedEvent(config string, scopes Scopes, window metrics.Window, err string, info EventInfo) loki.Event {
	return loki.Event{Time: info.Finished, Level: loki.LevelError, Config: config, Origin: info.Origin, Scopes: scopeMap(scopes),
		Start: window.Start, End: window.End, Verdict: "none", Reason: err, Report: info.ID, ReportURL: info.URL}
}

func scopeMap(s Scopes) map[string]metrics.Scope {
	return map[string]metrics.Scope{"baseline": s.Baseline, "canary": s.Canary}
}
