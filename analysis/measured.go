package analysis

import (
	"fmt"
	"math"
	"slices"

	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// Before a verdict means anything, the canary must be measured: it received
// traffic, it received the share of traffic the rollout gave it, and the
// baseline's and the canary's queries read different series. checkMeasured
// turns a failed check into the verdict none with a reason naming it; it
// never turns anything into a pass.
//
// The traffic split test (a sample-ratio-mismatch test, as online
// experiments run before reading their results) compares, for each signal
// with an exposure (requests, trials, histogram observations), the canary's
// share of both sides' exposure with the expected canary weight: a
// mismatch is a share whose binomial z-score is beyond ±3.29 (two-sided p <
// 0.001) and that is more than 25% away from the weight in either
// direction (below 0.8× or above 1.25×). The count tests compare rates per
// request and are valid whatever the split, so the test is there to catch a
// canary that is not getting the traffic the rollout thinks it sends (a
// wrong scope, a route not applied), not routing noise; hence the
// tolerance, without which millions of requests would flag a 5.1% split
// against 5%.
const (
	mismatchZ         = 3.29
	mismatchTolerance = 1.25
)

// checkMeasured applies the checks to a scored report whose Series are set.
// weight is the expected canary share of the two sides' traffic, 0 when
// unknown. live says the series came from queries: only then is one series
// read for both sides a mistake of the scopes (files and requests may well
// judge the same numbers twice, as an A/A check does).
func (rep *Report) checkMeasured(weight float64, live bool) {
	if reason := rep.notMeasured(weight, live); reason != "" {
		rep.Verdict, rep.Score = scoring.None, nil
		rep.Reason = "no verdict: " + reason
	}
}

func (rep *Report) notMeasured(weight float64, live bool) string {
	// The queries of a signal read the same series on both sides.
	for i, s := range rep.Series {
		if !live {
			break
		}
		if readTwice(s) {
			name := s.Name
			if i < len(rep.Signals) {
				name = rep.Signals[i].Name
			}
			return fmt.Sprintf("the baseline and the canary of %s read the same series: the scopes do not tell them apart (check the label the scope sets, such as track)", name)
		}
	}
	// The canary received no traffic.
	counted, idle := 0, 0
	var firstIdle judge.Result
	for _, r := range rep.Signals {
		t := r.Test
		if t == nil || t.CanaryExposure == nil || t.BaselineExposure == nil {
			continue
		}
		counted++
		if *t.CanaryExposure == 0 && *t.BaselineExposure > 0 {
			if idle == 0 {
				firstIdle = r
			}
			idle++
		}
	}
	if counted > 0 && idle == counted {
		t := firstIdle.Test
		return fmt.Sprintf("the canary received no traffic: %s counted 0 %s on the canary and %s on the baseline", firstIdle.Name, t.Per, formatCount(*t.BaselineExposure))
	}
	if weight <= 0 || weight >= 1 {
		return ""
	}
	// The traffic split.
	for _, r := range rep.Signals {
		t := r.Test
		if t == nil || t.CanaryExposure == nil || t.BaselineExposure == nil {
			continue
		}
		ce, be := *t.CanaryExposure, *t.BaselineExposure
		n := ce + be
		if n == 0 {
			continue
		}
		share := ce / n
		z := (ce - n*weight) / math.Sqrt(n*weight*(1-weight))
		if math.Abs(z) > mismatchZ && (share/weight > mismatchTolerance || share/weight < 1/mismatchTolerance) {
			return fmt.Sprintf("the canary received %s of the traffic where %s was expected (%s: %s of %s %s), a traffic split mismatch: the canary is not getting the traffic the rollout sends it",
				formatPct(share), formatPct(weight), r.Name, formatCount(ce), formatCount(n), t.Per)
		}
	}
	return ""
}

// readTwice reports whether a signal's queries read one series for both
// sides. With an exposure (requests, trials), the exposure tells: a few
// errors an hour fall in the same windows on both sides by chance far too
// often for equal event counts to be evidence; equal traffic is.
func readTwice(s SignalSeries) bool {
	if len(s.BaselineExposure.Values) > 0 || len(s.CanaryExposure.Values) > 0 {
		return same(s.BaselineExposure, s.CanaryExposure)
	}
	return same(s.Baseline, s.Canary)
}

// same reports whether two sides are one and the same series: equal, with
// at least three observations and at least two distinct values (two
// constant or all-zero sides are equal by nature, not by mistake).
func same(a, b metrics.Series) bool {
	if len(a.Values) < 3 || !slices.Equal(a.Values, b.Values) || !slices.Equal(a.Bounds, b.Bounds) {
		return false
	}
	return slices.ContainsFunc(a.Values, func(v float64) bool { return v != a.Values[0] && !math.IsNaN(v) })
}

func formatPct(f float64) string {
	p := 100 * f
	if p < 10 {
		return fmt.Sprintf("%.2g%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

func formatCount(v float64) string {
	if v == math.Trunc(v) && v < 1e15 {
		s := fmt.Sprintf("%d", int64(v))
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	return fmt.Sprintf("%.4g", v)
}
