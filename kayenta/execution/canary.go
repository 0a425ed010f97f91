package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/judge/stat"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/kayenta/kayentaimport"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/scoring"
)

// Envelope is what a Kayenta execution keeps besides the plan: the
// request as the client sent it (a /canary execution request, or a
// standalone analysis request) and the query parameters Kayenta echoes
// (application, user, parentPipelineExecutionId and the three account
// names: Verdict has no accounts, so they are echoed, never resolved).
type Envelope struct {
	Request *kayenta.ExecutionRequest `json:"request,omitempty"`
	// Standalone is set for POST /standalone_canary_analysis executions.
	Standalone                *kayenta.AnalysisRequest `json:"standalone,omitempty"`
	Application               string                   `json:"application,omitempty"`
	User                      string                   `json:"user,omitempty"`
	ParentPipelineExecutionID string                   `json:"parentPipelineExecutionId,omitempty"`
	MetricsAccountName        string                   `json:"metricsAccountName,omitempty"`
	StorageAccountName        string                   `json:"storageAccountName,omitempty"`
	ConfigurationAccountName  string                   `json:"configurationAccountName,omitempty"`
	// CanaryConfig is the inline Kayenta config of an ad hoc standalone
	// analysis, echoed in its status.
	CanaryConfig json.RawMessage `json:"canaryConfig,omitempty"`
}

// kayentaScope maps one Kayenta scope onto Verdict's template variables:
// scope and location (when set), then every extendedScopeParams entry,
// which wins as it does in Kayenta's query building.
func scopeOf(s kayenta.CanaryScope) metrics.Scope {
	out := metrics.Scope{"scope": s.Scope}
	if s.Location != "" {
		out["location"] = s.Location
	}
	for k, v := range s.ExtendedScopeParams {
		out[k] = v
	}
	return out
}

// checkThresholds refuses request thresholds that cannot be
// honoured. Kayenta scores run from 0 to 100 and a score at or above pass
// passes, so a pass of 0 passes every canary, whatever its score: Argo
// Rollouts' kayenta provider sends 0/0 when its metric has no threshold
// (an int64 that defaults to 0), and a pass written as a fraction (0.95)
// passes every canary with any score at all.
func checkThresholds(t kayenta.Thresholds) error {
	switch {
	case t.Pass <= 0:
		return fmt.Errorf("thresholds.pass: %g would pass every canary whatever its score; send the score out of 100 a canary needs, such as 95 (Argo Rollouts' kayenta provider sends 0 when its metric sets no threshold: add threshold: {pass: 95, marginal: 75})", t.Pass)
	case t.Pass <= 1:
		return fmt.Errorf("thresholds.pass: %g is a score out of 100 (did you mean %g?)", t.Pass, 100*t.Pass)
	case t.Pass > 100:
		return fmt.Errorf("thresholds.pass: %g is above 100, the highest score", t.Pass)
	case t.Marginal < 0 || t.Marginal > t.Pass:
		return fmt.Errorf("thresholds.marginal: %g must be from 0 to the pass score, %g", t.Marginal, t.Pass)
	}
	return nil
}

// CanaryPlan turns an execution request into a plan. Verdict judges both
// sides over one window and one scope pair, so the request must have one
// scope (or one named "default") and equal control and experiment windows.
func CanaryPlan(req kayenta.ExecutionRequest) (runner.Plan, error) {
	var p runner.Plan
	if req.Thresholds == nil {
		return p, errors.New("thresholds: Execution request must contain thresholds")
	}
	if err := checkThresholds(*req.Thresholds); err != nil {
		return p, err
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
	if err := p.CheckBounds(analysis.ExtentFields{Step: "scopes.default.controlScope.step"}); err != nil {
		return p, err
	}
	p.Start, p.End = query.AlignToStep(p.Start, p.End, p.Step)
	p.Scopes = analysis.Scopes{Baseline: scopeOf(cs), Canary: scopeOf(es)}
	p.Thresholds = &struct {
		Pass     float64 `json:"pass"`
		Marginal float64 `json:"marginal"`
	}{req.Thresholds.Pass, req.Thresholds.Marginal}
	return p, nil
}

// ConvertConfig converts an inline Kayenta canary config with package
// kayentaimport (judge: kayenta), refusing one that would not convert
// completely with the list of what would be lost (judging part of it
// would silently differ from Kayenta), and returns the config and its
// text. The server still checks the config as any that reaches it.
func ConvertConfig(raw json.RawMessage) (*analysis.Config, []byte, error) {
	text, problems, err := kayentaimport.Convert("canaryConfig", raw)
	if err != nil {
		return nil, nil, err
	}
	var lost []string
	for _, p := range problems {
		if p.Lost {
			lost = append(lost, p.String())
		}
	}
	if len(lost) > 0 {
		return nil, nil, errors.New("canaryConfig: cannot be judged the way Kayenta would: " + strings.Join(lost, "; "))
	}
	cfg, err := analysis.ParseConfig("canaryConfig", text)
	if err != nil {
		return nil, nil, err
	}
	return cfg, text, nil
}

func millis(t time.Time) *int64 {
	v := t.UnixMilli()
	return &v
}

// canaryStages are the refIds of a Kayenta canary pipeline's stages (one
// scope pair), the keys of stageStatus.
var canaryStages = []string{"setupContext", "fetchControl0", "fetchExperiment0", "mixMetrics", "judge"}

// Attach stores the envelope and the configId the request named
// (configName, "" for an inline config) in the plan, for the status
// documents to echo.
func (e Envelope) Attach(p *runner.Plan, configName string) error {
	env, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode the Kayenta request: %w", err)
	}
	p.Kayenta, p.KayentaConfigID = env, configName
	return nil
}

