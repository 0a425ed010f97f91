// Package scoring turns the classifications of many signals into one
// verdict: pass, marginal, fail or none.
//
// The rules, in order:
//
//  0. Control across signals: judge.AdjustFamily applies Holm's step-down
//     procedure to the decision p-values of the canary's tested signals
//     (mann-whitney and rate), in place, before anything is counted. A
//     signal significant on its own but not after adjustment passes (gate
//     multiplicity), and a critical failure needs its adjusted p-value at
//     most judge.CriticalLevelFactor × the level. So an unchanged canary is
//     judged anything but pass with probability at most the decision level
//     (5% at confidence 0.95), however many signals it has, and fail far
//     less often (that needs a critical failure or enough failed signals to
//     bring the score below the marginal threshold). The harness in package
//     quality measures these rates (docs/quality.md).
//  1. A critical failure (a critical signal that failed, or a signal beyond
//     its criticalChange) fails the canary with score 0.
//  2. No data is never a pass: when any critical signal, or half or more of
//     all signals, has no data or could not be judged (nodata, error), the
//     verdict is none and there is no score. A signal with mustHaveData that
//     has no data is a failure, not missing data.
//  3. Otherwise each group scores 100 × passes / judged signals; the score
//     is the weighted mean of the scores of the groups that judged a
//     signal (groups with no judged signal are left out, the remaining
//     weights renormalised).
//  4. score ≥ pass threshold → pass; score ≥ marginal → marginal; else fail.
//     Boundaries are inclusive. Missing data never makes a verdict worse
//     or better than the evidence: a canary below the marginal threshold
//     is marginal, not fail, when it would reach it with every group
//     without data counted as not failed (a group without data showed no
//     harm, and leaving it out made each failure elsewhere weigh more: one
//     failed signal of three judged groups out of four is 66.7, a fail,
//     where the config's weights make one failed group of four 75). Missing
//     data never helps a canary pass: pass needs the score of the judged
//     groups alone. The harness measured the difference (docs/quality.md,
//     the traffic study).
//
// Thresholds are scores from 0 to 100 (Thresholds.Check): a pass threshold
// of 1 or less, or a marginal one above 0 and at most 1, is refused as a
// fraction written for a percentage (pass: 0.95 would pass a canary with
// most of its signals failed).
//
// The package is pure: a function of its inputs.
package scoring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/verdict-aca/verdict/judge"
)

// Verdict is the answer for a whole canary.
type Verdict string

// The verdicts.
const (
	Pass     Verdict = "pass"
	Marginal Verdict = "marginal"
	Fail     Verdict = "fail"
	None     Verdict = "none" // no verdict: too little data, or a source down
)

// Thresholds are the score boundaries, inclusive, on a 0..100 scale.
type Thresholds struct {
	Pass     float64 `yaml:"pass" json:"pass"`
	Marginal float64 `yaml:"marginal" json:"marginal"`
}

// DefaultThresholds are used when a config gives none: pass at 95, marginal at 75.
func DefaultThresholds() Thresholds { return Thresholds{Pass: 95, Marginal: 75} }

// Check reports thresholds that are not scores in the order
// 0 ≤ marginal ≤ pass ≤ 100, and thresholds written as fractions: a pass
// threshold of 1 or less (pass: 0.95 meant 95, and would pass a canary
// whose every signal but one in twenty failed; pass: 0 would pass one whose
// every signal failed), and a marginal threshold above 0 and at most 1
// (0.75 meant 75). A marginal threshold of 0 stays allowed: it means a
// score never fails a canary, only a critical failure does.
func (t Thresholds) Check() error {
	switch {
	case !(t.Pass >= 0 && t.Pass <= 100):
		return fmt.Errorf("pass: %g is outside 0..100", t.Pass)
	case !(t.Marginal >= 0 && t.Marginal <= 100):
		return fmt.Errorf("marginal: %g is outside 0..100", t.Marginal)
	case t.Pass == 0:
		return errors.New("pass: 0 would pass a canary whose every signal failed; thresholds are scores from 0 to 100 (the default pass is 95)")
	case t.Pass <= 1:
		return fractionError("pass", t.Pass)
	case t.Marginal > 0 && t.Marginal <= 1:
		return fractionError("marginal", t.Marginal)
	case t.Marginal > t.Pass:
		return fmt.Errorf("marginal: %g is above the pass threshold %g", t.Marginal, t.Pass)
	}
	return nil
}

