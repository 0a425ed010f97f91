package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
)

// Looks at a canary of an anytime config (sequential: anytime).
//
// Argo Rollouts' web provider, Flagger's webhooks and schedules each judge
// the same canary again and again, one synchronous look per call. For a
// config with sequential: anytime the looks share the canary's evidence,
// kept in the store by config and canary (analysis.EvidenceKey: the
// scopes, and Flagger's checksum of the release): each look judges all the
// data since the evidence started (the first look's now − lookback), with
// every signal's reference information from the look that first judged it,
// and the analysis.DecideLook decision: pass once every signal is shown
// within its allowance or the horizon is reached with no harm shown, fail
// or marginal as judged, else no verdict yet (none, "undecided"). When the
// evidence starts anew is analysis.NextLook's rule; the look's report says
// (report.evidence.renewed).
//
// The evidence is written after the look, over the revision the look read:
// when another look (a concurrent call, another replica) wrote in between,
// the look merges its references into that evidence if it is the same
// evidence (the stored references win), and otherwise leaves it. The
// look's own answer stands either way. Evidence is never owned: a server
// killed between looks loses nothing, and the next look, on any replica,
// continues it.
//
// A config's version, for the evidence, is a digest of its stored text:
// a PUT of other text starts new evidence, and so does deleting the config
// and storing another under its name (whose version number restarts at 1).

// evidenceLook is one look of an anytime config being judged: the evidence
// it continues and what to write back once it is judged.
type evidenceLook struct {
	config, key, version string
	step                 time.Duration
	// revision is the stored evidence's revision the look read (0: none).
	revision int64
	look     analysis.EvidenceLook
	// end is where the look's data end: its time.
	end time.Time
}

// configVersion is the version of a config's text for its evidence.
func configVersion(text []byte) string {
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:12])
}

// openLook prepares one look at a canary of cfg (a stored config, text its
// stored text) whose plan p ends now: for an anytime config it reads the
// canary's evidence (key), decides what the look continues
// (analysis.NextLook with the look's lookback), and sets the plan's start,
// references and evidence. It returns nil, leaving p alone, for a config
// that is not anytime.
func (r *Runner) openLook(ctx context.Context, cfg *analysis.Config, configName string, text []byte, key string, p *Plan, lookback time.Duration) (*evidenceLook, error) {
	if cfg.Sequential != analysis.SequentialAnytime {
		return nil, nil
	}
	l := &evidenceLook{config: configName, key: key, version: configVersion(text), step: p.Step}
	// Whole seconds: what the store keeps of a start, on every backend.
	now := p.End.Truncate(time.Second)
	var prev *analysis.EvidenceState
	unreadable := ""
	stored, err := r.opt.Store.GetEvidence(ctx, configName, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		l.revision = stored.Revision
		state := analysis.EvidenceState{Version: stored.Version, Step: stored.Step, Start: stored.Start, LastLook: stored.LastLook, Looks: stored.Looks}
		if doc, err := decodeEvidence(stored.References); err != nil {
			unreadable = "the stored evidence could not be read"
			r.log.Warn("the evidence of a canary cannot be read; starting anew", "config", configName, "canary", key, "err", err)
		} else {
			state.References, state.HorizonLooks = doc.References, doc.HorizonLooks
			prev = &state
		}
	}
	l.look, l.end = cfg.NextLook(prev, l.version, now, lookback, p.Step), now
	if l.look.Renewed == "" {
		l.look.Renewed = unreadable
	}
	p.Start, p.End = l.look.Start, now
	p.Anytime = l.look.Anytime
	p.Evidence = &analysis.Evidence{Since: l.look.Start.UTC(), Look: l.look.Look, Horizon: cfg.HorizonOrDefault().String(), Renewed: l.look.Renewed}
	return l, nil
}

