package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/metrics"
)

// Kayenta's standalone canary analysis (StandaloneCanaryAnalysisController):
// a multi-interval analysis started in one call and polled until complete.
//
//	POST /standalone_canary_analysis/{canaryConfigId}   body: CanaryAnalysisExecutionRequest
//	POST /standalone_canary_analysis                    body: {canaryConfig, executionRequest}
//	GET  /standalone_canary_analysis/{id}               CanaryAnalysisExecutionStatusResponse
//
// The schedule is Kayenta's, computed by package kayenta from the
// request (start = scopes[0].startTimeIso or now; lifetime = whole minutes
// to endTimeIso, else lifetimeDurationMins; interval = analysisIntervalMins,
// or the lifetime when absent, 0 or longer; judgement i ends at
// start + i × interval, shifted by beginAfterMins when there is no end
// time; lookbackMins slides the window). It runs as one Verdict
// multi-interval analysis (RunIntervals) through the ordinary enqueue
// path, so it is stored, counted, resumable and cancellable like any other.
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

// standaloneStart is POST /standalone_canary_analysis/{canaryConfigId}.
func (s *Server) standaloneStart(w http.ResponseWriter, r *http.Request) {
	var req kayenta.AnalysisRequest
	if !s.readBody(w, r, &req) {
		return
	}
	configID := r.PathValue("canaryConfigId")
	cfg, err := s.storedConfig(r, configID)
	if err != nil {
		s.answerError(w, r, statusOf(err), err)
		return
	}
	text, err := s.configText(r.Context(), configID, nil)
	if err != nil {
		s.answerError(w, r, statusOf(err), err)
		return
	}
	s.startStandalone(w, r, req, nil, cfg, configID, text)
}

// standaloneAdhoc is POST /standalone_canary_analysis with an inline
// Kayenta canary config, converted as POST /canary converts it.
func (s *Server) standaloneAdhoc(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CanaryConfig     json.RawMessage          `json:"canaryConfig"`
		ExecutionRequest *kayenta.AnalysisRequest `json:"executionRequest"`
	}
	if !s.readBody(w, r, &req) {
		return
	}
	switch {
	case len(req.CanaryConfig) == 0 || string(req.CanaryConfig) == "null":
		writeError(w, http.StatusBadRequest, "canaryConfig: canaryConfig must be provided for ad-hoc requests")
		return
	case req.ExecutionRequest == nil:
		writeError(w, http.StatusBadRequest, "executionRequest: executionRequest must be provided for ad-hoc requests")
		return
	}
	cfg, text, err := s.convertKayentaConfig(req.CanaryConfig)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.startStandalone(w, r, *req.ExecutionRequest, req.CanaryConfig, cfg, "", text)
}

func (s *Server) startStandalone(w http.ResponseWriter, r *http.Request, req kayenta.AnalysisRequest, canaryConfig json.RawMessage, cfg *analysis.Config, configName string, text []byte) {
	p, err := standalonePlan(req, s.now())
	if err == nil && p.Lookback > 0 && cfg.Sequential == analysis.SequentialAnytime {
		err = errors.New("lookbackMins: the canary config is sequential: anytime, whose judgements each judge all the data since the start; give no lookbackMins")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	envelope := kayentaQuery(r)
	envelope.Standalone = &req
	envelope.CanaryConfig = canaryConfig
	env, err := json.Marshal(envelope)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p.Kayenta, p.KayentaConfigID = env, configName
	id, ok := s.enqueue(w, r, runner.Request{Config: cfg, ConfigName: configName, ConfigText: text, Plan: p, Origin: "kayenta"})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, kayenta.AnalysisExecutionResponse{CanaryAnalysisExecutionID: id})
}

