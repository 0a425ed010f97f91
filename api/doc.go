// Package api is Verdict's HTTP service (`verdict serve`): the synchronous
// judge API, stored configs and analyses, the integrations rollout
// controllers call (Argo Rollouts' web provider, Flagger webhooks, Kayenta's
// /canary, /canaryConfig and /standalone_canary_analysis endpoints), the
// service's own /metrics, and health checks.
//
// Decisions:
//   - Routing is the standard library's (Go 1.22+ method patterns); errors
//     are {"error": "..."} with the status that fits: 400 names the field,
//     401/403 auth (403 also a cross-site request), 404, 405, 409 a state
//     conflict, 413 a body or series over the limits, 415 a body that is
//     not JSON, 500 a generic message (the detail is logged, never sent),
//     503 with Retry-After at a bound.
//   - Every request passes guard (guard.go) first. Without tokens, a
//     request must be addressed to a loopback host (or the external URL's)
//     and one that judges or changes anything must not come from another
//     origin (Origin, Sec-Fetch-Site): a web page the operator opens can
//     then neither act through the server nor, by DNS rebinding, read it.
//     A write's body must be application/json (a config's also YAML),
//     which browsers never send to another site without a preflight.
//     Links in answers come from Options.ExternalURL, never from Host.
//   - Memory is bounded under every input: each body by Limits.MaxBody,
//     the bodies held at once by Limits.MaxBodiesInFlight (a request is
//     charged its Content-Length until answered, and refused with 503 when
//     it does not fit), the inline configs kept by Limits.InlineConfigCache.
//   - JSON bodies are strict (strictjson.go): a key given twice, data after
//     the value and, outside Kayenta's endpoints, unknown fields are 400s
//     naming the key.
//   - POST /api/v1/judge is the hot path: nothing is stored, stored configs
//     are parsed once and cached by version, inline configs are cached by
//     the hash of their text once they have judged (least recently used
//     dropped beyond the budget), and series are decoded by a small
//     hand-written number-array parser (number.go: one tight loop for the
//     run of whole numbers and short decimals before their commas, exact as
//     strconv is by Clinger's fast path and int64 conversion; strconv for
//     the rest). Histogram rows go straight into the request's slab, and
//     field names for errors are built only when an error is reported.
//     Every verdict answers 200.
//   - Live analyses (POST /api/v1/analyses, schedules, Kayenta executions,
//     and the Argo and Flagger looks, which judge synchronously but are
//     stored too) are run by package analysis/runner: its worker pool,
//     leases, takeovers, resume and cancellation are documented there.
//     The server builds its runner from Options in New, runs it until
//     Close, and its handlers reach it through a small interface (analyses:
//     Submit, Look, Cancel); serve hands Runner() to the scheduler and
//     calls its Resume at start. A request the runner refuses as
//     runner.ErrInvalid is a 400 naming the field, a full queue a 503 with
//     Retry-After.
//   - Ended analyses older than Retention are deleted in batches
//     (Store.DeleteFinished) at start and every Retention/4 (every 10
//     minutes at most).
//   - verdict_last_score keeps the MaxScoreScopes canary scopes scored last
//     per config, so its series do not grow with every rollout.
//   - verdict_verdicts_total counts every verdict by config, verdict and
//     origin, whichever path gave it: the judge API (origin judge) where it
//     answers, every analysis where it ends (runner.Observer; one that
//     could not run counts as none). The verdict_signal_* gauges show, per config,
//     the signals of its latest analysis (the judge API's judgements are
//     not analyses: they count, but do not replace them), from a snapshot
//     a scrape reads whole (signalmetrics.go). Series labelled by config
//     are bounded: MaxMetricConfigs stored configs have their own (the
//     first judged; the rest count under OtherConfigs, inline configs under
//     ""), MaxMetricSignals signals each, those not judged pass first; a
//     config deleted through this server, or found gone from the store by
//     the retention loop, loses its series and frees its place.
//   - Replicas sharing a store own what they run and run each schedule's
//     firing once (analysis/runner). ConfigsVersion summarises the stored
//     configs' versions for the replicas' schedules to follow changes made
//     through another (schedule.Reloader.Follow). The records of firings
//     are deleted an hour after their due time (FiringRetention).
//   - The Flagger webhook answers 200 for pass, 412 for fail or marginal
//     and 424 for no verdict (none): not a 5xx, which Flagger's HTTP client
//     retries, judging again and replacing the reason with its own.
//   - For a config with sequential: anytime, the Argo and Flagger looks and
//     the schedules' firings at one canary share its evidence, stored by
//     config and canary (runner.Runner.Look): each look judges all the data
//     since the evidence started, with the references its first look set,
//     and says what it decided (answer field decision: pass, fail, marginal,
//     none, or undecided when the evidence is only too short yet). Flagger
//     has no inconclusive, so an undecided look answers 200 and only an
//     anytime-valid fail counts toward its rollback; metadata undecided:
//     halt makes it 424, for a confirm-promotion hook. With the horizon
//     known (sequential: {mode: anytime, horizon: 1h}) the evidence also
//     keeps each signal's looks, which its boundary is computed from. A
//     resumed multi-interval analysis keeps the judgements it recorded and
//     continues from the references and looks they recorded.
//   - Evidence no look can continue (last written a day ago,
//     analysis.MaxEvidenceWindow) is deleted by the same loop as the ended
//     analyses, whatever Retention.
//   - Kayenta compatibility (/canary, /canaryConfig,
//     /standalone_canary_analysis) is thin handlers here over package
//     kayenta/execution, which maps Kayenta's requests onto plans and
//     stored analyses onto Kayenta's status documents (package kayenta's
//     doc maps all of Verdict's Kayenta support). Inline Kayenta configs
//     are converted by kayenta/kayentaimport and refused when the
//     conversion would lose anything. GET /canaryConfig lists stored
//     configs with id = name (Argo's kayenta provider looks the id up
//     first).
//   - Auth is optional tokens with three roles, each allowed what the ones
//     before it are: read (GET), judge (judging a stored config: the judge
//     API, Argo, Flagger, Kayenta executions of a stored config) and write
//     (every other mutation, and whatever runs a query a caller wrote).
//     A token comes as Authorization: Bearer, or as the password of Basic
//     authorization, which is how Go's HTTP client sends a URL's user
//     information (http://verdict:TOKEN@host/): Flagger's webhooks and
//     Argo Rollouts' kayenta provider cannot set headers, and the user
//     information, unlike a token in the path or query, stays out of the
//     request line that proxies log and is masked in Go's errors. Since a
//     browser resends Basic credentials by itself, a request that acts
//     with them from another site (Sec-Fetch-Site, Origin) is refused.
//     Tokens are compared in constant time over their SHA-256 digests.
//     /healthz and /readyz are always open. Without tokens the same-origin
//     rule above applies.
//   - Metric sources are the operator's, never a caller's: Options.Sources
//     are built once by whoever starts the server (verdict serve: the URL
//     flags and --sources-file), instrumented once, and shared by every
//     analysis, schedule and synchronous judgement, so that connections
//     and answer sizes are bounded per source (metrics/sourcehttp), not per
//     analysis. A config that reaches the server (PUT, an inline config of
//     the judge API or of POST /api/v1/analyses, a Kayenta canaryConfig,
//     LoadConfigDir) is refused with a 400 when it sets anything under
//     sources: (analysis.Config.CheckNoSources), since a source's URL and
//     its credentials and TLS files decide where the server sends what it
//     can read, or when a signal names a source the server does not have.
//     A config read back from the store with sources: (stored by an older
//     version) is not used either.
//   - Every analysis the server finishes (API, schedule, Argo, Flagger,
//     Kayenta) pushes its verdict event to Options.Events (verdict serve:
//     the loki source's pushURL), from the one place analyses end (the
//     runner's, analysis/runner): one line naming the stored report (id and URL) with the
//     verdict's level; an analysis that could not run pushes verdict none
//     at level error; a cancelled or interrupted one pushes nothing. GET /
//     is the analyses page for a browser and a JSON 404 for API clients.
//   - /metrics serves a private registry owned by the Server, never the
//     global one (the Loki push client registers there).
package api
