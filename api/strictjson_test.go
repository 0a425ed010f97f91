package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/metrics"
)

// storedAnalyses lists every analysis in ts's store.
func (ts *testServer) storedAnalyses(t *testing.T) []store.Analysis {
	t.Helper()
	list, err := ts.store.ListAnalyses(context.Background(), store.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// liveAnalysis is a POST /api/v1/analyses body the live server accepts.
const liveAnalysis = `{"configName":"healthy","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":"2024-01-01T00:10:00Z","end":"2024-01-01T00:40:00Z","step":"15s"}`

// liveArgo is an Argo web provider's measurement on the live server.
const liveArgo = "/api/v1/argo/healthy?baseline=track%3Dbaseline&canary=track%3Dcanary&lookback=30m&step=15s"

// TestStrictJSONBodies sends bodies that say two things (a key given
// twice), more than one thing (data after the value) or something Verdict
// does not read (a misspelled field): each is refused with 400 naming the
// key, and nothing is stored. Kayenta's bodies may carry fields Verdict
// does not read (its clients send them), but not the other two.
func TestStrictJSONBodies(t *testing.T) {
	ts := liveServer(t, onSQLite)
	putScopeConfigs(t, ts, "")
	series := `"baseline":{"latency":[1,2,3]},"canary":{"latency":[1,2,3]}`
	kayentaScopes := `"scopes":{"default":{"controlScope":{"scope":"baseline","step":15,"start":"2024-01-01T00:10:00Z","end":"2024-01-01T00:40:00Z"},` +
		`"experimentScope":{"scope":"canary","step":15,"start":"2024-01-01T00:10:00Z","end":"2024-01-01T00:40:00Z"}}}`
	for _, tc := range []struct {
		name, path, body, wantError string
	}{
		{"judge: a signal twice on one side", "/api/v1/judge",
			`{"configName":"healthy","baseline":{"errors":[1,2,3],"errors":[900,901,902]},"canary":{"errors":[1,2,3]}}`, "baseline.errors: given twice"},
		{"judge: a signal twice, escaped", "/api/v1/judge",
			`{"configName":"healthy","baseline":{"errors":[1,2,3]},"canary":{"errors":[1,2,3],"\u0065rrors":[4]}}`, "canary.errors: given twice"},
		{"judge: a side twice", "/api/v1/judge",
			`{"configName":"healthy","baseline":{"errors":[1,2,3]},"canary":{"errors":[1,2,3]},"canary":{"errors":[9,9,9]}}`, "canary: given twice"},
		{"judge: configName twice", "/api/v1/judge",
			`{"configName":"healthy","configName":"regress",` + series + `}`, "configName: given twice"},
		{"judge: a key twice in the inline config", "/api/v1/judge",
			`{"config":{"signals":[{"name":"latency","direction":"increase","direction":"decrease"}]},` + series + `}`, `key "direction" appears twice`},
		{"judge: data after the object", "/api/v1/judge", `{"configName":"healthy",` + series + `} {"canary":{}}`, "data after the object"},
		{"judge: a misspelled field", "/api/v1/judge", `{"configName":"healthy",` + series + `,"canaryy":{}}`, "canaryy: unknown field"},

		{"analysis: a field twice", "/api/v1/analyses", strings.Replace(liveAnalysis, `"step":"15s"`, `"step":"15s","start":"2024-01-01T00:20:00Z"`, 1), "start: given twice"},
		{"analysis: a scope variable twice", "/api/v1/analyses", strings.Replace(liveAnalysis, `{"track":"canary"}`, `{"track":"canary","track":"baseline"}`, 1), "canaryScope.track: given twice"},
		{"analysis: a key twice in the inline config", "/api/v1/analyses",
			`{"config":{"signals":[{"name":"e","query":"up","query":"down"}]},"baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"lookback":"10m"}`, "config.signals[0].query: given twice"},
		{"analysis: data after the value", "/api/v1/analyses", liveAnalysis + `{"configName":"regress"}`, "data after the value"},
		{"analysis: a misspelled field", "/api/v1/analyses", strings.Replace(liveAnalysis, `"step"`, `"stepp"`, 1), "stepp: unknown field (the fields are configName, config, baselineScope"},

		{"Flagger: a field twice", "/api/v1/flagger/healthy", `{"name":"podinfo","namespace":"test","namespace":"prod"}`, "namespace: given twice"},
		{"Flagger: a metadata key twice", "/api/v1/flagger/healthy",
			`{"name":"podinfo","namespace":"test","metadata":{"canary.track":"canary","canary.track":"baseline"}}`, "metadata.canary.track: given twice"},
		{"Flagger: data after the value", "/api/v1/flagger/healthy", `{"name":"podinfo","namespace":"test"}]`, "data after the value"},
		{"Flagger: a misspelled field", "/api/v1/flagger/healthy", `{"name":"podinfo","namespace":"test","metdata":{"canary.track":"gone"}}`, "metdata: unknown field"},

		{"Kayenta: a field twice", "/canary/healthy", `{` + kayentaScopes + `,"thresholds":{"pass":95,"marginal":75,"pass":0}}`, "thresholds.pass: given twice"},
		{"Kayenta: data after the value", "/canary/healthy", `{` + kayentaScopes + `,"thresholds":{"pass":95,"marginal":75}}}`, "data after the value"},
		{"standalone: a field twice", "/standalone_canary_analysis/healthy",
			`{"scopes":[{"controlScope":"baseline","experimentScope":"canary","step":15,"step":60}],"thresholds":{"pass":95,"marginal":75}}`, "scopes[0].step: given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(ts.storedAnalyses(t))
			var e errorBody
			code, body := ts.call(t, "POST", tc.path, "", tc.body, &e)
			if code != 400 || !strings.Contains(e.Error, tc.wantError) {
				t.Errorf("%d %s, want 400 with %s", code, body, tc.wantError)
			}
			if got := len(ts.storedAnalyses(t)) - before; got != 0 {
				t.Errorf("%d analyses stored", got)
			}
		})
	}
	// Kayenta's clients send fields Verdict does not read (Spinnaker's
	// siteLocal, a scope's scopeName): those still start an analysis.
	var started struct {
		ID string `json:"canaryAnalysisExecutionId"`
	}
	body := `{"scopes":[{"scopeName":"default","controlScope":"baseline","experimentScope":"canary","startTimeIso":"2024-01-01T00:10:00Z","endTimeIso":"2024-01-01T00:40:00Z","step":15}],` +
		`"thresholds":{"pass":95,"marginal":75},"siteLocal":{"slack":"#canaries"}}`
	if code, answer := ts.call(t, "POST", "/standalone_canary_analysis/healthy-scope", "", body, &started); code != 200 || started.ID == "" {
		t.Errorf("a standalone request with fields Verdict does not read: %d %s, want 200", code, answer)
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "a: given twice"},
		{`{"a":{"b":1},"c":{"b":2}}`, ""},
		{`{"a":{"b":1,"b":2}}`, "a.b: given twice"},
		{`[{"a":1},{"a":1,"a":2}]`, "[1].a: given twice"},
		{`{"l":[[1,{"x":1}],{"y":{"z":[],"z":{}}}]}`, "l[1].y.z: given twice"},
		{`{"a":[1,2,{"a":1}],"b":{"a":[{"a":2}]}}`, ""},
		{`{"":1,"":2}`, ": given twice"},
		{`"just a string"`, ""},
	} {
		err := duplicateKey([]byte(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("duplicateKey(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestJudgeManySignalsDuplicate checks the duplicate check past the number
// of signals compared one by one (linearNames), where it uses a map.
func TestJudgeManySignalsDuplicate(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"configName":"x","baseline":{`)
	for i := range 3 * linearNames {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"s` + strings.Repeat("i", i) + `":[1]`)
	}
	for _, dup := range []string{`,"s":[2]`, `,"s` + strings.Repeat("i", 2*linearNames) + `":[2]`} {
		_, _, err := parseJudgeRequest([]byte(b.String()+dup+`},"canary":{}}`), Limits{}.withDefaults(), nil)
		if err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("a duplicate after %d signals: %v, want given twice", 3*linearNames, err)
		}
	}
	if _, _, err := parseJudgeRequest([]byte(b.String()+`},"canary":{}}`), Limits{}.withDefaults(), nil); err != nil {
		t.Errorf("%d distinct signals: %v", 3*linearNames, err)
	}
}

// TestArgoScopeNotUTF8 sends scope values and keys that are not UTF-8 in
// the Argo endpoint's query string: each is a 400 naming the parameter,
// never a panic turned into a 500, and nothing is stored.
func TestArgoScopeNotUTF8(t *testing.T) {
	ts := liveServer(t, onSQLite)
	for _, tc := range []struct{ query, param string }{
		{"baseline=track%3Dbaseline&canary=track%3D%FF", "canary"},
		{"baseline=track%3D%C3%28&canary=track%3Dcanary", "baseline"},
		{"baseline=tr%FEack%3Dbaseline&canary=track%3Dcanary", "baseline"},
	} {
		var e errorBody
		code, body := ts.call(t, "GET", "/api/v1/argo/regress?"+tc.query+"&lookback=30m", "", nil, &e)
		if code != 400 || !strings.HasPrefix(e.Error, tc.param+": ") || !strings.Contains(e.Error, "not valid UTF-8") {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.query, code, body, tc.param)
		}
	}
	if n := len(ts.storedAnalyses(t)); n != 0 {
		t.Errorf("%d analyses stored", n)
	}
}

// TestObserveAnalysisLabelsNotUTF8 checks that the metrics never panic on
// a scope that is not UTF-8 (a label value must be), whoever reports it.
func TestObserveAnalysisLabelsNotUTF8(t *testing.T) {
	m := NewMetrics()
	score := 80.0
	rep := &analysis.Report{Score: &score, Scopes: &analysis.Scopes{Canary: metrics.Scope{"track": "\xff"}}}
	m.ObserveAnalysis("api", "cfg\xfe", rep, 0)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(families)
	if !strings.Contains(string(js), "verdict_last_score") {
		t.Errorf("verdict_last_score was not recorded: %s", js)
	}
}
