package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/scoring"
)

// fakeSource answers from a function of (signal, track, window) and records the windows asked.
type fakeSource struct {
	mu      sync.Mutex
	answer  func(signal, track string, w metrics.Window) (metrics.Result, error)
	windows []metrics.Window
}

func (f *fakeSource) Fetch(_ context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	f.mu.Lock()
	f.windows = append(f.windows, w)
	f.mu.Unlock()
	res, err := f.answer(q.Signal, scope["track"], w)
	if scope["track"] == "canary" {
		// Two deployments never export the very same series; an identical
		// answer would be (rightly) taken for a scope that selects nothing.
		for i, s := range res.Series {
			v := slices.Clone(s.Values)
			for j := range v {
				v[j] *= 1 + 1e-9*math.Sin(float64(j))
			}
			res.Series[i].Values = v
		}
	}
	return res, err
}

// wave is a deterministic series of n points around level with some spread.
func wave(n int, level float64) metrics.Series {
	s := metrics.Series{Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = level * (1 + 0.1*math.Sin(float64(i)*1.7) + 0.05*math.Cos(float64(i)*0.31))
	}
	return s
}

const liveConfig = `name: shop
signals:
  - name: latency
    query: 'avg(latency{track="{{.track}}"})'
    direction: increase
    allowedChange: 10%
  - name: cpu
    query: 'avg(cpu{track="{{.track}}"})'
`

var scopes = Scopes{Baseline: metrics.Scope{"track": "baseline"}, Canary: metrics.Scope{"track": "canary"}}

func liveWindow() metrics.Window {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	return metrics.Window{Start: start, End: start.Add(time.Hour), Step: 10 * time.Second}
}

func TestRunLive(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte(liveConfig))
	if err != nil {
		t.Fatal(err)
	}
	down := &query.Error{Signal: "latency", Query: "avg(...)", Kind: query.KindUnavailable, Err: errors.New("HTTP 503: service unavailable")}
	tests := []struct {
		name    string
		answer  func(signal, track string, w metrics.Window) (metrics.Result, error)
		verdict scoring.Verdict
		latency judge.Classification
		reason  string
	}{
		{"healthy", func(string, string, metrics.Window) (metrics.Result, error) {
			return metrics.Result{Series: []metrics.Series{wave(360, 100)}}, nil
		}, scoring.Pass, judge.Pass, ""},
		{"slow canary", func(sig, track string, _ metrics.Window) (metrics.Result, error) {
			level := 100.0
			if sig == "latency" && track == "canary" {
				level = 150
			}
			return metrics.Result{Series: []metrics.Series{wave(360, level)}}, nil
		}, scoring.Fail, judge.High, "latency rose"},
		{"source down is never a pass", func(sig, track string, _ metrics.Window) (metrics.Result, error) {
			if sig == "latency" && track == "canary" {
				return metrics.Result{}, down
			}
			return metrics.Result{Series: []metrics.Series{wave(360, 100)}}, nil
		}, scoring.None, judge.Error, "canary query failed: signal latency: HTTP 503"},
		{"empty result is nodata", func(sig, track string, _ metrics.Window) (metrics.Result, error) {
			if sig == "latency" && track == "baseline" {
				return metrics.Result{}, nil
			}
			return metrics.Result{Series: []metrics.Series{wave(360, 100)}}, nil
		}, scoring.None, judge.NoData, "the baseline query returned no series for track=baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{answer: tt.answer}
			rep, err := Run(context.Background(), cfg, SourceSet{"prometheus": src}, LiveRequest{Scopes: scopes, Window: liveWindow()})
			if err != nil {
				t.Fatal(err)
			}
			lat := rep.Signals[0]
			if rep.Verdict != tt.verdict || lat.Classification != tt.latency {
				t.Errorf("verdict %s, latency %s (%s); want %s, %s", rep.Verdict, lat.Classification, lat.Reason, tt.verdict, tt.latency)
			}
			if !strings.Contains(lat.Reason, tt.reason) {
				t.Errorf("latency reason %q lacks %q", lat.Reason, tt.reason)
			}
			if len(src.windows) != 4 || rep.Window == nil || rep.Scopes == nil {
				t.Errorf("%d queries, window %v, scopes %v; want 4 queries and both recorded", len(src.windows), rep.Window, rep.Scopes)
			}
		})
	}
}

