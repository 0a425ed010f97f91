package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-05T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"make build stamps git describe", "v0.4.0-3-gabcdef1", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"verdict v0.4.0-3-gabcdef1\ngo1.26.8 " + platform + "\n"},
		{"go install module@version", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}},
			"verdict v0.4.0\ngo1.26.8 " + platform + "\n"},
		{"go build in a modified clone", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260105100000-0123456789ab+dirty"}, Settings: vcs},
			"verdict v0.0.0-20260105100000-0123456789ab+dirty\ncommit 0123456789abcdef0123456789abcdef01234567 (2026-01-05T10:00:00Z), modified\ngo1.26.8 " + platform + "\n"},
		{"a clean tree", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs[:3]},
			"verdict dev\ncommit 0123456789abcdef0123456789abcdef01234567 (2026-01-05T10:00:00Z)\ngo1.26.8 " + platform + "\n"},
		{"no build information", "dev", nil, "verdict dev\n" + runtime.Version() + " " + platform + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(tt.stamped, tt.info); got != tt.want {
				t.Errorf("versionText:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	code, out, _ := invoke(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "verdict ") {
		t.Errorf("verdict --version: exit %d, %q", code, out)
	}
}
