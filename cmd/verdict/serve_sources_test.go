package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeSourcesFileErrors: a sources file or URL flag that cannot be
// used stops verdict serve at start with exit 64 and one sentence naming
// the file, line and field; a --config-dir config that sets sources stops
// it with exit 65 naming the file, line and field.
func TestServeSourcesFileErrors(t *testing.T) {
	t.Setenv("VERDICT_PROMETHEUS_URL", "")
	t.Setenv("VERDICT_LOKI_URL", "")
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cfgDir := filepath.Join(dir, "configs")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write("configs/attack.yaml", "signals:\n  - name: a\n    query: up\nsources:\n  prometheus:\n    url: \"http://elsewhere\"\n")
	db := "sqlite:" + filepath.Join(dir, "v.db")
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"missing file", []string{"--sources-file", filepath.Join(dir, "nope.yaml")}, "--sources-file: " + filepath.Join(dir, "nope.yaml") + ": the sources file does not exist", exitUsage},
		{"bad type", []string{"--sources-file", write("type.yaml", "eu:\n  type: nosuchdb\n")}, "type.yaml line 2: eu.type: \"nosuchdb\" is not a source type", exitUsage},
		{"no url", []string{"--sources-file", write("nourl.yaml", "prometheus: {timeout: 5s}\n")}, "nourl.yaml line 1: prometheus.url: missing: give url here or --prometheus-url", exitUsage},
		{"unreadable token", []string{"--sources-file", write("token.yaml", "prometheus:\n  url: \"http://prom:9090\"\n  bearerTokenFile: "+filepath.Join(dir, "no-token")+"\n")}, "token.yaml line 3: prometheus.bearerTokenFile: open ", exitUsage},
		{"bad flag", []string{"--prometheus-url", "prom:9090"}, "--prometheus-url (or VERDICT_PROMETHEUS_URL): \"prom:9090\" is not a URL", exitUsage},
		{"config dir with sources", []string{"--prometheus-url", "http://prom:9090", "--config-dir", cfgDir}, "attack.yaml line 6: sources.prometheus.url: a config given to verdict serve cannot set sources", exitData},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--db", db}, tc.args...)
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestServeNamedSource runs verdict serve with a sources file holding a
// named Prometheus source with a bearer token file: a stored config whose
// signal names it is judged from it, with the token; a config that sets
// sources is refused.
func TestServeNamedSource(t *testing.T) {
	t.Setenv("VERDICT_PROMETHEUS_URL", "")
	t.Setenv("VERDICT_LOKI_URL", "")
	var (
		mu    sync.Mutex
		authz []string
	)
	eu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		authz = append(authz, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	}))
	defer eu.Close()
	dir := t.TempDir()
	token := filepath.Join(dir, "eu-token")
	if err := os.WriteFile(token, []byte("eu-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sources := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(sources, fmt.Appendf(nil, "eu:\n  type: prometheus\n  url: %q\n  bearerTokenFile: %q\n  maxConns: 4\n", eu.URL, token), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"serve", "--listen", addr, "--db", "sqlite:" + filepath.Join(dir, "v.db"), "--sources-file", sources}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("verdict serve exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("verdict serve did not stop")
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("verdict serve not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("PUT", "/api/v1/configs/eu", "signals:\n  - name: latency\n    source: eu\n    query: 'latency{track=\"{{.track}}\"}'\n"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := call("GET", "/api/v1/argo/eu?baseline=track%3Db&canary=track%3Dc", ""); code != 200 || !strings.Contains(body, `"verdict":"none"`) {
		t.Errorf("Argo: %d %s", code, body)
	}
	mu.Lock()
	got := strings.Join(authz, ",")
	mu.Unlock()
	if got != "Bearer eu-secret,Bearer eu-secret" {
		t.Errorf("the eu source saw Authorization %q, want the token twice (baseline and canary)", got)
	}
	code, body := call("PUT", "/api/v1/configs/evil", "signals:\n  - name: latency\n    source: eu\n    query: up\nsources:\n  eu: {type: prometheus, url: \"http://elsewhere\"}\n")
	if code != 400 || !strings.Contains(body, "sources.eu.type: a config given to verdict serve cannot set sources") {
		t.Errorf("PUT with sources: %d %s", code, body)
	}
}
