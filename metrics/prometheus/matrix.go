package prometheus

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/metrics"
)

// matrixAnswer is a successful range-query answer decoded by decodeMatrix.
type matrixAnswer struct {
	series          []metrics.Series
	warnings, infos []string
}

// decodeMatrix reads a successful query_range answer whose result is a
// matrix of numbers straight into series, as convert would make them from
// client_golang's model.Matrix, without client_golang's two passes of
// encoding/json over the envelope and its model types. It takes only the
// answer Prometheus writes: the keys status ("success"), data (resultType
// "matrix", result), warnings and infos, each once; series with metric and
// values; timestamps written as digits with an optional fraction. For
// anything else — another status or result type, native histograms, an
// unknown or repeated key, a label or value string with escapes or
// non-ASCII bytes, malformed JSON — ok is false and the caller hands the
// answer to client_golang, whose reading (and wording of what is wrong)
// is then the one that counts.
func decodeMatrix(body string) (answer matrixAnswer, ok bool) {
	d := matrixDecoder{s: body}
	var sawStatus, sawData, sawWarnings, sawInfos bool
	ok = d.object(func(key string) bool {
		switch {
		case key == "status" && !sawStatus:
			sawStatus = true
			status, ok := d.plainString()
			return ok && status == "success"
		case key == "data" && !sawData:
			sawData = true
			return d.data(&answer)
		case key == "warnings" && !sawWarnings:
			sawWarnings = true
			var ok bool
			answer.warnings, ok = d.stringArray()
			return ok
		case key == "infos" && !sawInfos:
			sawInfos = true
			var ok bool
			answer.infos, ok = d.stringArray()
			return ok
		}
		return false
	})
	d.space()
	if !ok || !sawStatus || !sawData || d.i != len(d.s) {
		return matrixAnswer{}, false
	}
	return answer, true
}

// matrixDecoder reads JSON from s at i. Its methods return false at the
// first thing they do not take.
type matrixDecoder struct {
	s string
	i int
}

func (d *matrixDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c if it comes next.
func (d *matrixDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads an object, calling member after each key and its colon to
// read the value.
func (d *matrixDecoder) object(member func(key string) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		key, ok := d.plainString()
		if !ok || !d.next(':') || !member(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// array reads an array, calling element to read each element.
func (d *matrixDecoder) array(element func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.next(']') {
		return true
	}
	for {
		if !element() {
			return false
		}
		if d.next(']') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// plainString reads a string of printable ASCII without escapes (label
// names and values, numbers, the envelope's words) as a substring of s.
func (d *matrixDecoder) plainString() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		}
		d.i++
	}
	return "", false
}

// stringArray reads null or an array of strings (free text: escapes are
// read by encoding/json).
func (d *matrixDecoder) stringArray() ([]string, bool) {
	d.space()
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += len("null")
		return nil, true
	}
	out := []string{}
	ok := d.array(func() bool {
		d.space()
		end, ok := d.stringEnd()
		if !ok {
			return false
		}
		var s string
		if err := json.Unmarshal([]byte(d.s[d.i:end]), &s); err != nil {
			return false
		}
		d.i = end
		out = append(out, s)
		return true
	})
	return out, ok
}

// stringEnd is the index just past the string that starts at i.
func (d *matrixDecoder) stringEnd() (int, bool) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return 0, false
	}
	for j := d.i + 1; j < len(d.s); j++ {
		switch d.s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// data reads {"resultType": "matrix", "result": [...]}.
func (d *matrixDecoder) data(answer *matrixAnswer) bool {
	var sawType, sawResult bool
	ok := d.object(func(key string) bool {
		switch {
		case key == "resultType" && !sawType:
			sawType = true
			t, ok := d.plainString()
			return ok && t == "matrix"
		case key == "result" && !sawResult:
			sawResult = true
			return d.array(func() bool {
				s, ok := d.series()
				answer.series = append(answer.series, s)
				return ok
			})
		}
		return false
	})
	return ok && sawType && sawResult
}

// series reads {"metric": {...}, "values": [[t, "v"], ...]}.
func (d *matrixDecoder) series() (metrics.Series, bool) {
	var s metrics.Series
	var sawMetric, sawValues bool
	ok := d.object(func(key string) bool {
		switch {
		case key == "metric" && !sawMetric:
			sawMetric = true
			return d.labels(&s)
		case key == "values" && !sawValues:
			sawValues = true
			return d.values(&s)
		}
		return false
	})
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Times == nil {
		s.Times, s.Values = []time.Time{}, []float64{}
	}
	return s, ok
}

func (d *matrixDecoder) labels(s *metrics.Series) bool {
	s.Labels = map[string]string{}
	return d.object(func(name string) bool {
		value, ok := d.plainString()
		if _, dup := s.Labels[name]; dup {
			return false
		}
		s.Labels[name] = value
		return ok
	})
}

// values reads the points. A point's time is read as model.Time reads it
// (milliseconds, the fraction cut to three digits), its value as
// client_golang reads it (strconv.ParseFloat of the string).
func (d *matrixDecoder) values(s *metrics.Series) bool {
	// Size the slices from the text up to the values' closing "]]".
	rest := d.s[d.i:]
	if end := strings.Index(rest, "]]"); end >= 0 {
		rest = rest[:end]
	}
	n := strings.Count(rest, "],") + 1
	s.Times, s.Values = make([]time.Time, 0, n), make([]float64, 0, n)
	return d.array(func() bool {
		if !d.next('[') {
			return false
		}
		d.space()
		ms, ok := d.timestamp()
		if !ok || !d.next(',') {
			return false
		}
		text, ok := d.plainString()
		if !ok || !d.next(']') {
			return false
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return false
		}
		if math.IsNaN(v) {
			v = math.NaN() // one canonical NaN
		}
		s.Times = append(s.Times, time.Unix(ms/1000, (ms%1000)*int64(time.Millisecond)).UTC())
		s.Values = append(s.Values, v)
		return true
	})
}

// timestamp reads seconds written as digits with an optional fraction
// into milliseconds.
func (d *matrixDecoder) timestamp() (int64, bool) {
	var sec int64
	digits := 0
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		sec = sec*10 + int64(d.s[d.i]-'0')
		d.i++
		digits++
	}
	if digits == 0 || digits > 12 || digits > 1 && d.s[d.i-digits] == '0' {
		return 0, false // none, too many, or a leading zero (not JSON)
	}
	ms := sec * 1000
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		scale, frac := int64(100), 0
		for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
			ms += scale * int64(d.s[d.i]-'0')
			scale /= 10
			d.i++
			frac++
		}
		if frac == 0 {
			return 0, false
		}
	}
	if d.i < len(d.s) {
		switch d.s[d.i] {
		case 'e', 'E', '+', '-':
			return 0, false
		}
	}
	return ms, true
}
