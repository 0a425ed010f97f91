package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
)

// build makes a plan with few replicates, for tests of its structure.
func build(t *testing.T, c *analysis.Config, data []analysis.SignalData, ramp string) *Plan {
	t.Helper()
	steps, err := ParseRamp(ramp)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(context.Background(), Input{Config: c, Baseline: data, Origin: "test", Ramp: steps, Replicates: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// errorsConfig is a service's error ratio judged with its requests, with a
// critical change, and its checkout completion with an allowance.
const errorsConfig = `name: shop
signals:
  - name: error_ratio
    test: rate
    series: http_5xx
    exposure: http_requests
    direction: increase
    criticalChange: 100%
  - name: checkout_completion
    test: proportion
    series: checkouts_completed
    trials: checkouts_started
    direction: decrease
    allowedChange: 5%
`

// errorsBaseline is an hour of the stable version at one window a minute:
// 2,000 requests a minute with 1% errors, 600 checkouts with 70% completed.
func errorsBaseline(t *testing.T) (*analysis.Config, []analysis.SignalData) {
	t.Helper()
	c, err := analysis.ParseConfig("shop.yaml", []byte(errorsConfig))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	var errs, reqs, done, started []float64
	for range 60 {
		reqs = append(reqs, 2000)
		errs = append(errs, distuv.Binomial{N: 2000, P: 0.01, Src: rng}.Rand())
		started = append(started, 600)
		done = append(done, distuv.Binomial{N: 600, P: 0.7, Src: rng}.Rand())
	}
	return c, []analysis.SignalData{
		{Signal: "error_ratio", Sample: judge.Sample{Values: errs, Exposure: reqs}, Step: time.Minute},
		{Signal: "checkout_completion", Sample: judge.Sample{Values: done, Exposure: started}, Step: time.Minute},
	}
}

// TestBuildSharesTheLevel checks the level a step's failures need: the
// decision level shared among the signals with a test (a threshold test
// has none, and is not simulated).
func TestBuildSharesTheLevel(t *testing.T) {
	c, data := loadFixture(t, "healthy", nil)
	p := build(t, c, data, "25%:30m")
	sp := p.Steps[0]
	if sp.Tested != 5 {
		t.Errorf("tested signals %d; want 5 (six, less the threshold test)", sp.Tested)
	}
	for _, cell := range sp.Signals {
		switch cell.Name {
		case "error_ratio":
			if cell.Judged || cell.Note == "" {
				t.Errorf("the threshold test: judged %v, note %q; want a note and no figures", cell.Judged, cell.Note)
			}
		default:
			if !cell.Judged || cell.Level != 0.01 { // 0.05 over 5
				t.Errorf("%s: judged %v at level %g; want level 0.05/5", cell.Name, cell.Judged, cell.Level)
			}
			if cell.Points != 180 {
				t.Errorf("%s: %d points; want 30 minutes at 10 s", cell.Name, cell.Points)
			}
		}
	}
}

// TestBuildSmallStep checks a step too small for some signals: a 1%
// canary for 15 minutes has too few checkouts and requests for the
// proportion and the p99, which then neither share the level nor get
// figures, and the summary says until which step.
func TestBuildSmallStep(t *testing.T) {
	c, data := loadFixture(t, "error-ratio-5pct", nil)
	p := build(t, c, data, "1%:15m,5%:30m,50%:1h")
	if got := p.Steps[0].Tested; got != 1 {
		t.Errorf("1%% for 15m: %d tested signals; want 1, the error ratio", got)
	}
	for _, cell := range p.Steps[0].Signals[1:] {
		if cell.Judged || !strings.Contains(cell.Note, "too little traffic") {
			t.Errorf("1%% for 15m: %s judged %v, note %q; want no verdict for too little traffic", cell.Name, cell.Judged, cell.Note)
		}
	}
	summary := strings.Join(p.Steps[0].Summary, "; ")
	if !strings.Contains(summary, "p99_latency_seconds has no verdict at this step until the 5% step") {
		t.Errorf("1%% for 15m: summary %q; want it to say the p99 has no verdict until the 5%% step", summary)
	}
	if got := p.Steps[1].Tested; got != 3 {
		t.Errorf("5%% for 30m: %d tested signals; want 3", got)
	}
	// More traffic and time detect smaller changes.
	for i := range p.Signals {
		small, large := p.Steps[1].Signals[i].Detect80, p.Steps[2].Signals[i].Detect80
		if small == nil || large == nil || *large >= *small {
			t.Errorf("%s: detects %v at 5%% for 30m and %v at 50%% for 1h; want less at the larger step", p.Signals[i].Name, small, large)
		}
	}
}

// TestBuildAllowedAndCritical checks the two checks of a step: whether it
// detects the critical change (error ratio doubled) and tells the
// allowance (completion down 5%) from no change; a small step does
// neither, a day at 50% both, and the small step's summary names the step
// that does.
func TestBuildAllowedAndCritical(t *testing.T) {
	c, data := errorsBaseline(t)
	p := build(t, c, data, "1%:30m,50%:1d")
	small, large := p.Steps[0], p.Steps[1]
	if ch := small.Signals[0].Critical; ch == nil || ch.Detectable || ch.Rate > 0.5 {
		t.Errorf("1%% for 30m: critical %+v; want the doubling caught in few canaries", ch)
	}
	if ch := large.Signals[0].Critical; ch == nil || !ch.Detectable || ch.Rate < 0.99 {
		t.Errorf("50%% for 1d: critical %+v; want the doubling caught", ch)
	}
	if a := small.Signals[1].Allowed; a == nil || a.Detectable {
		t.Errorf("1%% for 30m: allowed %+v; want the allowance not told from no change", a)
	}
	if a := large.Signals[1].Allowed; a == nil || !a.Detectable {
		t.Errorf("50%% for 1d: allowed %+v; want the allowance told from no change", a)
	}
	if small.Signals[0].Allowed != nil {
		t.Errorf("error_ratio has no allowance, but the plan checks one: %+v", small.Signals[0].Allowed)
	}
	summary := strings.Join(small.Summary, "; ")
	for _, want := range []string{"misses error_ratio's critical +100% (caught in", "until the 50% step", "cannot tell checkout_completion's allowed -5% from no change until the 50% step"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	if len(large.Summary) != 0 {
		t.Errorf("50%% for 1d: summary %q; want none", large.Summary)
	}
}

// TestBuildIsReproducible checks that a plan depends on its seed only,
// not on how many goroutines simulate it.
func TestBuildIsReproducible(t *testing.T) {
	c, data := errorsBaseline(t)
	steps, _ := ParseRamp("5%:30m")
	var out [2]bytes.Buffer
	for i, par := range []int{1, 3} {
		p, err := Build(context.Background(), Input{Config: c, Baseline: data, Ramp: steps, Replicates: 100, Seed: 9, Parallelism: par})
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&out[i], p); err != nil {
			t.Fatal(err)
		}
	}
	if out[0].String() != out[1].String() {
		t.Errorf("one goroutine and three gave different plans:\n%s\n%s", out[0].String(), out[1].String())
	}
}

func TestBuildRefuses(t *testing.T) {
	c, data := errorsBaseline(t)
	steps, _ := ParseRamp("5%:30m")
	kayenta, err := analysis.ParseConfig("k.yaml", []byte("name: k\njudge: kayenta\nsignals:\n  - name: latency\n"))
	if err != nil {
		t.Fatal(err)
	}
	noTimes := []analysis.SignalData{data[0], data[1]}
	noTimes[1].Step = 0
	fine := []analysis.SignalData{data[0], data[1]}
	fine[0].Step = 30 * time.Second
	var cfgErr *analysis.ConfigError
	var dataErr *analysis.DataError
	var boundErr *analysis.BoundError
	tests := []struct {
		name  string
		in    Input
		check func(error) bool
		want  string
	}{
		{"kayenta", Input{Config: kayenta, Baseline: data[:1], Ramp: steps}, func(err error) bool { return errors.As(err, &cfgErr) }, "Kayenta-compatible judge"},
		{"no step", Input{Config: c, Baseline: noTimes, Ramp: steps}, func(err error) bool { return errors.As(err, &dataErr) }, "give the step"},
		{"too many points", Input{Config: c, Baseline: fine, Ramp: []Step{{0.05, 4 * 24 * time.Hour}}}, func(err error) bool { return errors.As(err, &boundErr) }, "more than 11000"},
		{"missing signal", Input{Config: c, Baseline: data[:1], Ramp: steps}, func(error) bool { return true }, "data for 1 signals, the config 2"},
		{"few replicates", Input{Config: c, Baseline: data, Ramp: steps, Replicates: 10}, func(error) bool { return true }, "between 100 and"},
		{"no ramp", Input{Config: c, Baseline: data}, func(error) bool { return true }, "no steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(context.Background(), tt.in)
			if err == nil || !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build: %v; want an error of the right kind with %q", err, tt.want)
			}
		})
	}
}

// TestBuildZeroBaseline checks a baseline without errors: a relative
// change of nothing is nothing, so the plan gives the canary's own error
// ratio that it detects.
func TestBuildZeroBaseline(t *testing.T) {
	c, data := errorsBaseline(t)
	data[0].Sample.Values = make([]float64, len(data[0].Sample.Values))
	p := build(t, c, data, "5%:1h")
	if p.Signals[0].Unit != Share {
		t.Fatalf("unit %q; want share", p.Signals[0].Unit)
	}
	// 6,000 canary requests: a few errors are evidence against none.
	d := p.Steps[0].Signals[0].Detect80
	if d == nil || *d > 0.003 || *d < 0.0002 {
		t.Errorf("detects an error ratio of %v; want a few errors in 6,000 requests", d)
	}
}

func TestWrite(t *testing.T) {
	c, data := errorsBaseline(t)
	p := build(t, c, data, "1%:30m,50%:1h")
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"table", []string{"shop: what each step of the ramp detects", "Detects 80%", "1% for 30m", "checkout_completion", "✘ -5%", "✔ +100%", "misses error_ratio's critical +100%"}},
		{"markdown", []string{"### Rollout plan: shop", "| Step | Signal |", "| 1% for 30m | error\\_ratio | rate |", "- 1% for 30m: "}},
		{"json", []string{`"schema": "verdict/plan/v1"`, `"detect80": `, `"critical": {`}},
	} {
		var b bytes.Buffer
		if err := Write(&b, p, tt.format); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", tt.format, w, b.String())
			}
		}
		if tt.format == "json" {
			var back Plan
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Steps) != 2 || len(back.Steps[0].Signals) != 2 {
				t.Errorf("the JSON does not read back as a plan of 2 steps of 2 signals: %v", err)
			}
		}
	}
	if err := Write(new(bytes.Buffer), p, "html"); err == nil || !strings.Contains(err.Error(), "want table, markdown, json") {
		t.Errorf("Write html: %v; want an error naming the formats", err)
	}
}

