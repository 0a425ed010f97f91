package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/kayentaimport"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/judge/kayenta"
	"github.com/verdict-aca/verdict/judge/stat"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

// kayentaEnvelope is what a Kayenta execution keeps besides the plan.
type kayentaEnvelope struct {
	Request                   kayenta.ExecutionRequest `json:"request"`
	Application               string                   `json:"application,omitempty"`
	ParentPipelineExecutionID string                   `json:"parentPipelineExecutionId,omitempty"`
}

// kayentaScope maps one Kayenta scope onto Verdict's template variables:
// scope and location (when set), then every extendedScopeParams entry,
// which wins as it does in Kayenta's query building.
func kayentaScope(s kayenta.CanaryScope) metrics.Scope {
	out := metrics.Scope{"scope": s.Scope}
	if s.Location != "" {
		out["location"] = s.Location
	}
	for k, v := range s.ExtendedScopeParams {
		out[k] = v
	}
	return out
}

// kayentaPlan turns an execution request into a plan. Verdict judges both
// sides over one window and one scope pair, so the request must have one
// scope (or one named "default") and equal control and experiment windows.
func kayentaPlan(req kayenta.ExecutionRequest) (Plan, error) {
	var p Plan
	if req.Thresholds == nil {
		return p, errors.New("thresholds: Execution request must contain thresholds")
	}
	if len(req.Scopes) == 0 {
		return p, errors.New("scopes: missing (give a \"default\" scope with controlScope and experimentScope)")
	}
	pair, ok := req.Scopes["default"]
	if !ok {
		if len(req.Scopes) > 1 {
			return p, errors.New("scopes: Verdict judges one scope pair; name it \"default\"")
		}
		for _, v := range req.Scopes {
			pair = v
		}
	}
	cs, es := pair.ControlScope, pair.ExperimentScope
	if cs.Scope == "" || es.Scope == "" {
		return p, errors.New("scopes.default: controlScope.scope and experimentScope.scope are required")
	}
	var err error
	if p.Start, err = kayenta.ParseInstant(cs.Start); err != nil {
		return p, fmt.Errorf("scopes.default.controlScope.start: %w", err)
	}
	if p.End, err = kayenta.ParseInstant(cs.End); err != nil {
		return p, fmt.Errorf("scopes.default.controlScope.end: %w", err)
	}
	if es.Start != cs.Start || es.End != cs.End || es.Step != cs.Step {
		return p, errors.New("scopes.default: Verdict compares both sides over one window; experimentScope start, end and step must equal controlScope's")
	}
	if !p.End.After(p.Start) {
		return p, errors.New("scopes.default.controlScope.end: not after start")
	}
	if cs.Step < 0 {
		return p, errors.New("scopes.default.controlScope.step: negative")
	}
	p.Step = time.Duration(cs.Step) * time.Second
	p.Scopes = analysis.Scopes{Baseline: kayentaScope(cs), Canary: kayentaScope(es)}
	p.Thresholds = &struct {
		Pass     float64 `json:"pass"`
		Marginal float64 `json:"marginal"`
	}{req.Thresholds.Pass, req.Thresholds.Marginal}
	return p, nil
}

// kayentaStart is POST /canary/{configId}: configId names a stored config.
func (s *Server) kayentaStart(w http.ResponseWriter, r *http.Request) {
	var req kayenta.ExecutionRequest
	if !s.readBody(w, r, &req) {
		return
	}
	configID := r.PathValue("configId")
	cfg, err := s.storedConfig(r, configID)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	text, err := s.configText(r.Context(), configID, nil)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.startKayenta(w, r, req, cfg, configID, text)
}

func (s *Server) startKayenta(w http.ResponseWriter, r *http.Request, req kayenta.ExecutionRequest, cfg *analysis.Config, configName string, text []byte) {
	p, err := kayentaPlan(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	env, err := json.Marshal(kayentaEnvelope{Request: req, Application: q.Get("application"), ParentPipelineExecutionID: q.Get("parentPipelineExecutionId")})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p.Kayenta, p.KayentaConfigID = env, configName
	id, ok := s.enqueue(w, r, cfg, configName, text, p, "kayenta")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, kayenta.CanaryExecutionResponse{CanaryExecutionID: id})
}

