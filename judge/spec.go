package judge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Direction says which change of a signal is harmful.
type Direction string

// The directions a signal can be judged in.
const (
	Increase Direction = "increase" // a rise is bad (latency, errors)
	Decrease Direction = "decrease" // a fall is bad (throughput, hit ratio)
	Either   Direction = "either"   // any change is bad
)

// UnmarshalText accepts increase, decrease or either.
func (d *Direction) UnmarshalText(text []byte) error {
	switch v := Direction(text); v {
	case Increase, Decrease, Either:
		*d = v
		return nil
	}
	return fmt.Errorf("%q is not a direction (want increase, decrease or either)", text)
}

// Method names the test that judges a signal.
type Method string

// The tests a signal can be judged with.
const (
	MannWhitney Method = "mann-whitney" // distributions compared by rank (default)
	Threshold   Method = "threshold"    // a statistic of the canary against fixed bounds
	Rate        Method = "rate"         // event counts compared as Poisson rates
	Quantile    Method = "quantile"     // a high quantile (p99) compared by exceedances of the pooled quantile
	Proportion  Method = "proportion"   // successes out of trials (checkout completion, login success)
	Histogram   Method = "histogram"    // request-level distributions from histogram buckets
)

// UnmarshalText accepts mann-whitney, threshold, rate, quantile, proportion or histogram.
func (m *Method) UnmarshalText(text []byte) error {
	switch v := Method(text); v {
	case MannWhitney, Threshold, Rate, Quantile, Proportion, Histogram:
		*m = v
		return nil
	}
	return fmt.Errorf("%q is not a test (want mann-whitney, threshold, rate, quantile, proportion or histogram)", text)
}

// NaNPolicy says what preprocessing does with NaN observations.
type NaNPolicy string

// The NaN policies.
const (
	NaNRemove NaNPolicy = "remove" // drop NaN points (default)
	NaNZero   NaNPolicy = "zero"   // count a NaN point as 0 (for counters with gaps)
)

// UnmarshalText accepts remove or zero.
func (p *NaNPolicy) UnmarshalText(text []byte) error {
	switch v := NaNPolicy(text); v {
	case NaNRemove, NaNZero:
		*p = v
		return nil
	}
	return fmt.Errorf("%q is not a NaN policy (want remove or zero)", text)
}

// OutlierPolicy says whether preprocessing removes outliers.
type OutlierPolicy string

// The outlier policies.
const (
	OutliersKeep   OutlierPolicy = "keep"   // default
	OutliersRemove OutlierPolicy = "remove" // drop points beyond the IQR fences (factor 3)
)

// UnmarshalText accepts keep or remove.
func (p *OutlierPolicy) UnmarshalText(text []byte) error {
	switch v := OutlierPolicy(text); v {
	case OutliersKeep, OutliersRemove:
		*p = v
		return nil
	}
	return fmt.Errorf("%q is not an outlier policy (want keep or remove)", text)
}

// Statistic names the statistic a threshold test reads from the canary.
type Statistic string

// The statistics a threshold test can use.
const (
	StatMean   Statistic = "mean"
	StatMedian Statistic = "median"
	StatP90    Statistic = "p90"
	StatP95    Statistic = "p95"
	StatP99    Statistic = "p99"
	StatMax    Statistic = "max"
)

// UnmarshalText accepts mean, median, p90, p95, p99 or max.
func (s *Statistic) UnmarshalText(text []byte) error {
	switch v := Statistic(text); v {
	case StatMean, StatMedian, StatP90, StatP95, StatP99, StatMax:
		*s = v
		return nil
	}
	return fmt.Errorf("%q is not a statistic (want mean, median, p90, p95, p99 or max)", text)
}

// Change is an allowed or critical change of a signal. It is relative to
// the baseline's value ("10%", or a bare fraction below 1 such as 0.10) or,
// for the proportion test, in percentage points ("0.5pp": the canary's
// success ratio may fall from 99.0% to 98.5%).
type Change struct {
	// Value is the change as a fraction: 0.10 for 10%, 0.005 for 0.5pp.
	Value float64
	// Points says that Value is in percentage points, not relative.
	Points bool
}

// Rel is a relative change: Rel(0.1) is 10%.
func Rel(f float64) Change { return Change{Value: f} }

