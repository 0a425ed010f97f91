package kayenta

import (
	"crypto/sha1"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// UpstreamError is a failure whose message is upstream's, kept verbatim
// (capitalised, with a final period) so that clients matching Kayenta's
// messages keep working: pairing errors and ErrNoLifetime.
type UpstreamError struct{ Msg string }

func (e *UpstreamError) Error() string { return e.Msg }

func mixError(format string, args ...any) error {
	return &UpstreamError{Msg: fmt.Sprintf(format, args...)}
}

// maxExpectedDataPoints caps the NaN padding of a metric set. Upstream has no
// cap (a tiny step over a long window exhausts memory); here such a set is an
// error.
const maxExpectedDataPoints = 1 << 24

// mixOne pairs one control and one experiment metric set (upstream
// MetricSetMixerService.mixOne): names must be non-empty and equal and tag
// maps equal; each side is padded with NaN at the end up to its
// ExpectedDataPoints. id becomes the pair's id.
func mixOne(control, experiment MetricSet, id string) (MetricSetPair, error) {
	switch {
	case control.Name == "":
		return MetricSetPair{}, mixError("Control metric set name was not set.")
	case experiment.Name == "":
		return MetricSetPair{}, mixError("Experiment metric set name was not set.")
	case control.Name != experiment.Name:
		return MetricSetPair{}, mixError("Control metric set name '%s' does not match experiment metric set name '%s'.", control.Name, experiment.Name)
	case !maps.Equal(control.Tags, experiment.Tags):
		return MetricSetPair{}, mixError("Control metric set tags %s do not match experiment metric set tags %s.", formatTags(control.Tags), formatTags(experiment.Tags))
	}
	cv, err := padded(control)
	if err != nil {
		return MetricSetPair{}, fmt.Errorf("control metric set %s: %w", control.Name, err)
	}
	ev, err := padded(experiment)
	if err != nil {
		return MetricSetPair{}, fmt.Errorf("experiment metric set %s: %w", experiment.Name, err)
	}
	tags := control.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	pair := MetricSetPair{
		Name:   control.Name,
		ID:     id,
		Tags:   tags,
		Values: PairValues{Control: cv, Experiment: ev},
		Scopes: map[string]MetricSetScope{
			"control":    {StartTimeIso: control.StartTimeIso, StartTimeMillis: control.StartTimeMillis, StepMillis: control.StepMillis},
			"experiment": {StartTimeIso: experiment.StartTimeIso, StartTimeMillis: experiment.StartTimeMillis, StepMillis: experiment.StepMillis},
		},
	}
	if control.Attributes != nil || experiment.Attributes != nil {
		pair.Attributes = map[string]map[string]string{}
		if control.Attributes != nil {
			pair.Attributes["control"] = control.Attributes
		}
		if experiment.Attributes != nil {
			pair.Attributes["experiment"] = experiment.Attributes
		}
	}
	return pair, nil
}

func padded(m MetricSet) (Series, error) {
	want := m.ExpectedDataPoints()
	if want > maxExpectedDataPoints {
		return nil, fmt.Errorf("expects %d data points, more than the limit of %d", want, maxExpectedDataPoints)
	}
	out := make(Series, len(m.Values), max(int64(len(m.Values)), want))
	copy(out, m.Values)
	for int64(len(out)) < want {
		out = append(out, math.NaN())
	}
	return out, nil
}

// formatTags renders a tag map like Java's Map.toString with sorted keys.
func formatTags(t map[string]string) string {
	keys := slices.Sorted(maps.Keys(t))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// metricSetKey is upstream's key of a metric set: "name -> {k:v, ...}" with
// sorted tag keys.
func metricSetKey(m MetricSet) string {
	keys := slices.Sorted(maps.Keys(m.Tags))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + m.Tags[k]
	}
	return m.Name + " -> {" + strings.Join(parts, ", ") + "}"
}

// template is a NaN-filled stand-in for a missing side (upstream makeTemplate).
func template(t MetricSet, tags map[string]string) (MetricSet, error) {
	want := t.ExpectedDataPoints()
	if want > maxExpectedDataPoints {
		return MetricSet{}, fmt.Errorf("metric set %s expects %d data points, more than the limit of %d", t.Name, want, maxExpectedDataPoints)
	}
	values := make(Series, max(want, 0))
	for i := range values {
		values[i] = math.NaN()
	}
	return MetricSet{
		Name: t.Name, Tags: tags, Attributes: t.Attributes, Values: values,
		StartTimeIso: t.StartTimeIso, StartTimeMillis: t.StartTimeMillis, StepMillis: t.StepMillis,
		EndTimeIso: t.EndTimeIso, EndTimeMillis: t.EndTimeMillis,
	}, nil
}

// mixAll pairs the control and experiment metric sets of every configured
// metric name, in canary-config order (upstream mixAll; quirk Q19):
//
//   - a metric with no set on one side is an error;
//   - tagged sets on both sides with different tag-key sets are an error;
//   - an untagged set on one side facing only tagged sets on the other is a
//     placeholder: each tagged set is paired with a NaN template;
//   - otherwise sets are paired by their full tag map, a tag map missing on
//     one side being paired with a NaN template (so differing tag values
//     give half-empty pairs).
//
// Within a metric, pairs come in order of first appearance of their tag map
// (control first); upstream's order is a hash-set order. newID gives each
// pair its id; nil uses DeterministicPairID.
func mixAll(metricNames []string, control, experiment []MetricSet, newID func(MetricSet, int) string) ([]MetricSetPair, error) {
	if newID == nil {
		newID = deterministicPairID
	}
	var out []MetricSetPair
	for _, name := range metricNames {
		cs := filterByName(control, name)
		es := filterByName(experiment, name)
		if len(cs) == 0 {
			return nil, mixError("No control metrics found for %s and the metric service did not create a placeholder.", name)
		}
		if len(es) == 0 {
			return nil, mixError("No experiment metrics found for %s and the metric service did not create a placeholder.", name)
		}
		ck, ek := tagKeys(cs), tagKeys(es)
		if len(ck) > 0 && len(ek) > 0 && !slices.Equal(ck, ek) {
			return nil, mixError("Control metrics have different tag keys than the experiment tag set ([%s] != [%s]).", strings.Join(ck, ", "), strings.Join(ek, ", "))
		}
		pairs, err := mixOneMetric(cs, es)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			pair, err := mixOne(p[0], p[1], "")
			if err != nil {
				return nil, err
			}
			pair.ID = newID(p[0], len(out))
			out = append(out, pair)
		}
	}
	return out, nil
}

