package api

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestParseNumberMatchesStrconv checks parseNumber against strconv.ParseFloat
// (the reference: correctly rounded) on the forms metric values take and on
// random bit patterns printed every way Go prints them.
func TestParseNumberMatchesStrconv(t *testing.T) {
	cases := []string{
		"0", "-0", "1", "-1", "0.5", "100.5", "104.123", "0.000123", "123456789012345",
		"1234567890123456", "12345678901234567890", "0.1", "0.30000000000000004",
		"1e22", "1e23", "1e-22", "1e-23", "9007199254740993", "2.2250738585072014e-308",
		"4.9e-324", "1.7976931348623157e308", "123.456e5", "123.456E-5", "1E+2",
		"0.0", "-0.0", "10000000000000000000000000", "0.00000000000000000000000000001",
		"3.14159265358979323846264338327950288", "999999999999999.9", "99999999999999.99",
		// Whole numbers around the fast path's 15 digits and float64's 2^53.
		"999999999999999", "-999999999999999", "1000000000000000", "9007199254740992",
		"9007199254740993", "-9007199254740993", "18446744073709551615", "18446744073709551616",
		"100000000000000000000000000000000000000000000000000000000000000000",
		"100000000000000000000000000000000000000000000000000000000000000000.0001",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// Whole numbers as the counts of histograms and requests come, of every
	// length up to 20 digits.
	for digits := 1; digits <= 20; digits++ {
		for range 2000 {
			n := rng.Uint64()
			s := strconv.FormatUint(n, 10)
			if len(s) > digits {
				s = s[:digits]
			}
			if s[0] == '0' {
				s = "1" + s[1:]
			}
			cases = append(cases, s, "-"+s)
		}
	}
	for range 200000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		cases = append(cases, strconv.FormatFloat(f, 'g', -1, 64))
		// Metric-like values: a few decimals, as exporters print them.
		m := math.Round(rng.ExpFloat64()*1000*math.Pow(10, float64(rng.IntN(4)))) / math.Pow(10, float64(rng.IntN(7)))
		cases = append(cases, strconv.FormatFloat(m, 'f', -1, 64), strconv.FormatFloat(m, 'e', rng.IntN(17), 64))
	}
	for _, c := range cases {
		want, err := strconv.ParseFloat(c, 64)
		if err != nil {
			t.Fatalf("reference cannot parse %q: %v", c, err)
		}
		got, n, ok := parseNumber([]byte(c + ","))
		if !ok || n != len(c) || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseNumber(%q) = %v, %d, %v; strconv gives %v", c, got, n, ok, want)
		}
	}
}

// TestParseNumberRejects checks that what JSON's grammar refuses is refused,
// as encoding/json does.
func TestParseNumberRejects(t *testing.T) {
	for _, c := range []string{"", "-", "+1", ".5", "1.", "1e", "1e+", "-.5", "x", "1e400", "-1e400", "Infinity", "NaN"} {
		if _, n, ok := parseNumber([]byte(c)); ok && n == len(c) {
			t.Errorf("parseNumber(%q) accepted it", c)
		}
		var v float64
		if json.Unmarshal([]byte(c), &v) == nil {
			t.Errorf("encoding/json accepts %q: the test's premise is wrong", c)
		}
	}
	// A prefix that is a number stops where the number ends; the caller
	// then finds no ',' or ']' and fails.
	for c, want := range map[string]int{"01": 1, "1.5.5": 3, "00": 1, "-0x1": 2} {
		if _, n, ok := parseNumber([]byte(c)); !ok || n != want {
			t.Errorf("parseNumber(%q) read %d bytes (ok %v), want %d", c, n, ok, want)
		}
	}
}

// FuzzParseNumber checks parseNumber against encoding/json on any input:
// both accept the same complete numbers, with the same value.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-12.5e3", "104.123", "1e23", "0.000123", "1.", "+1", "1234", "-0", "9007199254740993", "012", "0,", "123,4", "1234567890123456789,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, n, ok := parseNumber([]byte(s))
		var want float64
		jsonErr := json.Unmarshal([]byte(s), &want)
		complete := ok && n == len(s)
		if complete != (jsonErr == nil) {
			// encoding/json also allows surrounding white space, and
			// takes null as "no value".
			if t := strings.TrimSpace(s); t != s || t == "null" {
				return
			}
			t.Fatalf("%q: parseNumber complete=%v, encoding/json err=%v", s, complete, jsonErr)
		}
		if complete && math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: parseNumber %v, encoding/json %v", s, got, want)
		}
		checkNumberRun(t, []byte(s))
	})
}

