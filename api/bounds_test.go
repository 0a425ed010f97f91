package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// heapAfterGC is the live heap, in bytes, once the garbage (and the
// sync.Pools, emptied over two collections) has been collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

const mib = 1 << 20

// TestFailedInlineConfigsAreNotKept sends 100 distinct inline configs of
// 6.7 MB, each of which parses (its 1,000 signals have long queries), in
// requests that then fail (no canary series: 400). None of them may stay
// in memory: the cache only keeps configs that judged.
func TestFailedInlineConfigsAreNotKept(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 670 MB of configs")
	}
	ts := newTestServer(t, Options{})
	var rest strings.Builder // the config after its name, then the request's series
	rest.WriteString(`","signals":[`)
	query := strings.Repeat("x", 6700)
	for i := range 1000 {
		if i > 0 {
			rest.WriteString(",")
		}
		fmt.Fprintf(&rest, `{"name":"s%d","query":"%s"}`, i, query)
	}
	rest.WriteString(`]},"baseline":{"s0":[1,2,3]}}`)
	tail := []byte(rest.String())

	// Each request's config parses to some 100 MB; a cache that kept the
	// failed ones would pass 128 MiB within two requests.
	requests := 100
	if raceDetector {
		requests = 15
	}
	base := heapAfterGC()
	for i := range requests {
		body := io.MultiReader(strings.NewReader(fmt.Sprintf(`{"config":{"name":"big-%d`, i)), bytes.NewReader(tail))
		req, err := http.NewRequest("POST", ts.URL+"/api/v1/judge", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(answer), "canary: missing") {
			t.Fatalf("request %d: %d %s, want 400 canary: missing", i, resp.StatusCode, answer)
		}
	}
	grown := int64(heapAfterGC()) - int64(base)
	t.Logf("live heap grew by %.1f MiB over %d failed requests of 6.7 MB", float64(grown)/mib, requests)
	if grown > 128*mib {
		t.Errorf("the live heap grew by %d MiB over %d failed requests with distinct configs; want at most 128 MiB", grown/mib, requests)
	}
	if n, held := ts.inline.held(); n != 0 || held != 0 {
		t.Errorf("the inline config cache holds %d configs (%d bytes) of requests that failed; want none", n, held)
	}
}

// TestInlineConfigCacheBounded fills the cache with configs that judged:
// it keeps the most recent ones within its budget of text bytes, never one
// larger than the budget, and a config judged again is found there.
func TestInlineConfigCacheBounded(t *testing.T) {
	const budget = 64 << 10
	ts := newTestServer(t, Options{Limits: Limits{InlineConfigCache: budget}})
	judge := func(name string, size int) {
		t.Helper()
		cfg := fmt.Sprintf(`{"name":%q,"description":%q,"signals":[{"name":"latency","direction":"increase","allowedChange":"10%%"}]}`, name, strings.Repeat("d", size))
		body := `{"config":` + cfg + `,"baseline":{"latency":[10,11,12,11,10]},"canary":{"latency":[10,11,12,11,10]}}`
		if code, answer := ts.call(t, "POST", "/api/v1/judge", "", body, nil); code != 200 {
			t.Fatalf("%s: %d %s", name, code, answer)
		}
	}
	for i := range 20 {
		judge(fmt.Sprintf("c%d", i), 10<<10)
	}
	n, held := ts.inline.held()
	if held > budget || n == 0 {
		t.Errorf("the cache holds %d configs of %d bytes; want some, within %d bytes", n, held, budget)
	}
	judge("c19", 10<<10) // the most recent: a hit, nothing added
	if n2, held2 := ts.inline.held(); n2 != n || held2 != held {
		t.Errorf("judging with a cached config changed the cache from %d configs (%d bytes) to %d (%d)", n, held, n2, held2)
	}
	judge("huge", 2*budget)
	if _, held := ts.inline.held(); held > budget {
		t.Errorf("the cache holds %d bytes after a config larger than its budget; want at most %d", held, budget)
	}
}

// paddedJudgeBody is a judge request of exactly size bytes, its object
// padded with spaces, written as it is read so that 200 of them take no
// memory in the test. Once pauseAt bytes are read it calls paused and
// waits for release (or ctx).
type paddedJudgeBody struct {
	ctx     context.Context
	head    string
	size    int64
	pauseAt int64
	paused  func()
	release <-chan struct{}
	off     int64
}

const judgeBodyHead = `{"configName":"offline","baseline":{"latency":[100,101,99,100,102],"errors":[0.01,0.01,0.02,0.01,0.01]},` +
	`"canary":{"latency":[100,102,99,101,100],"errors":[0.01,0.02,0.01,0.01,0.01]}`

var spaces = bytes.Repeat([]byte{' '}, 64<<10)

