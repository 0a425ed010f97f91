// Command verdictdriver calls Flagger's own CallWebhook with a Canary's
// webhooks of one type against a Verdict server, and prints for each
// whether the check passed, what Flagger's scheduler does then
// (scheduler.go, scheduler_hooks.go) and the error, as JSON.
//
// It is built inside a checkout of Flagger (as cmd/verdictdriver), never in
// Verdict's module: see ../../README.md. It unmarshals the Canary strictly
// into Flagger's Canary and points the webhook URLs at the server (-from is
// replaced by -to).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"
)

type result struct {
	Webhook string `json:"webhook"`
	Type    string `json:"type"`
	Passed  bool   `json:"passed"`
	// Scheduler is what Flagger's scheduler does (scheduler.go, scheduler_hooks.go).
	Scheduler string `json:"scheduler"`
	Error     string `json:"error,omitempty"`
}

func main() {
	canaryFile := flag.String("canary", "", "Canary YAML")
	from := flag.String("from", "verdict.verdict.svc:8080", "host in the webhook URLs to replace")
	to := flag.String("to", "", "host:port of the Verdict server")
	hookType := flag.String("type", "rollout", "the webhook type to call")
	flag.Parse()
	raw, err := os.ReadFile(*canaryFile)
	if err != nil {
		fatal(err)
	}
	var cd flaggerv1.Canary
	if err := yaml.UnmarshalStrict(raw, &cd); err != nil {
		fatal(fmt.Errorf("the Canary does not unmarshal into Flagger's Canary: %w", err))
	}
	var out []result
	for _, w := range cd.GetAnalysis().Webhooks {
		if string(w.Type) != *hookType && !(*hookType == "rollout" && w.Type == "") {
			continue
		}
		w.URL = strings.Replace(w.URL, *from, *to, 1)
		err := controller.CallWebhook(cd, flaggerv1.CanaryPhaseProgressing, w)
		r := result{Webhook: w.Name, Type: string(w.Type), Passed: err == nil}
		switch {
		case err == nil && w.Type == flaggerv1.PreRolloutHook:
			r.Scheduler = "Pre-rollout check passed"
		case err == nil:
			r.Scheduler = "check passed: advance the canary weight"
		default:
			r.Error = err.Error()
			r.Scheduler = "Halt advancement: failed checks + 1 (rollback at threshold)"
		}
		out = append(out, r)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "verdictdriver:", err)
	os.Exit(1)
}
