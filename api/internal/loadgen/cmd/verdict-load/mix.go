package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the store's driver, to count the stored analyses

	"github.com/verdict-aca/verdict/api/internal/loadgen"
)

// The configs the mixed load stores and replaces.
const (
	mixArgoConfig      = "mix-argo"
	mixScheduledConfig = "mix-scheduled"
	// mixLookback and mixStep are the Argo calls' and the schedule's window
	// and resolution (the fixtures are written at a 10 s step).
	mixLookback = "5m"
	mixStep     = "10s"
)

// mixOptions are the flags of the mixed load.
type mixOptions struct {
	url, token, payload string
	judgeClients        int
	argoClients         int
	putEvery            time.Duration
	scenario, fixtures  string
	warmup, dur, every  time.Duration
	sample              time.Duration
	db                  string
}

// kind counts one kind of request: answers as wanted, errors, and the
// first error's text (printed once).
type kind struct {
	name      string
	ok, errs  atomic.Int64
	firstOnce sync.Once
}

func (k *kind) fail(format string, args ...any) {
	k.errs.Add(1)
	k.firstOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "verdict-load: first %s error: %s\n", k.name, fmt.Sprintf(format, args...))
	})
}

// sample is what one read of the server's /metrics gives.
type sample struct {
	rss, heapInuse, gcGoal, goroutines, cpu float64
	// goSys − goReleased is the memory the Go runtime holds from the system and has
	// not released (go_memstats_sys_bytes − go_memstats_heap_released_bytes):
	// RSS beyond it is the rest of the process, chiefly SQLite's cache.
	goSys, goReleased float64
	// scheduled counts the scheduled config's firings by outcome.
	scheduled map[string]float64
	// finished is verdict_analyses_total summed over its labels.
	finished float64
}

// window collects the samples of one report interval.
type window struct {
	start, end      time.Time
	warmup          bool
	n               int
	rss, heap       span
	outsideGo       span
	gcGoal          span
	goroutines      span
	judge, judgeErr int64
	argo, argoErr   int64
	argoNone        int64
	puts, putErr    int64
	scheduled       map[string]float64 // firings in the window by outcome
	cpu             float64            // server CPU seconds in the window
	analyses        int64              // stored at the end (-1 unknown)
	dbBytes         int64
}

// span is the smallest and largest of a window's samples.
type span struct{ lo, hi float64 }

func (s *span) add(v float64, first bool) {
	if first || v < s.lo {
		s.lo = v
	}
	if first || v > s.hi {
		s.hi = v
	}
}