// kayentaAdhoc is POST /canary with an inline Kayenta canaryConfig. The
// config is converted with package kayentaimport (judge: kayenta); a
// config that does not convert completely is refused with the list of what
// would be lost, because judging part of it would silently differ from
// Kayenta.
func (s *Server) kayentaAdhoc(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CanaryConfig     json.RawMessage           `json:"canaryConfig"`
		ExecutionRequest *kayenta.ExecutionRequest `json:"executionRequest"`
	}
	if !s.readBody(w, r, &req) {
		return
	}
	switch {
	case len(req.CanaryConfig) == 0 || string(req.CanaryConfig) == "null":
		writeError(w, http.StatusBadRequest, "canaryConfig: missing")
		return
	case req.ExecutionRequest == nil:
		writeError(w, http.StatusBadRequest, "executionRequest: missing")
		return
	}
	text, problems, err := kayentaimport.Convert("canaryConfig", req.CanaryConfig)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var lost []string
	for _, p := range problems {
		if p.Lost {
			lost = append(lost, p.String())
		}
	}
	if len(lost) > 0 {
		writeError(w, http.StatusBadRequest, "canaryConfig: cannot be judged the way Kayenta would: "+strings.Join(lost, "; "))
		return
	}
	cfg, err := analysis.ParseConfig("canaryConfig", text)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.startKayenta(w, r, *req.ExecutionRequest, cfg, "", text)
}

// kayentaStatus is GET /canary/{id}: Kayenta's status document.
func (s *Server) kayentaStatus(w http.ResponseWriter, r *http.Request) {
	a, err := s.store.GetAnalysis(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no canary execution with id %q", r.PathValue("id")))
			return
		}
		s.internalError(w, r, err)
		return
	}
	doc, err := kayentaStatusOf(a)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func millis(t time.Time) *int64 {
	v := t.UnixMilli()
	return &v
}

// kayentaStatusOf builds Kayenta's status document for a stored analysis.
func kayentaStatusOf(a store.Analysis) (kayenta.CanaryExecutionStatus, error) {
	var p Plan
	if err := json.Unmarshal(a.Request, &p); err != nil {
		return kayenta.CanaryExecutionStatus{}, fmt.Errorf("analysis %s: read the plan: %w", a.ID, err)
	}
	var env kayentaEnvelope
	if len(p.Kayenta) > 0 {
		if err := json.Unmarshal(p.Kayenta, &env); err != nil {
			return kayenta.CanaryExecutionStatus{}, fmt.Errorf("analysis %s: read the Kayenta request: %w", a.ID, err)
		}
	}
	status := map[store.Status]string{store.Queued: "not_started", store.Running: "running", store.Finished: "succeeded",
		store.Failed: "terminal", store.Interrupted: "terminal", store.Cancelled: "canceled"}[a.Status]
	doc := kayenta.CanaryExecutionStatus{
		Application:               env.Application,
		ParentPipelineExecutionID: env.ParentPipelineExecutionID,
		PipelineID:                a.ID,
		StageStatus:               []kayenta.StageStatus{{Type: "canaryJudge", Name: "canaryJudge", Status: status}},
		Complete:                  a.Status.Terminal(),
		Status:                    status,
		CanaryConfigID:            firstNonEmpty(p.KayentaConfigID, a.ConfigName),
		BuildTimeMillis:           millis(a.CreatedAt),
		BuildTimeIso:              kayenta.FormatInstant(a.CreatedAt),
		StartTimeMillis:           millis(a.CreatedAt),
		StartTimeIso:              kayenta.FormatInstant(a.CreatedAt),
	}
	if len(p.Kayenta) > 0 {
		doc.CanaryExecutionRequest = &env.Request
	}
	if !a.FinishedAt.IsZero() {
		doc.EndTimeMillis = millis(a.FinishedAt)
		doc.EndTimeIso = kayenta.FormatInstant(a.FinishedAt)
	}
	if a.Error != "" && a.Status != store.Finished {
		doc.Exception = map[string]any{"exceptionType": "VerdictError", "details": map[string]any{"error": a.Error, "errors": []string{a.Error}}}
	}
	if a.Status == store.Finished && len(a.Kayenta) > 0 {
		var jr kayenta.JudgeResult
		if err := json.Unmarshal(a.Kayenta, &jr); err != nil {
			return doc, fmt.Errorf("analysis %s: read the Kayenta judge result: %w", a.ID, err)
		}
		doc.Result = &kayenta.CanaryResult{JudgeResult: &jr, CanaryDuration: kayenta.ISODuration(p.End.Sub(p.Start))}
	} else if a.Status == store.Finished && len(a.Report) > 0 {
		var rep analysis.Report
		if err := json.Unmarshal(a.Report, &rep); err != nil {
			return doc, fmt.Errorf("analysis %s: read the report: %w", a.ID, err)
		}
		jr := judgeResultOf(&rep)
		doc.Result = &kayenta.CanaryResult{JudgeResult: &jr, CanaryDuration: kayenta.ISODuration(p.End.Sub(p.Start))}
	}
	return doc, nil
}

