package file

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// CSV column names.
const (
	colSignal    = "signal"
	colValue     = "value"
	colTimestamp = "timestamp"
)

// maxUnixSeconds bounds unix-second timestamps to years 0001..9999, the range
// RFC 3339 can express; anything beyond is a malformed timestamp.
const (
	minUnixSeconds = -62135596800
	maxUnixSeconds = 253402300799
)

// parseCSV parses a CSV series file (see the package doc).
func parseCSV(name string, data []byte) ([]metrics.Series, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, csvError(name, err, 0, 0)
	}
	sigCol, valCol, timeCol := -1, -1, -1
	for i, h := range header {
		col := strings.TrimSpace(h)
		line, column := r.FieldPos(i)
		var idx *int
		switch col {
		case colSignal:
			idx = &sigCol
		case colValue:
			idx = &valCol
		case colTimestamp:
			idx = &timeCol
		case "":
			return nil, &ParseError{File: name, Line: line, Column: column,
				Msg: "header has an empty column name (want signal, value and optionally timestamp)"}
		default:
			return nil, &ParseError{File: name, Line: line, Column: column,
				Msg: fmt.Sprintf("header has an unknown column %q (want signal, value and optionally timestamp)", col)}
		}
		if *idx >= 0 {
			return nil, &ParseError{File: name, Line: line, Column: column,
				Msg: fmt.Sprintf("header names the column %q twice", col)}
		}
		*idx = i
	}
	headerLine, _ := r.FieldPos(0)
	for _, c := range []struct {
		idx  int
		name string
	}{{sigCol, colSignal}, {valCol, colValue}} {
		if c.idx < 0 {
			return nil, &ParseError{File: name, Line: headerLine,
				Msg: fmt.Sprintf("header has no %q column (want signal, value and optionally timestamp)", c.name)}
		}
	}

	var series []metrics.Series
	index := map[string]int{}    // signal → position in series
	lastLine := map[string]int{} // signal → line of its previous row, for order errors
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err, len(header), len(rec))
		}
		sigLine, _ := r.FieldPos(sigCol)
		signal := strings.TrimSpace(rec[sigCol])
		if msg := checkSignalName(signal); msg != "" {
			return nil, &ParseError{File: name, Line: sigLine, Msg: msg}
		}
		valLine, _ := r.FieldPos(valCol)
		v, msg := parseValue(strings.TrimSpace(rec[valCol]))
		if msg != "" {
			return nil, &ParseError{File: name, Line: valLine,
				Msg: fmt.Sprintf("value %q of signal %s %s", strings.TrimSpace(rec[valCol]), signal, msg)}
		}
		i, seen := index[signal]
		if !seen {
			i = len(series)
			index[signal] = i
			series = append(series, metrics.Series{Signal: signal})
		}
		s := &series[i]
		if timeCol >= 0 {
			timeLine, _ := r.FieldPos(timeCol)
			raw := strings.TrimSpace(rec[timeCol])
			t, msg := parseTimestamp(raw)
			if msg != "" {
				return nil, &ParseError{File: name, Line: timeLine,
					Msg: fmt.Sprintf("timestamp %q of signal %s %s", raw, signal, msg)}
			}
			if n := len(s.Times); n > 0 && t.Before(s.Times[n-1]) {
				return nil, &ParseError{File: name, Line: timeLine,
					Msg: fmt.Sprintf("timestamp %s of signal %s is before the signal's previous one, %s on line %d (rows of a signal must be in time order)",
						raw, signal, s.Times[n-1].Format(time.RFC3339Nano), lastLine[signal])}
			}
			s.Times = append(s.Times, t)
			lastLine[signal] = timeLine
		}
		s.Values = append(s.Values, v)
	}
	if len(series) == 0 {
		return nil, &ParseError{File: name, Msg: "has a header but no rows"}
	}
	return series, nil
}

// csvError turns an encoding/csv error into a *ParseError. want is the
// header's number of fields and got the row's (both 0 while reading the
// header).
func csvError(name string, err error, want, got int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &ParseError{File: name, Msg: fmt.Sprintf("cannot be read: %v", err), Err: err}
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return &ParseError{File: name, Line: pe.StartLine,
			Msg: fmt.Sprintf("row has %d fields but the header has %d", got, want), Err: err}
	case errors.Is(pe.Err, csv.ErrQuote):
		return &ParseError{File: name, Line: pe.Line, Column: pe.Column,
			Msg: "a quoted field is not closed properly (a stray or missing \")", Err: err}
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return &ParseError{File: name, Line: pe.Line, Column: pe.Column,
			Msg: "a field that is not quoted contains a \" (quote the whole field and double the inner quote)", Err: err}
	default:
		return &ParseError{File: name, Line: pe.Line, Column: pe.Column,
			Msg: fmt.Sprintf("is not valid CSV: %v", pe.Err), Err: err}
	}
}

// parseValue parses one observation. It returns a message completing
// "value "x" of signal s ..." when the text is not a finite number, NaN or
// empty.
func parseValue(s string) (float64, string) {
	if s == "" || strings.EqualFold(s, "nan") {
		return math.NaN(), ""
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0) {
			return 0, "is not finite (beyond the range of a 64-bit float)"
		}
		if errors.Is(err, strconv.ErrRange) {
			return v, "" // underflow: ParseFloat rounds to the nearest value (0 or a subnormal)
		}
		return 0, "is not a number"
	}
	if math.IsInf(v, 0) {
		return 0, "is not finite"
	}
	if math.IsNaN(v) {
		return math.NaN(), ""
	}
	return v, ""
}

// parseTimestamp parses an RFC 3339 time or unix seconds (an optional sign,
// digits, optionally a fraction). It returns a message completing
// "timestamp "x" of signal s ..." on failure. Fractions finer than a
// nanosecond are truncated.
func parseTimestamp(s string) (time.Time, string) {
	if s == "" {
		return time.Time{}, "is empty (the file has a timestamp column, so every row needs one)"
	}
	if t, ok := parseUnix(s); ok {
		return t, ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, "is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor unix seconds"
	}
	return t, ""
}

// parseUnix parses [+-]digits[.digits] as seconds since the unix epoch.
func parseUnix(s string) (time.Time, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return time.Time{}, false
	}
	if len(intPart) > 12 { // beyond year 9999 either way; avoids overflow
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if hasFrac {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		nsec, err = strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	if sec < minUnixSeconds || sec > maxUnixSeconds {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