func runMix(o mixOptions) error {
	ctx := context.Background()
	fixture, err := os.ReadFile(filepath.Join(o.fixtures, o.scenario+".yaml"))
	if err != nil {
		return fmt.Errorf("-scenario: %w", err)
	}
	baseline := map[string]string{"scenario": o.scenario, "track": "baseline"}
	canary := map[string]string{"scenario": o.scenario, "track": "canary"}
	argoText, err := loadgen.LiveConfig(fixture, mixArgoConfig, nil)
	if err != nil {
		return err
	}
	scheduledText, err := loadgen.LiveConfig(fixture, mixScheduledConfig, &loadgen.Schedule{
		Cron: "@every 1s", Baseline: baseline, Canary: canary, Lookback: mixLookback, Step: mixStep})
	if err != nil {
		return err
	}
	judgeName, judgeText, body := "load", []byte(loadgen.Config()), loadgen.Body()
	if o.payload == "release" {
		judgeName, judgeText, body = "release", []byte(loadgen.ReleaseConfig()), loadgen.ReleaseBody()
	}
	var count *analysisCounter
	if o.db != "" {
		if count, err = openAnalysisCounter(ctx, o.db); err != nil {
			return err
		}
		defer count.Close()
	}

	conns := o.judgeClients + o.argoClients + 4
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns,
		WriteBufferSize: len(body) + 4<<10, ReadBufferSize: 64 << 10}, Timeout: 30 * time.Second}
	configs := []struct {
		name string
		text []byte
	}{{judgeName, judgeText}, {mixArgoConfig, argoText}, {mixScheduledConfig, scheduledText}}
	put := func(name string, text []byte) error {
		code, data, err := do(client, "PUT", o.url+"/api/v1/configs/"+name, o.token, text)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("PUT config %s: %d %s", name, code, data)
		}
		return nil
	}
	for _, c := range configs {
		if err := put(c.name, c.text); err != nil {
			return err
		}
	}
	argoURL := o.url + "/api/v1/argo/" + mixArgoConfig + "?" + url.Values{
		"baseline": {loadgen.Scope(baseline)}, "canary": {loadgen.Scope(canary)},
		"lookback": {mixLookback}, "step": {mixStep}}.Encode()
	fmt.Printf("mixed load on %s: %d judge clients (%s payload, %d bytes), %d Argo clients (%s, lookback %s), "+
		"%s firing @every 1s, the 3 configs PUT every %s; warm-up %s, then %s; memory sampled every %s\n",
		o.url, o.judgeClients, o.payload, len(body), o.argoClients, o.scenario, mixLookback, mixScheduledConfig, o.putEvery, o.warmup, o.dur, o.sample)

	judge, argo, puts := &kind{name: "judge"}, &kind{name: "argo"}, &kind{name: "config PUT"}
	var argoNone atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range o.judgeClients {
		wg.Go(func() {
			for !stop.Load() {
				code, data, err := do(client, "POST", o.url+"/api/v1/judge", o.token, body)
				switch {
				case err != nil:
					judge.fail("%v", err)
				case code != http.StatusOK:
					judge.fail("%d %s", code, data)
				default:
					judge.ok.Add(1)
				}
			}
		})
	}
	for range o.argoClients {
		wg.Go(func() {
			for !stop.Load() {
				code, data, err := do(client, "GET", argoURL, o.token, nil)
				switch {
				case err != nil:
					argo.fail("%v", err)
					continue
				case code != http.StatusOK:
					argo.fail("%d %s", code, data)
					continue
				}
				argo.ok.Add(1)
				var ans struct {
					Verdict string `json:"verdict"`
				}
				if json.Unmarshal(data, &ans) != nil || ans.Verdict == "none" {
					argoNone.Add(1)
				}
			}
		})
	}
	done := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(o.putEvery)
		defer tick.Stop()
		for revision := 1; ; revision++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, c := range configs {
				if err := put(c.name, loadgen.Revision(c.text, revision)); err != nil {
					puts.fail("%v", err)
				} else {
					puts.ok.Add(1)
				}
			}
		}
	})

	started := time.Now()
	first, err := readSample(client, o.url, o.token)
	if err != nil {
		return err
	}
	last := first
	var lastJudge, lastJudgeErr, lastArgo, lastArgoErr, lastNone, lastPuts, lastPutErr int64
	cur := &window{start: started, warmup: o.warmup > 0}
	var windows []*window
	fmt.Println()
	fmt.Println("| window | end s | judge | err | Argo | err | none | PUTs | err | scheduled ran | skipped | failed | server CPU s | RSS MiB | RSS outside Go MiB | heap in use MiB | GC goal MiB | goroutines | stored analyses | store MiB |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|---|---:|---:|")
	closeWindow := func(s sample, now time.Time) {
		w := cur
		w.end = now
		j, je, a, ae, an, p, pe := judge.ok.Load(), judge.errs.Load(), argo.ok.Load(), argo.errs.Load(), argoNone.Load(), puts.ok.Load(), puts.errs.Load()
		w.judge, w.judgeErr, w.argo, w.argoErr, w.argoNone, w.puts, w.putErr = j-lastJudge, je-lastJudgeErr, a-lastArgo, ae-lastArgoErr, an-lastNone, p-lastPuts, pe-lastPutErr
		lastJudge, lastJudgeErr, lastArgo, lastArgoErr, lastNone, lastPuts, lastPutErr = j, je, a, ae, an, p, pe
		w.scheduled = map[string]float64{}
		for outcome, v := range s.scheduled {
			w.scheduled[outcome] = v - last.scheduled[outcome]
		}
		w.cpu = s.cpu - last.cpu
		last = s
		w.analyses, w.dbBytes = -1, -1
		if count != nil {
			var err error
			if w.analyses, w.dbBytes, err = count.Count(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "verdict-load: count the stored analyses:", err)
			}
		}
		windows = append(windows, w)
		fmt.Println(w.row(len(windows), started))
	}

	tick := time.NewTicker(o.sample)
	defer tick.Stop()
	// The warm-up is one window; then windows of o.every until the end.
	end, next := started.Add(o.warmup+o.dur), started.Add(o.warmup)
	if o.warmup == 0 {
		next = started.Add(o.every)
	}
	for {
		now := <-tick.C
		s, err := readSample(client, o.url, o.token)
		if err != nil {
			fmt.Fprintln(os.Stderr, "verdict-load:", err)
			continue
		}
		cur.rss.add(s.rss, cur.n == 0)
		cur.outsideGo.add(s.rss-(s.goSys-s.goReleased), cur.n == 0)
		cur.heap.add(s.heapInuse, cur.n == 0)
		cur.gcGoal.add(s.gcGoal, cur.n == 0)
		cur.goroutines.add(s.goroutines, cur.n == 0)
		cur.n++
		if now.Before(next) {
			continue
		}
		closeWindow(s, now)
		if !now.Before(end) {
			break
		}
		cur = &window{start: now}
		next = next.Add(o.every)
	}
	stop.Store(true)
	close(done)
	wg.Wait()
	fmt.Println()
	summarize(os.Stdout, windows, first, last, judge, argo, puts, argoNone.Load(), time.Since(started))
	return nil
}

