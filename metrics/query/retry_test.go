package query

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBackoffHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		deadline   time.Duration // 0: none
		wantCalls  int
		wantWaits  []time.Duration // lower bounds of the waits asked for
		wantErr    string
	}{
		{name: "no header: the backoff's own waits", wantCalls: 3, wantWaits: []time.Duration{0, 0}},
		{name: "waits at least what the source asked", retryAfter: 7 * time.Second, wantCalls: 3, wantWaits: []time.Duration{7 * time.Second, 7 * time.Second}},
		{name: "a wait longer than MaxRetryAfter gives up at once", retryAfter: MaxRetryAfter + time.Second, wantCalls: 1, wantErr: "asked to wait 31s"},
		{name: "a wait past the deadline gives up at once", retryAfter: 20 * time.Second, deadline: time.Hour / 360, wantCalls: 1, wantErr: "after the deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var waits []time.Duration
			b := Backoff{Retries: 2, Initial: time.Millisecond, sleep: func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			calls := 0
			err := b.Do(ctx, func(context.Context) error {
				calls++
				return &Error{Kind: KindRateLimited, Err: errors.New("HTTP 429"), RetryAfter: tt.retryAfter}
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %d of them", waits, len(tt.wantWaits))
			}
			for i, w := range waits {
				if w < tt.wantWaits[i] {
					t.Errorf("wait %d = %s, want at least %s", i, w, tt.wantWaits[i])
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}
