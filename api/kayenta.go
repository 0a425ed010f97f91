package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/kayenta"
	"github.com/verdict-aca/verdict/kayenta/execution"
)

// Kayenta's canary execution endpoints (POST /canary/{configId}, POST
// /canary, GET /canary/{id}): these handlers read the requests and write
// the answers; the mapping onto Verdict's analyses and back is package
// kayenta/execution's.

// kayentaQuery reads the query parameters Kayenta's execution endpoints
// take (application, user, parentPipelineExecutionId and the three account
// names). Verdict has no accounts: the names are accepted and echoed, never
// resolved, so a client that always sends them (Argo Rollouts' kayenta
// provider sends all three) is served.
func kayentaQuery(r *http.Request) execution.Envelope {
	q := r.URL.Query()
	return execution.Envelope{
		Application: q.Get("application"), User: q.Get("user"), ParentPipelineExecutionID: q.Get("parentPipelineExecutionId"),
		MetricsAccountName: q.Get("metricsAccountName"), StorageAccountName: q.Get("storageAccountName"),
		ConfigurationAccountName: q.Get("configurationAccountName"),
	}
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
		s.answerError(w, r, statusOf(err), err)
		return
	}
	text, err := s.configText(r.Context(), configID, nil)
	if err != nil {
		s.answerError(w, r, statusOf(err), err)
		return
	}
	s.startKayenta(w, r, req, cfg, configID, text)
}

func (s *Server) startKayenta(w http.ResponseWriter, r *http.Request, req kayenta.ExecutionRequest, cfg *analysis.Config, configName string, text []byte) {
	p, err := execution.CanaryPlan(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	envelope := kayentaQuery(r)
	envelope.Request = &req
	if err := envelope.Attach(&p, configName); err != nil {
		s.internalError(w, r, err)
		return
	}
	id, ok := s.enqueue(w, r, runner.Request{Config: cfg, ConfigName: configName, ConfigText: text, Plan: p, Origin: "kayenta"})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, kayenta.CanaryExecutionResponse{CanaryExecutionID: id})
}

// kayentaAdhoc is POST /canary with an inline Kayenta canaryConfig,
// converted by convertKayentaConfig.
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
	cfg, text, err := s.convertKayentaConfig(req.CanaryConfig)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.startKayenta(w, r, *req.ExecutionRequest, cfg, "", text)
}

// convertKayentaConfig converts an inline Kayenta canary config
// (execution.ConvertConfig) and refuses one the server would refuse as a
// config (checkNewConfig).
func (s *Server) convertKayentaConfig(raw json.RawMessage) (*analysis.Config, []byte, error) {
	cfg, text, err := execution.ConvertConfig(raw)
	if err != nil {
		return nil, nil, err
	}
	if err := checkNewConfig(cfg, s.opt.Sources); err != nil {
		return nil, nil, err
	}
	return cfg, text, nil
}

// kayentaStatus is GET /canary/{id}: Kayenta's status document. A
// standalone analysis is not a canary execution (Kayenta refuses it too)
// and answers 404 pointing to its own endpoint.
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
	p, env, err := execution.Stored(a)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if env.Standalone != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s is a standalone canary analysis: GET /standalone_canary_analysis/%s", a.ID, a.ID))
		return
	}
	doc, err := execution.CanaryStatus(a, p, env)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}
