package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAnalyzeUnavailable: a source that answered no query at all exits 69
// with one sentence naming the source's URL and the window, and writes no
// report; it is not "too little data" (3).
func TestAnalyzeUnavailable(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "live.yaml", "name: shop\nsignals:\n  - name: p99\n    query: 'max(p99{track=\"{{.track}}\"})'\n")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	notPrometheus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Grafana</body></html>"))
	}))
	defer notPrometheus.Close()
	// The hanging server reads the request (a POST form) first: only then
	// does net/http notice the client hanging up and end the handler.
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hanging.Close()

	window := []string{"--start", "2026-01-05T09:00:00Z", "--end", "2026-01-05T10:00:00Z", "--step", "10s"}
	const windowText = "for the window 2026-01-05T09:00:00Z .. 2026-01-05T10:00:00Z (step 10s)"
	tests := []struct {
		name, url string
		extra     []string
		want      []string // fragments of the one line on stderr
	}{
		{"connection refused", refused, nil, []string{"source prometheus at " + refused + " answered none of its 2 queries " + windowText, "connection refused"}},
		{"a wrong path: 404 for every query", notFound.URL + "/prometheus", nil, []string{"source prometheus at " + notFound.URL + "/prometheus answered none of its 2 queries " + windowText, "404"}},
		{"not a Prometheus", notPrometheus.URL, nil, []string{"source prometheus at " + notPrometheus.URL + " answered none of its 2 queries"}},
		{"hanging beyond --timeout", hanging.URL, []string{"--timeout", "1s"}, []string{"the judgement did not finish within 1s: source prometheus at " + hanging.URL + " answered 0 of its 2 queries " + windowText}},
		{"a name that does not resolve", "http://verdict-test.invalid:9090", []string{"--timeout", "30s"}, []string{"source prometheus at http://verdict-test.invalid:9090 answered", windowText}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"analyze", "--config", cfg, "--prometheus-url", tt.url, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary", "--format", "json"}, window...)
			code, stdout, stderr := invoke(t, append(args, tt.extra...)...)
			if code != exitUnavailable {
				t.Errorf("exit %d, want 69; stderr %q", code, stderr)
			}
			if stdout != "" {
				t.Errorf("a report was written: %.200s", stdout)
			}
			first, rest, _ := strings.Cut(stderr, "\n")
			if rest != "" {
				t.Errorf("stderr has more than one line: %q", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(first, w) {
					t.Errorf("stderr %q lacks %q", first, w)
				}
			}
		})
	}
}
