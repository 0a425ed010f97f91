package file

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
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
	colLe        = "le"
)

// wantColumns completes the header errors' "(want ...)".
const wantColumns = "want signal, value, and optionally timestamp and le"

// maxUnixSeconds bounds unix-second timestamps to years 0001..9999, the range
// RFC 3339 can express; anything beyond is a malformed timestamp.
const (
	minUnixSeconds = -62135596800
	maxUnixSeconds = 253402300799
)

// csvColumns are the positions of a CSV file's columns (-1 when absent).
type csvColumns struct{ signal, value, timestamp, le int }

// csvSignal is the state of one signal while its rows are read.
type csvSignal struct {
	index     int  // position in the parsed series
	firstLine int  // line of its first row
	histogram bool // its rows carry le
	lastLine  int  // line of its previous row, for time-order errors
	windows   int  // histogram windows completed
	firstWin  int  // line of the first row of its first window
	open      bucketWindow
}

// bucketWindow is the histogram window being read: its rows so far.
type bucketWindow struct {
	rows []bucketRow
	line int       // line of its first row
	time time.Time // its timestamp, when the file has them
	les  map[float64]int
}

// bucketRow is one bucket of a histogram window.
type bucketRow struct {
	le, value float64
	line      int
}

// csvParser reads a CSV series file.
type csvParser struct {
	name    string
	r       *csv.Reader
	cols    csvColumns
	width   int // the header's number of columns
	series  []metrics.Series
	signals map[string]*csvSignal
}

// parseCSV parses a CSV series file (see the package doc). Its cost is
// linear in the file's size (each histogram window is sorted by le, a log
// factor in the number of buckets).
func parseCSV(name string, r io.Reader) ([]metrics.Series, error) {
	p := &csvParser{name: name, r: csv.NewReader(r), signals: map[string]*csvSignal{}}
	p.r.ReuseRecord = true
	if err := p.header(); err != nil {
		return nil, err
	}
	for {
		rec, err := p.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err, p.width, len(rec))
		}
		if err := p.row(rec); err != nil {
			return nil, err
		}
	}
	if len(p.series) == 0 {
		return nil, &ParseError{File: name, Msg: "has a header but no rows"}
	}
	for i := range p.series {
		st := p.signals[p.series[i].Signal]
		if st.histogram {
			if err := p.closeWindow(st); err != nil {
				return nil, err
			}
		}
	}
	return p.series, nil
}

// header reads the header row and finds the columns.
func (p *csvParser) header() error {
	header, err := p.r.Read()
	if err != nil {
		return csvError(p.name, err, 0, 0)
	}
	p.cols, p.width = csvColumns{-1, -1, -1, -1}, len(header)
	for i, h := range header {
		col := strings.TrimSpace(h)
		line, column := p.r.FieldPos(i)
		var idx *int
		switch col {
		case colSignal:
			idx = &p.cols.signal
		case colValue:
			idx = &p.cols.value
		case colTimestamp:
			idx = &p.cols.timestamp
		case colLe:
			idx = &p.cols.le
		case "":
			return &ParseError{File: p.name, Line: line, Column: column,
				Msg: "header has an empty column name (" + wantColumns + ")"}
		default:
			return &ParseError{File: p.name, Line: line, Column: column,
				Msg: fmt.Sprintf("header has an unknown column %q (%s)", col, wantColumns)}
		}
		if *idx >= 0 {
			return &ParseError{File: p.name, Line: line, Column: column,
				Msg: fmt.Sprintf("header names the column %q twice", col)}
		}
		*idx = i
	}
	headerLine, _ := p.r.FieldPos(0)
	for _, c := range []struct {
		idx  int
		name string
	}{{p.cols.signal, colSignal}, {p.cols.value, colValue}} {
		if c.idx < 0 {
			return &ParseError{File: p.name, Line: headerLine,
				Msg: fmt.Sprintf("header has no %q column (%s)", c.name, wantColumns)}
		}
	}
	return nil
}