// UnmarshalText parses "10%", "2.5%", "0.5pp" or a bare fraction below 1
// ("0.1"). Negative values are refused, and so is a bare number of 1 or
// more: "allowedChange: 10" would mean 1000%, which nobody means, so it asks
// for "10%".
func (c *Change) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	var unit string
	switch {
	case strings.HasSuffix(s, "pp"):
		s, unit = strings.TrimSpace(strings.TrimSuffix(s, "pp")), "pp"
	case strings.HasSuffix(s, "%"):
		s, unit = strings.TrimSpace(strings.TrimSuffix(s, "%")), "%"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q is not a change: write a percentage (\"10%%\"), percentage points (\"0.5pp\") or a fraction below 1 (0.10)", text)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative; give the size of the change", text)
	}
	switch unit {
	case "pp":
		if v > 100 {
			return fmt.Errorf("%q is more than 100 percentage points", text)
		}
		*c = Change{Value: v / 100, Points: true}
	case "%":
		*c = Change{Value: v / 100}
	default:
		if v >= 1 {
			return fmt.Errorf("%s is ambiguous: write %s%% for %s per cent (a bare number is a fraction, and %s would mean %s%%)", s, s, s, s, strconv.FormatFloat(100*v, 'f', -1, 64))
		}
		*c = Change{Value: v}
	}
	return nil
}

// String formats the change: "10%" or "0.5pp".
func (c Change) String() string {
	if c.Points {
		return strconv.FormatFloat(100*c.Value, 'f', -1, 64) + "pp"
	}
	return formatPercent(c.Value)
}

// Spec is the part of a signal's configuration that the judge reads.
// The zero value of each field is replaced by its default in WithDefaults.
type Spec struct {
	// Name is the signal's name, used in reasons.
	Name string `yaml:"name"`
	// Group is the scoring group; the judge only copies it into the result.
	Group string `yaml:"group"`
	// Direction says which change is harmful (default Either).
	Direction Direction `yaml:"direction"`
	// AllowedChange is the relative shift, against the baseline median (or
	// baseline rate for the rate test), tolerated before the signal fails.
	AllowedChange Change `yaml:"allowedChange"`
	// CriticalChange, when set, is the relative shift beyond which the whole
	// canary fails. Nil means no such bound.
	CriticalChange *Change `yaml:"criticalChange"`
	// Critical makes any failure of this signal fail the canary.
	Critical bool `yaml:"critical"`
	// MustHaveData makes missing data a failure of the signal instead of nodata.
	MustHaveData bool `yaml:"mustHaveData"`
	// MinSamples is the number of points each side needs after cleaning
	// (default 10); fewer gives nodata.
	MinSamples int `yaml:"minSamples"`
	// NaN is the NaN policy (default remove).
	NaN NaNPolicy `yaml:"nan"`
	// Outliers is the outlier policy (default keep).
	Outliers OutlierPolicy `yaml:"outliers"`
	// Test is the method (default mann-whitney).
	Test Method `yaml:"test"`
	// Statistic is the canary statistic a threshold test checks (default mean).
	Statistic Statistic `yaml:"statistic"`
	// Min and Max bound the canary statistic of a threshold test.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// Quantile is the quantile a quantile test compares, in [0.5, 1)
	// (default DefaultQuantile, the 99th percentile), or the one a
	// histogram test compares, in (0, 1).
	Quantile *float64 `yaml:"quantile"`

	// Exposure names the input series a rate test's events are out of
	// (requests for errors), window by window; empty compares counts per
	// window of same-size sides.
	Exposure string `yaml:"exposure"`
	// Trials names the input series a proportion test's successes are out of.
	Trials string `yaml:"trials"`
	// Above is the bound, in the histogram's unit, that a histogram test
	// compares the share of observations beyond (the SLO bucket: requests
	// slower than 0.3 s); it must be one of the bucket bounds.
	Above *float64 `yaml:"above"`
	// RequireEvidence makes a pass need evidence: the harmful side's bound
	// at the decision level within allowedChange ("the data rule out a
	// rise above +4%"); a signal that shows no harm but not that either has
	// no verdict yet (nodata, gate undecided), with how much longer it
	// needs. Off, a pass means "no significant harm".
	RequireEvidence bool `yaml:"requireEvidence"`
	// MinExposure is the exposure (requests, trials, observations) each side
	// of a rate test with exposure, a proportion or a histogram test needs
	// (default DefaultMinExposure); less gives nodata.
	MinExposure float64 `yaml:"minExposure"`
}

// DefaultQuantile is the quantile a quantile test compares when none is set.
const DefaultQuantile = 0.99

// DefaultMinSamples is the number of points per side below which a signal has no data.
const DefaultMinSamples = 10

// OutlierFactor is the IQR multiple beyond which a point is an outlier.
const OutlierFactor = 3.0

