// Package plan says, before a rollout, what each step of its ramp can
// detect: for every signal of a config, the smallest harmful change that
// fails the signal in 80% and in 95% of canaries at that step, whether
// the step can tell the signal's allowedChange from no change, and whether
// it catches its criticalChange (verdict plan).
//
// # How
//
// The figures are simulated through Verdict's own judge, not derived from
// formulas about it: a plan draws canaries at each step from a model of
// the baseline (the stable version's data, from files or a Prometheus
// window), injects a change into the canary, judges the pair with
// judge.JudgeSamples as an analysis would, and finds, for each simulated
// canary, the smallest change it detects (its random numbers fixed while
// the change grows, every count drawn by inverting its distribution, so
// that a larger change never looks less harmful; the search approaches
// from below, to within 0.5%). The 80th and 95th percentiles of those
// changes over Replicates canaries (1,000 by default) are where the
// printed figures start: each is then checked on the same canaries at
// the rounded change it would print, and raised on the rounding grid
// until at least 80% (95%) of them fail the signal there (detection need
// not grow with the change: a histogram's compared bound moves with it).
// The critical change's rate is measured the same way.
// TestPlanKeepsItsPromise checks the promise by simulating each printed
// step anew, whole canaries judged and scored; docs/plan.md reports a
// longer run, and one against the traffic study's generator.
//
// # The models
//
//   - Counts with their traffic (rate with exposure, proportion): each
//     window's exposure (requests, trials) is the step's share of the
//     service's traffic in the baseline's windows, taken in order from a
//     random window on; events are binomial at the baseline's ratio,
//     clustered by the dispersion the judge finds in the baseline's own
//     counts (events in clusters of that size, as retries come, so a
//     small canary's counts are as lumpy as the baseline's). A change is
//     relative to the baseline's ratio, or in percentage points for a
//     proportion whose allowance is; a baseline without events plans the
//     canary's own ratio (unit share).
//   - Counts per window without an exposure (rate): Poisson at the
//     baseline's mean count, clustered by its variance over its mean; the
//     test assumes sides of the same size, so the split does not matter.
//   - Histograms: each window's observations are the step's share of the
//     baseline's, spread over the buckets as the baseline's pooled
//     distribution spreads them, with every latency of the window (both
//     sides alike) scaled by a lognormal factor whose spread is calibrated
//     so that simulated baselines vary above the compared bound from
//     window to window as much as the real one does (drift, load and
//     incidents; SignalModel.Spread; none when the real tail varies as
//     independent requests make it). A quantile's change scales every
//     latency by 1 + change (interpolated within buckets as the judge
//     does); a share above a bound grows by the change. Buckets coarser
//     than the allowance are reported (SignalModel.BucketResolution).
//   - Points (mann-whitney, quantile): each side's points are drawn from
//     the baseline's points (its empirical distribution, ties kept) with
//     its serial correlation (a Gaussian AR(1) with the baseline's lag-one
//     rank autocorrelation), as many as the step holds at the data's step.
//     A mann-whitney change shifts every canary point by the change times
//     the baseline's median (the shift its estimate measures); a quantile
//     change scales the points. The traffic split does not change the
//     number of points, and the plan assumes it does not change their
//     noise either: true of per-instance series (CPU, a pod's latency),
//     optimistic for an aggregate over the canary's requests, which a
//     small canary makes noisier (judge those as histograms).
//
// Threshold tests compare nothing with the baseline and are not
// simulated. Direction either is simulated as a rise.
//
// # Decisions
//
//   - The traffic: a step's weight is the canary's share; the stable
//     version serves the rest. The baseline data are taken to be the whole
//     traffic (the stable version before the rollout) unless
//     Input.BaselineShare says what share they served.
//   - Detection is the signal failing on its harmful side in an analysis
//     of the step (a single judgement at its end). The level it needs is
//     the decision level (judge.DecisionLevel at the config's confidence)
//     over m, the signals with a decision p-value at that step: the first
//     step of Holm's correction (judge.AdjustFamily) that a regressed
//     signal must pass when the others are unchanged; a signal with no
//     verdict at the step (too little traffic) takes no share. It is not
//     the stricter critical level: a critical signal's ordinary failure is
//     what is promised.
//   - sequential: anytime: each step is judged as an anytime analysis at
//     its end, tuned to the config's horizon when it sets one, else to the
//     step itself (a multi-interval run whose lifetime is the step); the
//     anytime p-value is compared with the level over m. Earlier looks can
//     only add detections. sequential: planned spends the level over a
//     multi-interval run's looks; a plan takes each step as one judgement
//     at the whole level (an analysis at the step's end), and its intro
//     says that a multi-interval run's last look alone detects less.
//   - The allowance is "told from no change" when at least 80% of
//     unchanged canaries have data that rule out a harmful change beyond it
//     (judge.ShownWithin: what requireEvidence needs to pass), which is
//     also when a change of the allowance itself would be detected against
//     "no change" 80% of the time. A change at the allowance is, by
//     design, not a failure: the tests of counts test the allowance itself.
//   - The critical change is caught when at least 80% of canaries that
//     change by it fail the signal.
//   - Figures are rounded for print to the digits the power curve needs
//     (a steep one keeps up to four), and the JSON holds what is printed.
//
// # Bounds
//
// At most MaxSteps steps (20) of at most 7 days, MaxPoints points per side
// of a step, and between 100 and MaxReplicates canaries. A plan's cost
// grows with steps × signals × replicates × points: the fixtures' ramp of
// four steps takes about 10 CPU-seconds.
package plan
