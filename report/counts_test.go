package report

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/report/internal/reporttest"
)

// The counts report's signals are judged by the real judge on synthetic
// data (package reporttest), so these tests see what the judge returns.

func TestCountsGolden(t *testing.T) {
	rep, _ := reporttest.Counts()
	for _, tc := range []struct {
		format Format
		file   string
	}{{Table, "counts.table.golden"}, {Markdown, "counts.markdown.golden"}} {
		var b bytes.Buffer
		if err := Write(&b, rep, tc.format); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, b.Bytes())
	}
}

// TestCountCells checks the table's cells of each test of counts: each
// side's events out of its exposure with their share, the ratio or the
// difference in points with its interval, the dispersion above 1, and for
// a histogram's quantile each side's quantile with its share above the
// bound compared.
func TestCountCells(t *testing.T) {
	rep, _ := reporttest.Counts()
	of := func(per string) *regexp.Regexp {
		return regexp.MustCompile(`^[0-9][0-9,]* of [0-9][0-9,]* ` + regexp.QuoteMeta(per) + ` \([0-9.]+%\)$`)
	}
	times := `[0-9]+\.[0-9]{2}×`
	points := `[-+][0-9]+\.[0-9] pp`
	want := map[string][5]*regexp.Regexp{ // baseline, canary, change, interval, p-value
		"http_5xx": {of("http_requests"), of("http_requests"), regexp.MustCompile(`^` + times + `$`),
			regexp.MustCompile(`^` + times + ` \.\. ` + times + `, dispersion 1\.[0-9]+$`), regexp.MustCompile(`^(<0\.0001|0\.[0-9]{4})$`)},
		"checkout": {of("checkouts_started"), of("checkouts_started"), regexp.MustCompile(`^-[0-9]+\.[0-9] pp$`),
			regexp.MustCompile(`^` + points + ` \.\. ` + points + `(, dispersion [0-9.]+)?$`), regexp.MustCompile(`.`)},
		"latency": {regexp.MustCompile(`^p99 [0-9.]+, [0-9.]+% above 0\.5$`), regexp.MustCompile(`^p99 [0-9.]+, [0-9.]+% above 0\.5$`),
			regexp.MustCompile(`^\+[0-9.]+%$`), regexp.MustCompile(`^[-+][0-9.]+% \.\. \+[0-9.]+%$`), regexp.MustCompile(`.`)},
		"latency_slo": {of("above 0.25"), of("above 0.25"), regexp.MustCompile(`^` + times + `$`),
			regexp.MustCompile(`^` + times + ` \.\. ` + times + `(, dispersion [0-9.]+)?$`), regexp.MustCompile(`.`)},
	}
	for _, s := range rep.Signals {
		row := signalRow(s)
		for i, re := range want[s.Name] {
			if !re.MatchString(row[3+i]) {
				t.Errorf("%s: cell %d is %q, want it to match %s", s.Name, 3+i, row[3+i], re)
			}
		}
		for _, c := range row {
			if strings.Contains(c, "median") {
				t.Errorf("%s: a test of counts shows a median: %q", s.Name, c)
			}
		}
	}
}

// TestGroupsNamesMissingSignals checks that a group's score, which counts
// only judged signals, is shown with the signals that had no data: a
// critical signal without data must not hide behind "100".
func TestGroupsNamesMissingSignals(t *testing.T) {
	r := sample()
	r.Signals[1] = judge.Result{Name: "errors", Group: "errors", Critical: true, Classification: judge.NoData, Gate: judge.GateMinSamples,
		Reason: "errors has too little data"}
	for _, format := range []Format{Table, Markdown} {
		var b bytes.Buffer
		if err := Write(&b, r, format); err != nil {
			t.Fatal(err)
		}
		if want := "errors 100 (weight 40; no data for errors)"; !strings.Contains(b.String(), want) {
			t.Errorf("%s lacks %q:\n%s", format, want, b.String())
		}
	}
}

