package looks

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
)

var t0 = time.Date(2025, 6, 4, 17, 0, 0, 0, time.UTC)

func f(v float64) *float64 { return &v }

// look is one signal at one look, for building reports by hand.
type look struct {
	class        judge.Classification
	shift, bound *float64
}

// report is a run of len(looks) five-minute looks of one signal with the
// given direction and allowance, growing windows from t0.
func report(dir judge.Direction, allowed float64, points bool, looks []look) *analysis.Report {
	r := &analysis.Report{Reason: "pass"}
	for i, l := range looks {
		r.Intervals = append(r.Intervals, analysis.IntervalResult{
			Index: i + 1, Start: t0, End: t0.Add(time.Duration(i+1) * 5 * time.Minute),
			Signals: []analysis.IntervalSignal{{Name: "s", Classification: l.class, Shift: l.shift, RulesOut: l.bound, Allowed: allowed, Level: 0.001}},
		})
	}
	last := looks[len(looks)-1]
	r.Signals = []judge.Result{{Name: "s", Classification: last.class,
		Test: &judge.TestResult{Direction: dir, Points: points, RelativeShift: last.shift, RulesOut: last.bound, Allowed: f(allowed)}}}
	return r
}

func TestTracks(t *testing.T) {
	pass, high := judge.Pass, judge.High
	tests := []struct {
		name    string
		dir     judge.Direction
		allowed float64
		points  bool
		looks   []look
		outcome Outcome
		at      int // look index the outcome dates from
		line    string
	}{
		{"a rise's bound comes inside, leaves, and returns", judge.Increase, 0.1, false, []look{
			{pass, f(0.01), f(0.3)}, {pass, f(0.02), f(0.08)}, {pass, f(0.03), f(0.12)}, {pass, f(0.01), f(0.09)}, {pass, f(0), f(0.07)},
		}, ShownWithin, 4, "shown within +10% at look 4 (20 min), bound +7.0%"},
		{"a bound exactly at the allowance is within it", judge.Increase, 0.1, false, []look{
			{pass, f(0.01), f(0.1)},
		}, ShownWithin, 1, "shown within +10% at look 1 (5 min), bound +10.0%"},
		{"a fall's bound is below zero", judge.Decrease, 0.1, false, []look{
			{pass, f(0.02), f(-0.2)}, {pass, f(0.01), f(-0.05)},
		}, ShownWithin, 2, "shown within -10% at look 2 (10 min), bound -5.0%"},
		{"a fall's bound beyond the allowance", judge.Decrease, 0.1, false, []look{
			{pass, f(0.02), f(-0.05)}, {pass, f(-0.06), f(-0.12)},
		}, NotShown, 2, "not shown within -10% by look 2 (10 min), bound -12.0%"},
		{"either: the bound is a size on both sides", judge.Either, 0.2, false, []look{
			{pass, f(-0.11), f(0.3)}, {pass, f(-0.11), f(0.25)},
		}, NotShown, 1, "not shown within ±20% by look 2 (10 min), bound ±25.0%"},
		{"a failure dates from the first of the failing looks", judge.Increase, 0.1, false, []look{
			{pass, f(0.3), f(0.6)}, {high, f(0.31), f(0.5)}, {high, f(0.28), f(0.4)},
		}, Failed, 2, "failed at look 2 (10 min): +31.0% against the allowed +10%"},
		{"a failure the run outlived does not count", judge.Increase, 0.1, false, []look{
			{high, f(0.3), f(0.6)}, {pass, f(0.02), f(0.05)},
		}, ShownWithin, 2, "shown within +10% at look 2 (10 min), bound +5.0%"},
		{"no bound at the last look", judge.Increase, 0.1, false, []look{
			{pass, f(0.02), f(0.05)}, {judge.NoData, nil, nil},
		}, NoBound, 2, "no bound at look 2 (10 min): nodata"},
		{"an infinite bound is no bound", judge.Increase, 0.1, false, []look{
			{pass, f(0.02), f(math.Inf(1))},
		}, NoBound, 1, "no bound at look 1 (5 min): pass"},
		{"points", judge.Decrease, 0.005, true, []look{
			{pass, f(-0.001), f(-0.004)},
		}, ShownWithin, 1, "shown within -0.5 pp at look 1 (5 min), bound -0.40 pp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tracks := Tracks(report(tc.dir, tc.allowed, tc.points, tc.looks))
			if len(tracks) != 1 {
				t.Fatalf("%d tracks, want 1", len(tracks))
			}
			tr := tracks[0]
			if tr.Outcome != tc.outcome || tr.Looks[tr.At].Index != tc.at {
				t.Errorf("outcome %s at look %d, want %s at look %d", tr.Outcome, tr.Looks[tr.At].Index, tc.outcome, tc.at)
			}
			if got := tr.Line(); got != tc.line {
				t.Errorf("line %q, want %q", got, tc.line)
			}
		})
	}
}

// TestTracksSide checks that a report whose tests did not record their
// direction still reads the harmful side: from what the judge decided,
// else from the bound's sign.
func TestTracksSide(t *testing.T) {
	r := report(judge.Decrease, 0.1, false, []look{{judge.Pass, f(0.01), f(-0.05)}})
	r.Signals[0].Test.Direction = ""
	if tr := Tracks(r)[0]; tr.Side != Fall || tr.Outcome != ShownWithin {
		t.Errorf("side %q, outcome %s; want - and shown within", tr.Side, tr.Outcome)
	}
	r = report(judge.Increase, 0.1, false, []look{{judge.Pass, f(0.01), f(0.05)}})
	r.Signals[0].Test.Direction = ""
	if tr := Tracks(r)[0]; tr.Side != Rise {
		t.Errorf("side %q; want +", tr.Side)
	}
}