// row is the window's line of the Markdown table.
func (w *window) row(i int, started time.Time) string {
	name := strconv.Itoa(i)
	if w.warmup {
		name += " (warm-up)"
	}
	analyses, store := "–", "–"
	if w.analyses >= 0 {
		analyses = strconv.FormatInt(w.analyses, 10)
	}
	if w.dbBytes >= 0 {
		store = fmt.Sprintf("%.1f", float64(w.dbBytes)/(1<<20))
	}
	mib := func(s span) string { return fmt.Sprintf("%.1f – %.1f", s.lo/(1<<20), s.hi/(1<<20)) }
	return fmt.Sprintf("| %s | %.0f | %d | %d | %d | %d | %d | %d | %d | %.0f | %.0f | %.0f | %.1f | %s | %s | %s | %.1f | %.0f – %.0f | %s | %s |",
		name, w.end.Sub(started).Seconds(), w.judge, w.judgeErr, w.argo, w.argoErr, w.argoNone, w.puts, w.putErr,
		w.scheduled["ran"], w.scheduled["skipped"], w.scheduled["failed"]+w.scheduled["panicked"], w.cpu,
		mib(w.rss), mib(w.outsideGo), mib(w.heap), w.gcGoal.hi/(1<<20), w.goroutines.lo, w.goroutines.hi, analyses, store)
}

// flatLimit is how far the largest per-window peak may exceed the smallest
// for memory to count as flat.
const flatLimit = 1.20

// peakRatio is the largest over the smallest per-window peak of the
// windows after the warm-up, and both; NaN without such windows.
func peakRatio(windows []*window, peak func(*window) float64) (ratio, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, w := range windows {
		if w.warmup || w.n == 0 {
			continue
		}
		v := peak(w)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 1) || lo <= 0 {
		return math.NaN(), lo, hi
	}
	return hi / lo, lo, hi
}