func TestCheckLive(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte(liveConfig))
	if err != nil {
		t.Fatal(err)
	}
	src := SourceSet{"prometheus": &fakeSource{}}
	if err := cfg.CheckLive(src, Scopes{Baseline: metrics.Scope{"app": "a"}, Canary: metrics.Scope{"app": "b"}}); err == nil || !strings.Contains(err.Error(), "signals[0].query") {
		t.Errorf("a scope without track: got %v, want an error naming signals[0].query", err)
	}
	if err := cfg.CheckLive(SourceSet{}, scopes); err == nil || !strings.Contains(err.Error(), "no prometheus source is configured") {
		t.Errorf("no source: got %v", err)
	}
	offline, _ := ParseConfig("f.yaml", []byte("signals: [{name: a}]\n"))
	if err := offline.CheckLive(src, scopes); err == nil || !strings.Contains(err.Error(), "can only be judged from files") {
		t.Errorf("no query: got %v", err)
	}
}

// fakeClock starts at now and jumps forward when asked to sleep.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) SleepUntil(_ context.Context, t time.Time) error {
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

func TestRunIntervals(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte(liveConfig))
	if err != nil {
		t.Fatal(err)
	}
	start := liveWindow().Start
	// The canary degrades 32 minutes in: the third 15-minute interval sees it.
	degrading := func(sig, track string, w metrics.Window) (metrics.Result, error) {
		n := int(w.End.Sub(w.Start) / (10 * time.Second))
		s := wave(n, 100)
		if sig == "latency" && track == "canary" {
			for i := range s.Values {
				if w.Start.Add(time.Duration(i) * 10 * time.Second).After(start.Add(32 * time.Minute)) {
					s.Values[i] *= 2
				}
			}
		}
		return metrics.Result{Series: []metrics.Series{s}}, nil
	}
	t.Run("sliding windows stop at the first fail", func(t *testing.T) {
		src := &fakeSource{answer: degrading}
		clock := &fakeClock{now: start}
		var progress []int
		req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Hour, Interval: 15 * time.Minute, Lookback: 15 * time.Minute, Clock: clock,
			Progress: func(done, total int, _ IntervalResult) { progress = append(progress, done*10+total) }}
		rep, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": src}, req)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != scoring.Fail || len(rep.Intervals) != 3 || !strings.Contains(rep.Reason, "stopped early after interval 3 of 4") {
			t.Fatalf("verdict %s after %d intervals (%s); want fail at interval 3 of 4", rep.Verdict, len(rep.Intervals), rep.Reason)
		}
		if rep.Intervals[0].Verdict != "pass" || rep.Intervals[1].Verdict != "pass" {
			t.Errorf("intervals %+v: want the first two to pass", rep.Intervals)
		}
		if w := rep.Intervals[2]; !w.Start.Equal(start.Add(30*time.Minute)) || !w.End.Equal(start.Add(45*time.Minute)) {
			t.Errorf("third window %v .. %v, want 12:30 .. 12:45", w.Start, w.End)
		}
		if !clock.now.Equal(start.Add(45 * time.Minute)) {
			t.Errorf("clock at %v: the run should have waited for the end of each interval", clock.now)
		}
		if len(progress) != 3 || progress[2] != 34 {
			t.Errorf("progress calls %v", progress)
		}
	})
	t.Run("growing windows", func(t *testing.T) {
		src := &fakeSource{answer: func(string, string, metrics.Window) (metrics.Result, error) {
			return metrics.Result{Series: []metrics.Series{wave(100, 100)}}, nil
		}}
		req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Hour, Interval: 20 * time.Minute, Clock: &fakeClock{now: start.Add(24 * time.Hour)}}
		rep, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": src}, req)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != scoring.Pass || len(rep.Intervals) != 3 {
			t.Fatalf("verdict %s with %d intervals", rep.Verdict, len(rep.Intervals))
		}
		for i, w := range rep.Intervals {
			if !w.Start.Equal(start) || !w.End.Equal(start.Add(time.Duration(i+1)*20*time.Minute)) {
				t.Errorf("interval %d: %v .. %v, want a window growing from the start", i+1, w.Start, w.End)
			}
		}
	})
}