// row reads one data row.
func (p *csvParser) row(rec []string) error {
	sigLine, _ := p.r.FieldPos(p.cols.signal)
	signal := strings.TrimSpace(rec[p.cols.signal])
	if msg := checkSignalName(signal); msg != "" {
		return &ParseError{File: p.name, Line: sigLine, Msg: msg}
	}
	valLine, _ := p.r.FieldPos(p.cols.value)
	rawValue := strings.TrimSpace(rec[p.cols.value])
	v, msg := parseValue(rawValue)
	if msg != "" {
		return &ParseError{File: p.name, Line: valLine,
			Msg: fmt.Sprintf("value %q of signal %s %s", rawValue, signal, msg)}
	}
	rawLe, leLine := "", 0
	if p.cols.le >= 0 {
		rawLe = strings.TrimSpace(rec[p.cols.le])
		leLine, _ = p.r.FieldPos(p.cols.le)
	}
	st, seen := p.signals[signal]
	if !seen {
		st = &csvSignal{index: len(p.series), firstLine: sigLine, histogram: rawLe != ""}
		p.signals[signal] = st
		p.series = append(p.series, metrics.Series{Signal: signal})
	}
	switch {
	case st.histogram && rawLe == "":
		return &ParseError{File: p.name, Line: sigLine,
			Msg: fmt.Sprintf("signal %s has a row without le, but its rows from line %d have le; a signal's rows are either all histogram buckets (with le) or all plain values (without)", signal, st.firstLine)}
	case !st.histogram && rawLe != "":
		return &ParseError{File: p.name, Line: leLine,
			Msg: fmt.Sprintf("signal %s has a row with le %s, but its rows from line %d have none; a signal's rows are either all histogram buckets (with le) or all plain values (without)", signal, rawLe, st.firstLine)}
	}
	var t time.Time
	timed := p.cols.timestamp >= 0
	if timed {
		timeLine, _ := p.r.FieldPos(p.cols.timestamp)
		raw := strings.TrimSpace(rec[p.cols.timestamp])
		var msg string
		if t, msg = parseTimestamp(raw); msg != "" {
			return &ParseError{File: p.name, Line: timeLine,
				Msg: fmt.Sprintf("timestamp %q of signal %s %s", raw, signal, msg)}
		}
		if prev, ok := p.previousTime(st); ok && t.Before(prev) {
			return &ParseError{File: p.name, Line: timeLine,
				Msg: fmt.Sprintf("timestamp %s of signal %s is before the signal's previous one, %s on line %d (rows of a signal must be in time order)",
					raw, signal, prev.Format(time.RFC3339Nano), st.lastLine)}
		}
		st.lastLine = timeLine
	}
	s := &p.series[st.index]
	if !st.histogram {
		if timed {
			s.Times = append(s.Times, t)
		}
		s.Values = append(s.Values, v)
		return nil
	}
	le, msg := parseBound(rawLe)
	if msg != "" {
		return &ParseError{File: p.name, Line: leLine, Msg: fmt.Sprintf("le %q of signal %s %s", rawLe, signal, msg)}
	}
	w := &st.open
	if len(w.rows) > 0 {
		first, dup := w.les[le]
		switch {
		case timed && !t.Equal(w.time), !timed && dup:
			// A later timestamp, or without timestamps a bucket the window
			// already has, starts the next window.
			if err := p.closeWindow(st); err != nil {
				return err
			}
		case dup:
			return &ParseError{File: p.name, Line: leLine,
				Msg: fmt.Sprintf("bucket le=%s of signal %s appears twice at timestamp %s (lines %d and %d)", formatBound(le), signal, w.time.Format(time.RFC3339Nano), first, leLine)}
		}
	}
	if len(w.rows) == 0 {
		w.line, w.time = sigLine, t
		if w.les == nil {
			w.les = map[float64]int{}
		}
	}
	w.les[le] = leLine
	w.rows = append(w.rows, bucketRow{le: le, value: v, line: leLine})
	return nil
}

// previousTime is the time of the signal's previous row, if it had one.
func (p *csvParser) previousTime(st *csvSignal) (time.Time, bool) {
	if st.histogram {
		if len(st.open.rows) > 0 {
			return st.open.time, true
		}
		if ts := p.series[st.index].Times; len(ts) > 0 {
			return ts[len(ts)-1], true
		}
		return time.Time{}, false
	}
	ts := p.series[st.index].Times
	if len(ts) == 0 {
		return time.Time{}, false
	}
	return ts[len(ts)-1], true
}

// closeWindow checks the signal's open histogram window and appends its
// counts, in ascending order of le, to the series: every window needs a
// +Inf bucket and the same buckets as the signal's first window.
func (p *csvParser) closeWindow(st *csvSignal) error {
	w := &st.open
	if len(w.rows) == 0 {
		return nil
	}
	s := &p.series[st.index]
	n := st.windows + 1
	slices.SortFunc(w.rows, func(a, b bucketRow) int { return cmp.Compare(a.le, b.le) })
	if !math.IsInf(w.rows[len(w.rows)-1].le, 1) {
		return &ParseError{File: p.name, Line: w.line,
			Msg: fmt.Sprintf("window %d of signal %s has no le=+Inf bucket; every window needs one (the count of all its observations)", n, s.Signal)}
	}
	if s.Bounds == nil {
		s.Bounds = make([]float64, len(w.rows))
		for i, r := range w.rows {
			s.Bounds[i] = r.le
		}
		st.firstWin = w.line
	} else if msg, line := p.sameBuckets(s.Bounds, w, n, s.Signal, st.firstWin); msg != "" {
		return &ParseError{File: p.name, Line: line, Msg: msg}
	}
	for _, r := range w.rows {
		s.Values = append(s.Values, r.value)
	}
	if p.cols.timestamp >= 0 {
		s.Times = append(s.Times, w.time)
	}
	st.windows = n
	w.rows = w.rows[:0]
	clear(w.les)
	return nil
}

// sameBuckets compares window n's sorted rows with the first window's
// bounds and returns a message and a line for the first difference.
func (p *csvParser) sameBuckets(bounds []float64, w *bucketWindow, n int, signal string, firstLine int) (string, int) {
	i := 0
	for _, r := range w.rows {
		switch {
		case i < len(bounds) && bounds[i] < r.le:
			return fmt.Sprintf("window %d of signal %s has no bucket le=%s, which its first window (line %d) has; every window needs the same buckets", n, signal, formatBound(bounds[i]), firstLine), w.line
		case i < len(bounds) && bounds[i] == r.le:
			i++
		default:
			return fmt.Sprintf("bucket le=%s of signal %s is not among the buckets of its first window (line %d: %s); every window needs the same buckets", formatBound(r.le), signal, firstLine, formatBounds(bounds)), r.line
		}
	}
	if i < len(bounds) {
		return fmt.Sprintf("window %d of signal %s has no bucket le=%s, which its first window (line %d) has; every window needs the same buckets", n, signal, formatBound(bounds[i]), firstLine), w.line
	}
	return "", 0
}

// csvError turns an encoding/csv error into a *ParseError. want is the
// header's number of fields and got the row's (both 0 while reading the
// header).
func csvError(name string, err error, want, got int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return readError(name, err)
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
