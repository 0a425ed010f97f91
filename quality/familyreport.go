package quality

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Targets of the 10-signal family.
const (
	FamilyFailTarget     = 0.01 // A/A canaries judged fail, at most
	FamilyNotPassTarget  = 0.05 // A/A canaries judged fail or marginal, at most
	FamilyLatencyTarget  = 0.95 // critical latency +10% judged fail, at least
	FamilyZeroBaseTarget = 0.99 // 5xx from a zero-error baseline judged fail, at least
)

// FindFamily returns a judge's row of a scenario.
func FindFamily(rows []FamilyRow, judgeName string, s FamilyScenario) (FamilyRow, bool) {
	for _, r := range rows {
		if r.Judge == judgeName && r.Scenario == s {
			return r, true
		}
	}
	return FamilyRow{}, false
}

// FamilyChecks evaluates the family's targets on the default judge, then
// compares it with Kayenta on every regression: the regressed signal
// flagged (high after scoring) at least as often as Kayenta flags it.
func FamilyChecks(rows []FamilyRow) []Check {
	var out []Check
	aa := FamilyScenario{}
	if r, ok := FindFamily(rows, JudgeVerdict, aa); ok {
		out = append(out,
			Check{Name: "10-signal family, A/A canaries judged fail", Rate: r.FailRate(), Target: FamilyFailTarget, Max: true},
			Check{Name: "10-signal family, A/A canaries judged fail or marginal", Rate: r.NotPassRate(), Target: FamilyNotPassTarget, Max: true})
	}
	for _, s := range FamilyScenarios(true)[1:3] {
		if r, ok := FindFamily(rows, JudgeVerdict, s); ok {
			target := FamilyLatencyTarget
			if s.Effect.Kind == ErrorRate {
				target = FamilyZeroBaseTarget
			}
			out = append(out, Check{Name: fmt.Sprintf("10-signal family, %s at %d points: canary judged fail", s.Label(), FamilySize), Rate: r.FailRate(), Target: target})
		}
	}
	for _, r := range rows {
		if r.Judge != JudgeVerdict || r.Scenario.Signal == "" {
			continue
		}
		k, ok := FindFamily(rows, JudgeKayenta, r.Scenario)
		if !ok {
			continue
		}
		out = append(out, Check{Name: fmt.Sprintf("10-signal family, %s: regressed signal flagged no less often than by Kayenta (%s)", r.Scenario.Label(), k.SignalRate()),
			Rate: r.SignalRate(), Target: k.SignalRate().Value})
	}
	return out
}

// FamilyTable is the study's table: every scenario, both judges.
func FamilyTable(rows []FamilyRow) string {
	var b strings.Builder
	b.WriteString("| scenario | canaries | verdict: fail | verdict: fail or marginal | verdict: signal flagged | kayenta: fail | kayenta: fail or marginal | kayenta: signal flagged |\n|---|---:|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.Judge != JudgeVerdict {
			continue
		}
		k, _ := FindFamily(rows, JudgeKayenta, r.Scenario)
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", r.Scenario.Label(), r.Canaries,
			r.FailRate(), r.NotPassRate(), r.SignalRate(), k.FailRate(), k.NotPassRate(), k.SignalRate())
	}
	b.WriteString("\n")
	return b.String()
}

// FamilyMembersTable lists the family's signals.
func FamilyMembersTable() (string, error) {
	f, err := newFamily()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| signal | group | test | critical | allowedChange | what it is |\n|---|---|---|---|---|---|\n")
	for i, s := range f.cfg.Signals {
		crit, allowed := "", "–"
		if s.Critical {
			crit = "yes"
		}
		if v := s.AllowedChange.Value; v > 0 {
			allowed = fmt.Sprintf("%g%%", 100*v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", s.Name, s.Group, s.Test, crit, allowed, f.members[i].description)
	}
	b.WriteString("\n")
	return b.String(), nil
}

// FamilySummary is the plain-text digest `quality -study consequence` prints.
func FamilySummary(rows []FamilyRow) string { return FamilyTable(rows) }

// FamilyMeta describes a run of the family study for its generated section.
type FamilyMeta struct {
	Meta
	Config FamilyConfig
}

// Markers of the family study's generated section of quality.md.
const (
	BeginFamily = "<!-- BEGIN GENERATED consequence study by quality/cmd/quality: do not edit by hand -->"
	EndFamily   = "<!-- END GENERATED consequence study -->"
)

// FamilyGenerated is the family study's generated section.
func FamilyGenerated(rows []FamilyRow, m FamilyMeta) (string, error) {
	members, err := FamilyMembersTable()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nCommand: `make quality-docs`, or this study alone: `go run ./quality/cmd/quality -study consequence -write -seed %d`. Machine: %s, %s, GOMAXPROCS %d; wall time %s%s. %d A/A canaries, %d per regression of a critical signal, %d per other regression; %d points a side.\n\n",
		m.Seed, m.Machine, m.GoVersion, m.GOMAXPROCS, m.Elapsed, m.when(), m.Config.NullRuns, m.Config.CriticalRuns, m.Config.SignalRuns, FamilySize)
	b.WriteString("#### Targets\n\n")
	for _, c := range FamilyChecks(rows) {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	b.WriteString("\n#### The canary\n\n")
	b.WriteString(members)
	b.WriteString("#### Every scenario\n\n")
	b.WriteString("Rates with Wilson 95% intervals. *fail or marginal* counts none too (none stops a rollout as well); *signal flagged*: the regressed signal classified high after scoring (A/A rows: any of the ten, per signal).\n\n")
	b.WriteString(FamilyTable(rows))
	return b.String(), nil
}

// WriteFamilyDocs writes the family study's generated section of
// dir/quality.md, leaving the rest of the document alone.
func WriteFamilyDocs(dir string, rows []FamilyRow, m FamilyMeta) error {
	section, err := FamilyGenerated(rows, m)
	if err != nil {
		return err
	}
	return writeSection(filepath.Join(dir, "quality.md"), BeginFamily, EndFamily, section)
}

// writeSection replaces one generated section of the Markdown file md.
func writeSection(md, begin, end, section string) error {
	old, err := os.ReadFile(md)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", md, err)
	}
	doc, err := replaceSection(string(old), begin, end, section)
	if err != nil {
		return fmt.Errorf("%s: %w", md, err)
	}
	if err := os.WriteFile(md, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", md, err)
	}
	return nil
}
