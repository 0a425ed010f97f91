package analysis

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

func TestEvidenceKey(t *testing.T) {
	key := func(b, c metrics.Scope, rev string) string { return EvidenceKey(Scopes{Baseline: b, Canary: c}, rev) }
	base := key(metrics.Scope{"app": "shop", "track": "stable"}, metrics.Scope{"track": "canary", "app": "shop"}, "")
	if want := `{"baseline":{"app":"shop","track":"stable"},"canary":{"app":"shop","track":"canary"}}`; base != want {
		t.Errorf("key %s; want %s (sorted, canonical)", base, want)
	}
	for _, tc := range []struct {
		name string
		b, c metrics.Scope
		rev  string
		same bool
	}{
		{"the same scopes built in another order", metrics.Scope{"track": "stable", "app": "shop"}, metrics.Scope{"app": "shop", "track": "canary"}, "", true},
		{"sides swapped", metrics.Scope{"track": "canary", "app": "shop"}, metrics.Scope{"app": "shop", "track": "stable"}, "", false},
		{"a value holding separators", metrics.Scope{"app": "shop,track=stable"}, metrics.Scope{"app": "shop", "track": "canary"}, "", false},
		{"another revision", metrics.Scope{"app": "shop", "track": "stable"}, metrics.Scope{"app": "shop", "track": "canary"}, "abc", false},
	} {
		if got := key(tc.b, tc.c, tc.rev); (got == base) != tc.same {
			t.Errorf("%s: key %s, same as %s: %v; want %v", tc.name, got, base, got == base, tc.same)
		}
	}
	if key(nil, nil, "") != key(metrics.Scope{}, metrics.Scope{}, "") {
		t.Error("nil and empty scopes have different keys")
	}
}