// kindsConfig has a signal of every kind the config language has: points
// by rank and by their tail, counts per window and with their requests, a
// proportion with an allowance in points (and evidence required), a
// latency histogram's quantile and its share above a bound, and a
// threshold test.
const kindsConfig = `name: kinds
signals:
  - name: cpu_percent
    test: mann-whitney
    direction: increase
    allowedChange: 10%
  - name: p95_latency_ms
    test: quantile
    quantile: 0.95
    direction: increase
  - name: restarts
    test: rate
    direction: increase
  - name: error_ratio
    test: rate
    series: http_5xx
    exposure: http_requests
    direction: increase
    criticalChange: 100%
  - name: login_success
    test: proportion
    series: logins_ok
    trials: logins
    direction: decrease
    allowedChange: 0.5pp
    requireEvidence: true
  - name: p99_latency_seconds
    test: histogram
    series: http_request_duration_seconds
    quantile: 0.99
    direction: increase
    allowedChange: 10%
  - name: slow_requests
    test: histogram
    series: http_request_duration_seconds
    above: 0.5
    direction: increase
  - name: error_cap
    test: threshold
    statistic: mean
    max: 0.05
`

// kindsBounds are a latency histogram's buckets: 10 ms to 5 s, 0.5 s among
// them, and +Inf.
var kindsBounds = []float64{0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, math.Inf(1)}

