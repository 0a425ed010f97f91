// Package deploycheck renders Verdict's Kubernetes manifests (deploy/: a
// kustomize base and its overlays) with kustomize's own library, as
// `kubectl apply -k` does, and checks every object they produce as the API
// server would, as far as the libraries Verdict depends on can run its
// checks outside a cluster.
//
// Core objects (Namespace, Deployment, Service, Secret, ConfigMap,
// PersistentVolumeClaim, PodDisruptionBudget) are decoded strictly into
// their k8s.io/api types, so an unknown or misspelled field, a wrong type
// or a malformed quantity is an error, as with kubectl's default Strict
// field validation; then their metadata goes through apimachinery's
// ObjectMeta validation, and their names, ports, keys and environment
// variable names through its validators. The checks of the Kubernetes API
// server's own validation that matter to these manifests and that no
// importable library holds (k8s.io/kubernetes is not one) are written
// here: a Deployment's selector selects its template, probes name a port
// of their container, an environment variable has one source, volumes
// mounted exist, requests do not exceed limits. Custom resources are left
// to package crdcheck, against their CRDs.
//
// Beyond one object, References checks what a set of objects applied
// together needs of each other: Secrets, ConfigMaps and claims the pods
// use exist with the keys they read, a Service selects the pods and their
// named port, a ServiceMonitor selects the Service and its port and reads
// a Secret that exists. Restricted checks the Pod Security Standard
// "restricted" profile that the deploy's Namespace enforces.
package deploycheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	// YAML is the object as kustomize renders it.
	YAML []byte
}

// String names the object: Kind namespace/name.
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Render builds the kustomization at dir of fsys, as `kubectl apply -k dir`
// would, and returns its objects.
func Render(fsys filesys.FileSystem, dir string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []Object
	for _, r := range m.Resources() {
		text, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, Object{APIVersion: r.GetApiVersion(), Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName(), YAML: text})
	}
	return out, nil
}

// decoded is a core object decoded into its k8s.io/api type.
type decoded struct {
	Object
	namespace  *corev1.Namespace
	deployment *appsv1.Deployment
	service    *corev1.Service
	secret     *corev1.Secret
	configMap  *corev1.ConfigMap
	claim      *corev1.PersistentVolumeClaim
	pdb        *policyv1.PodDisruptionBudget
	custom     map[string]any
}

// IsCore says whether Check knows the object's kind; the others are custom
// resources, for crdcheck.
func IsCore(o Object) bool {
	switch o.APIVersion + " " + o.Kind {
	case "v1 Namespace", "apps/v1 Deployment", "v1 Service", "v1 Secret", "v1 ConfigMap", "v1 PersistentVolumeClaim", "policy/v1 PodDisruptionBudget":
		return true
	}
	return false
}

