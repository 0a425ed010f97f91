package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/internal/promtest"
)

func TestServeListenNeedsTokens(t *testing.T) {
	t.Setenv("VERDICT_TOKENS", "")
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"serve", "--listen", "0.0.0.0:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "v.db")}, "no bearer tokens are configured", exitUsage},
		{[]string{"serve", "--listen", "nohostport"}, "is not HOST:PORT", exitUsage},
		// Nothing listens on port 1: the PostgreSQL store is chosen, fails to
		// connect (unavailable: exit 70), and the message does not show the password.
		{[]string{"serve", "--db", "postgres://u:s3cret@127.0.0.1:1/v?connect_timeout=5"}, "--db: store: open postgres:", exitInternal},
		// A malformed DSN is the command line's mistake.
		{[]string{"serve", "--db", "postgres://u:s3cret@127.0.0.1/v?sslmode=sometimes"}, "--db: store: open postgres:", exitUsage},
		{[]string{"serve", "--db", "mysql://u:s3cret@127.0.0.1/v"}, "is not a store", exitUsage},
		{[]string{"serve", "--lease", "10ms"}, "--lease 10ms is shorter than 1s", exitUsage},
		{[]string{"serve", "--retention", "10m"}, "--retention 10m0s is neither 0 (keep forever) nor at least 1h", exitUsage},
		{[]string{"serve", "--retention", "-1h"}, "--retention -1h0m0s is neither 0", exitUsage},
		{[]string{"serve", "--instance-id", " "}, "--instance-id must not be empty", exitUsage},
		{[]string{"serve", "--tokens-file", filepath.Join(t.TempDir(), "missing")}, "read the tokens file", exitUsage},
		{[]string{"serve", "--max-bodies-in-flight", "1MiB"}, "--max-bodies-in-flight 1MiB is less than one request body's limit of 8MiB", exitUsage},
		{[]string{"serve", "--max-bodies-in-flight", "lots"}, `"lots" is not a size such as 64MiB`, exitUsage},
		{[]string{"serve", "--inline-config-cache", "0"}, "--inline-config-cache must be positive", exitUsage},
		{[]string{"serve", "--external-url", "verdict.example.com"}, "--external-url: the external URL \"verdict.example.com\" is not an http:// or https:// URL", exitUsage},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "s3cret") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestServeDBFromEnvironment: without --db, VERDICT_DB names the store
// (a Kubernetes Secret can hold a PostgreSQL URL with its password, which
// a flag would show in the process list), and errors name it; --db wins.
func TestServeDBFromEnvironment(t *testing.T) {
	t.Setenv("VERDICT_TOKENS", "")
	t.Setenv("VERDICT_DB", "mysql://u:s3cret@127.0.0.1/v")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "verdict: VERDICT_DB: "},
		{[]string{"serve", "--db", "oracle://u:s3cret@127.0.0.1/v"}, "verdict: --db: "},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.HasPrefix(stderr.String(), tc.want) || !strings.Contains(stderr.String(), "is not a store") || strings.Contains(stderr.String(), "s3cret") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
		}
	}
}

