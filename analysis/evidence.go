package analysis

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// Evidence of a canary judged one look at a time.
//
// A rollout controller (Argo Rollouts' web provider, Flagger's webhooks)
// and a schedule ask about the same canary again and again, each call one
// look. With sequential: anytime, the looks share evidence: each judges
// all the data since the evidence started, with every signal's reference
// information from the look that first judged it (judge.Anytime), so that
// its decision holds however often the canary is looked at. A config whose
// horizon is known (sequential: {mode: anytime, horizon: 1h}) also keeps
// each signal's looks under it (judge.Horizon), which its boundary is
// computed from. The evidence is
// identified by the config and the canary (EvidenceKey), stored between the
// looks (verdict serve keeps it in its store), and bounded (NextLook):
//
//   - a look under another version of the config, or at another step,
//     starts new evidence: the references are on the scale of the old
//     config's tests and the old step's points;
//   - a look more than the config's horizon after the previous one starts
//     new evidence: the canary it continued has ended, and another one with
//     the same scopes is being judged;
//   - a look that would judge more than EvidenceWindow starts new evidence:
//     what a look queries stays bounded (at most twice the horizon, or
//     twice the look's own lookback when that is longer, never more than
//     MaxEvidenceWindow, and never more than MaxPoints points per query).
//
// Each new start restarts the guarantee: over n evidence periods of one
// canary, the chance of a false fail is at most n times the level.

// MaxEvidenceWindow is the longest time the looks of one evidence judge:
// data older than this is never queried again, and evidence not looked at
// for this long can never be continued (verdict serve deletes it).
const MaxEvidenceWindow = 24 * time.Hour

// evidenceHorizons is how many horizons (or lookbacks) evidence may cover.
const evidenceHorizons = 2

// EvidenceKey is the identity of a canary within a config: its two scopes
// as JSON with sorted keys, and the revision being rolled out when the
// controller names it (Flagger's checksum), so that two releases with the
// same scopes are two canaries.
func EvidenceKey(scopes Scopes, revision string) string {
	k := struct {
		Baseline metrics.Scope `json:"baseline"`
		Canary   metrics.Scope `json:"canary"`
		Revision string        `json:"revision,omitempty"`
	}{scopes.Baseline, scopes.Canary, revision}
	if k.Baseline == nil {
		k.Baseline = metrics.Scope{}
	}
	if k.Canary == nil {
		k.Canary = metrics.Scope{}
	}
	b, _ := json.Marshal(k) // strings and maps of strings always encode
	return string(b)
}

// EvidenceState is the stored evidence a look may continue.
type EvidenceState struct {
	// Version is the config's version it was gathered under.
	Version string
	// Step is its looks' query step (0: the source's choice).
	Step time.Duration
	// Start is where the data every look judges begin; LastLook is when
	// the last look was judged.
	Start, LastLook time.Time
	// Looks counts the looks so far.
	Looks int
	// References is each signal's reference information (judge.Anytime).
	References map[string]float64
	// HorizonLooks, for a config whose horizon is known, are each signal's
	// looks under it (judge.Horizon).
	HorizonLooks map[string][]judge.HorizonLook
}

// EvidenceLook is what one look judges: the window from Start to the look's
// time, with the evidence it carries over.
type EvidenceLook struct {
	Start time.Time
	// Look numbers the look within its evidence, from 1.
	Look int
	// Renewed says why the look starts new evidence where there was some
	// ("" when it continues the evidence, or there was none).
	Renewed string
	// Anytime is the look's references and share of the horizon.
	Anytime *AnytimeLook
}

// EvidenceWindow is the longest time the looks of one evidence may judge at
// a step (0: the source's choice) for looks of lookback: twice the horizon,
// or twice the lookback when that is longer, at most MaxEvidenceWindow and
// MaxPoints steps.
func (c *Config) EvidenceWindow(lookback, step time.Duration) time.Duration {
	w := evidenceHorizons * max(c.HorizonOrDefault(), lookback)
	w = min(w, MaxEvidenceWindow)
	if step > 0 {
		w = min(w, step*MaxPoints)
	}
	return w
}

