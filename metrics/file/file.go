// Package file reads series files: the baseline and canary observations that
// `verdict judge` compares offline.
//
// Two formats are accepted, chosen by the file name's extension (case does not
// matter):
//
//   - CSV (.csv): a header row naming the columns, then one observation per
//     row. Columns `signal` and `value` are required, `timestamp` and `le`
//     are optional; any other column is an error, because a misspelt column
//     (`vlaue`) must not be silently ignored. Rows of one signal may be
//     interleaved with other signals' rows; each signal's rows are
//     concatenated in file order, and signals are listed in order of first
//     appearance. A timestamp is RFC 3339 (`2025-06-03T14:00:00Z`) or unix
//     seconds, possibly fractional (`1748959200.5`); when the column exists
//     every row needs one, and a signal's timestamps must not go backwards
//     (Series promises time order).
//   - JSON (.json): an object mapping a signal name to an array of numbers,
//     kept in the file's key order; `null` is a missing observation.
//
// An empty value, `NaN` (any case) in CSV, or `null` in JSON becomes NaN: a
// missing observation whose treatment is the judge's decision. Infinite and
// out-of-range values are errors, not NaN: they are almost always a bug
// upstream (a division by zero), and silently dropping them would hide it.
//
// # Histograms
//
// A signal may be a histogram: per window (the step a count covers), the
// cumulative number of observations at or below each bucket's upper bound,
// as Prometheus' _bucket series count them (increase(x_bucket[1m]) by le).
// It becomes a metrics.Series with Bounds (ascending, the last +Inf) and
// len(Bounds) values per window, window after window.
//
//   - CSV: the `le` column. A row with an le is one bucket of one window; a
//     signal's rows are either all buckets or all plain values (mixing is
//     an error). With a timestamp column, a signal's rows with the same
//     timestamp form one window (in any order of le). Without timestamps a
//     signal's bucket rows are read in order and a window ends where an le
//     repeats, so each window's buckets must be written together, one
//     window after another. le is a number or `+Inf` (`Inf`, any case); the
//     value is the bucket's cumulative count.
//   - JSON: an object with the bounds and one array of cumulative counts per
//     window. A bound is a number, or a string holding one or `+Inf`
//     (`Inf`); le must be strictly ascending; a count may be null (a
//     missing observation: the judge drops the window).
//
// For example, two one-minute windows of a latency histogram with three
// buckets, in CSV:
//
//	timestamp,signal,le,value
//	2025-06-03T14:00:00Z,latency_seconds,0.1,912
//	2025-06-03T14:00:00Z,latency_seconds,0.5,990
//	2025-06-03T14:00:00Z,latency_seconds,+Inf,1000
//	2025-06-03T14:01:00Z,latency_seconds,0.1,870
//	2025-06-03T14:01:00Z,latency_seconds,0.5,985
//	2025-06-03T14:01:00Z,latency_seconds,+Inf,1002
//
// and in JSON:
//
//	{"latency_seconds": {"le": [0.1, 0.5, "+Inf"], "counts": [[912, 990, 1000], [870, 985, 1002]]}}
//
// Every window needs a +Inf bucket and the same buckets as the others; a
// bound that is not a number, a duplicate bucket in a window, a window
// with a bucket missing or extra are errors naming the line. That counts
// rise with le (are cumulative) is left to the judge, which knows the
// rounding Prometheus' extrapolation allows.
//
// Every problem with the input is reported as a *ParseError whose message is
// one sentence naming the file, the line (and column where it helps) and what
// is wrong, so the CLI can print it as is and exit with the data-error code.
// The parser never panics on input, and its cost is linear in the input's
// size: both formats are read as a stream, a buffer at a time, and every
// position in an error is the one the reader had reached (no error looks
// back at the input), so memory holds the series read, not the file.
package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/verdict-aca/verdict/metrics"
)

// ParseError is an invalid, unreadable or missing series file.
//
// Error() is one sentence: "<file> line <n>: <what is wrong>", with
// ", column <c>" after the line when the column is known, or "<file>: <what>"
// when the problem is not tied to a line (an empty file, an unknown format).
type ParseError struct {
	// File is the name the file was given as (the path for Load).
	File string
	// Line is the 1-based line of the problem, or 0 when none applies.
	Line int
	// Column is the 1-based column (in bytes) of the problem, or 0 when unknown.
	Column int
	// Msg says what is wrong, without the file and line.
	Msg string
	// Err is the underlying error, if any (for example fs.ErrNotExist).
	Err error
}