// standaloneBounds checks a standalone request's lifetime, judgements and
// points per query against the bounds of a live analysis before its plan
// lists the judgement windows (one per judgement: a lifetime of 10^9
// minutes would list 10^9 of them). Errors it cannot judge yet (a start
// that does not parse) are left to kayenta.PlanAnalysis.
func standaloneBounds(req kayenta.AnalysisRequest, now time.Time) error {
	start, err := req.StartTime(now)
	if err != nil {
		return nil
	}
	end, hasEnd, err := req.EndTime()
	if err != nil {
		return nil
	}
	fields := analysis.ExtentFields{Step: "scopes[0].step", Lifetime: "lifetimeDurationMins", Interval: "analysisIntervalMins"}
	var endPtr *time.Time
	if hasEnd {
		endPtr, fields.Lifetime = &end, "scopes[0].endTimeIso"
	}
	minutes, err := kayenta.LifetimeMinutes(start, endPtr, req)
	if err != nil || minutes <= 0 {
		return nil
	}
	if maxMinutes := int64(analysis.MaxLifetime / time.Minute); minutes > maxMinutes {
		return &analysis.BoundError{Field: fields.Lifetime, Msg: fmt.Sprintf("a lifetime of %d minutes is longer than the longest lifetime, %d minutes (7 days)", minutes, maxMinutes)}
	}
	lifetime := time.Duration(minutes) * time.Minute
	interval := time.Duration(kayenta.IntervalMinutes(req, minutes)) * time.Minute
	lookback := time.Duration(min(max(req.LookbackMins, 0), minutes)) * time.Minute
	step := time.Duration(req.Scopes[0].StepSeconds()) * time.Second
	return analysis.CheckExtent(analysis.Extent{Window: metrics.Window{Start: start, End: start.Add(lifetime), Step: step},
		Lifetime: lifetime, Interval: interval, Lookback: lookback}, fields)
}

// standalonePlan turns a standalone request into a multi-interval plan
// whose judgements have exactly Kayenta's windows.
func standalonePlan(req kayenta.AnalysisRequest, now time.Time) (runner.Plan, error) {
	var p runner.Plan
	switch {
	case len(req.Scopes) == 0:
		return p, errors.New("scopes: Canary StageExecution configuration must contain at least one scope")
	case len(req.Scopes) > 1:
		return p, fmt.Errorf("scopes: Verdict judges one scope pair, not %d", len(req.Scopes))
	case req.Thresholds == nil:
		return p, errors.New("thresholds: missing (pass and marginal)")
	}
	if err := checkKayentaThresholds(*req.Thresholds); err != nil {
		return p, err
	}
	sc := req.Scopes[0]
	switch {
	case sc.ControlScope == "" || sc.ExperimentScope == "":
		return p, errors.New("scopes[0]: controlScope and experimentScope are required")
	case sc.ControlOffsetInMinutes != 0:
		return p, errors.New("scopes[0].controlOffsetInMinutes: Verdict compares both sides over the same window; it must be 0")
	case sc.StepSeconds() <= 0:
		return p, fmt.Errorf("scopes[0].step: %d is not a positive number of seconds", sc.StepSeconds())
	case req.LookbackMins < 0 || req.BeginAfterMins < 0:
		return p, errors.New("lookbackMins, beginAfterMins: cannot be negative")
	case req.LifetimeDurationMins != nil && *req.LifetimeDurationMins < 0:
		return p, errors.New("lifetimeDurationMins: cannot be negative")
	case req.AnalysisIntervalMins != nil && *req.AnalysisIntervalMins < 0:
		return p, errors.New("analysisIntervalMins: cannot be negative")
	}
	if err := standaloneBounds(req, now); err != nil {
		return p, err
	}
	kp, err := kayenta.PlanAnalysis(req, now)
	if err != nil {
		return p, fmt.Errorf("executionRequest: %w", err)
	}
	if len(kp.Windows) == 0 {
		return p, errors.New("executionRequest: the lifetime holds no judgement (it must be at least one minute and one interval)")
	}
	interval := time.Duration(kp.IntervalMinutes) * time.Minute
	p.Interval = interval
	p.Lifetime = time.Duration(len(kp.Windows)) * interval
	p.Start = kp.Windows[0].End.Add(-interval)
	p.End = p.Start.Add(p.Lifetime)
	p.Lookback = time.Duration(req.LookbackMins) * time.Minute
	p.Step = time.Duration(sc.StepSeconds()) * time.Second
	p.Scopes = analysis.Scopes{
		Baseline: kayentaScope(kayenta.CanaryScope{Scope: sc.ControlScope, Location: sc.ControlLocation, ExtendedScopeParams: sc.ExtendedScopeParams}),
		Canary:   kayentaScope(kayenta.CanaryScope{Scope: sc.ExperimentScope, Location: sc.ExperimentLocation, ExtendedScopeParams: sc.ExtendedScopeParams}),
	}
	p.Thresholds = &struct {
		Pass     float64 `json:"pass"`
		Marginal float64 `json:"marginal"`
	}{req.Thresholds.Pass, req.Thresholds.Marginal}
	return p, nil
}

