package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/fixtures"
	datadogfixtures "github.com/verdict-aca/verdict/fixtures/datadog"
)

const fluxTestToken = "flux-e2e-token-0123456789"

// fluxQuery is the Flux query of a fixture signal: the scenario's and
// track's points of the measurement checkout.SIGNAL; a count sums each
// step.
func fluxQuery(signal string) string {
	q := `from(bucket: "checkout")
  |> range(start: {{.start}}, stop: {{.end}})
  |> filter(fn: (r) => r._measurement == "` + datadogfixtures.Prefix + signal + `" and r.scenario == "{{.scenario}}" and r.track == "{{.track}}")`
	if signal == "errors" {
		q += "\n  |> aggregateWindow(every: {{.step}}, fn: sum, createEmpty: true)"
	}
	return q
}

// fluxConfig writes a scenario's config with every signal reading the
// flux source at url, its token in a file.
func fluxConfig(t *testing.T, sc fixtures.Scenario, url string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sc.Dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "influx-token")
	if err := os.WriteFile(tokenFile, []byte(fluxTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg["signals"].([]any) {
		m := s.(map[string]any)
		m["source"] = "influx"
		m["query"] = fluxQuery(m["name"].(string))
	}
	cfg["sources"] = map[string]any{"influx": map[string]any{"type": "flux", "url": url, "org": "shop", "tokenFile": tokenFile}}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, sc.Name+".yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	fluxRange  = regexp.MustCompile(`range\(start: (\S+), stop: (\S+)\)`)
	fluxString = func(field string) *regexp.Regexp {
		return regexp.MustCompile(`r\.` + field + ` == "((?:[^"\\]|\\.)*)"`)
	}
	fluxMeasurement = fluxString("_measurement")
	fluxScenario    = fluxString("scenario")
	fluxTrack       = fluxString("track")
	fluxEvery       = regexp.MustCompile(`aggregateWindow\(every: (\d+)s, fn: sum, createEmpty: true\)`)
)

// unquoteFlux decodes a Flux string's escapes.
func unquoteFlux(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// fluxStandIn answers POST /api/v2/query for the fixtures' series as
// InfluxDB would for fluxQuery: the points in [start, stop), or each
// step's sum over [t−step, t) at t, in annotated CSV.
func fluxStandIn(t *testing.T, data map[string]*datadogfixtures.Data) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token "+fluxTestToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":"unauthorized","message":"unauthorized access"}`)
			return
		}
		var body struct {
			Query string `json:"query"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.URL.Query().Get("org") != "shop" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":"invalid","message":"bad request"}`)
			return
		}
		q := body.Query
		rng, m, sc, tr := fluxRange.FindStringSubmatch(q), fluxMeasurement.FindStringSubmatch(q), fluxScenario.FindStringSubmatch(q), fluxTrack.FindStringSubmatch(q)
		if rng == nil || m == nil || sc == nil || tr == nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"code":"invalid","message":"the stand-in does not read %q"}`, q)
			return
		}
		start, err1 := time.Parse(time.RFC3339Nano, rng[1])
		stop, err2 := time.Parse(time.RFC3339Nano, rng[2])
		if err1 != nil || err2 != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		measurement, scenario, track := unquoteFlux(m[1]), unquoteFlux(sc[1]), unquoteFlux(tr[1])
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		d, ok := data[scenario]
		if !ok {
			return
		}
		for _, s := range d.Series {
			if s.Metric != measurement || s.Tags["scenario"] != scenario || s.Tags["track"] != track {
				continue
			}
			fmt.Fprint(w, "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string\n")
			fmt.Fprint(w, "#group,false,false,true,true,false,false,true,true,true,true\n")
			fmt.Fprint(w, "#default,_result,,,,,,,,,\n")
			fmt.Fprint(w, ",result,table,_start,_stop,_time,_value,_field,_measurement,scenario,track\n")
			row := func(at time.Time, v string) {
				fmt.Fprintf(w, ",,0,%s,%s,%s,%s,value,%s,%s,%s\n", start.Format(time.RFC3339Nano), stop.Format(time.RFC3339Nano),
					at.UTC().Format(time.RFC3339Nano), v, measurement, scenario, track)
			}
			if every := fluxEvery.FindStringSubmatch(q); every != nil {
				n, _ := strconv.Atoi(every[1])
				step := time.Duration(n) * time.Second
				for end := start.Truncate(step).Add(step); !end.After(stop); end = end.Add(step) {
					sum, any := 0.0, false
					for i, at := range s.Times {
						if !at.Before(end.Add(-step)) && at.Before(end) && !at.Before(start) {
							sum, any = sum+s.Values[i], true
						}
					}
					v := ""
					if any {
						v = strconv.FormatFloat(sum, 'g', -1, 64)
					}
					row(end, v)
				}
			} else {
				for i, at := range s.Times {
					if !at.Before(start) && at.Before(stop) {
						row(at, strconv.FormatFloat(s.Values[i], 'g', -1, 64))
					}
				}
			}
			return
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAnalyzeFlux runs `verdict analyze` against a Flux stand-in (the
// /api/v2/query exchange of InfluxDB's API reference, its annotated CSV
// answers in the shape metrics/flux's recorded answers have) holding
// every fixture scenario: each gets the verdict of its file form.
func TestAnalyzeFlux(t *testing.T) {
	data, err := datadogfixtures.Load(context.Background(), fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	srv := fluxStandIn(t, data)
	window := func(name string) []string {
		w := data[name].Window()
		return []string{"--start", w.Start.Format(time.RFC3339), "--end", w.End.Format(time.RFC3339), "--step", "10s"}
	}
	t.Run("scenarios", func(t *testing.T) {
		for name, d := range data {
			t.Run(name, func(t *testing.T) {
				args := append([]string{"--config", fluxConfig(t, d.Scenario, srv.URL)}, scopeArgs(name)...)
				code, rep, stderr := analyzeLive(t, append(args, window(name)...)...)
				want := d.Scenario
				if rep.Schema != "verdict/report/v1" {
					t.Fatalf("exit %d, no report; stderr: %s", code, stderr)
				}
				if rep.Verdict != want.Verdict || code != exitOf[want.Verdict] {
					t.Errorf("verdict %s (exit %d), want %s (exit %d); reason: %s", rep.Verdict, code, want.Verdict, exitOf[want.Verdict], rep.Reason)
				}
				for _, s := range rep.Signals {
					wantClass := want.Signals[s.Name]
					if live, ok := liveDifferences[name][s.Name]; ok {
						wantClass = live
					}
					if s.Classification != wantClass {
						t.Errorf("signal %s: %s, want %s (%s)", s.Name, s.Classification, wantClass, s.Reason)
					}
				}
			})
		}
	})

	t.Run("every point of the hour arrives", func(t *testing.T) {
		// 360 per signal and side: the gauges' points in [start, end),
		// the count's steps of the grid, each once.
		args := append([]string{"--config", fluxConfig(t, data["healthy"].Scenario, srv.URL)}, scopeArgs("healthy")...)
		_, rep, stderr := analyzeLive(t, append(args, window("healthy")...)...)
		if len(rep.Signals) == 0 {
			t.Fatalf("no report; stderr: %s", stderr)
		}
		for _, s := range rep.Signals {
			if s.Baseline.Count != 360 || s.Canary.Count != 360 {
				t.Errorf("signal %s: %d baseline and %d canary points, want 360 each", s.Name, s.Baseline.Count, s.Canary.Count)
			}
		}
	})

	t.Run("an injection through a scope value reads no other series", func(t *testing.T) {
		scenario := "latency-regression"
		for _, evil := range []string{
			`canary" or r.track == "baseline`,
			`${"baseline"}`,
			`canary\" or true or \"`,
		} {
			args := []string{"--config", fluxConfig(t, data[scenario].Scenario, srv.URL),
				"--baseline-scope", "scenario=" + scenario + ",track=baseline",
				"--canary-scope", "scenario=" + scenario + ",track=" + evil}
			code, rep, stderr := analyzeLive(t, append(args, window(scenario)...)...)
			if rep.Schema == "" {
				t.Errorf("scope value %q: exit %d, no report; stderr: %s", evil, code, stderr)
				continue
			}
			if rep.Verdict != "none" {
				t.Errorf("scope value %q: verdict %s, want none (the canary read nothing)", evil, rep.Verdict)
			}
			for _, s := range rep.Signals {
				if s.Canary.Count != 0 {
					t.Errorf("scope value %q: signal %s read %d canary points, want none", evil, s.Name, s.Canary.Count)
				}
			}
		}
	})
}
