package try

import (
	"fmt"
	"net/url"
	"strings"
)

// Example is a command to try on the playground and what it gives.
type Example struct {
	// Title says in a few words what the command does.
	Title string
	// Command is a shell command line, run from the repository's root
	// (bin/verdict is the binary make builds), with the playground's
	// addresses.
	Command string
	// Expect is what it gives, in the doc test's words (internal/doctest):
	// a verdict, an HTTP status and a verdict, ...
	Expect string
}

// judgeBody is a judge API request for the config checkout
// (fixtures/try/checkout.yaml): a canary whose p99 latency is some 20%
// higher, with as many errors as the baseline.
const judgeBody = `{"configName": "checkout",` +
	` "baseline": {"p99_latency_ms": [160, 158, 171, 165, 162, 169, 158, 166, 161, 170, 163, 167], "errors": [0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 0, 0]},` +
	` "canary": {"p99_latency_ms": [190, 201, 188, 196, 193, 205, 189, 198, 194, 199, 192, 203], "errors": [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0]}}`

// argoURL is the Argo web provider's call for a scenario and config.
func argoURL(env *Env, config, scenario string) string {
	q := "baseline=" + url.QueryEscape("scenario="+scenario+",track=baseline") +
		"&canary=" + url.QueryEscape("scenario="+scenario+",track=canary") + "&lookback=5m"
	return Addr(env.ServeURL) + "/api/v1/argo/" + config + "?" + q
}

// Examples are the commands the playground suggests, with the playground's
// addresses: each of the judge API, Argo Rollouts' web provider,
// Flagger's webhook and the CLI on Prometheus and on logs.
func Examples(env *Env) []Example {
	scopes := func(scenario string) string {
		return "--baseline-scope scenario=" + scenario + ",track=baseline --canary-scope scenario=" + scenario + ",track=canary"
	}
	flagger := func(scenario string) string {
		return fmt.Sprintf(`{"name": "checkout", "namespace": "shop", "phase": "Progressing", "metadata": {"baseline.scenario": %q, "baseline.track": "baseline", "canary.scenario": %q, "canary.track": "canary"}}`, scenario, scenario)
	}
	return []Example{
		{
			Title:   "the judge API on series you send (config checkout: the canary's p99 is 20% higher)",
			Command: "curl -s -X POST " + Addr(env.ServeURL) + "/api/v1/judge -H 'Content-Type: application/json' -d '" + judgeBody + "'",
			Expect:  "fail",
		},
		{
			Title:   "Argo Rollouts' web provider: the last 5 minutes of the healthy scenario (errors per request and the p99 from the histogram)",
			Command: "curl -s '" + argoURL(env, "checkout-release", "healthy") + "'",
			Expect:  "pass",
		},
		{
			Title:   "the same for a canary whose latency regressed",
			Command: "curl -s '" + argoURL(env, "checkout-release", "latency-regression") + "'",
			Expect:  "fail",
		},
		{
			Title:   "Flagger's webhook: 200 on pass, 412 on fail or marginal, 424 without a verdict",
			Command: "curl -si -X POST " + Addr(env.ServeURL) + "/api/v1/flagger/checkout-release -H 'Content-Type: application/json' -d '" + flagger("error-spike") + "'",
			Expect:  "412 fail",
		},
		{
			Title: "the CLI on Prometheus: an hour of the latency regression, six signals at a 10 s step",
			Command: "bin/verdict analyze --config fixtures/prometheus/latency-regression.yaml " + scopes("latency-regression") +
				" --lookback 1h --step 10s --prometheus-url " + env.PrometheusURL,
			Expect: "fail",
		},
		{
			Title: "the CLI on logs: failed checkouts per checkout over the last 15 minutes of the error spike",
			Command: "bin/verdict analyze --config fixtures/try/checkout-logs.yaml " + scopes("error-spike") +
				" --lookback 15m --step 1m --loki-url " + env.LokiURL,
			Expect: "fail",
		},
	}
}

// MovedPorts says which servers are not on their documented ports, or "".
func (e *Env) MovedPorts() string {
	var moved []string
	for _, s := range []struct {
		name, base string
		want       int
	}{{"Prometheus", e.PrometheusURL, e.wantPorts[0]}, {"Loki", e.LokiURL, e.wantPorts[1]}, {"verdict serve", e.ServeURL, e.wantPorts[2]}} {
		if s.want != 0 && !strings.HasSuffix(s.base, fmt.Sprintf(":%d", s.want)) {
			moved = append(moved, fmt.Sprintf("port %d was taken, so %s is on %s", s.want, s.name, Addr(s.base)))
		}
	}
	return strings.Join(moved, "; ")
}