// heldClock is a fakeClock that records, at every wait, whether the run
// held what Acquire gave it.
type heldClock struct {
	fakeClock
	held       *int
	heldAtWait []int
}

func (c *heldClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.heldAtWait = append(c.heldAtWait, *c.held)
	return c.fakeClock.SleepUntil(ctx, t)
}

// TestRunIntervalsAcquire checks that a multi-interval run takes what
// Acquire gives only for each judgement: one acquire and one release per
// interval, nothing held while it waits for the next interval, and an
// acquire that fails (its context ended) ends the run with that error.
func TestRunIntervalsAcquire(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte(liveConfig))
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{answer: func(string, string, metrics.Window) (metrics.Result, error) {
		return metrics.Result{Series: []metrics.Series{wave(60, 100)}}, nil
	}}
	held, acquired := 0, 0
	clock := &heldClock{fakeClock: fakeClock{now: liveWindow().Start}, held: &held}
	req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Hour, Interval: 15 * time.Minute, Clock: clock,
		Acquire: func(context.Context) (func(), error) {
			held++
			acquired++
			return func() { held-- }, nil
		}}
	if _, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": src}, req); err != nil {
		t.Fatal(err)
	}
	if acquired != 4 || held != 0 {
		t.Errorf("acquired %d times, %d still held; want 4 judgements, all released", acquired, held)
	}
	if want := []int{0, 0, 0, 0}; !slices.Equal(clock.heldAtWait, want) {
		t.Errorf("held at each wait: %v; want %v (nothing held while waiting)", clock.heldAtWait, want)
	}

	refused := errors.New("no worker before the deadline")
	req.Acquire = func(context.Context) (func(), error) { return nil, refused }
	req.Clock = &fakeClock{now: liveWindow().Start}
	if _, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": src}, req); !errors.Is(err, refused) {
		t.Errorf("a refused acquire: %v; want its error", err)
	}
}

