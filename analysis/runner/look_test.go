package runner

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
)

// TestSaveEvidenceRace plays two looks that read the same evidence and
// write after each other: the second merges its references into the
// first's (the stored ones win) and counts both looks; a look that
// started new evidence meanwhile is not merged into the stored one.
func TestSaveEvidenceRace(t *testing.T) { forEachStore(t, testSaveEvidenceRace) }

func testSaveEvidenceRace(t *testing.T, kind storeKind) {
	st := openStores(t, kind, 1)[0]
	ts, err := New(Options{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := dataStart
	base, err := st.PutEvidence(ctx, store.Evidence{Config: "c", Key: "k", Version: "v", Step: 15 * time.Second, Start: start, LastLook: start.Add(5 * time.Minute),
		References: []byte(`{"a":1}`), Looks: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lookAt := func(from time.Time, n int, end time.Duration, refs map[string]float64) *evidenceLook {
		return &evidenceLook{config: "c", key: "k", version: "v", step: 15 * time.Second, revision: base.Revision, end: start.Add(end),
			look: analysis.EvidenceLook{Start: from, Look: n, Anytime: &analysis.AnytimeLook{References: refs}}}
	}
	report := func(refs map[string]float64) *analysis.Report {
		rep := &analysis.Report{}
		for name, v := range refs {
			rep.Signals = append(rep.Signals, judgeResultWithReference(name, v))
		}
		return rep
	}
	ts.saveEvidence(ctx, lookAt(start, 2, 10*time.Minute, map[string]float64{"a": 1}), report(map[string]float64{"a": 1, "b": 2}))
	ts.saveEvidence(ctx, lookAt(start, 2, 9*time.Minute, map[string]float64{"a": 1}), report(map[string]float64{"a": 1, "b": 5, "c": 3}))
	got, err := st.GetEvidence(ctx, "c", "k")
	if err != nil {
		t.Fatal(err)
	}
	var refs map[string]float64
	if err := json.Unmarshal(got.References, &refs); err != nil {
		t.Fatal(err)
	}
	if refs["a"] != 1 || refs["b"] != 2 || refs["c"] != 3 || len(refs) != 3 || got.Looks != 3 || !got.LastLook.Equal(start.Add(10*time.Minute)) || !got.Start.Equal(start) {
		t.Errorf("after two looks over one revision: refs %v, %d looks, last look %v; want a:1 b:2 c:3 (the stored ones win), 3 looks, the later last look", refs, got.Looks, got.LastLook)
	}
	// A look that read the first revision and started anew leaves it.
	ts.saveEvidence(ctx, lookAt(start.Add(time.Hour), 1, 65*time.Minute, nil), report(map[string]float64{"a": 9}))
	if again, err := st.GetEvidence(ctx, "c", "k"); err != nil || again.Revision != got.Revision {
		t.Errorf("a look that started anew over an old revision wrote %+v, %v; want the stored evidence left alone", again, err)
	}
}

func judgeResultWithReference(name string, ref float64) judge.Result {
	return judge.Result{Name: name, Classification: judge.Pass, Test: &judge.TestResult{Reference: ref}}
}

// TestEvidenceDocument: evidence stored before looks were kept (a bare map
// of references) reads as references without looks; evidence without
// looks is still written that way, so that either version reads what the
// other wrote; evidence with looks keeps them.
func TestEvidenceDocument(t *testing.T) {
	old, err := decodeEvidence([]byte(`{"latency": 12.5, "references": 3}`))
	if err != nil || len(old.References) != 2 || old.References["references"] != 3 || old.HorizonLooks != nil {
		t.Fatalf("a bare map: %+v, %v", old, err)
	}
	bare, err := encodeEvidence(evidenceDoc{References: map[string]float64{"latency": 12.5}})
	if err != nil || string(bare) != `{"latency":12.5}` {
		t.Errorf("references without looks are written as %s (%v); want the bare map", bare, err)
	}
	doc := evidenceDoc{References: map[string]float64{"latency": 12.5},
		HorizonLooks: map[string][]judge.HorizonLook{"latency": {{Elapsed: 0.25, Information: 0.2}, {Elapsed: 0.5, Information: 0.45}}}}
	b, err := encodeEvidence(doc)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeEvidence(b)
	if err != nil || back.References["latency"] != 12.5 || len(back.HorizonLooks["latency"]) != 2 || back.HorizonLooks["latency"][1] != doc.HorizonLooks["latency"][1] {
		t.Errorf("with looks: %s reads back as %+v (%v)", b, back, err)
	}
	if _, err := decodeEvidence([]byte(`[1, 2]`)); err == nil {
		t.Error("a list reads as evidence")
	}
}
