package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// The JSON bodies of the analyses, Flagger and Kayenta endpoints are read
// strictly: encoding/json keeps the last of two equal keys and ignores what
// follows the first value, so a body that says two things would be judged
// on one of them without a word. A duplicate key anywhere (named with its
// path) and data after the value are refused with 400; so is an unknown
// field where the body's fields are all Verdict's (readStrictBody), so that
// a misspelled baselineScope is not silently missing. The judge API's own
// parser (judge.go) applies the same rules.

// readBody reads a JSON body under the size limit into v, refusing
// duplicate keys and trailing data; unknown fields are ignored, as Kayenta
// does (its clients send fields Verdict does not read). It answers the
// error itself and returns false when the body is too large or invalid.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return s.decodeBody(w, r, v, false)
}

// readStrictBody is readBody refusing unknown fields too.
func (s *Server) readStrictBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return s.decodeBody(w, r, v, true)
}

func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any, knownOnly bool) bool {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.Limits.MaxBody))
	if err == nil {
		err = decodeJSON(data, v, knownOnly)
	}
	if err != nil {
		s.badJSON(w, err)
		return false
	}
	return true
}

// decodeJSON decodes the one JSON value of data into v, refusing duplicate
// keys, data after the value and, when knownOnly, fields v does not have.
func decodeJSON(data []byte, v any, knownOnly bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if knownOnly {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return err
		case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("the request body is not valid JSON: %w", err)
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("%s: unknown field (the fields are %s)", strings.Trim(field, `"`), strings.Join(jsonFields(v), ", "))
		}
		return fmt.Errorf("the request body is not valid JSON: %w", err)
	}
	if rest := data[dec.InputOffset():]; len(bytes.Trim(rest, " \t\r\n")) > 0 {
		return errors.New("the request body is not valid JSON: data after the value")
	}
	return duplicateKey(data)
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// duplicateKey returns an error naming the first key that an object of
// data (valid JSON) holds twice, by its path (scopes.default.start,
// signals[2].name), or nil.
func duplicateKey(data []byte) error {
	type frame struct {
		object  bool
		path    string
		keys    map[string]struct{}
		key     string // the object's current key
		wantKey bool
		index   int // the array's current index
	}
	var stack []*frame
	top := func() *frame {
		if len(stack) == 0 {
			return nil
		}
		return stack[len(stack)-1]
	}
	// valueDone moves the innermost container past the value just read.
	valueDone := func() {
		if f := top(); f != nil {
			if f.object {
				f.wantKey = true
			} else {
				f.index++
			}
		}
	}
	childPath := func() string {
		f := top()
		switch {
		case f == nil:
			return ""
		case f.object && f.path == "":
			return f.key
		case f.object:
			return f.path + "." + f.key
		}
		return fmt.Sprintf("%s[%d]", f.path, f.index)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or a syntax error the decoding reports
		}
		if f := top(); f != nil && f.object && f.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				valueDone()
				continue
			}
			key, _ := tok.(string)
			if _, dup := f.keys[key]; dup {
				f.key = key
				f.wantKey = false
				return fmt.Errorf("%s: given twice", childPath())
			}
			f.keys[key] = struct{}{}
			f.key, f.wantKey = key, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, path: childPath(), keys: map[string]struct{}{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{path: childPath()})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}
