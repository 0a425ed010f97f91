package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/lokitest"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// TestAnalyzeLokiPushesEvent judges a log-derived signal served by a fake
// Loki and checks that the finished analysis pushes its verdict event to
// the configured push URL.
func TestAnalyzeLokiPushesEvent(t *testing.T) {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var pushes, queries atomic.Int32
	loki := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loki/api/v1/push":
			pushes.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case "/loki/api/v1/query_range":
			queries.Add(1)
			canary := strings.Contains(r.URL.Query().Get("query"), `track="canary"`)
			var values []string
			for i := range 60 {
				v := i % 2
				if canary {
					v += 3
				}
				values = append(values, fmt.Sprintf(`[%d, "%d"]`, start.Unix()+int64(i)*10, v))
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(values, ","))
		default:
			http.NotFound(w, r)
		}
	}))
	defer loki.Close()

	dir := t.TempDir()
	cfg := write(t, dir, "logs.yaml", fmt.Sprintf(`name: logs
sources:
  loki: {url: %q, pushURL: %q}
signals:
  - name: error_lines
    source: loki
    test: rate
    direction: increase
    query: 'sum(count_over_time({app="shop", track="{{.track}}"} |= "error" [{{.step}}]))'
`, loki.URL, loki.URL))
	code, out, errOut := invoke(t, "analyze", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary",
		"--start", start.Format(time.RFC3339), "--end", start.Add(10*time.Minute).Format(time.RFC3339), "--step", "10s", "--format", "json")
	if code != exitFail {
		t.Fatalf("exit %d, want 1 (fail); stderr %s\n%s", code, errOut, out)
	}
	if queries.Load() != 2 || pushes.Load() == 0 {
		t.Errorf("Loki saw %d queries and %d pushes; want 2 queries and the verdict event", queries.Load(), pushes.Load())
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestAnalyzeEventNamesTheRecordedAnalysis: with --db, the verdict event
// pushed to Loki names the analysis recorded in the store (its report id)
// and carries the level of the verdict; without --db it names none.
func TestAnalyzeEventNamesTheRecordedAnalysis(t *testing.T) {
	lk := lokitest.Start(t, lokitest.Options{})
	end := time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)
	start := end.Add(-30 * time.Minute)
	for track, perMinute := range map[string]int{"baseline": 2, "canary": 8} {
		var lines []lokitest.Line
		for m := start; m.Before(end); m = m.Add(time.Minute) {
			for i := range perMinute {
				lines = append(lines, lokitest.Line{Time: m.Add(time.Duration(i+1) * time.Second), Text: "level=error boom"})
			}
		}
		lk.Push(map[string]string{"app": "shop", "track": track}, lines...)
	}
	dir := t.TempDir()
	cfg := write(t, dir, "logs.yaml", fmt.Sprintf(`name: logs
sources:
  loki: {url: %q, pushURL: %q}
signals:
  - name: error_lines
    source: loki
    test: rate
    direction: increase
    query: 'sum(count_over_time({app="shop", track="{{.track}}"} |= "error" [{{.step}}]))'
`, lk.URL, lk.URL))
	db := filepath.Join(dir, "verdict.db")
	args := []string{"analyze", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary",
		"--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339), "--step", "1m", "--format", "json"}
	code, out, errOut := invoke(t, append(args, "--db", "sqlite:"+db)...)
	if code != exitFail {
		t.Fatalf("exit %d, want 1 (fail); stderr %s\n%s", code, errOut, out)
	}
	recorded := regexp.MustCompile(`recorded as analysis (\S+) in`).FindStringSubmatch(errOut)
	if recorded == nil {
		t.Fatalf("stderr does not say where the analysis was recorded: %s", errOut)
	}
	if code, _, errOut := invoke(t, args...); code != exitFail {
		t.Fatalf("without --db: exit %d: %s", code, errOut)
	}
	lines := lk.Lines(map[string]string{"job": "verdict", "config": "logs"})
	if len(lines) != 2 {
		t.Fatalf("Loki holds %d verdict events, want 2: %v", len(lines), lines)
	}
	for i, wantID := range []string{recorded[1], ""} {
		var ev loki.Event
		if err := json.Unmarshal([]byte(lines[i].Text), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Report != wantID || ev.Origin != "cli" || ev.Verdict != "fail" || ev.Level != loki.LevelError || ev.FailedCount != 1 {
			t.Errorf("event %d: %s; want report %q, origin cli, verdict fail at level error, 1 failed signal", i, lines[i].Text, wantID)
		}
		if i == 0 && !strings.Contains(lines[i].Text, `"report":"`+wantID+`"`) {
			t.Errorf("the line lacks the report id: %s", lines[i].Text)
		}
	}
}