// standaloneStatus is GET /standalone_canary_analysis/{id}
// (storageAccountName is accepted and ignored).
func (s *Server) standaloneStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := s.store.GetAnalysis(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no canary analysis execution with id %q", id))
			return
		}
		s.internalError(w, r, err)
		return
	}
	p, env, err := kayentaStored(a)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if env.Standalone == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s is not a standalone canary analysis", id))
		return
	}
	doc, err := standaloneStatusOf(a, p, env)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// standaloneStatusOf builds Kayenta's CanaryAnalysisExecutionStatusResponse
// for a stored standalone analysis.
func standaloneStatusOf(a store.Analysis, p runner.Plan, env kayentaEnvelope) (kayenta.AnalysisStatus, error) {
	req := env.Standalone
	var intervals []analysis.IntervalResult
	if len(a.Intervals) > 0 {
		if err := json.Unmarshal(a.Intervals, &intervals); err != nil {
			return kayenta.AnalysisStatus{}, fmt.Errorf("analysis %s: read the intervals: %w", a.ID, err)
		}
	}
	marginal := 0.0
	if req.Thresholds != nil {
		marginal = req.Thresholds.Marginal
	}
	scoreOf := func(ir analysis.IntervalResult) float64 {
		if ir.Score == nil {
			return 0 // no verdict: written as 0, as GET /canary writes it
		}
		return *ir.Score
	}
	status := kayentaStatusNames[a.Status]
	if a.Status == store.Finished {
		for _, ir := range intervals {
			if scoreOf(ir) <= marginal { // Kayenta's monitor fails the run
				status = "terminal"
			}
		}
	}
	upper := strings.ToUpper(status)
	doc := kayenta.AnalysisStatus{
		Application:                    firstNonEmpty(env.Application, "ad-hoc"),
		User:                           firstNonEmpty(env.User, "anonymous"),
		ParentPipelineExecutionID:      env.ParentPipelineExecutionID,
		PipelineID:                     a.ID,
		Complete:                       a.Status.Terminal(),
		ExecutionStatus:                upper,
		Status:                         status,
		Exception:                      kayentaException(a),
		CanaryAnalysisExecutionRequest: req,
		CanaryConfigID:                 p.KayentaConfigID,
		BuildTimeMillis:                millis(a.CreatedAt),
		BuildTimeIso:                   kayenta.FormatInstant(a.CreatedAt),
		StartTimeMillis:                millis(a.CreatedAt),
		StartTimeIso:                   kayenta.FormatInstant(a.CreatedAt),
		StorageAccountName:             env.StorageAccountName,
		MetricsAccountName:             env.MetricsAccountName,
	}
	if len(env.CanaryConfig) > 0 {
		var cc kayenta.CanaryConfig
		if err := json.Unmarshal(env.CanaryConfig, &cc); err == nil {
			doc.CanaryConfig = &cc
		}
	}
	if !a.FinishedAt.IsZero() {
		doc.EndTimeMillis = millis(a.FinishedAt)
		doc.EndTimeIso = kayenta.FormatInstant(a.FinishedAt)
	}

	total := max(a.Progress.Total, len(intervals))
	doc.StageStatus = append(doc.StageStatus, kayenta.StageStatus{Type: "setupAndExecuteCanariesStage", Name: "setupAndExecuteCanariesStage", Status: upper})
	for i := 1; i <= total; i++ {
		st := kayenta.StageStatus{Type: "runCanary", Name: "Run Canary #" + strconv.Itoa(i), Status: "NOT_STARTED"}
		switch {
		case i <= len(intervals):
			st.Status, st.ExecutionID = "SUCCEEDED", judgementID(a.ID, i)
			if scoreOf(intervals[i-1]) <= marginal {
				st.Status = "TERMINAL"
			}
		case i == len(intervals)+1 && a.Status == store.Running:
			st.Status = "RUNNING"
		case a.Status.Terminal():
			st.Status = "SKIPPED"
		}
		doc.StageStatus = append(doc.StageStatus, st)
	}
	result := kayenta.StageStatus{Type: "generateCanaryAnalysisResultStage", Name: "generateCanaryAnalysisResultStage", Status: "NOT_STARTED"}
	if a.Status.Terminal() {
		result.Status = "SUCCEEDED"
	}
	doc.StageStatus = append(doc.StageStatus, result)

	if !a.Status.Terminal() {
		return doc, nil // Kayenta's result stage has not run yet
	}
	final, err := finalJudgeResult(a)
	if err != nil {
		return doc, err
	}
	res := &kayenta.AnalysisExecutionResult{
		CanaryScores:           []float64{},
		CanaryExecutionResults: []kayenta.CanaryExecutionResult{},
		BuildTimeIso:           doc.BuildTimeIso,
		StartTimeIso:           doc.StartTimeIso,
		EndTimeIso:             doc.EndTimeIso,
	}
	for i, ir := range intervals {
		score := scoreOf(ir)
		res.CanaryScores = append(res.CanaryScores, score)
		cr := kayenta.CanaryExecutionResult{
			ExecutionID:              judgementID(a.ID, ir.Index),
			ExecutionStatus:          "SUCCEEDED",
			JudgementStartTimeIso:    kayenta.FormatInstant(ir.Start),
			JudgementStartTimeMillis: ir.Start.UnixMilli(),
			JudgementEndTimeIso:      kayenta.FormatInstant(ir.End),
			JudgementEndTimeMillis:   ir.End.UnixMilli(),
			Warnings:                 []string{},
		}
		jr := &kayenta.JudgeResult{Results: []kayenta.AnalysisResult{}, GroupScores: []kayenta.GroupScore{},
			Score: kayenta.Score{Score: kayenta.Float(score), Classification: verdictLabel(ir.Verdict), ClassificationReason: ir.Reason}}
		if i == len(intervals)-1 && final != nil {
			jr = final
			if w := kayenta.ResultWarnings(*final, false); len(w) > 0 {
				cr.Warnings = w
				res.HasWarnings = true
			}
		}
		if final != nil {
			jr.JudgeName = final.JudgeName
		}
		cr.Result = &kayenta.CanaryResult{JudgeResult: jr, CanaryDuration: kayenta.ISODuration(ir.End.Sub(ir.Start))}
		res.CanaryExecutionResults = append(res.CanaryExecutionResults, cr)
	}
	res.DidPassThresholds, res.CanaryScoreMessage = kayenta.AggregateScores(res.CanaryScores, req.Thresholds)
	doc.CanaryAnalysisExecutionResult = res
	return doc, nil
}

// judgementID names judgement n of a standalone analysis.
func judgementID(id string, n int) string { return id + "." + strconv.Itoa(n) }

// verdictLabel is the Kayenta summary classification of a verdict.
func verdictLabel(v string) string {
	switch v {
	case "pass":
		return "Pass"
	case "marginal":
		return "Marginal"
	case "fail":
		return "Fail"
	}
	return "Nodata"
}