// WithDefaults returns s with every unset field given its default.
func (s Spec) WithDefaults() Spec {
	if s.Direction == "" {
		s.Direction = Either
	}
	if s.MinSamples == 0 {
		s.MinSamples = DefaultMinSamples
	}
	if s.NaN == "" {
		s.NaN = NaNRemove
	}
	if s.Outliers == "" {
		s.Outliers = OutliersKeep
	}
	if s.Test == "" {
		s.Test = MannWhitney
	}
	if s.Test == Threshold && s.Statistic == "" {
		s.Statistic = StatMean
	}
	if s.Test == Quantile && s.Quantile == nil {
		q := DefaultQuantile
		s.Quantile = &q
	}
	if s.MinExposure == 0 {
		s.MinExposure = DefaultMinExposure
	}
	return s
}

// Check reports the first inconsistency in s (after defaults) as an error
// naming the offending field. It does not look at data.
func (s Spec) Check() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("name: a signal needs a name")
	case s.MinSamples < 2:
		return fmt.Errorf("minSamples: %d is too small; at least 2 points per side are needed", s.MinSamples)
	case s.CriticalChange != nil && s.CriticalChange.Points == s.AllowedChange.Points && s.CriticalChange.Value < s.AllowedChange.Value:
		return fmt.Errorf("criticalChange: %s is below allowedChange %s", s.CriticalChange, s.AllowedChange)
	}
	if s.Test == Threshold {
		if s.Min == nil && s.Max == nil {
			return fmt.Errorf("test: a threshold test needs min, max or both")
		}
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			return fmt.Errorf("min: %g is above max %g", *s.Min, *s.Max)
		}
	} else {
		switch {
		case s.Min != nil:
			return fmt.Errorf("min: only a threshold test takes min (this signal's test is %s)", s.Test)
		case s.Max != nil:
			return fmt.Errorf("max: only a threshold test takes max (this signal's test is %s)", s.Test)
		case s.Statistic != "":
			return fmt.Errorf("statistic: only a threshold test takes a statistic (this signal's test is %s)", s.Test)
		}
	}
	if err := s.checkCounts(); err != nil {
		return err
	}
	if s.Quantile != nil && s.Test == Histogram {
		if q := *s.Quantile; !(q > 0 && q < 1) {
			return fmt.Errorf("quantile: %g is not in (0, 1) (for the 99th percentile write 0.99)", q)
		}
	} else if s.Quantile != nil {
		if s.Test != Quantile {
			return fmt.Errorf("quantile: only a quantile or histogram test takes a quantile (this signal's test is %s; set test: quantile)", s.Test)
		}
		if q := *s.Quantile; !(q >= 0.5 && q < 1) {
			return fmt.Errorf("quantile: %g is not in [0.5, 1) (for the 99th percentile write 0.99)", q)
		}
	}
	return nil
}

// checkCounts checks the settings of the tests of counts: which test takes
// an exposure, trials or a bound, and which change each can allow.
func (s Spec) checkCounts() error {
	switch {
	case s.Exposure != "" && s.Test != Rate:
		return fmt.Errorf("exposure: only a rate test takes an exposure (this signal's test is %s; a proportion takes trials)", s.Test)
	case s.Trials != "" && s.Test != Proportion:
		return fmt.Errorf("trials: only a proportion test takes trials (this signal's test is %s; a rate takes an exposure)", s.Test)
	case s.Test == Proportion && s.Trials == "":
		return fmt.Errorf("trials: a proportion test needs trials: the series its successes are out of (checkouts started for checkouts completed)")
	case s.Above != nil && s.Test != Histogram:
		return fmt.Errorf("above: only a histogram test takes above (this signal's test is %s)", s.Test)
	case s.Test == Histogram && s.Above != nil && s.Quantile != nil:
		return fmt.Errorf("above: a histogram test compares either the share above a bound (above) or a quantile (quantile), not both; make two signals")
	case s.Above != nil && (math.IsNaN(*s.Above) || math.IsInf(*s.Above, 0)):
		return fmt.Errorf("above: %g is not a bucket bound", *s.Above)
	case s.MinExposure < 0:
		return fmt.Errorf("minExposure: %g is negative", s.MinExposure)
	}
	if s.Test != Proportion {
		if s.AllowedChange.Points {
			return fmt.Errorf("allowedChange: %s is in percentage points, which only a proportion test takes; give a relative change (10%%)", s.AllowedChange)
		}
		if s.CriticalChange != nil && s.CriticalChange.Points {
			return fmt.Errorf("criticalChange: %s is in percentage points, which only a proportion test takes; give a relative change (50%%)", s.CriticalChange)
		}
	}
	if s.CriticalChange != nil && s.CriticalChange.Points != s.AllowedChange.Points && s.AllowedChange.Value > 0 {
		return fmt.Errorf("criticalChange: %s and allowedChange %s must both be relative or both in percentage points", s.CriticalChange, s.AllowedChange)
	}
	return nil
}
