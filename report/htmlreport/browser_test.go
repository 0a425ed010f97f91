package htmlreport

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/browsertest"
	"github.com/verdict-aca/verdict/internal/cell"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/report/internal/looks"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
)

// The browser test loads generated pages in a real Chromium (Debian's
// chromium package) through chromedp and checks what a reader sees: the
// banner, every signal's reason, and that every plot was laid out with a
// size. With VERDICT_UPDATE_SCREENSHOTS=1 it rewrites the README's
// screenshots in docs/screenshots; otherwise they go to a temporary
// directory. Without Chromium it skips, except under CI=true, where it fails.

// servePages serves each page at /<name> from 127.0.0.1.
func servePages(t *testing.T, pages map[string][]byte) string {
	t.Helper()
	mux := http.NewServeMux()
	for name, body := range pages {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(body)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// seen is what the page shows, read in the browser.
type seen struct {
	Verdict     string `json:"verdict"`
	BannerText  string `json:"bannerText"`
	Reason      string `json:"reason"`
	Signals     []seenSignal
	Plots       []seenPlot
	ScrollWidth int `json:"scrollWidth"`
	Width       int `json:"width"`
}

type seenSignal struct {
	Name           string `json:"name"`
	Classification string `json:"classification"`
	Reason         string `json:"reason"`
	Plots          int    `json:"plots"`
}

type seenPlot struct {
	Class  string  `json:"class"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Paths  int     `json:"paths"`
}

const readPage = `(() => {
  const banner = document.querySelector('[data-verdict]');
  return {
    verdict: banner ? banner.dataset.verdict : '',
    bannerText: banner ? banner.innerText : '',
    reason: banner ? banner.querySelector('[data-reason]').textContent : '',
    signals: Array.from(document.querySelectorAll('section[data-signal]')).map(s => ({
      name: s.dataset.signal, classification: s.dataset.classification,
      reason: s.querySelector('[data-reason]').textContent,
      plots: s.querySelectorAll('svg.plot').length })),
    plots: Array.from(document.querySelectorAll('svg')).map(s => {
      const b = s.getBoundingClientRect();
      return { class: s.getAttribute('class') || '', width: b.width, height: b.height, paths: s.querySelectorAll('path').length };
    }),
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth,
  };
})()`

// loadTiming waits for the load event to finish and returns the times from
// navigation start to DOMContentLoaded and to the end of the load event, in ms.
const loadTiming = `new Promise(resolve => {
  const poll = () => {
    const e = performance.getEntriesByType('navigation')[0];
    if (e && e.loadEventEnd > 0) {
      requestAnimationFrame(() => resolve({dcl: e.domContentLoadedEventEnd - e.startTime, load: e.loadEventEnd - e.startTime}));
    } else {
      setTimeout(poll, 5);
    }
  };
  poll();
})`

type timing struct {
	DCL  float64 `json:"dcl"`
	Load float64 `json:"load"`
}

func TestBrowser(t *testing.T) {
	path := browsertest.Chromium(t)
	reports := map[string]*analysis.Report{
		"latency-regression": fixtureReport(t, "latency-regression"),
		"error-spike":        fixtureReport(t, "error-spike"),
		"synthetic-50":       syntheticReport(50, 360),
	}
	reports["counts"], _ = reporttest.Counts()
	for name, r := range sequentialRuns(t) {
		reports["sequential-"+name] = r
	}
	pages := make(map[string][]byte, len(reports))
	for name, r := range reports {
		var b bytes.Buffer
		if err := Write(&b, r); err != nil {
			t.Fatal(err)
		}
		pages[name] = b.Bytes()
	}
	base := servePages(t, pages)
	ctx := browsertest.Open(t, path)

	shots := t.TempDir()
	if os.Getenv("VERDICT_UPDATE_SCREENSHOTS") == "1" {
		shots = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	names := []string{"latency-regression", "error-spike", "synthetic-50", "counts", "sequential-healthy", "sequential-slow", "sequential-undecided"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := reports[name]
			tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			// A desktop window and a phone's.
			for _, width := range []int64{1280, 390} {
				if err := chromedp.Do(tctx, chromedp.EmulateViewport(width, 1000), chromedp.Navigate(base+"/"+name)); err != nil {
					t.Fatalf("loading %s: %v", name, err)
				}
				got, err := chromedp.Run(tctx, chromedp.Evaluate[seen](readPage))
				if err != nil {
					t.Fatalf("reading %s: %v", name, err)
				}
				checkSeen(t, r, got)
			}

			if name == "synthetic-50" {
				measureLoad(t, tctx, base+"/"+name, len(pages[name]))
			}
		})
	}

	// Screenshots for the README: the top of a failed canary's page, and a
	// failed signal's section with its plots.
	t.Run("screenshots", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/error-spike")); err != nil {
			t.Fatal(err)
		}
		top, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tctx, chromedp.Navigate(base+"/latency-regression")); err != nil {
			t.Fatal(err)
		}
		// Sections off screen are laid out only when scrolled to (content-visibility):
		// wait until the section's plots have a size before taking its picture.
		sel := `section[data-signal="p99_latency_ms"]`
		if err := chromedp.Do(tctx, chromedp.ScrollIntoView(chromedp.CSS(sel))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tctx, chromedp.Poll[bool](`(() => { const svgs = [...document.querySelectorAll('`+sel+` svg')];
			return svgs.length > 0 && svgs.every(s => { const r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0; }); })()`)); err != nil {
			t.Fatalf("waiting for the section's plots: %v", err)
		}
		// A loaded machine may lay the plots out before it paints them:
		// take the picture again until it holds more than a blank box (the
		// context's deadline bounds the wait).
		var section []byte
		for len(section) < 10_000 {
			if section, err = chromedp.Run(tctx, chromedp.Screenshot(chromedp.CSS(sel))); err != nil {
				t.Fatal(err)
			}
		}
		for file, png := range map[string][]byte{"report-top.png": top, "report-signal.png": section} {
			if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
				t.Errorf("%s: not a plausible PNG screenshot (%d bytes)", file, len(png))
			}
			if err := os.WriteFile(filepath.Join(shots, file), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshots in %s", shots)
	})
}

// checkSeen compares what the browser shows with the report.
func checkSeen(t *testing.T, r *analysis.Report, got seen) {
	t.Helper()
	if got.Verdict != string(r.Verdict) {
		t.Errorf("banner data-verdict %q, want %q", got.Verdict, r.Verdict)
	}
	if want := strings.ToUpper(string(r.Verdict)); !strings.Contains(got.BannerText, want) {
		t.Errorf("banner text lacks %q:\n%s", want, got.BannerText)
	}
	if want := "score " + cell.Score(r.Score) + " / 100"; !strings.Contains(got.BannerText, want) {
		t.Errorf("banner text lacks %q:\n%s", want, got.BannerText)
	}
	if got.Reason != r.Reason {
		t.Errorf("banner reason %q, want %q", got.Reason, r.Reason)
	}
	if len(got.Signals) != len(r.Signals) {
		t.Fatalf("page shows %d signals, the report has %d", len(got.Signals), len(r.Signals))
	}
	plots := 0
	for _, s := range r.Signals {
		i := slices.IndexFunc(got.Signals, func(g seenSignal) bool { return g.Name == s.Name })
		if i < 0 {
			t.Errorf("signal %s is not on the page", s.Name)
			continue
		}
		g := got.Signals[i]
		if g.Classification != string(s.Classification) || g.Reason != s.Reason {
			t.Errorf("signal %s shows %q %q, want %q %q", s.Name, g.Classification, g.Reason, s.Classification, s.Reason)
		}
		if want := wantPlots(r, s); g.Plots != want {
			t.Errorf("signal %s has %d plots, want %d", s.Name, g.Plots, want)
		}
		plots += wantPlots(r, s)
	}
	if len(r.Intervals) > 0 {
		plots++ // the score of each interval
	}
	if len(got.Plots) != plots {
		t.Errorf("page has %d <svg>, want %d", len(got.Plots), plots)
	}
	for i, p := range got.Plots {
		if p.Width < 100 || p.Height < 50 || p.Paths < 5 {
			t.Errorf("svg %d (%s) rendered %gx%g px with %d paths; want a visible plot", i, p.Class, p.Width, p.Height, p.Paths)
		}
		if !slices.ContainsFunc([]string{"plot-series", "plot-distribution", "plot-looks", "plot-intervals"}, func(kind string) bool { return strings.Contains(p.Class, kind) }) {
			t.Errorf("svg %d has class %q, want a plot kind", i, p.Class)
		}
	}
	if got.ScrollWidth > got.Width {
		t.Errorf("page scrolls sideways: %d px wide in a %d px window", got.ScrollWidth, got.Width)
	}
}

// wantPlots is the number of plots a signal's section has: its looks in
// a multi-interval analysis that recorded them, then a series over time
// for a rate with an exposure or a proportion (the report carries no
// exposure series for a second), two for every other signal with series.
func wantPlots(r *analysis.Report, s judge.Result) int {
	n := 0
	if slices.ContainsFunc(looks.Tracks(r), func(tr looks.Track) bool { return tr.Name == s.Name }) {
		n++
	}
	if !slices.ContainsFunc(r.Series, func(sr analysis.SignalSeries) bool { return sr.Name == s.Name }) {
		return n
	}
	if s.Test != nil && s.Test.Method != judge.Histogram && cell.HasCounts(s.Test) {
		return n + 1
	}
	return n + 2
}

// measureLoad loads the page several times and logs the median time from
// navigation start to the end of the load event (the figure in
// docs/benchmarks.md). It asserts nothing about time.
func measureLoad(t *testing.T, ctx context.Context, url string, size int) {
	t.Helper()
	var loads, dcls []float64
	for range 5 {
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		tm, err := chromedp.Run(ctx, chromedp.Evaluate[timing](loadTiming, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		loads, dcls = append(loads, tm.Load), append(dcls, tm.DCL)
	}
	slices.Sort(loads)
	slices.Sort(dcls)
	t.Logf("50-signal page: %d bytes; navigation start → load event end: median %.0f ms (min %.0f, max %.0f) over %d loads; DOMContentLoaded median %.0f ms",
		size, loads[len(loads)/2], loads[0], loads[len(loads)-1], len(loads), dcls[len(dcls)/2])
}
