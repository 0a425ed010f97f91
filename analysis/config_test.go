package analysis

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/judge"
)

const checkoutYAML = `name: checkout
confidence: 0.9
thresholds: {pass: 90, marginal: 70}
groups:
  latency: {weight: 60}
  errors:  {weight: 40}
signals:
  - name: p99_latency_ms
    group: latency
    query: 'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{track="{{.track}}"}[1m])))'
    direction: increase
    allowedChange: 10%
    criticalChange: 0.5
  - name: errors
    group: errors
    test: rate
    critical: true
    nan: zero
  - name: error_ratio
    group: errors
    test: threshold
    statistic: p95
    max: 0.01
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("checkout.yaml", []byte(checkoutYAML))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "checkout" || c.Confidence != 0.9 || c.Judge != JudgeVerdict {
		t.Errorf("top level: %+v", c)
	}
	if got := c.ThresholdsOrDefault(); got.Pass != 90 || got.Marginal != 70 {
		t.Errorf("thresholds %+v", got)
	}
	if len(c.Groups) != 2 || c.Groups[0].Name != "latency" || c.Groups[0].Weight != 60 || c.Groups[1].Name != "errors" {
		t.Errorf("groups %+v, want latency 60 then errors 40 in file order", c.Groups)
	}
	p99, errs, ratio := c.Signals[0], c.Signals[1], c.Signals[2]
	if p99.Source != "prometheus" || p99.Direction != judge.Increase || p99.AllowedChange != judge.Rel(0.1) || p99.CriticalChange == nil || *p99.CriticalChange != judge.Rel(0.5) {
		t.Errorf("p99 signal %+v", p99)
	}
	if p99.MinSamples != judge.DefaultMinSamples || p99.Test != judge.MannWhitney || p99.NaN != judge.NaNRemove {
		t.Errorf("defaults not applied: %+v", p99.Spec)
	}
	if errs.Test != judge.Rate || !errs.Critical || errs.NaN != judge.NaNZero || errs.Source != "" {
		t.Errorf("errors signal %+v", errs)
	}
	if ratio.Statistic != judge.StatP95 || ratio.Max == nil || *ratio.Max != 0.01 {
		t.Errorf("error_ratio signal %+v", ratio)
	}
}

func TestParseConfigJSON(t *testing.T) {
	const config = "{\n\t\"name\": \"api\",\n\t\"signals\": [\n\t\t{\"name\": \"cpu\", \"allowedChange\": \"5%\"},\n\t\t{\"name\": \"mem\", \"allowedChange\": 0.2, \"bogus\": 1}\n\t]\n}\n"
	_, err := ParseConfig("api.json", []byte(config))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 5 || ce.Field != "signals[1]" || !strings.Contains(err.Error(), `unknown key "bogus"`) {
		t.Fatalf("got %v, want an unknown-key error on line 5 of api.json", err)
	}
	c, err := ParseConfig("api.json", []byte(strings.Replace(config, `, "bogus": 1`, "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Signals[0].AllowedChange != judge.Rel(0.05) || c.Signals[1].AllowedChange != judge.Rel(0.2) {
		t.Errorf("allowed changes %v, %v", c.Signals[0].AllowedChange, c.Signals[1].AllowedChange)
	}
}

// TestConfigErrors checks that each mistake is named by file, line and field.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string // the whole message
	}{
		{"unknown key with suggestion", "signals:\n  - name: a\n    alowedChange: 10%\n",
			`c.yaml line 3: signals[0]: unknown key "alowedChange"; did you mean "allowedChange"?`},
		{"bad percentage", "signals:\n  - name: a\n    allowedChange: ten percent\n",
			`c.yaml line 3: signals[0].allowedChange: "ten percent" is not a change: write a percentage ("10%"), percentage points ("0.5pp") or a fraction below 1 (0.10)`},
		{"a bare allowedChange of 10 (1000%)", "signals:\n  - name: a\n    allowedChange: 10\n",
			`c.yaml line 3: signals[0].allowedChange: 10 is ambiguous: write 10% for 10 per cent (a bare number is a fraction, and 10 would mean 1000%)`},
		{"bad direction", "signals:\n  - name: a\n    direction: up\n",
			`c.yaml line 3: signals[0].direction: "up" is not a direction (want increase, decrease or either)`},
		{"string where a boolean belongs", "signals:\n  - name: a\n    critical: \"yes\"\n",
			`c.yaml line 3: signals[0].critical: "yes" is not true or false`},
		{"duplicate key", "name: a\nname: b\nsignals: [{name: x}]\n",
			`c.yaml line 2: key "name" appears twice`},
		{"malformed YAML", "name: [unclosed\nsignals: []\n",
			`c.yaml line 1: not valid YAML or JSON: did not find expected ',' or ']'`},
		{"no signals", "name: a\n", `c.yaml: signals: the config has no signals`},
		{"series beside a query", "signals:\n  - name: a\n    query: up\n    series: b\n",
			`c.yaml line 4: signals[0].series: signal "a" has both a query and series "b"; series names an input series for judging files, a live signal reads its query`},
		{"empty file", "  \n", `c.yaml: the config is empty`},
		{"duplicate signal", "signals:\n  - name: a\n  - name: a\n",
			`c.yaml line 3: signals[1].name: signal "a" is already defined by signals[0]`},
		{"undeclared group", "groups: {latency: {weight: 1}}\nsignals:\n  - name: a\n    group: latncy\n",
			`c.yaml line 4: signals[0].group: group "latncy" is not among the config's groups (latency)`},
		{"threshold without bounds", "signals:\n  - name: ratio\n    test: threshold\n",
			`c.yaml line 3: signals[0].test: a threshold test needs min, max or both`},
		{"confidence out of range", "confidence: 95\nsignals: [{name: a}]\n",
			`c.yaml line 1: confidence: 95 is not between 0 and 1 (for example 0.95)`},
		{"thresholds as fractions", "thresholds: {pass: 0.95, marginal: 0.75}\nsignals: [{name: a}]\n",
			`c.yaml line 1: thresholds: pass: 0.95 reads as a fraction, but thresholds are scores from 0 to 100; did you mean 95?`},
		{"thresholds inverted", "thresholds: {pass: 70, marginal: 90}\nsignals: [{name: a}]\n",
			`c.yaml line 1: thresholds: marginal: 90 is above the pass threshold 70`},
		{"prometheus without query", "signals:\n  - name: a\n    source: prometheus\n",
			`c.yaml line 2: signals[0].query: signal "a" reads from prometheus but has no query`},
		{"a list where a mapping belongs", "thresholds: [95, 75]\nsignals: [{name: a}]\n",
			`c.yaml line 1: thresholds: want a mapping of keys to values, not a list`},
		{"negative weight", "groups: {latency: {weight: -1}}\nsignals: [{name: a, group: latency}]\n",
			`c.yaml line 1: groups.latency: weight -1 is negative`},
		{"infinite number", "signals:\n  - {name: a, test: threshold, max: .inf}\n",
			`c.yaml line 2: signals[0].max: ".inf" is not a finite number`},
		{"a known horizon for planned looks", "sequential: {mode: planned, horizon: 1h}\nsignals: [{name: a}]\n",
			`c.yaml line 1: sequential.horizon: a known horizon is for mode anytime, not "planned"`},
		{"a known horizon and another horizon", "sequential:\n  mode: anytime\n  horizon: 1h\nhorizon: 30m\nsignals: [{name: a}]\n",
			`c.yaml line 4: horizon: 30m0s differs from the known horizon 1h0m0s of sequential; give one`},
		{"an unknown key of sequential", "sequential: {mode: anytime, horizn: 1h}\nsignals: [{name: a}]\n",
			`c.yaml line 1: sequential: unknown key "horizn"; did you mean "horizon"?`},
		{"unknown judge", "judge: netflix\nsignals: [{name: a}]\n",
			`c.yaml line 1: judge: "netflix" is not a judge (want verdict or kayenta)`},
		{"quantile written as a percentage", "signals:\n  - name: a\n    test: quantile\n    quantile: 99\n",
			`c.yaml line 4: signals[0].quantile: 99 is not in [0.5, 1) (for the 99th percentile write 0.99)`},
		{"quantile below the median", "signals:\n  - name: a\n    test: quantile\n    quantile: 0.1\n",
			`c.yaml line 4: signals[0].quantile: 0.1 is not in [0.5, 1) (for the 99th percentile write 0.99)`},
		{"quantile without the quantile test", "signals:\n  - name: a\n    quantile: 0.99\n",
			`c.yaml line 3: signals[0].quantile: only a quantile or histogram test takes a quantile (this signal's test is mann-whitney; set test: quantile)`},
		{"quantile misspelt", "signals:\n  - name: a\n    test: quantile\n    quantil: 0.99\n",
			`c.yaml line 4: signals[0]: unknown key "quantil"; did you mean "quantile"?`},
		{"quantile not a number", "signals:\n  - name: a\n    test: quantile\n    quantile: p99\n",
			`c.yaml line 4: signals[0].quantile: "p99" is not a finite number`},
		{"unknown test", "signals:\n  - name: a\n    test: p99\n",
			`c.yaml line 3: signals[0].test: "p99" is not a test (want mann-whitney, threshold, rate, quantile, proportion or histogram)`},
		{"quantile test under the kayenta judge", "judge: kayenta\nsignals:\n  - name: a\n    test: quantile\n",
			`c.yaml line 4: signals[0].test: test: quantile has no meaning with judge: kayenta: Kayenta has only the Mann-Whitney comparison; use judge: verdict for rate, threshold and quantile tests`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tt.config))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v (%T), want a *ConfigError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
}

