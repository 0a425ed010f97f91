package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// verdictAnswer is what the Argo and Flagger endpoints answer.
type verdictAnswer struct {
	ID      string   `json:"id"`
	Verdict string   `json:"verdict"`
	Score   *float64 `json:"score"`
	Reason  string   `json:"reason"`
	// Decision is the verdict, but "undecided" for a look of an anytime
	// canary that has no verdict yet only because its evidence is short.
	Decision  string `json:"decision"`
	ReportURL string `json:"reportURL"`
	// Evidence is, for an anytime config, the evidence the look judged.
	Evidence *analysis.Evidence `json:"evidence,omitempty"`
}

// parseScopeParam reads K=V[,K=V] (the CLI's --baseline-scope form). A
// query string's values are bytes, not text: one that is not UTF-8 is
// refused, as a scope's values end up in queries and metric labels.
func parseScopeParam(field, s string) (metrics.Scope, error) {
	if s == "" {
		return nil, fmt.Errorf("%s: missing (K=V[,K=V], e.g. track=baseline)", field)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%s: %q is not valid UTF-8", field, s)
	}
	scope := metrics.Scope{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: %q is not KEY=VALUE", field, pair)
		}
		if _, dup := scope[k]; dup {
			return nil, fmt.Errorf("%s: %s is given twice", field, k)
		}
		scope[k] = v
	}
	return scope, nil
}

func parseDurationParam(field, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	var d analysis.Duration
	if err := d.UnmarshalText([]byte(v)); err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration such as 5m", field, v)
	}
	return time.Duration(d), nil
}

// parseWeightParam reads the canary's expected share of the traffic: "5%"
// or, as rollout controllers write weights, a bare percentage ("5"); empty
// is 0 (the config's canaryWeight, if any).
func parseWeightParam(field, v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%")), 64)
	if err != nil || !(p > 0 && p < 100) {
		return 0, fmt.Errorf("%s: %q is not the canary's share of the traffic in per cent, such as 5 or 5%%", field, v)
	}
	return p / 100, nil
}

// judgeNow judges a stored config over the trailing window synchronously,
// storing the analysis; status is the HTTP status to answer on error. For
// an anytime config the look continues the canary's evidence (runner.Look;
// revision: the release the controller names, if any).
func (s *Server) judgeNow(r *http.Request, configName, origin, revision string, scopes analysis.Scopes, lookback, step time.Duration, weight float64) (verdictAnswer, int, error) {
	cfg, text, err := s.storedConfigText(r.Context(), configName)
	if err != nil {
		return verdictAnswer{}, statusOf(err), err
	}
	// The window ends at now truncated to the step (the source's default
	// step when the call gives none), as Grafana aligns its range queries:
	// evaluation times then fall on multiples of the step, so a rate over
	// a short range sees the same samples at every call, and counts cover
	// the window's whole steps (see query.AlignToStep).
	now := s.now()
	start, end := query.AlignToStep(now.Add(-lookback), now, step)
	p := runner.Plan{Scopes: scopes, Start: start, End: end, Step: step, CanaryWeight: weight}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.SyncTimeout)
	defer cancel()
	id, rep, err := s.runs.Look(ctx, runner.Request{Config: cfg, ConfigName: configName, ConfigText: text, Plan: p, Origin: origin}, revision, lookback)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return verdictAnswer{ID: id}, http.StatusGatewayTimeout, fmt.Errorf("the judgement took longer than %s", s.opt.SyncTimeout)
	case errors.Is(err, runner.ErrInvalid):
		return verdictAnswer{ID: id}, http.StatusBadRequest, err
	case err != nil:
		return verdictAnswer{ID: id}, http.StatusInternalServerError, err
	}
	return verdictAnswer{ID: id, Verdict: string(rep.Verdict), Score: rep.Score, Reason: rep.Reason, Decision: decision(rep),
		ReportURL: s.baseURL() + "/analyses/" + id, Evidence: rep.Evidence}, http.StatusOK, nil
}