// Error returns the one-sentence description of the problem.
func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s line %d, column %d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Unwrap returns the underlying error, if any.
func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a series file from r. name is used to choose the format by its
// extension (.csv or .json, any case) and to name the file in errors; any
// other extension is a *ParseError. On success every returned series has a
// non-empty, unique Signal, at least one value, no infinite value, and Times
// either nil or one per observation (Series.Observations); a histogram
// series has Bounds, strictly ascending and ending in +Inf, and
// len(Bounds) values per observation.
func Parse(name string, r io.Reader) ([]metrics.Series, error) {
	return ParseAs(name, filepath.Ext(name), r)
}

// ParseAs is Parse for input whose name has no extension to tell its
// format, such as standard input: ext (".csv" or ".json", any case) says
// the format, and name only labels errors.
func ParseAs(name, ext string, r io.Reader) ([]metrics.Series, error) {
	var parse func(name string, r io.Reader) ([]metrics.Series, error)
	switch ext := strings.ToLower(ext); ext {
	case ".csv":
		parse = parseCSV
	case ".json":
		parse = parseJSON
	case "":
		return nil, &ParseError{File: name, Msg: "has no extension to tell its format (want .csv or .json)"}
	default:
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("has an unknown series file format %q (want .csv or .json)", ext)}
	}
	br := bufio.NewReaderSize(r, readBuffer)
	if err := skipByteOrderMark(br); err != nil {
		return nil, readError(name, err)
	}
	switch empty, err := blank(br); {
	case err != nil:
		return nil, readError(name, err)
	case empty:
		return nil, &ParseError{File: name, Msg: "is empty"}
	}
	return parse(name, br)
}

// readBuffer is how much of a series file is read at a time.
const readBuffer = 64 << 10

// skipByteOrderMark consumes a UTF-8 byte order mark, as spreadsheets
// write it, at the start of r.
func skipByteOrderMark(r *bufio.Reader) error {
	head, err := r.Peek(3)
	if err != nil && err != io.EOF {
		return err
	}
	if bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		_, err = r.Discard(3)
	}
	if err == io.EOF {
		err = nil
	}
	return err
}

// blank reports whether r holds nothing but white space, looking ahead as
// far as its buffer without consuming anything (input with a buffer full
// of white space is not blank: the parser reads on).
func blank(r *bufio.Reader) (bool, error) {
	for n := 1; n <= r.Size(); n *= 2 {
		n = min(n, r.Size())
		head, err := r.Peek(n)
		if len(bytes.TrimSpace(head)) > 0 {
			return false, nil
		}
		switch {
		case err == io.EOF:
			return true, nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return false, err
		case n == r.Size():
			return false, nil
		}
	}
	return false, nil
}

// readError is a read that failed in the middle of a file.
func readError(name string, err error) *ParseError {
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err // the path is already in File
	}
	return &ParseError{File: name, Msg: fmt.Sprintf("cannot be read: %v", cause), Err: err}
}

// Load opens the series file at path and parses it (see Parse). Every error,
// including a missing or unreadable file, is a *ParseError naming the path;
// a missing file also matches fs.ErrNotExist with errors.Is. Reading stops
// with ctx's error when ctx is done.
func Load(ctx context.Context, path string) ([]metrics.Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load series file %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		msg := "cannot be opened"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "does not exist"
		case errors.Is(err, fs.ErrPermission):
			msg = "cannot be opened: permission denied"
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				msg = fmt.Sprintf("cannot be opened: %v", pe.Err)
			}
		}
		return nil, &ParseError{File: path, Msg: msg, Err: err}
	}
	defer f.Close()
	series, err := Parse(path, ctxReader{ctx: ctx, r: f})
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("load series file %s: %w", path, ctx.Err())
	}
	return series, err
}

// checkSignalName returns a message when name cannot be a signal name: it
// is empty or holds control characters (which would break the one-line
// error messages and reports that quote it).
func checkSignalName(name string) string {
	if name == "" {
		return "signal name is empty"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("signal name %q contains a control character", name)
		}
	}
	return ""
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
