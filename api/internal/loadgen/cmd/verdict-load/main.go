// Command verdict-load drives a running `verdict serve` with the judge API
// load case (package loadgen: 20 signals × 2 × 360 points) from concurrent
// clients on loopback, and prints throughput, latency percentiles, the
// server's memory (RSS from /proc/PID/status, Go heap from its /metrics)
// and its CPU time per judgement (process_cpu_seconds_total from its
// /metrics) every interval and for the whole run.
//
//	verdict-load -url http://127.0.0.1:8080 -c 8 -d 10m -pid $(pidof verdict)
//
// With -mix it drives the server's whole surface at once, for memory under
// mixed load (docs/benchmarks.md): judge API clients as above, Argo calls
// (GET /api/v1/argo/mix-argo over the last 5m of a fixture scenario, which
// queries the server's Prometheus and stores an analysis), a config
// "mix-scheduled" whose schedule fires every second, and PUTs replacing
// all three configs every -put-every. The server's Prometheus must hold the
// scenario's data around the present (promgen -start). Every sample period
// it reads the server's /metrics (RSS, Go heap in use, GC goal, goroutines,
// CPU, scheduled firings); every interval it prints a Markdown table row
// with the requests of each kind and their errors, those figures' range,
// and, with -db, the analyses in the server's SQLite store; at the end,
// whether each memory figure's per-window peak stayed within 20% after the
// warm-up.
//
//	verdict-load -mix -url http://127.0.0.1:8080 -c 2 -argo-c 2 -warmup 1m -d 10m -i 1m -db sqlite:verdict.db
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verdict-aca/verdict/api/internal/loadgen"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "verdict serve base URL")
	token := flag.String("token", "", "bearer token with the write role")
	conc := flag.Int("c", 8, "concurrent clients")
	dur := flag.Duration("d", 30*time.Second, "run time")
	every := flag.Duration("i", 10*time.Second, "report interval")
	pid := flag.Int("pid", 0, "server PID, for RSS")
	payload := flag.String("payload", "points", "points (20 Mann-Whitney signals of 360 points) or release (20 signals: 4 histograms of 30 buckets × 360 windows, 2 rates with their requests, 2 success ratios, 12 of points)")
	mix := flag.Bool("mix", false, "mixed load: judge clients (-c), Argo clients (-argo-c), a schedule firing every second and config PUTs (-put-every); reports memory per interval")
	argoClients := flag.Int("argo-c", 2, "-mix: concurrent Argo clients")
	putEvery := flag.Duration("put-every", 3*time.Second, "-mix: how often the three configs are PUT again")
	scenario := flag.String("scenario", "latency-regression", "-mix: the fixture scenario the Argo calls and the schedule judge")
	fixtures := flag.String("fixtures", "fixtures/prometheus", "-mix: the directory of the scenarios' Prometheus configs")
	warmup := flag.Duration("warmup", time.Minute, "-mix: load before the measured -d (its own window, left out of the flatness check)")
	sampleEvery := flag.Duration("sample", time.Second, "-mix: how often the server's /metrics is read")
	db := flag.String("db", "", "-mix: the server's --db (sqlite:PATH), to count the stored analyses")
	flag.Parse()
	if *payload != "points" && *payload != "release" {
		fmt.Fprintf(os.Stderr, "verdict-load: -payload %q: want points or release\n", *payload)
		os.Exit(2)
	}
	if *mix {
		if *conc < 0 || *argoClients < 0 || *putEvery <= 0 || *dur <= 0 || *every <= 0 || *warmup < 0 || *sampleEvery <= 0 || *sampleEvery > *every {
			fmt.Fprintln(os.Stderr, "verdict-load: -mix needs -c and -argo-c at least 0, -put-every, -d, -i and -sample positive, -warmup at least 0 and -sample at most -i")
			os.Exit(2)
		}
		err := runMix(mixOptions{url: *url, token: *token, payload: *payload, judgeClients: *conc, argoClients: *argoClients,
			putEvery: *putEvery, scenario: *scenario, fixtures: *fixtures, warmup: *warmup, dur: *dur, every: *every, sample: *sampleEvery, db: *db})
		if err != nil {
			fmt.Fprintln(os.Stderr, "verdict-load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*url, *token, *payload, *conc, *dur, *every, *pid); err != nil {
		fmt.Fprintln(os.Stderr, "verdict-load:", err)
		os.Exit(1)
	}
}

func do(client *http.Client, method, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json") // a config's text may be JSON or YAML
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func run(url, token, payload string, conc int, dur, every time.Duration, pid int) error {
	name, config, body := "load", loadgen.Config(), loadgen.Body()
	if payload == "release" {
		name, config, body = "release", loadgen.ReleaseConfig(), loadgen.ReleaseBody()
	}
	// Buffers as large as a request: the driver shares the server's cores,
	// and with the default 4 KB it writes a 112 KB body in 28 system calls.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2,
		WriteBufferSize: len(body) + 4<<10, ReadBufferSize: 64 << 10}, Timeout: 30 * time.Second}
	if code, data, err := do(client, "PUT", url+"/api/v1/configs/"+name, token, []byte(config)); err != nil || code != 200 {
		return fmt.Errorf("PUT config: %d %v %s", code, err, data)
	}
	fmt.Printf("payload %d bytes, %d clients, %s\n", len(body), conc, dur)
	var (
		mu       sync.Mutex
		lat      []time.Duration // this interval
		all      []time.Duration
		errs     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		started  = time.Now()
		interval = time.Now()
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				t := time.Now()
				code, _, err := do(client, "POST", url+"/api/v1/judge", token, body)
				d := time.Since(t)
				if err != nil || code != 200 {
					errs.Add(1)
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.After(dur)
	fmt.Println("elapsed  judgements/s  p50_ms  p99_ms  errors  rss_MiB  heap_inuse_MiB  server_cpu_ms/judgement")
	_, cpuStart := serverMetrics(client, url, token)
	cpuLast := cpuStart
	report := func() {
		mu.Lock()
		cur := lat
		lat = nil
		all = append(all, cur...)
		mu.Unlock()
		secs := time.Since(interval).Seconds()
		interval = time.Now()
		p50, p99 := pct(cur, 0.50), pct(cur, 0.99)
		heapMiB, cpu := serverMetrics(client, url, token)
		fmt.Printf("%7.0fs  %12.1f  %6.1f  %6.1f  %6d  %7.1f  %14.1f  %23.2f\n", time.Since(started).Seconds(), float64(len(cur))/secs,
			ms(p50), ms(p99), errs.Load(), rss(pid), heapMiB, perJudgement(cpu-cpuLast, len(cur)))
		cpuLast = cpu
	}
loop:
	for {
		select {
		case <-tick.C:
			report()
		case <-end:
			break loop
		}
	}
	stop.Store(true)
	wg.Wait()
	report()
	total := time.Since(started).Seconds()
	fmt.Printf("total: %d judgements in %.0fs = %.1f/s, p50 %.1f ms, p99 %.1f ms, errors %d, server CPU %.2f ms per judgement\n",
		len(all), total, float64(len(all))/total, ms(pct(all, 0.5)), ms(pct(all, 0.99)), errs.Load(), perJudgement(cpuLast-cpuStart, len(all)))
	return nil
}

// perJudgement is CPU seconds per judgement in milliseconds (0 for none).
func perJudgement(cpuSeconds float64, judgements int) float64 {
	if judgements == 0 {
		return 0
	}
	return cpuSeconds * 1000 / float64(judgements)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// pct is the nearest-rank percentile.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func rss(pid int) float64 {
	if pid == 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// serverMetrics reads the server's Go heap in use (MiB) and the CPU time
// its process has used (seconds) from its /metrics; zeros when it cannot.
func serverMetrics(client *http.Client, url, token string) (heapMiB, cpuSeconds float64) {
	code, data, err := do(client, "GET", url+"/metrics", token, nil)
	if err != nil || code != 200 {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			b, _ := strconv.ParseFloat(v, 64)
			heapMiB = b / (1 << 20)
		}
		if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			cpuSeconds, _ = strconv.ParseFloat(v, 64)
		}
	}
	return heapMiB, cpuSeconds
}