// argo answers Argo Rollouts' web metric provider:
// GET /api/v1/argo/{configName}?baseline=K=V,..&canary=K=V,..&lookback=5m[&step=30s].
// Every verdict answers 200; the AnalysisTemplate reads {$.verdict}.
func (s *Server) argo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	b, err := parseScopeParam("baseline", q.Get("baseline"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, err := parseScopeParam("canary", q.Get("canary"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	lookback, err := parseDurationParam("lookback", q.Get("lookback"), 5*time.Minute)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	step, err := parseDurationParam("step", q.Get("step"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	weight, err := parseWeightParam("canaryWeight", q.Get("canaryWeight"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ans, status, err := s.judgeNow(r, r.PathValue("configName"), "argo", "", analysis.Scopes{Baseline: b, Canary: c}, lookback, step, weight)
	if err != nil {
		s.answerError(w, r, status, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// answerError answers a failed request with status: the error's text for
// the client's mistakes (4xx) and a timeout, but for the server's own
// failures (a store down, a database's error) only a pointer to the log,
// where the error goes: its text may name hosts, users or SQL states.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 && status != http.StatusGatewayTimeout {
		s.internalError(w, r, err)
		return
	}
	writeError(w, status, err.Error())
}

// flaggerPayload is what Flagger posts to a webhook: every field of its
// CanaryWebhookPayload, read strictly, so that a misspelled one is refused.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata"`
}

// flaggerScopes builds the scopes of a Flagger canary: by default
// {namespace, app: NAME-primary} against {namespace, app: NAME} (Flagger's
// primary and canary workloads); metadata keys "baseline.K" and "canary.K"
// add or replace variables.
func flaggerScopes(p flaggerPayload) analysis.Scopes {
	b := metrics.Scope{"namespace": p.Namespace, "app": p.Name + "-primary", "name": p.Name}
	c := metrics.Scope{"namespace": p.Namespace, "app": p.Name, "name": p.Name}
	for k, v := range p.Metadata {
		switch {
		case strings.HasPrefix(k, "baseline."):
			b[strings.TrimPrefix(k, "baseline.")] = v
		case strings.HasPrefix(k, "canary."):
			c[strings.TrimPrefix(k, "canary.")] = v
		}
	}
	return analysis.Scopes{Baseline: b, Canary: c}
}

// flagger answers a Flagger webhook (pre-rollout or rollout):
// 200 on pass, 412 on fail or marginal, 424 when there is no verdict.
//
// Flagger (pkg/controller/webhook.go) treats any status above 202 as a
// failed check and shows the answer's body in its event. It posts through
// go-retryablehttp, which retries every 5xx but 501 and, once out of
// retries, drops the body for "giving up after N attempt(s)"; so no
// verdict is a 4xx that it neither retries nor hides (424 Failed
// Dependency: the metrics Verdict depends on were missing), not a 503.
// Errors of Verdict itself (a source that failed, a timeout) stay 5xx:
// retrying those is what the retries are for.
func (s *Server) flagger(w http.ResponseWriter, r *http.Request) {
	var p flaggerPayload
	if !s.readStrictBody(w, r, &p) {
		return
	}
	switch {
	case p.Name == "":
		writeError(w, http.StatusBadRequest, "name: missing (Flagger sends the canary's name)")
		return
	case p.Namespace == "":
		writeError(w, http.StatusBadRequest, "namespace: missing (Flagger sends the canary's namespace)")
		return
	}
	lookback, err := parseDurationParam("metadata.lookback", p.Metadata["lookback"], 5*time.Minute)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	step, err := parseDurationParam("metadata.step", p.Metadata["step"], 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	weight, err := parseWeightParam("metadata.canaryWeight", p.Metadata["canaryWeight"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	halt, err := parseUndecided(p.Metadata["undecided"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ans, status, err := s.judgeNow(r, r.PathValue("configName"), "flagger", p.Checksum, flaggerScopes(p), lookback, step, weight)
	if err != nil {
		s.answerError(w, r, status, err)
		return
	}
	writeJSON(w, flaggerStatus(ans, halt), ans)
}

// flaggerStatus is the status a Flagger webhook answers: 200 on pass, 412
// on fail or marginal, 424 on none. A look of an anytime canary that has
// no verdict yet (undecided: no harm shown, the evidence still short)
// answers 200, so that only an anytime-valid fail counts toward Flagger's
// rollback threshold (Flagger has no inconclusive: every answer above 202
// is a failed check); with halt (metadata undecided: halt, for a
// confirm-promotion hook) it answers 424, holding the promotion until the
// evidence decides.
func flaggerStatus(ans verdictAnswer, halt bool) int {
	switch {
	case ans.Verdict == "pass":
		return http.StatusOK
	case ans.Decision == "undecided" && !halt:
		return http.StatusOK
	case ans.Verdict == "none":
		return http.StatusFailedDependency
	}
	return http.StatusPreconditionFailed
}

// parseUndecided reads a Flagger webhook's metadata "undecided": proceed
// (the default) or halt.
func parseUndecided(v string) (halt bool, err error) {
	switch v {
	case "", "proceed":
		return false, nil
	case "halt":
		return true, nil
	}
	return false, fmt.Errorf("metadata.undecided: %q is neither proceed (an undecided look answers 200) nor halt (424, for confirm-promotion hooks)", v)
}

// decision is what the Argo and Flagger answers call a look's outcome: its
// verdict, but "undecided" for the verdict none of a look whose evidence is
// only too short yet.
func decision(rep *analysis.Report) string {
	if rep.Evidence != nil && rep.Evidence.Undecided {
		return "undecided"
	}
	return string(rep.Verdict)
}
