package kayenta

// Wire documents of Kayenta's execution endpoints (§7.3 and §7.6 of the
// reference). They carry no behaviour besides defaults; the service's
// Kayenta-compatible endpoints decode requests into them and encode
// responses from them.

// ExecutionRequest is the body of POST /canary/{configId} (single judgement).
// Thresholds is mandatory upstream ("Execution request must contain
// thresholds").
type ExecutionRequest struct {
	Scopes     map[string]ScopePair `json:"scopes"`
	Thresholds *Thresholds          `json:"thresholds,omitempty"`
	Metadata   []MetadataEntry      `json:"metadata,omitempty"`
	SiteLocal  map[string]any       `json:"siteLocal,omitempty"`
}

// MetadataEntry is a free-form key/value attached to an execution.
type MetadataEntry struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Hidden bool   `json:"hidden,omitempty"`
}

// ScopePair gives the control and experiment scope of one scope name.
type ScopePair struct {
	ControlScope    CanaryScope `json:"controlScope"`
	ExperimentScope CanaryScope `json:"experimentScope"`
}

// CanaryScope says where and when to fetch one side's metrics. Start and End
// are ISO-8601 instants; Step is in seconds.
type CanaryScope struct {
	Scope               string            `json:"scope"`
	Location            string            `json:"location,omitempty"`
	Start               string            `json:"start"`
	End                 string            `json:"end"`
	Step                int64             `json:"step"`
	ExtendedScopeParams map[string]string `json:"extendedScopeParams,omitempty"`
}

// CanaryExecutionResponse is the answer to POST /canary.
type CanaryExecutionResponse struct {
	CanaryExecutionID string `json:"canaryExecutionId"`
}

// CanaryResult is the result of a finished single judgement.
type CanaryResult struct {
	JudgeResult *JudgeResult `json:"judgeResult,omitempty"`
	// CanaryDuration is an ISO-8601 duration ("PT1H") when every scope has
	// the same duration, else absent.
	CanaryDuration string `json:"canaryDuration,omitempty"`
}

// StageStatus is one pipeline stage's status in a status response.
type StageStatus struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	ExecutionID string `json:"executionId,omitempty"`
}

// CanaryExecutionStatus is the answer to GET /canary/{id}; poll until
// Complete. Status is the lower-cased execution status ("running",
// "succeeded", "terminal"). StageStatus maps each stage's refId to its
// lower-cased status, as Kayenta's ExecutionMapper writes it (a Java client
// decodes it into Map<String, String>); the standalone analysis' status
// (AnalysisStatus) has a list of StageStatus instead.
type CanaryExecutionStatus struct {
	Application               string            `json:"application,omitempty"`
	ParentPipelineExecutionID string            `json:"parentPipelineExecutionId,omitempty"`
	PipelineID                string            `json:"pipelineId"`
	StageStatus               map[string]string `json:"stageStatus"`
	Complete                  bool              `json:"complete"`
	Status                    string            `json:"status"`
	Exception                 any               `json:"exception,omitempty"`
	Result                    *CanaryResult     `json:"result,omitempty"`
	Config                    *CanaryConfig     `json:"config,omitempty"`
	CanaryConfigID            string            `json:"canaryConfigId,omitempty"`
	CanaryExecutionRequest    *ExecutionRequest `json:"canaryExecutionRequest,omitempty"`
	MetricSetPairListID       string            `json:"metricSetPairListId,omitempty"`
	BuildTimeMillis           *int64            `json:"buildTimeMillis,omitempty"`
	BuildTimeIso              string            `json:"buildTimeIso,omitempty"`
	StartTimeMillis           *int64            `json:"startTimeMillis,omitempty"`
	StartTimeIso              string            `json:"startTimeIso,omitempty"`
	EndTimeMillis             *int64            `json:"endTimeMillis,omitempty"`
	EndTimeIso                string            `json:"endTimeIso,omitempty"`
	StorageAccountName        string            `json:"storageAccountName,omitempty"`
	MetricsAccountName        string            `json:"metricsAccountName,omitempty"`
	ConfigurationAccountName  string            `json:"configurationAccountName,omitempty"`
}

// AnalysisRequest is the body of POST /standalone_canary_analysis
// (multi-interval analysis). Times, lifetime and step are read from
// Scopes[0] only and applied to every scope.
type AnalysisRequest struct {
	Scopes               []AnalysisScope `json:"scopes"`
	Thresholds           *Thresholds     `json:"thresholds,omitempty"`
	LifetimeDurationMins *int64          `json:"lifetimeDurationMins,omitempty"`
	BeginAfterMins       int64           `json:"beginAfterMins"`
	LookbackMins         int64           `json:"lookbackMins"`
	AnalysisIntervalMins *int64          `json:"analysisIntervalMins,omitempty"`
	SiteLocal            map[string]any  `json:"siteLocal,omitempty"`
}

