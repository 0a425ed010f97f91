package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var nan = math.NaN()

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sameSeries compares series, treating NaN as equal to NaN and times by instant.
func sameSeries(t *testing.T, got, want []metrics.Series) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d series %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Signal != w.Signal {
			t.Errorf("series %d: signal %q, want %q", i, g.Signal, w.Signal)
		}
		if !slices.Equal(g.Bounds, w.Bounds) {
			t.Errorf("series %s: bounds %v, want %v", w.Signal, g.Bounds, w.Bounds)
		}
		if len(g.Values) != len(w.Values) {
			t.Errorf("series %s: values %v, want %v", w.Signal, g.Values, w.Values)
			continue
		}
		for j := range w.Values {
			gv, wv := g.Values[j], w.Values[j]
			if !(gv == wv || math.IsNaN(gv) && math.IsNaN(wv)) {
				t.Errorf("series %s value %d: %v, want %v", w.Signal, j, gv, wv)
			}
		}
		if (g.Times == nil) != (w.Times == nil) || len(g.Times) != len(w.Times) {
			t.Errorf("series %s: times %v, want %v", w.Signal, g.Times, w.Times)
			continue
		}
		for j := range w.Times {
			if !g.Times[j].Equal(w.Times[j]) {
				t.Errorf("series %s time %d: %v, want %v", w.Signal, j, g.Times[j], w.Times[j])
			}
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, file, in string
		want           []metrics.Series
	}{
		{
			name: "csv without timestamps, interleaved signals keep first-appearance order",
			file: "baseline.csv",
			in:   "signal,value\nlat,1.5\nerr,0\nlat,2\nerr,3\n",
			want: []metrics.Series{
				{Signal: "lat", Values: []float64{1.5, 2}},
				{Signal: "err", Values: []float64{0, 3}},
			},
		},
		{
			name: "csv column order is free and timestamps may be RFC 3339 or unix seconds",
			file: "x.CSV",
			in: "value,timestamp,signal\n" +
				"1,2025-06-03T14:00:00Z,a\n" +
				"2,1748959210,a\n" +
				"3,1748959220.25,a\n" +
				"4,2025-06-03T16:00:30.5+02:00,a\n",
			want: []metrics.Series{{
				Signal: "a",
				Values: []float64{1, 2, 3, 4},
				Times: []time.Time{
					ts("2025-06-03T14:00:00Z"), ts("2025-06-03T14:00:10Z"),
					ts("2025-06-03T14:00:20.25Z"), ts("2025-06-03T14:00:30.5Z"),
				},
			}},
		},
		{
			name: "csv empty value and NaN in any case are NaN; equal timestamps are allowed",
			file: "c.csv",
			in:   "timestamp,signal,value\n0,s,\n0,s,NaN\n1,s,nan\n2,s, -1e-3 \n",
			want: []metrics.Series{{
				Signal: "s", Values: []float64{nan, nan, nan, -0.001},
				Times: []time.Time{time.Unix(0, 0), time.Unix(0, 0), time.Unix(1, 0), time.Unix(2, 0)},
			}},
		},
		{
			name: "csv with byte order mark, CRLF, quoted fields and spaces around names",
			file: "c.csv",
			in:   "\xef\xbb\xbf signal , value\r\n\"p99, ms\",\"7\"\r\n\r\n p99 ,8\r\n",
			want: []metrics.Series{
				{Signal: "p99, ms", Values: []float64{7}},
				{Signal: "p99", Values: []float64{8}},
			},
		},
		{
			name: "csv negative fractional unix seconds",
			file: "c.csv",
			in:   "signal,value,timestamp\ns,1,-1.5\n",
			want: []metrics.Series{{Signal: "s", Values: []float64{1}, Times: []time.Time{time.Unix(-2, 5e8)}}},
		},
		{
			name: "json keeps key order, null is NaN",
			file: "canary.json",
			in:   `{"zeta": [1, null, 2.5e1], "alpha": [-0.5]}`,
			want: []metrics.Series{
				{Signal: "zeta", Values: []float64{1, nan, 25}},
				{Signal: "alpha", Values: []float64{-0.5}},
			},
		},
		{
			name: "json with byte order mark and trailing whitespace",
			file: "c.json",
			in:   "\xef\xbb\xbf\n{\"a\":[0]}\n\n",
			want: []metrics.Series{{Signal: "a", Values: []float64{0}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.file, strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			sameSeries(t, got, tc.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, in string
		// want is the whole Error() sentence.
		want string
		line int
	}{
		// Format and emptiness.
		{"unknown extension", "b.txt", "signal,value\na,1\n", `b.txt: has an unknown series file format ".txt" (want .csv or .json)`, 0},
		{"no extension", "baseline", "x", `baseline: has no extension to tell its format (want .csv or .json)`, 0},
		{"empty csv", "b.csv", "", "b.csv: is empty", 0},
		{"blank json", "b.json", " \n\t\n", "b.json: is empty", 0},
		{"header only", "b.csv", "signal,value\n", "b.csv: has a header but no rows", 0},

		// CSV header.
		{"missing value column", "b.csv", "signal,timestamp\na,0\n", `b.csv line 1: header has no "value" column (want signal, value, and optionally timestamp and le)`, 1},
		{"missing signal column", "b.csv", "value\n1\n", `b.csv line 1: header has no "signal" column (want signal, value, and optionally timestamp and le)`, 1},
		{"unknown column", "b.csv", "signal,vlaue,value\na,1,1\n", `b.csv line 1, column 8: header has an unknown column "vlaue" (want signal, value, and optionally timestamp and le)`, 1},
		{"empty column name", "b.csv", "signal,value,\na,1,\n", `b.csv line 1, column 14: header has an empty column name (want signal, value, and optionally timestamp and le)`, 1},
		{"duplicate column", "b.csv", "signal,value,signal\na,1,a\n", `b.csv line 1, column 14: header names the column "signal" twice`, 1},

		// CSV rows.
		{"non-numeric value", "baseline.csv", "signal,value\np99_latency_ms,1\np99_latency_ms,abc\n", `baseline.csv line 3: value "abc" of signal p99_latency_ms is not a number`, 3},
		{"infinite value", "b.csv", "signal,value\na,1\na,+Inf\n", `b.csv line 3: value "+Inf" of signal a is not finite`, 3},
		{"Inf without sign", "b.csv", "signal,value\na,inf\n", `b.csv line 2: value "inf" of signal a is not finite`, 2},
		{"negative infinity", "b.csv", "signal,value\na,-Infinity\n", `b.csv line 2: value "-Infinity" of signal a is not finite`, 2},
		{"overflowing value", "b.csv", "signal,value\na,1e999\n", `b.csv line 2: value "1e999" of signal a is not finite (beyond the range of a 64-bit float)`, 2},
		{"empty signal name", "b.csv", "signal,value\n ,1\n", "b.csv line 2: signal name is empty", 2},
		{"too few fields", "b.csv", "signal,value\na,1\na\n", "b.csv line 3: row has 1 fields but the header has 2", 3},
		{"too many fields", "b.csv", "signal,value\na,1,2\n", "b.csv line 2: row has 3 fields but the header has 2", 2},
		{"bare quote", "b.csv", "signal,value\na\"b,1\n", `b.csv line 2, column 2: a field that is not quoted contains a " (quote the whole field and double the inner quote)`, 2},
		{"unclosed quote", "b.csv", "signal,value\n\"a,1\n", `b.csv line 2, column 6: a quoted field is not closed properly (a stray or missing ")`, 2},
		{"malformed timestamp", "b.csv", "timestamp,signal,value\n2025-06-03T14:00:00Z,a,1\nyesterday,a,2\n", `b.csv line 3: timestamp "yesterday" of signal a is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor unix seconds`, 3},
		{"timestamp without zone", "b.csv", "timestamp,signal,value\n2025-06-03 14:00:00,a,1\n", `b.csv line 2: timestamp "2025-06-03 14:00:00" of signal a is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor unix seconds`, 2},
		{"unix seconds in exponent form", "b.csv", "timestamp,signal,value\n1.7e9,a,1\n", `b.csv line 2: timestamp "1.7e9" of signal a is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor unix seconds`, 2},
		{"unix seconds beyond year 9999", "b.csv", "timestamp,signal,value\n99999999999999999999,a,1\n", `b.csv line 2: timestamp "99999999999999999999" of signal a is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor unix seconds`, 2},
		{"empty timestamp", "b.csv", "timestamp,signal,value\n,a,1\n", `b.csv line 2: timestamp "" of signal a is empty (the file has a timestamp column, so every row needs one)`, 2},
		{"timestamps going backwards", "b.csv", "timestamp,signal,value\n20,a,1\n5,b,1\n10,a,2\n", `b.csv line 4: timestamp 10 of signal a is before the signal's previous one, 1970-01-01T00:00:20Z on line 2 (rows of a signal must be in time order)`, 4},
		{"a row spanning lines is reported at its value's line", "b.csv", "value,signal,timestamp\n\"\n\",a,0\nx,\"a\",\"\n1\"\n", `b.csv line 4: value "x" of signal a is not a number`, 4},
		{"control character in signal name", "b.csv", "signal,value\n\"a\nb\",1\n", `b.csv line 2: signal name "a\nb" contains a control character`, 2},
		{"json control character in signal name", "c.json", `{"a\tb": [1]}`, `c.json line 1, column 2: signal name "a\tb" contains a control character`, 1},

		// JSON.
		{"json not an object", "c.json", `[1,2]`, `c.json line 1, column 1: the file must hold one JSON object mapping signal names to arrays of numbers, but it starts with an array`, 1},
		{"json empty object", "c.json", `{}`, "c.json: has no signals (the JSON object is empty)", 0},
		{"json empty array", "c.json", "{\n  \"a\": [1],\n  \"b\": []\n}", "c.json line 3, column 3: signal b has no values", 3},
		{"json duplicate key", "c.json", "{\"a\": [1],\n\"b\": [2],\n\"a\": [3]}", "c.json line 3, column 1: signal a appears twice (first on line 1)", 3},
		{"json string value", "c.json", "{\"a\": [1, \"2\"]}", `c.json line 1, column 11: value 2 of signal a is a string ("2"), not a number or null`, 1},
		{"json boolean value", "c.json", "{\"a\": [true]}", `c.json line 1, column 8: value 1 of signal a is a boolean (true), not a number or null`, 1},
		{"json nested array", "c.json", "{\"a\": [1, [2]]}", `c.json line 1, column 11: value 2 of signal a is an array, not a number or null`, 1},
		{"json signal not an array", "c.json", "{\"a\": 1}", `c.json line 1, column 7: signal a must be an array of numbers or a histogram object ({"le": [...], "counts": [[...], ...]}), but it is a number (1)`, 1},
		{"json overflowing number", "c.json", "{\"a\": [1e400]}", `c.json line 1, column 8: value 1 of signal a, 1e400, is not finite (beyond the range of a 64-bit float)`, 1},
		{"json empty key", "c.json", "{\"\": [1]}", `c.json line 1, column 2: signal name is empty`, 1},
		{"json truncated", "c.json", "{\"a\": [1, 2", "c.json: ends before the JSON object is complete", 0},
		{"json syntax error", "c.json", "{\"a\": [1,\n 2 3]}", `c.json line 2, column 4: is not valid JSON: invalid character '3' after array element`, 2},
		{"json NaN literal", "c.json", "{\"a\": [NaN]}", `c.json line 1, column 8: is not valid JSON: invalid character 'N' looking for beginning of value`, 1},
		{"json trailing data", "c.json", "{\"a\": [1]}\n{\"b\": [2]}", `c.json line 2, column 1: has an object after the JSON object; the file must hold exactly one object`, 2},
		// Syntax errors, in encoding/json's words, at the byte that is wrong.
		{"json missing colon", "c.json", `{"a" [1]}`, `c.json line 1, column 6: is not valid JSON: invalid character '[' after object key`, 1},
		{"json missing comma between signals", "c.json", `{"a": [1] "b": [2]}`, `c.json line 1, column 11: is not valid JSON: invalid character '"' after object key:value pair`, 1},
		{"json key not a string", "c.json", `{a: [1]}`, `c.json line 1, column 2: is not valid JSON: invalid character 'a' looking for beginning of object key string`, 1},
		{"json trailing comma", "c.json", `{"a": [1],}`, `c.json line 1, column 11: is not valid JSON: invalid character '}' looking for beginning of object key string`, 1},
		{"json fraction without digits", "c.json", `{"a": [1.x]}`, `c.json line 1, column 10: is not valid JSON: invalid character 'x' after decimal point in numeric literal`, 1},
		{"json exponent without digits", "c.json", `{"a": [1e+]}`, `c.json line 1, column 11: is not valid JSON: invalid character ']' in exponent of numeric literal`, 1},
		{"json minus alone", "c.json", `{"a": [-]}`, `c.json line 1, column 9: is not valid JSON: invalid character ']' in numeric literal`, 1},
		{"json leading zero", "c.json", `{"a": [01]}`, `c.json line 1, column 9: is not valid JSON: invalid character '1' after array element`, 1},
		{"json broken literal", "c.json", `{"a": [nul]}`, `c.json line 1, column 11: is not valid JSON: invalid character ']' in literal null (expecting 'l')`, 1},
		{"json newline in a string", "c.json", "{\"a\nb\": [1]}", `c.json line 1, column 4: is not valid JSON: invalid character '\n' in string literal`, 1},
		{"json unknown escape", "c.json", `{"a\x": [1]}`, `c.json line 1, column 5: is not valid JSON: invalid character 'x' in string escape code`, 1},
		{"json bad unicode escape", "c.json", `{"a\u12G4": [1]}`, `c.json line 1, column 8: is not valid JSON: invalid character 'G' in \u hexadecimal character escape`, 1},
		{"json truncated in a string", "c.json", `{"abc`, "c.json: ends before the JSON object is complete", 0},
		{"json trailing garbage", "c.json", `{"a": [1]} x`, `c.json line 1, column 12: is not valid JSON: invalid character 'x' looking for beginning of value`, 1},
		{"json CRLF lines", "c.json", "{\r\n\"a\": [1],\r\n\"b\": [x]}", `c.json line 3, column 7: is not valid JSON: invalid character 'x' looking for beginning of value`, 3},
		// A line longer than the reader's buffer: positions carry across it.
		{"json error after a long line", "c.json", "{\"a\": [" + strings.Repeat("1.5, ", 40000) + "1],\n  \"b\": [true]}",
			`c.json line 2, column 9: value 1 of signal b is a boolean (true), not a number or null`, 2},
		{"json error far into a long line", "c.json", "{\"a\": [" + strings.Repeat("1.5, ", 40000) + "1, \"x\"]}",
			fmt.Sprintf(`c.json line 1, column %d: value 40002 of signal a is a string ("x"), not a number or null`, 8+5*40000+3), 1},
		{"json duplicate key after a long line", "c.json", "{\"a\": [1],\n\"b\": [" + strings.Repeat("2, ", 30000) + "2],\n\"a\": [3]}",
			"c.json line 3, column 1: signal a appears twice (first on line 1)", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.file, strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %v, want error %q", got, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tc.want)
			}
			if pe.Line != tc.line {
				t.Errorf("Line = %d, want %d", pe.Line, tc.line)
			}
		})
	}
}

// TestParseReadError: a read that fails, at the start or in the middle of
// a file (the parsers read it as a stream), is one sentence saying the
// file cannot be read, never a syntax error at the place the input stopped.
func TestParseReadError(t *testing.T) {
	fire := errors.New("disk on fire")
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"b.csv", iotest.ErrReader(fire)},
		{"b.json", iotest.ErrReader(fire)},
		{"b.csv", io.MultiReader(strings.NewReader("signal,value\na,1\na,"), iotest.ErrReader(fire))},
		{"b.json", io.MultiReader(strings.NewReader(`{"a": [1, 2`), iotest.ErrReader(fire))},
		{"b.json", io.MultiReader(strings.NewReader(`{"a": [1, 2]`), iotest.ErrReader(fire))},
		{"b.json", io.MultiReader(strings.NewReader(`{"a": [1, 2]}  `), iotest.ErrReader(fire))},
	} {
		_, err := Parse(tc.name, tc.r)
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, fire) || err.Error() != tc.name+": cannot be read: disk on fire" {
			t.Errorf("%s: got %v, want a *ParseError saying the file cannot be read", tc.name, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "canary.csv")
	if err := os.WriteFile(good, []byte("signal,value\na,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "baseline.json")
	if err := os.WriteFile(bad, []byte(`{"a": ["x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	series, err := Load(context.Background(), good)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sameSeries(t, series, []metrics.Series{{Signal: "a", Values: []float64{1}}})

	_, err = Load(context.Background(), bad)
	if want := bad + ` line 1, column 8: value 1 of signal a is a string ("x"), not a number or null`; err == nil || err.Error() != want {
		t.Errorf("bad file: got %v, want %s", err, want)
	}

	missing := filepath.Join(dir, "nope.csv")
	_, err = Load(context.Background(), missing)
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) || err.Error() != missing+": does not exist" {
		t.Errorf("missing file: got %v, want a *ParseError matching fs.ErrNotExist", err)
	}

	_, err = Load(context.Background(), dir+string(filepath.Separator)+".csv")
	if !errors.As(err, &pe) {
		t.Errorf("directory-like path: got %v, want a *ParseError", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, good); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want context.Canceled", err)
	}
}
