package judge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// shiftDescriber words a shift of a signal, relative to the baseline median
// when that is not zero and in the signal's own units otherwise.
type shiftDescriber struct {
	name       string
	scale      float64 // |baseline median|
	confidence float64
}

func (d shiftDescriber) rel(v float64) string {
	if d.scale > 0 {
		return signedPercentOf(v / d.scale)
	}
	return signedValue(v)
}

func (d shiftDescriber) interval(lo, hi float64) string {
	return fmt.Sprintf("%s%% CI %s .. %s", strconv.FormatFloat(100*d.confidence, 'f', -1, 64), d.rel(lo), d.rel(hi))
}

// change words a significant shift: "p99 rose 23% (95% CI +15% .. +31%)".
func (d shiftDescriber) change(est, lo, hi float64) string {
	size := d.rel(est)
	if len(size) > 0 && (size[0] == '+' || size[0] == '-') {
		size = size[1:]
	}
	if d.scale == 0 {
		size = "by " + size
	}
	return fmt.Sprintf("%s %s %s (%s)", d.name, riseOrFall(est > 0), size, d.interval(lo, hi))
}

// noChange words an interval that contains zero.
func (d shiftDescriber) noChange(est, lo, hi float64) string {
	return fmt.Sprintf("%s shows no significant change (%s, %s)", d.name, d.rel(est), d.interval(lo, hi))
}

// riseOrFallNoun names a change: "a rise", "a fall".
func riseOrFallNoun(up bool) string {
	if up {
		return "rise"
	}
	return "fall"
}

// allowedOnHarmfulSide words an allowance on the side that is harmful:
// "+10%", "-0.5pp", or "±10%" for direction either.
func allowedOnHarmfulSide(c Change, d Direction) string {
	switch d {
	case Increase:
		return signedChange(c, true)
	case Decrease:
		return signedChange(c, false)
	}
	if c.Points {
		return "±" + strconv.FormatFloat(100*c.Value, 'g', 3, 64) + "pp"
	}
	return "±" + formatPercent(c.Value)
}

func riseOrFall(up bool) string {
	if up {
		return "rose"
	}
	return "fell"
}

// signedPercent formats an allowed change in the harmful direction: +10% or -10%.
func signedPercent(f float64, up bool) string {
	if !up {
		f = -f
	}
	return signedPercentOf(f)
}

// signedPercentOf formats a fraction as a signed percentage, with one
// decimal below 10% and none above: +0.8%, -4.2%, +23%.
func signedPercentOf(f float64) string {
	s := formatPercent(f)
	if f >= 0 {
		s = "+" + s
	}
	return s
}

func formatPercent(f float64) string {
	p := 100 * f
	switch {
	case math.IsInf(p, 1):
		return "∞%"
	case math.IsInf(p, -1):
		return "-∞%"
	case math.IsNaN(p):
		return "NaN%"
	case math.Abs(p) < 10:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	default:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	}
}

// formatValue formats a value with up to four significant digits.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func signedValue(v float64) string {
	s := formatValue(v)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

func formatRatioBound(v float64) string {
	if math.IsInf(v, 1) {
		return "∞"
	}
	return formatValue(v)
}

func boundsText(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("[%s, %s]", formatValue(*lo), formatValue(*hi))
	case lo != nil:
		return "the minimum " + formatValue(*lo)
	default:
		return "the maximum " + formatValue(*hi)
	}
}

// allowedText words the allowance a failed signal was held to.
func allowedText(allowed Change, up bool) string {
	if allowed.Value == 0 {
		return fmt.Sprintf("; no %s is allowed", map[bool]string{true: "rise", false: "fall"}[up])
	}
	return "; allowed " + signedPercent(allowed.Value, up)
}

// formatDuration prints a duration the way people say it: "30s", "5m",
// "1h30m", "2m30s".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if d > 0 {
		fmt.Fprintf(&b, "%ds", d/time.Second)
	}
	return b.String()
}
