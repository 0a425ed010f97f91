package kayenta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a float64 that serialises non-finite values the way Kayenta's
// Jackson writer does: NaN as the string "NaN", infinities as "Infinity" and
// "-Infinity". On input it also accepts "+Inf", "-Inf", "+Infinity" and "Inf"
// (Prometheus spellings). Finite values are plain JSON numbers.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	return appendFloat(nil, float64(f)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	v, err := parseJSONFloat(b)
	if err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

func parseJSONFloat(b []byte) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity", "+Infinity", "Inf", "+Inf":
			return math.Inf(1), nil
		case "-Infinity", "-Inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("invalid number string %q", s)
	}
	if bytes.Equal(b, []byte("null")) {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number %s: %w", b, err)
	}
	return v, nil
}

// Series is a list of data points that (un)marshals NaN and infinities as
// Kayenta does (see Float). A JSON null element decodes as NaN.
type Series []float64

// MarshalJSON implements json.Marshaler. A nil Series encodes as [].
func (s Series) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+len(s)*8)
	out = append(out, '[')
	for i, v := range s {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendFloat(out, v)
	}
	return append(out, ']'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Series) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Series, len(raw))
	for i, r := range raw {
		v, err := parseJSONFloat(r)
		if err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		out[i] = v
	}
	*s = out
	return nil
}
