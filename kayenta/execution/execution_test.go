package execution

import (
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/kayenta"
)

func i64(v int64) *int64 { return &v }

// TestKayentaPlan: an execution request's thresholds must be ones Verdict
// can honour (Argo Rollouts' kayenta provider sends 0/0 when its metric has
// no threshold, which passed every canary), and its window's ends move back
// to multiples of the step, keeping its length, so that its counts cover
// whole steps.
func TestKayentaPlan(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	req := func(start, end string, step int64, pass, marginal float64) kayenta.ExecutionRequest {
		s := kayenta.CanaryScope{Scope: "s", Start: start, End: end, Step: step}
		e := s
		e.Scope = "e"
		return kayenta.ExecutionRequest{Scopes: map[string]kayenta.ScopePair{"default": {ControlScope: s, ExperimentScope: e}},
			Thresholds: &kayenta.Thresholds{Pass: pass, Marginal: marginal}}
	}
	at := func(h, m, s int) time.Time { return time.Date(2024, 1, 1, h, m, s, 0, ist) }
	for _, tc := range []struct {
		name       string
		req        kayenta.ExecutionRequest
		start, end time.Time
		err        string
	}{
		{"aligned", req("2024-01-01T05:40:00+05:30", "2024-01-01T05:45:00+05:30", 60, 95, 75), at(5, 40, 0), at(5, 45, 0), ""},
		{"now−5m .. now, as Argo sends it: 5 whole minutes", req("2024-01-01T05:40:31+05:30", "2024-01-01T05:45:31+05:30", 60, 95, 75), at(5, 40, 0), at(5, 45, 0), ""},
		{"no step: the source's minute", req("2024-01-01T05:40:31+05:30", "2024-01-01T05:45:31+05:30", 0, 95, 75), at(5, 40, 0), at(5, 45, 0), ""},
		{"a 15 s step", req("2024-01-01T05:40:31+05:30", "2024-01-01T06:20:31+05:30", 15, 95, 75), at(5, 40, 30), at(6, 20, 30), ""},
		{"shorter than a step: left as it is", req("2024-01-01T05:40:10+05:30", "2024-01-01T05:40:50+05:30", 60, 95, 75), at(5, 40, 10), at(5, 40, 50), ""},
		{"Argo's thresholds without threshold: 0/0", req("2024-01-01T05:40:00+05:30", "2024-01-01T05:45:00+05:30", 60, 0, 0), time.Time{}, time.Time{},
			"thresholds.pass: 0 would pass every canary whatever its score; send the score out of 100 a canary needs, such as 95 (Argo Rollouts' kayenta provider sends 0 when its metric sets no threshold: add threshold: {pass: 95, marginal: 75})"},
		{"a fraction", req("2024-01-01T05:40:00+05:30", "2024-01-01T05:45:00+05:30", 60, 0.95, 0.75), time.Time{}, time.Time{}, "thresholds.pass: 0.95 is a score out of 100 (did you mean 95?)"},
		{"above 100", req("2024-01-01T05:40:00+05:30", "2024-01-01T05:45:00+05:30", 60, 101, 75), time.Time{}, time.Time{}, "thresholds.pass: 101 is above 100, the highest score"},
		{"marginal above pass", req("2024-01-01T05:40:00+05:30", "2024-01-01T05:45:00+05:30", 60, 75, 95), time.Time{}, time.Time{}, "thresholds.marginal: 95 must be from 0 to the pass score, 75"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := CanaryPlan(tc.req)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !p.Start.Equal(tc.start) || !p.End.Equal(tc.end) {
				t.Errorf("window %s .. %s, want %s .. %s", p.Start, p.End, tc.start, tc.end)
			}
		})
	}
}

