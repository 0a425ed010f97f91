package kayenta

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Standalone (multi-interval) analysis arithmetic, as pure functions of the
// request and a caller-supplied "now" (§7.6 of the reference).

// ErrNoLifetime is returned when a standalone request has neither an end
// time nor a lifetime.
var ErrNoLifetime error = &UpstreamError{Msg: "Canary StageExecution configuration must include either `endTime` or `lifetimeDuration`."}

// lowDataWarning is the warning added to a judgement when a control series
// has fewer than 50 points.
const lowDataWarning = "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score."

// StartTime is scopes[0].startTimeIso, or now when absent.
func (r AnalysisRequest) StartTime(now time.Time) (time.Time, error) {
	if len(r.Scopes) == 0 {
		return time.Time{}, errNoScopes
	}
	if r.Scopes[0].StartTimeIso == "" {
		return now, nil
	}
	t, err := ParseInstant(r.Scopes[0].StartTimeIso)
	if err != nil {
		return time.Time{}, fmt.Errorf("scopes[0].startTimeIso: %w", err)
	}
	return t, nil
}

// EndTime is scopes[0].endTimeIso; ok is false when absent.
func (r AnalysisRequest) EndTime() (t time.Time, ok bool, err error) {
	if len(r.Scopes) == 0 {
		return time.Time{}, false, errNoScopes
	}
	if r.Scopes[0].EndTimeIso == "" {
		return time.Time{}, false, nil
	}
	t, err = ParseInstant(r.Scopes[0].EndTimeIso)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("scopes[0].endTimeIso: %w", err)
	}
	return t, true, nil
}

// LifetimeMinutes is the whole minutes from start to end (truncated) when an
// end is given, else lifetimeDurationMins; neither is ErrNoLifetime.
func LifetimeMinutes(start time.Time, end *time.Time, r AnalysisRequest) (int64, error) {
	if end != nil {
		return int64(end.Sub(start) / time.Minute), nil
	}
	if r.LifetimeDurationMins != nil {
		return *r.LifetimeDurationMins, nil
	}
	return 0, ErrNoLifetime
}

// IntervalMinutes is analysisIntervalMins, or the lifetime when absent, 0 or
// longer than the lifetime.
func IntervalMinutes(r AnalysisRequest, lifetime int64) int64 {
	interval := lifetime
	if r.AnalysisIntervalMins != nil {
		interval = *r.AnalysisIntervalMins
	}
	if interval == 0 || interval > lifetime {
		interval = lifetime
	}
	return interval
}

// judgementCount is floor(lifetime / interval); a zero interval is an error
// (upstream fails the run with a division by zero).
func judgementCount(lifetime, interval int64) (int, error) {
	if interval == 0 {
		return 0, errors.New("analysis interval is zero: the lifetime must be at least one minute")
	}
	n := lifetime / interval
	if n < 0 {
		n = 0
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("%d judgements is too many", n)
	}
	return int(n), nil
}

// Window is a judgement's time range (experiment side).
type Window struct {
	Start, End time.Time
}

// judgementWindow is the window of judgement number judgement (1-based) for
// an interval of intervalMinutes: [start, start + judgement*interval],
// shifted by beginAfterMins when there is no end time (real-time mode), and
// with start = end - lookbackMins when lookbackMins > 0 (sliding window;
// otherwise the window grows).
func judgementWindow(r AnalysisRequest, judgement int, intervalMinutes int64, now time.Time) (Window, error) {
	start, err := r.StartTime(now)
	if err != nil {
		return Window{}, err
	}
	_, hasEnd, err := r.EndTime()
	if err != nil {
		return Window{}, err
	}
	w := Window{Start: start, End: start.Add(time.Duration(int64(judgement)*intervalMinutes) * time.Minute)}
	if !hasEnd {
		warm := time.Duration(r.BeginAfterMins) * time.Minute
		w.Start = w.Start.Add(warm)
		w.End = w.End.Add(warm)
	}
	if r.LookbackMins > 0 {
		w.Start = w.End.Add(-time.Duration(r.LookbackMins) * time.Minute)
	}
	return w, nil
}

// requestScopes builds the /canary execution-request scopes of judgement
// number judgement: one ScopePair per request scope (keyed by its scope
// name), the control window shifted back by controlOffsetInMinutes, and the
// step of scopes[0] applied to all.
func requestScopes(r AnalysisRequest, judgement int, intervalMinutes int64, now time.Time) (map[string]ScopePair, error) {
	w, err := judgementWindow(r, judgement, intervalMinutes, now)
	if err != nil {
		return nil, err
	}
	step := r.Scopes[0].StepSeconds()
	out := make(map[string]ScopePair, len(r.Scopes))
	for _, s := range r.Scopes {
		off := time.Duration(s.ControlOffsetInMinutes) * time.Minute
		out[s.Name()] = ScopePair{
			ControlScope: CanaryScope{Scope: s.ControlScope, Location: s.ControlLocation,
				Start: FormatInstant(w.Start.Add(-off)), End: FormatInstant(w.End.Add(-off)), Step: step,
				ExtendedScopeParams: s.ExtendedScopeParams},
			ExperimentScope: CanaryScope{Scope: s.ExperimentScope, Location: s.ExperimentLocation,
				Start: FormatInstant(w.Start), End: FormatInstant(w.End), Step: step,
				ExtendedScopeParams: s.ExtendedScopeParams},
		}
	}
	return out, nil
}