// decode reads o strictly into its type (unknown fields are errors).
func decode(o Object) (decoded, error) {
	d := decoded{Object: o}
	var target any
	switch o.APIVersion + " " + o.Kind {
	case "v1 Namespace":
		d.namespace = &corev1.Namespace{}
		target = d.namespace
	case "apps/v1 Deployment":
		d.deployment = &appsv1.Deployment{}
		target = d.deployment
	case "v1 Service":
		d.service = &corev1.Service{}
		target = d.service
	case "v1 Secret":
		d.secret = &corev1.Secret{}
		target = d.secret
	case "v1 ConfigMap":
		d.configMap = &corev1.ConfigMap{}
		target = d.configMap
	case "v1 PersistentVolumeClaim":
		d.claim = &corev1.PersistentVolumeClaim{}
		target = d.claim
	case "policy/v1 PodDisruptionBudget":
		d.pdb = &policyv1.PodDisruptionBudget{}
		target = d.pdb
	default:
		d.custom = map[string]any{}
		target = &d.custom
		if err := yaml.Unmarshal(o.YAML, target); err != nil {
			return d, fmt.Errorf("%s: %w", o, err)
		}
		return d, nil
	}
	js, err := yaml.YAMLToJSON(o.YAML)
	if err != nil {
		return d, fmt.Errorf("%s: %w", o, err)
	}
	// As the API server decodes under Strict field validation: every
	// unknown or duplicated field is named with its path.
	strict, err := sigsjson.UnmarshalStrict(js, target, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return d, fmt.Errorf("%s: %w", o, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return d, fmt.Errorf("%s: %s", o, strings.Join(msgs, "; "))
	}
	return d, nil
}

// Check checks one core object (IsCore): its problems, each "field: what
// is wrong", or an error when it cannot be decoded into its type.
func Check(o Object) ([]string, error) {
	if !IsCore(o) {
		return nil, fmt.Errorf("%s: not a kind this package checks (%s)", o, o.APIVersion)
	}
	d, err := decode(o)
	if err != nil {
		return nil, err
	}
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	switch {
	case d.namespace != nil:
		errs = apivalidation.ValidateObjectMeta(&d.namespace.ObjectMeta, false, apivalidation.ValidateNamespaceName, meta)
	case d.deployment != nil:
		errs = apivalidation.ValidateObjectMeta(&d.deployment.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, meta)
		errs = append(errs, checkDeployment(d.deployment)...)
	case d.service != nil:
		errs = apivalidation.ValidateObjectMeta(&d.service.ObjectMeta, true, apivalidation.NameIsDNS1035Label, meta)
		errs = append(errs, checkService(d.service)...)
	case d.secret != nil:
		errs = apivalidation.ValidateObjectMeta(&d.secret.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, meta)
		errs = append(errs, checkKeys(slices.Collect(maps.Keys(d.secret.Data)), field.NewPath("data"))...)
	case d.configMap != nil:
		errs = apivalidation.ValidateObjectMeta(&d.configMap.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, meta)
		errs = append(errs, checkKeys(slices.Collect(maps.Keys(d.configMap.Data)), field.NewPath("data"))...)
	case d.claim != nil:
		errs = apivalidation.ValidateObjectMeta(&d.claim.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, meta)
		errs = append(errs, checkClaim(d.claim)...)
	case d.pdb != nil:
		errs = apivalidation.ValidateObjectMeta(&d.pdb.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, meta)
		errs = append(errs, checkPDB(d.pdb)...)
	}
	return messages(errs), nil
}

func messages(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	slices.Sort(out)
	return out
}

func checkKeys(keys []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range keys {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(path.Key(k), k, msg))
		}
	}
	return errs
}

func checkDeployment(d *appsv1.Deployment) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(spec.Child("replicas"), *d.Spec.Replicas, "must be at least 0"))
	}
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Required(spec.Child("selector"), "a Deployment selects its pods"))
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
		errs = append(errs, field.Invalid(spec.Child("selector"), d.Spec.Selector, err.Error()))
	} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		errs = append(errs, field.Invalid(spec.Child("template", "metadata", "labels"), d.Spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if d.Spec.Strategy.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(spec.Child("strategy", "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case "", appsv1.RollingUpdateDeploymentStrategyType:
	default:
		errs = append(errs, field.NotSupported(spec.Child("strategy", "type"), d.Spec.Strategy.Type, []string{"Recreate", "RollingUpdate"}))
	}
	return append(errs, checkPod(&d.Spec.Template.Spec, spec.Child("template", "spec"))...)
}

func checkPod(pod *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes := map[string]bool{}
	for i, v := range pod.Volumes {
		p := path.Child("volumes").Index(i)
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), v.Name, msg))
		}
		if volumes[v.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), v.Name))
		}
		volumes[v.Name] = true
		if n := volumeSources(v.VolumeSource); n != 1 {
			errs = append(errs, field.Invalid(p, v.Name, fmt.Sprintf("has %d sources; want exactly one", n)))
		}
	}
	if len(pod.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), "a pod has a container"))
	}
	names := map[string]bool{}
	for i := range pod.Containers {
		c := &pod.Containers[i]
		p := path.Child("containers").Index(i)
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		}
		names[c.Name] = true
		if strings.TrimSpace(c.Image) == "" {
			errs = append(errs, field.Required(p.Child("image"), ""))
		}
		errs = append(errs, checkContainer(c, volumes, p)...)
	}
	return errs
}

// volumeSources counts the sources a volume sets.
func volumeSources(v corev1.VolumeSource) int {
	n := 0
	for _, set := range []bool{v.HostPath != nil, v.EmptyDir != nil, v.Secret != nil, v.ConfigMap != nil, v.PersistentVolumeClaim != nil,
		v.Projected != nil, v.DownwardAPI != nil, v.CSI != nil, v.Ephemeral != nil, v.NFS != nil, v.Image != nil} {
		if set {
			n++
		}
	}
	return n
}

