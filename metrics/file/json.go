package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/verdict-aca/verdict/metrics"
)

// Contexts of syntax errors, in encoding/json's words.
const (
	lookingForValue = "looking for beginning of value"
	lookingForKey   = "looking for beginning of object key string"
	afterKey        = "after object key"
	afterPair       = "after object key:value pair"
	afterElement    = "after array element"
)

// jsonParser reads a JSON series file token by token from a stream (see
// jsonLexer), so that key order is kept, duplicate keys are caught, and
// every error has a line and column, at a cost linear in the input.
type jsonParser struct {
	name string
	l    *jsonLexer
}

// parseJSON parses a JSON series file (see the package doc).
func parseJSON(name string, r io.Reader) ([]metrics.Series, error) {
	p := &jsonParser{name: name, l: newJSONLexer(name, r)}
	tok, at, err := p.l.value(lookingForValue)
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, p.errorAt(at, fmt.Sprintf("the file must hold one JSON object mapping signal names to arrays of numbers, but it starts with %s", describe(tok)))
	}
	var series []metrics.Series
	firstKey := map[string]int{} // signal → line of its key, for duplicate errors
	err = p.object(func(signal string, at pos) error {
		if msg := checkSignalName(signal); msg != "" {
			return p.errorAt(at, msg)
		}
		if first, dup := firstKey[signal]; dup {
			return p.errorAt(at, fmt.Sprintf("signal %s appears twice (first on line %d)", signal, first))
		}
		firstKey[signal] = at.line
		s, err := p.series(signal, at)
		if err != nil {
			return err
		}
		series = append(series, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(series) == 0 {
		return nil, &ParseError{File: name, Msg: "has no signals (the JSON object is empty)"}
	}
	if _, ok := p.l.skipSpace(); !ok {
		if p.l.err != nil {
			return nil, readError(name, p.l.err)
		}
		return series, nil
	}
	tok, at, err = p.l.value(lookingForValue)
	if err != nil {
		return nil, err
	}
	return nil, p.errorAt(at, fmt.Sprintf("has %s after the JSON object; the file must hold exactly one object", describe(tok)))
}

// object reads the members of an object whose '{' was just read, up to and
// including its '}', calling member for each key (with its position) to
// read the key's value.
func (p *jsonParser) object(member func(key string, at pos) error) error {
	b, ok := p.l.skipSpace()
	if !ok {
		return p.l.end()
	}
	if b == '}' {
		p.l.advance(b)
		return nil
	}
	for {
		b, ok := p.l.skipSpace()
		at := p.l.next
		switch {
		case !ok:
			return p.l.end()
		case b != '"':
			return p.l.syntax(at, b, lookingForKey)
		}
		key, err := p.l.str()
		if err != nil {
			return err
		}
		if _, err := p.l.delimiter(":", afterKey); err != nil {
			return err
		}
		if err := member(key, at); err != nil {
			return err
		}
		if d, err := p.l.delimiter(",}", afterPair); err != nil || d == '}' {
			return err
		}
	}
}

// array reads the elements of an array whose '[' was just read, up to and
// including its ']', calling element to read each one.
func (p *jsonParser) array(element func() error) error {
	b, ok := p.l.skipSpace()
	if !ok {
		return p.l.end()
	}
	if b == ']' {
		p.l.advance(b)
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		if d, err := p.l.delimiter(",]", afterElement); err != nil || d == ']' {
			return err
		}
	}
}

// series reads signal's value: an array of numbers, or a histogram object.
// keyAt is the key's position.
func (p *jsonParser) series(signal string, keyAt pos) (metrics.Series, error) {
	tok, at, err := p.l.value(lookingForValue)
	if err != nil {
		return metrics.Series{}, err
	}
	d, ok := tok.(json.Delim)
	switch {
	case ok && d == '{':
		return p.histogram(signal, keyAt)
	case !ok || d != '[':
		return metrics.Series{}, p.errorAt(at, fmt.Sprintf("signal %s must be an array of numbers or a histogram object ({\"le\": [...], \"counts\": [[...], ...]}), but it is %s", signal, describe(tok)))
	}
	values, err := p.numbers(nil, func(pos int) string { return fmt.Sprintf("value %d of signal %s", pos, signal) })
	if err != nil {
		return metrics.Series{}, err
	}
	if len(values) == 0 {
		return metrics.Series{}, p.errorAt(keyAt, fmt.Sprintf("signal %s has no values", signal))
	}
	return metrics.Series{Signal: signal, Values: values}, nil
}

// numbers appends to dst the numbers (null: NaN) of the array whose '[' was
// just read, up to and including its ']'. what names the value at a
// 1-based position of the array, for errors.
func (p *jsonParser) numbers(dst []float64, what func(pos int) string) ([]float64, error) {
	if dst == nil {
		dst = []float64{}
	}
	start := len(dst)
	err := p.array(func() error {
		index := len(dst) - start + 1
		b, _ := p.l.skipSpace() // the array read a byte here
		at := p.l.next
		if b != '-' && (b < '0' || b > '9') {
			tok, at, err := p.l.value(lookingForValue)
			switch {
			case err != nil:
				return err
			case tok == nil:
				dst = append(dst, math.NaN())
				return nil
			}
			return p.errorAt(at, fmt.Sprintf("%s is %s, not a number or null", what(index), describe(tok)))
		}
		text, err := p.l.number()
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(string(text), 64)
		switch {
		case err == nil:
		case errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0):
			return p.errorAt(at, fmt.Sprintf("%s, %s, is not finite (beyond the range of a 64-bit float)", what(index), text))
		case errors.Is(err, strconv.ErrRange):
			// underflow: ParseFloat rounds to the nearest value (0 or a subnormal)
		default:
			return p.errorAt(at, fmt.Sprintf("%s, %s, is not a number", what(index), text))
		}
		dst = append(dst, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// histogram reads a histogram object, whose '{' was just read:
// {"le": [bounds], "counts": [[cumulative counts of window 1], ...]}.
func (p *jsonParser) histogram(signal string, keyAt pos) (metrics.Series, error) {
	s := metrics.Series{Signal: signal}
	var leAt, countsAt *pos
	var windowAt []pos  // position of each window's '['
	var windowLen []int // its number of counts
	err := p.object(func(key string, at pos) error {
		var err error
		switch key {
		case "le":
			if leAt != nil {
				return p.errorAt(at, fmt.Sprintf("signal %s has \"le\" twice", signal))
			}
			leAt = &at
			s.Bounds, err = p.bounds(signal)
		case "counts":
			if countsAt != nil {
				return p.errorAt(at, fmt.Sprintf("signal %s has \"counts\" twice", signal))
			}
			countsAt = &at
			s.Values, windowAt, windowLen, err = p.counts(signal)
		default:
			return p.errorAt(at, fmt.Sprintf("signal %s is a histogram object with an unknown key %s (want \"le\" and \"counts\")", signal, describe(key)))
		}
		return err
	})
	if err != nil {
		return s, err
	}
	switch {
	case leAt == nil:
		return s, p.errorAt(keyAt, fmt.Sprintf("signal %s is a histogram object without \"le\", the buckets' upper bounds", signal))
	case countsAt == nil:
		return s, p.errorAt(keyAt, fmt.Sprintf("signal %s is a histogram object without \"counts\", each window's cumulative bucket counts", signal))
	case len(windowLen) == 0:
		return s, p.errorAt(*countsAt, fmt.Sprintf("signal %s has no windows in \"counts\"", signal))
	}
	for w, n := range windowLen {
		if n != len(s.Bounds) {
			return s, p.errorAt(windowAt[w], fmt.Sprintf("window %d of signal %s has %d counts but le has %d bounds; every window needs a count for every bucket", w+1, signal, n, len(s.Bounds)))
		}
	}
	return s, nil
}

// bounds reads a histogram's le array: numbers, or strings holding a
// number or +Inf, strictly ascending, the last +Inf.
func (p *jsonParser) bounds(signal string) ([]float64, error) {
	tok, arrayAt, err := p.l.value(lookingForValue)
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, p.errorAt(arrayAt, fmt.Sprintf("le of signal %s must be an array of bucket bounds, but it is %s", signal, describe(tok)))
	}
	var bounds []float64
	err = p.array(func() error {
		tok, at, err := p.l.value(lookingForValue)
		if err != nil {
			return err
		}
		index := len(bounds) + 1
		var text string
		switch t := tok.(type) {
		case json.Number:
			text = string(t)
		case string:
			text = strings.TrimSpace(t)
		default:
			return p.errorAt(at, fmt.Sprintf("le %d of signal %s is %s, not a number or \"+Inf\"", index, signal, describe(tok)))
		}
		v, msg := parseBound(text)
		if msg != "" {
			return p.errorAt(at, fmt.Sprintf("le %d of signal %s, %s, %s", index, signal, text, msg))
		}
		if n := len(bounds); n > 0 && !(v > bounds[n-1]) {
			return p.errorAt(at, fmt.Sprintf("le %d of signal %s, %s, is not above the bound before it, %s; le must list the buckets in ascending order, each once", index, signal, text, formatBound(bounds[n-1])))
		}
		bounds = append(bounds, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(bounds) == 0 || !math.IsInf(bounds[len(bounds)-1], 1) {
		return nil, p.errorAt(arrayAt, fmt.Sprintf("le of signal %s has no +Inf bound; the last bucket must be +Inf (the count of all observations)", signal))
	}
	return bounds, nil
}

// counts reads a histogram's counts: an array of windows, each an array of
// cumulative counts. It returns them concatenated, with each window's
// position and length.
func (p *jsonParser) counts(signal string) ([]float64, []pos, []int, error) {
	tok, at, err := p.l.value(lookingForValue)
	if err != nil {
		return nil, nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, nil, nil, p.errorAt(at, fmt.Sprintf("counts of signal %s must be an array of windows, each an array of cumulative bucket counts, but it is %s", signal, describe(tok)))
	}
	var values []float64
	var windows []pos
	var lengths []int
	err = p.array(func() error {
		tok, at, err := p.l.value(lookingForValue)
		if err != nil {
			return err
		}
		w := len(windows) + 1
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return p.errorAt(at, fmt.Sprintf("window %d of signal %s is %s, not an array of cumulative bucket counts", w, signal, describe(tok)))
		}
		before := len(values)
		values, err = p.numbers(values, func(pos int) string { return fmt.Sprintf("count %d of window %d of signal %s", pos, w, signal) })
		if err != nil {
			return err
		}
		windows = append(windows, at)
		lengths = append(lengths, len(values)-before)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return values, windows, lengths, nil
}

// errorAt returns a *ParseError at position at.
func (p *jsonParser) errorAt(at pos, msg string) *ParseError {
	return &ParseError{File: p.name, Line: at.line, Column: at.col, Msg: msg}
}

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("a boolean (%t)", t)
	case string:
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return fmt.Sprintf("a string (%q)", t)
	case json.Number:
		return fmt.Sprintf("a number (%s)", t)
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		default:
			return fmt.Sprintf("a stray %q", string(t))
		}
	default:
		return fmt.Sprintf("%v", t)
	}
}
