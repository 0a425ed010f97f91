package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// analysisRequest is the body of POST /api/v1/analyses.
type analysisRequest struct {
	ConfigName    string             `json:"configName"`
	Config        json.RawMessage    `json:"config"`
	BaselineScope metrics.Scope      `json:"baselineScope"`
	CanaryScope   metrics.Scope      `json:"canaryScope"`
	Start         string             `json:"start"`
	End           string             `json:"end"`
	Lookback      *analysis.Duration `json:"lookback"`
	Step          *analysis.Duration `json:"step"`
	Lifetime      *analysis.Duration `json:"lifetime"`
	Interval      *analysis.Duration `json:"interval"`
	// CanaryWeight is the canary's expected share of the two sides'
	// traffic ("5%"), overriding the config's canaryWeight.
	CanaryWeight *judge.Change `json:"canaryWeight"`
}

func dur(d *analysis.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// plan resolves a request's window at now.
func (req analysisRequest) plan(now time.Time) (runner.Plan, error) {
	p := runner.Plan{Scopes: analysis.Scopes{Baseline: req.BaselineScope, Canary: req.CanaryScope},
		Step: dur(req.Step), Lifetime: dur(req.Lifetime), Interval: dur(req.Interval), Lookback: dur(req.Lookback)}
	if w := req.CanaryWeight; w != nil {
		if w.Points || !(w.Value > 0 && w.Value < 1) {
			return p, fmt.Errorf("canaryWeight: %s is not a share of the traffic; give a percentage such as \"5%%\"", w)
		}
		p.CanaryWeight = w.Value
	}
	if len(p.Scopes.Baseline) == 0 {
		return p, errors.New("baselineScope: missing (template variables such as {\"track\": \"baseline\"})")
	}
	if len(p.Scopes.Canary) == 0 {
		return p, errors.New("canaryScope: missing (template variables such as {\"track\": \"canary\"})")
	}
	parse := func(field, v string) (time.Time, error) {
		if v == "now" {
			return now, nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return t, fmt.Errorf("%s: %q is not an RFC 3339 time", field, v)
		}
		return t, nil
	}
	var err error
	if p.Interval > 0 && p.Lifetime == 0 {
		return p, errors.New("interval: goes with lifetime")
	}
	if p.Lifetime > 0 {
		if req.End != "" {
			return p, errors.New("end: does not go with lifetime (the lifetime sets the end)")
		}
		p.Start = now
		if req.Start != "" {
			if p.Start, err = parse("start", req.Start); err != nil {
				return p, err
			}
		}
		p.End = p.Start.Add(p.Lifetime)
		return p, nil
	}
	switch {
	case p.Lookback > 0 && (req.Start != "" || req.End != ""):
		return p, errors.New("lookback: give either lookback or start and end, not both")
	case p.Lookback > 0:
		p.Start, p.End = now.Add(-p.Lookback), now
		p.Lookback = 0
		return p, nil
	case req.Start == "":
		return p, errors.New("start: missing (give start and end, or lookback, or lifetime)")
	case req.End == "":
		return p, errors.New("end: missing (give start and end, or lookback, or lifetime)")
	}
	if p.Start, err = parse("start", req.Start); err != nil {
		return p, err
	}
	if p.End, err = parse("end", req.End); err != nil {
		return p, err
	}
	if !p.End.After(p.Start) {
		return p, errors.New("end: not after start")
	}
	return p, nil
}

// configText returns the text to store with an analysis: the stored
// config's or the inline one.
func (s *Server) configText(ctx context.Context, name string, inline json.RawMessage) ([]byte, error) {
	if name == "" {
		return inline, nil
	}
	rec, err := s.store.GetConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	return rec.Data, nil
}

func (s *Server) createAnalysis(w http.ResponseWriter, r *http.Request) {
	var req analysisRequest
	if !s.readStrictBody(w, r, &req) {
		return
	}
	p, err := req.plan(s.now())
	if err == nil {
		err = p.CheckBounds(runner.PlanFields)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// An inline config is not added to the cache: the analysis has not
	// judged yet, and live analyses are too rare for the cache to matter.
	cfg, _, status, err := s.requestConfig(r, req.Config, req.ConfigName)
	if err != nil {
		s.answerError(w, r, status, err)
		return
	}
	text, err := s.configText(r.Context(), req.ConfigName, req.Config)
	if err != nil {
		s.answerError(w, r, statusOf(err), err)
		return
	}
	id, ok := s.enqueue(w, r, runner.Request{Config: cfg, ConfigName: req.ConfigName, ConfigText: text, Plan: p, Origin: "api"})
	if !ok {
		return
	}
	w.Header().Set("Location", "/api/v1/analyses/"+id)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": string(store.Queued), "url": s.baseURL() + "/api/v1/analyses/" + id})
}

// enqueue stores a live analysis as queued and starts it in the
// background (runner.Submit). When it cannot, it has answered the request
// (400 for a config that cannot run, 503 when the queue is full, 500) and
// reports false.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request, req runner.Request) (string, bool) {
	id, err := s.runs.Submit(r.Context(), req)
	var full *runner.QueueFullError
	switch {
	case err == nil:
		return id, true
	case errors.Is(err, runner.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &full):
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.internalError(w, r, err)
	}
	return "", false
}

// analysisView is an analysis in API answers.
type analysisView struct {
	ID         string `json:"id"`
	ConfigName string `json:"configName,omitempty"`
	Origin     string `json:"origin"`
	// Scopes are the scopes compared (cut to store.ScopeKeys keys of
	// store.ScopeText bytes; the request has them whole).
	Scopes     *analysis.Scopes `json:"scopes,omitempty"`
	Status     store.Status     `json:"status"`
	Progress   store.Progress   `json:"progress"`
	Verdict    string           `json:"verdict,omitempty"`
	Score      *float64         `json:"score,omitempty"`
	Error      string           `json:"error,omitempty"`
	CreatedAt  time.Time        `json:"createdAt"`
	UpdatedAt  time.Time        `json:"updatedAt"`
	FinishedAt *time.Time       `json:"finishedAt,omitempty"`
	Request    json.RawMessage  `json:"request,omitempty"`
	Intervals  json.RawMessage  `json:"intervals,omitempty"`
	Report     json.RawMessage  `json:"report,omitempty"`
	URL        string           `json:"url,omitempty"`
	// Owner is the server (instance id) that runs or ran the analysis.
	Owner string `json:"owner,omitempty"`
}

func view(a store.Analysis, full bool, base string) analysisView {
	v := analysisView{ID: a.ID, ConfigName: a.ConfigName, Origin: a.Origin, Scopes: a.Scopes, Status: a.Status, Progress: a.Progress,
		Verdict: a.Verdict, Score: a.Score, Error: a.Error, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		URL: base + "/api/v1/analyses/" + a.ID, Owner: a.Owner}
	if !a.FinishedAt.IsZero() {
		t := a.FinishedAt
		v.FinishedAt = &t
	}
	if len(a.Intervals) > 0 {
		v.Intervals = a.Intervals
	}
	if full {
		if len(a.Request) > 0 {
			v.Request = a.Request
		}
		if len(a.Report) > 0 {
			v.Report = a.Report
		}
	}
	return v
}

func (s *Server) getAnalysis(w http.ResponseWriter, r *http.Request) {
	a, err := s.store.GetAnalysis(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no analysis with id %q", r.PathValue("id")))
			return
		}
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(a, true, s.baseURL()))
}

