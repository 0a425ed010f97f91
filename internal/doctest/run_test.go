package doctest

import (
	"context"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const (
		argoPass   = `{"id":"1","verdict":"pass","score":100}`
		argoNone   = `{"id":"1","verdict":"none","score":null}`
		notFound   = `{"error":"config checkout: not found"}`
		flagger412 = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json\r\n\r\n" + `{"verdict":"fail"}`
	)
	for _, tc := range []struct {
		name    string
		command string
		expect  Expect
		result  Result
		want    string // "" for no error, else part of it
	}{
		{"curl verdict", "curl -s URL", Expect{Verdict: "pass"}, Result{Stdout: argoPass}, ""},
		{"curl wrong verdict", "curl -s URL", Expect{Verdict: "pass"}, Result{Stdout: argoNone}, "verdict none, want pass"},
		{"curl error answer", "curl -s URL", Expect{Verdict: "pass"}, Result{Stdout: notFound}, `answered the error "config checkout: not found"`},
		{"curl error answer without expectation", "curl -s URL", Expect{}, Result{Stdout: notFound}, "answered the error"},
		{"curl no verdict", "curl -s URL", Expect{Verdict: "pass"}, Result{Stdout: "ok"}, "gives no verdict to check against pass"},
		{"curl exit code", "curl -s URL", Expect{}, Result{Exit: 7}, "exit code 7, want 0"},
		{"status and verdict", "curl -si URL", Expect{Status: 412, Verdict: "fail"}, Result{Stdout: flagger412}, ""},
		{"status differs", "curl -si URL", Expect{Status: 200, Verdict: "fail"}, Result{Stdout: flagger412}, "HTTP status 412, want 200"},
		{"status unexpected", "curl -si URL", Expect{}, Result{Stdout: flagger412}, "HTTP status 412"},
		{"status not printed", "curl -s URL", Expect{Status: 200}, Result{Stdout: argoPass}, "prints no HTTP status"},
		{"expected error status", "curl -si URL", Expect{Status: 404}, Result{Stdout: "HTTP/1.1 404 Not Found\n\n" + notFound}, ""},
		{"cli verdict by exit code", "bin/verdict analyze --config x", Expect{Verdict: "fail"}, Result{Exit: 1, Stdout: "table"}, ""},
		{"cli wrong exit code", "bin/verdict analyze --config x", Expect{Verdict: "fail"}, Result{Exit: 3, Stdout: "table"}, "exit code 3, want 1"},
		{"cli usage error", "verdict analyze", Expect{Verdict: "fail"}, Result{Exit: 64}, "exit code 64, want 1"},
		{"cli json and exit disagree", "bin/verdict judge --format json", Expect{Verdict: "fail"}, Result{Exit: 1, Stdout: argoPass}, "verdict pass, want fail"},
		{"explicit exit", "bin/verdict validate --config x", Expect{Exit: 65, HasExit: true}, Result{Exit: 65}, ""},
		{"plain command", "bin/verdict validate --config x", Expect{}, Result{Exit: 0, Stdout: "x is valid"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Command{Text: tc.command, Expect: tc.expect}.Check(tc.result)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRunAndRewrite(t *testing.T) {
	cmd := Rewrite("echo 127.0.0.1:8080 http://127.0.0.1:9090; exit 3", map[string]string{"127.0.0.1:8080": "127.0.0.1:41000", "127.0.0.1:9090": "127.0.0.1:42000"})
	r, err := Run(context.Background(), t.TempDir(), nil, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 3 || r.Stdout != "127.0.0.1:41000 http://127.0.0.1:42000\n" {
		t.Fatalf("got %+v", r)
	}
}
