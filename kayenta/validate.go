package kayenta

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validateExecutionRequest applies upstream's checks of a single-judgement
// request against its canary config, in upstream's order and with its
// messages: the config has metrics, every scope a metric names is in the
// request, the request has thresholds, every metric names a scope.
func validateExecutionRequest(cfg CanaryConfig, req ExecutionRequest) error {
	if len(cfg.Metrics) == 0 {
		return &UpstreamError{Msg: "The canary config must specify at least one metric. Otherwise we're not analyzing anything. :)"}
	}
	var missing []string
	required := 0
	for _, m := range cfg.Metrics {
		if m.ScopeName == "" {
			continue
		}
		required++
		if _, ok := req.Scopes[m.ScopeName]; !ok && !slices.Contains(missing, m.ScopeName) {
			missing = append(missing, m.ScopeName)
		}
	}
	if required > 0 && req.Scopes == nil {
		return &UpstreamError{Msg: "Canary metrics require scopes, but no scopes were provided in the execution request."}
	}
	if len(missing) > 0 {
		return &UpstreamError{Msg: "Canary metrics require scopes which were not provided in the execution request: [" + strings.Join(missing, ", ") + "]"}
	}
	if req.Thresholds == nil {
		return &UpstreamError{Msg: "Execution request must contain thresholds"}
	}
	for _, m := range cfg.Metrics {
		if m.ScopeName == "" {
			return &UpstreamError{Msg: fmt.Sprintf("Canary scope for metric named '%s' is null.", m.Name)}
		}
	}
	return nil
}

// CanaryDuration is result.canaryDuration of a single judgement: the common
// duration of every control and experiment scope as an ISO-8601 duration
// ("PT1H"), or "" when the scopes differ or a time does not parse.
func CanaryDuration(req ExecutionRequest) string {
	var d time.Duration
	first := true
	for _, sp := range req.Scopes {
		for _, s := range []CanaryScope{sp.ControlScope, sp.ExperimentScope} {
			start, err1 := ParseInstant(s.Start)
			end, err2 := ParseInstant(s.End)
			if err1 != nil || err2 != nil {
				return ""
			}
			if first {
				d, first = end.Sub(start), false
			} else if end.Sub(start) != d {
				return ""
			}
		}
	}
	if first {
		return ""
	}
	return ISODuration(d)
}

// ISODuration formats d like Java's Duration.toString: "PT1H", "PT1H30M",
// "PT0.5S", "PT0S", "PT-1M".
func ISODuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("PT")
	neg := d < 0
	if neg {
		d = -d
	}
	sign := ""
	if neg {
		sign = "-"
	}
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := d % time.Minute
	if h > 0 {
		b.WriteString(sign + strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(sign + strconv.FormatInt(int64(m), 10) + "M")
	}
	if s > 0 {
		secs := strconv.FormatFloat(s.Seconds(), 'f', -1, 64)
		b.WriteString(sign + secs + "S")
	}
	return b.String()
}

// errNoScopes is shared by the standalone helpers.
var errNoScopes = errors.New("canary analysis request must contain at least one scope")
