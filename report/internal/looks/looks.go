// Package looks reads a multi-interval analysis signal by signal, for the
// report's forms to show the same story: at every look, each signal's
// estimated change and the harmful side's bound (analysis.IntervalSignal)
// against its allowance, what it came to at the look where the run
// stopped (failed, shown within its allowance, or not yet), from which
// look, and why the run stopped there.
//
// A signal is shown within its allowance when its bound lies inside it,
// as judge.ShownWithin decides: at most +a when a rise is harmful, at
// least -a when a fall is, and at most a in size for direction either
// (whose bound is the larger side's, a size). The look an outcome is
// dated from is the first of the looks up to the last that all had it:
// a bound that came inside and went out again dates from its return.
package looks

import (
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/cell"
	"github.com/verdict-aca/verdict/judge"
)

// Side says which change of a signal is harmful.
type Side string

// The sides, as the report prints them before an allowance.
const (
	Rise Side = "+"
	Fall Side = "-"
	Both Side = "±"
)

// Look is one signal at one look.
type Look struct {
	// Index numbers the look from 1, End is when its window ended and
	// Elapsed how long after the run's start.
	Index   int
	End     time.Time
	Elapsed time.Duration
	// Shift is the estimated change and Bound the harmful side's bound at
	// the decision level (a size for direction either), both relative or,
	// when the track is in Points, differences of shares; nil when the
	// look had none or it was not finite.
	Shift, Bound   *float64
	Classification judge.Classification
	// Level is the one-sided level the decision used at this look.
	Level float64
}

// Outcome is what a signal came to at the last look.
type Outcome string

// The outcomes.
const (
	// Failed: the signal was too high or too low for its allowance.
	Failed Outcome = "failed"
	// ShownWithin: its bound lay inside the allowance.
	ShownWithin Outcome = "shown-within"
	// NotShown: it had a bound, outside the allowance.
	NotShown Outcome = "not-shown"
	// NoBound: its last look had no bound (no data, a threshold test).
	NoBound Outcome = "no-bound"
)

// Track is one signal over the looks of a run.
type Track struct {
	Name    string
	Side    Side
	Allowed float64 // the allowance's size, on Side
	Points  bool    // changes are differences of shares, not relative
	// Anytime says the bounds are confidence-sequence bounds, valid at
	// every look (sequential: anytime).
	Anytime bool
	Looks   []Look
	Outcome Outcome
	// At indexes Looks: the look the outcome is dated from.
	At int
}

// Stop says where and why a run stopped.
type Stop struct {
	// Look is the index of the run's last look; Early says it stopped
	// before its planned looks, Of (when Early) how many there were.
	Look, Of int
	Early    bool
	// Why is the run's reason for stopping early: "fail", or "every
	// signal is shown within its allowance".
	Why string
}

// stoppedEarly matches what analysis.RunIntervals appends to the reason
// of a run it ends before its last interval.
var stoppedEarly = regexp.MustCompile(`\(stopped early after interval (\d+) of (\d+)(?:: ([^)]*))?\)`)

// RunStop reads where r's run stopped; ok is false when r has no looks.
func RunStop(r *analysis.Report) (s Stop, ok bool) {
	if len(r.Intervals) == 0 {
		return Stop{}, false
	}
	s.Look = r.Intervals[len(r.Intervals)-1].Index
	if m := stoppedEarly.FindStringSubmatch(r.Reason); m != nil {
		s.Early = true
		s.Of, _ = strconv.Atoi(m[2])
		s.Why = m[3]
		if s.Why == "" {
			s.Why = string(r.Verdict)
		}
	}
	return s, true
}

// Tracks returns each signal of r that its looks recorded, in the
// report's order. A report without looks, or whose looks did not record
// their signals (reports written before they did), has none.
func Tracks(r *analysis.Report) []Track {
	if len(r.Intervals) == 0 {
		return nil
	}
	start := r.Intervals[0].Start
	var out []Track
	for _, res := range r.Signals {
		t := Track{Name: res.Name, Side: side(res)}
		if res.Test != nil {
			t.Points, t.Anytime = res.Test.Points, res.Test.AnytimeLevel > 0
		}
		for _, iv := range r.Intervals {
			for _, is := range iv.Signals {
				if is.Name != res.Name {
					continue
				}
				if is.Allowed != 0 { // a look without a test has none
					t.Allowed = math.Abs(is.Allowed)
				}
				t.Looks = append(t.Looks, Look{
					Index: iv.Index, End: iv.End, Elapsed: iv.End.Sub(start),
					Shift: finite(is.Shift), Bound: finite(is.RulesOut),
					Classification: is.Classification, Level: is.Level,
				})
				break
			}
		}
		if len(t.Looks) == 0 {
			continue
		}
		if t.Side == "" {
			t.Side = sideOfBound(t.Looks)
		}
		t.Outcome, t.At = t.outcome()
		out = append(out, t)
	}
	return out
}

