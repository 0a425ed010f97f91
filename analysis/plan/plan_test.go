package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	p := build(t, c, data, "1%:30m,50%:1d")
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
