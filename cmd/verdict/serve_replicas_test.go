package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// TestServeReplicas runs two `verdict serve` processes, A and B, on one
// PostgreSQL database with 2 s leases and checks the ownership rules
// through real processes:
//   - an analysis A runs, cancelled through B, is stopped by A at its next
//     lease renewal and stays cancelled;
//   - B never touches an analysis A is running;
//   - when A is killed (SIGKILL: no hand-over), B takes the analysis over
//     within the lease and the reaper's period, and it ends recorded (with
//     every interval judged and the pass its data gives, or interrupted;
//     never lost);
//   - A restarted with the same --instance-id resumes its own analysis at
//     once, even though its lease (20 s there) has not expired, and B does
//     not take it meanwhile;
//   - SIGTERM hands the leases over: B takes the analysis at its next
//     reaper round, and counts its takeovers in /metrics.
func TestServeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts Prometheus and PostgreSQL")
	}
	t.Parallel() // most of its time is waiting for leases and intervals
	dsn := pgtest.Start(t).NewDatabase(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	now := time.Now().Truncate(time.Second)
	// A healthy canary throughout (a fail would end an analysis at its first
	// interval): every interval passes, so a finished analysis shows all
	// four intervals judged, none skipped by the takeover.
	prom := promtest.Start(t, nowMetrics(now, now.Add(time.Hour)))
	common := []string{"--db", dsn, "--prometheus-url", prom.URL}
	a := startServe(t, bin, append(common, "--instance-id", "A", "--lease", "2s")...)
	b := startServe(t, bin, append(common, "--instance-id", "B", "--lease", "2s")...)
	call(t, "PUT", a.url+"/api/v1/configs/regress", restartConfig, 200, nil)

	// Four 10 s intervals from 5 s ago: the analysis lives about 35 s.
	post := func(p *serveProc) string {
		t.Helper()
		body := fmt.Sprintf(`{"configName":"regress","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":%q,"lifetime":"40s","interval":"10s","lookback":"20s","step":"2s"}`,
			time.Now().Add(-5*time.Second).UTC().Format(time.RFC3339))
		var created struct {
			ID string `json:"id"`
		}
		call(t, "POST", p.url+"/api/v1/analyses", body, 202, &created)
		return created.ID
	}
	midRun := func(p *serveProc, id string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			s := getState(t, p.url+"/api/v1/analyses/"+id)
			if s.Status == "running" && s.Progress.Done >= 1 {
				return
			}
			if s.Status != "queued" && s.Status != "running" || time.Now().After(deadline) {
				t.Fatalf("analysis %s not mid-run: %s %s %+v\n%s", id, s.Status, s.Verdict, s.Progress, p.log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ownedBy := func(p *serveProc, id, owner string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			s := getState(t, p.url+"/api/v1/analyses/"+id)
			if s.Owner == owner && (s.Status == "queued" || s.Status == "running") {
				return time.Since(start)
			}
			if time.Since(start) > limit {
				t.Fatalf("analysis %s is %+v, not %s's within %s\n%s", id, s, owner, limit, p.log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	kill := func(p *serveProc) {
		t.Helper()
		if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
	}

	// 1. A runs x0 and x1. x0 is cancelled through B: A stops it at its
	// next lease renewal. For three leases B leaves x1 alone.
	x0, x1 := post(a), post(a)
	midRun(a, x0)
	midRun(a, x1)
	var cancelled analysisState
	call(t, "POST", b.url+"/api/v1/analyses/"+x0+"/cancel", "", 200, &cancelled)
	if cancelled.Status != "cancelled" || cancelled.Owner != "A" {
		t.Errorf("cancel of A's x0 through B: %+v", cancelled)
	}
	if !logSays(a, `msg="analysis stopped: it ended or moved elsewhere" id=`+x0) {
		t.Errorf("A did not stop x0, cancelled through B:\n%s", a.log)
	}
	time.Sleep(6 * time.Second)
	if s := getState(t, a.url+"/api/v1/analyses/"+x0); s.Status != "cancelled" || s.Error != "cancelled by request" {
		t.Errorf("x0 after A stopped it: %s %q; want cancelled by request", s.Status, s.Error)
	}
	if s := getState(t, b.url+"/api/v1/analyses/"+x1); s.Owner != "A" || s.Status != "running" {
		t.Fatalf("with A alive, B reads x1 as %+v; want A's, running", s)
	}
	if strings.Contains(b.log.String(), x1) {
		t.Fatalf("B touched A's analysis:\n%s", b.log)
	}

	// 2. A dies: B takes x1 over once the lease ends.
	kill(a)
	took := ownedBy(b, x1, "B", 10*time.Second)
	t.Logf("B took x1 over %s after A's SIGKILL (lease 2s, reaper every 1s)", took.Round(10*time.Millisecond))
	if !logSays(b, `msg="taking over analysis" id=`+x1+` from=A`) {
		t.Errorf("B's log does not say it took x1 from A:\n%s", b.log)
	}

	// 3. A comes back as A with a 20 s lease, runs x2 and is killed; its
	// restart resumes x2 at once, B keeping off (the lease runs).
	a2 := startServe(t, bin, append(common, "--instance-id", "A", "--lease", "20s")...)
	if strings.Contains(a2.log.String(), x1) {
		t.Errorf("A's restart took x1 back from B:\n%s", a2.log)
	}
	x2 := post(a2)
	midRun(a2, x2)
	kill(a2)
	restart := time.Now()
	a3 := startServe(t, bin, append(common, "--instance-id", "A", "--lease", "20s")...)
	t.Logf("A's restart resumed x2 %s after the SIGKILL (its lease had ~20s left)", time.Since(restart).Round(10*time.Millisecond))
	if !logSays(a3, `msg="resuming analysis" id=`+x2) {
		t.Errorf("A's restart did not resume x2 at start:\n%s", a3.log)
	}
	if s := getState(t, a3.url+"/api/v1/analyses/"+x2); s.Owner != "A" || s.Status != "running" {
		t.Errorf("after A's restart x2 is %+v; want A's, running", s)
	}

	// 4. SIGTERM hands x2 over: B takes it at its next reaper round.
	if err := syscall.Kill(a3.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	<-a3.done
	if a3.err != nil || !strings.Contains(a3.log.String(), "stopped") {
		t.Errorf("SIGTERM: %v\n%s", a3.err, a3.log)
	}
	if s := getState(t, b.url+"/api/v1/analyses/"+x2); s.Status == "running" || s.Status == "queued" {
		took = ownedBy(b, x2, "B", 5*time.Second)
		t.Logf("B took x2 over %s after A's SIGTERM (%s after it exited)", time.Since(stopped).Round(10*time.Millisecond), took.Round(10*time.Millisecond))
	}

	// 5. Both end recorded, all four intervals judged on B.
	for _, id := range []string{x1, x2} {
		deadline := time.Now().Add(90 * time.Second)
		var s analysisState
		for {
			s = getState(t, b.url+"/api/v1/analyses/"+id)
			if s.Status != "queued" && s.Status != "running" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("analysis %s did not end: %+v\n%s", id, s, b.log)
			}
			time.Sleep(200 * time.Millisecond)
		}
		switch {
		case s.Status == "finished" && s.Verdict == "pass" && s.Progress.Done == 4 && s.Owner == "B":
		case s.Status == "interrupted" && s.Verdict == "" && s.Error != "":
		default:
			t.Errorf("analysis %s ended %s %s %q %+v owner %s; want finished with pass after 4 intervals on B, or interrupted", id, s.Status, s.Verdict, s.Error, s.Progress, s.Owner)
		}
	}
	metrics, err := httpGet(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(metrics, `verdict_analyses_taken_over_total{outcome="resumed"} 2`) {
		t.Errorf("B's /metrics does not count 2 takeovers:\n%s", grepLines(metrics, "taken_over"))
	}
	if err := syscall.Kill(b.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-b.done
	if b.err != nil {
		t.Errorf("B's SIGTERM: %v", b.err)
	}
}

// httpGet returns the body of a GET.
func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// grepLines keeps the lines of text that contain part.
func grepLines(text, part string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// logSays waits up to 2 s for p's log (copied from its pipes
// asynchronously) to contain part.
func logSays(p *serveProc, part string) bool {
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(p.log.String(), part) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
