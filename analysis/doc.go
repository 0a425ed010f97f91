// Package analysis runs one canary analysis: it reads and validates a
// config, gets each signal's baseline and canary series, judges every signal
// (package judge), scores the results (package scoring) and returns a Report.
//
// Config parsing is strict, because a typo in a canary config silently
// changes what is judged: unknown and duplicate keys are errors, scalars must
// parse as their field's type, and every error names the file, the line and
// the field path (signals[2].allowedChange). JSON configs are read with the
// YAML parser, so they get line numbers too.
//
// Sources are named (SourceSpec): prometheus and loki by default, others
// with a type: prometheus, loki, victoriametrics (metrics/prometheus with
// its VictoriaMetrics flavor), graphite (metrics/graphite), influxdb
// (metrics/influxdb, InfluxQL; its database: is required), flux
// (metrics/flux, InfluxDB's Flux API; org:, and its token from tokenFile
// or INFLUX_TOKEN), cloudwatch
// (metrics/cloudwatch: a region and the server's AWS credentials, no URL
// needed), datadog (metrics/datadog; its keys from apiKeyFile and
// appKeyFile or DD_API_KEY and DD_APP_KEY, no url needed) or newrelic
// (metrics/newrelic; its key, account and region from apiKeyFile,
// accountId and region or NEW_RELIC_API_KEY, NEW_RELIC_ACCOUNT_ID and
// NEW_RELIC_REGION). A signal's queries are read in its source's language
// (metrics.Language: PromQL and LogQL's rules, or Graphite's, InfluxQL's,
// Flux's, CloudWatch's, Datadog's or NRQL's), and CheckLive renders them for the
// scopes before anything runs, so a scope value the language cannot hold
// is a config error, not a failed query. Where the language parses a
// template once (metrics.TemplateLanguage), Run hands that parse to the
// fetches (metrics.Query.Template), so each query is parsed once per
// analysis. The command line tools read
// sources from the config's sources: block (OpenSources); verdict serve
// reads them from its own --sources-file and flags (ServerSources), builds
// each once, and refuses configs that set sources (Config.CheckNoSources).
// See sources.go for the decisions.
//
// Repeated looks (Config.Sequential): planned spends the level over a
// multi-interval run's looks; anytime (RunIntervals, and the looks of
// Argo, Flagger and schedules under verdict serve) judges all the data
// since the start at every look, with each signal's reference information
// from its first look. When the canary's length is known (RunIntervals:
// its lifetime; Config.KnownHorizon: sequential: {mode: anytime,
// horizon: 1h}) the decisions spend the level over it (judge.Horizon),
// from each signal's looks so far (AnytimeLook.Looks), and a signal whose
// failure alone fails the canary (Config.FailsAlone) is held to the
// critical level. A canary judged one
// call at a time keeps that evidence between calls: EvidenceKey
// identifies it, NextLook decides what a look continues and when evidence
// starts anew, DecideLook what the look decided (see evidence.go). A
// resumed RunIntervals continues from the judgements, references and looks
// it recorded (IntervalRequest.Done); judgements recorded without looks
// (before runs knew their lifetime) resume with the mixture boundary.
package analysis