// kindsBaseline is two hours of the stable version for kindsConfig: points
// every 10 s (CPU around 40%, a p95-ish latency around 120 ms), counts and
// histograms per minute (3,000 requests with 0.5% errors, 400 logins with
// 97% success, lognormal latencies with a median of 80 ms).
func kindsBaseline(t testing.TB) (*analysis.Config, []analysis.SignalData) {
	t.Helper()
	c, err := analysis.ParseConfig("kinds.yaml", []byte(kindsConfig))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(31, 32))
	var cpu, latency, restarts, errs, reqs, ok, logins, counts []float64
	for range 720 {
		cpu = append(cpu, 40+3*rng.NormFloat64())
		latency = append(latency, 120*math.Exp(0.2*rng.NormFloat64()))
	}
	for range 120 {
		restarts = append(restarts, distuv.Poisson{Lambda: 4, Src: rng}.Rand())
		reqs = append(reqs, 3000)
		errs = append(errs, distuv.Binomial{N: 3000, P: 0.005, Src: rng}.Rand())
		logins = append(logins, 400)
		ok = append(ok, distuv.Binomial{N: 400, P: 0.97, Src: rng}.Rand())
		row := make([]float64, len(kindsBounds))
		for range 3000 {
			v := 0.08 * math.Exp(0.8*rng.NormFloat64())
			for i, b := range kindsBounds {
				if v <= b {
					row[i]++
				}
			}
		}
		counts = append(counts, row...)
	}
	h := &judge.Buckets{Bounds: kindsBounds, Counts: counts}
	return c, []analysis.SignalData{
		{Signal: "cpu_percent", Sample: judge.Sample{Values: cpu}, Step: 10 * time.Second},
		{Signal: "p95_latency_ms", Sample: judge.Sample{Values: latency}, Step: 10 * time.Second},
		{Signal: "restarts", Sample: judge.Sample{Values: restarts}, Step: time.Minute},
		{Signal: "error_ratio", Sample: judge.Sample{Values: errs, Exposure: reqs}, Step: time.Minute},
		{Signal: "login_success", Sample: judge.Sample{Values: ok, Exposure: logins}, Step: time.Minute},
		{Signal: "p99_latency_seconds", Sample: judge.Sample{Histogram: h}, Step: time.Minute},
		{Signal: "slow_requests", Sample: judge.Sample{Histogram: h}, Step: time.Minute},
		{Signal: "error_cap", Sample: judge.Sample{Values: errs}, Step: time.Minute},
	}
}

