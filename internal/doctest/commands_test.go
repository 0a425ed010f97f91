package doctest

import (
	"reflect"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	block := Block{File: "README.md", Line: 10, Run: true, Text: strings.Join([]string{
		"# a comment line is no command",                            // 10
		"bin/verdict judge --config c.yaml \\",                      // 11
		"    --baseline b.csv --canary c.csv   # → fail (score 40)", // 12
		"curl -s -X POST 127.0.0.1:8080/api/v1/judge -d '{",         // 13
		`  "configName": "checkout # not a comment",`,               // 14
		`  "baseline": {}`,                                          // 15
		"}'   # → 412, fail",                                        // 16
		"",                                                          // 17
		`echo "a \" quote # and" x#y   # plain comment`,             // 18
		"bin/verdict validate --config c.yaml   # → exit 65",        // 19
	}, "\n") + "\n"}
	cmds, err := Commands(block)
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{
		{Line: 11, Text: "bin/verdict judge --config c.yaml \\\n    --baseline b.csv --canary c.csv   # → fail (score 40)", Expect: Expect{Verdict: "fail"}},
		{Line: 13, Text: "curl -s -X POST 127.0.0.1:8080/api/v1/judge -d '{\n  \"configName\": \"checkout # not a comment\",\n  \"baseline\": {}\n}'   # → 412, fail", Expect: Expect{Verdict: "fail", Status: 412}},
		{Line: 18, Text: `echo "a \" quote # and" x#y   # plain comment`},
		{Line: 19, Text: "bin/verdict validate --config c.yaml   # → exit 65", Expect: Expect{Exit: 65, HasExit: true}},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", cmds, want)
	}
}

func TestCommandsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"expectation alone", "ls\n# → pass\n", "README.md:2: an expectation (# →) on a line of its own"},
		{"unknown word", "ls   # → passed\n", `README.md:1: expectation " passed": unknown word "passed"`},
		{"two verdicts", "ls   # → pass fail\n", "two verdicts"},
		{"exit without code", "ls   # → exit\n", "exit without a code"},
		{"exit not a number", "ls   # → exit x\n", `exit "x" is not one exit code`},
		{"empty", "ls   # →\n", "is empty"},
		{"open parenthesis", "ls   # → pass (score\n", "a parenthesis is never closed"},
		{"open quote", "echo 'a\nb\n", "README.md:1: a ' quote is never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Commands(Block{File: "README.md", Line: 1, Run: true, Text: tc.text})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
