// Package judge decides, for one signal, whether the canary is healthy
// compared with the baseline: it cleans both samples, runs the signal's test
// and returns a Classification (pass, high, low, nodata, error) with the
// test's figures and a reason a person can act on.
//
// The package is pure: no I/O, no clock, no globals. It knows nothing of
// where the numbers came from; package metrics fetches them and package
// scoring turns many results into a verdict. A caller judging many signals
// keeps a Workspace per goroutine and calls its Judge: the sorted copies,
// ranks and buffers of one judgement (and the counts of a count or
// histogram test) are then reused by the next, which at canary sizes saves
// more time than the sorting takes.
//
// # Preprocessing
//
// NaN points are removed (nan: remove, the default) or counted as zero
// (nan: zero, for counters whose gaps mean "nothing happened"). With
// outliers: remove, points beyond the Tukey fences Q1 − 3·IQR and
// Q3 + 3·IQR (R type-7 quartiles) are dropped, each side with its own
// fences: fences taken from the baseline would cut a real regression out of
// the canary. Infinite values are refused (Error), never silently used.
// Fewer than minSamples points (default 10) on either side after cleaning
// give nodata; with mustHaveData the signal counts as failed instead.
//
// # Tests
//
// mann-whitney (the default) compares the two distributions by rank. It
// reports the two-sided p-value, the Hodges–Lehmann estimate of the shift
// canary − baseline and its confidence interval, equal to R's
// wilcox.test(canary, baseline, conf.int = TRUE, correct = TRUE) (package
// judge/stat). The canary is high when the one-sided p-value of a rise is at
// most the decision level and the estimate exceeds allowedChange × |baseline
// median|; low symmetrically. A significant change in the harmless direction
// is reported, and passes. Beyond criticalChange the signal fails the whole
// canary.
//
// # The decision
//
// The verdict-quality harness (package quality, docs/quality.md) measured
// false alarms and missed regressions and set these rules:
//
//   - Level: a one-sided p-value, on the side the canary moved, compared
//     with 1 − confidence for a signal with one harmful direction (the
//     one-sided bound at confidence on the harmful side must clear zero)
//     and with half of it per side for direction either (DecisionLevel;
//     0.05 and 0.025 by default). TestResult.DecisionPValue, DecisionLevel
//     and DecisionBound show what decided, beside the two-sided interval.
//   - Autocorrelation: rank tests assume independent points, and serially
//     correlated series (AR(1) φ = 0.9: 30% of A/A signals failed) make them
//     anti-conservative. The decision divides the normal deviate of the
//     p-value by √f, f = (1+ρ)/(1−ρ), and reads it on a Student t with
//     (n+m)/f − 2 degrees of freedom; ρ is the baseline's lag-1 rank
//     autocorrelation, at most that of the paired rank differences so that
//     shared trends and load spikes do not count (VarianceInflation). The
//     reported p-value and interval stay R-equal.
//   - Many signals: scoring applies Holm's step-down across a canary's
//     tested signals (AdjustFamily), so an unchanged canary fails any signal
//     with probability at most the level, whatever the number of signals.
//   - Critical failures (a critical signal, or beyond criticalChange) need
//     p ≤ CriticalLevelFactor × level (0.01 by default for a signal with one
//     harmful direction); weaker evidence is an ordinary failure.
//   - Repeated looks: with Options.Look and Looks (sequential analyses) the
//     level is spent across looks by an O'Brien–Fleming-type function, so
//     the chance that an A/A run fails at any look stays below the level.
//     With Options.Anytime (sequential: anytime) every decision holds
//     however often and whenever the canary is looked at: by default
//     through a normal-mixture boundary that holds for ever (Anytime), and,
//     when the run's horizon is known (Anytime.Horizon: a multi-interval
//     run's lifetime, a config's sequential horizon), through Lan–DeMets
//     alpha spending over that horizon, its boundary computed at each look
//     from the looks before (Horizon; Lan & DeMets 1983, Jennison &
//     Turnbull 2000 ch. 7). For a critical failure the mixture asks a z
//     of about 3.25 at the horizon, the known horizon about 2.57 (an hour
//     of 120 looks), one test at the end 2.33.
//   - Critical failures under anytime: with a known horizon, the critical
//     level (CriticalLevelFactor × level) has its own spent boundary, and
//     it also decides the failure of a signal whose ordinary failure alone
//     fails the canary (Horizon.FailsAlone, from scoring.FailsAlone: a
//     canary of one signal), since that failure costs a fail too;
//     evidence between the two boundaries passes (GateFailsAlone), and
//     RulesOut stays at the ordinary level. Mann–Whitney's decision is
//     against "no change", its allowance a gate on the estimate: one test
//     at the end rarely sees an unchanged canary's estimate beyond a 5%
//     allowance, but the looks before it, with noisier estimates, do, and
//     the ordinary level spent over the hour failed 2.9–3.2% of unchanged
//     one-signal latency canaries within it (0.53–0.80% at the critical
//     level, which catches 92–94% of a +10% slowdown against 98% for one
//     test at the end). Without a known horizon the mixture keeps the
//     ordinary level: held to the critical one, it caught 84% of that
//     slowdown, below the study's 88% (docs/quality.md).
//     Without one, a critical failure needs p ≤ CriticalLevelFactor × the
//     anytime level (the fixed-sample level equivalent to the 5% mixture
//     boundary at this information), not the 1% mixture boundary: the two
//     are close at the horizon (z 3.25 against 3.35), the former is what
//     the sequential study measured (docs/quality.md: 0.27–0.80% of A/A
//     latency canaries with a critical failure at any look), and a 1%
//     mixture would be a third boundary to keep for no measured gain.
//
// # Counts with their traffic
//
// The release signals people name are ratios of counts: 5xx per request,
// checkouts completed per checkout started, requests slower than the SLO
// per request. A canary serves a slice of the traffic (5% at 95/5, 1% for
// its first 15 minutes), so its counts are small and unequal to the
// baseline's; judging per-window ratios or counts as points gets them wrong
// (a 5% canary whose error ratio doubled has a tenth of the baseline's
// errors). These tests take each side's events with what they are out of,
// window by window (Sample.Exposure), and count requests, not points: a
// side needs MinExposure of exposure (100 by default), not minSamples
// points, so a 5-minute window decides when it holds the traffic to.
//
// rate with an exposure compares events per unit of exposure with the
// conditional test of two Poisson rates (stat.RateComparison): in each
// window, given the events on both sides, the canary's share of them is
// binomial with a probability set by its share of the exposure and the rate
// ratio θ, so neither an unequal split, nor traffic that varies, nor a rate
// that moves over the window (both sides alike) can make an unchanged
// canary look worse; a baseline without errors is no free pass. Windows
// whose canary exposure shares are within 10% of each other form one
// stratum (exact binomial tails with one stratum, a saddlepoint
// approximation with several). Events that come in clusters (one client's
// retries on one side) make the split more variable than binomial: the
// counts are divided by a quasi-likelihood dispersion, the Pearson
// statistic of the canary's share per block of windows over its degrees of
// freedom (at least 1; estimated once four blocks each expect five events
// on each side), and the decision p-value is read on Student's t with its
// degrees of freedom. A canary too small to show its own clustering (a 1%
// canary expecting a handful of errors) borrows the baseline's: the
// dispersion of the baseline's counts around its own local rate
// (localDispersion), which under "no change" is the canary's too; the
// larger of the two is used. Without it, retried errors failed 19% of
// unchanged 1% canaries at the 5% level. Without an exposure, rate compares counts per window
// of same-size sides as before. Counts must be counts: a value strictly
// between 0 and 1 (a per-second rate, a ratio) is refused, never rounded;
// values above 1 that are not whole are accepted, since Prometheus'
// increase() extrapolates.
//
// proportion compares success ratios (successes out of trials) with the
// Mantel–Haenszel ratio (Greenland–Robins variance) or difference (Sato's
// variance) over windows, which stay consistent however few trials each
// window holds; the same dispersion (from the difference per block of
// windows) and t reference apply. allowedChange is relative to the
// baseline's ratio ("2%": completion may fall to 98% of the baseline's) or
// in percentage points ("0.5pp").
//
// histogram compares two latency (or any) distributions from bucket counts
// (Buckets: Prometheus' cumulative le counts per window), request by
// request: either the share of observations above a bucket bound (above:
// the SLO bucket), or a quantile (quantile, default 0.99), by the share of
// each side beyond the bucket bound nearest the pooled quantile among those
// above which each side expects five observations; a quantile q needs
// 5/(1−q) observations per side (500 for a p99), else nodata. Shares below
// 10% (a p99's tail, an SLO bucket) are compared with the exact
// conditional test of two rates, others with the Mantel–Haenszel ratio. With an
// allowedChange, the canary's share beyond the smallest bound at or above
// t·(1 + allowedChange) is compared with the baseline's share beyond t,
// which a canary within its allowance cannot exceed; when the buckets are
// coarser than the allowance, the reason says which change they can
// resolve. The report gives each side's quantile as histogram_quantile
// would, and an interval of their difference whose ends are bucket bounds.
//
// For all three the decision tests the allowance itself ("the ratio is at
// most 1 + allowedChange"), so a canary exactly at its allowance fails no
// more often than the level, and the reported two-sided p-value, estimate
// and interval are about "no change". The simulated operating
// characteristics are in the package's tests and docs/quality.md.
//
// quantile compares a high quantile (quantile: 0.99 by default, 0.5 ≤ q
// < 1): the generalised median test (Mood 1950; Conover, Practical
// Nonparametric Statistics, §4.3–4.4) counts each side's points above the
// pooled sample's q-quantile and tests the 2×2 table with the exact
// one-sided hypergeometric (Fisher) p-value (judge/stat QuantileTest). It
// sees what the rank tests cannot: a tail that grows while the median stays
// put (p99 +50% with the median unmoved: 1–11% caught by mann-whitney, see
// docs/quality.md). Use it beside a mann-whitney signal on the same series
// (a latency judged twice, median and p99; analysis.Signal's series: lets
// two signals read one input series) when slow requests matter more
// than typical ones, and only with enough points: each side needs
// QuantileMinSamples (⌈2.5/(1−q)⌉: 250 for p99, 50 for p95), so that five
// points are expected above the pooled quantile, else nodata; a canary of
// 100 points per side should test p95, not p99. When ties (all values
// equal, bucketed histogram values) leave too few points above the
// threshold for the test to reach its level, the points at or above it are
// counted; when that cannot reach it either, the signal has nodata (gate
// resolution), never a pass by accident. allowedChange divides the canary
// by 1 + allowedChange before counting (the canary's tail must be beyond
// (1 + allowed) × the baseline's), which keeps the false-alarm rate at the
// level for a canary within its allowance; the point estimates (type-7
// quantiles of each side) must also move beyond it. The report shows both
// quantiles, the pooled threshold, the counts and the expected count, and an
// interval for the difference of the quantiles from order statistics of
// each side (each at √confidence, so jointly at least confidence; null when
// a side has too few points to bound its quantile, as with p99 and 360
// points). Its one-sided p-value takes part in Holm's adjustment like the
// others, after the same autocorrelation correction as mann-whitney.
//
// threshold checks one statistic of the canary (mean, median, p90, p95,
// p99, max) against absolute bounds min and max: for signals whose healthy
// range is known regardless of the baseline, like an error ratio.
//
// # Reasons
//
// Every result carries a one-line reason naming the signal, the size of the
// change relative to the baseline, its interval and the bound it was held
// to, e.g. "p99_latency_ms rose 23% (95% CI +15% .. +31%); allowed +10%",
// and a Gate naming the rule that decided.
package judge