// NextLook decides what a look at now continues: prev's evidence (nil:
// none stored), unless it was gathered under another config version or
// step, its last look is more than a horizon ago, or continuing it would
// judge more than EvidenceWindow; then new evidence starts at now −
// lookback. version is the config's version now, step the look's.
func (c *Config) NextLook(prev *EvidenceState, version string, now time.Time, lookback, step time.Duration) EvidenceLook {
	horizon := c.HorizonOrDefault()
	known := c.KnownHorizon > 0
	fresh := EvidenceLook{Start: now.Add(-lookback), Look: 1,
		Anytime: &AnytimeLook{Fraction: float64(lookback) / float64(horizon), Known: known}}
	if prev == nil {
		return fresh
	}
	limit := c.EvidenceWindow(lookback, step)
	switch {
	case prev.Version != version:
		fresh.Renewed = "the config changed since the evidence started"
	case prev.Step != step:
		fresh.Renewed = fmt.Sprintf("the step changed from %s to %s", stepText(prev.Step), stepText(step))
	case now.Sub(prev.LastLook) > horizon:
		fresh.Renewed = fmt.Sprintf("the last look was %s ago, more than the horizon of %s: a new canary", now.Sub(prev.LastLook).Round(time.Second), horizon)
	case now.Before(prev.Start):
		fresh.Renewed = "the evidence starts after this look"
	case now.Sub(prev.Start) > limit:
		fresh.Renewed = fmt.Sprintf("the evidence would cover %s, more than the %s one evidence may", now.Sub(prev.Start).Round(time.Second), limit)
	default:
		return EvidenceLook{Start: prev.Start, Look: prev.Looks + 1, Anytime: &AnytimeLook{
			References: prev.References, Fraction: float64(now.Sub(prev.Start)) / float64(horizon),
			Known: known, Looks: prev.HorizonLooks}}
	}
	return fresh
}

func stepText(d time.Duration) string {
	if d == 0 {
		return "the source's choice"
	}
	return d.String()
}

// Evidence is, in the report of one look of an anytime canary, the evidence
// the look judged.
type Evidence struct {
	// Since is where the data the look judged begin.
	Since time.Time `json:"since"`
	// Look numbers the look within its evidence, from 1.
	Look int `json:"look"`
	// Horizon is the config's horizon.
	Horizon string `json:"horizon"`
	// Renewed says why the look started new evidence where there was some.
	Renewed string `json:"renewed,omitempty"`
	// Undecided is set when the verdict is none only because the evidence
	// is too short yet: no harm is shown, and not every signal is shown
	// within its allowance (DecideLook).
	Undecided bool `json:"undecided,omitempty"`
}

// DecideLook makes the report of one look of an anytime canary say what the
// look decided, its data covering elapsed: a fail or marginal stands (the
// anytime-valid decision); a pass stands once every signal is shown within
// its allowance, or once elapsed reaches the horizon with no harm shown;
// before, a pass is "no verdict yet" (verdict none). It reports whether
// the look is undecided: its verdict is none only because the evidence is
// short (that, or signals that require evidence and are not shown within
// their allowance yet), not because data are missing.
func (c *Config) DecideLook(rep *Report, elapsed time.Duration) (undecided bool) {
	horizon := c.HorizonOrDefault()
	switch rep.Verdict {
	case scoring.Pass:
		short := c.notShownWithin(rep)
		if len(short) == 0 || elapsed >= horizon {
			return false
		}
		rep.Verdict, rep.Score = scoring.None, nil
		rep.Reason = fmt.Sprintf("no verdict yet: no harm shown in %s of the %s horizon, but %s not yet shown within %s allowance",
			elapsed.Round(time.Second), horizon, strings.Join(short, ", "), plural(len(short), "its", "their"))
		return true
	case scoring.None:
		var waiting []string
		for _, r := range rep.Signals {
			switch {
			case r.Classification != judge.NoData && r.Classification != judge.Error:
			case r.Gate == judge.GateUndecided:
				waiting = append(waiting, r.Name)
			default:
				return false // missing or bad data: no verdict, not "not yet"
			}
		}
		if len(waiting) == 0 {
			return false
		}
		rep.Reason = fmt.Sprintf("no verdict yet: no harm shown in %s, but %s not yet shown within %s allowance, which %s (requireEvidence)",
			elapsed.Round(time.Second), strings.Join(waiting, ", "), plural(len(waiting), "its", "their"), plural(len(waiting), "it needs", "they need"))
		return true
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// notShownWithin names the judged signals of a report that are not shown
// within their allowance (judge.ShownWithin) and did not move the harmless
// way: an anytime analysis may stop on a pass, as sure of it as of a fail,
// only when there are none.
func (c *Config) notShownWithin(rep *Report) []string {
	var out []string
	for i, r := range rep.Signals {
		if i >= len(c.Signals) {
			return append(out, r.Name)
		}
		if r.Gate == judge.GateDirection || r.Gate == judge.GateIdentical || r.Gate == judge.GateThreshold && !r.Failed {
			continue
		}
		if !judge.ShownWithin(c.Signals[i].Spec, r) {
			out = append(out, r.Name)
		}
	}
	return out
}
