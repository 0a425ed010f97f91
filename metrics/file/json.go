package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/verdict-aca/verdict/metrics"
)

// jsonParser walks a JSON series file token by token, so that key order is
// kept, duplicate keys are caught, and every error has a line and column.
type jsonParser struct {
	name string
	data []byte
	dec  *json.Decoder
}

// parseJSON parses a JSON series file (see the package doc).
func parseJSON(name string, data []byte) ([]metrics.Series, error) {
	p := &jsonParser{name: name, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()

	tok, at, err := p.next()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, p.errorAt(at, fmt.Sprintf("the file must hold one JSON object mapping signal names to arrays of numbers, but it starts with %s", describe(tok)))
	}
	var series []metrics.Series
	// signal → offset of its key, for duplicate errors. Offsets, not lines:
	// a line is computed only for an error (computing it scans the input
	// before the offset, which for every key would make loading quadratic).
	firstKey := map[string]int64{}
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return nil, err
		}
		signal, ok := tok.(string)
		if !ok { // the decoder only yields strings here; kept for safety
			return nil, p.errorAt(at, fmt.Sprintf("expected a signal name, found %s", describe(tok)))
		}
		if msg := checkSignalName(signal); msg != "" {
			return nil, p.errorAt(at, msg)
		}
		if first, dup := firstKey[signal]; dup {
			line, _ := p.position(first)
			return nil, p.errorAt(at, fmt.Sprintf("signal %s appears twice (first on line %d)", signal, line))
		}
		firstKey[signal] = at
		s, err := p.series(signal, at)
		if err != nil {
			return nil, err
		}
		series = append(series, s)
	}
	if _, _, err := p.next(); err != nil { // the closing '}'
		return nil, err
	}
	if len(series) == 0 {
		return nil, &ParseError{File: name, Msg: "has no signals (the JSON object is empty)"}
	}
	if tok, at, err := p.token(); err != io.EOF {
		if err != nil {
			return nil, err
		}
		return nil, p.errorAt(at, fmt.Sprintf("has %s after the JSON object; the file must hold exactly one object", describe(tok)))
	}
	return series, nil
}

// series reads signal's value: an array of numbers, or a histogram object.
// keyAt is the key's offset.
func (p *jsonParser) series(signal string, keyAt int64) (metrics.Series, error) {
	tok, at, err := p.next()
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
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return nil, err
		}
		pos := len(dst) - start + 1
		switch t := tok.(type) {
		case nil:
			dst = append(dst, math.NaN())
		case json.Number:
			v, err := strconv.ParseFloat(string(t), 64)
			switch {
			case err == nil:
			case errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0):
				return nil, p.errorAt(at, fmt.Sprintf("%s, %s, is not finite (beyond the range of a 64-bit float)", what(pos), t))
			case errors.Is(err, strconv.ErrRange):
				// underflow: ParseFloat rounds to the nearest value (0 or a subnormal)
			default:
				return nil, p.errorAt(at, fmt.Sprintf("%s, %s, is not a number", what(pos), t))
			}
			dst = append(dst, v)
		default:
			return nil, p.errorAt(at, fmt.Sprintf("%s is %s, not a number or null", what(pos), describe(tok)))
		}
	}
	if _, _, err := p.next(); err != nil { // the closing ']'
		return nil, err
	}
	return dst, nil
}

