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

// Kayenta's standalone canary analysis endpoints (POST
// /standalone_canary_analysis[/{canaryConfigId}], GET
// /standalone_canary_analysis/{id}): a multi-interval analysis started in
// one call and polled until complete. The mapping, and how it differs from
// Kayenta, is package kayenta/execution's.

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
	p, err := execution.StandalonePlan(req, cfg, s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	envelope := kayentaQuery(r)
	envelope.Standalone = &req
	envelope.CanaryConfig = canaryConfig
	if err := envelope.Attach(&p, configName); err != nil {
		s.internalError(w, r, err)
		return
	}
	id, ok := s.enqueue(w, r, runner.Request{Config: cfg, ConfigName: configName, ConfigText: text, Plan: p, Origin: "kayenta"})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, kayenta.AnalysisExecutionResponse{CanaryAnalysisExecutionID: id})
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
	p, env, err := execution.Stored(a)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if env.Standalone == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s is not a standalone canary analysis", id))
		return
	}
	doc, err := execution.StandaloneStatus(a, p, env)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}