// AnalysisScope is one scope of an AnalysisRequest. Zero values mean the
// upstream defaults: scope name "default", step 60 s, no control offset.
type AnalysisScope struct {
	ScopeName              string            `json:"scopeName,omitempty"`
	ControlScope           string            `json:"controlScope,omitempty"`
	ControlLocation        string            `json:"controlLocation,omitempty"`
	ControlOffsetInMinutes int64             `json:"controlOffsetInMinutes,omitempty"`
	ExperimentScope        string            `json:"experimentScope,omitempty"`
	ExperimentLocation     string            `json:"experimentLocation,omitempty"`
	StartTimeIso           string            `json:"startTimeIso,omitempty"`
	EndTimeIso             string            `json:"endTimeIso,omitempty"`
	Step                   *int64            `json:"step,omitempty"`
	ExtendedScopeParams    map[string]string `json:"extendedScopeParams,omitempty"`
}

// Name is ScopeName or "default".
func (s AnalysisScope) Name() string {
	if s.ScopeName == "" {
		return "default"
	}
	return s.ScopeName
}

// StepSeconds is Step or 60.
func (s AnalysisScope) StepSeconds() int64 {
	if s.Step == nil {
		return 60
	}
	return *s.Step
}

// AnalysisExecutionResponse is the answer to POST /standalone_canary_analysis.
type AnalysisExecutionResponse struct {
	CanaryAnalysisExecutionID string `json:"canaryAnalysisExecutionId"`
}

// AnalysisStatus is the answer to GET /standalone_canary_analysis/{id}.
// ExecutionStatus is upper case ("RUNNING", "SUCCEEDED", "TERMINAL"), Status
// its lower-cased form.
type AnalysisStatus struct {
	Application                    string                   `json:"application,omitempty"`
	User                           string                   `json:"user,omitempty"`
	ParentPipelineExecutionID      string                   `json:"parentPipelineExecutionId,omitempty"`
	PipelineID                     string                   `json:"pipelineId"`
	StageStatus                    []StageStatus            `json:"stageStatus"`
	Complete                       bool                     `json:"complete"`
	ExecutionStatus                string                   `json:"executionStatus"`
	Status                         string                   `json:"status"`
	Exception                      any                      `json:"exception,omitempty"`
	CanaryAnalysisExecutionResult  *AnalysisExecutionResult `json:"canaryAnalysisExecutionResult,omitempty"`
	CanaryAnalysisExecutionRequest *AnalysisRequest         `json:"canaryAnalysisExecutionRequest,omitempty"`
	CanaryConfig                   *CanaryConfig            `json:"canaryConfig,omitempty"`
	CanaryConfigID                 string                   `json:"canaryConfigId,omitempty"`
	BuildTimeMillis                *int64                   `json:"buildTimeMillis,omitempty"`
	BuildTimeIso                   string                   `json:"buildTimeIso,omitempty"`
	StartTimeMillis                *int64                   `json:"startTimeMillis,omitempty"`
	StartTimeIso                   string                   `json:"startTimeIso,omitempty"`
	EndTimeMillis                  *int64                   `json:"endTimeMillis,omitempty"`
	EndTimeIso                     string                   `json:"endTimeIso,omitempty"`
	StorageAccountName             string                   `json:"storageAccountName,omitempty"`
	MetricsAccountName             string                   `json:"metricsAccountName,omitempty"`
}

// AnalysisExecutionResult is the outcome of a standalone run; the last of
// CanaryScores decides (see AggregateScores).
type AnalysisExecutionResult struct {
	DidPassThresholds      bool                    `json:"didPassThresholds"`
	HasWarnings            bool                    `json:"hasWarnings"`
	CanaryScoreMessage     string                  `json:"canaryScoreMessage"`
	CanaryScores           []float64               `json:"canaryScores"`
	CanaryExecutionResults []CanaryExecutionResult `json:"canaryExecutionResults"`
	BuildTimeIso           string                  `json:"buildTimeIso,omitempty"`
	StartTimeIso           string                  `json:"startTimeIso,omitempty"`
	EndTimeIso             string                  `json:"endTimeIso,omitempty"`
}

// CanaryExecutionResult summarises one judgement of a standalone run.
type CanaryExecutionResult struct {
	ExecutionID              string        `json:"executionId"`
	ExecutionStatus          string        `json:"executionStatus"`
	Exception                any           `json:"exception,omitempty"`
	Result                   *CanaryResult `json:"result,omitempty"`
	JudgementStartTimeIso    string        `json:"judgementStartTimeIso,omitempty"`
	JudgementStartTimeMillis int64         `json:"judgementStartTimeMillis,omitempty"`
	JudgementEndTimeIso      string        `json:"judgementEndTimeIso,omitempty"`
	JudgementEndTimeMillis   int64         `json:"judgementEndTimeMillis,omitempty"`
	Warnings                 []string      `json:"warnings"`
	MetricSetPairListID      string        `json:"metricSetPairListId,omitempty"`
	BuildTimeMillis          *int64        `json:"buildTimeMillis,omitempty"`
	BuildTimeIso             string        `json:"buildTimeIso,omitempty"`
	StartTimeMillis          *int64        `json:"startTimeMillis,omitempty"`
	StartTimeIso             string        `json:"startTimeIso,omitempty"`
	EndTimeMillis            *int64        `json:"endTimeMillis,omitempty"`
	EndTimeIso               string        `json:"endTimeIso,omitempty"`
	StorageAccountName       string        `json:"storageAccountName,omitempty"`
	ConfigurationAccountName string        `json:"configurationAccountName,omitempty"`
}
