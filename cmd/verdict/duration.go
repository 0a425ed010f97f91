package main

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/verdict-aca/verdict/analysis"
)

// duration is a flag's time span, written as Go ("1m30s", "250ms") or
// Prometheus ("5m", "1d", "1w", "1y": a day is 24h, a week 7d, a year
// 365d) writes it, as config durations are (analysis.Duration). Negative
// spans are refused.
type duration time.Duration

func (d *duration) Set(s string) error {
	var v analysis.Duration
	if err := v.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%q is not a duration such as 30s, 5m, 1h or 1d", s)
	}
	*d = duration(v)
	return nil
}

// String writes the span as Prometheus does ("1d", "1h30m"); zero is "",
// so help texts show no default for it.
func (d duration) String() string {
	if d == 0 {
		return ""
	}
	return model.Duration(d).String()
}

func (*duration) Type() string { return "duration" }
