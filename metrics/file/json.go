package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

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
	firstLine := map[string]int{} // signal → line of its key, for duplicate errors
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return nil, err
		}
		signal, ok := tok.(string)
		if !ok { // the decoder only yields strings here; kept for safety
			return nil, p.errorAt(at, fmt.Sprintf("expected a signal name, found %s", describe(tok)))
		}
		line, _ := p.position(at)
		if msg := checkSignalName(signal); msg != "" {
			return nil, p.errorAt(at, msg)
		}
		if first, dup := firstLine[signal]; dup {
			return nil, p.errorAt(at, fmt.Sprintf("signal %s appears twice (first on line %d)", signal, first))
		}
		firstLine[signal] = line
		values, err := p.values(signal, at)
		if err != nil {
			return nil, err
		}
		series = append(series, metrics.Series{Signal: signal, Values: values})
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

// values reads the array of signal's values; keyAt is the key's offset.
func (p *jsonParser) values(signal string, keyAt int64) ([]float64, error) {
	tok, at, err := p.next()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, p.errorAt(at, fmt.Sprintf("signal %s must be an array of numbers, but it is %s", signal, describe(tok)))
	}
	values := []float64{}
	for p.dec.More() {
		tok, at, err := p.next()
		if err != nil {
			return nil, err
		}
		pos := len(values) + 1
		switch t := tok.(type) {
		case nil:
			values = append(values, math.NaN())
		case json.Number:
			v, err := strconv.ParseFloat(string(t), 64)
			switch {
			case err == nil:
			case errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0):
				return nil, p.errorAt(at, fmt.Sprintf("value %d of signal %s, %s, is not finite (beyond the range of a 64-bit float)", pos, signal, t))
			case errors.Is(err, strconv.ErrRange):
				// underflow: ParseFloat rounds to the nearest value (0 or a subnormal)
			default:
				return nil, p.errorAt(at, fmt.Sprintf("value %d of signal %s, %s, is not a number", pos, signal, t))
			}
			values = append(values, v)
		default:
			return nil, p.errorAt(at, fmt.Sprintf("value %d of signal %s is %s, not a number or null", pos, signal, describe(tok)))
		}
	}
	if _, _, err := p.next(); err != nil { // the closing ']'
		return nil, err
	}
	if len(values) == 0 {
		return nil, p.errorAt(keyAt, fmt.Sprintf("signal %s has no values", signal))
	}
	return values, nil
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
