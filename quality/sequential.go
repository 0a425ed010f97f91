package quality

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/scoring"
)

// Modes of the multi-interval study.
const (
	SeqFixed      = "verdict"            // every look judged at the configured level
	SeqSequential = "verdict sequential" // judge.Options.Look/Looks: the level spent across looks
	SeqKayenta    = "kayenta"            // the Kayenta judge at every look
)

// SeqRow is one cell of the multi-interval study: runs of Looks cumulative
// looks (the window grows by N/Looks points per side each time), stopped at
// the first look judged fail, as analysis.RunIntervals does.
type SeqRow struct {
	Family  string
	N       int // points per side at the last look
	Looks   int
	Signals int
	Effect  Effect
	Mode    string
	// Runs judged; Fail those stopped by a fail at some look; NotPass those
	// whose run verdict is not pass (a fail at some look, or a marginal last look).
	Runs, Fail, NotPass int
}

// seqSettings are the study's fixed settings.
const (
	seqFamily = "lognormal-0.3"
	seqN      = 360
	seqLooks  = 6
)

// RunSequential measures how repeated looks inflate false alarms, and what
// the sequential mode keeps, on lognormal σ = 0.3 signals, 360 points per
// side at the end, 6 looks.
func RunSequential(ctx context.Context, cfg Config) ([]SeqRow, error) {
	f, _ := FamilyByName(seqFamily)
	runs := map[int]int{1: cfg.SeqRuns, 10: max(cfg.SeqRuns/10, 1)}
	var out []SeqRow
	if cfg.SeqRuns <= 0 {
		return nil, nil
	}
	for _, k := range []int{1, 10} {
		for _, e := range []Effect{{Kind: None}, {Kind: Median, Size: 0.10}} {
			n := runs[k]
			if e.Kind != None {
				n = cfg.SeqEffectReps
			}
			rows, err := seqScenario(ctx, cfg, f, k, e, n)
			if err != nil {
				return nil, err
			}
			out = append(out, rows...)
		}
	}
	return out, nil
}

type seqOutcome struct{ fail, notPass [3]bool }

func seqScenario(ctx context.Context, cfg Config, f Family, k int, e Effect, runs int) ([]SeqRow, error) {
	outcomes := make([]seqOutcome, runs)
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(cfg.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outcomes[i] = seqRun(cfg, f, k, e, i)
			}
		}()
	}
	var err error
	for i := range runs {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("multi-interval study: %w", err)
	}
	var rows []SeqRow
	for m, mode := range []string{SeqFixed, SeqSequential, SeqKayenta} {
		row := SeqRow{Family: f.Name, N: seqN, Looks: seqLooks, Signals: k, Effect: e, Mode: mode, Runs: runs}
		for _, o := range outcomes {
			if o.fail[m] {
				row.Fail++
			}
			if o.notPass[m] {
				row.NotPass++
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// seqRun draws one canary's full series and judges it at every look in the three modes.
func seqRun(cfg Config, f Family, k int, e Effect, rep int) seqOutcome {
	tail := [2]float64{}
	r := rand.New(rand.NewPCG(cfg.Seed^0x5e9, uint64(k)<<40^uint64(len(e.Kind))<<32^uint64(rep)))
	base := make([][]float64, k)
	can := make([][]float64, k)
	for s := range k {
		eff := Effect{Kind: None}
		if s == 0 {
			eff = e
		}
		base[s], can[s] = f.Pair(r, seqN, eff, tail)
	}
	spec := DefaultSpec(f)
	kp := KayentaParams()
	var o seqOutcome
	var stopped [3]bool
	for look := 1; look <= seqLooks; look++ {
		m := seqN * look / seqLooks
		opts := [2]judge.Options{
			{Confidence: cfg.Confidence},
			{Confidence: cfg.Confidence, Look: look, Looks: seqLooks},
		}
		var verdicts [3]string
		for mode := range 2 {
			if stopped[mode] {
				continue
			}
			res := make([]judge.Result, k)
			for s := range k {
				res[s] = judge.Judge(spec, base[s][:m], can[s][:m], opts[mode])
			}
			verdicts[mode] = string(scoring.Score(scoring.Spec{Thresholds: scoring.DefaultThresholds()}, res).Verdict)
		}
		if !stopped[2] {
			kr := make([]kayenta.AnalysisResult, k)
			for s := range k {
				kr[s] = ClassifyKayenta(base[s][:m], can[s][:m], kp)
			}
			v := kayenta.ScoreResults(kayentaConfig(), KayentaThresholds(), kr).Score.Classification
			verdicts[2] = map[string]string{kayenta.ScorePass: "pass", kayenta.ScoreMarginal: "marginal", kayenta.ScoreFail: "fail"}[v]
		}
		for mode := range 3 {
			if stopped[mode] {
				continue
			}
			switch {
			case verdicts[mode] == "fail":
				o.fail[mode], o.notPass[mode], stopped[mode] = true, true, true
			case look == seqLooks:
				o.notPass[mode] = verdicts[mode] != "pass"
			}
		}
	}
	return o
}

// SequentialTable renders the multi-interval study as Markdown.
func SequentialTable(rows []SeqRow) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d points per side at the last of %d cumulative looks; a run stops at the first look judged fail.\n\n", rows[0].Family, rows[0].N, rows[0].Looks)
	b.WriteString("| signals | scenario | mode | runs stopped by a fail | runs not passing |\n|---:|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", r.Signals, r.Effect.EffectLabel(), r.Mode, Wilson(r.Fail, r.Runs), Wilson(r.NotPass, r.Runs))
	}
	b.WriteString("\n")
	return b.String()
}
