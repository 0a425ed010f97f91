package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
)

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), Markdown); err != nil {
		t.Fatal(err)
	}
	golden(t, "checkout.markdown.golden", b.Bytes())
}

// TestMarkdownEscaping checks that text from configs and sources cannot
// break the table or inject markup into a pull-request comment.
func TestMarkdownEscaping(t *testing.T) {
	r := sample()
	r.Signals = r.Signals[:1]
	r.Signals[0].Reason = "a | b <img src=x> *bold* [link](y)\nsecond line"
	r.Reason = r.Signals[0].Reason
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<img", "*bold*", "[link]", "a | b", "\nsecond line"} {
		if strings.Contains(out, bad) {
			t.Errorf("Markdown contains unescaped %q:\n%s", bad, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| `") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 9 {
			t.Errorf("table row has the wrong number of cells: %s", line)
		}
	}
}

func TestMarkdownSections(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(r []judge.Result) []judge.Result
		attention bool
		details   string
	}{
		{"mixed", func(r []judge.Result) []judge.Result { return r }, true, "<details><summary>2 passing signals</summary>"},
		{"all pass", func(r []judge.Result) []judge.Result { return r[1:3] }, false, "<details><summary>2 passing signals</summary>"},
		{"one pass", func(r []judge.Result) []judge.Result { return r[1:2] }, false, "<details><summary>1 passing signal</summary>"},
		{"none pass", func(r []judge.Result) []judge.Result { return []judge.Result{r[0], r[3]} }, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sample()
			r.Signals = tc.edit(r.Signals)
			var b bytes.Buffer
			if err := WriteMarkdown(&b, r); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if got := strings.Contains(out, "**Needs attention**"); got != tc.attention {
				t.Errorf("needs-attention list shown %v, want %v:\n%s", got, tc.attention, out)
			}
			if tc.details == "" && strings.Contains(out, "<details>") || tc.details != "" && !strings.Contains(out, tc.details) {
				t.Errorf("want details %q:\n%s", tc.details, out)
			}
		})
	}
}