func TestRunLiveKayenta(t *testing.T) {
	const config = `name: shop
judge: kayenta
confidence: 0.98
signals:
  - name: latency
    query: 'avg(latency{track="{{.track}}"})'
    direction: increase
  - name: cpu
    query: 'avg(cpu{track="{{.track}}"})'
`
	cfg, err := ParseConfig("shop.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	healthy := func(string, string, metrics.Window) (metrics.Result, error) {
		return metrics.Result{Series: []metrics.Series{wave(360, 100)}}, nil
	}
	rep, err := Run(context.Background(), cfg, SourceSet{"prometheus": &fakeSource{answer: healthy}}, LiveRequest{Scopes: scopes, Window: liveWindow()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Judge != JudgeKayenta || rep.Verdict != scoring.Pass || rep.Kayenta == nil {
		t.Fatalf("judge %s verdict %s kayenta result %v; want a kayenta pass with its judgeResult", rep.Judge, rep.Verdict, rep.Kayenta)
	}
	down := func(sig, track string, w metrics.Window) (metrics.Result, error) {
		if sig == "cpu" && track == "canary" {
			return metrics.Result{}, &query.Error{Signal: sig, Query: "avg(cpu)", Kind: query.KindTimeout, Err: errors.New("timeout after 10s")}
		}
		return healthy(sig, track, w)
	}
	rep, err = Run(context.Background(), cfg, SourceSet{"prometheus": &fakeSource{answer: down}}, LiveRequest{Scopes: scopes, Window: liveWindow()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != scoring.None || rep.Score != nil || rep.Signals[1].Classification != judge.Error || !strings.Contains(rep.Signals[1].Reason, "timeout after 10s") {
		t.Errorf("a failed query in kayenta mode: verdict %s, cpu %s (%s); want none and an error naming the timeout", rep.Verdict, rep.Signals[1].Classification, rep.Signals[1].Reason)
	}
}

// TestRunIntervalsSequential checks that a sequential config spends the
// decision level across the looks of a multi-interval run, so every look
// but the last decides at a stricter level than a single judgement would.
func TestRunIntervalsSequential(t *testing.T) {
	healthy := func(string, string, metrics.Window) (metrics.Result, error) {
		return metrics.Result{Series: []metrics.Series{wave(90, 100)}}, nil
	}
	levels := func(config string) []float64 {
		cfg, err := ParseConfig("shop.yaml", []byte(config))
		if err != nil {
			t.Fatal(err)
		}
		var got []float64
		start := liveWindow().Start
		for looks := 1; looks <= 4; looks++ {
			req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Duration(looks) * 15 * time.Minute,
				Interval: 15 * time.Minute, Clock: &fakeClock{now: start.Add(24 * time.Hour)}}
			rep, err := RunIntervals(context.Background(), cfg, SourceSet{"prometheus": &fakeSource{answer: healthy}}, req)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rep.Signals[0].Test.DecisionLevel)
		}
		return got
	}
	plain := levels(liveConfig)
	sequential := levels(strings.Replace(liveConfig, "name: shop\n", "name: shop\nsequential: true\n", 1))
	for i := range plain {
		if plain[i] != plain[0] {
			t.Errorf("without sequential, the last look of %d decides at %g, not %g", i+1, plain[i], plain[0])
		}
	}
	if sequential[0] != plain[0] {
		t.Errorf("a single look decides at %g in sequential mode, %g otherwise", sequential[0], plain[0])
	}
	for i := 1; i < len(sequential); i++ {
		if !(sequential[i] < plain[i]) {
			t.Errorf("the last of %d sequential looks decides at %g, want below %g", i+1, sequential[i], plain[i])
		}
	}
}

// TestRunIntervalsAnytime: an anytime analysis judges all its data at
// every look, stops early on a fail, stops early on a pass once every
// signal is shown within its allowance, and takes no sliding lookback.
func TestRunIntervalsAnytime(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte("name: shop\nsequential: anytime\nsignals:\n"+
		"  - {name: latency, query: 'avg(latency{track=\"{{.track}}\"})', direction: increase, allowedChange: 10%}\n"+
		"  - {name: cpu, query: 'avg(cpu{track=\"{{.track}}\"})', direction: increase, allowedChange: 20%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := liveWindow().Start
	// Each series' noise is drawn once, so that the queries, which run
	// concurrently, read it without sharing a generator and every look
	// sees the same points as the looks before it.
	r := rand.New(rand.NewPCG(1, 2))
	noise := map[string][]float64{}
	for _, key := range []string{"latency/baseline", "latency/canary", "cpu/baseline", "cpu/canary"} {
		noise[key] = make([]float64, 2*int(time.Hour/(10*time.Second)))
		for i := range noise[key] {
			noise[key][i] = 0.05 * r.NormFloat64()
		}
	}
	answer := func(slower float64) func(sig, track string, w metrics.Window) (metrics.Result, error) {
		return func(sig, track string, w metrics.Window) (metrics.Result, error) {
			n := int(w.End.Sub(w.Start) / (10 * time.Second))
			first := int(w.Start.Sub(start) / (10 * time.Second))
			s := metrics.Series{Values: make([]float64, n)}
			for i := range s.Values {
				s.Values[i] = 100 * (1 + noise[sig+"/"+track][first+i])
				if track == "canary" && sig == "latency" {
					s.Values[i] *= slower
				}
			}
			return metrics.Result{Series: []metrics.Series{s}}, nil
		}
	}
	run := func(slower float64, lookback time.Duration) (*Report, error) {
		src := &fakeSource{answer: answer(slower)}
		req := IntervalRequest{LiveRequest: LiveRequest{Scopes: scopes, Window: liveWindow()}, Lifetime: time.Hour, Interval: 5 * time.Minute,
			Lookback: lookback, Clock: &fakeClock{now: start}}
		return RunIntervals(context.Background(), cfg, SourceSet{"prometheus": src}, req)
	}
	healthy, err := run(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if healthy.Verdict != scoring.Pass || len(healthy.Intervals) >= 12 || !strings.Contains(healthy.Reason, "every signal is shown within its allowance") {
		t.Errorf("healthy: %s after %d of 12 intervals (%s); want a pass before the end", healthy.Verdict, len(healthy.Intervals), healthy.Reason)
	}
	for _, s := range healthy.Signals {
		if s.Test == nil || s.Test.Reference <= 0 || s.Test.AnytimeLevel <= 0 || s.Test.AnytimeLevel >= 0.05 {
			t.Errorf("%s: test figures %+v; want the reference and an anytime level below 5%%", s.Name, s.Test)
		}
	}
	slow, err := run(1.3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if slow.Verdict != scoring.Fail || len(slow.Intervals) >= 12 {
		t.Errorf("30%% slower: %s after %d of 12 intervals; want a fail before the end", slow.Verdict, len(slow.Intervals))
	}
	if _, err := run(1, 10*time.Minute); err == nil || !strings.Contains(err.Error(), "takes no lookback") {
		t.Errorf("anytime with a lookback: %v; want an error", err)
	}
}

// sourceFunc is a metrics.Source made of a function.
type sourceFunc func(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error)

func (f sourceFunc) Fetch(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
	return f(ctx, q, scope, w)
}

// TestRunUnanswered: with FailUnanswered, a source that answered none of
// its queries ends the judgement with an *UnansweredError naming it and the
// first failure; a source that answered some, or answered that a query is
// wrong, does not. With Timeout, queries left unanswered when it passes do.
func TestRunUnanswered(t *testing.T) {
	cfg, err := ParseConfig("two.yaml", []byte(`name: two
signals:
  - name: latency
    query: 'avg(latency{track="{{.track}}"})'
  - name: errors
    source: loki
    query: 'sum(count_over_time({app="shop", track="{{.track}}"} |= "error" [{{.step}}]))'
`))
	if err != nil {
		t.Fatal(err)
	}
	fail := func(kind query.Kind, msg string) sourceFunc {
		return func(_ context.Context, q metrics.Query, _ metrics.Scope, _ metrics.Window) (metrics.Result, error) {
			return metrics.Result{}, &query.Error{Signal: q.Signal, Query: q.Expr, Kind: kind, Err: errors.New(msg)}
		}
	}
	healthy := sourceFunc(func(_ context.Context, q metrics.Query, scope metrics.Scope, _ metrics.Window) (metrics.Result, error) {
		s := wave(360, 100)
		if scope["track"] == "canary" {
			s.Values[0]++
		}
		return metrics.Result{Series: []metrics.Series{s}}, nil
	})
	baselineOnly := sourceFunc(func(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
		if scope["track"] == "canary" {
			return fail(query.KindUnavailable, "HTTP 503")(ctx, q, scope, w)
		}
		return healthy(ctx, q, scope, w)
	})
	hangsOnCanary := sourceFunc(func(ctx context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
		if scope["track"] == "canary" {
			<-ctx.Done()
			return metrics.Result{}, &query.Error{Signal: q.Signal, Kind: query.KindCanceled, Err: fmt.Errorf("gave up: %w", ctx.Err())}
		}
		return healthy(ctx, q, scope, w)
	})
	tests := []struct {
		name         string
		prom, loki   metrics.Source
		failAll      bool
		timeout      time.Duration
		source       string // the source the error names; "" for a report
		answered     int
		err, verdict string
	}{
		{name: "both answer", prom: healthy, loki: healthy, failAll: true, verdict: "pass"},
		{name: "prometheus refuses connections", prom: fail(query.KindUnavailable, "prometheus unreachable: connection refused"), loki: healthy, failAll: true,
			source: "prometheus", err: "source prometheus answered none of its 2 queries for the window 2026-11-01T12:00:00Z .. 2026-11-01T13:00:00Z (step 10s): prometheus unreachable: connection refused"},
		{name: "loki answers 404 to everything", prom: healthy, loki: fail(query.KindRejected, "HTTP 404: 404 page not found"), failAll: true,
			source: "loki", err: "source loki answered none of its 2 queries"},
		{name: "a wrong answer", prom: fail(query.KindBadResponse, "bad_response: readObjectStart"), loki: healthy, failAll: true, source: "prometheus", err: "bad_response"},
		{name: "some answers are answers", prom: baselineOnly, loki: healthy, failAll: true, verdict: "none"},
		{name: "a bad query is an answer", prom: fail(query.KindBadQuery, "bad_data: parse error"), loki: healthy, failAll: true, verdict: "none"},
		{name: "not asked to fail", prom: fail(query.KindUnavailable, "HTTP 503"), loki: fail(query.KindUnavailable, "HTTP 503"), verdict: "none"},
		{name: "the timeout passes first", prom: hangsOnCanary, loki: healthy, timeout: 50 * time.Millisecond,
			source: "prometheus", answered: 1, err: "the judgement did not finish within 50ms: source prometheus answered 1 of its 2 queries for the window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
			defer cancel()
			rep, err := Run(ctx, cfg, SourceSet{"prometheus": tt.prom, "loki": tt.loki}, LiveRequest{Scopes: scopes, Window: liveWindow(), FailUnanswered: tt.failAll, Timeout: tt.timeout})
			if tt.source == "" {
				if err != nil || string(rep.Verdict) != tt.verdict {
					t.Fatalf("Run: %v, %v; want a report with verdict %s", rep, err, tt.verdict)
				}
				return
			}
			var ue *UnansweredError
			if !errors.As(err, &ue) || ue.Source != tt.source || ue.Answered != tt.answered || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Run: %v (%#v); want an *UnansweredError for %s (%d answered) containing %q", err, ue, tt.source, tt.answered, tt.err)
			}
			if rep != nil {
				t.Errorf("a report came with the error: %+v", rep)
			}
		})
	}
}

// TestRunRendersTheCheckedTemplates: Run hands each query the template its
// source's language parsed while checking it, so the fetch renders it
// without parsing again; a source whose language does not parse once gets
// the text alone.
func TestRunRendersTheCheckedTemplates(t *testing.T) {
	cfg, err := ParseConfig("shop.yaml", []byte(liveConfig))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		source func(metrics.Source) metrics.Source
		parsed bool
	}{
		{"PromQL", func(s metrics.Source) metrics.Source { return s }, true},
		{"a language that does not parse once", func(s metrics.Source) metrics.Source { return textOnly{s} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var problems []string
			src := sourceFunc(func(_ context.Context, q metrics.Query, scope metrics.Scope, w metrics.Window) (metrics.Result, error) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case !tc.parsed && q.Template != nil:
					problems = append(problems, q.Signal+": a template the source's language did not parse")
				case tc.parsed && (q.Template == nil || q.Template.Expr() != q.Expr || !q.Template.ParsedBy(query.PromQL{})):
					problems = append(problems, fmt.Sprintf("%s: template %v, not the query's own parsed by PromQL", q.Signal, q.Template))
				case tc.parsed:
					got, err := metrics.RenderQuery(query.PromQL{}, q, scope, w)
					want, wantErr := query.Render(q.Expr, scope, w)
					if got != want || err != nil || wantErr != nil {
						problems = append(problems, fmt.Sprintf("%s: rendered %q (%v), Render %q (%v)", q.Signal, got, err, want, wantErr))
					}
				}
				return metrics.Result{Series: []metrics.Series{wave(360, 100)}}, nil
			})
			if _, err := Run(context.Background(), cfg, SourceSet{"prometheus": tc.source(src)}, LiveRequest{Scopes: scopes, Window: liveWindow()}); err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// textOnly is a source whose language validates and renders text only
// (PromQL's rules without Parse).
type textOnly struct{ metrics.Source }

func (textOnly) Language() metrics.Language { return textLanguage{} }

type textLanguage struct{}

func (textLanguage) Validate(expr string, keys []string) error { return query.Validate(expr, keys) }
func (textLanguage) Render(expr string, scope metrics.Scope, w metrics.Window) (string, error) {
	return query.Render(expr, scope, w)
}