func summarize(out io.Writer, windows []*window, first, last sample, judge, argo, puts *kind, argoNone int64, elapsed time.Duration) {
	var measured []*window
	for _, w := range windows {
		if !w.warmup {
			measured = append(measured, w)
		}
	}
	fmt.Fprintf(out, "%d windows after the warm-up; memory is flat when the largest per-window peak is at most %.0f%% above the smallest\n",
		len(measured), 100*(flatLimit-1))
	for _, m := range []struct {
		what string
		peak func(*window) float64
		unit float64
	}{
		{"RSS", func(w *window) float64 { return w.rss.hi }, 1 << 20},
		{"RSS outside Go", func(w *window) float64 { return w.outsideGo.hi }, 1 << 20},
		{"Go heap in use", func(w *window) float64 { return w.heap.hi }, 1 << 20},
		{"GC goal", func(w *window) float64 { return w.gcGoal.hi }, 1 << 20},
		{"goroutines", func(w *window) float64 { return w.goroutines.hi }, 1},
	} {
		ratio, lo, hi := peakRatio(windows, m.peak)
		if math.IsNaN(ratio) {
			fmt.Fprintf(out, "%s: no windows after the warm-up\n", m.what)
			continue
		}
		flat := "flat"
		if ratio > flatLimit {
			flat = "NOT flat"
		}
		firstPeak, lastPeak := m.peak(measured[0]), m.peak(measured[len(measured)-1])
		fmt.Fprintf(out, "%s per-window peak: %.1f – %.1f, max/min %.3f (%s); first window %.1f, last %.1f\n",
			m.what, lo/m.unit, hi/m.unit, ratio, flat, firstPeak/m.unit, lastPeak/m.unit)
	}
	if n := len(windows); n > 0 && windows[n-1].analyses >= 0 {
		from := int64(0)
		for _, w := range windows {
			if !w.warmup {
				break
			}
			from = w.analyses
		}
		fmt.Fprintf(out, "stored analyses: %d at the end of the warm-up, %d at the end (%+d after the warm-up); store %.1f MiB\n",
			from, windows[n-1].analyses, windows[n-1].analyses-from, float64(windows[n-1].dbBytes)/(1<<20))
	}
	fmt.Fprintf(out, "in %.0f s: judge %d (%d errors), Argo %d (%d errors, %d verdicts none), config PUTs %d (%d errors), %s firings: ",
		elapsed.Seconds(), judge.ok.Load(), judge.errs.Load(), argo.ok.Load(), argo.errs.Load(), argoNone, puts.ok.Load(), puts.errs.Load(), mixScheduledConfig)
	for i, outcome := range []string{"ran", "skipped", "failed", "panicked"} {
		if i > 0 {
			fmt.Fprint(out, ", ")
		}
		fmt.Fprintf(out, "%.0f %s", last.scheduled[outcome]-first.scheduled[outcome], outcome)
	}
	fmt.Fprintf(out, "; analyses finished %.0f; server CPU %.1f s\n", last.finished-first.finished, last.cpu-first.cpu)
}

// readSample reads the server's /metrics.
func readSample(client *http.Client, base, token string) (sample, error) {
	code, data, err := do(client, "GET", base+"/metrics", token, nil)
	if err != nil {
		return sample{}, fmt.Errorf("read /metrics: %w", err)
	}
	if code != http.StatusOK {
		return sample{}, fmt.Errorf("read /metrics: %d %s", code, data)
	}
	return parseSample(string(data)), nil
}

// parseSample picks the figures the mixed load reports from the text
// exposition format.
func parseSample(text string) sample {
	s := sample{scheduled: map[string]float64{}}
	schedulePrefix := `verdict_schedule_runs_total{config="` + mixScheduledConfig + `",outcome="`
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		if cut < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			continue
		}
		name := line[:cut]
		switch {
		case name == "process_resident_memory_bytes":
			s.rss = v
		case name == "go_memstats_heap_inuse_bytes":
			s.heapInuse = v
		case name == "go_memstats_sys_bytes":
			s.goSys = v
		case name == "go_memstats_heap_released_bytes":
			s.goReleased = v
		case name == "go_memstats_next_gc_bytes":
			s.gcGoal = v
		case name == "go_goroutines":
			s.goroutines = v
		case name == "process_cpu_seconds_total":
			s.cpu = v
		case strings.HasPrefix(name, "verdict_analyses_total{"):
			s.finished += v
		case strings.HasPrefix(name, schedulePrefix):
			s.scheduled[strings.TrimSuffix(strings.TrimPrefix(name, schedulePrefix), `"}`)] = v
		}
	}
	return s
}

// analysisCounter counts the analyses in the server's SQLite store.
type analysisCounter struct {
	db   *sql.DB
	path string
}

func openAnalysisCounter(ctx context.Context, dsn string) (*analysisCounter, error) {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || path == "" {
		return nil, fmt.Errorf("-db %q: want sqlite:PATH, the server's --db", dsn)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &analysisCounter{db: db, path: path}
	if _, _, err := c.Count(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("-db: %w", err)
	}
	return c, nil
}

// Count returns the stored analyses and the bytes of the database file
// with its write-ahead log.
func (c *analysisCounter) Count(ctx context.Context) (analyses, size int64, err error) {
	if err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM analyses`).Scan(&analyses); err != nil {
		return -1, -1, err
	}
	for _, suffix := range []string{"", "-wal"} {
		fi, err := os.Stat(c.path + suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return analyses, -1, err
		}
		if err == nil {
			size += fi.Size()
		}
	}
	return analyses, size, nil
}

func (c *analysisCounter) Close() error { return c.db.Close() }