// Plan is the schedule of a standalone analysis.
type Plan struct {
	LifetimeMinutes int64
	IntervalMinutes int64
	// WarmupMinutes is the initial wait (beginAfterMins), 0 for none.
	WarmupMinutes int64
	// RealTime is true when no end time was given: each judgement waits for
	// its interval to elapse before running.
	RealTime bool
	// Windows are the experiment windows of judgements 1..N.
	Windows []Window
}

// PlanAnalysis computes the whole schedule of a standalone request.
func PlanAnalysis(r AnalysisRequest, now time.Time) (Plan, error) {
	start, err := r.StartTime(now)
	if err != nil {
		return Plan{}, err
	}
	end, hasEnd, err := r.EndTime()
	if err != nil {
		return Plan{}, err
	}
	var endPtr *time.Time
	if hasEnd {
		endPtr = &end
	}
	lifetime, err := LifetimeMinutes(start, endPtr, r)
	if err != nil {
		return Plan{}, err
	}
	interval := IntervalMinutes(r, lifetime)
	n, err := judgementCount(lifetime, interval)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{LifetimeMinutes: lifetime, IntervalMinutes: interval, RealTime: !hasEnd}
	if r.BeginAfterMins > 0 {
		p.WarmupMinutes = r.BeginAfterMins
	}
	for i := 1; i <= n; i++ {
		w, err := judgementWindow(r, i, interval, now)
		if err != nil {
			return Plan{}, err
		}
		p.Windows = append(p.Windows, w)
	}
	return p, nil
}

// intervalPassed is the monitor's rule after each judgement: the run goes on
// only if score > marginal (a score equal to marginal stops it, quirk Q17).
func intervalPassed(score float64, t Thresholds) bool {
	return score > t.Marginal
}

// ResultWarnings returns the warnings of one judgement: lowDataWarning when a
// result's control has fewer than 50 points (skipped for Datadog accounts).
func ResultWarnings(res JudgeResult, datadog bool) []string {
	if datadog {
		return nil
	}
	for _, r := range res.Results {
		if r.ControlMetadata.Stats.Count < 50 {
			return []string{lowDataWarning}
		}
	}
	return nil
}

// aggregatedJudgement is the final decision of a standalone run from the
// score of its last judgement (upstream getAggregatedJudgment). marginal and
// pass may be nil (not set).
func aggregatedJudgement(finalScore float64, marginal, pass *float64) (didPass bool, message string) {
	s := javaDoubleString(finalScore)
	switch {
	case marginal == nil && pass == nil:
		return true, "No score thresholds were specified."
	case marginal != nil && finalScore <= *marginal:
		return false, "Final canary score " + s + " is not above the marginal score threshold."
	case pass == nil:
		return true, "No pass score threshold was specified."
	case finalScore < *pass:
		return false, "Final canary score " + s + " is below the pass score threshold."
	}
	return true, "Final canary score " + s + " met or exceeded the pass score threshold."
}

// AggregateScores is aggregatedJudgement over the ordered judgement scores;
// with no score the run did not pass.
func AggregateScores(scores []float64, t *Thresholds) (didPass bool, message string) {
	if len(scores) == 0 {
		return false, "There were no successful canary judgements to aggregate"
	}
	var marginal, pass *float64
	if t != nil {
		marginal, pass = &t.Marginal, &t.Pass
	}
	return aggregatedJudgement(scores[len(scores)-1], marginal, pass)
}

// javaDoubleString formats f like Java's Double.toString: "100.0", "33.33",
// "1.0E-4", "1.2345678E7", "NaN", "Infinity".
func javaDoubleString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(f)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.dddde±XX
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// ParseInstant parses an ISO-8601 instant such as "2018-12-17T20:56:39.689Z".
func ParseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid ISO-8601 instant %q: %w", s, err)
	}
	return t.UTC(), nil
}

// FormatInstant formats t in UTC like Java's Instant.toString: seconds
// always, fractions in groups of 3 digits only when non-zero.
func FormatInstant(t time.Time) string {
	t = t.UTC()
	base := t.Format("2006-01-02T15:04:05")
	ns := t.Nanosecond()
	switch {
	case ns == 0:
	case ns%1_000_000 == 0:
		base += fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		base += fmt.Sprintf(".%06d", ns/1_000)
	default:
		base += fmt.Sprintf(".%09d", ns)
	}
	return base + "Z"
}
