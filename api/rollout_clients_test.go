package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-aca/verdict/internal/doctest"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// This file checks docs/integrations.md's rollout-controller setup as a
// whole: its configs, Argo Rollouts' AnalysisTemplates (web and kayenta)
// and Flagger's Canary, read from the Markdown, against verdict serve with
// tokens and a real Prometheus holding what the pods export, for the
// canaries the doc's table lists. The clients are played from the
// templates the way their code reads them (the comments name the code);
// the clients' own code runs through the drivers in testdata/clients/drivers
// when VERDICT_ARGO_DRIVER and VERDICT_FLAGGER_DRIVER name their binaries.

// docHost is the host the documented templates address.
const docHost = "verdict.verdict.svc:8080"

// integrationsDoc is docs/integrations.md.
var integrationsDoc = filepath.Join("..", "docs", "integrations.md")

// markdownBlocks returns the fenced blocks of a Markdown file whose info
// string is lang, indented as they are in a list or not.
func markdownBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	texts, err := doctest.FencedFile(path, lang)
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// docBlock is the one YAML block of docs/integrations.md that starts with
// first and contains every one of has.
func docBlock(t *testing.T, first string, has ...string) string {
	t.Helper()
	var found []string
	for _, b := range markdownBlocks(t, integrationsDoc, "yaml") {
		if !strings.HasPrefix(b, first) {
			continue
		}
		all := true
		for _, h := range has {
			all = all && strings.Contains(b, h)
		}
		if all {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("docs/integrations.md has %d YAML blocks starting %q with %q, want 1", len(found), first, has)
	}
	return found[0]
}

// analysisTemplate is what the clients read of an AnalysisTemplate (Argo
// Rollouts' v1alpha1.AnalysisTemplate, pkg/apis/rollouts/v1alpha1).
type analysisTemplate struct {
	Spec struct {
		Args []struct {
			Name  string  `yaml:"name"`
			Value *string `yaml:"value"`
		} `yaml:"args"`
		Metrics []struct {
			Name             string `yaml:"name"`
			InitialDelay     string `yaml:"initialDelay"`
			Interval         string `yaml:"interval"`
			SuccessCondition string `yaml:"successCondition"`
			FailureCondition string `yaml:"failureCondition"`
			Provider         struct {
				Web *struct {
					URL      string `yaml:"url"`
					JSONPath string `yaml:"jsonPath"`
					Headers  []struct {
						Key   string `yaml:"key"`
						Value string `yaml:"value"`
					} `yaml:"headers"`
				} `yaml:"web"`
				Kayenta *struct {
					Address                  string `yaml:"address"`
					Application              string `yaml:"application"`
					CanaryConfigName         string `yaml:"canaryConfigName"`
					MetricsAccountName       string `yaml:"metricsAccountName"`
					ConfigurationAccountName string `yaml:"configurationAccountName"`
					StorageAccountName       string `yaml:"storageAccountName"`
					Threshold                struct {
						Pass     int64 `yaml:"pass"`
						Marginal int64 `yaml:"marginal"`
					} `yaml:"threshold"`
					Scopes []struct {
						Name            string             `yaml:"name"`
						ControlScope    kayentaScopeDetail `yaml:"controlScope"`
						ExperimentScope kayentaScopeDetail `yaml:"experimentScope"`
					} `yaml:"scopes"`
				} `yaml:"kayenta"`
			} `yaml:"provider"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

// kayentaScopeDetail is Argo's v1alpha1.ScopeDetail.
type kayentaScopeDetail struct {
	Scope  string `yaml:"scope"`
	Region string `yaml:"region"`
	Step   int64  `yaml:"step"`
	Start  string `yaml:"start"`
	End    string `yaml:"end"`
}

var argsRef = regexp.MustCompile(`\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}`)

// resolveArgs substitutes {{args.NAME}} as Argo's ResolveMetricArgs does,
// from values or the argument's default; an argument with neither fails
// the test (Argo: "args.NAME was not resolved").
func resolveArgs(t *testing.T, tmpl analysisTemplate, values map[string]string, s string) string {
	t.Helper()
	return argsRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := argsRef.FindStringSubmatch(ref)[1]
		if v, ok := values[name]; ok {
			return v
		}
		for _, a := range tmpl.Spec.Args {
			if a.Name == name && a.Value != nil {
				return *a.Value
			}
		}
		t.Fatalf("args.%s was not resolved", name)
		return ""
	})
}

// conditionResult reads the conditions the documented template uses,
// result == "WORD", as Argo's expr evaluation does for a string result.
func conditionResult(t *testing.T, cond, result string) bool {
	t.Helper()
	m := regexp.MustCompile(`^result == "([a-z]+)"$`).FindStringSubmatch(cond)
	if m == nil {
		t.Fatalf("condition %q: the test reads only result == \"WORD\"", cond)
	}
	return result == m[1]
}

// argoWeb takes one measurement the way metricproviders/webmetric's
// Provider.Run does: a GET of the resolved URL with the template's headers
// on Go's transport; a status outside 2xx is an Error; the value at
// jsonPath is the result, which utils/evaluate.EvaluateResult reads:
// Failed when failureCondition holds, else Successful when
// successCondition holds, else Inconclusive.
func argoWeb(t *testing.T, tmpl analysisTemplate, args map[string]string, host string) (phase, value string) {
	t.Helper()
	m := tmpl.Spec.Metrics[0]
	web := m.Provider.Web
	u := strings.Replace(resolveArgs(t, tmpl, args, web.URL), docHost, host, 1)
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range web.Headers {
		req.Header.Set(h.Key, resolveArgs(t, tmpl, args, h.Value))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return "Error", fmt.Sprintf("received non 2xx response code: %d %s", resp.StatusCode, body)
	}
	value = jsonPath(t, body, web.JSONPath)
	switch {
	case conditionResult(t, m.FailureCondition, value):
		return "Failed", value
	case conditionResult(t, m.SuccessCondition, value):
		return "Successful", value
	}
	return "Inconclusive", value
}

// argoKayenta takes one measurement the way metricproviders/kayenta does:
// Run looks the config id up (GET /canaryConfig), builds the execution
// request from the template (start and end, when the scopes set none, are
// now − interval and now, formatted in the controller's zone; a +05:30
// zone here), POSTs it, then Resume polls GET /canary/{id} until complete
// and compares int(score) with the template's threshold. The address
// carries the token in its user information, which Go's client sends as
// Basic authorization.
func argoKayenta(t *testing.T, tmpl analysisTemplate, args map[string]string, host string, now time.Time) (phase, value string) {
	t.Helper()
	m := tmpl.Spec.Metrics[0]
	k := m.Provider.Kayenta
	address := strings.Replace(resolveArgs(t, tmpl, args, k.Address), docHost, host, 1)
	client := &http.Client{Timeout: 15 * time.Second}
	get := func(u string) (int, []byte) {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	code, body := get(fmt.Sprintf("%s/canaryConfig?application=%s&configurationAccountName=%s", address, k.Application, k.StorageAccountName))
	if code != 200 {
		return "Error", fmt.Sprintf("Invalid Response: HTTP %d: %s", code, body)
	}
	var index []struct{ Id, Name string }
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, c := range index {
		if c.Name == k.CanaryConfigName {
			id = c.Id
		}
	}
	if id == "" {
		return "Error", "Canary config not found"
	}
	interval, err := time.ParseDuration(m.Interval)
	if err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("IST", 5*3600+1800)
	type detail struct {
		Scope    string `json:"scope"`
		Location string `json:"location"`
		Step     int64  `json:"step"`
		Start    string `json:"start,omitempty"`
		End      string `json:"end,omitempty"`
	}
	scopes := map[string]map[string]detail{}
	for _, s := range k.Scopes {
		side := func(d kayentaScopeDetail) detail {
			out := detail{Scope: resolveArgs(t, tmpl, args, d.Scope), Location: d.Region, Step: d.Step, Start: d.Start, End: d.End}
			if out.Start == "" {
				out.Start = now.Add(-interval).In(zone).Format(time.RFC3339)
			}
			if out.End == "" {
				out.End = now.In(zone).Format(time.RFC3339)
			}
			return out
		}
		scopes[s.Name] = map[string]detail{"controlScope": side(s.ControlScope), "experimentScope": side(s.ExperimentScope)}
	}
	payload, err := json.Marshal(map[string]any{"scopes": scopes, "thresholds": map[string]int64{"pass": k.Threshold.Pass, "marginal": k.Threshold.Marginal}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(fmt.Sprintf("%s/canary/%s?application=%s&metricsAccountName=%s&configurationAccountName=%s&storageAccountName=%s",
		address, id, k.Application, k.MetricsAccountName, k.ConfigurationAccountName, k.StorageAccountName), "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "Error", fmt.Sprintf("Invalid Response: HTTP %d: %s", resp.StatusCode, body)
	}
	var started map[string]any
	if err := json.Unmarshal(body, &started); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		code, doc := get(fmt.Sprintf("%s/canary/%v", address, started["canaryExecutionId"]))
		if code != 200 {
			return "Error", fmt.Sprintf("Invalid Response: HTTP %d", code)
		}
		phase, score, err := argoKayentaPhase(doc, int(k.Threshold.Pass), int(k.Threshold.Marginal))
		if err != nil {
			t.Fatalf("%v: %s", err, doc)
		}
		if phase != "Running" {
			return phase, fmt.Sprint(score)
		}
		time.Sleep(50 * time.Millisecond) // Argo: 15 s
	}
	t.Fatal("the execution did not complete within a minute")
	return "", ""
}

// flaggerCanary is what pkg/controller/webhook.go reads of a Canary.
type flaggerCanary struct {
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Analysis struct {
			Webhooks []struct {
				Name     string            `yaml:"name"`
				Type     string            `yaml:"type"`
				URL      string            `yaml:"url"`
				Metadata map[string]string `yaml:"metadata"`
			} `yaml:"webhooks"`
		} `yaml:"analysis"`
	} `yaml:"spec"`
}

// flaggerRollout calls the Canary's rollout hooks the way CallWebhook does
// (a POST of {name, namespace, phase, checksum, metadata} with
// Content-Type: application/json; the URL's user information becomes Basic
// authorization in Go's client) and applies the scheduler's rule: a status
// above 202 is a failed check. It returns the status and whether the
// check passed.
func flaggerRollout(t *testing.T, cd flaggerCanary, namespace, token, host string) (int, bool, string) {
	t.Helper()
	for _, w := range cd.Spec.Analysis.Webhooks {
		if w.Type != "rollout" && w.Type != "" {
			continue
		}
		payload, err := json.Marshal(map[string]any{"name": cd.Metadata.Name, "namespace": namespace, "phase": "Progressing",
			"checksum": "6c7b8d9f4", "metadata": w.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		u := strings.Replace(strings.Replace(w.URL, docHost, host, 1), "JUDGE_TOKEN", token, 1)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(u, "application/json", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.StatusCode <= 202, string(body)
	}
	t.Fatal("the Canary has no rollout webhook")
	return 0, false, ""
}

// rolloutScenario is one row of the doc's table: a canary and what each
// client decides about it.
type rolloutScenario struct {
	canary rolloutCanary
	weight string // the weight of the Rollout step (the web template's canary-weight)
	// verdict is Verdict's answer to the web call; web, kayenta and
	// flagger what each client concludes.
	verdict, web, kayenta, flagger string
}

// rolloutScenarios are the canaries of the doc's table: 100 requests a
// second in all, 1% errors, latencies around 100 ms.
func rolloutScenarios() []rolloutScenario {
	c := func(name string, share float64) rolloutCanary {
		return rolloutCanary{name: name, rps: 100, canaryShare: share, errors: 0.01, canaryErrors: 1, canarySlower: 1}
	}
	with := func(r rolloutCanary, f func(*rolloutCanary)) rolloutCanary { f(&r); return r }
	return []rolloutScenario{
		{c("healthy-95-5", 0.05), "5", "pass", "Successful", "Successful", "passed"},
		{c("healthy-90-10", 0.10), "10", "pass", "Successful", "Successful", "passed"},
		{with(c("errors-95-5", 0.05), func(r *rolloutCanary) { r.canaryErrors = 4 }), "5", "fail", "Failed", "Failed", "failed"},
		{with(c("errors-90-10", 0.10), func(r *rolloutCanary) { r.canaryErrors = 4 }), "10", "fail", "Failed", "Failed", "failed"},
		{with(c("slower-95-5", 0.05), func(r *rolloutCanary) { r.canarySlower = 1.5 }), "5", "fail", "Failed", "Failed", "failed"},
		{with(c("slower-90-10", 0.10), func(r *rolloutCanary) { r.canarySlower = 1.5 }), "10", "fail", "Failed", "Failed", "failed"},
		// 24 canary requests a minute: 120 in 5 minutes, 96 in 4 (what
		// Kayenta windows that do not start on a minute used to hold).
		{with(c("low-traffic-95-5", 0.05), func(r *rolloutCanary) { r.rps = 8 }), "5", "pass", "Successful", "Successful", "passed"},
		{with(c("trickle-95-5", 0.05), func(r *rolloutCanary) { r.rps = 2 }), "5", "none", "Inconclusive", "Failed", "failed"},
		{with(c("no-canary", 0.05), func(r *rolloutCanary) { r.noCanary = true }), "5", "none", "Inconclusive", "Failed", "failed"},
		// Flagger's first check at a new weight comes one interval after
		// it was set; Argo's initialDelay keeps its windows clear of this.
		{with(c("first-minute-90-10", 0.10), func(r *rolloutCanary) { r.servedFor = 90 * time.Second }), "10", "none", "Inconclusive", "Successful", "passed"},
	}
}

// TestDocumentedRolloutClients: the configs, AnalysisTemplates and Canary
// of docs/integrations.md, played as their clients play them against
// verdict serve with tokens and a real Prometheus, decide as the doc's
// table says, for healthy, regressed and too-little-traffic canaries at
// the splits the templates use. It failed before: the web template
// answered none for every canary (per-step points at lookback=5m), Flagger
// three 424s for a healthy one, the kayenta template did not fit Argo's
// schema, and neither header-less client could authenticate.
func TestDocumentedRolloutClients(t *testing.T) {
	const judgeTok, writeTok = "judge-0123456789abcdef0123456789abcdef", "write-0123456789abcdef0123456789abcdef"
	tokens, err := ParseTokens("test", "judge "+judgeTok+"\nwrite "+writeTok)
	if err != nil {
		t.Fatal(err)
	}
	scenarios := rolloutScenarios()
	prom := promtest.StartWith(t, promtest.Options{RemoteWrite: true})
	// The server's clock is fixed, so that every call judges the same
	// windows, half a minute past a minute, where a client's now−5m .. now
	// does not fall on the step; the data runs 10 minutes past it for the
	// drivers, whose clock is the real one.
	now := time.Now().Truncate(time.Minute).Add(30 * time.Second)
	var canaries []rolloutCanary
	for _, sc := range scenarios {
		canaries = append(canaries, sc.canary)
	}
	writeRolloutTraffic(t, prom, now, canaries)
	ts := newTestServer(t, Options{Sources: promSources(t, prom.URL), Tokens: tokens, Now: func() time.Time { return now }})
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, name := range []string{"checkout", "podinfo"} {
		if code, body := ts.call(t, "PUT", "/api/v1/configs/"+name, writeTok, docBlock(t, "name: "+name+"\n"), nil); code != 200 {
			t.Fatalf("PUT the documented config %s: %d %s", name, code, body)
		}
	}
	var web, kay analysisTemplate
	webText := docBlock(t, "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate", "web:")
	kayText := docBlock(t, "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate", "kayenta:")
	var cd flaggerCanary
	canaryText := docBlock(t, "apiVersion: flagger.app/v1beta1\nkind: Canary")
	for text, into := range map[string]any{webText: &web, kayText: &kay, canaryText: &cd} {
		if err := yaml.Unmarshal([]byte(text), into); err != nil {
			t.Fatal(err)
		}
	}
	args := func(sc rolloutScenario, token string) map[string]string {
		return map[string]string{"config": "checkout", "stable-hash": sc.canary.name + "-stable", "canary-hash": sc.canary.name + "-canary",
			"canary-weight": sc.weight, "verdict-token": token}
	}
	checkDocTable(t, scenarios)
	for _, sc := range scenarios {
		t.Run(sc.canary.name, func(t *testing.T) {
			phase, value := argoWeb(t, web, args(sc, judgeTok), host)
			if value != sc.verdict || phase != sc.web {
				t.Errorf("Argo web: %s, verdict %s; want %s, verdict %s", phase, value, sc.web, sc.verdict)
			}
			if phase, score := argoKayenta(t, kay, args(sc, judgeTok), host, now); phase != sc.kayenta {
				t.Errorf("Argo kayenta: %s (score %s), want %s", phase, score, sc.kayenta)
			}
			code, passed, body := flaggerRollout(t, cd, sc.canary.name, judgeTok, host)
			if got := map[bool]string{true: "passed", false: "failed"}[passed]; got != sc.flagger || code == 429 || code >= 500 && code != 501 {
				t.Errorf("Flagger: %d, check %s; want %s and not retried: %s", code, got, sc.flagger, body)
			}
		})
	}
	t.Run("the Argo endpoint without step", func(t *testing.T) {
		// The window ends on a minute (the source's step), so it holds 5
		// whole minutes: it held 4, too little for this canary.
		q := "baseline=scope%3Dlow-traffic-95-5-stable&canary=scope%3Dlow-traffic-95-5-canary&lookback=5m"
		var ans verdictAnswer
		if code, body := ts.call(t, "GET", "/api/v1/argo/checkout?"+q, judgeTok, nil, &ans); code != 200 || ans.Verdict != "pass" {
			t.Errorf("%d %s, want pass", code, body)
		}
	})
	t.Run("the kayenta template without threshold", func(t *testing.T) {
		// Argo's provider sends {"pass": 0, "marginal": 0}, which passed
		// every canary; the 400 says what to set (Argo shows the
		// measurement as an Error "Invalid Response").
		noThreshold := kay
		noThreshold.Spec.Metrics = slices.Clone(kay.Spec.Metrics)
		k := *kay.Spec.Metrics[0].Provider.Kayenta
		k.Threshold.Pass, k.Threshold.Marginal = 0, 0
		noThreshold.Spec.Metrics[0].Provider.Kayenta = &k
		if phase, msg := argoKayenta(t, noThreshold, args(scenarios[2], judgeTok), host, now); phase != "Error" ||
			!strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, "threshold: {pass: 95, marginal: 75}") {
			t.Errorf("%s %s", phase, msg)
		}
	})
	t.Run("without the token", func(t *testing.T) {
		sc := scenarios[0]
		if phase, msg := argoWeb(t, web, args(sc, "not-a-token-0123456789"), host); phase != "Error" || !strings.Contains(msg, "401") {
			t.Errorf("Argo web with a wrong token: %s %s", phase, msg)
		}
		if phase, msg := argoKayenta(t, kay, args(sc, "not-a-token-0123456789"), host, now); phase != "Error" || !strings.Contains(msg, "401") {
			t.Errorf("Argo kayenta with a wrong token: %s %s", phase, msg)
		}
		if code, _, body := flaggerRollout(t, cd, sc.canary.name, "", host); code != 401 {
			t.Errorf("Flagger without a token: %d %s", code, body)
		}
	})
	runClientDrivers(t, scenarios, webText, kayText, canaryText, judgeTok, host)
}

// checkDocTable checks that the table of docs/integrations.md says, row by
// row, what the scenarios expect: Verdict's answer (its first word in
// backquotes), Argo's phases (the first word of each) and Flagger's check.
func checkDocTable(t *testing.T, scenarios []rolloutScenario) {
	t.Helper()
	doc, err := os.ReadFile(integrationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	const header = "| canary | Verdict (the web call) | Argo `web` | Argo `kayenta` | Flagger `rollout` hook |\n|---|---|---|---|---|\n"
	_, rest, ok := strings.Cut(string(doc), header)
	if !ok {
		t.Fatalf("docs/integrations.md has no table starting %q", header)
	}
	var rows [][]string
	for line := range strings.Lines(rest) {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) != len(scenarios) {
		t.Fatalf("the doc's table has %d rows, the test %d canaries", len(rows), len(scenarios))
	}
	for _, row := range rows {
		if len(row) != 5 {
			t.Fatalf("the doc's table row %q has %d cells, want 5", row, len(row))
		}
	}
	first := func(s string) string {
		words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ':' || r == '`' || r == '(' })
		if len(words) == 0 {
			return ""
		}
		return words[0]
	}
	for i, sc := range scenarios {
		row := rows[i]
		flagger := "failed"
		if strings.Contains(row[4], "check passed") {
			flagger = "passed"
		}
		if first(row[1]) != sc.verdict || first(row[2]) != sc.web || first(row[3]) != sc.kayenta || flagger != sc.flagger {
			t.Errorf("the doc's row %q says %s / %s / %s / %s; the test expects %s / %s / %s / %s for %s",
				row[0], first(row[1]), first(row[2]), first(row[3]), flagger, sc.verdict, sc.web, sc.kayenta, sc.flagger, sc.canary.name)
		}
	}
}

// runClientDrivers runs the clients' own code, when built: the drivers in
// testdata/clients/drivers (see the README there), named by
// VERDICT_ARGO_DRIVER and VERDICT_FLAGGER_DRIVER. They take measurements
// in real time against the same server (whose clock the test fixed, so
// Argo's web provider is judged on the same windows; the kayenta
// provider's own window is the last interval before the real now).
func runClientDrivers(t *testing.T, scenarios []rolloutScenario, webText, kayText, canaryText, token, host string) {
	argo, flagger := os.Getenv("VERDICT_ARGO_DRIVER"), os.Getenv("VERDICT_FLAGGER_DRIVER")
	if argo == "" && flagger == "" {
		t.Log("the clients' own code was not run: set VERDICT_ARGO_DRIVER and VERDICT_FLAGGER_DRIVER to the drivers of testdata/clients/drivers")
		return
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(t *testing.T, bin string, argv ...string) []map[string]any {
		t.Helper()
		out, err := exec.Command(bin, argv...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s: %v\n%s", bin, err, stderr)
		}
		var res []map[string]any
		if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 {
			t.Fatalf("%s answered %s", bin, out)
		}
		return res
	}
	for _, sc := range scenarios {
		t.Run("own code/"+sc.canary.name, func(t *testing.T) {
			if argo != "" {
				argv := []string{"-to", host, "-arg", "config=checkout", "-arg", "stable-hash=" + sc.canary.name + "-stable",
					"-arg", "canary-hash=" + sc.canary.name + "-canary", "-arg", "canary-weight=" + sc.weight, "-arg", "verdict-token=" + token}
				w := run(t, argo, append([]string{"-template", write("web.yaml", webText)}, argv...)...)[0]
				// Argo keeps the value's JSON text: "pass", quoted.
				if w["phase"] != sc.web || w["value"] != strconv.Quote(sc.verdict) {
					t.Errorf("Argo's webmetric provider: %v", w)
				}
				k := run(t, argo, append([]string{"-template", write("kayenta.yaml", kayText)}, argv...)...)[0]
				if k["phase"] != sc.kayenta {
					t.Errorf("Argo's kayenta provider: %v", k)
				}
				if sc.canary.canaryErrors > 1 { // a regressed canary, with the template's threshold left out
					noThreshold := regexp.MustCompile(`(?m)^ *threshold: .*\n`).ReplaceAllString(kayText, "")
					if e := run(t, argo, append([]string{"-template", write("no-threshold.yaml", noThreshold)}, argv...)...)[0]; e["phase"] != "Error" {
						t.Errorf("Argo's kayenta provider without threshold: %v", e)
					}
				}
				t.Logf("Argo: web %s %s; kayenta %s %s", w["phase"], w["value"], k["phase"], k["value"])
			}
			if flagger != "" {
				canary := strings.Replace(strings.Replace(canaryText, "JUDGE_TOKEN", token, 1), "namespace: test", "namespace: "+sc.canary.name, 1)
				f := run(t, flagger, "-canary", write("canary.yaml", canary), "-to", host)[0]
				if got := map[bool]string{true: "passed", false: "failed"}[f["passed"] == true]; got != sc.flagger {
					t.Errorf("Flagger's CallWebhook: %v", f)
				}
				t.Logf("Flagger: %v", f)
			}
		})
	}
}
