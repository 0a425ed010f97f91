package crdcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/internal/doctest"
)

// crds loads the CRDs under testdata (see testdata/NOTICE), by kind.
func crds(t *testing.T) map[string]*CRD {
	t.Helper()
	all := map[string]*CRD{}
	for _, f := range []string{"argo-rollouts/analysis-template-crd.yaml", "argo-rollouts/rollout-crd.yaml", "flagger/crd.yaml"} {
		text, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Load(text)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for kind, c := range got {
			all[kind] = c
		}
	}
	for _, kind := range []string{"AnalysisTemplate", "Rollout", "Canary", "MetricTemplate", "AlertProvider"} {
		if all[kind] == nil {
			t.Fatalf("no CRD of kind %s", kind)
		}
	}
	return all
}

// manifestBlocks returns the YAML blocks of a Markdown file that are
// Kubernetes objects (they start with apiVersion:), indented as they are
// in a list or not.
func manifestBlocks(t *testing.T, path string) []string {
	t.Helper()
	texts, err := doctest.FencedFile(path, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, b := range texts {
		if strings.HasPrefix(b, "apiVersion:") {
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// kindOf is the kind: line of a manifest.
func kindOf(doc string) string {
	for line := range strings.Lines(doc) {
		if k, ok := strings.CutPrefix(line, "kind:"); ok {
			return strings.TrimSpace(k)
		}
	}
	return ""
}

// TestDocumentedManifests: every Kubernetes object docs/integrations.md
// shows (Argo Rollouts' AnalysisTemplates and Rollout, Flagger's Canary)
// is valid under the CRD its project publishes, as the API server checks
// it on kubectl apply. The kayenta provider's snippet was not: it set
// thresholds (Argo's field is threshold) and left out the account names
// and the scopes' region, all of which Argo's schema requires.
func TestDocumentedManifests(t *testing.T) {
	all := crds(t)
	kinds := map[string]int{}
	for _, doc := range manifestBlocks(t, filepath.Join("..", "..", "docs", "integrations.md")) {
		kind := kindOf(doc)
		kinds[kind]++
		c, ok := all[kind]
		if !ok {
			t.Errorf("docs/integrations.md shows a %s, for which the tests have no CRD", kind)
			continue
		}
		problems, err := c.Validate([]byte(doc))
		if err != nil || len(problems) > 0 {
			t.Errorf("docs/integrations.md's %s is refused: %v %s\n%s", kind, err, strings.Join(problems, "; "), doc)
		}
	}
	if kinds["AnalysisTemplate"] != 2 || kinds["Rollout"] != 1 || kinds["Canary"] != 1 {
		t.Errorf("docs/integrations.md shows %v; want 2 AnalysisTemplates (web, kayenta), a Rollout and a Canary", kinds)
	}
}

// TestValidateRefuses: what the API server refuses is refused, each
// problem naming its field: the kayenta snippet the docs used to show,
// unknown and misspelled fields, a value outside an enum, a wrong type.
func TestValidateRefuses(t *testing.T) {
	all := crds(t)
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"the kayenta snippet docs/integrations.md used to show", `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: verdict-kayenta}
spec:
  metrics:
    - name: verdict
      provider:
        kayenta:
          address: http://verdict.verdict.svc:8080
          application: shop
          canaryConfigName: checkout
          thresholds: {pass: 95, marginal: 75}
          scopes:
            - name: default
              controlScope: {scope: stable, step: 60}
              experimentScope: {scope: canary, step: 60}
`, []string{
			"spec.metrics[0].provider.kayenta.configurationAccountName: Required value",
			"spec.metrics[0].provider.kayenta.metricsAccountName: Required value",
			"spec.metrics[0].provider.kayenta.scopes[0].controlScope.region: Required value",
			"spec.metrics[0].provider.kayenta.scopes[0].experimentScope.region: Required value",
			"spec.metrics[0].provider.kayenta.storageAccountName: Required value",
			"spec.metrics[0].provider.kayenta.threshold: Required value",
			"spec.metrics[0].provider.kayenta.thresholds: unknown field",
		}},
		{"a misspelled Rollout step", `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout}
spec:
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec: {containers: [{name: checkout, image: checkout:1}]}
  strategy:
    canary:
      steps:
        - setWeigth: 5
`, []string{"spec.strategy.canary.steps[0].setWeigth: unknown field"}},
		{"a webhook type Flagger does not have, a timeout of the wrong form", `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 1m
    threshold: 3
    stepWeight: 10
    webhooks:
      - name: verdict
        type: prerollout
        url: http://verdict/api/v1/flagger/podinfo
        timeout: ten seconds
`, []string{
			`spec.analysis.webhooks[0].timeout: Invalid value: "ten seconds": spec.analysis.webhooks[0].timeout in body should match '^[0-9]+(m|s)'`,
			`spec.analysis.webhooks[0].type: Unsupported value: "prerollout": supported values: "", "confirm-rollout", "pre-rollout", "rollout", "confirm-promotion", "post-rollout", "event", "rollback", "confirm-traffic-increase"`,
		}},
		{"a timeout that is not a number", `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: x}
spec:
  metrics:
    - name: verdict
      provider: {web: {url: http://verdict/, timeoutSeconds: ten}}
`, []string{`spec.metrics[0].provider.web.timeoutSeconds: Invalid value: "string": spec.metrics[0].provider.web.timeoutSeconds in body must be of type integer: "string"`}},
		{"a Canary's analysis that is neither canary, A/B nor blue/green", `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis: {interval: 1m}
`, []string{
			`"spec.analysis" must validate one and only one schema (oneOf). Found none valid`,
			"spec.analysis.iterations: Required value",
			"spec.analysis.threshold: Required value",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, err := all[kindOf(tc.doc)].Validate([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(problems, "\n"), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestValidateCEL: a field guarded by a CEL rule is not passed unchecked:
// Validate says it cannot check it.
func TestValidateCEL(t *testing.T) {
	doc := `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service:
    port: 9898
    mirror:
      - backendRef: {name: shadow}
  analysis: {interval: 1m}
`
	_, err := crds(t)["Canary"].Validate([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "not checked: spec.service.mirror[0].backendRef: the CEL rule") {
		t.Errorf("err = %v, want one naming the CEL rule it cannot check", err)
	}
}

// TestValidateWrongObject: an object of another kind or version is an
// error, not a list of problems.
func TestValidateWrongObject(t *testing.T) {
	c := crds(t)["Canary"]
	for doc, want := range map[string]string{
		"apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\n": `kind "MetricTemplate", not Canary`,
		"apiVersion: flagger.app/v1alpha3\nkind: Canary\n":        `apiVersion "flagger.app/v1alpha3" is not one Canary serves`,
		"- a list\n": "not an object",
	} {
		if _, err := c.Validate([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}
