// Package query holds what every metric source shares: rendering a query
// template for a scope and window, the error a failed query returns and its
// kinds, the retry policy, and the rule for several series in one answer.
//
// # Templates
//
// A query is a Go text/template over the scope's keys ({{.track}},
// {{.namespace}}) and the window: {{.interval}} (window length as a
// Prometheus duration, "1h"), {{.step}} ("10s"), {{.start}} and {{.end}}
// (unix seconds). Only {{.name}} actions and {{"text"}} constants are
// accepted — no if, range, pipelines or functions; write {{"{{"}} for a
// literal "{{" (LogQL's line_format needs it).
//
// Safety rule: a scope value comes from whoever calls the API, so it must
// never change what the query means. The template is parsed and the text
// around each action is scanned with PromQL/LogQL's lexical rules to find
// whether the action sits inside a "...", '...' or `...` string literal.
// A scope variable outside a string literal (where `"} or vector(1)` or
// `unless` could be injected) or in a # comment is refused by Validate,
// before anything is queried. Inside a literal the value is escaped for that
// literal (backslash, the quote, \n, \r, \t, other non-printable runes as
// \uXXXX), so it reads back as exactly itself; when the literal is the
// operand of a regex operator (=~, !~, |~) its regex metacharacters are
// quoted too, so "a.*" matches only "a.*". Values that cannot be written
// safely are refused: invalid UTF-8 and a backtick inside a backtick
// string. Window variables are produced by Verdict and may go anywhere
// (range selectors, offsets).
//
// Unknown variables are errors found by Validate, not empty strings.
//
// # Errors and retries
//
// Sources return *Error with a Kind; Kind.SourceDown tells "no verdict,
// the source is down" from "the config is wrong". Backoff retries only
// retryable kinds (timeout, 5xx, 429); an answer over the source's size
// cap (KindTooLarge) is not retried. What a source says in an error goes
// through Excerpt: one line of at most 200 bytes, so that an error page
// never lands whole in a report.
//
// # Several series
//
// Combine enforces: a query returns at most one series per scope, unless
// the signal says how to aggregate (sum, mean, max, min, point-wise).
package query