// TestParseQuantileSignal reads a latency judged twice: its median by
// Mann-Whitney and its p99 by the quantile test (default quantile 0.99).
func TestParseQuantileSignal(t *testing.T) {
	const config = `signals:
  - {name: latency_ms, direction: increase}
  - {name: latency_ms_p99, direction: increase, test: quantile}
  - {name: latency_ms_p95, direction: increase, test: quantile, quantile: 0.95, allowedChange: 10%}
`
	c, err := ParseConfig("c.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	p99, p95 := c.Signals[1], c.Signals[2]
	if p99.Test != judge.Quantile || p99.Quantile == nil || *p99.Quantile != 0.99 {
		t.Errorf("p99 signal %+v", p99.Spec)
	}
	if p95.Test != judge.Quantile || p95.Quantile == nil || *p95.Quantile != 0.95 || p95.AllowedChange != judge.Rel(0.1) {
		t.Errorf("p95 signal %+v", p95.Spec)
	}
	if c.Signals[0].Quantile != nil {
		t.Errorf("a mann-whitney signal got a quantile %v", *c.Signals[0].Quantile)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(checkoutYAML))
	f.Add([]byte(`{"signals": [{"name": "a", "test": "threshold", "min": 1}]}`))
	f.Add([]byte("signals:\n  - &a {name: x}\n  - *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		if len(c.Signals) == 0 || c.Confidence <= 0 || c.Confidence >= 1 {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
		for _, s := range c.Signals {
			if err := s.Spec.Check(); err != nil {
				t.Fatalf("accepted signal %q failing its own check: %v", s.Name, err)
			}
		}
	})
}

// TestSequentialSpellings: every spelling of sequential gives its mode,
// and only the mapping with a horizon makes the horizon known (the
// decisions spend their level over it); a horizon beside sequential:
// anytime stays what it was, the time the mixture boundary is tuned for.
func TestSequentialSpellings(t *testing.T) {
	for _, tc := range []struct {
		text           string
		mode           SequentialMode
		known, horizon time.Duration
	}{
		{"sequential: true", SequentialPlanned, 0, DefaultHorizon},
		{"sequential: planned", SequentialPlanned, 0, DefaultHorizon},
		{"sequential: false", SequentialOff, 0, DefaultHorizon},
		{"sequential: anytime", SequentialAnytime, 0, DefaultHorizon},
		{"sequential: anytime\nhorizon: 2h", SequentialAnytime, 0, 2 * time.Hour},
		{"sequential: {mode: anytime}", SequentialAnytime, 0, DefaultHorizon},
		{"sequential: {mode: anytime, horizon: 45m}", SequentialAnytime, 45 * time.Minute, 45 * time.Minute},
		{"sequential:\n  mode: anytime\n  horizon: 45m\nhorizon: 45m", SequentialAnytime, 45 * time.Minute, 45 * time.Minute},
	} {
		c, err := ParseConfig("c.yaml", []byte(tc.text+"\nsignals: [{name: a}]\n"))
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		stated := tc.horizon
		if !strings.Contains(tc.text, "horizon") {
			stated = 0
		}
		if c.StatedHorizon() != stated {
			t.Errorf("%q: stated horizon %v, want %v", tc.text, c.StatedHorizon(), stated)
		}
		if c.Sequential != tc.mode || time.Duration(c.KnownHorizon) != tc.known || c.HorizonOrDefault() != tc.horizon {
			t.Errorf("%q: mode %q, known horizon %v, horizon %v; want %q, %v, %v", tc.text, c.Sequential, time.Duration(c.KnownHorizon), c.HorizonOrDefault(), tc.mode, tc.known, tc.horizon)
		}
	}
}