func checkContainer(c *corev1.Container, volumes map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ports := map[string]int32{}
	for j, port := range c.Ports {
		pp := p.Child("ports").Index(j)
		for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
			errs = append(errs, field.Invalid(pp.Child("containerPort"), port.ContainerPort, msg))
		}
		if port.Name != "" {
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
			}
			if _, dup := ports[port.Name]; dup {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			ports[port.Name] = port.ContainerPort
		}
	}
	for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
		if probe == nil {
			continue
		}
		pp := p.Child(name)
		if probe.HTTPGet == nil && probe.TCPSocket == nil && probe.Exec == nil && probe.GRPC == nil {
			errs = append(errs, field.Required(pp, "a probe has a handler"))
			continue
		}
		if h := probe.HTTPGet; h != nil {
			if !strings.HasPrefix(h.Path, "/") {
				errs = append(errs, field.Invalid(pp.Child("httpGet", "path"), h.Path, "must be an absolute path"))
			}
			errs = append(errs, checkPortRef(h.Port, ports, pp.Child("httpGet", "port"))...)
		}
	}
	for j, env := range c.Env {
		ep := p.Child("env").Index(j)
		for _, msg := range validation.IsEnvVarName(env.Name) {
			errs = append(errs, field.Invalid(ep.Child("name"), env.Name, msg))
		}
		if env.Value != "" && env.ValueFrom != nil {
			errs = append(errs, field.Invalid(ep.Child("valueFrom"), "", "may not be specified when `value` is not empty"))
		}
		if vf := env.ValueFrom; vf != nil {
			n := 0
			for _, set := range []bool{vf.FieldRef != nil, vf.ResourceFieldRef != nil, vf.ConfigMapKeyRef != nil, vf.SecretKeyRef != nil, vf.FileKeyRef != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				errs = append(errs, field.Invalid(ep.Child("valueFrom"), "", fmt.Sprintf("has %d sources; want exactly one", n)))
			}
			if r := vf.ResourceFieldRef; r != nil && (r.ContainerName == "" || r.ContainerName == c.Name) {
				if res, ok := strings.CutPrefix(r.Resource, "limits."); ok {
					if _, set := c.Resources.Limits[corev1.ResourceName(res)]; !set {
						errs = append(errs, field.Invalid(ep.Child("valueFrom", "resourceFieldRef", "resource"), r.Resource, "the container sets no such limit (the variable would be the node's capacity)"))
					}
				}
			}
		}
	}
	mounts := map[string]bool{}
	for j, m := range c.VolumeMounts {
		mp := p.Child("volumeMounts").Index(j)
		if !volumes[m.Name] {
			errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
		}
		if !strings.HasPrefix(m.MountPath, "/") {
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be an absolute path"))
		}
		if mounts[m.MountPath] {
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mounts[m.MountPath] = true
	}
	for res, req := range c.Resources.Requests {
		if lim, ok := c.Resources.Limits[res]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(p.Child("resources", "requests").Key(string(res)), req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", res, lim.String())))
		}
	}
	return errs
}

// checkPortRef checks a port given by number or by the name of one of the
// container's ports.
func checkPortRef(port intstr.IntOrString, named map[string]int32, path *field.Path) field.ErrorList {
	if port.Type == intstr.Int {
		if msgs := validation.IsValidPortNum(port.IntValue()); len(msgs) > 0 {
			return field.ErrorList{field.Invalid(path, port.IntValue(), strings.Join(msgs, "; "))}
		}
		return nil
	}
	if _, ok := named[port.StrVal]; !ok {
		return field.ErrorList{field.NotFound(path, port.StrVal)}
	}
	return nil
}

func checkService(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if len(s.Spec.Ports) == 0 {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	names := map[string]bool{}
	for i, port := range s.Spec.Ports {
		p := spec.Child("ports").Index(i)
		for _, msg := range validation.IsValidPortNum(int(port.Port)) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port, msg))
		}
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "a Service of several ports names each"))
		}
		if port.Name != "" {
			for _, msg := range validation.IsDNS1123Label(port.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), port.Name, msg))
			}
			if names[port.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			}
			names[port.Name] = true
		}
		if port.TargetPort.Type == intstr.String {
			for _, msg := range validation.IsValidPortName(port.TargetPort.StrVal) {
				errs = append(errs, field.Invalid(p.Child("targetPort"), port.TargetPort.StrVal, msg))
			}
		}
	}
	return errs
}

func checkClaim(c *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if len(c.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(spec.Child("accessModes"), "at least 1 access mode is required"))
	}
	if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
		errs = append(errs, field.Required(spec.Child("resources", "requests").Key("storage"), "a positive size"))
	}
	return errs
}

func checkPDB(p *policyv1.PodDisruptionBudget) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		errs = append(errs, field.Invalid(spec, "", "minAvailable and maxUnavailable: set exactly one"))
	}
	if p.Spec.Selector == nil {
		errs = append(errs, field.Required(spec.Child("selector"), "a PodDisruptionBudget selects its pods"))
	}
	return errs
}
