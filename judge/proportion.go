package judge

import (
	"fmt"
	"math"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// shares is the comparison of two binomial proportions over windows: the
// canary's share of successes (or of observations beyond a bound) against
// the baseline's, each window a 2×2 table, by the Mantel–Haenszel
// estimators (Rothman, Greenland & Lash, Modern Epidemiology, 3rd ed.,
// ch. 15):
//
//   - ratio RR = Σ s_c·n_b/N / Σ s_b·n_c/N, with the variance of its log by
//     Greenland & Robins (1985, Biometrics 41:55–68),
//     Σ (n_c·n_b·(s_c+s_b) − s_c·s_b·N)/N² / [(Σ s_c·n_b/N)(Σ s_b·n_c/N)];
//   - difference RD = Σ w·(s_c/n_c − s_b/n_b) / Σ w, w = n_c·n_b/N, with
//     Sato's variance (1989, Biometrics 45:1323–1324),
//     (RD·Σ P + Σ Q)/(Σ w)², P = (n_c²·s_b − n_b²·s_c + n_c·n_b·(n_b−n_c)/2)/N²,
//     Q = (s_c·(n_b−s_b) + s_b·(n_c−s_c))/(2N).
//
// Both are consistent however many windows there are and however few
// trials each holds, and weighting within windows keeps a traffic split or
// a success ratio that moves over time from biasing the comparison. The
// variances are multiplied by a dispersion factor (sharesDispersion) and
// the tests are Wald tests on the normal scale (log scale for the ratio).
type shares struct {
	rr, varLogRR float64 // Mantel–Haenszel ratio and the variance of its log
	rd, varRD    float64 // Mantel–Haenszel difference and its variance
	phi          float64 // dispersion
	df           int     // its degrees of freedom (0: not estimated, or 1)
	degenerate   bool    // no variation: both sides all successes, or all failures
	// corrected says the figures came from the Haldane-corrected table
	// (a side without successes or without failures), and noBaseline
	// that the baseline had no events: its ratio is then unbounded.
	corrected, noBaseline bool
}

// compareShares computes the Mantel–Haenszel figures of aligned windows (or
// of the pooled sides when they do not align). A side with no successes, or
// none failed, makes the log ratio or its variance degenerate; the figures
// are then computed with half a success and half a failure added to each
// side's pooled table (Haldane 1955), which keeps them finite.
func compareShares(s *countScratch, b, c counts) shares {
	phi, df := localDispersion(s, b, true)
	return compareSharesWith(b, c, dispersionEstimate{phi, df})
}

// dispersionEstimate is a dispersion factor with its degrees of freedom.
type dispersionEstimate struct {
	phi float64
	df  int
}

// compareSharesWith is compareShares with the baseline's local dispersion
// (localDispersion, binomial) already known: a histogram test compares one
// baseline with the canary at several bounds.
func compareSharesWith(b, c counts, local dispersionEstimate) shares {
	var out shares
	// The tables are the aligned windows where both sides had exposure, or
	// else the two sides pooled into one; they are summed twice, in place
	// (a histogram test compares at many bounds, and a slice of them per
	// comparison was most of its cost).
	aligned := len(b.events) == len(c.events)
	var sb, fb, sc, fc float64
	windows := 0
	if aligned {
		for i := range b.events {
			if b.exposure[i] > 0 && c.exposure[i] > 0 {
				sb += b.events[i]
				fb += b.exposure[i] - b.events[i]
				sc += c.events[i]
				fc += c.exposure[i] - c.events[i]
				windows++
			}
		}
	}
	if windows == 0 {
		sb, fb = b.totalEvents, b.totalExposure-b.totalEvents
		sc, fc = c.totalEvents, c.totalExposure-c.totalEvents
	}
	if (sb == 0 && sc == 0) || (fb == 0 && fc == 0) {
		out.degenerate = true
	}
	var sums mhSums
	switch {
	case sb == 0 || sc == 0 || fb == 0 || fc == 0:
		sums.add(sb+0.5, sb+fb+1, sc+0.5, sc+fc+1)
		out.corrected, out.noBaseline = true, sb == 0
	case windows == 0:
		sums.add(b.totalEvents, b.totalExposure, c.totalEvents, c.totalExposure)
	default:
		for i := range b.events {
			if b.exposure[i] > 0 && c.exposure[i] > 0 {
				sums.add(b.events[i], b.exposure[i], c.events[i], c.exposure[i])
			}
		}
	}
	out.rr = sums.num / sums.den
	out.varLogRR = math.Max(0, sums.vnum/(sums.num*sums.den))
	out.rd = sums.rdnum / sums.wsum
	out.varRD = math.Max(0, (float64(out.rd*sums.psum)+sums.qsum)/(sums.wsum*sums.wsum))
	out.phi, out.df = sharesDispersion(b, c, out.rd, sb/(sb+fb), sc/(sc+fc))
	// The baseline's own clustering, which a small canary cannot show.
	if local.phi > out.phi {
		out.phi, out.df = local.phi, local.df
	}
	return out
}

// mhSums are the Mantel–Haenszel sums over 2×2 tables (see shares).
type mhSums struct {
	num, den, vnum, wsum, rdnum, psum, qsum float64
}

// add adds one table: sb of nb baseline trials and sc of nc canary
// trials succeeded.
func (s *mhSums) add(sb, nb, sc, nc float64) {
	n := nb + nc
	s.num += sc * nb / n
	s.den += sb * nc / n
	// Products are rounded before they are added (float64(...)), so that
	// no architecture fuses them into one multiply-add: the same bits on
	// amd64 and arm64 (see internal/numeric).
	s.vnum += (float64(nc*nb*(sc+sb)) - float64(sc*sb*n)) / (n * n)
	w := nc * nb / n
	s.wsum += w
	s.rdnum += float64(w * (sc/nc - sb/nb))
	s.psum += (float64(nc*nc*sb) - float64(nb*nb*sc) + float64(nc*nb*(nb-nc)/2)) / (n * n)
	s.qsum += (float64(sc*(nb-sb)) + float64(sb*(nc-sc))) / (2 * n)
}

// sharesDispersion is the Pearson statistic of the difference of the two
// sides' shares per block of consecutive windows, around the common
// difference rd, over its degrees of freedom, at least 1 (1 with fewer than
// minDispersionBlocks blocks). Each block's difference has the binomial
// variance of each side at its own overall share (pb, pc): a pooled share
// would understate the variance of a small canary whose share differs, and
// mistake a real change for dispersion. Blocks grow until each side expects
// minBlockExpected of its rarer outcome. Trials that succeed or fail
// together (one session retrying a checkout) raise it. It returns the
// factor and its degrees of freedom (0 when the factor is 1).
func sharesDispersion(b, c counts, rd, pb, pc float64) (float64, int) {
	if len(b.events) != len(c.events) {
		return 1, 0
	}
	var x2 float64
	blocks := 0
	var sb, nb, sc, nc float64
	for i := range b.events {
		if b.exposure[i] == 0 || c.exposure[i] == 0 {
			continue
		}
		sb += b.events[i]
		nb += b.exposure[i]
		sc += c.events[i]
		nc += c.exposure[i]
		if nb*math.Min(pb, 1-pb) < minBlockExpected || nc*math.Min(pc, 1-pc) < minBlockExpected {
			continue
		}
		v := pb*(1-pb)/nb + pc*(1-pc)/nc
		d := sc/nc - sb/nb - rd
		x2 += d * d / v
		blocks++
		sb, nb, sc, nc = 0, 0, 0, 0
	}
	if blocks < minDispersionBlocks || x2 <= float64(blocks-1) {
		return 1, 0
	}
	return x2 / float64(blocks-1), blocks - 1
}

// judgeProportion compares the canary's success ratio (successes out of
// trials) with the baseline's. allowedChange is relative to the baseline's
// ratio ("2%": may fall to 98% of it, a test of the Mantel–Haenszel ratio
// on the log scale) or in percentage points ("0.5pp": a test of the
// difference). The decision tests "the change is within the allowance", so
// a canary exactly at its allowance fails no more often than the level.
func judgeProportion(s *countScratch, r Result, spec Spec, b, c counts, opts Options) Result {
	what := exposureWord(spec)
	t := &TestResult{
		Method:           Proportion,
		Confidence:       opts.Confidence,
		Allowed:          ptr(spec.AllowedChange.Value),
		BaselineEvents:   ptr(b.totalEvents),
		CanaryEvents:     ptr(c.totalEvents),
		BaselineExposure: ptr(b.totalExposure),
		CanaryExposure:   ptr(c.totalExposure),
		Per:              what,
		Points:           spec.AllowedChange.Points,
	}
	if spec.CriticalChange != nil {
		t.CriticalAllowed = ptr(spec.CriticalChange.Value)
	}
	r.Test = t
	if res, done := noExposure(r, spec, b, c, what, opts.Step); done {
		return res
	}
	pb, pc := b.totalEvents/b.totalExposure, c.totalEvents/c.totalExposure
	t.BaselineRate, t.CanaryRate = ptr(pb), ptr(pc)
	sh := compareShares(s, b, c)
	return decideShares(r, spec, sh, opts, describeShares(spec.Name, "succeeded", pc, pb, c, b, what))
}

// describeShares words two shares: "checkout_completion: 68.2% vs 70.1% of
// checkouts_started succeeded (canary 682 of 1,000, baseline ...)".
func describeShares(name, verb string, pc, pb float64, c, b counts, what string) string {
	return fmt.Sprintf("%s: %s vs %s of %s %s (canary %s of %s, baseline %s of %s)", name, formatShare(pc), formatShare(pb), what, verb,
		formatCount(c.totalEvents), formatCount(c.totalExposure), formatCount(b.totalEvents), formatCount(b.totalExposure))
}

// decideShares tests a comparison of shares against the signal's allowance
// and classifies it; describe words the shares.
func decideShares(r Result, spec Spec, sh shares, opts Options, describe string) Result {
	t := r.Test
	t.Dispersion = sh.phi
	a := spec.AllowedChange
	z2 := upperQuantile((1 - opts.Confidence) / 2)
	seRR := math.Sqrt(sh.phi * sh.varLogRR)
	seRD := math.Sqrt(sh.phi * sh.varRD)
	t.RateRatio = ptr(sh.rr)
	t.RatioLow, t.RatioHigh = ptr(math.Exp(math.Log(sh.rr)-float64(z2*seRR))), ptr(math.Exp(math.Log(sh.rr)+float64(z2*seRR)))
	if sh.noBaseline {
		// No baseline events: the ratio is unbounded above; the corrected
		// figures only serve the test.
		t.RateRatio, t.RatioHigh = nil, nil
	}
	t.RelativeShift = ptr(sh.rr - 1)
	t.Estimate, t.CILow, t.CIHigh = ptr(sh.rd), ptr(sh.rd-float64(z2*seRD)), ptr(sh.rd+float64(z2*seRD))
	if a.Points {
		t.PValue = ptr(2 * numeric.Pnorm(-math.Abs(sh.rd)/seRD, true))
		describe += fmt.Sprintf(", %spp (%g%% CI %spp .. %spp)", signedPoints(sh.rd), 100*opts.Confidence, signedPoints(*t.CILow), signedPoints(*t.CIHigh))
	} else {
		t.PValue = ptr(2 * numeric.Pnorm(-math.Abs(math.Log(sh.rr))/seRR, true))
		if sh.noBaseline {
			describe += fmt.Sprintf(", none on the baseline (%g%% CI ratio above %s)", 100*opts.Confidence, formatTimes(*t.RatioLow))
		} else {
			describe += fmt.Sprintf(", ratio %s (%g%% CI %s .. %s)", formatTimes(sh.rr), 100*opts.Confidence, formatTimes(*t.RatioLow), formatTimes(*t.RatioHigh))
		}
	}
	if sh.degenerate {
		r.Classification, r.Gate = Pass, GateIdentical
		r.Reason = describe + "; no variation on either side"
		t.PValue = ptr(1)
		return r
	}
	// One-sided p-values of "within the allowance" against a rise beyond
	// it and a fall beyond it.
	pUp, pDown := shareTails(sh, a, seRR, seRD)
	level := DecisionLevel(opts, spec.Direction)
	// The evidence, on the scale the allowance is on.
	zl, z80 := upperQuantile(level), upperQuantile(0.2)
	if a.Points {
		if seRD > 0 {
			t.Information = 1 / (seRD * seRD)
			t.Detectable = ptr((zl + z80) * seRD)
		}
		t.RulesOut = rulesOutRatio(spec.Direction, func() float64 { return sh.rd + float64(zl*seRD) }, func() float64 { return sh.rd - float64(zl*seRD) })
	} else {
		if seRR > 0 {
			t.Information = 1 / (seRR * seRR)
			t.Detectable = ptr(math.Expm1((zl + z80) * seRR))
			if spec.Direction == Decrease {
				t.Detectable = ptr(-math.Expm1(-(zl + z80) * seRR))
			}
		}
		lr := math.Log(sh.rr)
		t.RulesOut = rulesOutRatio(spec.Direction, func() float64 { return math.Expm1(lr + float64(zl*seRR)) }, func() float64 { return math.Expm1(lr - float64(zl*seRR)) })
	}
	up := pUp <= pDown
	pSide := math.Min(pUp, pDown)
	t.DecisionLevel, t.DecisionPValue = level, ptr(pSide)
	if a.Points {
		if up {
			t.DecisionBound = ptr(sh.rd - float64(zl*seRD))
		} else {
			t.DecisionBound = ptr(sh.rd + float64(zl*seRD))
		}
	} else if up {
		t.DecisionBound = ptr(math.Exp(math.Log(sh.rr)-float64(zl*seRR)) - 1)
	} else {
		t.DecisionBound = ptr(math.Exp(math.Log(sh.rr)+float64(zl*seRR)) - 1)
	}
	if pSide > level {
		r.Classification, r.Gate = Pass, GateInterval
		if a.Value > 0 {
			r.Gate = GateAllowedChange
			r.Reason = describe + fmt.Sprintf("; not significantly beyond the allowed %s", allowedOnHarmfulSide(a, spec.Direction))
		} else {
			r.Reason = describe + "; not a significant change"
		}
		return r
	}
	if !spec.Direction.harmful(up) {
		r.Classification, r.Gate = Pass, GateDirection
		r.Reason = describe + fmt.Sprintf("; a %s is harmless for this signal", riseOrFallNoun(up))
		return r
	}
	beyondCritical := false
	if spec.CriticalChange != nil {
		cu, cd := shareTails(sh, *spec.CriticalChange, seRR, seRD)
		beyondCritical = (up && cu <= level) || (!up && cd <= level)
	}
	reason := describe
	if a.Value == 0 {
		reason += allowedText(a, up)
	} else {
		reason += "; allowed " + signedChange(a, up)
	}
	return r.harmful(spec, up, beyondCritical, pSide, criticalLevel(opts, level), reason)
}

// shareTails are the one-sided p-values of "the canary is within the
// change a of the baseline" against a rise and a fall beyond it.
func shareTails(sh shares, a Change, seRR, seRD float64) (up, down float64) {
	if a.Points {
		return dispersedP(numeric.Pnorm((sh.rd-a.Value)/seRD, false), sh.df), dispersedP(numeric.Pnorm((sh.rd+a.Value)/seRD, true), sh.df)
	}
	lr := math.Log(sh.rr)
	up = dispersedP(numeric.Pnorm((lr-math.Log1p(a.Value))/seRR, false), sh.df)
	down = 1.0
	if a.Value < 1 {
		down = dispersedP(numeric.Pnorm((lr-math.Log1p(-a.Value))/seRR, true), sh.df)
	}
	return up, down
}

// signedChange formats an allowed change on a side: "+10%", "-0.5pp".
func signedChange(c Change, up bool) string {
	if c.Points {
		return signedPoints(map[bool]float64{true: c.Value, false: -c.Value}[up]) + "pp"
	}
	return signedPercent(c.Value, up)
}

// signedPoints formats a difference of shares in percentage points: "-1.9".
func signedPoints(d float64) string {
	s := fmt.Sprintf("%.2g", 100*d)
	if d >= 0 {
		s = "+" + s
	}
	return s
}
