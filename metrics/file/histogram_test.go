package file

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

var inf = math.Inf(1)

func TestParseFileHistograms(t *testing.T) {
	tests := []struct {
		name, file, in string
		want           []metrics.Series
	}{
		{
			name: "csv with timestamps: rows of one timestamp are a window, in any order of le, beside plain signals",
			file: "b.csv",
			in: "timestamp,signal,le,value\n" +
				"0,lat,+Inf,100\n" +
				"0,req,,100\n" +
				"0,lat,0.1,60\n" +
				"0,lat,0.5,95\n" +
				"60,lat,0.1,50\n" +
				"60,req,,80\n" +
				"60,lat,Inf,80\n" +
				"60,lat,5e-1,79\n",
			want: []metrics.Series{
				{Signal: "lat", Bounds: []float64{0.1, 0.5, inf}, Values: []float64{60, 95, 100, 50, 79, 80},
					Times: []time.Time{time.Unix(0, 0), time.Unix(60, 0)}},
				{Signal: "req", Values: []float64{100, 80}, Times: []time.Time{time.Unix(0, 0), time.Unix(60, 0)}},
			},
		},
		{
			name: "csv without timestamps: a window ends where an le repeats; empty value is NaN",
			file: "b.csv",
			in: "signal,le,value\n" +
				"lat,0.25,3\n" +
				"lat,+inf,4\n" +
				"err,,1\n" +
				"lat,0.25,\n" +
				"lat,+Inf,9\n" +
				"lat,+Inf,2\n" +
				"lat,0.25,2\n",
			want: []metrics.Series{
				{Signal: "lat", Bounds: []float64{0.25, inf}, Values: []float64{3, 4, nan, 9, 2, 2}},
				{Signal: "err", Values: []float64{1}},
			},
		},
		{
			name: "csv le column with no bucket rows is a plain file",
			file: "b.csv",
			in:   "signal,value,le\na,1,\na,2, \n",
			want: []metrics.Series{{Signal: "a", Values: []float64{1, 2}}},
		},
		{
			name: "json histogram beside plain signals, bounds as numbers or strings, null counts",
			file: "c.json",
			in: `{"req": [10, 12],
			      "lat": {"counts": [[1, 5, 10], [null, 6, 12]], "le": [0.05, "0.1", "+Inf"]},
			      "tail": {"le": [1, "Inf"], "counts": [[0, 3]]}}`,
			want: []metrics.Series{
				{Signal: "req", Values: []float64{10, 12}},
				{Signal: "lat", Bounds: []float64{0.05, 0.1, inf}, Values: []float64{1, 5, 10, nan, 6, 12}},
				{Signal: "tail", Bounds: []float64{1, inf}, Values: []float64{0, 3}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.file, strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			sameSeries(t, got, tc.want)
			for _, s := range got {
				if n := s.Observations(); s.Times != nil && len(s.Times) != n {
					t.Errorf("%s: %d times for %d observations", s.Signal, len(s.Times), n)
				}
			}
		})
	}
}

func TestParseFileHistogramErrors(t *testing.T) {
	const head = "timestamp,signal,le,value\n"
	tests := []struct {
		name, file, in string
		want           string // the whole Error() sentence
		line           int
	}{
		// CSV.
		{"le not a number", "b.csv", head + "0,lat,0.1,1\n0,lat,fast,2\n",
			`b.csv line 3: le "fast" of signal lat is not a number (want a bucket's upper bound, or +Inf)`, 3},
		{"le NaN", "b.csv", head + "0,lat,NaN,1\n",
			`b.csv line 2: le "NaN" of signal lat is not a bucket bound (want a number, or +Inf)`, 2},
		{"le -Inf", "b.csv", head + "0,lat,-Inf,1\n",
			`b.csv line 2: le "-Inf" of signal lat is not a bucket bound: buckets count observations at or below their bound, so only the last one may be infinite, +Inf`, 2},
		{"no +Inf bucket", "b.csv", head + "0,lat,0.1,1\n0,lat,0.5,2\n60,lat,0.1,1\n",
			`b.csv line 2: window 1 of signal lat has no le=+Inf bucket; every window needs one (the count of all its observations)`, 2},
		{"no +Inf in the last window, found at the end of the file", "b.csv", head + "0,lat,0.1,1\n0,lat,+Inf,2\n60,lat,0.1,1\n",
			`b.csv line 4: window 2 of signal lat has no le=+Inf bucket; every window needs one (the count of all its observations)`, 4},
		{"a window misses a bucket", "b.csv", head + "0,lat,0.1,1\n0,lat,0.5,2\n0,lat,+Inf,3\n60,lat,0.1,1\n60,lat,+Inf,3\n120,lat,0.1,1\n",
			`b.csv line 5: window 2 of signal lat has no bucket le=0.5, which its first window (line 2) has; every window needs the same buckets`, 5},
		{"a window has a bucket the first does not", "b.csv", head + "0,lat,0.1,1\n0,lat,+Inf,3\n60,lat,0.1,1\n60,lat,0.3,2\n60,lat,+Inf,3\n",
			`b.csv line 5: bucket le=0.3 of signal lat is not among the buckets of its first window (line 2: le 0.1, +Inf); every window needs the same buckets`, 5},
		{"without timestamps, a missing bucket shows when the next window starts", "b.csv", "signal,le,value\nlat,0.1,1\nlat,0.5,2\nlat,+Inf,3\nlat,0.1,1\nlat,+Inf,3\nlat,0.1,1\nlat,0.5,2\nlat,+Inf,3\n",
			`b.csv line 5: window 2 of signal lat has no bucket le=0.5, which its first window (line 2) has; every window needs the same buckets`, 5},
		{"the same bucket twice at one timestamp", "b.csv", head + "0,lat,0.1,1\n0,lat,+Inf,3\n0,lat,0.10,1\n",
			`b.csv line 4: bucket le=0.1 of signal lat appears twice at timestamp 1970-01-01T00:00:00Z (lines 2 and 4)`, 4},
		{"plain row after bucket rows", "b.csv", head + "0,lat,0.1,1\n0,lat,+Inf,3\n60,lat,,2\n",
			`b.csv line 4: signal lat has a row without le, but its rows from line 2 have le; a signal's rows are either all histogram buckets (with le) or all plain values (without)`, 4},
		{"bucket row after plain rows", "b.csv", head + "0,lat,,1\n60,lat,0.1,2\n",
			`b.csv line 3: signal lat has a row with le 0.1, but its rows from line 2 have none; a signal's rows are either all histogram buckets (with le) or all plain values (without)`, 3},
		{"bucket count not a number", "b.csv", head + "0,lat,0.1,many\n",
			`b.csv line 2: value "many" of signal lat is not a number`, 2},
		{"histogram windows going back in time", "b.csv", head + "60,lat,0.1,1\n60,lat,+Inf,1\n0,lat,0.1,1\n",
			`b.csv line 4: timestamp 0 of signal lat is before the signal's previous one, 1970-01-01T00:01:00Z on line 3 (rows of a signal must be in time order)`, 4},
		{"row missing the le field", "b.csv", head + "0,lat,1\n",
			`b.csv line 2: row has 3 fields but the header has 4`, 2},

		// JSON.
		{"json le not ascending", "c.json", `{"lat": {"le": [0.5, 0.1, "+Inf"], "counts": [[1, 2, 3]]}}`,
			`c.json line 1, column 22: le 2 of signal lat, 0.1, is not above the bound before it, 0.5; le must list the buckets in ascending order, each once`, 1},
		{"json le repeated", "c.json", `{"lat": {"le": [0.1, 0.1, "+Inf"], "counts": [[1, 2, 3]]}}`,
			`c.json line 1, column 22: le 2 of signal lat, 0.1, is not above the bound before it, 0.1; le must list the buckets in ascending order, each once`, 1},
		{"json no +Inf", "c.json", "{\"lat\": {\n \"le\": [0.1, 0.5],\n \"counts\": [[1, 2]]}}",
			`c.json line 2, column 8: le of signal lat has no +Inf bound; the last bucket must be +Inf (the count of all observations)`, 2},
		{"json le a word", "c.json", `{"lat": {"le": [0.1, "slow", "+Inf"], "counts": [[1, 2, 3]]}}`,
			`c.json line 1, column 22: le 2 of signal lat, slow, is not a number (want a bucket's upper bound, or +Inf)`, 1},
		{"json le a boolean", "c.json", `{"lat": {"le": [true, "+Inf"], "counts": [[1, 2]]}}`,
			`c.json line 1, column 17: le 1 of signal lat is a boolean (true), not a number or "+Inf"`, 1},
		{"json window missing a bucket", "c.json", "{\"lat\": {\"le\": [0.1, 0.5, \"+Inf\"], \"counts\": [\n  [1, 2, 3],\n  [1, 3]]}}",
			`c.json line 3, column 3: window 2 of signal lat has 2 counts but le has 3 bounds; every window needs a count for every bucket`, 3},
		{"json counts before le, too many counts", "c.json", `{"lat": {"counts": [[1, 2, 3, 4]], "le": [1, "+Inf"]}}`,
			`c.json line 1, column 21: window 1 of signal lat has 4 counts but le has 2 bounds; every window needs a count for every bucket`, 1},
		{"json counts flat", "c.json", `{"lat": {"le": [1, "+Inf"], "counts": [1, 2]}}`,
			`c.json line 1, column 40: window 1 of signal lat is a number (1), not an array of cumulative bucket counts`, 1},
		{"json counts empty", "c.json", `{"lat": {"le": [1, "+Inf"], "counts": []}}`,
			`c.json line 1, column 29: signal lat has no windows in "counts"`, 1},
		{"json no counts", "c.json", `{"lat": {"le": [1, "+Inf"]}}`,
			`c.json line 1, column 2: signal lat is a histogram object without "counts", each window's cumulative bucket counts`, 1},
		{"json no le", "c.json", `{"lat": {"counts": [[1]]}}`,
			`c.json line 1, column 2: signal lat is a histogram object without "le", the buckets' upper bounds`, 1},
		{"json unknown key", "c.json", `{"lat": {"le": [1, "+Inf"], "buckets": [[1, 2]]}}`,
			`c.json line 1, column 29: signal lat is a histogram object with an unknown key a string ("buckets") (want "le" and "counts")`, 1},
		{"json le twice", "c.json", `{"lat": {"le": [1, "+Inf"], "le": [1, "+Inf"], "counts": [[1, 2]]}}`,
			`c.json line 1, column 29: signal lat has "le" twice`, 1},
		{"json count a string", "c.json", `{"lat": {"le": [1, "+Inf"], "counts": [[1, "2"]]}}`,
			`c.json line 1, column 44: count 2 of window 1 of signal lat is a string ("2"), not a number or null`, 1},
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

// BenchmarkParseJSONManySignals measures loading a JSON file of many small
// signals, whose cost must grow linearly with their number (it grew with
// its square while every key's line number was computed).
func BenchmarkParseJSONManySignals(b *testing.B) {
	for _, n := range []int{1000, 10000, 40000} {
		var sb strings.Builder
		sb.WriteString("{\n")
		for i := range n {
			if i > 0 {
				sb.WriteString(",\n")
			}
			fmt.Fprintf(&sb, "  \"signal_%d\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", i)
		}
		sb.WriteString("\n}\n")
		data := []byte(sb.String())
		b.Run(fmt.Sprintf("signals=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := parseJSON("b.json", bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseCSVHistogram measures loading a CSV histogram: an hour of
// one-minute windows of 16 buckets, for 50 signals.
func BenchmarkParseCSVHistogram(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("timestamp,signal,le,value\n")
	bounds := []string{"0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2", "0.25", "0.3", "0.5", "0.75", "1", "2.5", "5", "+Inf"}
	for w := range 60 {
		for s := range 50 {
			for i, le := range bounds {
				fmt.Fprintf(&sb, "%d,latency_%d,%s,%d\n", 1748959200+60*w, s, le, 10*(i+1))
			}
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseCSV("b.csv", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