// oldTestKeys are the keys of a test block in verdict/report/v1 before the
// tests of counts came.
var oldTestKeys = map[string]bool{
	"method": true, "pValue": true, "estimate": true, "ciLow": true, "ciHigh": true, "confidence": true, "relativeShift": true,
	"allowed": true, "criticalAllowed": true, "decisionBound": true, "decisionPValue": true, "decisionLevel": true, "adjustedPValue": true,
	"autocorrelation": true, "varianceInflation": true, "baselineRate": true, "canaryRate": true, "rateRatio": true, "ratioLow": true,
	"ratioHigh": true, "quantile": true, "baselineQuantile": true, "canaryQuantile": true, "threshold": true, "thresholdInclusive": true,
	"baselineAbove": true, "canaryAbove": true, "expectedAbove": true, "statistic": true, "min": true, "max": true, "band": true, "effectSize": true,
}

// TestJSONBackwardCompatible checks that the tests of counts only add to
// verdict/report/v1: a report of the older tests has no new key, and a
// test block of counts keeps the keys every block had, with the new
// figures beside them.
func TestJSONBackwardCompatible(t *testing.T) {
	tests := func(r any) []map[string]any {
		var b bytes.Buffer
		var doc struct {
			Signals []struct {
				Name string         `json:"name"`
				Test map[string]any `json:"test"`
			} `json:"signals"`
		}
		if err := json.NewEncoder(&b).Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, s := range doc.Signals {
			if s.Test != nil {
				s.Test["_name"] = s.Name
				out = append(out, s.Test)
			}
		}
		return out
	}
	for _, test := range tests(sample()) {
		for k := range test {
			if !oldTestKeys[k] && k != "_name" {
				t.Errorf("%s: an older test's block has the new key %q", test["_name"], k)
			}
		}
	}
	rep, _ := reporttest.Counts()
	newKeys := map[string][]string{
		"http_5xx":    {"baselineEvents", "canaryEvents", "baselineExposure", "canaryExposure", "per", "dispersion", "strata", "rateRatio", "ratioLow", "ratioHigh"},
		"checkout":    {"baselineEvents", "canaryEvents", "baselineExposure", "canaryExposure", "per", "dispersion", "points", "ciLow", "ciHigh"},
		"latency":     {"baselineEvents", "canaryEvents", "baselineExposure", "canaryExposure", "per", "quantile", "baselineQuantile", "canaryQuantile", "threshold"},
		"latency_slo": {"baselineEvents", "canaryEvents", "baselineExposure", "canaryExposure", "per", "threshold", "rateRatio"},
	}
	for _, test := range tests(rep) {
		name := test["_name"].(string)
		requireKeys(t, name, test, append([]string{"method", "pValue", "estimate", "confidence", "relativeShift"}, newKeys[name]...)...)
		for _, k := range []string{"baselineEvents", "canaryExposure", "threshold", "quantile"} {
			if v, ok := test[k]; ok {
				if _, isNumber := v.(float64); !isNumber {
					t.Errorf("%s: %s is %T, want a number", name, k, v)
				}
			}
		}
	}
}

// TestCountEdgeCases renders the edge cases of the tests of counts as the
// judge returns them (reporttest.EdgeCases): no events on either side,
// none on the baseline, too little traffic, every observation in the first
// bucket, and a canary quantile beyond the last finite bound.
func TestCountEdgeCases(t *testing.T) {
	cases := reporttest.EdgeCases()
	tests := map[string]map[int]string{ // column → text it contains
		"no events":                               {3: "0 of 30,000 requests (0%)", 5: "no events"},
		"none on the baseline":                    {4: "90 of 3,000 requests (3.0%)", 5: "from 0", 6: " .. ∞"},
		"too little traffic":                      {2: "nodata", 3: "3 of 30 requests (10%)"},
		"every observation in the first bucket":   {2: "nodata", 3: "p99 0.099"},
		"a canary quantile beyond the last bound": {4: "p99 1", 6: " .. +∞"},
	}
	for name, cells := range tests {
		t.Run(name, func(t *testing.T) {
			res, ok := cases[name]
			if !ok {
				t.Fatalf("no edge case %q", name)
			}
			row := signalRow(res)
			for col, want := range cells {
				if !strings.Contains(row[col], want) {
					t.Errorf("cell %d is %q, want it to contain %q (row %q; reason %s)", col, row[col], want, row, res.Reason)
				}
			}
			for _, c := range row {
				if strings.Contains(c, "++") || strings.Contains(c, "NaN") || strings.Contains(c, "Inf") {
					t.Errorf("cell %q", c)
				}
			}
			rep := sample()
			rep.Signals = []judge.Result{res}
			for _, f := range Formats {
				if err := Write(io.Discard, rep, f); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}
}