// TestNoTracks checks that reports without looks, or whose looks did not
// record their signals, give no tracks.
func TestNoTracks(t *testing.T) {
	r := report(judge.Increase, 0.1, false, []look{{judge.Pass, f(0.01), f(0.05)}})
	for i := range r.Intervals {
		r.Intervals[i].Signals = nil
	}
	if tr := Tracks(r); len(tr) != 0 {
		t.Errorf("looks without signals: %d tracks", len(tr))
	}
	r.Intervals = nil
	if tr := Tracks(r); len(tr) != 0 {
		t.Errorf("no looks: %d tracks", len(tr))
	}
	if _, ok := RunStop(r); ok {
		t.Error("no looks: a stop")
	}
}

func TestRunStop(t *testing.T) {
	tests := []struct {
		reason, verdict string
		want            Stop
		text            string
	}{
		{"pass: all 3 judged signals passed (stopped early after interval 5 of 12: every signal is shown within its allowance)", "pass",
			Stop{Look: 5, Of: 12, Early: true, Why: "every signal is shown within its allowance"},
			"5 of 12 looks, stopped early: every signal is shown within its allowance"},
		{"fail: latency rose 36% (95% CI +23% .. +47%); allowed +10% [anytime: 15% of the horizon's information, level 0.00046] (stopped early after interval 5 of 12)", "fail",
			Stop{Look: 5, Of: 12, Early: true, Why: "fail"}, "5 of 12 looks, stopped early: it failed"},
		{"pass: all 3 judged signals passed", "pass", Stop{Look: 5}, "5 looks"},
	}
	for _, tc := range tests {
		r := report(judge.Increase, 0.1, false, slices.Repeat([]look{{judge.Pass, f(0), f(0.05)}}, 5))
		r.Reason, r.Verdict = tc.reason, "pass"
		if tc.verdict == "fail" {
			r.Verdict = "fail"
		}
		got, ok := RunStop(r)
		if !ok || got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.reason, got, tc.want)
		}
		if s := StopText(got); s != tc.text {
			t.Errorf("%q: %q, want %q", tc.reason, s, tc.text)
		}
	}
}

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30 s", 59*time.Second + 800*time.Millisecond: "1 min", 5 * time.Minute: "5 min", 59*time.Minute + 40*time.Second: "1 h",
		time.Hour: "1 h", 65 * time.Minute: "1 h 5 min", 26 * time.Hour: "26 h",
	} {
		if got := Elapsed(d); got != want {
			t.Errorf("Elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestTracksOfRuns reads runs of analysis.RunIntervals with sequential:
// anytime and checks that each track's outcome at the last look is the
// judge's: shown within exactly when judge.ShownWithin holds for the
// signal's last result, failed exactly when it was too high or too low.
func TestTracksOfRuns(t *testing.T) {
	cfg, err := analysis.ParseConfig("shop.yaml", []byte(reporttest.SequentialConfig))
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]struct {
		scenario           reporttest.Scenario
		lifetime, interval time.Duration
		why                string
	}{
		"healthy":   {reporttest.Scenario{}, time.Hour, 5 * time.Minute, "every signal is shown within its allowance"},
		"slow":      {reporttest.Scenario{"latency": 1.15}, time.Hour, 5 * time.Minute, "fail"},
		"undecided": {reporttest.Scenario{"latency": 1.08, "cpu": 0.9}, 20 * time.Minute, 5 * time.Minute, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := reporttest.Sequential(run.scenario, run.lifetime, run.interval)
			if err != nil {
				t.Fatal(err)
			}
			stop, _ := RunStop(r)
			if stop.Why != run.why || stop.Look != len(r.Intervals) || stop.Early != (run.why != "") {
				t.Errorf("stop %+v after %d looks, want an early stop for %q", stop, len(r.Intervals), run.why)
			}
			tracks := Tracks(r)
			if len(tracks) != len(cfg.Signals) {
				t.Fatalf("%d tracks, want %d", len(tracks), len(cfg.Signals))
			}
			var outcomes []Outcome
			for i, tr := range tracks {
				res := r.Signals[i]
				if tr.Name != res.Name || len(tr.Looks) != len(r.Intervals) || !tr.Anytime {
					t.Errorf("track %s with %d looks (anytime %v), want %s with %d anytime looks", tr.Name, len(tr.Looks), tr.Anytime, res.Name, len(r.Intervals))
				}
				if want := judge.ShownWithin(cfg.Signals[i].Spec, res); (tr.Outcome == ShownWithin) != want {
					t.Errorf("%s: outcome %s, judge.ShownWithin %v", tr.Name, tr.Outcome, want)
				}
				if want := res.Classification == judge.High || res.Classification == judge.Low; (tr.Outcome == Failed) != want {
					t.Errorf("%s: outcome %s, classification %s", tr.Name, tr.Outcome, res.Classification)
				}
				if !strings.HasPrefix(tr.Line(), map[Outcome]string{Failed: "failed at look", ShownWithin: "shown within", NotShown: "not shown within", NoBound: "no bound"}[tr.Outcome]) {
					t.Errorf("%s: line %q for outcome %s", tr.Name, tr.Line(), tr.Outcome)
				}
				outcomes = append(outcomes, tr.Outcome)
			}
			switch name {
			case "healthy":
				if slices.ContainsFunc(outcomes, func(o Outcome) bool { return o != ShownWithin }) {
					t.Errorf("a run that stopped on every signal shown within: outcomes %v", outcomes)
				}
			case "slow":
				if outcomes[0] != Failed {
					t.Errorf("a run that failed on latency: outcomes %v", outcomes)
				}
			}
		})
	}
}