// TestStandalonePlan checks the windows against Kayenta's
// SetupAndExecuteCanariesStage, worked by hand: lifetime is the whole
// minutes from start to end (else lifetimeDurationMins), the interval
// defaults to the lifetime and is cut to it, there are
// floor(lifetime / interval) judgements ending at start + i × interval,
// beginAfterMins shifts the windows only when there is no end time.
func TestStandalonePlan(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	base := kayenta.AnalysisScope{ControlScope: "b", ExperimentScope: "c"}
	with := func(f func(*kayenta.AnalysisScope)) []kayenta.AnalysisScope {
		s := base
		f(&s)
		return []kayenta.AnalysisScope{s}
	}
	th := &kayenta.Thresholds{Pass: 95, Marginal: 75}
	at := func(h, m, s int) time.Time { return time.Date(2024, 3, 1, h, m, s, 0, time.UTC) }
	for _, tc := range []struct {
		name                         string
		req                          kayenta.AnalysisRequest
		start                        time.Time
		lifetime, interval, lookback time.Duration
		step                         time.Duration
		err                          string
	}{
		{name: "end time, 3 judgements",
			req: kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) {
				s.StartTimeIso, s.EndTimeIso = "2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"
			}), Thresholds: th, AnalysisIntervalMins: i64(20)},
			start: at(10, 0, 0), lifetime: time.Hour, interval: 20 * time.Minute, step: time.Minute},
		{name: "59.5 minutes are 59, two 20-minute judgements",
			req: kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) {
				s.StartTimeIso, s.EndTimeIso = "2024-03-01T10:00:00Z", "2024-03-01T10:59:30Z"
			}), Thresholds: th, AnalysisIntervalMins: i64(20)},
			start: at(10, 0, 0), lifetime: 40 * time.Minute, interval: 20 * time.Minute, step: time.Minute},
		{name: "real time with warm-up: starts at now + beginAfterMins",
			req:   kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) { s.Step = i64(30) }), Thresholds: th, LifetimeDurationMins: i64(30), AnalysisIntervalMins: i64(10), BeginAfterMins: 5},
			start: at(12, 5, 0), lifetime: 30 * time.Minute, interval: 10 * time.Minute, step: 30 * time.Second},
		{name: "warm-up is ignored with an end time",
			req: kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) {
				s.StartTimeIso, s.EndTimeIso = "2024-03-01T10:00:00Z", "2024-03-01T10:30:00Z"
			}), Thresholds: th, BeginAfterMins: 5},
			start: at(10, 0, 0), lifetime: 30 * time.Minute, interval: 30 * time.Minute, step: time.Minute},
		{name: "interval longer than the lifetime is the lifetime; sliding lookback",
			req:   kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) { s.StartTimeIso = "2024-03-01T09:00:00.5+01:00" }), Thresholds: th, LifetimeDurationMins: i64(15), AnalysisIntervalMins: i64(60), LookbackMins: 5},
			start: time.Date(2024, 3, 1, 8, 0, 0, 5e8, time.UTC), lifetime: 15 * time.Minute, interval: 15 * time.Minute, lookback: 5 * time.Minute, step: time.Minute},
		{name: "no scope", req: kayenta.AnalysisRequest{Thresholds: th, LifetimeDurationMins: i64(10)}, err: "must contain at least one scope"},
		{name: "two scopes", req: kayenta.AnalysisRequest{Scopes: []kayenta.AnalysisScope{base, base}, Thresholds: th, LifetimeDurationMins: i64(10)}, err: "one scope pair"},
		{name: "no thresholds", req: kayenta.AnalysisRequest{Scopes: with(func(*kayenta.AnalysisScope) {}), LifetimeDurationMins: i64(10)}, err: "thresholds"},
		{name: "thresholds 0/0", req: kayenta.AnalysisRequest{Scopes: with(func(*kayenta.AnalysisScope) {}), Thresholds: &kayenta.Thresholds{}, LifetimeDurationMins: i64(10)}, err: "thresholds.pass: 0 would pass every canary"},
		{name: "a fractional pass", req: kayenta.AnalysisRequest{Scopes: with(func(*kayenta.AnalysisScope) {}), Thresholds: &kayenta.Thresholds{Pass: 0.9, Marginal: 0.5}, LifetimeDurationMins: i64(10)}, err: "did you mean 90?"},
		{name: "control offset", req: kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) { s.ControlOffsetInMinutes = 10 }), Thresholds: th, LifetimeDurationMins: i64(10)}, err: "controlOffsetInMinutes"},
		{name: "no lifetime", req: kayenta.AnalysisRequest{Scopes: with(func(*kayenta.AnalysisScope) {}), Thresholds: th}, err: "either `endTime` or `lifetimeDuration`"},
		{name: "under a minute", req: kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) {
			s.StartTimeIso, s.EndTimeIso = "2024-03-01T10:00:00Z", "2024-03-01T10:00:50Z"
		}), Thresholds: th}, err: "lifetime"},
		{name: "missing experiment scope", req: kayenta.AnalysisRequest{Scopes: []kayenta.AnalysisScope{{ControlScope: "b"}}, Thresholds: th, LifetimeDurationMins: i64(10)}, err: "experimentScope"},
		{name: "bad time", req: kayenta.AnalysisRequest{Scopes: with(func(s *kayenta.AnalysisScope) { s.StartTimeIso = "yesterday" }), Thresholds: th, LifetimeDurationMins: i64(10)}, err: "startTimeIso"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := StandalonePlan(tc.req, &analysis.Config{}, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !p.Start.Equal(tc.start) || p.Lifetime != tc.lifetime || p.Interval != tc.interval || p.Lookback != tc.lookback ||
				p.Step != tc.step || !p.End.Equal(tc.start.Add(tc.lifetime)) || p.Thresholds == nil || p.Thresholds.Marginal != 75 {
				t.Errorf("plan = start %s lifetime %s interval %s lookback %s step %s end %s; want %s %s %s %s %s",
					p.Start, p.Lifetime, p.Interval, p.Lookback, p.Step, p.End, tc.start, tc.lifetime, tc.interval, tc.lookback, tc.step)
			}
			if p.Scopes.Baseline["scope"] != "b" || p.Scopes.Canary["scope"] != "c" {
				t.Errorf("scopes = %+v", p.Scopes)
			}
		})
	}
}
