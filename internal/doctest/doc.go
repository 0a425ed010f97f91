// Package doctest runs the examples of Verdict's documentation, so that a
// README or docs/ page whose commands stop working fails the tests. Its
// test (docs_test.go) brings up the playground of package try (a real
// Prometheus with the fixture scenarios up to now, the Loki-shaped server,
// verdict serve), reads README.md and docs/*.md, and runs every command of
// the fenced blocks marked runnable, checking what each gives against what
// the page says it gives.
//
// Markers, in the Markdown source (an HTML comment is invisible on the
// rendered page; the expectation is a shell comment the reader sees):
//
//	<!-- doctest -->
//	```sh
//	bin/verdict judge --config ... --canary ...     # → fail
//	curl -si -X POST 127.0.0.1:8080/api/v1/flagger/checkout-release ...   # → 412 fail
//	bin/verdict validate --config fixtures/healthy/config.yaml
//	```
//
// What they mean:
//   - `<!-- doctest -->` on the line before a fence marks the block
//     runnable: each command runs in order, in bash, from a directory that
//     looks like the repository's root (bin/verdict is the binary built
//     from this tree, also on PATH as verdict; every other top-level entry
//     links to the tree's), with the documented addresses 127.0.0.1:9090
//     (Prometheus), 127.0.0.1:3100 (Loki) and 127.0.0.1:8080 (verdict
//     serve) replaced by the playground's.
//   - `<!-- doctest: file=PATH -->` before a fence says the block is the
//     content of PATH (relative to the repository's root), so a config
//     shown on the page is the one the examples use.
//   - A command is a line, with its continuation lines (a trailing
//     backslash, or a quoted string spanning lines). Its trailing comment
//     `# → WHAT` says what it gives, words separated by spaces or commas:
//     a verdict (pass, fail, marginal, none); an HTTP status (three
//     digits: the command must print the answer's head, curl -i); `exit N`.
//     Words in parentheses are for the reader and ignored; any other word
//     is an error, so a typo cannot pass.
//
// What a command must do:
//   - A verdict is read from the answer's JSON (its top-level "verdict")
//     and, for the verdict CLI (verdict or bin/verdict), from the exit code
//     (0 pass, 1 fail, 2 marginal, 3 none); every source there is must
//     agree, and there must be one.
//   - The exit code is the one `exit N` or the CLI's verdict gives, else 0.
//   - An answer that is an error (a JSON object with "error", or an HTTP
//     status of 400 or more) fails the command unless its status is the
//     one expected.
//
// A `# →` comment on a line of its own, a marker not followed by a fence,
// or an unknown marker is an error in the page.
package doctest