func mixOneMetric(cs, es []MetricSet) ([][2]MetricSet, error) {
	cEmpty := slices.ContainsFunc(cs, func(m MetricSet) bool { return len(m.Tags) == 0 })
	eEmpty := slices.ContainsFunc(es, func(m MetricSet) bool { return len(m.Tags) == 0 })
	var pairs [][2]MetricSet
	switch {
	case cEmpty && !eEmpty:
		for _, e := range es {
			t, err := template(cs[0], e.Tags)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, [2]MetricSet{t, e})
		}
	case !cEmpty && eEmpty:
		for _, c := range cs {
			t, err := template(es[0], c.Tags)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, [2]MetricSet{c, t})
		}
	default:
		var all []map[string]string
		for _, m := range append(slices.Clone(cs), es...) {
			if !slices.ContainsFunc(all, func(t map[string]string) bool { return maps.Equal(t, m.Tags) }) {
				all = append(all, m.Tags)
			}
		}
		for _, tags := range all {
			c, ok := findByTags(cs, tags)
			if !ok {
				var err error
				if c, err = template(cs[0], tags); err != nil {
					return nil, err
				}
			}
			e, ok := findByTags(es, tags)
			if !ok {
				var err error
				if e, err = template(es[0], tags); err != nil {
					return nil, err
				}
			}
			pairs = append(pairs, [2]MetricSet{c, e})
		}
	}
	return pairs, nil
}

func filterByName(sets []MetricSet, name string) []MetricSet {
	var out []MetricSet
	for _, m := range sets {
		if m.Name == name {
			out = append(out, m)
		}
	}
	return out
}

func findByTags(sets []MetricSet, tags map[string]string) (MetricSet, bool) {
	for _, m := range sets {
		if maps.Equal(m.Tags, tags) {
			return m, true
		}
	}
	return MetricSet{}, false
}

func tagKeys(sets []MetricSet) []string {
	seen := map[string]bool{}
	for _, m := range sets {
		for k := range m.Tags {
			seen[k] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// deterministicPairID derives a pair id (UUID version-5 layout) from the
// control set's key and the pair's position, instead of upstream's random
// UUID, so that judging the same data twice gives the same ids.
func deterministicPairID(control MetricSet, index int) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("%d|%s", index, metricSetKey(control))))
	sum[6] = (sum[6] & 0x0f) | 0x50
	sum[8] = (sum[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}
