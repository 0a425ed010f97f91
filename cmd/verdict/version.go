package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// readBuildInfo is the build information the Go toolchain embedded, or nil.
func readBuildInfo() *debug.BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return info
}

// versionText is what `verdict version` prints: the version stamped at
// build time (make build: git describe) or else the module version the
// toolchain recorded (go install ...@v1.2.0 records v1.2.0; go build in a
// clone records a pseudo-version from the commit), then the commit, its
// time and "modified" when the tree had uncommitted changes (recorded by
// go build in a git clone), and the Go version and platform.
func versionText(stamped string, info *debug.BuildInfo) string {
	v := stamped
	if (v == "" || v == "dev") && info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s\n", v)
	goVersion := runtime.Version()
	if info != nil {
		goVersion = info.GoVersion
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			fmt.Fprintf(&b, "commit %s", rev)
			if t := settings["vcs.time"]; t != "" {
				fmt.Fprintf(&b, " (%s)", t)
			}
			if settings["vcs.modified"] == "true" {
				b.WriteString(", modified")
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
