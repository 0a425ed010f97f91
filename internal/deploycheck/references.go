package deploycheck

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// References checks what the objects applied together (one or more
// renders) need of each other, each problem "OBJECT: what is missing":
// the Secrets, ConfigMaps and PersistentVolumeClaims a Deployment's pods
// use exist in its namespace, with the keys they read; a Service selects
// some Deployment's pods, and its named target ports are ports of them; a
// PodDisruptionBudget selects some pods; a ServiceMonitor selects a
// Service in its namespace, names a port of it, and reads a Secret key
// that exists. Objects it cannot decode are Check's to report.
func References(objs []Object) []string {
	var all []decoded
	for _, o := range objs {
		d, err := decode(o)
		if err == nil {
			all = append(all, d)
		}
	}
	find := func(kind, ns, name string) *decoded {
		for i := range all {
			if all[i].Kind == kind && all[i].Namespace == ns && all[i].Name == name {
				return &all[i]
			}
		}
		return nil
	}
	hasKey := func(d *decoded, key string) bool {
		switch {
		case d.secret != nil:
			_, ok := d.secret.Data[key]
			_, ok2 := d.secret.StringData[key]
			return ok || ok2
		case d.configMap != nil:
			_, ok := d.configMap.Data[key]
			_, ok2 := d.configMap.BinaryData[key]
			return ok || ok2
		}
		return false
	}
	var problems []string
	add := func(d decoded, format string, args ...any) {
		problems = append(problems, d.String()+": "+fmt.Sprintf(format, args...))
	}
	ref := func(d decoded, kind, name, key, what string) {
		target := find(kind, d.Namespace, name)
		switch {
		case target == nil:
			add(d, "%s uses %s %s, which is not among the objects", what, kind, name)
		case key != "" && !hasKey(target, key):
			add(d, "%s reads key %s of %s %s, which has no such key", what, key, kind, name)
		}
	}
	for _, d := range all {
		if d.deployment == nil {
			continue
		}
		pod := d.deployment.Spec.Template.Spec
		for _, v := range pod.Volumes {
			switch {
			case v.Secret != nil && (v.Secret.Optional == nil || !*v.Secret.Optional):
				ref(d, "Secret", v.Secret.SecretName, "", "volume "+v.Name)
			case v.ConfigMap != nil && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional):
				ref(d, "ConfigMap", v.ConfigMap.Name, "", "volume "+v.Name)
			case v.PersistentVolumeClaim != nil:
				ref(d, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName, "", "volume "+v.Name)
			}
		}
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil && (r.Optional == nil || !*r.Optional) {
					ref(d, "Secret", r.Name, r.Key, "variable "+e.Name)
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil && (r.Optional == nil || !*r.Optional) {
					ref(d, "ConfigMap", r.Name, r.Key, "variable "+e.Name)
				}
			}
		}
	}
	// podsOf lists the Deployments in ns whose pods sel selects.
	podsOf := func(ns string, sel labels.Selector) []*decoded {
		var out []*decoded
		for i := range all {
			if dep := all[i].deployment; dep != nil && all[i].Namespace == ns && sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				out = append(out, &all[i])
			}
		}
		return out
	}
	for _, d := range all {
		switch {
		case d.service != nil:
			if len(d.service.Spec.Selector) == 0 {
				add(d, "selects no pods (no selector)")
				continue
			}
			deps := podsOf(d.Namespace, labels.SelectorFromSet(d.service.Spec.Selector))
			if len(deps) == 0 {
				add(d, "selector %v selects the pods of no Deployment", d.service.Spec.Selector)
				continue
			}
			for _, port := range d.service.Spec.Ports {
				if port.TargetPort.Type != intstr.String {
					continue
				}
				for _, dep := range deps {
					if !hasPort(dep.deployment.Spec.Template.Spec, port.TargetPort.StrVal) {
						add(d, "targetPort %s is not a port of the pods of Deployment %s", port.TargetPort.StrVal, dep.Name)
					}
				}
			}
		case d.pdb != nil && d.pdb.Spec.Selector != nil:
			sel, err := metav1.LabelSelectorAsSelector(d.pdb.Spec.Selector)
			if err == nil && len(podsOf(d.Namespace, sel)) == 0 {
				add(d, "selector selects the pods of no Deployment")
			}
		case d.Kind == "ServiceMonitor":
			problems = append(problems, serviceMonitorRefs(d, all, func(name, key string) { ref(d, "Secret", name, key, "its authorization") })...)
		}
	}
	slices.Sort(problems)
	return problems
}

func hasPort(pod corev1.PodSpec, name string) bool {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

// serviceMonitorRefs checks a ServiceMonitor (already valid under its
// CRD): its selector selects a Service of its namespace (namespaceSelector
// is not followed: it must be absent), every endpoint's port names a port
// of one, and the Secrets its endpoints' authorization reads exist (ref).
func serviceMonitorRefs(d decoded, all []decoded, ref func(name, key string)) []string {
	var problems []string
	spec, _ := d.custom["spec"].(map[string]any)
	if _, ok := spec["namespaceSelector"]; ok {
		return []string{d.String() + ": namespaceSelector is set; this check follows only the ServiceMonitor's own namespace"}
	}
	var sel metav1.LabelSelector
	if raw, ok := spec["selector"].(map[string]any); ok {
		if ml, ok := raw["matchLabels"].(map[string]any); ok {
			sel.MatchLabels = map[string]string{}
			for k, v := range ml {
				sel.MatchLabels[k], _ = v.(string)
			}
		}
		if _, ok := raw["matchExpressions"]; ok {
			return []string{d.String() + ": selector.matchExpressions is not followed by this check"}
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil || selector.Empty() {
		return []string{d.String() + ": selector selects every Service, or is invalid"}
	}
	var services []*corev1.Service
	for i := range all {
		if s := all[i].service; s != nil && all[i].Namespace == d.Namespace && selector.Matches(labels.Set(s.Labels)) {
			services = append(services, s)
		}
	}
	if len(services) == 0 {
		return []string{fmt.Sprintf("%s: selector %v selects no Service", d, sel.MatchLabels)}
	}
	endpoints, _ := spec["endpoints"].([]any)
	for i, e := range endpoints {
		ep, _ := e.(map[string]any)
		if port, ok := ep["port"].(string); ok {
			for _, s := range services {
				if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == port }) {
					problems = append(problems, fmt.Sprintf("%s: endpoints[%d].port %s is not a port of Service %s", d, i, port, s.Name))
				}
			}
		}
		if auth, ok := ep["authorization"].(map[string]any); ok {
			if cred, ok := auth["credentials"].(map[string]any); ok {
				name, _ := cred["name"].(string)
				key, _ := cred["key"].(string)
				ref(name, key)
			}
		}
	}
	return problems
}
