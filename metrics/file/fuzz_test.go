package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// checkParse asserts the contract of Parse on arbitrary input: it returns
// either a one-line *ParseError or series that obey Parse's invariants.
func checkParse(t *testing.T, name string, data []byte) {
	series, err := Parse(name, bytes.NewReader(data))
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *ParseError", err, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, name) || strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("error %q does not start with the file name or spans lines", msg)
		}
		return
	}
	if len(series) == 0 {
		t.Fatal("success without series")
	}
	seen := map[string]bool{}
	for _, s := range series {
		if s.Signal == "" || seen[s.Signal] {
			t.Fatalf("empty or repeated signal %q", s.Signal)
		}
		seen[s.Signal] = true
		if len(s.Values) == 0 {
			t.Fatalf("signal %q has no values", s.Signal)
		}
		if nb := len(s.Bounds); nb > 0 {
			if len(s.Values)%nb != 0 || !math.IsInf(s.Bounds[nb-1], 1) {
				t.Fatalf("histogram %q has %d values for %d bounds %v", s.Signal, len(s.Values), nb, s.Bounds)
			}
			for i := 1; i < nb; i++ {
				if !(s.Bounds[i] > s.Bounds[i-1]) {
					t.Fatalf("histogram %q bounds %v are not strictly ascending", s.Signal, s.Bounds)
				}
			}
		}
		if len(s.Times) != 0 && len(s.Times) != s.Observations() {
			t.Fatalf("signal %q has %d times for %d observations", s.Signal, len(s.Times), s.Observations())
		}
		for i, v := range s.Values {
			if math.IsInf(v, 0) {
				t.Fatalf("signal %q value %d is %v", s.Signal, i, v)
			}
		}
		for i := 1; i < len(s.Times); i++ {
			if s.Times[i].Before(s.Times[i-1]) {
				t.Fatalf("signal %q times go backwards at %d", s.Signal, i)
			}
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("signal,value\na,1\nb,\na,NaN\n"))
	f.Add([]byte("timestamp,signal,value\n2025-06-03T14:00:00Z,a,1\n1748959210.5,a,2\n"))
	f.Add([]byte("timestamp,signal,le,value\n0,h,0.1,1\n0,h,+Inf,2\n0,a,,3\n60,h,+Inf,4\n60,h,0.1,1\n"))
	f.Add([]byte("signal,le,value\nh,1,1\nh,inf,2\nh,1,0\nh,inf,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "f.csv", data)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"a": [1, null, 2.5], "b": [0]}`))
	f.Add([]byte("{\"a\\u00e9\\ud83d\\ude00\": [-0.5e+3, 1E-2],\n \"b\": [0]}\n"))
	f.Add([]byte(`{"a": [1, 2] } x`))
	f.Add([]byte(`{"a": []}`))
	f.Add([]byte(`{"h": {"le": [0.1, "+Inf"], "counts": [[1, 2], [null, 3]]}, "a": [1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "f.json", data)
		// The parser reads JSON itself: it must accept only what
		// encoding/json accepts (after a byte order mark), and read the
		// same names and numbers.
		series, err := Parse("f.json", bytes.NewReader(data))
		if err != nil {
			return
		}
		var object map[string]json.RawMessage
		if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &object); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		for _, s := range series {
			raw, ok := object[s.Signal]
			if !ok {
				t.Fatalf("signal %q is not a key of %q for encoding/json", s.Signal, data)
			}
			var values []*float64
			if s.Bounds != nil || json.Unmarshal(raw, &values) != nil {
				continue
			}
			for i, v := range values {
				if v == nil && !math.IsNaN(s.Values[i]) || v != nil && *v != s.Values[i] {
					t.Fatalf("signal %q value %d is %v; encoding/json reads %s", s.Signal, i, s.Values[i], raw)
				}
			}
		}
	})
}
