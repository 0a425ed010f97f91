// Package kayenta is Verdict's Kayenta-compatible judge: a pure Go port of
// Netflix/Spinnaker Kayenta's NetflixACAJudge-v1.0 (spinnaker/kayenta at
// a69573be), so that Spinnaker and Argo Rollouts users can switch to Verdict
// and keep the verdicts they trust. It is selected by `judge: kayenta` in a
// Verdict config, and it backs the Kayenta-compatible endpoints
// (POST /canary/{configId}, GET /canary/{id}) and `verdict import-kayenta`.
//
// The package is pure: no I/O, no clock (callers pass "now"), no globals, no
// shared random state; it never panics on input, and reports failures as
// errors.
//
// # Kayenta compatibility: where each part lives
//
// Everything Verdict does to stand in for Kayenta is in this tree, except
// where Verdict's own types must hold it:
//
//   - kayenta (this package): the judge port, the standalone analysis
//     arithmetic and Kayenta's wire documents (below).
//   - kayenta/kayentaimport: a Kayenta canary config converted to a
//     Verdict config (judge: kayenta), with every setting that cannot be
//     kept listed; `verdict import-kayenta` and the ad hoc endpoints use it.
//   - kayenta/execution: Kayenta's execution API mapped onto Verdict's live
//     analyses: execution requests to plans, stored analyses to Kayenta's
//     status documents, for /canary and /standalone_canary_analysis.
//   - analysis/kayenta.go: `judge: kayenta` in a Verdict config (the
//     signal's kayenta: block, its validation, the conversion to a
//     CanaryConfig, and Kayenta's judge result turned into a Verdict
//     report). It stays in package analysis because it extends Config and
//     Report, which this tree imports.
//   - api/kayenta.go, api/kayenta_config.go, api/standalone.go: the HTTP
//     handlers alone (request bodies, query parameters, status codes).
//   - internal/kayentavectors: finds Kayenta's conformance vectors (kept
//     outside the repository, in the shared folder's conformance/kayenta)
//     for this package's conformance test and judge/stat's.
//   - docs/kayenta.md: the user's guide to all of it.
//
// # What is here
//
//   - Judge(cfg, thresholds, pairs): the whole judgement (§2 of the reference
//     reference/kayenta-judge.md): per-metric settings by path lookup
//     (Lookup, ParseMetricSettings), preprocessing (Preprocess: NaN removal or
//     replacement, IQR outlier removal with reduced sensitivity), descriptive
//     statistics (Summary: commons-math two-pass mean and variance formula),
//     classification (Classify), scoring (ScoreResults).
//   - Statistics: Percentile (commons-math R-7, exact evaluation order),
//     Ranks, MeanRatio, CLES, MannWhitney (R's wilcox.test interval code with
//     Kayenta's estimate), and, for reports only, NormalApproxPValue and
//     EstimateR. Inside: zeroin (step-for-step port of R's zeroin as
//     Kayenta's BrentSolver), wilcoxonDiff, normalQuantile, cohenD.
//   - Pairing of metric sets into judge inputs (mixOne, mixAll), inside.
//   - The multi-interval (standalone) analysis arithmetic as pure functions:
//     PlanAnalysis, LifetimeMinutes, IntervalMinutes, ResultWarnings,
//     AggregateScores, FormatInstant, ParseInstant; inside, the steps they
//     are made of (judgementCount, judgementWindow, requestScopes,
//     intervalPassed, aggregatedJudgement, javaDoubleString).
//   - Kayenta's wire documents with Kayenta's JSON field names: CanaryConfig,
//     JudgeResult, MetricSetPair, MetricSet, ExecutionRequest,
//     CanaryExecutionStatus, AnalysisRequest, AnalysisStatus. Non-finite
//     numbers are written as Kayenta's Jackson writer does ("NaN",
//     "Infinity"; see Float and Series). Finite numbers are written in Go's
//     shortest form (100, not 100.0), which JSON readers treat alike.
//
// # Judge constants
//
// Tolerance 0.25, confidence 0.98, IQR factor default 3.0 with reduced
// sensitivity, noise scale 1e-5, NODATA threshold 50 %, labels "Canary" and
// "Baseline" in the identical-data reason.
//
// # Quirk decisions
//
// Every upstream quirk of §8 of the reference is either kept bit-compatible
// (KEEP) or deliberately changed (FIX). Vectors that pin a behaviour pass
// unchanged: the conformance test's override table is empty.
//
//	ID   Decision  What Verdict does
//	Q1   KEEP      Tolerance 0.25 and confidence 0.98 are constants (Tolerance,
//	               ConfidenceLevel); Classify accepts others for tests and tools.
//	Q2   KEEP      Band = 0.25 × |estimate|, collapsing to 0 when the estimate
//	               is ~0 (C28, C8).
//	Q3   KEEP      CI bounds come from the step-for-step zeroin port; inverted
//	               intervals on tied data are reported as computed (MW7, C8, C13).
//	Q4   KEEP      The estimate keeps the continuity correction, has no endpoint
//	               or sign checks, and non-convergence returns the last iterate.
//	               EstimateR gives R's estimate for reports; decisions never use it.
//	Q5   FIX       Constant-data noise is drawn from a seeded generator
//	               (SplitMix64 + Box-Muller, NoiseSource) whose seed is the
//	               64-bit FNV-1a hash of the metric (pair) name (NoiseSeed),
//	               experiment drawn first, then control. Same data and name,
//	               same verdict. The class of C29/C30 is unchanged.
//	Q6   KEEP      Mean ratio is NaN when a mean is 0; a NaN effect skips the
//	               effect-size and critical gates; ratio serialises as "NaN".
//	Q7   KEEP      resultMetadata.ratio is always the mean ratio; the measure
//	               the gate used is in AnalysisResult.Details.EffectSize.
//	Q8   KEEP      Missing-data rules: remove+empty gives Nodata (critical if the
//	               metric is), replace+empty gives Pass, mustHaveData && !critical
//	               gives NodataFailMetric.
//	Q9   KEEP      Error results are never critical.
//	Q10  KEEP      An all-Nodata/Error group is 0.0 in groupScores, 100 in the sum.
//	Q11  KEEP      Weights are not normalised; configured groups without results
//	               count in the weight sum; the default weight may be negative.
//	Q12  KEEP      Results without groups never enter the weighted sum (SD7).
//	Q13  KEEP      Summary rounding is HALF_UP on the shortest decimal string.
//	Q14  FIX       CLES uses float64 arithmetic: no 32-bit overflow for series
//	               of 46341 points or more. Identical results below that.
//	Q15  KEEP*     A value of the wrong JSON type ("critical": "true", a string
//	               number) still fails the whole judgement, but with a
//	               *SettingError naming the metric and the field, never a panic.
//	               Unknown enum strings still fall back to defaults. Divergences:
//	               a JSON null counts as absent (upstream casts null to
//	               false/0.0 or fails), and any JSON number is accepted where a
//	               number is expected (upstream rejects 64-bit integers).
//	Q16  KEEP      Preprocessing is per side; ±Inf pass through.
//	Q17  KEEP      Judge classification is inclusive (score >= marginal is
//	               Marginal) while the multi-interval monitor stops when
//	               score <= marginal (intervalPassed), and the final decision
//	               reads only the last score (AggregateScores).
//	Q18  KEEP      Judge takes thresholds from the caller (the execution
//	               request); CanaryConfig.Classifier.ScoreThresholds is modelled
//	               but not read.
//	Q19  KEEP      Pairing by the full tag map (half-empty pairs on differing tag
//	               values). Divergences: pair order within a metric is first
//	               appearance (upstream: hash-set order); pair ids are
//	               deterministic by default (DeterministicPairID) instead of
//	               random UUIDs; NaN padding over maxExpectedDataPoints is an
//	               error instead of an out-of-memory crash.
//	Q20  KEEP      The first metric config with the pair's name is used.
//	Q21  KEEP      Not applicable here (metric fetching lives in metrics/); the
//	               mixer pads with NaN at the end only, as upstream.
//	Q22  KEEP/FIX  The wire result is unchanged (no CI, estimate or p-value in
//	               the JSON), but the Go result carries them in
//	               AnalysisResult.Details (json:"-") so Verdict's reports can
//	               explain a verdict.
//	Q23  KEEP      Identical-data and single-value exits return Pass first.
//
// Other implementation notes: group scores are summed in order of first
// appearance of the group in the results (upstream's Scala map order is the
// same for up to four groups; beyond that the order, and so the last bit of
// an unrounded sum, may differ); configured weights are summed in name order.
// The normal quantile is R's qnorm (Wichura's AS 241, internal/numeric), 1-2
// ulps from commons-math's erfInv-based one, which changes no conformance
// value. Products are rounded as Java rounds them, never fused into a
// multiply-add (see internal/numeric), so that the results are the same
// float64 on amd64 and arm64.
package kayenta