// fractionError refuses a threshold written as a fraction of 1.
func fractionError(name string, v float64) error {
	return fmt.Errorf("%s: %g reads as a fraction, but thresholds are scores from 0 to 100; did you mean %s?", name, v, strconv.FormatFloat(100*v, 'g', 10, 64))
}

// Group is a named set of signals with a weight in the overall score.
type Group struct {
	Name   string  `yaml:"name" json:"name"`
	Weight float64 `yaml:"weight" json:"weight"`
}

// DefaultGroup is the group of signals that name none.
const DefaultGroup = "default"

// Spec is the scoring part of a config.
type Spec struct {
	Thresholds Thresholds
	// Groups lists the groups with their weights. A group that results name
	// but Groups omits gets weight 1 when Groups is empty, and is an error
	// otherwise (the config validation prevents it).
	Groups []Group
}

// GroupScore is the outcome of one group.
type GroupScore struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	// Score is 100 × passes / judged; nil when no signal of the group was judged.
	Score *float64 `json:"score"`
	// Signals are the names of the group's signals.
	Signals []string `json:"signals"`
}

// Outcome is the scored verdict.
type Outcome struct {
	Verdict Verdict
	// Score is nil when the verdict is none.
	Score  *float64
	Reason string
	Groups []GroupScore
}

// Score scores the results of one analysis. It first applies
// judge.AdjustFamily to results in place, so that the caller's results
// (shown in reports) and the verdict agree; applying it again is harmless.
func Score(spec Spec, results []judge.Result) Outcome {
	judge.AdjustFamily(results)
	out := Outcome{Groups: groupResults(spec.Groups, results)}

	var critical, failed, missing, missingCritical []string
	for _, r := range results {
		switch {
		case r.CriticalFailure:
			critical = append(critical, r.Name)
		case r.Failed:
			failed = append(failed, r.Name)
		}
		if !r.Failed && (r.Classification == judge.NoData || r.Classification == judge.Error) {
			missing = append(missing, r.Name)
			if r.Critical {
				missingCritical = append(missingCritical, r.Name)
			}
		}
	}

	switch {
	case len(results) == 0:
		out.Verdict, out.Reason = None, "no verdict: the analysis judged no signals"
		return out
	case len(critical) > 0:
		out.Verdict, out.Score = Fail, new(float64)
		out.Reason = fmt.Sprintf("fail: critical %s %s failed: %s", plural(len(critical), "signal", "signals"), names(critical), reasonOf(results, critical[0]))
		return out
	case len(missingCritical) > 0:
		out.Verdict = None
		out.Reason = fmt.Sprintf("no verdict: critical %s %s had no usable data (%s)", plural(len(missingCritical), "signal", "signals"), names(missingCritical), reasonOf(results, missingCritical[0]))
		return out
	case 2*len(missing) >= len(results):
		out.Verdict = None
		out.Reason = fmt.Sprintf("no verdict: %d of %d signals had no usable data (%s)", len(missing), len(results), names(missing))
		return out
	}

	var sum, weights, unjudged float64
	var withoutData []string
	for _, g := range out.Groups {
		if g.Weight <= 0 {
			continue
		}
		if g.Score == nil {
			if len(g.Signals) == 0 {
				continue // a group no signal names
			}
			unjudged += g.Weight
			withoutData = append(withoutData, g.Name)
			continue
		}
		sum += float64(g.Weight * *g.Score)
		weights += g.Weight
	}
	if weights == 0 {
		out.Verdict, out.Reason = None, "no verdict: no group with a positive weight had a judged signal"
		return out
	}
	score := sum / weights
	// The score with every group without data counted as not failed.
	neutral := (sum + float64(100*unjudged)) / (weights + unjudged)
	out.Score = &score
	t := spec.Thresholds
	switch {
	case score >= t.Pass:
		out.Verdict = Pass
		out.Reason = fmt.Sprintf("pass: score %s meets the pass threshold %s", formatScore(score), formatScore(t.Pass))
	case score >= t.Marginal:
		out.Verdict = Marginal
		out.Reason = fmt.Sprintf("marginal: score %s is below the pass threshold %s but meets the marginal threshold %s", formatScore(score), formatScore(t.Pass), formatScore(t.Marginal))
	case neutral >= t.Marginal:
		out.Verdict = Marginal
		out.Score = &neutral
		out.Reason = fmt.Sprintf("marginal: score %s (with %s, which had no data, counted as not failed) is below the pass threshold %s but meets the marginal threshold %s",
			formatScore(neutral), plural(len(withoutData), "group "+names(withoutData), "groups "+names(withoutData)), formatScore(t.Pass), formatScore(t.Marginal))
	default:
		out.Verdict = Fail
		out.Reason = fmt.Sprintf("fail: score %s is below the marginal threshold %s", formatScore(score), formatScore(t.Marginal))
	}
	switch {
	case len(failed) == 1:
		out.Reason += "; " + reasonOf(results, failed[0])
	case len(failed) > 1:
		out.Reason += fmt.Sprintf("; %d signals failed: %s", len(failed), names(failed))
	default:
		out.Reason += fmt.Sprintf("; all %d judged signals passed", len(results)-len(missing))
	}
	if len(missing) > 0 {
		out.Reason += fmt.Sprintf("; no data for %s", names(missing))
	}
	return out
}