// saveEvidence writes the evidence a judged look leaves: the look's start
// and number, and the references of its report added to those it carried
// (a signal's reference, once set, is kept). A failure is logged, not
// returned: the look's answer does not depend on it, and the next look
// starts anew or continues what is stored.
func (r *Runner) saveEvidence(ctx context.Context, l *evidenceLook, rep *analysis.Report) {
	doc := evidenceDoc{References: mergeReferences(l.look.Anytime.References, rep.References())}
	if l.look.Anytime.Known {
		doc.HorizonLooks = maps.Clone(l.look.Anytime.Looks)
		if doc.HorizonLooks == nil {
			doc.HorizonLooks = map[string][]judge.HorizonLook{}
		}
		maps.Copy(doc.HorizonLooks, rep.HorizonLooks)
	}
	e := store.Evidence{Config: l.config, Key: l.key, Version: l.version, Step: l.step, Start: l.look.Start, LastLook: l.end, Looks: l.look.Look}
	revision := l.revision
	ctx = context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		var err error
		if e.References, err = encodeEvidence(doc); err != nil {
			r.log.Error("encode the evidence", "config", l.config, "err", err)
			return
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = r.opt.Store.PutEvidence(wctx, e, revision)
		cancel()
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 3 {
			r.log.Warn("the evidence of a look could not be stored; the next look starts anew or continues what is stored", "config", l.config, "canary", l.key, "err", err)
			return
		}
		// Another look wrote first: join its evidence when it is the same.
		cur, err := r.opt.Store.GetEvidence(ctx, l.config, l.key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			revision = 0
			continue
		case err != nil:
			r.log.Warn("read the evidence again after a concurrent look", "config", l.config, "err", err)
			return
		}
		theirs, err := decodeEvidence(cur.References)
		if cur.Version != e.Version || cur.Step != e.Step || !cur.Start.Equal(e.Start) || err != nil {
			return // it started anew meanwhile: its evidence stands
		}
		doc.References = mergeReferences(theirs.References, doc.References)
		if len(theirs.HorizonLooks) > 0 {
			// Their looks stand: this look, judged on the same looks
			// before it, is not added to them.
			doc.HorizonLooks = theirs.HorizonLooks
		}
		e.Looks = max(cur.Looks+1, e.Looks)
		if cur.LastLook.After(e.LastLook) {
			e.LastLook = cur.LastLook
		}
		revision = cur.Revision
	}
}

// evidenceDoc is the document the store keeps for a canary's evidence
// (store.Evidence.References): each signal's reference information, and,
// for a config whose horizon is known, each signal's looks under it. It is
// written as the bare map of references when there are no looks, as
// before looks were kept, so that evidence stored by either version reads
// in the other.
type evidenceDoc struct {
	References   map[string]float64             `json:"references"`
	HorizonLooks map[string][]judge.HorizonLook `json:"horizonLooks,omitempty"`
}

// decodeEvidence reads a stored evidence document in either form.
func decodeEvidence(b []byte) (evidenceDoc, error) {
	var refs map[string]float64
	if err := json.Unmarshal(b, &refs); err == nil {
		return evidenceDoc{References: refs}, nil
	}
	var doc evidenceDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return evidenceDoc{}, fmt.Errorf("the evidence document: %w", err)
	}
	return doc, nil
}

// encodeEvidence writes an evidence document: the bare map of references
// when it has no looks.
func encodeEvidence(doc evidenceDoc) ([]byte, error) {
	if doc.HorizonLooks == nil {
		return json.Marshal(doc.References)
	}
	if doc.References == nil {
		doc.References = map[string]float64{}
	}
	return json.Marshal(doc)
}

// mergeReferences is first with the references of second it lacks.
func mergeReferences(first, second map[string]float64) map[string]float64 {
	out := maps.Clone(first)
	if out == nil {
		out = make(map[string]float64, len(second))
	}
	for k, v := range second {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// Look judges one synchronous look at the canary of req.Plan, a plan
// whose window ends now, and stores it as an analysis: for a config with
// sequential: anytime (req.Config, a stored config, req.ConfigText its
// stored text) it continues the canary's evidence (revision: the release
// a controller names, if any; lookback: the look's own window; see
// openLook) and writes it back. It returns the analysis id (once stored)
// and the report. The error is ErrInvalid for a request that cannot run.
// When ctx ends first, the analysis is recorded as interrupted.
func (r *Runner) Look(ctx context.Context, req Request, revision string, lookback time.Duration) (string, *analysis.Report, error) {
	look, err := r.openLook(ctx, req.Config, req.ConfigName, req.ConfigText, analysis.EvidenceKey(req.Plan.Scopes, revision), &req.Plan, lookback)
	if err != nil {
		return "", nil, fmt.Errorf("read the evidence of config %s: %w", req.ConfigName, err)
	}
	prep, err := r.prepare(req)
	if err != nil {
		return "", nil, err
	}
	id, err := r.record(ctx, prep, store.Running)
	if err != nil {
		return "", nil, err
	}
	rep, err := r.execute(ctx, id, prep, nil)
	if err != nil {
		return id, nil, err
	}
	if look != nil {
		r.saveEvidence(ctx, look, rep)
	}
	return id, rep, nil
}

// decideLook applies analysis.DecideLook to the report of one look of an
// anytime canary (a plan with evidence), and records the evidence in it.
func decideLook(cfg *analysis.Config, p Plan, rep *analysis.Report) {
	if p.Evidence == nil || rep == nil {
		return
	}
	ev := *p.Evidence
	ev.Undecided = cfg.DecideLook(rep, p.End.Sub(p.Start))
	rep.Evidence = &ev
}