// TestBuildEveryKind checks that every kind of signal is planned, in the
// unit its allowance is written in, or, a threshold test, refused with a
// note; and that the step's figures lie where its data put them (a
// proportion's points between 0 and the baseline's 97%, a share above a
// bound within what can still rise).
func TestBuildEveryKind(t *testing.T) {
	c, data := kindsBaseline(t)
	p := build(t, c, data, "25%:30m")
	sp := p.Steps[0]
	want := map[string]Unit{
		"cpu_percent": Relative, "p95_latency_ms": Relative, "restarts": Relative, "error_ratio": Relative,
		"login_success": Points, "p99_latency_seconds": Relative, "slow_requests": Relative,
	}
	if sp.Tested != len(want) {
		t.Errorf("tested signals %d; want %d, all but the threshold test", sp.Tested, len(want))
	}
	for i, cell := range sp.Signals {
		sm := p.Signals[i]
		u, planned := want[sm.Name]
		if !planned {
			if cell.Judged || !strings.Contains(cell.Note, "threshold test") || sm.Note == "" {
				t.Errorf("%s: judged %v, note %q; want the threshold test refused in a note", sm.Name, cell.Judged, cell.Note)
			}
			continue
		}
		if sm.Unit != u {
			t.Errorf("%s: unit %q; want %q", sm.Name, sm.Unit, u)
		}
		if !cell.Judged || cell.Detect80 == nil || cell.Detect95 == nil || *cell.Detect80 <= 0 || *cell.Detect95 < *cell.Detect80 || *cell.Detect95 > cell.MaxChange {
			t.Errorf("%s: judged %v, detects %v and %v of at most %g (note %q); want two figures, the 95%% one no smaller", sm.Name, cell.Judged, cell.Detect80, cell.Detect95, cell.MaxChange, cell.Note)
		}
	}
	if m := sp.Signals[4].MaxChange; math.Abs(m-0.97) > 0.01 {
		t.Errorf("login_success: at most %g points; want the baseline's success, about 0.97", m)
	}
	if a := sp.Signals[4].Allowed; a == nil || a.Change != 0.005 {
		t.Errorf("login_success: allowed %+v; want the 0.5pp allowance checked", a)
	}
	if r := p.Signals[6].Ratio; r == nil || *r < 0.005 || *r > 0.02 {
		t.Errorf("slow_requests: share above 0.5 s %v; want about 1.1%% (lognormal, median 80 ms, σ 0.8)", r)
	}
}

// TestIntroSequential checks that a plan says how a sequential config's
// steps were judged: an anytime analysis tuned to the horizon or the step,
// or, planned, one judgement at the whole level.
func TestIntroSequential(t *testing.T) {
	for _, tt := range []struct {
		mode, horizon string
		want          string
	}{
		{"", "", ""},
		{"anytime", "", "anytime analysis tuned to its own duration"},
		{"anytime", "2h", "anytime analysis tuned to a horizon of 2h"},
		{"planned", "", "judged once, at its end, at the whole level"},
	} {
		lines := intro(&Plan{Sequential: tt.mode, Horizon: tt.horizon})
		got := strings.Join(lines[2:], " ")
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("sequential %q, horizon %q: intro %q; want %q", tt.mode, tt.horizon, got, tt.want)
		}
	}
}
