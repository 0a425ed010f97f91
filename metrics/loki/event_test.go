package loki

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/metrics"
)

func TestLevelOf(t *testing.T) {
	for verdict, want := range map[string]string{"pass": LevelInfo, "marginal": LevelWarning, "none": LevelWarning, "fail": LevelError, "": LevelWarning} {
		if got := LevelOf(verdict); got != want {
			t.Errorf("LevelOf(%q) = %q, want %q", verdict, got, want)
		}
	}
}

// TestEventLineIsBounded builds the largest event a request can cause
// (scopes of many long keys and values full of characters JSON escapes,
// a long reason, many failed signals) and checks that its line stays
// under MaxEventBytes, stays valid JSON, and marks every cut; an ordinary
// event is left as it is.
func TestEventLineIsBounded(t *testing.T) {
	hostile := strings.Repeat("<\"\\\x01\u2028é", 5000)
	scope := metrics.Scope{}
	for i := range 100 {
		scope[fmt.Sprintf("%s%03d", hostile, i)] = hostile
	}
	var failed []string
	for i := range 500 {
		failed = append(failed, fmt.Sprintf("%s%d", hostile, i))
	}
	e := Event{Level: LevelError, Config: hostile, Origin: hostile, Verdict: "fail", Reason: hostile, Report: hostile, ReportURL: hostile,
		Scopes: map[string]metrics.Scope{"baseline": scope, "canary": scope, "extra": scope}, Failed: failed}
	line, err := json.Marshal(e.bounded())
	if err != nil {
		t.Fatal(err)
	}
	if len(line) > MaxEventBytes {
		t.Fatalf("the line has %d bytes, more than MaxEventBytes (%d)", len(line), MaxEventBytes)
	}
	if !utf8.Valid(line) {
		t.Fatal("the line is not valid UTF-8: a cut split a rune")
	}
	var back Event
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Scopes) != 2 || back.Scopes["extra"] != nil {
		t.Errorf("roles %v, want baseline and canary only", len(back.Scopes))
	}
	if got := back.Scopes["canary"]["…"]; got != "84 more" {
		t.Errorf("dropped keys are counted as %q, want \"84 more\"", got)
	}
	if len(back.Failed) != maxFailedNames || back.FailedCount != 500 {
		t.Errorf("%d failed names and a count of %d, want %d and 500", len(back.Failed), back.FailedCount, maxFailedNames)
	}
	for _, s := range []string{back.Config, back.Reason, back.Origin, back.ReportURL, back.Failed[0]} {
		if !strings.HasSuffix(s, "…") {
			t.Errorf("%.40q... is cut without a mark", s)
		}
	}

	plain := Event{Level: LevelInfo, Config: "checkout", Verdict: "pass", Reason: "all 3 signals pass", Report: "01J", ReportURL: "https://verdict.example/analyses/01J",
		Scopes: map[string]metrics.Scope{"baseline": {"track": "baseline"}, "canary": {"track": "canary"}}, Failed: []string{"p99"}}
	got, _ := json.Marshal(plain.bounded())
	plain.FailedCount = 1 // the one thing bounded adds
	want, _ := json.Marshal(plain)
	if string(got) != string(want) {
		t.Errorf("an ordinary event changed:\n got %s\nwant %s", got, want)
	}
}
