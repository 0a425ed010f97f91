package doctest

import (
	"strings"
	"testing"
)

func TestBlocks(t *testing.T) {
	page := strings.Join([]string{
		"# Title",          // 1
		"```sh",            // 2 not marked
		"make demo",        // 3
		"```",              // 4
		"<!-- doctest -->", // 5
		"```sh",            // 6
		"bin/verdict validate --config x   # → pass", // 7
		"```",            // 8
		"- a list item:", // 9
		"  <!-- doctest: file=fixtures/try/checkout.yaml -->", // 10
		"  ```yaml",          // 11
		"  name: checkout",   // 12
		"  signals:",         // 13
		"    - name: errors", // 14
		"  ````",             // 15 a longer fence closes too
		"",
	}, "\n")
	blocks, err := Blocks("README.md", page)
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{File: "README.md", Line: 7, Info: "sh", Run: true, Text: "bin/verdict validate --config x   # → pass\n"},
		{File: "README.md", Line: 12, Info: "yaml", Content: "fixtures/try/checkout.yaml", Text: "name: checkout\nsignals:\n  - name: errors\n"},
	}
	if len(blocks) != len(want) {
		t.Fatalf("got %d blocks, want %d: %+v", len(blocks), len(want), blocks)
	}
	for i := range want {
		if blocks[i] != want[i] {
			t.Errorf("block %d:\n got %+v\nwant %+v", i, blocks[i], want[i])
		}
	}
}

func TestBlocksRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, page, want string
	}{
		{"marker before prose", "<!-- doctest -->\nsome text\n", "README.md:1: the doctest marker is not followed by a fenced block"},
		{"marker with a blank line", "<!-- doctest -->\n\n```sh\nls\n```\n", "README.md:1: the doctest marker is not followed"},
		{"marker at the end", "text\n<!-- doctest -->", "README.md:2: the doctest marker is not followed"},
		{"unknown marker", "<!-- doctest: run -->\n```sh\nls\n```\n", `README.md:1: unknown doctest marker`},
		{"file without a path", "<!-- doctest: file= -->\n```sh\nls\n```\n", `README.md:1: unknown doctest marker`},
		{"marker inside a line", "see <!-- doctest --> here\n", "README.md:1: a doctest marker must be alone on its line"},
		{"unclosed fence", "<!-- doctest -->\n```sh\nls\n", "README.md:2: the fenced block is never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Blocks("README.md", tc.page)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFencedBlocks(t *testing.T) {
	page := strings.Join([]string{
		"```yaml",       // 1
		"a: 1",          // 2
		"```",           // 3
		"- item:",       // 4
		"  ```yaml x=1", // 5
		"  b: 2",        // 6
		"    c: 3",      // 7
		"  ```",         // 8
		"````sh",        // 9
		"```yaml",       // 10 inside a longer fence: not a block of its own
		"````",          // 11
		"```yml",        // 12 another language
		"d: 4",          // 13
		"```",           // 14
		"",
	}, "\n")
	got := FencedBlocks("doc.md", page, "yaml")
	want := []Block{
		{File: "doc.md", Line: 2, Info: "yaml", Text: "a: 1\n"},
		{File: "doc.md", Line: 6, Info: "yaml x=1", Text: "b: 2\n  c: 3\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
