package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/internal/browsertest"
	"github.com/verdict-aca/verdict/metrics/file"
)

// TestPagesInBrowser serves stored analyses of two fixture scenarios from a
// real server and reads the list page, a report page and a config page in
// a real Chromium: what an SRE opening the service sees. With
// VERDICT_UPDATE_SCREENSHOTS=1 the list page's screenshot goes to
// docs/screenshots/analyses-list.png.
func TestPagesInBrowser(t *testing.T) {
	chromium := browsertest.Chromium(t)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "verdict.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := map[string]string{}
	for _, name := range []string{"latency-regression", "healthy"} {
		dir := filepath.Join("..", "fixtures", name)
		text, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := analysis.ParseConfig("config.yaml", text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutConfig(ctx, cfg.Name, text); err != nil {
			t.Fatal(err)
		}
		b, err := file.Load(ctx, filepath.Join(dir, "baseline.csv"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := file.Load(ctx, filepath.Join(dir, "canary.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := analysis.JudgeSeries(cfg, analysis.SeriesSet{Origin: "baseline.csv", Series: b}, analysis.SeriesSet{Origin: "canary.csv", Series: c})
		if err != nil {
			t.Fatal(err)
		}
		out, err := store.OutcomeOf(rep)
		if err != nil {
			t.Fatal(err)
		}
		a := &store.Analysis{ID: store.NewID(), ConfigName: cfg.Name, Config: text, Origin: "cli", Status: store.Running}
		if err := st.CreateAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishAnalysis(ctx, a.ID, out); err != nil {
			t.Fatal(err)
		}
		ids[string(rep.Verdict)] = a.ID
	}
	srv, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}}
	hs.Start()
	defer hs.Close()

	tab := browsertest.Open(t, chromium)
	load := func(path string) context.Context {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, 30*time.Second)
		t.Cleanup(cancel)
		if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(hs.URL+path)); err != nil {
			t.Fatalf("loading %s: %v", path, err)
		}
		return tctx
	}

	t.Run("list", func(t *testing.T) {
		tctx := load("/analyses")
		type row struct{ ID, Verdict, Text, Link string }
		rows, err := chromedp.Run(tctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll("tr[data-analysis]")].map(r => ({
			ID: r.dataset.analysis, Verdict: r.dataset.verdict, Text: r.innerText,
			Link: (r.querySelector("a[href^='/analyses/']") || {}).href || ""}))`))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("%d rows on the list page, want 2: %+v", len(rows), rows)
		}
		for _, r := range rows {
			if ids[r.Verdict] != r.ID || !strings.Contains(r.Text, r.Verdict) || !strings.HasSuffix(r.Link, "/analyses/"+r.ID) {
				t.Errorf("row %+v: want the verdict in words and a link to its report", r)
			}
		}
		shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "analyses-list.png")
		if os.Getenv("VERDICT_UPDATE_SCREENSHOTS") == "1" {
			dest = filepath.Join("..", "docs", "screenshots", "analyses-list.png")
		}
		if err := os.WriteFile(dest, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("filters", func(t *testing.T) {
		count := func(query string) int {
			tctx := load("/analyses?" + query)
			n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("tr[data-analysis]").length`))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		for query, want := range map[string]int{"verdict=fail": 1, "config=checkout-healthy": 1, "since=1h": 2, "since=2000-01-01T00:00:00Z&verdict=pass": 1, "verdict=marginal": 0} {
			if got := count(query); got != want {
				t.Errorf("/analyses?%s lists %d analyses, want %d", query, got, want)
			}
		}
	})

	t.Run("report", func(t *testing.T) {
		tctx := load("/analyses/" + ids["fail"])
		type page struct {
			Verdict, Banner                     string
			Signals, Reasons, Plots, EmptyPlots int
		}
		got, err := chromedp.Run(tctx, chromedp.Evaluate[page](`(() => {
			const banner = document.querySelector("[data-verdict]");
			const signals = [...document.querySelectorAll("section[data-signal], [data-signal][data-classification]")];
			const svgs = [...document.querySelectorAll("svg")];
			return {Verdict: banner ? banner.dataset.verdict : "", Banner: banner ? banner.innerText : "",
				Signals: signals.length, Reasons: signals.filter(s => { const r = s.querySelector("[data-reason]"); return r && r.textContent.trim().length > 0; }).length,
				Plots: svgs.length, EmptyPlots: svgs.filter(s => { const r = s.getBoundingClientRect(); return r.width === 0 || r.height === 0; }).length};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if got.Verdict != "fail" || !strings.Contains(got.Banner, "FAIL") || !strings.Contains(got.Banner, "p99_latency_ms") {
			t.Errorf("banner %q (verdict %q): want the fail verdict and its reason", got.Banner, got.Verdict)
		}
		if got.Signals != 6 || got.Reasons != 6 {
			t.Errorf("%d signal sections, %d with a reason; want 6 and 6", got.Signals, got.Reasons)
		}
		if got.Plots < 12 || got.EmptyPlots != 0 {
			t.Errorf("%d plots, %d of them without a size; want two per signal, all drawn", got.Plots, got.EmptyPlots)
		}
	})

	t.Run("config", func(t *testing.T) {
		tctx := load("/configs/checkout-healthy")
		text, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "checkout-healthy") || !strings.Contains(text, "p99_latency_ms") || !strings.Contains(text, "pass") {
			t.Errorf("config page lacks its name, its config text or its recent verdict:\n%s", text)
		}
	})
}
