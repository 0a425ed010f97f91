package deploycheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/verdict-aca/verdict/internal/crdcheck"
)

// repo is the repository's root, relative to this package.
const repo = "../.."

// secretFiles are the files the kustomizations generate their Secrets
// from, which an operator writes and git ignores (see README); the tests
// write these stand-ins.
var secretFiles = map[string]string{
	"deploy/base/tokens":           "read 0123456789abcdef-read\njudge 0123456789abcdef-judge\nwrite 0123456789abcdef-write\n",
	"deploy/postgres/database-url": "postgres://verdict:secret@postgres.db.svc:5432/verdict?sslmode=verify-full",
	"deploy/monitoring/read-token": "0123456789abcdef-read",
}

// deployFS is deploy/ in memory, with the secret files (all, or those
// missing leaves out).
func deployFS(t *testing.T, missing ...string) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	err := filepath.WalkDir(filepath.Join(repo, "deploy"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		if err != nil {
			return err
		}
		if _, secret := secretFiles[filepath.ToSlash(rel)]; secret {
			return nil // an operator's own file, not the repository's
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fsys.WriteFile("/"+filepath.ToSlash(rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, text := range secretFiles {
		if !slices.Contains(missing, path) {
			if err := fsys.WriteFile("/"+path, []byte(text)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fsys
}

// crds are the CRDs of crdcheck's testdata, by kind.
func crds(t *testing.T) map[string]*crdcheck.CRD {
	t.Helper()
	all := map[string]*crdcheck.CRD{}
	for _, f := range []string{"argo-rollouts/analysis-template-crd.yaml", "argo-rollouts/rollout-crd.yaml", "flagger/crd.yaml", "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml"} {
		text, err := os.ReadFile(filepath.Join("..", "crdcheck", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := crdcheck.Load(text)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for kind, c := range got {
			all[kind] = c
		}
	}
	return all
}

// checkAll checks every object, as kubectl apply's server would: core
// objects with Check and Restricted, custom resources with their CRD.
func checkAll(t *testing.T, where string, objs []Object, crds map[string]*crdcheck.CRD) {
	t.Helper()
	for _, o := range objs {
		var problems []string
		var err error
		if IsCore(o) {
			if problems, err = Check(o); err == nil {
				var more []string
				more, err = Restricted(o)
				problems = append(problems, more...)
			}
		} else if c, ok := crds[o.Kind]; ok {
			problems, err = c.Validate(o.YAML)
		} else {
			t.Errorf("%s: %s is of a kind the tests cannot check", where, o)
			continue
		}
		if err != nil || len(problems) > 0 {
			t.Errorf("%s: %s is refused: %v %s\n%s", where, o, err, strings.Join(problems, "; "), o.YAML)
		}
	}
}

// valueAt reads a dotted path of a rendered object (numbers index lists).
func valueAt(t *testing.T, o Object, path string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(o.YAML, &v); err != nil {
		t.Fatal(err)
	}
	for _, key := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[key]
		case []any:
			i := 0
			for _, r := range key {
				i = 10*i + int(r-'0')
			}
			if i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func byKind(objs []Object, kind string) []Object {
	var out []Object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// TestDeployRenders renders each kustomization under deploy/ as `kubectl
// apply -k` does, checks every object it gives (core objects decoded
// strictly and validated, the Deployment against the restricted Pod
// Security Standard its Namespace enforces, the ServiceMonitor against
// Prometheus Operator's CRD) and what the objects applied together need of
// each other, and that each is what README says it is.
func TestDeployRenders(t *testing.T) {
	fsys, all := deployFS(t), crds(t)
	rendered := map[string][]Object{}
	for _, dir := range []string{"base", "postgres", "monitoring"} {
		objs, err := Render(fsys, "/deploy/"+dir)
		if err != nil {
			t.Fatalf("deploy/%s: %v", dir, err)
		}
		checkAll(t, "deploy/"+dir, objs, all)
		rendered[dir] = objs
	}
	for _, set := range [][]string{{"base"}, {"postgres"}, {"base", "monitoring"}, {"postgres", "monitoring"}} {
		var objs []Object
		for _, dir := range set {
			objs = append(objs, rendered[dir]...)
		}
		if problems := References(objs); len(problems) > 0 {
			t.Errorf("deploy/%s applied together: %s", strings.Join(set, " and deploy/"), strings.Join(problems, "; "))
		}
	}

	kinds := func(objs []Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.Kind)
		}
		slices.Sort(out)
		return out
	}
	if got, want := kinds(rendered["base"]), []string{"Deployment", "Namespace", "PersistentVolumeClaim", "Secret", "Service"}; !slices.Equal(got, want) {
		t.Errorf("deploy/base renders %v; want %v", got, want)
	}
	if got, want := kinds(rendered["postgres"]), []string{"Deployment", "Namespace", "PodDisruptionBudget", "Secret", "Secret", "Service"}; !slices.Equal(got, want) {
		t.Errorf("deploy/postgres renders %v; want %v (no volume claim)", got, want)
	}
	if got, want := kinds(rendered["monitoring"]), []string{"ConfigMap", "Secret", "ServiceMonitor"}; !slices.Equal(got, want) {
		t.Errorf("deploy/monitoring renders %v; want %v", got, want)
	}

	base, pg := byKind(rendered["base"], "Deployment")[0], byKind(rendered["postgres"], "Deployment")[0]
	for _, tc := range []struct {
		o    Object
		path string
		want any
		what string
	}{
		{base, "spec.replicas", 1.0, "the SQLite store has one replica"},
		{base, "spec.strategy.type", "Recreate", "the SQLite volume is ReadWriteOnce"},
		{base, "spec.template.spec.containers.0.env.0.value", "sqlite:/var/lib/verdict/verdict.db", "the SQLite file is on the volume"},
		{base, "spec.template.spec.containers.0.livenessProbe.httpGet.path", "/healthz", "liveness"},
		{base, "spec.template.spec.containers.0.readinessProbe.httpGet.path", "/readyz", "readiness"},
		{pg, "spec.replicas", 2.0, "PostgreSQL's replicas"},
		{pg, "spec.strategy.type", "RollingUpdate", "replicas roll"},
		{pg, "spec.strategy.rollingUpdate.maxUnavailable", 0.0, "one replica always serves"},
		{pg, "spec.template.spec.containers.0.env.0.name", "VERDICT_DB", "the store's variable"},
		{pg, "spec.template.spec.containers.0.env.0.value", nil, "the URL is not in the manifest"},
		{pg, "spec.template.spec.containers.0.env.0.valueFrom.secretKeyRef.key", "database-url", "the URL comes from its Secret"},
	} {
		if got := valueAt(t, tc.o, tc.path); got != tc.want {
			t.Errorf("%s: %s = %v; want %v (%s)", tc.o, tc.path, got, tc.want, tc.what)
		}
	}
	for _, v := range valueAt(t, pg, "spec.template.spec.volumes").([]any) {
		if v.(map[string]any)["name"] == "data" {
			t.Errorf("deploy/postgres keeps the SQLite volume: %v", v)
		}
	}
}

// TestDeployNeedsTheSecretFiles: without the files an operator writes
// (git ignores them), the build fails naming the file, rather than
// deploying a server without tokens or with tokens everyone knows.
func TestDeployNeedsTheSecretFiles(t *testing.T) {
	for _, tc := range []struct{ dir, missing string }{
		{"base", "deploy/base/tokens"},
		{"postgres", "deploy/postgres/database-url"},
		{"monitoring", "deploy/monitoring/read-token"},
	} {
		_, err := Render(deployFS(t, tc.missing), "/deploy/"+tc.dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Base(tc.missing)) {
			t.Errorf("deploy/%s without %s: %v; want an error naming it", tc.dir, tc.missing, err)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(repo, "deploy", ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	for path := range secretFiles {
		if !strings.Contains(string(ignore), "/"+strings.TrimPrefix(path, "deploy/")+"\n") {
			t.Errorf("deploy/.gitignore does not ignore %s", path)
		}
	}
}

// TestExamplesValid: the example AnalysisTemplate, Rollout and Canary of
// deploy/examples (the ones docs/integrations.md shows: its blocks are
// marked with their files, which the doctest package compares) are valid
// under the CRDs Argo Rollouts and Flagger publish.
func TestExamplesValid(t *testing.T) {
	all := crds(t)
	kinds := map[string]bool{}
	for _, name := range []string{"analysis-template.yaml", "rollout.yaml", "canary.yaml"} {
		text, err := os.ReadFile(filepath.Join(repo, "deploy", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal(text, &head); err != nil {
			t.Fatal(err)
		}
		kinds[head.Kind] = true
		problems, err := all[head.Kind].Validate(text)
		if err != nil || len(problems) > 0 {
			t.Errorf("deploy/examples/%s is refused: %v %s", name, err, strings.Join(problems, "; "))
		}
	}
	if !kinds["AnalysisTemplate"] || !kinds["Rollout"] || !kinds["Canary"] {
		t.Errorf("deploy/examples holds %v; want an AnalysisTemplate, a Rollout and a Canary", kinds)
	}
	docs, err := os.ReadFile(filepath.Join(repo, "docs", "integrations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"analysis-template.yaml", "rollout.yaml", "canary.yaml"} {
		if !strings.Contains(string(docs), "<!-- doctest: file=deploy/examples/"+name+" -->") {
			t.Errorf("docs/integrations.md does not mark its block as deploy/examples/%s", name)
		}
	}
}

// TestChecksRefuse: each check refuses what the API server (or the
// restricted Pod Security admission, or the objects' consumers) would,
// naming the field: the rendered deploy/base and deploy/monitoring with one
// mistake each.
func TestChecksRefuse(t *testing.T) {
	fsys := deployFS(t)
	var objs []Object
	for _, dir := range []string{"base", "monitoring"} {
		got, err := Render(fsys, "/deploy/"+dir)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, got...)
	}
	for _, tc := range []struct {
		name, kind, old, new, want string
	}{
		{"a misspelled field", "Deployment", "  replicas: 1", "  replica: 1", `unknown field "spec.replica"`},
		{"a selector that misses the template", "Deployment", "      app.kubernetes.io/component: server\n      app.kubernetes.io/name: verdict\n  strategy", "      app.kubernetes.io/component: api\n      app.kubernetes.io/name: verdict\n  strategy", "`selector` does not match template `labels`"},
		{"a probe on a port the container lacks", "Deployment", "path: /readyz\n            port: http", "path: /readyz\n            port: metrics", "readinessProbe.httpGet.port: Not found"},
		{"a variable with a value and a source", "Deployment", "- name: GOMEMLIMIT\n", "- name: GOMEMLIMIT\n          value: 1GiB\n", "may not be specified when `value` is not empty"},
		{"a request above its limit", "Deployment", "memory: 256Mi", "memory: 2Gi", "must be less than or equal to memory limit"},
		{"a mount of no volume", "Deployment", "- mountPath: /tmp\n          name: tmp", "- mountPath: /tmp\n          name: scratch", "volumeMounts[2].name: Not found"},
		{"a malformed quantity", "PersistentVolumeClaim", "storage: 5Gi", "storage: 5 GB", "quantities must match"},
		{"privilege escalation", "Deployment", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation must be false"},
		{"root", "Deployment", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot must be true"},
		{"a Service port the pods lack", "Service", "targetPort: http", "targetPort: web", "targetPort web is not a port of the pods"},
		{"a Service that selects nothing", "Service", "app.kubernetes.io/component: server", "app.kubernetes.io/component: api", "selects the pods of no Deployment"},
		{"a token key the Secret lacks", "ServiceMonitor", "key: read-token", "key: token", "reads key token of Secret verdict-metrics-token"},
		{"a ServiceMonitor port the Service lacks", "ServiceMonitor", "port: http", "port: metrics", "endpoints[0].port metrics is not a port of Service verdict"},
		{"a claim that is not there", "Deployment", "claimName: verdict-data", "claimName: verdict-store", "uses PersistentVolumeClaim verdict-store"},
	} {
		changed := slices.Clone(objs)
		found := false
		for i, o := range changed {
			if o.Kind == tc.kind && strings.Contains(string(o.YAML), tc.old) {
				changed[i].YAML = []byte(strings.Replace(string(o.YAML), tc.old, tc.new, 1))
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: no %s holds %q", tc.name, tc.kind, tc.old)
		}
		var all []string
		for _, o := range changed {
			if !IsCore(o) {
				continue
			}
			problems, err := Check(o)
			if err != nil {
				all = append(all, err.Error())
				continue
			}
			more, _ := Restricted(o)
			all = append(all, slices.Concat(problems, more)...)
		}
		all = append(all, References(changed)...)
		if !slices.ContainsFunc(all, func(p string) bool { return strings.Contains(p, tc.want) }) {
			t.Errorf("%s: problems %q; want one saying %q", tc.name, all, tc.want)
		}
	}
}
