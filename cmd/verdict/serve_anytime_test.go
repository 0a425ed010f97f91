package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
)

// anytimeConfig judges the latency of anytimeMetrics anytime, with an
// allowance (2%) that the first judgements cannot show the canary within.
const anytimeConfig = `name: anytime
sequential: anytime
horizon: 5m
signals:
  - name: latency
    query: 'app_latency_ms{track="{{.track}}"}'
    direction: increase
    allowedChange: 2%
    minSamples: 5
`

// anytimeMetrics writes latency gauges every 2 s from 30 minutes before t0
// to 10 minutes after: the baseline around 100 ms, the canary around 115
// (a fixed LCG's noise, ±20). The analysis of TestServeAnytimeRestart
// fails at its fifth judgement (its 40 s of data), as the same windows
// judged in-process do.
func anytimeMetrics(t0 time.Time) string {
	var b strings.Builder
	state := uint32(11)
	noise := func() float64 {
		state = state*1664525 + 1013904223
		return float64(state>>8)/float64(1<<24) - 0.5
	}
	start := t0.Add(-30 * time.Minute).Unix()
	b.WriteString("# TYPE app_latency_ms gauge\n")
	for _, track := range []string{"baseline", "canary"} {
		level := map[string]float64{"baseline": 100, "canary": 115}[track]
		for i := range 1200 {
			fmt.Fprintf(&b, "app_latency_ms{track=%q} %.3f %d\n", track, level+40*noise(), start+int64(2*i))
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// anytimeRun is what the test compares of a finished anytime analysis.
type anytimeRun struct {
	Status    string `json:"status"`
	Verdict   string `json:"verdict"`
	Intervals []struct {
		Index      int                `json:"index"`
		End        time.Time          `json:"end"`
		Verdict    string             `json:"verdict"`
		Score      *float64           `json:"score"`
		Reason     string             `json:"reason"`
		References map[string]float64 `json:"references"`
		Horizon    *struct {
			Looks map[string][]struct {
				Elapsed     float64 `json:"elapsed"`
				Information float64 `json:"information"`
			} `json:"looks"`
		} `json:"horizon"`
	} `json:"intervals"`
	Report struct {
		Reason  string `json:"reason"`
		Signals []struct {
			Name string `json:"name"`
			Test struct {
				PValue    float64 `json:"pValue"`
				Estimate  float64 `json:"estimate"`
				Reference float64 `json:"reference"`
			} `json:"test"`
		} `json:"signals"`
	} `json:"report"`
}

// TestServeAnytimeRestart kills `verdict serve` with SIGKILL in the middle
// of an anytime analysis (nine 8 s judgements over growing windows, via
// POST /api/v1/analyses) and of an anytime Argo canary (looks at GET
// /api/v1/argo), starts it again on the same SQLite file, and checks:
//   - the analysis resumes from the judgements and references it stored,
//     and ends with the decision, the judgements and the per-signal
//     references of a witness server that judged the same analysis on the
//     same data without interruption; the decision (a fail: the canary is
//     15% slower) comes after the restart;
//   - the Argo canary's evidence survives: the next look continues it (its
//     third look, since the first look's start, with its reference).
func TestServeAnytimeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts Prometheus")
	}
	t.Parallel() // most of its time is waiting for real-time judgements
	dir := t.TempDir()
	bin := filepath.Join(dir, "verdict")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The analysis starts 20 s from now (the servers start meanwhile) and
	// judges every 8 s for 72 s, each time all its data so far.
	t0 := time.Now().Truncate(time.Second)
	start := t0.Add(20 * time.Second)
	prom := promtest.Start(t, anytimeMetrics(t0))
	cfgDir := filepath.Join(dir, "configs")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "anytime.yaml"), []byte(anytimeConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := func(name string) []string {
		return []string{"--db", "sqlite:" + filepath.Join(dir, name+".db"), "--config-dir", cfgDir, "--prometheus-url", prom.URL, "--instance-id", name}
	}
	first := startServe(t, bin, serve("killed")...)
	witness := startServe(t, bin, serve("witness")...)
	body := fmt.Sprintf(`{"configName":"anytime","baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"},"start":%q,"lifetime":"72s","interval":"8s","step":"2s"}`,
		start.UTC().Format(time.RFC3339))
	post := func(p *serveProc) string {
		var created struct {
			ID string `json:"id"`
		}
		call(t, "POST", p.url+"/api/v1/analyses", body, 202, &created)
		return created.ID
	}
	id, witnessID := post(first), post(witness)

	// Two looks of an Argo canary before the kill.
	type look struct {
		ID       string `json:"id"`
		Verdict  string `json:"verdict"`
		Decision string `json:"decision"`
		Evidence struct {
			Since time.Time `json:"since"`
			Look  int       `json:"look"`
		} `json:"evidence"`
	}
	argo := func(p *serveProc) look {
		t.Helper()
		q := url.Values{"baseline": {"track=baseline"}, "canary": {"track=canary"}, "lookback": {"20s"}, "step": {"2s"}}
		var l look
		call(t, "GET", p.url+"/api/v1/argo/anytime?"+q.Encode(), "", 200, &l)
		return l
	}
	reference := func(p *serveProc, analysisID string) float64 {
		t.Helper()
		var run anytimeRun
		call(t, "GET", p.url+"/api/v1/analyses/"+analysisID, "", 200, &run)
		if len(run.Report.Signals) != 1 {
			t.Fatalf("analysis %s: report %+v", analysisID, run.Report)
		}
		return run.Report.Signals[0].Test.Reference
	}
	look1 := argo(first)
	time.Sleep(2 * time.Second) // the next 2 s step
	look2 := argo(first)
	ref1 := reference(first, look1.ID)
	if look1.Evidence.Look != 1 || look2.Evidence.Look != 2 || !look2.Evidence.Since.Equal(look1.Evidence.Since) || ref1 <= 0 || reference(first, look2.ID) != ref1 {
		t.Fatalf("Argo looks before the kill: %+v, %+v (reference %v); want looks 1 and 2 of one evidence", look1, look2, ref1)
	}

	// Kill the first server once the analysis has recorded two judgements.
	var doneAtKill int
	deadline := time.Now().Add(90 * time.Second) // a hang guard
	for {
		s := getState(t, first.url+"/api/v1/analyses/"+id)
		if s.Status == "running" && s.Progress.Done >= 2 {
			doneAtKill = s.Progress.Done
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

	second := startServe(t, bin, serve("killed")...)
	look3 := argo(second)
	if look3.Evidence.Look != 3 || !look3.Evidence.Since.Equal(look1.Evidence.Since) || reference(second, look3.ID) != ref1 {
		t.Errorf("the first Argo look after the restart: %+v (reference %v); want look 3 of the evidence since %v with reference %v",
			look3, reference(second, look3.ID), look1.Evidence.Since, ref1)
	}

	wait := func(p *serveProc, analysisID string) anytimeRun {
		t.Helper()
		deadline := time.Now().Add(150 * time.Second) // a hang guard
		for {
			s := getState(t, p.url+"/api/v1/analyses/"+analysisID)
			if s.Status != "queued" && s.Status != "running" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("analysis %s did not end: %+v\n%s", analysisID, s, p.log)
			}
			time.Sleep(200 * time.Millisecond)
		}
		var run anytimeRun
		call(t, "GET", p.url+"/api/v1/analyses/"+analysisID, "", 200, &run)
		return run
	}
	resumed, whole := wait(second, id), wait(witness, witnessID)
	if !strings.Contains(second.log.String(), "resuming analysis") {
		t.Errorf("the restarted server did not resume the analysis:\n%s", second.log)
	}
	if whole.Status != "finished" || whole.Verdict != "fail" || len(whole.Intervals) <= doneAtKill {
		t.Fatalf("the witness: %s %s after %d judgements; want a fail after judgement %d, where the other was killed", whole.Status, whole.Verdict, len(whole.Intervals), doneAtKill)
	}
	t.Logf("killed after %d of 9 judgements; both decided %s after %d; reference %v", doneAtKill, whole.Verdict, len(whole.Intervals), whole.Report.Signals[0].Test.Reference)
	if resumed.Status != whole.Status || resumed.Verdict != whole.Verdict || resumed.Report.Reason != whole.Report.Reason || len(resumed.Intervals) != len(whole.Intervals) {
		t.Fatalf("resumed: %s %s after %d judgements (%s); the witness: %s %s after %d (%s)", resumed.Status, resumed.Verdict, len(resumed.Intervals), resumed.Report.Reason,
			whole.Status, whole.Verdict, len(whole.Intervals), whole.Report.Reason)
	}
	for i, ir := range resumed.Intervals {
		w := whole.Intervals[i]
		if ir.Index != w.Index || !ir.End.Equal(w.End) || ir.Verdict != w.Verdict || ir.Reason != w.Reason || len(ir.References) != 1 || ir.References["latency"] != w.References["latency"] {
			t.Errorf("judgement %d: resumed %+v; the witness %+v", i+1, ir, w)
		}
		// The run knows its lifetime: the looks its boundary is computed
		// from survive the kill, one per judgement.
		if ir.Horizon == nil || w.Horizon == nil || len(ir.Horizon.Looks["latency"]) != i+1 || !slices.Equal(ir.Horizon.Looks["latency"], w.Horizon.Looks["latency"]) {
			t.Errorf("judgement %d: resumed looks under the lifetime %+v; the witness's %+v", i+1, ir.Horizon, w.Horizon)
		}
	}
	if r, w := resumed.Report.Signals[0].Test, whole.Report.Signals[0].Test; r != w || r.Reference <= 0 {
		t.Errorf("the final test: resumed %+v; the witness %+v", r, w)
	}
	second.terminate(t)
	witness.terminate(t)
}