var kayentaLabels = map[judge.Classification]kayenta.Label{
	judge.Pass: kayenta.Pass, judge.High: kayenta.High, judge.Low: kayenta.Low, judge.NoData: kayenta.Nodata, judge.Error: kayenta.Error,
}

// judgeResultOf writes a Verdict report (judge: verdict) as Kayenta's judge
// result; a judge: kayenta analysis stores Kayenta's own. The
// summary score is the report's; a verdict of none (no score) is written
// as score 0 with classification "Nodata", so a Kayenta client that only
// compares the score with its thresholds fails the canary rather than
// passing it.
func judgeResultOf(rep *analysis.Report) kayenta.JudgeResult {
	jr := kayenta.JudgeResult{JudgeName: "Verdict-" + string(rep.Judge), Results: []kayenta.AnalysisResult{}, GroupScores: []kayenta.GroupScore{}}
	for _, sig := range rep.Signals {
		res := kayenta.AnalysisResult{
			Name: sig.Name, ID: sig.Name, Tags: map[string]string{}, Label: kayentaLabels[sig.Classification],
			Groups:             []string{sig.Group},
			ControlMetadata:    kayenta.MetricMetadata{Stats: statsOf(sig.Baseline)},
			ExperimentMetadata: kayenta.MetricMetadata{Stats: statsOf(sig.Canary)},
			Critical:           sig.Critical,
		}
		if sig.Classification == judge.NoData && sig.Failed {
			res.Label = kayenta.NodataFailMetric
		}
		if sig.Classification != judge.Pass {
			res.ClassificationReason = sig.Reason
		}
		if sig.Classification != judge.Error {
			res.ResultMetadata = &kayenta.ResultMetadata{Ratio: kayenta.Float(kayenta.MeanRatioFromStats(statsOf(sig.Baseline), statsOf(sig.Canary)))}
		}
		jr.Results = append(jr.Results, res)
	}
	for _, g := range rep.Groups {
		score := 0.0
		if g.Score != nil {
			score = *g.Score
		}
		jr.GroupScores = append(jr.GroupScores, kayenta.GroupScore{Name: g.Name, Score: kayenta.Float(score)})
	}
	label := map[scoring.Verdict]string{scoring.Pass: "Pass", scoring.Marginal: "Marginal", scoring.Fail: "Fail", scoring.None: "Nodata"}[rep.Verdict]
	score := 0.0
	if rep.Score != nil {
		score = *rep.Score
	}
	jr.Score = kayenta.Score{Score: kayenta.Float(score), Classification: label, ClassificationReason: rep.Reason}
	return jr
}

func statsOf(s stat.Summary) kayenta.Stats {
	return kayenta.Stats{Min: kayenta.Float(s.Min), Max: kayenta.Float(s.Max), Mean: kayenta.Float(s.Mean), Std: kayenta.Float(s.StdDev), Count: s.Count}
}
