// Package crdcheck validates Kubernetes objects against the schema of a
// CustomResourceDefinition as the API server does when kubectl applies
// them (kubectl's default field validation, Strict): with Kubernetes' own
// code (k8s.io/apiextensions-apiserver), it reports the fields the schema
// does not know (which the server would prune, and Strict refuses), and
// then the schema's checks on what is left: required fields, types, enums,
// patterns, formats, bounds.
//
// It exists to check the manifests the docs show (Argo Rollouts'
// AnalysisTemplate and Rollout, Flagger's Canary) against the CRDs those
// projects publish, which live under testdata with their origin.
//
// Not checked: CEL rules (x-kubernetes-validations). An object that sets a
// field guarded by one is refused with an error saying so, unless the rule
// only compares with the old object (oldSelf), which a create never runs;
// nor ObjectMeta beyond its type (names, labels), which the server checks
// apart from the schema.
package crdcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"sigs.k8s.io/yaml"
)

// CRD is one CustomResourceDefinition's schemas, by served version.
type CRD struct {
	// Group and Kind name the resource (e.g. argoproj.io, AnalysisTemplate).
	Group, Kind string
	versions    map[string]*version
}

type version struct {
	internal   *apiextensions.JSONSchemaProps
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
}

// Load reads the CustomResourceDefinitions of a multi-document YAML file
// (the form the projects publish) and returns them by kind.
func Load(text []byte) (map[string]*CRD, error) {
	out := map[string]*CRD{}
	for i, doc := range splitDocuments(text) {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(doc, &crd); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("document %d is a %s, not a CustomResourceDefinition", i+1, crd.Kind)
		}
		c := &CRD{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind, versions: map[string]*version{}}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				return nil, fmt.Errorf("%s %s: %w", c.Kind, v.Name, err)
			}
			st, err := structuralschema.NewStructural(&internal)
			if err != nil {
				return nil, fmt.Errorf("%s %s: not a structural schema: %w", c.Kind, v.Name, err)
			}
			val, _, err := validation.NewSchemaValidator(&internal)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", c.Kind, v.Name, err)
			}
			c.versions[crd.Spec.Group+"/"+v.Name] = &version{internal: &internal, structural: st, validator: val}
		}
		if len(c.versions) == 0 {
			return nil, fmt.Errorf("%s serves no version with a schema", c.Kind)
		}
		out[c.Kind] = c
	}
	return out, nil
}

// Validate checks one object (YAML or JSON) of the CRD's kind: its
// problems, each "path: what is wrong", or an error when it is not such an
// object at all.
func (c *CRD) Validate(doc []byte) ([]string, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	if kind, _ := obj["kind"].(string); kind != c.Kind {
		return nil, fmt.Errorf("kind %q, not %s", kind, c.Kind)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	v, ok := c.versions[apiVersion]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q is not one %s serves", apiVersion, c.Kind)
	}
	var problems []string
	if rules := celRules(obj, v.structural, ""); len(rules) > 0 {
		return nil, errors.New("not checked: " + strings.Join(rules, "; "))
	}
	// Pruning drops what the schema does not know, as the server does
	// before it validates; Strict field validation refuses the request
	// naming those fields instead.
	for _, p := range pruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		problems = append(problems, fmt.Sprintf("%s: unknown field", p))
	}
	for _, e := range validation.ValidateCustomResource(nil, obj, v.validator) {
		if e.Field == "<nil>" { // a rule on several fields (oneOf) names them itself
			problems = append(problems, e.Detail)
			continue
		}
		problems = append(problems, e.Error())
	}
	slices.Sort(problems)
	return problems, nil
}

// celRules lists the CEL rules (x-kubernetes-validations) that would run
// on obj at create, each with its path: those that do not read oldSelf.
func celRules(obj any, s *structuralschema.Structural, path string) []string {
	if s == nil || obj == nil {
		return nil
	}
	var out []string
	for _, r := range s.XValidations {
		if !strings.Contains(r.Rule, "oldSelf") {
			out = append(out, fmt.Sprintf("%s: the CEL rule %q", strings.TrimPrefix(path, "."), r.Rule))
		}
	}
	switch o := obj.(type) {
	case map[string]any:
		for k, v := range o {
			if p, ok := s.Properties[k]; ok {
				out = append(out, celRules(v, &p, path+"."+k)...)
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
				out = append(out, celRules(v, s.AdditionalProperties.Structural, path+"."+k)...)
			}
		}
	case []any:
		for i, v := range o {
			out = append(out, celRules(v, s.Items, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// splitDocuments splits a multi-document YAML file at its "---" lines,
// dropping documents that hold only comments or nothing.
func splitDocuments(text []byte) [][]byte {
	var out [][]byte
	var doc strings.Builder
	content := false
	end := func() {
		if content {
			out = append(out, []byte(doc.String()))
		}
		doc.Reset()
		content = false
	}
	for line := range strings.Lines(string(text)) {
		if t := strings.TrimRight(line, " \r\n"); t == "---" || strings.HasPrefix(t, "--- ") {
			end()
			continue
		}
		doc.WriteString(line)
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			content = true
		}
	}
	end()
	return out
}