// checkNumberRun checks appendNumberRun against parseNumber on b: every
// number it reads is the one parseNumber reads there, followed by a comma,
// and it stops after one of them, or at the start.
func checkNumberRun(t *testing.T, b []byte) {
	t.Helper()
	got, n, closed := appendNumberRun(nil, b, math.MaxInt)
	pos := 0
	for k, v := range got {
		want, wn, ok := parseNumber(b[pos:])
		end := byte(',')
		if closed && k == len(got)-1 {
			end = ']'
		}
		if !ok || pos+wn >= len(b) || b[pos+wn] != end || math.Float64bits(v) != math.Float64bits(want) {
			t.Fatalf("appendNumberRun(%q): number %d is %v; parseNumber reads %v, %d bytes (ok %v) at %d, and %q follows", b, k, v, want, wn, ok, pos, end)
		}
		pos += wn + 1
	}
	if pos != n || closed && len(got) == 0 {
		t.Fatalf("appendNumberRun(%q) read %d bytes (closed %v) for %d numbers, which take %d", b, n, closed, len(got), pos)
	}
}

// TestNumberRun: the loop over a request's numbers reads the forms counts
// and metric values take, each before its comma, with parseNumber's values,
// stops before anything else and at its limit, and leaves the rest to
// parseNumber.
func TestNumberRun(t *testing.T) {
	for _, tt := range []struct {
		in     string
		limit  int
		want   []float64
		n      int
		closed bool
	}{
		{"0,7,1234,999999999999999999,5]", 10, []float64{0, 7, 1234, 999999999999999999, 5}, 30, true},
		{"104.123,0.5,0.000123,100.50,1],", 10, []float64{104.123, 0.5, 0.000123, 100.5, 1}, 30, true},
		{"1,2,3,4,", 2, []float64{1, 2}, 4, false},
		{"1,2]", 2, []float64{1, 2}, 4, true},
		{"1,2]", 1, []float64{1}, 2, false},
		{"1,2 ]", 10, []float64{1}, 2, false},
		{"1,-2,3,", 10, []float64{1}, 2, false},
		{"1,2e3,3,", 10, []float64{1}, 2, false},
		{"1,01,", 10, []float64{1}, 2, false},
		{"1,00,", 10, []float64{1}, 2, false},
		{"1,1.,", 10, []float64{1}, 2, false},
		{"1,.5,", 10, []float64{1}, 2, false},
		{"1, 2,", 10, []float64{1}, 2, false},
		{"1,null,", 10, []float64{1}, 2, false},
		{"1000000000000000000,", 10, nil, 0, false},
		{"12345678901234.5,1234567890123.456,", 10, []float64{12345678901234.5}, 17, false},
		{"0.00000000000001,0.000000000000001,", 10, []float64{0.00000000000001}, 17, false},
		{"1", 10, nil, 0, false},
		{"", 10, nil, 0, false},
	} {
		got, n, closed := appendNumberRun(nil, []byte(tt.in), tt.limit)
		if !slices.Equal(got, tt.want) || n != tt.n || closed != tt.closed {
			t.Errorf("appendNumberRun(%q, %d) = %v, %d, %v; want %v, %d, %v", tt.in, tt.limit, got, n, closed, tt.want, tt.n, tt.closed)
		}
		checkNumberRun(t, []byte(tt.in))
	}
	// Random runs of every form parseNumber takes.
	rng := rand.New(rand.NewPCG(3, 4))
	var b []byte
	for range 20000 {
		b = b[:0]
		for range 1 + rng.IntN(8) {
			switch rng.IntN(5) {
			case 0:
				b = strconv.AppendUint(b, rng.Uint64()>>rng.IntN(64), 10)
			case 1:
				b = strconv.AppendFloat(b, math.Round(rng.ExpFloat64()*1e6)/math.Pow10(rng.IntN(12)), 'f', -1, 64)
			case 2:
				b = strconv.AppendFloat(b, math.Float64frombits(rng.Uint64()>>2), 'g', -1, 64)
			case 3:
				b = strconv.AppendFloat(b, rng.Float64()*1000, 'f', rng.IntN(18), 64)
			default:
				b = strconv.AppendInt(b, -rng.Int64N(1000), 10)
			}
			b = append(b, ",]"[rng.IntN(2)])
		}
		checkNumberRun(t, b)
	}
}