func TestNextLook(t *testing.T) {
	parse := func(horizon string) *Config {
		t.Helper()
		text := "name: shop\nsequential: anytime\n"
		if horizon != "" {
			text += "horizon: " + horizon + "\n"
		}
		cfg, err := ParseConfig("shop.yaml", []byte(text+"signals:\n  - {name: latency, query: 'x{track=\"{{.track}}\"}'}\n"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	refs := map[string]float64{"latency": 420}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	state := func(start, last time.Duration) *EvidenceState {
		return &EvidenceState{Version: "v1", Step: 15 * time.Second, Start: ago(start), LastLook: ago(last), Looks: 4, References: refs}
	}
	for _, tc := range []struct {
		name     string
		horizon  string
		prev     *EvidenceState
		version  string
		lookback time.Duration
		step     time.Duration
		// continues: the look continues prev; else it starts anew at now −
		// lookback, saying why when renewed names it.
		continues bool
		renewed   string
		fraction  float64
	}{
		{name: "no evidence yet", prev: nil, version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, fraction: 5.0 / 60},
		{name: "the next look", prev: state(20*time.Minute, 5*time.Minute), version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, continues: true, fraction: 20.0 / 60},
		{name: "the config changed", prev: state(20*time.Minute, 5*time.Minute), version: "v2", lookback: 5 * time.Minute, step: 15 * time.Second, renewed: "config changed", fraction: 5.0 / 60},
		{name: "the step changed", prev: state(20*time.Minute, 5*time.Minute), version: "v1", lookback: 5 * time.Minute, step: 0, renewed: "step changed from 15s to the source's choice", fraction: 5.0 / 60},
		{name: "a gap longer than the horizon", prev: state(90*time.Minute, 61*time.Minute), version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, renewed: "last look was 1h1m0s ago", fraction: 5.0 / 60},
		{name: "a gap within the horizon", prev: state(90*time.Minute, 59*time.Minute), version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, continues: true, fraction: 1.5},
		{name: "twice the horizon reached", prev: state(121*time.Minute, time.Minute), version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, renewed: "more than the 2h0m0s", fraction: 5.0 / 60},
		{name: "a longer horizon lets it grow", horizon: "2h", prev: state(121*time.Minute, time.Minute), version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, continues: true, fraction: 121.0 / 120},
		{name: "a lookback longer than the horizon", prev: state(5*time.Hour, time.Minute), version: "v1", lookback: 3 * time.Hour, step: 15 * time.Second, continues: true, fraction: 5},
		{name: "never beyond a day", horizon: "20h", prev: state(25*time.Hour, time.Minute), version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, renewed: "more than the 24h0m0s", fraction: 5.0 / 1200},
		{name: "never beyond the points a query may ask", horizon: "2h", prev: &EvidenceState{Version: "v1", Step: time.Second, Start: ago(3*time.Hour + 10*time.Minute), LastLook: ago(time.Minute), Looks: 9, References: refs},
			version: "v1", lookback: 5 * time.Minute, step: time.Second, renewed: "more than the 3h3m20s", fraction: 5.0 / 120},
		{name: "evidence that starts later", prev: &EvidenceState{Version: "v1", Step: 15 * time.Second, Start: now.Add(time.Minute), LastLook: now, Looks: 1},
			version: "v1", lookback: 5 * time.Minute, step: 15 * time.Second, renewed: "starts after this look", fraction: 5.0 / 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(tc.horizon).NextLook(tc.prev, tc.version, now, tc.lookback, tc.step)
			if got.Anytime == nil || !near(got.Anytime.Fraction, tc.fraction) {
				t.Fatalf("anytime look %+v; want a fraction of %g", got.Anytime, tc.fraction)
			}
			if tc.continues {
				if !got.Start.Equal(tc.prev.Start) || got.Look != tc.prev.Looks+1 || got.Renewed != "" || got.Anytime.References["latency"] != 420 {
					t.Errorf("look %+v; want the evidence continued from %v, look %d, with its references", got, tc.prev.Start, tc.prev.Looks+1)
				}
				return
			}
			if !got.Start.Equal(now.Add(-tc.lookback)) || got.Look != 1 || len(got.Anytime.References) != 0 {
				t.Errorf("look %+v; want new evidence from now − %s", got, tc.lookback)
			}
			if tc.renewed == "" && got.Renewed != "" || !strings.Contains(got.Renewed, tc.renewed) {
				t.Errorf("renewed %q; want %q", got.Renewed, tc.renewed)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestDecideLook judges single looks of an anytime canary on live-shaped
// data and checks what DecideLook makes of their reports: a fail stands; a
// pass stands once every signal is shown within its allowance or the
// horizon is reached; before, it is no verdict yet (undecided); missing
// data are no verdict, never undecided.
func TestDecideLook(t *testing.T) {
	const signals = "signals:\n" +
		"  - {name: latency, query: 'avg(latency{track=\"{{.track}}\"})', direction: increase, allowedChange: 10%}\n" +
		"  - {name: cpu, query: 'avg(cpu{track=\"{{.track}}\"})', direction: increase, allowedChange: 20%}\n"
	anytime, err := ParseConfig("shop.yaml", []byte("name: shop\nsequential: anytime\n"+signals))
	if err != nil {
		t.Fatal(err)
	}
	evidence, err := ParseConfig("shop.yaml", []byte("name: shop\nsequential: anytime\nrequireEvidence: true\n"+signals))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(slower float64, canary bool) func(sig, track string, w metrics.Window) (metrics.Result, error) {
		return func(sig, track string, w metrics.Window) (metrics.Result, error) {
			if track == "canary" && !canary {
				return metrics.Result{}, nil
			}
			r := rand.New(rand.NewPCG(uint64(len(sig)), uint64(len(track))))
			n := int(w.End.Sub(w.Start) / (10 * time.Second))
			s := metrics.Series{Values: make([]float64, n)}
			for i := range s.Values {
				s.Values[i] = 100 * (1 + 0.05*r.NormFloat64())
				if track == "canary" && sig == "latency" {
					s.Values[i] *= slower
				}
			}
			return metrics.Result{Series: []metrics.Series{s}}, nil
		}
	}
	start := liveWindow().Start
	for _, tc := range []struct {
		name          string
		cfg           *Config
		slower        float64
		canaryData    bool
		window        time.Duration // the data the look judges
		elapsed       time.Duration // the time DecideLook is told they cover
		want          scoring.Verdict
		wantUndecided bool
		reason        string
	}{
		{"a short healthy look has no verdict yet", anytime, 1, true, 2 * time.Minute, 2 * time.Minute, scoring.None, true, "no verdict yet: no harm shown in 2m0s of the 1h0m0s horizon, but latency not yet shown within its allowance"},
		{"the same look at the horizon passes", anytime, 1, true, 2 * time.Minute, time.Hour, scoring.Pass, false, ""},
		{"a long healthy look is shown within", anytime, 1, true, 40 * time.Minute, 40 * time.Minute, scoring.Pass, false, ""},
		{"a regression fails before the horizon", anytime, 1.3, true, 10 * time.Minute, 10 * time.Minute, scoring.Fail, false, ""},
		{"no canary data is no verdict, not undecided", anytime, 1, false, 40 * time.Minute, 40 * time.Minute, scoring.None, false, ""},
		{"signals that require evidence wait for it", evidence, 1, true, 2 * time.Minute, 2 * time.Minute, scoring.None, true, "no verdict yet: no harm shown in 2m0s, but latency not yet shown within its allowance, which it needs (requireEvidence)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{answer: answer(tc.slower, tc.canaryData)}
			w := liveWindow()
			w.End = start.Add(tc.window)
			rep, err := Run(context.Background(), tc.cfg, SourceSet{"prometheus": src}, LiveRequest{Scopes: scopes, Window: w})
			if err != nil {
				t.Fatal(err)
			}
			before := rep.Verdict
			undecided := tc.cfg.DecideLook(rep, tc.elapsed)
			if rep.Verdict != tc.want || undecided != tc.wantUndecided || !strings.Contains(rep.Reason, tc.reason) {
				t.Errorf("judged %s, decided %s (undecided %v): %s\nwant %s (undecided %v) with %q", before, rep.Verdict, undecided, rep.Reason, tc.want, tc.wantUndecided, tc.reason)
			}
			if rep.Verdict == scoring.None && rep.Score != nil {
				t.Errorf("no verdict with score %v", *rep.Score)
			}
		})
	}
	// A report whose signal failed to judge is never undecided.
	rep := &Report{Verdict: scoring.None, Signals: []judge.Result{{Name: "latency", Classification: judge.NoData, Gate: judge.GateUndecided}, {Name: "cpu", Classification: judge.Error, Gate: judge.GateSource}}}
	if anytime.DecideLook(rep, time.Minute) {
		t.Error("a look with a failed query is undecided; want no verdict")
	}
}

// pointsSince answers every query with one point every 10 s from base, the
// same values for the same times however the windows fall: noise around
// 100 (5%), the canary's latency slower by slower from regressAt on, and
// nothing for the signal "late" before lateFrom.
func pointsSince(base, regressAt, lateFrom time.Time, slower float64) func(sig, track string, w metrics.Window) (metrics.Result, error) {
	return func(sig, track string, w metrics.Window) (metrics.Result, error) {
		var s metrics.Series
		seed := uint64(len(sig))*31 + uint64(len(track))
		for t := w.Start; t.Before(w.End); t = t.Add(10 * time.Second) {
			if sig == "late" && t.Before(lateFrom) {
				continue
			}
			i := uint64(t.Sub(base) / (10 * time.Second))
			v := 100 * (1 + 0.05*rand.New(rand.NewPCG(seed, i)).NormFloat64())
			if track == "canary" && sig == "latency" && !t.Before(regressAt) {
				v *= slower
			}
			s.Values, s.Times = append(s.Values, v), append(s.Times, t)
		}
		return metrics.Result{Series: []metrics.Series{s}}, nil
	}
}

// TestRunIntervalsAnytimeLateSignal: a signal without data at the first
// look sets its reference at the look that first judges it, from the share
// of the lifetime that look's window covers (not the first look's share).
func TestRunIntervalsAnytimeLateSignal(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte("name: shop\nsequential: anytime\nsignals:\n"+
		"  - {name: latency, query: 'avg(latency{track=\"{{.track}}\"})', direction: increase, allowedChange: 1%}\n"+
		"  - {name: late, query: 'avg(late{track=\"{{.track}}\"})', direction: increase, allowedChange: 1%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := liveWindow().Start
	answer := pointsSince(start, start.Add(time.Hour), start.Add(10*time.Minute), 1)
	req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Hour, Interval: 5 * time.Minute, Clock: &fakeClock{now: start}}
	rep, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": &fakeSource{answer: answer}}, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Intervals) < 3 {
		t.Fatalf("%d intervals: %s", len(rep.Intervals), rep.Reason)
	}
	if _, ok := rep.Intervals[1].References["late"]; ok {
		t.Fatalf("late has a reference before it has data: %v", rep.Intervals[1].References)
	}
	// The third look (15 minutes, a quarter of the lifetime) judges late first.
	w := liveWindow()
	w.End = start.Add(15 * time.Minute)
	third, err := Run(context.Background(), cfg, SourceSet{"prometheus": &fakeSource{answer: answer}}, LiveRequest{Scopes: scopes, Window: w, Anytime: &AnytimeLook{Fraction: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	want := third.References()["late"]
	if got := rep.Intervals[2].References["late"]; want <= 0 || got != want {
		t.Errorf("late's reference %v; want %v, its information at 15 minutes over a quarter of the lifetime", got, want)
	}
}

// TestRunIntervalsResume: a resumed anytime run keeps the judgements it
// recorded and judges again from the last of them on, with its stored
// references and looks under its lifetime (it queries no window that ended
// before), and ends as the uninterrupted run does; recorded judgements
// that do not fit the run are judged anew from the first, and those
// recorded before runs knew their lifetime resume with the mixture.
func TestRunIntervalsResume(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte("name: shop\nsequential: anytime\nsignals:\n"+
		"  - {name: latency, query: 'avg(latency{track=\"{{.track}}\"})', direction: increase, allowedChange: 0.5%}\n"+
		"  - {name: cpu, query: 'avg(cpu{track=\"{{.track}}\"})', direction: increase, allowedChange: 0.5%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := liveWindow().Start
	answer := pointsSince(start, start.Add(20*time.Minute), start.Add(-time.Hour), 1.15)
	run := func(done []IntervalResult) (*Report, []IntervalResult, *fakeSource) {
		t.Helper()
		src := &fakeSource{answer: answer}
		var progress []IntervalResult
		req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Hour, Interval: 5 * time.Minute,
			Clock: &fakeClock{now: start}, Done: done, Progress: func(_, _ int, r IntervalResult) { progress = append(progress, r) }}
		rep, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": src}, req)
		if err != nil {
			t.Fatal(err)
		}
		return rep, progress, src
	}
	whole, recorded, _ := run(nil)
	if whole.Verdict != scoring.Fail || len(whole.Intervals) < 5 || len(whole.Intervals) == 12 {
		t.Fatalf("uninterrupted: %s after %d intervals (%s); want a fail after the regression, before the end", whole.Verdict, len(whole.Intervals), whole.Reason)
	}
	t.Logf("uninterrupted: %s after %d of 12 intervals", whole.Verdict, len(whole.Intervals))
	same := func(name string, rep *Report) {
		t.Helper()
		if rep.Verdict != whole.Verdict || rep.Reason != whole.Reason || len(rep.Intervals) != len(whole.Intervals) {
			t.Fatalf("%s: %s after %d intervals (%s); want %s after %d (%s)", name, rep.Verdict, len(rep.Intervals), rep.Reason, whole.Verdict, len(whole.Intervals), whole.Reason)
		}
		for i, ir := range rep.Intervals {
			w := whole.Intervals[i]
			if ir.Verdict != w.Verdict || ir.Reason != w.Reason || !ir.End.Equal(w.End) || len(ir.References) != len(w.References) {
				t.Errorf("%s: interval %d %+v; want %+v", name, i+1, ir, w)
			}
			for k, v := range w.References {
				if ir.References[k] != v {
					t.Errorf("%s: interval %d reference of %s %v; want %v", name, i+1, k, ir.References[k], v)
				}
			}
		}
		for i, s := range rep.Signals {
			if s.Test == nil || whole.Signals[i].Test == nil || s.Test.Reference != whole.Signals[i].Test.Reference || *s.Test.PValue != *whole.Signals[i].Test.PValue {
				t.Errorf("%s: %s's final test differs from the uninterrupted run's", name, s.Name)
			}
		}
	}
	// Stopped after the third judgement was recorded.
	rep, progress, src := run(recorded[:3])
	same("resumed after 3", rep)
	if progress[0].Index != 3 {
		t.Errorf("the resumed run reported interval %d first; want 3, judged again", progress[0].Index)
	}
	for _, w := range src.windows {
		if w.End.Before(start.Add(15 * time.Minute)) {
			t.Errorf("the resumed run queried %v–%v, before its last recorded judgement", w.Start, w.End)
		}
	}
	// Recorded judgements of another run (other windows) are not kept.
	moved := slices.Clone(recorded[:3])
	for i := range moved {
		moved[i].End = moved[i].End.Add(time.Minute)
	}
	rep, _, src = run(moved)
	same("resumed from judgements of another run", rep)
	if src.windows[0].End != start.Add(5*time.Minute) {
		t.Errorf("judgements that do not fit were kept: the first window queried ends at %v", src.windows[0].End)
	}
	// The run knows its lifetime: every judgement records each signal's
	// looks under it, one per judgement so far, at its share of the hour.
	for i, ir := range whole.Intervals {
		if ir.Horizon == nil || len(ir.Horizon.Looks["latency"]) != i+1 || ir.Horizon.Looks["latency"][i].Elapsed != float64(i+1)/12 {
			t.Fatalf("interval %d: horizon %+v; want %d looks of latency, the last at %g of the lifetime", i+1, ir.Horizon, i+1, float64(i+1)/12)
		}
	}
	if !strings.Contains(whole.Signals[0].Reason, "known horizon") {
		t.Errorf("the last judgement's reason %q does not name the known horizon", whole.Signals[0].Reason)
	}
	// Judgements recorded before runs knew their lifetime (no horizon)
	// resume with the mixture boundary they were judged with.
	old := slices.Clone(recorded[:3])
	for i := range old {
		old[i].Horizon = nil
	}
	rep, _, _ = run(old)
	for _, s := range rep.Signals {
		if strings.Contains(s.Reason, "known horizon") || !strings.Contains(s.Reason, "[anytime: ") {
			t.Errorf("resumed from judgements without a horizon: %s judged %q; want the mixture boundary", s.Name, s.Reason)
		}
	}
	if rep.Intervals[len(rep.Intervals)-1].Horizon != nil {
		t.Error("resumed from judgements without a horizon, the run recorded one")
	}
}

// TestDocumentedSequentialConfigs: every config docs/integrations.md shows
// (a YAML block that starts with name:) is valid as written, and one of
// them is sequential: anytime.
func TestDocumentedSequentialConfigs(t *testing.T) {
	anytime := 0
	for _, b := range yamlBlocks(t, filepath.Join("..", "docs", "integrations.md")) {
		if !strings.HasPrefix(b, "name:") {
			continue
		}
		cfg, err := ParseConfig("integrations.md", []byte(b))
		if err != nil {
			t.Errorf("a config of docs/integrations.md does not parse: %v\n%s", err, b)
			continue
		}
		if cfg.Sequential == SequentialAnytime {
			anytime++
		}
	}
	if anytime == 0 {
		t.Error("docs/integrations.md shows no sequential: anytime config")
	}
}