// side is the harmful side of a signal, from the direction its test
// recorded, or from what the judge decided when it did not (older reports).
func side(r judge.Result) Side {
	if r.Test != nil {
		switch r.Test.Direction {
		case judge.Increase:
			return Rise
		case judge.Decrease:
			return Fall
		case judge.Either:
			return Both
		}
	}
	return Side(cell.HarmfulSide(r))
}

// sideOfBound guesses the harmful side from the last bound's sign: a
// fall's bound is a change below zero.
func sideOfBound(looks []Look) Side {
	for i := len(looks) - 1; i >= 0; i-- {
		if b := looks[i].Bound; b != nil {
			if *b < 0 {
				return Fall
			}
			return Rise
		}
	}
	return Rise
}

// Within reports whether a look's bound lies inside the allowance.
func (t Track) Within(l Look) bool {
	if l.Bound == nil {
		return false
	}
	if t.Side == Fall {
		return *l.Bound >= -t.Allowed
	}
	return *l.Bound <= t.Allowed
}

// outcomeOf is what a single look says.
func (t Track) outcomeOf(l Look) Outcome {
	switch {
	case l.Classification == judge.High || l.Classification == judge.Low:
		return Failed
	case l.Bound == nil:
		return NoBound
	case t.Within(l):
		return ShownWithin
	}
	return NotShown
}

// outcome is the last look's outcome and the first look of the run of
// looks up to the last that had it.
func (t Track) outcome() (Outcome, int) {
	last := len(t.Looks) - 1
	o := t.outcomeOf(t.Looks[last])
	at := last
	for at > 0 && t.outcomeOf(t.Looks[at-1]) == o {
		at--
	}
	return o, at
}

// Allowance prints the allowance on its side: +10%, -0.5 pp, ±20%.
func (t Track) Allowance() string {
	return cell.Allowance(t.Allowed, t.Points, string(t.Side))
}

// Change prints a change of the track: +4.2%, or -0.25 pp in points.
func (t Track) Change(v float64) string {
	if t.Points {
		return cell.Points(v)
	}
	return cell.Relative(&v)
}

// BoundText prints a look's bound as what it rules out's edge: +7.2%, or
// ±7.2% for direction either.
func (t Track) BoundText(l Look) string {
	if l.Bound == nil {
		return "none"
	}
	if t.Side == Both {
		s := t.Change(math.Abs(*l.Bound))
		return "±" + s[1:]
	}
	return t.Change(*l.Bound)
}

// Mark is the track's outcome as the report's marks: ✘ failed, ✔ shown
// within, ? not (yet) shown or without a bound.
func (t Track) Mark() string {
	switch t.Outcome {
	case Failed:
		return "✘"
	case ShownWithin:
		return "✔"
	}
	return "?"
}

// Line is the track in one line, without its name: "shown within +10% at
// look 4 (20 min), bound +7.2%"; "failed at look 3 (15 min): +28.1%
// against the allowed +10%"; "not shown within +10% by look 4 (20 min),
// bound +18.4%".
func (t Track) Line() string {
	at := t.Looks[t.At]
	last := t.Looks[len(t.Looks)-1]
	switch t.Outcome {
	case Failed:
		s := "failed at " + LookText(at)
		if at.Shift != nil {
			s += ": " + t.Change(*at.Shift) + " against the allowed " + t.Allowance()
		}
		return s
	case ShownWithin:
		return "shown within " + t.Allowance() + " at " + LookText(at) + ", bound " + t.BoundText(last)
	case NotShown:
		return "not shown within " + t.Allowance() + " by " + LookText(last) + ", bound " + t.BoundText(last)
	}
	return "no bound at " + LookText(last) + ": " + string(last.Classification)
}

// LookText names a look with how long after the start it ended: "look 4
// (20 min)".
func LookText(l Look) string {
	return "look " + strconv.Itoa(l.Index) + " (" + Elapsed(l.Elapsed) + ")"
}

// Elapsed prints a duration since the start for a reader: 45 s, 20 min,
// 1 h 5 min, 2 h.
func Elapsed(d time.Duration) string {
	if d < time.Minute-time.Second/2 {
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " s"
	}
	d = d.Round(time.Minute)
	if d < time.Hour {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return strconv.Itoa(h) + " h"
	}
	return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
}

// StopText says where and why the run stopped: "4 of 12 looks, stopped
// early: every signal is shown within its allowance" or "12 looks".
func StopText(s Stop) string {
	if s.Early {
		why := s.Why
		if why == "fail" {
			why = "it failed"
		}
		return strconv.Itoa(s.Look) + " of " + strconv.Itoa(s.Of) + " looks, stopped early: " + why
	}
	if s.Look == 1 {
		return "1 look"
	}
	return strconv.Itoa(s.Look) + " looks"
}

// finite is v when it is a finite number, else nil.
func finite(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	return v
}