func (b *paddedJudgeBody) Read(p []byte) (int, error) {
	if b.off >= b.pauseAt && b.paused != nil {
		b.paused()
		b.paused = nil
		select {
		case <-b.release:
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
	}
	if b.off >= b.size {
		return 0, io.EOF
	}
	end := b.size
	if b.paused != nil {
		end = b.pauseAt // stop there until released
	}
	p = p[:min(int64(len(p)), end-b.off)]
	n := 0
	for n < len(p) {
		switch pos := b.off + int64(n); {
		case pos < int64(len(b.head)):
			n += copy(p[n:], b.head[pos:])
		case pos == b.size-1:
			p[n] = '}'
			n++
		default:
			n += copy(p[n:min(len(p), n+int(b.size-1-pos))], spaces)
		}
	}
	b.off += int64(n)
	return n, nil
}

// TestBodiesInFlightBounded posts 200 judge requests of 8 MiB at once. The
// server holds at most Limits.MaxBodiesInFlight (64 MiB) of bodies: those
// beyond are refused at once with 503 and Retry-After. Every request's
// body stops after its first 256 KiB until all 200 have been either
// answered or read that far, so that they are all in flight together
// whatever the machine's speed. The heap is sampled throughout and must
// stay within a generous bound (the test stops the clients when it does
// not), and be back where it was once the requests are done.
func TestBodiesInFlightBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200 bodies of 8 MiB")
	}
	ts := newTestServer(t, Options{})
	if code, body := ts.call(t, "PUT", "/api/v1/configs/offline", "", offlineConfig, nil); code != 200 {
		t.Fatalf("PUT config: %d %s", code, body)
	}
	const clients = 200
	limits := ts.opt.Limits
	bound := 4 * limits.MaxBodiesInFlight

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var accounted atomic.Int32
	release := make(chan struct{})
	account := func() {
		if accounted.Add(1) == clients {
			close(release)
		}
	}

	base := heapAfterGC()
	var peak atomic.Int64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			grown := int64(m.HeapAlloc) - int64(base)
			if grown > peak.Load() {
				peak.Store(grown)
			}
			if grown > bound {
				cancel() // stop the clients before the heap takes the machine
				return
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	hangGuard := time.AfterFunc(3*time.Minute, cancel)
	defer hangGuard.Stop()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}}
	var (
		mu         sync.Mutex
		statuses   = map[int]int{}
		noRetry    int
		clientErrs []error
	)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var once sync.Once
			done := func() { once.Do(account) }
			body := &paddedJudgeBody{ctx: ctx, head: judgeBodyHead, size: limits.MaxBody, pauseAt: 256 << 10, paused: done, release: release}
			req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/v1/judge", body)
			if err != nil {
				t.Error(err)
				return
			}
			req.ContentLength = limits.MaxBody
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				clientErrs = append(clientErrs, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[resp.StatusCode]++
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				noRetry++
			}
		})
	}
	wg.Wait()
	close(stopSampling)
	<-sampled
	hangGuard.Stop()

	t.Logf("statuses %v, client errors %d, heap peak +%.1f MiB", statuses, len(clientErrs), float64(peak.Load())/mib)
	if p := peak.Load(); p > bound {
		t.Fatalf("the heap grew by more than %d MiB while 200 bodies of 8 MiB were posted; want at most 4 × the %d MiB in flight", p/mib, limits.MaxBodiesInFlight/mib)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("the requests did not end within 3 minutes")
	}
	// A refused client may see its connection closed while it still writes
	// its body instead of the 503 (how many depends on the machine's load),
	// so the refusals are counted where the server makes them.
	refused := int(testutil.ToFloat64(ts.Metrics().refusals.WithLabelValues("busy")))
	if statuses[http.StatusOK] == 0 || refused < clients/2 {
		t.Errorf("statuses %v, %d refused as busy: want some 200 and most of the %d refused with 503", statuses, refused, clients)
	}
	served := 0
	for code, n := range statuses {
		if code != http.StatusServiceUnavailable {
			served += n
		}
	}
	if served+refused != clients {
		t.Errorf("%d answered and %d refused as busy: want each of the %d requests either served or refused", served, refused, clients)
	}
	if len(clientErrs) > refused-statuses[http.StatusServiceUnavailable] {
		t.Errorf("%d client errors but only %d refusals the clients did not read: a served request failed: %v", len(clientErrs), refused-statuses[http.StatusServiceUnavailable], clientErrs[0])
	}
	if noRetry > 0 {
		t.Errorf("%d answers 503 without Retry-After", noRetry)
	}
	ts.bodies.mu.Lock()
	held, peakHeld := ts.bodies.held, ts.bodies.peak
	ts.bodies.mu.Unlock()
	if peakHeld > limits.MaxBodiesInFlight {
		t.Errorf("%d MiB of bodies were served together; the budget is %d MiB", peakHeld/mib, limits.MaxBodiesInFlight/mib)
	}
	if held != 0 {
		t.Errorf("%d bytes of bodies are still charged after every request ended", held)
	}
	if grown := int64(heapAfterGC()) - int64(base); grown > 32*mib {
		t.Errorf("the live heap is %d MiB above where it was once every request has ended; want it returned", grown/mib)
	}
}