// histogram reads a histogram object, whose '{' was just read:
// {"le": [bounds], "counts": [[cumulative counts of window 1], ...]}.
func (p *jsonParser) histogram(signal string, keyAt int64) (metrics.Series, error) {
	s := metrics.Series{Signal: signal}
	var leAt, countsAt int64 = -1, -1
	var windowAt []int64 // offset of each window's '['
	var windowLen []int  // its number of counts
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return s, err
		}
		key, _ := tok.(string)
		switch key {
		case "le":
			if leAt >= 0 {
				return s, p.errorAt(at, fmt.Sprintf("signal %s has \"le\" twice", signal))
			}
			leAt = at
			if s.Bounds, err = p.bounds(signal); err != nil {
				return s, err
			}
		case "counts":
			if countsAt >= 0 {
				return s, p.errorAt(at, fmt.Sprintf("signal %s has \"counts\" twice", signal))
			}
			countsAt = at
			if s.Values, windowAt, windowLen, err = p.counts(signal); err != nil {
				return s, err
			}
		default:
			return s, p.errorAt(at, fmt.Sprintf("signal %s is a histogram object with an unknown key %s (want \"le\" and \"counts\")", signal, describe(tok)))
		}
	}
	if _, _, err := p.next(); err != nil { // the closing '}'
		return s, err
	}
	switch {
	case leAt < 0:
		return s, p.errorAt(keyAt, fmt.Sprintf("signal %s is a histogram object without \"le\", the buckets' upper bounds", signal))
	case countsAt < 0:
		return s, p.errorAt(keyAt, fmt.Sprintf("signal %s is a histogram object without \"counts\", each window's cumulative bucket counts", signal))
	case len(windowLen) == 0:
		return s, p.errorAt(countsAt, fmt.Sprintf("signal %s has no windows in \"counts\"", signal))
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
	tok, at, err := p.next()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, p.errorAt(at, fmt.Sprintf("le of signal %s must be an array of bucket bounds, but it is %s", signal, describe(tok)))
	}
	arrayAt := at
	var bounds []float64
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return nil, err
		}
		pos := len(bounds) + 1
		var text string
		switch t := tok.(type) {
		case json.Number:
			text = string(t)
		case string:
			text = strings.TrimSpace(t)
		default:
			return nil, p.errorAt(at, fmt.Sprintf("le %d of signal %s is %s, not a number or \"+Inf\"", pos, signal, describe(tok)))
		}
		v, msg := parseBound(text)
		if msg != "" {
			return nil, p.errorAt(at, fmt.Sprintf("le %d of signal %s, %s, %s", pos, signal, text, msg))
		}
		if n := len(bounds); n > 0 && !(v > bounds[n-1]) {
			return nil, p.errorAt(at, fmt.Sprintf("le %d of signal %s, %s, is not above the bound before it, %s; le must list the buckets in ascending order, each once", pos, signal, text, formatBound(bounds[n-1])))
		}
		bounds = append(bounds, v)
	}
	if _, _, err := p.next(); err != nil { // the closing ']'
		return nil, err
	}
	if len(bounds) == 0 || !math.IsInf(bounds[len(bounds)-1], 1) {
		return nil, p.errorAt(arrayAt, fmt.Sprintf("le of signal %s has no +Inf bound; the last bucket must be +Inf (the count of all observations)", signal))
	}
	return bounds, nil
}

// counts reads a histogram's counts: an array of windows, each an array of
// cumulative counts. It returns them concatenated, with each window's
// offset and length.
func (p *jsonParser) counts(signal string) ([]float64, []int64, []int, error) {
	tok, at, err := p.next()
	if err != nil {
		return nil, nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, nil, nil, p.errorAt(at, fmt.Sprintf("counts of signal %s must be an array of windows, each an array of cumulative bucket counts, but it is %s", signal, describe(tok)))
	}
	var values []float64
	var offsets []int64
	var lengths []int
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return nil, nil, nil, err
		}
		w := len(offsets) + 1
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, nil, nil, p.errorAt(at, fmt.Sprintf("window %d of signal %s is %s, not an array of cumulative bucket counts", w, signal, describe(tok)))
		}
		before := len(values)
		values, err = p.numbers(values, func(pos int) string { return fmt.Sprintf("count %d of window %d of signal %s", pos, w, signal) })
		if err != nil {
			return nil, nil, nil, err
		}
		offsets = append(offsets, at)
		lengths = append(lengths, len(values)-before)
	}
	if _, _, err := p.next(); err != nil { // the closing ']'
		return nil, nil, nil, err
	}
	return values, offsets, lengths, nil
}

// next returns the next token and its starting offset; running out of input
// is an error.
func (p *jsonParser) next() (json.Token, int64, error) {
	tok, at, err := p.token()
	if err == io.EOF {
		return nil, at, &ParseError{File: p.name, Msg: "ends before the JSON object is complete"}
	}
	return tok, at, err
}

// token returns the next token and its starting offset. It returns io.EOF
// unchanged at the clean end of input and a *ParseError for invalid JSON.
func (p *jsonParser) token() (json.Token, int64, error) {
	at := p.skipSeparators(p.dec.InputOffset())
	tok, err := p.dec.Token()
	if err == nil {
		return tok, at, nil
	}
	if err == io.EOF {
		return nil, at, io.EOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, at, &ParseError{File: p.name, Msg: "ends before the JSON object is complete", Err: err}
	}
	// The position is where the failing token starts: json.SyntaxError's
	// Offset is not reliable for errors from Decoder.Token.
	pe := p.errorAt(at, fmt.Sprintf("is not valid JSON: %v", err))
	pe.Err = err
	return nil, at, pe
}

// skipSeparators moves off past the whitespace, commas and colons that the
// decoder consumes before a token, so that off is where the token starts.
func (p *jsonParser) skipSeparators(off int64) int64 {
	for off >= 0 && off < int64(len(p.data)) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// position converts a byte offset to a 1-based line and column.
func (p *jsonParser) position(off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(p.data)) {
		off = int64(len(p.data))
	}
	before := p.data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// errorAt returns a *ParseError at byte offset off.
func (p *jsonParser) errorAt(off int64, msg string) *ParseError {
	line, col := p.position(off)
	return &ParseError{File: p.name, Line: line, Column: col, Msg: msg}
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
