// Package execution maps Kayenta's execution API onto Verdict's live
// analyses, with no HTTP: a request to a plan the runner stores and runs
// (analysis/runner), and a stored analysis back to Kayenta's status
// documents. Package api's handlers read the requests and write the
// answers; everything Kayenta-specific in between is here.
//
// Canary executions (CanaryExecutionController):
//
//	POST /canary/{configId}   body: CanaryExecutionRequest       (CanaryPlan)
//	POST /canary              body: {canaryConfig, executionRequest} (ConvertConfig, CanaryPlan)
//	GET  /canary/{id}         CanaryExecutionStatusResponse      (CanaryStatus)
//
// One scope pair (controlScope → baseline, experimentScope → canary, with
// location and extendedScopeParams as template variables) is judged over
// one window; the request's thresholds replace the config's, and are
// refused when they cannot be honoured (a pass of 0, which Argo's kayenta
// provider sends for a metric without threshold, or a fraction). The
// window's ends, like the Argo endpoint's, move back to multiples of the
// step (query.AlignToStep), so that counts cover its whole steps. judge:
// kayenta analyses answer Kayenta's own judgeResult; judge: verdict ones
// are mapped onto its shape, with a verdict of none written as score 0
// "Nodata" so that score-only clients never pass it.
//
// Standalone canary analyses (StandaloneCanaryAnalysisController), a
// multi-interval analysis started in one call and polled until complete:
//
//	POST /standalone_canary_analysis/{canaryConfigId}   body: CanaryAnalysisExecutionRequest (StandalonePlan)
//	POST /standalone_canary_analysis                    body: {canaryConfig, executionRequest}
//	GET  /standalone_canary_analysis/{id}               CanaryAnalysisExecutionStatusResponse (StandaloneStatus)
//
// The schedule is Kayenta's, computed by package kayenta from the
// request (start = scopes[0].startTimeIso or now; lifetime = whole minutes
// to endTimeIso, else lifetimeDurationMins; interval = analysisIntervalMins,
// or the lifetime when absent, 0 or longer; judgement i ends at
// start + i × interval, shifted by beginAfterMins when there is no end
// time; lookbackMins slides the window). It runs as one Verdict
// multi-interval analysis (RunIntervals) through the runner, so it is
// stored, counted, resumable and cancellable like any other.
//
// Differences from Kayenta, each refused or documented rather than
// silently judged differently:
//   - One scope pair, compared over one window: several scopes, or a
//     controlOffsetInMinutes other than 0, are refused with 400.
//   - Verdict stops at the first judgement whose verdict is fail (score
//     below marginal, or a critical failure); Kayenta stops when a score is
//     at or below marginal. The status marks the run TERMINAL, as Kayenta
//     does, whenever a judgement scored at or below marginal.
//   - A lookback longer than the window so far is cut at the start (Kayenta
//     would query before the start).
//   - Judgements are not separate /canary executions: each has the
//     executionId "<id>.<n>", and only the last one of a finished run
//     carries the full judgeResult (earlier ones carry their score).
//   - A stored config with sequential: anytime makes the run anytime-valid
//     (analysis.RunIntervals): every judgement judges all the data since
//     the start with each signal's reference from its first judgement, and
//     the run stops early on a fail or on a pass every signal is shown
//     within its allowance (the judgements not run are SKIPPED, as after a
//     fail); lookbackMins is then refused, as a sliding window is not
//     anytime-valid. The horizon is the run's lifetime.
package execution
