package analysis

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/verdict-aca/verdict/fixtures"
	"github.com/verdict-aca/verdict/metrics/file"
)

// TestFixtureVerdicts judges every canonical scenario offline and checks
// the verdict and each signal's classification against the expectation the
// scenario was built with (fixtures/*/expect.yaml).
func TestFixtureVerdicts(t *testing.T) {
	scenarios, err := fixtures.LoadAll(filepath.Join("..", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) < 5 {
		t.Fatalf("%d scenarios, want at least 5", len(scenarios))
	}
	ctx := context.Background()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			cfg, err := LoadConfig(ctx, filepath.Join(sc.Dir, "config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := file.Load(ctx, filepath.Join(sc.Dir, "baseline.csv"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := file.Load(ctx, filepath.Join(sc.Dir, "canary.csv"))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := JudgeSeries(cfg, SeriesSet{Origin: "baseline.csv", Series: b}, SeriesSet{Origin: "canary.csv", Series: c})
			if err != nil {
				t.Fatal(err)
			}
			if string(rep.Verdict) != sc.Verdict {
				t.Errorf("verdict %s, want %s: %s", rep.Verdict, sc.Verdict, rep.Reason)
			}
			for _, s := range rep.Signals {
				if want := sc.Signals[s.Name]; string(s.Classification) != want {
					t.Errorf("%s: %s, want %s: %s", s.Name, s.Classification, want, s.Reason)
				}
			}
		})
	}
}
