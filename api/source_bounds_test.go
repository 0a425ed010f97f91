package api

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// serverSources builds a server's sources from a sources file's text, as
// verdict serve does.
func serverSources(t testing.TB, text string) analysis.SourceSet {
	t.Helper()
	file, err := analysis.ParseServerSources("sources.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	set, err := file.Open(analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestSourceConnectionsBounded makes 1,000 Argo judgements (four at a
// time, four queries each) and then 200 scheduled runs against a real
// Prometheus of its own, and reads Prometheus' own counts of the TCP
// connections it accepted and closed (net_conntrack_listener_conn_*):
// after each phase at most maxConns of the server's connections are open
// (the source's pool), and the connections opened do not grow with the
// judgements, because every analysis shares the source's one client and
// reuses its connections. (Go's transport replaces a connection now and
// then when, starved of CPU, it cannot confirm within 50 ms that a request
// was written; so the bound on connections opened allows one in twenty
// judgements. A client per analysis opens four per judgement.)
func TestSourceConnectionsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 judgements against a real Prometheus")
	}
	prom := promtest.Start(t, openMetrics(e2eStart, 241)) // its own: only this test's connections count
	const maxConns = 4
	now := e2eStart.Add(50 * time.Minute)
	ts := newTestServer(t, Options{Sources: serverSources(t, fmt.Sprintf("prometheus: {url: %q, maxConns: %d}\n", prom.URL, maxConns)),
		Now: func() time.Time { return now }})
	if code, body := ts.call(t, "PUT", "/api/v1/configs/regress", "", liveRegress, nil); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	reads := 0 // each read is a connection of its own
	read := func() promtest.Connections {
		t.Helper()
		c, err := promtest.ReadConnections(t.Context(), prom.URL)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		return c
	}
	start := read()
	// check reads the counts once closes have reached Prometheus (they
	// travel asynchronously; the wait is a hang guard) and checks them.
	check := func(phase string, judgements int) promtest.Connections {
		t.Helper()
		var c promtest.Connections
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c = read(); c.Open()-start.Open() <= maxConns || time.Now().After(deadline) {
				break
			}
		}
		if open := c.Open() - start.Open(); open > maxConns {
			t.Errorf("after %s, %d connections to Prometheus are open, want at most maxConns %d", phase, open, maxConns)
		}
		opened := c.Accepted - start.Accepted - (reads - 1)
		if opened > maxConns+judgements/20 {
			t.Errorf("%s opened %d connections to Prometheus, want at most maxConns %d (+ %d)", phase, opened, maxConns, judgements/20)
		}
		t.Logf("after %s: %d connections opened, %d open", phase, opened, c.Open()-start.Open())
		return c
	}

	q := url.Values{"baseline": {"track=baseline"}, "canary": {"track=canary"}, "lookback": {"30m"}, "step": {"15s"}}
	path := "/api/v1/argo/regress?" + q.Encode()
	var (
		next    atomic.Int32
		wg      sync.WaitGroup
		failMu  sync.Mutex
		failure string
	)
	for range 4 {
		wg.Go(func() {
			for next.Add(1) <= 1000 {
				code, body := ts.call(t, "GET", path, "", nil, nil)
				if code != 200 || !strings.Contains(body, `"verdict":"fail"`) {
					failMu.Lock()
					failure = fmt.Sprintf("%d %s", code, body)
					failMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if failure != "" {
		t.Fatalf("an Argo call answered %s, want 200 with verdict fail", failure)
	}
	check("1,000 Argo judgements", 1000)

	job := schedule.Job{Config: "regress", Schedule: analysis.Schedule{Cron: "@every 1s", Lookback: analysis.Duration(30 * time.Minute), Step: analysis.Duration(15 * time.Second),
		BaselineScope: []analysis.ScopeVar{{Name: "track", Value: "baseline"}}, CanaryScope: []analysis.ScopeVar{{Name: "track", Value: "canary"}}}}
	for range 200 {
		if err := ts.Runner().RunSchedule(t.Context(), job); err != nil {
			t.Fatal(err)
		}
	}
	check("1,000 Argo judgements and 200 scheduled runs", 1200)
}

// TestHugeSourceAnswer: a source that answers a 512 MiB matrix is cut at
// the default cap (16 MiB): the Argo call answers within the synchronous
// bound with no verdict, the signal is an error whose reason names the
// cap and the query, and the server allocates a small multiple of the cap,
// not the answer. A source that streams the same answer slowly makes the
// Argo call answer 504 at the synchronous bound.
func TestHugeSourceAnswer(t *testing.T) {
	const answer = 512 << 20
	huge := httptest.NewServer(promtest.HugeMatrix(answer, 0))
	defer huge.Close()
	slow := httptest.NewServer(promtest.HugeMatrix(answer, 20*time.Millisecond))
	defer slow.Close()
	// The capped answer is read and judged within a bound generous enough
	// for a loaded machine; the slow one must hit a short bound.
	const hugeTimeout, syncTimeout = 60 * time.Second, 2 * time.Second
	server := func(timeout time.Duration) *testServer {
		ts := newTestServer(t, Options{
			Sources:     serverSources(t, fmt.Sprintf("prometheus: {url: %q}\nslow: {type: prometheus, url: %q}\n", huge.URL, slow.URL)),
			SyncTimeout: timeout,
		})
		for name, source := range map[string]string{"huge": "prometheus", "slow": "slow"} {
			cfg := fmt.Sprintf("signals:\n  - name: latency\n    source: %s\n    query: 'huge{track=\"{{.track}}\"}'\n", source)
			if code, body := ts.call(t, "PUT", "/api/v1/configs/"+name, "", cfg, nil); code != 200 {
				t.Fatalf("PUT %s: %d %s", name, code, body)
			}
		}
		return ts
	}
	ts := server(hugeTimeout)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var ans verdictAnswer
	code, body := ts.call(t, "GET", "/api/v1/argo/huge?baseline=track%3Dbaseline&canary=track%3Dcanary", "", nil, &ans)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	if elapsed > hugeTimeout+10*time.Second {
		t.Errorf("Argo on the huge answer took %s, beyond the synchronous bound %s", elapsed, hugeTimeout)
	}
	// Each side reads up to the cap into a buffer that doubles as it
	// grows (one doubling past the cap for the byte that shows the answer
	// is longer): up to about 4 × the cap each, 8 × for both. Reading the
	// answer whole would allocate gibibytes.
	// The race detector makes sync.Pool drop buffers at random, so that
	// more are allocated anew: twice the figure then.
	times := uint64(16)
	if raceDetector {
		times = 32
	}
	if limit := times * sourcehttp.DefaultMaxResponseBytes; allocated > limit {
		t.Errorf("the judgement allocated %d MiB, more than %d × the cap (%d MiB)", allocated>>20, times, limit>>20)
	}
	t.Logf("huge answer: answered in %s, %d MiB allocated, heap in use %d MiB before and %d MiB after", elapsed.Round(time.Millisecond), allocated>>20, before.HeapInuse>>20, after.HeapInuse>>20)
	if code != 200 || ans.Verdict != "none" {
		t.Fatalf("Argo on the huge answer: %d %s, want 200 with verdict none", code, body)
	}
	var stored struct {
		Report struct {
			Signals []struct {
				Classification string `json:"classification"`
				Reason         string `json:"reason"`
			} `json:"signals"`
		} `json:"report"`
	}
	ts.call(t, "GET", "/api/v1/analyses/"+ans.ID, "", nil, &stored)
	if s := stored.Report.Signals; len(s) != 1 || s[0].Classification != "error" ||
		!strings.Contains(s[0].Reason, "larger than the source's limit of "+sourcehttp.FormatBytes(sourcehttp.DefaultMaxResponseBytes)+" (maxResponseBytes)") || !strings.Contains(s[0].Reason, `(query: huge{track="`) {
		t.Errorf("stored signals %+v, want latency an error naming the cap and the query", s)
	}

	ts = server(syncTimeout)
	start = time.Now()
	var e errorBody
	code, body = ts.call(t, "GET", "/api/v1/argo/slow?baseline=track%3Dbaseline&canary=track%3Dcanary", "", nil, &e)
	elapsed = time.Since(start)
	if code != 504 || !strings.Contains(e.Error, "took longer than 2s") {
		t.Errorf("Argo on the slow huge answer: %d %s, want 504", code, body)
	}
	if elapsed > syncTimeout+10*time.Second {
		t.Errorf("Argo on the slow huge answer took %s, beyond the synchronous bound %s", elapsed, syncTimeout)
	}
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?config=slow", "", nil, &list)
	if len(list.Analyses) != 1 || list.Analyses[0].Status != "interrupted" {
		js, _ := json.Marshal(list.Analyses)
		t.Errorf("the slow judgement is stored as %s, want interrupted", js)
	}
}
