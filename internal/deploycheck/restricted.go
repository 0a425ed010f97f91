package deploycheck

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Restricted checks a Deployment's pods against the Pod Security
// Standard "restricted" profile (the Namespace of deploy/ enforces it,
// label pod-security.kubernetes.io/enforce): non-root, no privilege
// escalation, every capability dropped, the runtime's seccomp profile,
// only the allowed volume types. Other kinds have nothing to check.
func Restricted(o Object) ([]string, error) {
	d, err := decode(o)
	if err != nil {
		return nil, err
	}
	if d.deployment == nil {
		return nil, nil
	}
	pod := d.deployment.Spec.Template.Spec
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			add("volume %s: hostPath volumes are not allowed", v.Name)
		}
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		add("host namespaces are not allowed")
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			add("container %s: runAsNonRoot must be true (pod or container)", c.Name)
		}
		user := sc.RunAsUser
		if user == nil {
			user = psc.RunAsUser
		}
		if user != nil && *user == 0 {
			add("container %s: runAsUser must not be 0", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			add("container %s: allowPrivilegeEscalation must be false", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			add("container %s: privileged is not allowed", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			add("container %s: capabilities.drop must include ALL", c.Name)
		} else if len(sc.Capabilities.Add) > 0 && !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) {
			add("container %s: capabilities.add may only be NET_BIND_SERVICE", c.Name)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			add("container %s: seccompProfile.type must be RuntimeDefault or Localhost (pod or container)", c.Name)
		}
	}
	return problems, nil
}