// nowMetrics writes latency gauges from 30 minutes before now to 10
// minutes after, every 2 s: the canary's latency equals the baseline's
// until regression, then is 30% higher.
func nowMetrics(now, regression time.Time) string {
	var b strings.Builder
	start := now.Add(-30 * time.Minute).Unix()
	state := uint32(3)
	noise := func() float64 {
		state = state*1664525 + 1013904223
		return float64(state>>8)/float64(1<<24) - 0.5
	}
	b.WriteString("# TYPE app_latency_ms gauge\n")
	for _, track := range []string{"baseline", "canary"} {
		for i := range 1200 {
			ts := start + int64(2*i)
			level := 100.0
			if track == "canary" && ts >= regression.Unix() {
				level = 130
			}
			fmt.Fprintf(&b, "app_latency_ms{track=%q} %.3f %d\n", track, level+20*noise(), ts)
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

const restartConfig = `name: regress
signals:
  - name: latency
    query: 'app_latency_ms{track="{{.track}}"}'
    direction: increase
    allowedChange: 10%
    minSamples: 5
`

type serveProc struct {
	cmd  *exec.Cmd
	url  string
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &serveProc{url: "http://" + addr, log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("verdict serve not ready:\n%s", p.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type analysisState struct {
	Owner    string          `json:"owner"`
	Status   string          `json:"status"`
	Verdict  string          `json:"verdict"`
	Error    string          `json:"error"`
	Report   json.RawMessage `json:"report"`
	Progress struct {
		Done, Total int
	} `json:"progress"`
}

func getState(t *testing.T, url string) analysisState {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s analysisState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServeRestart kills `verdict serve` with SIGKILL in the middle of a
// multi-interval analysis, starts it again on the same SQLite file, and
// checks the analysis is resumed and ends recorded with the verdict its
// data gives (fail), never lost and never a pass; then SIGTERM stops the
// second process cleanly.
func TestServeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts Prometheus")
	}
	t.Parallel() // most of its time is waiting for real-time intervals
	serveRestart(t, func(dir string) string { return "sqlite:" + filepath.Join(dir, "verdict.db") })
}

// serveRestart is TestServeRestart on the store db(dir) names (dir is the
// test's temporary directory).
func serveRestart(t *testing.T, db func(dir string) string) {
	now := time.Now().Truncate(time.Second)
	regression := now.Add(60 * time.Second)
	prom := promtest.Start(t, nowMetrics(now, regression))
	dir := t.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfgDir := filepath.Join(dir, "configs")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "regress.yaml"), []byte(restartConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// The same --instance-id across the restart: the second process takes
	// its predecessor's analyses back at once, without waiting for the lease.
	args := []string{"--db", db(dir), "--config-dir", cfgDir, "--prometheus-url", prom.URL, "--instance-id", "restart-test"}

	first := startServe(t, bin, args...)
	// Five 20 s intervals, each judging its own 20 s, placed so that the
	// first four end at or before the regression (they pass) and the last
	// covers it: only a run after the restart can judge it, and it fails.
	body := fmt.Sprintf(`{"configName":"regress","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":%q,"lifetime":"100s","interval":"20s","lookback":"20s","step":"2s"}`,
		regression.Add(-80*time.Second).UTC().Format(time.RFC3339))
	resp, err := http.Post(first.url+"/api/v1/analyses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != 202 {
		t.Fatalf("POST analyses: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// Without --external-url, links start with the address listened on.
	if want := first.url + "/api/v1/analyses/" + created.ID; created.URL != want {
		t.Errorf("url %q, want %q", created.URL, want)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := getState(t, first.url+"/api/v1/analyses/"+created.ID)
		if s.Status == "running" && s.Progress.Done >= 1 {
			break
		}
		if s.Status != "queued" && s.Status != "running" || time.Now().After(deadline) {
			t.Fatalf("analysis not mid-run: %s %s %+v\n%s", s.Status, s.Verdict, s.Progress, first.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done

	second := startServe(t, bin, args...)
	var s analysisState
	deadline = time.Now().Add(120 * time.Second)
	for {
		s = getState(t, second.url+"/api/v1/analyses/"+created.ID)
		if s.Status != "queued" && s.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis did not end after the restart: %+v\n%s", s, second.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	switch {
	case s.Status == "finished" && s.Verdict == "fail" && s.Progress.Done == 5:
	case s.Status == "interrupted" && s.Verdict == "" && s.Error != "":
	default:
		t.Errorf("after the restart the analysis is %+v; want finished with fail, or interrupted\n%s", s, string(s.Report))
	}
	if !strings.Contains(second.log.String(), "resuming analysis") {
		t.Errorf("the second process did not resume the analysis:\n%s", second.log)
	}

	second.terminate(t)
}

// terminate sends the server SIGTERM and checks that it drains and stops
// cleanly within 30 s.
func (p *serveProc) terminate(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil || !strings.Contains(p.log.String(), "stopped") {
			t.Errorf("SIGTERM: %v\n%s", p.err, p.log)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("SIGTERM did not stop the server")
	}
}

// TestServeReadOnlyStore starts `verdict serve` on a SQLite database it may
// read but not write (the file and its directory read-only): the store
// cannot be used, which is the environment's fault, not the command
// line's, so it exits 70 with one sentence naming the file. As root, file
// modes do not stop writes, so the server then runs as nobody.
func TestServeReadOnlyStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir, err := os.MkdirTemp("", "verdict-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.Chmod(dir, 0o755)
		_ = os.RemoveAll(dir)
	})
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "verdict.db")
	st, err := store.OpenSQLite(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for path, mode := range map[string]os.FileMode{db: 0o444, dir: 0o555} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--db", "sqlite:"+db)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if code := cmd.ProcessState.ExitCode(); code != exitInternal || !strings.HasPrefix(msg, "verdict: --db: open the store "+db+": ") || strings.Count(msg, "\n") != 0 {
		t.Errorf("serve on a read-only store: exit %d (%v), output %q; want %d and one sentence naming the file", code, err, msg, exitInternal)
	}
}

// syncBuffer is a bytes.Buffer safe for a server's log writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServeWarnsOfNewDatabase starts `verdict serve` twice on one SQLite
// path: the first start finds no database and creates one, and says so in
// a warning (a server whose file was lost or whose --db is wrong must not
// start empty silently); the second finds it and does not warn.
func TestServeWarnsOfNewDatabase(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "verdict.db")
	for i, wantWarning := range []bool{true, false} {
		ctx, cancel := context.WithCancel(t.Context())
		var log syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--db", db}, strings.NewReader(""), io.Discard, &log)
		}()
		deadline := time.Now().Add(time.Minute) // a hang guard
		for !strings.Contains(log.String(), "verdict serve listening") {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("start %d did not listen:\n%s", i+1, log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("start %d: exit %d\n%s", i+1, code, log.String())
		}
		warned := strings.Contains(log.String(), "level=WARN msg=\"the store had no database at its path, so it starts empty")
		if warned != wantWarning {
			t.Errorf("start %d: warned of a new database: %v, want %v\n%s", i+1, warned, wantWarning, log.String())
		}
	}
}

// TestServeReloadsTokensOnHangup rotates a token without a restart: after
// the tokens file is rewritten and the server gets SIGHUP, the new token is
// accepted and the old one refused; a file with a mistake then keeps the
// tokens in force.
func TestServeReloadsTokensOnHangup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const oldToken, newToken = "old-read-token-0123456789", "new-read-token-9876543210"
	tokens := filepath.Join(dir, "tokens")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(tokens, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("read " + oldToken + "\n")
	p := startServe(t, bin, "--db", "sqlite:"+filepath.Join(dir, "verdict.db"), "--tokens-file", tokens)
	status := func(token string) int {
		t.Helper()
		req, err := http.NewRequest("GET", p.url+"/api/v1/configs", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// waitFor polls until the tokens answer as wanted (the reload happens
	// after the signal is delivered), with a generous hang guard.
	waitFor := func(what string, want map[string]int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := map[string]int{}
			for tok := range want {
				got[tok] = status(tok)
			}
			if maps.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: statuses %v, want %v\n%s", what, got, want, p.log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("at start", map[string]int{oldToken: 200, newToken: 401})

	write("read " + newToken + "\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("after SIGHUP", map[string]int{oldToken: 401, newToken: 200})

	write("reed " + oldToken + "\n") // a mistake: the role
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.log.String(), "the tokens in force are kept") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged for a tokens file with a mistake:\n%s", p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a, b := status(newToken), status(oldToken); a != 200 || b != 401 {
		t.Errorf("after a SIGHUP with a mistaken file: new token %d, old %d; want the tokens in force kept (200, 401)", a, b)
	}
	if !strings.Contains(p.log.String(), `is not a role`) {
		t.Errorf("the log does not name the mistake:\n%s", p.log)
	}
}
