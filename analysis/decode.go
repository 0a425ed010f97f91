package analysis

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConfigError is an invalid config: it names the file, the line (0 when
// unknown) and the field path, such as signals[2].allowedChange.
type ConfigError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// decoder fills Go values from a YAML node tree strictly: unknown and
// duplicate keys are errors, scalars must parse as the field's type, and
// every error names the line and the field path. It records the line of
// every key it meets so that later validation can point at it too.
//
// Field names come from `yaml` struct tags. Two tag options are understood:
// ",inline" merges an embedded struct's fields, and ",keyed" reads a slice
// of structs from a mapping whose keys fill the element's "name" field
// (groups: {latency: {weight: 60}}).
type decoder struct {
	file  string
	lines map[string]int
	// structs caches fields per struct type: a config has a mapping per
	// signal, all of one type.
	structs map[reflect.Type]map[string]fieldInfo
	// knownHorizon is the horizon of sequential: {mode: anytime,
	// horizon: ...} (decodeSequential), for Config.KnownHorizon.
	knownHorizon Duration
}

// fields is fields(t), computed once per type for the decoder.
func (d *decoder) fields(t reflect.Type) map[string]fieldInfo {
	if f, ok := d.structs[t]; ok {
		return f
	}
	if d.structs == nil {
		d.structs = map[reflect.Type]map[string]fieldInfo{}
	}
	f := fields(t)
	d.structs[t] = f
	return f
}

var sequentialModeType = reflect.TypeFor[SequentialMode]()

// sequentialSpelling is the mapping form of sequential:
// {mode: anytime, horizon: 1h}.
type sequentialSpelling struct {
	Mode    SequentialMode `yaml:"mode"`
	Horizon Duration       `yaml:"horizon"`
}

// decodeSequential reads the mapping form of sequential into v (the
// mode) and d.knownHorizon.
func (d *decoder) decodeSequential(n *yaml.Node, v reflect.Value, path string) error {
	var s sequentialSpelling
	if err := d.decodeStruct(n, reflect.ValueOf(&s).Elem(), path); err != nil {
		return err
	}
	if s.Horizon < 0 {
		return d.errorf(n, join(path, "horizon"), "the horizon %s is negative", time.Duration(s.Horizon))
	}
	if s.Horizon > 0 && s.Mode != SequentialAnytime {
		return d.errorf(n, join(path, "horizon"), "a known horizon is for mode anytime, not %q", string(s.Mode))
	}
	v.Set(reflect.ValueOf(s.Mode))
	d.knownHorizon = s.Horizon
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) error {
	return &ConfigError{File: d.file, Line: n.Line, Field: path, Err: fmt.Errorf(format, args...)}
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	for n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				return d.errorf(n, path, "the config is empty")
			}
			n = n.Content[0]
		} else {
			n = n.Alias
		}
	}
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), path)
	}
	if v.Type() == sequentialModeType && n.Kind == yaml.MappingNode {
		return d.decodeSequential(n, v, path)
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			return d.errorf(n, path, "want a single value, not %s", kindName(n))
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			return d.errorf(n, path, "%v", err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errorf(n, path, "want a list, not %s", kindName(n))
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			sub := fmt.Sprintf("%s[%d]", path, i)
			d.lines[sub] = item.Line
			if err := d.decode(item, v.Index(i), sub); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.errorf(n, path, "want a single value, not %s", kindName(n))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		switch n.Value {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return d.errorf(n, path, "%q is not true or false", n.Value)
		}
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			return d.errorf(n, path, "%q is not a whole number", n.Value)
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return d.errorf(n, path, "%q is not a finite number", n.Value)
		}
		v.SetFloat(f)
	default:
		return d.errorf(n, path, "internal error: cannot decode into %s", v.Type())
	}
	return nil
}

type fieldInfo struct {
	index []int
	keyed bool
}

// fields maps the YAML keys of a struct type to its fields, following inline embeddings.
func fields(t reflect.Type) map[string]fieldInfo {
	out := map[string]fieldInfo{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for k, sub := range fields(f.Type) {
				out[k] = fieldInfo{index: append([]int{i}, sub.index...), keyed: sub.keyed}
			}
			continue
		}
		out[name] = fieldInfo{index: []int{i}, keyed: opts == "keyed"}
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, path, "want a mapping of keys to values, not %s", kindName(n))
	}
	known := d.fields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		sub := join(path, key.Value)
		if seen[key.Value] {
			return d.errorf(key, path, "key %q appears twice", key.Value)
		}
		seen[key.Value] = true
		f, ok := known[key.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", key.Value)
			if s := suggest(key.Value, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return d.errorf(key, path, "%s", msg)
		}
		d.lines[sub] = key.Line
		field := v.FieldByIndex(f.index)
		var err error
		if f.keyed {
			err = d.decodeKeyed(value, field, sub)
		} else {
			err = d.decode(value, field, sub)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeKeyed reads a mapping into a slice of structs, the keys filling
// each element's "name" field, in the order of the file.
func (d *decoder) decodeKeyed(n *yaml.Node, v reflect.Value, path string) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, path, "want a mapping of names to settings, not %s", kindName(n))
	}
	v.Set(reflect.MakeSlice(v.Type(), 0, len(n.Content)/2))
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if seen[key.Value] {
			return d.errorf(key, path, "%q appears twice", key.Value)
		}
		seen[key.Value] = true
		elem := reflect.New(v.Type().Elem()).Elem()
		sub := join(path, key.Value)
		d.lines[sub] = key.Line
		if err := d.decode(value, elem, sub); err != nil {
			return err
		}
		name := elem.FieldByIndex(d.fields(elem.Type())["name"].index)
		if name.String() != "" && name.String() != key.Value {
			return d.errorf(value, sub, "the name is given by the key; remove name: %q", name.String())
		}
		name.SetString(key.Value)
		v.Set(reflect.Append(v, elem))
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// suggest returns the known key closest to key, if it is close enough to be a typo.
func suggest(key string, known map[string]fieldInfo) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
