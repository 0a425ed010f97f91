package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/metrics"
)

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

// StandalonePlan turns a standalone request for cfg into a multi-interval
// plan whose judgements have exactly Kayenta's windows, at now.
func StandalonePlan(req kayenta.AnalysisRequest, cfg *analysis.Config, now time.Time) (runner.Plan, error) {
	var p runner.Plan
	switch {
	case len(req.Scopes) == 0:
		return p, errors.New("scopes: Canary StageExecution configuration must contain at least one scope")
	case len(req.Scopes) > 1:
		return p, fmt.Errorf("scopes: Verdict judges one scope pair, not %d", len(req.Scopes))
	case req.Thresholds == nil:
		return p, errors.New("thresholds: missing (pass and marginal)")
	}
	if err := checkThresholds(*req.Thresholds); err != nil {
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
	if p.Lookback > 0 && cfg.Sequential == analysis.SequentialAnytime {
		return p, errors.New("lookbackMins: the canary config is sequential: anytime, whose judgements each judge all the data since the start; give no lookbackMins")
	}
	p.Step = time.Duration(sc.StepSeconds()) * time.Second
	p.Scopes = analysis.Scopes{
		Baseline: scopeOf(kayenta.CanaryScope{Scope: sc.ControlScope, Location: sc.ControlLocation, ExtendedScopeParams: sc.ExtendedScopeParams}),
		Canary:   scopeOf(kayenta.CanaryScope{Scope: sc.ExperimentScope, Location: sc.ExperimentLocation, ExtendedScopeParams: sc.ExtendedScopeParams}),
	}
	p.Thresholds = &struct {
		Pass     float64 `json:"pass"`
		Marginal float64 `json:"marginal"`
	}{req.Thresholds.Pass, req.Thresholds.Marginal}
	return p, nil
}

// StandaloneStatus builds Kayenta's CanaryAnalysisExecutionStatusResponse
// for a stored standalone analysis.
func StandaloneStatus(a store.Analysis, p runner.Plan, env Envelope) (kayenta.AnalysisStatus, error) {
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
	status := statusNames[a.Status]
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
		Exception:                      exception(a),
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
