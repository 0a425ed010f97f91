package query

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	for _, tc := range []struct{ in, want string }{
		{"  parse error  ", "parse error"},
		{"first line\nsecond line", "first line"},
		{"", "(empty body)"},
		{"\n\n", "(empty body)"},
		{strings.Repeat("x", 250), strings.Repeat("x", 200) + "…"},
		{long, strings.Repeat("é", 100) + "…"},
	} {
		got := Excerpt(tc.in)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Excerpt(%.40q…) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
