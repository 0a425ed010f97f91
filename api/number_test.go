package api

import (
	"encoding/json"
	"math"
	"math/rand/v2"
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
		checkWholeBeforeComma(t, []byte(s))
	})
}

// checkWholeBeforeComma checks wholeBeforeComma against parseNumber on b:
// when it reads something, it is the number parseNumber reads there, and
// the comma after it.
func checkWholeBeforeComma(t *testing.T, b []byte) {
	t.Helper()
	v, n := wholeBeforeComma(b)
	if n == 0 {
		return
	}
	want, wn, ok := parseNumber(b)
	if !ok || wn != n-1 || b[wn] != ',' || math.Float64bits(v) != math.Float64bits(want) {
		t.Fatalf("wholeBeforeComma(%q) = %v, %d; parseNumber reads %v, %d bytes (ok %v)", b, v, n, want, wn, ok)
	}
}

// TestWholeBeforeComma: the inlined fast path for counts reads exactly the
// whole numbers of up to 18 digits followed by a comma, with parseNumber's
// value, and leaves everything else to parseNumber.
func TestWholeBeforeComma(t *testing.T) {
	for _, tt := range []struct {
		in string
		v  float64
		n  int
	}{
		{"0,", 0, 2}, {"7,8", 7, 2}, {"1234,", 1234, 5}, {"999999999999999999,", 999999999999999999, 19},
		{"00,", 0, 0}, {"01,", 0, 0}, {"-1,", 0, 0}, {"1.5,", 0, 0}, {"1e3,", 0, 0}, {"12]", 0, 0},
		{"12", 0, 0}, {"12 ,", 0, 0}, {",", 0, 0}, {"", 0, 0}, {"1000000000000000000,", 0, 0}, {"null,", 0, 0},
	} {
		v, n := wholeBeforeComma([]byte(tt.in))
		if v != tt.v || n != tt.n {
			t.Errorf("wholeBeforeComma(%q) = %v, %d; want %v, %d", tt.in, v, n, tt.v, tt.n)
		}
		checkWholeBeforeComma(t, []byte(tt.in))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		s := strconv.FormatUint(rng.Uint64()>>rng.IntN(64), 10) + ","
		checkWholeBeforeComma(t, []byte(s))
		if _, n := wholeBeforeComma([]byte(s)); (n > 0) != (len(s) <= 19) {
			t.Fatalf("wholeBeforeComma(%q) read %d bytes", s, n)
		}
	}
}