// filterOf reads the list filters of a query string.
func filterOf(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Config: q.Get("config"), Verdict: q.Get("verdict")}
	switch f.Verdict {
	case "", "pass", "marginal", "fail", "none":
	default:
		return f, fmt.Errorf("verdict: %q is not a verdict (want pass, marginal, fail or none)", f.Verdict)
	}
	if v := q.Get("status"); v != "" {
		st, err := store.ParseStatus(v)
		if err != nil {
			return f, fmt.Errorf("status: %w", err)
		}
		f.Status = st
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			return f, fmt.Errorf("limit: %q is not a number from 1 to 1000", v)
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			var d analysis.Duration
			if derr := d.UnmarshalText([]byte(v)); derr != nil {
				return f, fmt.Errorf("since: %q is neither an RFC 3339 time nor a duration such as 24h", v)
			}
			t = time.Now().Add(-time.Duration(d))
		}
		f.Since = t
	}
	return f, nil
}

func (s *Server) listAnalyses(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := s.store.ListAnalyses(r.Context(), f)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	base := s.baseURL()
	out := make([]analysisView, 0, len(list))
	for _, a := range list {
		out = append(out, view(a, false, base))
	}
	writeJSON(w, http.StatusOK, map[string]any{"analyses": out})
}

func (s *Server) cancelAnalysis(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// It stops here if it runs here; on another replica, its owner stops
	// it at its next progress write or lease renewal.
	if err := s.runs.Cancel(r.Context(), id, "cancelled by request"); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusNotFound, fmt.Sprintf("no analysis with id %q", id))
		case errors.Is(err, store.ErrConflict):
			writeError(w, http.StatusConflict, err.Error())
		default:
			s.internalError(w, r, err)
		}
		return
	}
	a, err := s.store.GetAnalysis(r.Context(), id)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(a, false, s.baseURL()))
}
