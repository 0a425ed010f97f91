package htmlreport

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// maxPageBytes is the hard limit on a 50-signal page (360 points per side).
const maxPageBytes = 2 << 20

func renderPage(t testing.TB, r *analysis.Report, opts PageOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WritePage(&b, r, opts); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("VERDICT_HTML_DUMP"); dir != "" {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".html"
		if err := os.WriteFile(dir+"/"+name, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestDumpFixtures(t *testing.T) {
	if os.Getenv("VERDICT_HTML_DUMP") == "" {
		t.Skip("set VERDICT_HTML_DUMP to a directory to write the pages")
	}
	for _, sc := range []string{"latency-regression", "error-spike", "healthy"} {
		t.Run(sc, func(t *testing.T) { renderPage(t, fixtureReport(t, sc), PageOptions{}) })
	}
	t.Run("synthetic", func(t *testing.T) { renderPage(t, syntheticReport(50, 360), PageOptions{}) })
}

var (
	_ = errors.New
	_ = regexp.MustCompile
	_ = time.Now
	_ judge.Result
	_ metrics.Series
	_ scoring.Verdict
)
