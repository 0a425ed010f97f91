package analysis

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

func TestCheckExtent(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	window := func(span, step time.Duration) metrics.Window {
		return metrics.Window{Start: start, End: start.Add(span), Step: step}
	}
	fields := ExtentFields{Step: "step", Lifetime: "lifetime", Interval: "interval"}
	const huge = 2562047 * time.Hour
	for _, tc := range []struct {
		name string
		e    Extent
		want string // "" for within the bounds
	}{
		{"a window at the source's step", Extent{Window: window(30*24*time.Hour, 0)}, ""},
		{"a step of a second", Extent{Window: window(time.Hour, time.Second)}, ""},
		{"11,000 points", Extent{Window: window(11000*time.Second, time.Second)}, ""},
		{"a step of 1ns", Extent{Window: window(time.Hour, time.Nanosecond)}, "step: 1ns is finer than the finest step, 1s"},
		{"a step of 999ms", Extent{Window: window(time.Hour, 999*time.Millisecond)}, "step: 999ms is finer"},
		{"11,001 points", Extent{Window: window(11001*time.Second, time.Second)}, "step: 1s asks 11001 points per query over a window of 3h3m21s, more than 11000; make it at least 2s"},
		{"a day at 1s", Extent{Window: window(24*time.Hour, time.Second)}, "make it at least 8s or the window shorter"},
		{"7 days, 1,000 judgements", Extent{Window: window(MaxLifetime, 0), Lifetime: MaxLifetime, Interval: MaxLifetime / 1000}, ""},
		{"a lifetime of 2562047h", Extent{Window: window(time.Hour, 0), Lifetime: huge, Interval: time.Hour}, "lifetime: 2562047h0m0s is longer than the longest lifetime, 168h0m0s (7 days)"},
		{"an interval of 1ns", Extent{Window: window(time.Hour, 0), Lifetime: time.Hour, Interval: time.Nanosecond}, "interval: 1ns makes 3600000000000 judgements over the lifetime of 1h0m0s, more than 1000; make it at least 4s"},
		{"1,001 judgements", Extent{Window: window(1001*time.Minute, 0), Lifetime: 1001 * time.Minute, Interval: time.Minute}, "interval: 1m0s makes 1001 judgements"},
		{"no interval: one judgement", Extent{Window: window(time.Hour, 0), Lifetime: time.Hour}, ""},
		{"a growing window of a day at 1s", Extent{Window: window(24*time.Hour, time.Second), Lifetime: 24 * time.Hour, Interval: time.Hour}, "step: 1s asks 86400 points per query over a window of 24h0m0s"},
		{"a sliding window of an hour at 1s", Extent{Window: window(24*time.Hour, time.Second), Lifetime: 24 * time.Hour, Interval: time.Hour, Lookback: time.Hour}, ""},
	} {
		err := CheckExtent(tc.e, fields)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var be *BoundError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want a BoundError saying %q", tc.name, err, tc.want)
		}
	}
}

func TestScheduleBounds(t *testing.T) {
	const cfg = "name: c\nsignals:\n  - name: p99\n    query: 'up{track=\"{{.track}}\"}'\nschedules:\n  - cron: \"@every 5m\"\n    baselineScope: {track: b}\n    canaryScope: {track: c}\n"
	for _, tc := range []struct{ extra, want string }{
		{"    step: 15s\n", ""},
		{"    step: 1ns\n", "c.yaml line 9: schedules[0].step: 1ns is finer than the finest step, 1s"},
		{"    lookback: 24h\n    step: 1s\n", "c.yaml line 10: schedules[0].step: 1s asks 86400 points per query"},
	} {
		_, err := ParseConfig("c.yaml", []byte(cfg+tc.extra))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v; want %q", tc.extra, err, tc.want)
		}
	}
}
