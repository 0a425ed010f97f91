// Package flux is the metrics.Source for InfluxDB's Flux query language:
// POST /api/v2/query (InfluxDB 2.x, and 1.8+ with Flux enabled), answered
// in annotated CSV.
//
// Decisions:
//   - Client: plain HTTP through metrics/sourcehttp (one bounded client
//     per Source: timeouts, connection bound, answer cap), not
//     github.com/influxdata/influxdb-client-go/v2. That library (v2.14.0,
//     api/query.go) sets Accept-Encoding: gzip on its query requests and
//     wraps the body in gzip.NewReader itself, so Go's transport leaves the body compressed and
//     sourcehttp's cap would count compressed bytes, not what is parsed;
//     its query API does not read Retry-After or retry a 429 either. One POST and one CSV
//     shape do not need it. Verdict sets no Accept-Encoding: Go's
//     transport asks for gzip and unzips under the cap.
//   - Auth: "Authorization: Token TOKEN", the token from the source's
//     tokenFile (read at every request, under 64 KiB) or, without one,
//     INFLUX_TOKEN in the server's environment; never from a request.
//     The token appears in no error (an answer that echoes it has it
//     replaced by [token]). 401 and 403 are one sentence: "HTTP 401:
//     InfluxDB refused the token (...); check the source's tokenFile or
//     INFLUX_TOKEN".
//   - Templates (Language): the template rules every source shares
//     (metrics/query.Parts). A scope value may stand only inside a "..."
//     string, outside any ${...} interpolation, and not right after a
//     backslash; in code, a comment or a /.../ regular expression the
//     template is refused before anything is queried. The value is
//     written with Flux's string escapes (SPEC.md, "String literals"):
//     \\ \" \n \r \t, and \xNN for '$', '{' and the other control bytes,
//     so no value can close the string, end an escape or open an
//     interpolation. There is no Go Flux parser to check against: the
//     parser of github.com/influxdata/flux (v0.120.1: an 8 MB module,
//     65 MB unpacked) is libflux, Rust through cgo. Instead lex (lex.go)
//     reads the rendered query as Flux's scanner does for strings,
//     escapes, interpolations, comments and regular expressions, and
//     every rendering must read as the same tokens as the template with
//     "x" in each value's place, only the strings' text differing
//     (render); FuzzRender checks that, and that the string decodes to
//     the value, for arbitrary values.
//   - The window: the template must use {{.start}} and {{.end}}, RFC 3339
//     time literals (range(start: {{.start}}, stop: {{.end}})), so that
//     the query's range is the window's and visible in the query;
//     v.timeRangeStart and v.timeRangeStop are the UI's and would need an
//     extern AST. {{.step}} and {{.interval}} are Flux durations (60s,
//     1500ms).
//   - Counts (metrics.Count) are evaluated on query.CountGrid like every
//     source's: the query sums each step with
//     aggregateWindow(every: {{.step}}, fn: sum, createEmpty: true)
//     (Fetch refuses a count without aggregateWindow and {{.step}}).
//     Fetch renders {{.start}} and {{.end}} as the grid's first−step and
//     last, so the windows [t−step, t) aggregateWindow cuts, aligned to
//     the epoch's multiples of the step and reported at their _stop t,
//     are the grid's; a window without rows counts 0 (query.FillCounts)
//     as long as the query returned a table.
//   - Answers: every table of the annotated CSV (annotations datatype,
//     group and default) is a series of its (_time, _value) rows, its
//     labels the table's group key but result, table, _start and _stop;
//     null values are left out; a _value that is not a number is
//     KindBadResponse. An error table (an "error" column, which InfluxDB
//     writes when a query fails after the answer began) is KindBadQuery.
//   - Errors are *query.Error: 400 KindBadQuery, 401 and 403
//     KindRejected, 429 KindRateLimited, 500, 502 and 503 KindUnavailable,
//     504 KindTimeout, the retried ones after at least the answer's
//     Retry-After (query.Backoff). Each attempt has its own deadline
//     (Config.Timeout, default 10s).
package flux