// groupResults scores each group, in the order of spec groups, then groups
// that only results name.
func groupResults(spec []Group, results []judge.Result) []GroupScore {
	index := map[string]int{}
	var groups []GroupScore
	add := func(name string, weight float64) int {
		if i, ok := index[name]; ok {
			return i
		}
		index[name] = len(groups)
		groups = append(groups, GroupScore{Name: name, Weight: weight, Signals: []string{}})
		return len(groups) - 1
	}
	for _, g := range spec {
		add(g.Name, g.Weight)
	}
	passes := make([]int, 0, len(spec))
	judged := make([]int, 0, len(spec))
	for _, r := range results {
		name := r.Group
		if name == "" {
			name = DefaultGroup
		}
		i := add(name, 1)
		for len(passes) <= i {
			passes, judged = append(passes, 0), append(judged, 0)
		}
		g := &groups[i]
		g.Signals = append(g.Signals, r.Name)
		switch {
		case r.Failed:
			judged[i]++
		case r.Classification == judge.Pass:
			judged[i]++
			passes[i]++
		}
	}
	for i := range groups {
		if i < len(judged) && judged[i] > 0 {
			s := 100 * float64(passes[i]) / float64(judged[i])
			groups[i].Score = &s
		}
	}
	return groups
}

func reasonOf(results []judge.Result, name string) string {
	for _, r := range results {
		if r.Name == name {
			return r.Reason
		}
	}
	return ""
}

func names(list []string) string {
	const most = 5
	if len(list) > most {
		return strings.Join(list[:most], ", ") + fmt.Sprintf(" and %d more", len(list)-most)
	}
	return strings.Join(list, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// formatScore prints a score with at most two decimals.
func formatScore(s float64) string {
	r := math.Round(s*100) / 100
	return fmt.Sprintf("%g", r)
}

// FailsAlone reports, for each of a canary's signals (groups[i] is the
// group of signal i, "" for the default one), whether an ordinary failure
// of that signal alone, every other signal passing, fails the canary: its
// group's loss brings the score below the marginal threshold, as with a
// canary of one signal. Such a failure costs what a critical failure
// costs, so an anytime run over a known horizon holds it to the critical
// level (judge.Horizon.FailsAlone).
func FailsAlone(spec Spec, groups []string) []bool {
	results := make([]judge.Result, len(groups))
	for i, g := range groups {
		results[i] = judge.Result{Name: fmt.Sprintf("signal %d", i), Group: g, Classification: judge.Pass}
	}
	out := make([]bool, len(groups))
	for i := range results {
		one := slices.Clone(results)
		one[i].Classification, one[i].Failed = judge.High, true
		out[i] = Score(spec, one).Verdict == Fail
	}
	return out
}
