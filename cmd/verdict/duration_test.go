package main

import (
	"strings"
	"testing"
	"time"
)

func TestDurationFlag(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10s", 10 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"1.5h", 90 * time.Minute, false},
		{"1d", 24 * time.Hour, false},
		{"1w", 7 * 24 * time.Hour, false},
		{"1y", 365 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"0", 0, false},
		{"-5m", 0, true},
		{"5", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d duration
			err := d.Set(tt.in)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), "is not a duration such as 30s, 5m, 1h or 1d") {
					t.Errorf("Set(%q) = %v, %v; want an error", tt.in, time.Duration(d), err)
				}
				return
			}
			if err != nil || time.Duration(d) != tt.want {
				t.Errorf("Set(%q) = %v, %v; want %v", tt.in, time.Duration(d), err, tt.want)
			}
		})
	}
	for d, want := range map[time.Duration]string{0: "", 20 * time.Second: "20s", 24 * time.Hour: "1d", 90 * time.Minute: "1h30m"} {
		if got := duration(d).String(); got != want {
			t.Errorf("duration(%v).String() = %q, want %q", d, got, want)
		}
	}
}

// TestDurationFlagsWired: the commands' duration flags take Prometheus
// durations and refuse negative ones as usage errors.
func TestDurationFlagsWired(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "counts.yaml", "signals:\n  - name: errors\n    test: rate\n    query: 'sum(increase(errors{track=\"{{.track}}\"}[{{.step}}]))'\n")
	code, out, errOut := invoke(t, "validate", "--config", cfg, "--baseline-scope", "track=baseline", "--canary-scope", "track=canary", "--step", "1d")
	if code != 0 || !strings.Contains(out, "[1d]") {
		t.Errorf("validate --step 1d: exit %d, %q, %q", code, out, errOut)
	}
	for _, args := range [][]string{
		{"analyze", "--config", cfg, "--baseline-scope", "track=b", "--canary-scope", "track=c", "--lookback", "-1h"},
		{"serve", "--lease", "-30s"},
	} {
		code, _, errOut := invoke(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "is not a duration such as 30s, 5m, 1h or 1d") {
			t.Errorf("%v: exit %d, %q; want a usage error", args, code, errOut)
		}
	}
}
