package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// TestServeRestartPostgres is TestServeRestart on a real PostgreSQL: the
// analysis the killed server was running is resumed by the next one from
// the database.
func TestServeRestartPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts Prometheus and PostgreSQL")
	}
	t.Parallel() // most of its time is waiting for real-time intervals
	dsn := pgtest.Start(t).NewDatabase(t)
	serveRestart(t, func(string) string { return dsn })
}

// call sends one request and decodes a JSON answer into out (when not nil);
// it fails the test unless the status is want.
func call(t *testing.T, method, url, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s; want %d", method, url, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, data)
		}
	}
}

// TestServePostgres runs `verdict serve --db postgres://...` against a real
// PostgreSQL and Prometheus and drives it over HTTP: a config is stored, a
// judgement made, a live analysis created and read back; then a second
// server on the same database (a replica) sees all of it and its writes
// are seen by the first, and SIGTERM stops both cleanly.
func TestServePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts Prometheus and PostgreSQL")
	}
	now := time.Now().Truncate(time.Second)
	prom := promtest.Start(t, nowMetrics(now, now.Add(-10*time.Minute))) // the canary regressed 10 minutes ago
	dsn := pgtest.Start(t).NewDatabase(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := []string{"--db", dsn, "--prometheus-url", prom.URL}
	first := startServe(t, bin, args...)

	var cfg struct {
		Name    string `json:"name"`
		Version int64  `json:"version"`
	}
	call(t, "PUT", first.url+"/api/v1/configs/regress", restartConfig, 200, &cfg)
	if cfg.Name != "regress" || cfg.Version != 1 {
		t.Errorf("PUT config: %+v, want regress version 1", cfg)
	}

	// A synchronous judgement of the stored config: the canary is 30% slower.
	var base, canary []string
	for i := range 30 {
		base = append(base, fmt.Sprint(100+i%7))
		canary = append(canary, fmt.Sprint(130+i%7))
	}
	var judged struct {
		Schema  string `json:"schema"`
		Verdict string `json:"verdict"`
	}
	call(t, "POST", first.url+"/api/v1/judge", fmt.Sprintf(`{"configName":"regress","baseline":{"latency":[%s]},"canary":{"latency":[%s]}}`,
		strings.Join(base, ","), strings.Join(canary, ",")), 200, &judged)
	if judged.Schema != "verdict/report/v1" || judged.Verdict != "fail" {
		t.Errorf("judge: %+v, want a verdict/report/v1 fail", judged)
	}

	// A live analysis of the last 5 minutes, after the regression: fail.
	var created struct {
		ID string `json:"id"`
	}
	call(t, "POST", first.url+"/api/v1/analyses", `{"configName":"regress","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"lookback":"5m","step":"2s"}`, 202, &created)
	var s analysisState
	deadline := time.Now().Add(60 * time.Second)
	for {
		s = getState(t, first.url+"/api/v1/analyses/"+created.ID)
		if s.Status != "queued" && s.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the analysis did not end: %+v\n%s", s, first.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s.Status != "finished" || s.Verdict != "fail" || !strings.Contains(string(s.Report), `"verdict/report/v1"`) {
		t.Fatalf("analysis %+v, report %.200s; want finished with fail\n%s", s, s.Report, first.log)
	}

	// A replica on the same database reads what the first server wrote ...
	second := startServe(t, bin, args...)
	if again := getState(t, second.url+"/api/v1/analyses/"+created.ID); again.Status != "finished" || again.Verdict != "fail" || string(again.Report) != string(s.Report) {
		t.Errorf("the replica reads %+v", again)
	}
	var list struct {
		Analyses []struct {
			ID      string `json:"id"`
			Verdict string `json:"verdict"`
		} `json:"analyses"`
	}
	call(t, "GET", second.url+"/api/v1/analyses?config=regress&verdict=fail", "", 200, &list)
	if len(list.Analyses) != 1 || list.Analyses[0].ID != created.ID {
		t.Errorf("the replica lists %+v, want the analysis %s", list.Analyses, created.ID)
	}
	// ... and the first reads what the replica writes.
	call(t, "PUT", second.url+"/api/v1/configs/regress", restartConfig+"# edited on the replica\n", 200, &cfg)
	if cfg.Version != 2 {
		t.Errorf("PUT through the replica: version %d, want 2", cfg.Version)
	}
	var configs struct {
		Configs []struct {
			Name    string `json:"name"`
			Version int64  `json:"version"`
		} `json:"configs"`
	}
	call(t, "GET", first.url+"/api/v1/configs", "", 200, &configs)
	if len(configs.Configs) != 1 || configs.Configs[0].Version != 2 {
		t.Errorf("the first server lists configs %+v, want regress at version 2", configs.Configs)
	}

	first.terminate(t)
	second.terminate(t)
}

// TestServeStoreUnavailable starts `verdict serve` on a real PostgreSQL
// that cannot serve it (no such database, no such role, the server
// stopped): exit 70 with the one-sentence reason, never 64, and no
// password in the message; a malformed DSN of the same server is 64.
func TestServeStoreUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	srv := pgtest.Start(t)
	good := srv.DSN("postgres")
	stopped := pgtest.Start(t)
	down := stopped.DSN("postgres")
	stopped.Stop()
	for _, tc := range []struct {
		name, dsn, want string
		code            int
	}{
		{"no such database", strings.Replace(good, "/postgres?", "/nope?", 1), `database "nope" does not exist`, exitInternal},
		{"no such role", strings.Replace(good, "://postgres@", "://nobody:s3cret@", 1), `role "nobody" does not exist`, exitInternal},
		{"server stopped", strings.Replace(down, "://postgres@", "://postgres:s3cret@", 1), "store: open postgres:", exitInternal},
		{"malformed", strings.Replace(good, "sslmode=disable", "sslmode=sometimes", 1), "store: open postgres:", exitUsage},
	} {
		var stdout, stderr strings.Builder
		code := run(t.Context(), []string{"serve", "--db", tc.dsn}, strings.NewReader(""), &stdout, &stderr)
		msg := stderr.String()
		if code != tc.code || !strings.Contains(msg, tc.want) || strings.Contains(msg, "s3cret") || !strings.HasPrefix(msg, "verdict: --db: store: open postgres:") {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, msg, tc.code, tc.want)
		}
		if lines := strings.Count(strings.TrimSpace(msg), "\n"); tc.code == exitInternal && lines != 0 {
			t.Errorf("%s: %d lines of error; want one sentence", tc.name, lines+1)
		}
	}
}