// Stored reads an analysis' plan and Kayenta envelope (empty for an
// analysis not started by a Kayenta client).
func Stored(a store.Analysis) (runner.Plan, Envelope, error) {
	var p runner.Plan
	if err := json.Unmarshal(a.Request, &p); err != nil {
		return p, Envelope{}, fmt.Errorf("analysis %s: read the plan: %w", a.ID, err)
	}
	var env Envelope
	if len(p.Kayenta) > 0 {
		if err := json.Unmarshal(p.Kayenta, &env); err != nil {
			return p, env, fmt.Errorf("analysis %s: read the Kayenta request: %w", a.ID, err)
		}
	}
	return p, env, nil
}

// statusNames maps a stored status onto Orca's execution statuses
// (lower case; the standalone document also carries them upper case).
var statusNames = map[store.Status]string{store.Queued: "not_started", store.Running: "running", store.Finished: "succeeded",
	store.Failed: "terminal", store.Interrupted: "terminal", store.Cancelled: "canceled"}

// exception is the exception object of a failed execution, in the
// shape Kayenta's clients read (details.errors).
func exception(a store.Analysis) any {
	if a.Error == "" || a.Status == store.Finished {
		return nil
	}
	return map[string]any{"exceptionType": "VerdictError", "details": map[string]any{"error": a.Error, "errors": []string{a.Error}}}
}

// CanaryStatus builds Kayenta's status document for a stored analysis.
func CanaryStatus(a store.Analysis, p runner.Plan, env Envelope) (kayenta.CanaryExecutionStatus, error) {
	status := statusNames[a.Status]
	stages := make(map[string]string, len(canaryStages))
	for _, ref := range canaryStages {
		stages[ref] = status
	}
	doc := kayenta.CanaryExecutionStatus{
		Application:               env.Application,
		ParentPipelineExecutionID: env.ParentPipelineExecutionID,
		PipelineID:                a.ID,
		StageStatus:               stages,
		Complete:                  a.Status.Terminal(),
		Status:                    status,
		Exception:                 exception(a),
		CanaryConfigID:            firstNonEmpty(p.KayentaConfigID, a.ConfigName),
		CanaryExecutionRequest:    env.Request,
		BuildTimeMillis:           millis(a.CreatedAt),
		BuildTimeIso:              kayenta.FormatInstant(a.CreatedAt),
		StartTimeMillis:           millis(a.CreatedAt),
		StartTimeIso:              kayenta.FormatInstant(a.CreatedAt),
		StorageAccountName:        env.StorageAccountName,
		MetricsAccountName:        env.MetricsAccountName,
		ConfigurationAccountName:  env.ConfigurationAccountName,
	}
	if !a.FinishedAt.IsZero() {
		doc.EndTimeMillis = millis(a.FinishedAt)
		doc.EndTimeIso = kayenta.FormatInstant(a.FinishedAt)
	}
	jr, err := finalJudgeResult(a)
	if err != nil {
		return doc, err
	}
	if jr != nil {
		doc.Result = &kayenta.CanaryResult{JudgeResult: jr, CanaryDuration: kayenta.ISODuration(p.End.Sub(p.Start))}
	}
	return doc, nil
}

// finalJudgeResult is the judge result of a finished analysis (its last
// judgement for a multi-interval one): Kayenta's own for judge: kayenta,
// else the report mapped onto Kayenta's shape; nil when not finished.
func finalJudgeResult(a store.Analysis) (*kayenta.JudgeResult, error) {
	if a.Status != store.Finished {
		return nil, nil
	}
	if len(a.Kayenta) > 0 {
		var jr kayenta.JudgeResult
		if err := json.Unmarshal(a.Kayenta, &jr); err != nil {
			return nil, fmt.Errorf("analysis %s: read the Kayenta judge result: %w", a.ID, err)
		}
		return &jr, nil
	}
	if len(a.Report) == 0 {
		return nil, nil
	}
	var rep analysis.Report
	if err := json.Unmarshal(a.Report, &rep); err != nil {
		return nil, fmt.Errorf("analysis %s: read the report: %w", a.ID, err)
	}
	jr := judgeResultOf(&rep)
	return &jr, nil
}

var labels = map[judge.Classification]kayenta.Label{
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
			Name: sig.Name, ID: sig.Name, Tags: map[string]string{}, Label: labels[sig.Classification],
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

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
