package plan

import (
	"strings"
	"testing"
	"time"
)

func TestParseRamp(t *testing.T) {
	tests := []struct {
		text string
		want []Step
		err  string
	}{
		{text: "1%:15m,5%:30m,25%:1h,50%:1h", want: []Step{{0.01, 15 * time.Minute}, {0.05, 30 * time.Minute}, {0.25, time.Hour}, {0.5, time.Hour}}},
		{text: " 0.5% : 90s , 0.1:1d", want: []Step{{0.005, 90 * time.Second}, {0.1, 24 * time.Hour}}},
		{text: "", err: "the ramp is empty"},
		{text: "5%", err: `step 1 "5%" is not weight:duration`},
		{text: "0%:15m", err: "not a share of the traffic"},
		{text: "100%:15m", err: "not a share of the traffic"},
		{text: "5pp:15m", err: "not a share of the traffic"},
		{text: "5%:0s", err: "not a duration"},
		{text: "5%:soon", err: "not a duration"},
		{text: "5%:8d", err: "longer than the longest step"},
		{text: strings.Repeat("1%:1m,", 20) + "1%:1m", err: "more than 20"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseRamp(tt.text)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRamp(%q) = %v, %v; want an error with %q", tt.text, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseRamp(%q) = %v; want %v", tt.text, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("step %d = %v; want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestStepString(t *testing.T) {
	for _, tt := range []struct {
		step Step
		want string
	}{
		{Step{0.05, 30 * time.Minute}, "5%:30m"},
		{Step{0.005, 90 * time.Minute}, "0.5%:1h30m"},
		{Step{0.25, 48 * time.Hour}, "25%:2d"},
		{Step{0.5, 45 * time.Second}, "50%:45s"},
	} {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%v.String() = %q; want %q", tt.step, got, tt.want)
		}
	}
}
