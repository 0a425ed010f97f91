package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/loki"
	"github.com/verdict-aca/verdict/scoring"
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

// Plan is a live analysis with its window resolved to absolute times, as
// stored with the analysis so that a restart runs exactly the same
// judgement.
type Plan struct {
	Scopes analysis.Scopes `json:"scopes"`
	Start  time.Time       `json:"start"`
	// End is the window's end; for a multi-interval run, start + lifetime.
	End      time.Time     `json:"end"`
	Step     time.Duration `json:"step,omitempty"`
	Lifetime time.Duration `json:"lifetime,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	Lookback time.Duration `json:"lookback,omitempty"`
	// CanaryWeight is the canary's expected share of the traffic, 0 for the
	// config's (see analysis.LiveRequest).
	CanaryWeight float64 `json:"canaryWeight,omitempty"`
	// Thresholds, when set, replace the config's (Kayenta requests carry them).
	Thresholds *struct {
		Pass     float64 `json:"pass"`
		Marginal float64 `json:"marginal"`
	} `json:"thresholds,omitempty"`
	// Kayenta is the original Kayenta execution request, echoed in its status.
	Kayenta json.RawMessage `json:"kayenta,omitempty"`
	// KayentaConfigID is the configId a Kayenta request named.
	KayentaConfigID string `json:"kayentaConfigId,omitempty"`
	// Anytime and Evidence are set for one look of an anytime canary
	// judged again and again (Argo, Flagger, schedules; see openLook): the
	// references the look carries over, and the evidence it continues.
	Anytime  *analysis.AnytimeLook `json:"anytime,omitempty"`
	Evidence *analysis.Evidence    `json:"evidence,omitempty"`
	// Due is when the schedule's firing this analysis runs was due (origin
	// schedule): the firing's identity across replicas.
	Due *time.Time `json:"due,omitempty"`
}

func dur(d *analysis.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// plan resolves a request's window at now.
func (req analysisRequest) plan(now time.Time) (Plan, error) {
	p := Plan{Scopes: analysis.Scopes{Baseline: req.BaselineScope, Canary: req.CanaryScope},
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

// planFields name a plan's fields in errors: the names of
// POST /api/v1/analyses and of the Argo and Flagger parameters.
var planFields = analysis.ExtentFields{Step: "step", Lifetime: "lifetime", Interval: "interval"}

// checkBounds checks the plan against the bounds of a live analysis
// (analysis.CheckExtent), naming the request's fields with f.
func (p Plan) checkBounds(f analysis.ExtentFields) error {
	return analysis.CheckExtent(analysis.Extent{Window: metrics.Window{Start: p.Start, End: p.End, Step: p.Step},
		Lifetime: p.Lifetime, Interval: p.Interval, Lookback: p.Lookback}, f)
}

// withThresholds returns cfg with the plan's thresholds, if any.
func (p Plan) config(cfg *analysis.Config) *analysis.Config {
	if p.Thresholds == nil {
		return cfg
	}
	c := *cfg
	t := c.ThresholdsOrDefault()
	t.Pass, t.Marginal = p.Thresholds.Pass, p.Thresholds.Marginal
	c.Thresholds = &t
	return &c
}

// prepared is a live analysis ready to be stored and run.
type prepared struct {
	configName string
	configText []byte
	cfg        *analysis.Config
	plan       Plan
	origin     string
	// done, for a resumed multi-interval analysis, are the judgements it
	// recorded before (analysis.IntervalRequest.Done).
	done []analysis.IntervalResult
}

// prepare checks that cfg can run live for the plan's scopes, and the plan
// within the bounds (the request's own check names its fields; this one
// also catches a stored plan from before the bounds, at a resume), so that
// a mistake is a 400 now rather than a failed analysis later.
func (s *Server) prepare(cfg *analysis.Config, configName string, text []byte, p Plan, origin string) (prepared, error) {
	if err := p.checkBounds(planFields); err != nil {
		return prepared{}, err
	}
	if p.Thresholds != nil {
		t := scoring.Thresholds{Pass: p.Thresholds.Pass, Marginal: p.Thresholds.Marginal}
		if err := t.Check(); err != nil {
			return prepared{}, fmt.Errorf("thresholds.%w", err)
		}
	}
	if p.Lifetime > 0 && p.Lookback > 0 && cfg.Sequential == analysis.SequentialAnytime {
		return prepared{}, errors.New("lookback: the config is sequential: anytime, whose looks each judge all the data since the start; give no lookback")
	}
	if err := cfg.CheckLive(s.sources, p.Scopes); err != nil {
		return prepared{}, err
	}
	return prepared{configName: configName, configText: text, cfg: p.config(cfg), plan: p, origin: origin}, nil
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

// record stores a new analysis (before anything runs).
func (s *Server) record(ctx context.Context, p prepared, status store.Status) (string, error) {
	reqJSON, err := json.Marshal(p.plan)
	if err != nil {
		return "", fmt.Errorf("encode the plan: %w", err)
	}
	scopes := p.plan.Scopes
	a := &store.Analysis{ID: store.NewID(), ConfigName: p.configName, Config: p.configText, Request: reqJSON, Origin: p.origin, Status: status,
		Scopes: &scopes, Owner: s.opt.InstanceID, LeaseUntil: time.Now().Add(s.opt.Lease)}
	if p.plan.Lifetime > 0 {
		interval := p.plan.Interval
		if interval <= 0 || interval > p.plan.Lifetime {
			interval = p.plan.Lifetime
		}
		a.Progress.Total = int(p.plan.Lifetime / interval)
	} else {
		a.Progress.Total = 1
	}
	if err := s.store.CreateAnalysis(ctx, a); err != nil {
		return "", err
	}
	return a.ID, nil
}

func (s *Server) createAnalysis(w http.ResponseWriter, r *http.Request) {
	var req analysisRequest
	if !s.readStrictBody(w, r, &req) {
		return
	}
	p, err := req.plan(s.now())
	if err == nil {
		err = p.checkBounds(planFields)
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
	id, ok := s.enqueue(w, r, cfg, req.ConfigName, text, p, "api")
	if !ok {
		return
	}
	w.Header().Set("Location", "/api/v1/analyses/"+id)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": string(store.Queued), "url": s.baseURL() + "/api/v1/analyses/" + id})
}

// Submit stores and starts a live analysis of a stored config, as the
// scheduler does; it returns the analysis id.
func (s *Server) Submit(ctx context.Context, configName string, p Plan, origin string, wait bool) (string, *analysis.Report, error) {
	cfg, err := s.loadConfig(ctx, configName)
	if err != nil {
		return "", nil, err
	}
	text, err := s.configText(ctx, configName, nil)
	if err != nil {
		return "", nil, err
	}
	prep, err := s.prepare(cfg, configName, text, p, origin)
	if err != nil {
		return "", nil, err
	}
	if !wait {
		id, err := s.record(ctx, prep, store.Queued)
		if err != nil {
			return "", nil, err
		}
		s.startBackground(id, prep)
		return id, nil, nil
	}
	id, err := s.record(ctx, prep, store.Running)
	if err != nil {
		return "", nil, err
	}
	rep, err := s.execute(ctx, id, prep, nil)
	return id, rep, err
}

// full answers 503 when the background queue is at its limit
// (MaxQueued analyses running or waiting for a worker).
// enqueue prepares a live analysis, stores it as queued and starts it in
// the background. When it cannot, it has answered the request (400 for a
// config that cannot run, 503 when the queue is full, 500) and reports false.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request, cfg *analysis.Config, configName string, text []byte, p Plan, origin string) (string, bool) {
	prep, err := s.prepare(cfg, configName, text, p, origin)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	if s.full(w) {
		return "", false
	}
	id, err := s.record(r.Context(), prep, store.Queued)
	if err != nil {
		s.internalError(w, r, err)
		return "", false
	}
	s.startBackground(id, prep)
	return id, true
}

func (s *Server) full(w http.ResponseWriter) bool {
	s.mu.Lock()
	n := len(s.running)
	s.mu.Unlock()
	if n >= s.opt.MaxQueued {
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d analyses are running or queued, the limit; try again later", n))
		return true
	}
	return false
}

// errStopped is the cause of an analysis stopped because another server
// ended it (a cancel) or holds it now (a takeover): it must not write.
var errStopped = errors.New("the analysis was cancelled, or taken over by another server")

// startBackground runs an analysis in the background; its judgements
// take workers (workerSlot).
func (s *Server) startBackground(id string, p prepared) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	s.mu.Lock()
	s.running[id] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, id)
			s.mu.Unlock()
			cancel(nil)
		}()
		_, _ = s.execute(ctx, id, p, s.workerSlot)
	}()
}

// workerSlot waits for one of the Workers slots and returns the function
// that gives it back. A background judgement holds a slot while it
// queries and judges, never while a multi-interval analysis waits for its
// next interval.
func (s *Server) workerSlot(ctx context.Context) (func(), error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// execute runs a stored analysis this server owns and records its end.
// When ctx ends because the server is shutting down, the analysis is left
// running in the store for the next start to resume. When the store says
// the analysis ended or has another owner (at a progress write, or at a
// lease renewal), it stops without writing anything more. slot, when not
// nil, is taken around each judgement (workerSlot); a single judgement
// stays queued until it has one.
func (s *Server) execute(ctx context.Context, id string, p prepared, slot func(context.Context) (func(), error)) (rep *analysis.Report, err error) {
	start := time.Now()
	ctx, stop := context.WithCancelCause(ctx)
	s.mu.Lock()
	s.executing[id] = stop
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.executing, id)
		s.mu.Unlock()
		stop(nil)
	}()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("analysis %s panicked: %v", id, v)
			s.log.Error("analysis panicked", "id", id, "panic", v)
			s.finish(ctx, id, store.Outcome{Status: store.Failed, Error: "internal error while running the analysis"})
		}
	}()
	rep, err = s.run(ctx, id, p, slot, stop)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err // cancelled or taken over before it started
		}
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errStopped) {
				return nil, err
			}
			if s.ctx.Err() != nil {
				s.log.Info("analysis left for the next start to resume", "id", id)
				return nil, err
			}
			// Cancelled by request (already recorded: this is a conflict),
			// or its synchronous caller gave up or ran out of time.
			msg := "stopped before it finished: the caller went away"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				msg = "stopped before it finished: the time limit passed"
			}
			s.finish(ctx, id, store.Outcome{Status: store.Interrupted, Error: msg})
			return nil, err
		}
		s.metrics.ObserveAnalysis(p.origin, p.configName, nil, time.Since(start))
		if s.finish(ctx, id, store.Outcome{Status: store.Failed, Error: err.Error()}) {
			window := metrics.Window{Start: p.plan.Start, End: p.plan.End, Step: p.plan.Step}
			s.pushEvent(ctx, analysis.FailedEvent(p.displayName(), p.plan.Scopes, window, err.Error(), s.eventInfo(id, p)))
		}
		return nil, err
	}
	s.metrics.ObserveAnalysis(p.origin, p.configName, rep, time.Since(start))
	out, err := store.OutcomeOf(rep)
	if err != nil {
		s.log.Error("encode the report", "id", id, "err", err)
		s.finish(ctx, id, store.Outcome{Status: store.Failed, Error: "internal error while storing the report"})
		return nil, err
	}
	if p.plan.Lifetime <= 0 {
		out.Progress = &store.Progress{Done: 1, Total: 1}
	}
	if s.finish(ctx, id, out) {
		s.pushEvent(ctx, analysis.Event(rep, s.eventInfo(id, p)))
	}
	return rep, nil
}

// run marks the analysis running and judges it: once, or at every interval
// of its lifetime with each interval's result recorded as progress. With a
// slot, a single judgement waits for it before it is marked running (it
// stays queued until a worker is free), and a multi-interval run takes it
// for each judgement only.
func (s *Server) run(ctx context.Context, id string, p prepared, slot func(context.Context) (func(), error), stop context.CancelCauseFunc) (*analysis.Report, error) {
	if p.plan.Lifetime <= 0 && slot != nil {
		release, err := slot(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		slot = nil
	}
	if err := s.store.UpdateOwnedAnalysis(ctx, id, s.opt.InstanceID, store.Running, store.Progress{Total: p.progressTotal()}, nil); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		s.log.Error("mark analysis running", "id", id, "err", err)
	}
	live := analysis.LiveRequest{Scopes: p.plan.Scopes, Window: metrics.Window{Start: p.plan.Start, End: p.plan.End, Step: p.plan.Step},
		CanaryWeight: p.plan.CanaryWeight, Anytime: p.plan.Anytime}
	if p.plan.Lifetime <= 0 {
		rep, err := analysis.Run(ctx, p.cfg, s.sources, live)
		if err == nil {
			decideLook(p.cfg, p.plan, rep)
		}
		return rep, err
	}
	// A resumed run keeps what it recorded, but for the last judgement,
	// which it judges again (see analysis.IntervalRequest.Done).
	var intervals []analysis.IntervalResult
	return analysis.RunIntervals(ctx, p.cfg, s.sources, analysis.IntervalRequest{
		LiveRequest: live, Lifetime: p.plan.Lifetime, Interval: p.plan.Interval, Lookback: p.plan.Lookback, Clock: s.opt.Clock, Acquire: slot, Done: p.done,
		Progress: func(done, total int, r analysis.IntervalResult) {
			if intervals == nil && r.Index > 1 && r.Index-1 <= len(p.done) {
				intervals = slices.Clone(p.done[:r.Index-1])
			}
			intervals = append(intervals, r)
			js, _ := json.Marshal(intervals)
			switch err := s.store.UpdateOwnedAnalysis(ctx, id, s.opt.InstanceID, store.Running, store.Progress{Done: done, Total: total}, js); {
			case errors.Is(err, store.ErrConflict):
				s.log.Info("analysis stopped: it ended or moved elsewhere", "id", id, "reason", err)
				stop(errStopped)
			case err != nil:
				s.log.Error("record analysis progress", "id", id, "err", err)
			}
		}})
}

// eventInfo says how an analysis ran, for its verdict event.
func (s *Server) eventInfo(id string, p prepared) analysis.EventInfo {
	return analysis.EventInfo{Finished: s.now(), Origin: p.origin, ID: id, URL: s.baseURL() + "/analyses/" + id}
}

// displayName is the config's name for events: the stored config's, or
// the inline config's own name.
func (p prepared) displayName() string {
	if p.configName != "" || p.cfg == nil {
		return p.configName
	}
	return p.cfg.Name
}

// pushEvent queues a finished analysis' verdict event for Options.Events,
// when the server has one. The push is asynchronous and outlives the
// request: a caller that went away does not lose the event, and a push
// that fails is logged, never turned into the analysis' outcome.
func (s *Server) pushEvent(ctx context.Context, ev loki.Event) {
	if s.opt.Events == nil {
		return
	}
	if err := s.opt.Events.Push(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Warn("the verdict event was not queued for Loki", "config", ev.Config, "report", ev.Report, "err", err)
	}
}

func (p prepared) progressTotal() int {
	if p.plan.Lifetime <= 0 {
		return 1
	}
	interval := p.plan.Interval
	if interval <= 0 || interval > p.plan.Lifetime {
		interval = p.plan.Lifetime
	}
	return int(p.plan.Lifetime / interval)
}

// finish records the outcome of an analysis this server owns and reports
// whether the store has it. A conflict (cancelled meanwhile, or taken
// over) is expected and ends it: the store says how the analysis ended.
// Any other failure (the store is down) is retried, waiting 100 ms, then
// twice as long each time up to 5 s, for up to RecordRetry and while ctx
// lasts (a synchronous caller's deadline; the first attempt is made
// whatever ctx). Meanwhile the analysis is still executing here, so the
// renewal keeps its lease whenever the store answers. When the retries run
// out, or the server shuts down, finish gives up: it logs the outcome it
// lost, and the analysis, no longer renewed, loses its lease within Lease;
// then a claim (this server's reaper, its next start, another replica)
// resumes or interrupts it, so it never stays live forever.
func (s *Server) finish(ctx context.Context, id string, o store.Outcome) bool {
	deadline := time.Now().Add(s.opt.RecordRetry)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := s.store.FinishOwnedAnalysis(wctx, id, s.opt.InstanceID, o)
		cancel()
		if err == nil || errors.Is(err, store.ErrConflict) {
			if attempt > 1 {
				s.log.Info("analysis outcome recorded after retries", "id", id, "attempts", attempt)
			}
			return err == nil
		}
		if errors.Is(err, store.ErrNotFound) || !time.Now().Add(wait).Before(deadline) || ctx.Err() != nil || s.ctx.Err() != nil {
			s.log.Error("the analysis outcome could not be recorded: giving the analysis up, its lease lapses and it will be resumed or interrupted",
				"id", id, "status", o.Status, "verdict", o.Verdict, "attempts", attempt, "err", err)
			return false
		}
		s.log.Warn("recording the analysis outcome failed; retrying", "id", id, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		case <-s.ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, 5*time.Second)
	}
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
	if err := s.store.CancelAnalysis(r.Context(), id, "cancelled by request"); err != nil {
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
	// Stop it here if it runs here; on another replica, its owner stops it
	// at its next progress write or lease renewal.
	s.stopLocal(id)
	a, err := s.store.GetAnalysis(r.Context(), id)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(a, false, s.baseURL()))
}

// Resume claims the analyses this server should run at start (see the
// store's ownership rules): its own, left by its previous process, and
// those of servers whose leases expired, never those another live replica
// holds. Of the latter it takes only what it can start soon (claimLimit),
// the oldest first, leaving the rest to the other replicas. Each is run
// again when its config still parses, its origin waits for it in the
// background and its window started within ResumeWithin; the others are
// marked interrupted with the reason. It returns how many of each. From
// then until Close, every Lease/2 it takes over, the same way and within
// the same bound, the analyses of replicas that die.
func (s *Server) Resume(ctx context.Context) (resumed, interrupted int, err error) {
	resumed, interrupted, err = s.claimAndTake(ctx, true)
	s.reaping.Do(func() { s.loops.Go(s.reapLoop) })
	return resumed, interrupted, err
}

// claimLimit is how many analyses of other owners a claim may take: the
// workers this server has free (Workers minus the background analyses
// running or waiting here), at least one, so that an idle replica takes its
// share of a dead replica's work at each reaper round, a busy one leaves
// the rest to the others, and work is still taken when every replica is
// busy.
func (s *Server) claimLimit() int {
	s.mu.Lock()
	n := len(s.running)
	s.mu.Unlock()
	return max(s.opt.Workers-n, 1)
}

// claimAndTake claims (ClaimUnfinished at start, with all of this server's
// own; else ClaimExpired) at most claimLimit analyses of other owners and
// takes them (take). Those it interrupts (too old, a synchronous caller
// gone) use no worker, so while a claim comes back full and part of the
// bound is still unused it claims again, for what is left: a dead
// replica's backlog of unresumable analyses is closed at once, and no more
// than the bound is started.
func (s *Server) claimAndTake(ctx context.Context, start bool) (resumed, interrupted int, err error) {
	budget := s.claimLimit()
	for {
		limit := budget
		now := time.Now()
		claim := s.store.ClaimExpired
		if start {
			claim = s.store.ClaimUnfinished
			start = false // a later round's own analyses are this server's already
		}
		list, err := claim(ctx, s.opt.InstanceID, now, now.Add(s.opt.Lease), limit)
		if err != nil {
			return resumed, interrupted, err
		}
		r, i, err := s.take(ctx, list)
		resumed, interrupted = resumed+r, interrupted+i
		if err != nil {
			return resumed, interrupted, err
		}
		others := 0
		for _, a := range list {
			if a.ClaimedFrom != s.opt.InstanceID {
				others++
			}
		}
		budget -= r
		if others < limit || budget <= 0 { // none left to claim, or no worker free
			return resumed, interrupted, nil
		}
	}
}

// take resumes or interrupts claimed analyses; it skips those that run
// here already (a reaper's claim of a lease this server let lapse).
func (s *Server) take(ctx context.Context, list []store.Analysis) (resumed, interrupted int, err error) {
	now := s.now()
	for _, a := range list {
		s.mu.Lock()
		_, bg := s.running[a.ID]
		_, ex := s.executing[a.ID]
		s.mu.Unlock()
		if bg || ex {
			continue
		}
		takenOver := a.ClaimedFrom != "" && a.ClaimedFrom != s.opt.InstanceID
		if takenOver {
			s.log.Warn("taking over analysis", "id", a.ID, "from", a.ClaimedFrom)
		}
		reason := s.resumable(a, now)
		if reason == "" {
			var p Plan
			_ = json.Unmarshal(a.Request, &p)
			cfg, _ := parseStoredConfig(firstNonEmpty(a.ConfigName, "config"), a.Config)
			prep, perr := s.prepare(cfg, a.ConfigName, a.Config, p, a.Origin)
			if perr == nil {
				// What it recorded is kept (unreadable: judged anew).
				if json.Unmarshal(a.Intervals, &prep.done) != nil {
					prep.done = nil
				}
				s.log.Info("resuming analysis", "id", a.ID, "config", a.ConfigName)
				s.startBackground(a.ID, prep)
				if takenOver {
					s.metrics.takenOver("resumed")
				}
				resumed++
				continue
			}
			reason = "it cannot run any more: " + perr.Error()
		}
		s.log.Warn("analysis interrupted", "id", a.ID, "reason", reason)
		if err := s.store.FinishOwnedAnalysis(ctx, a.ID, s.opt.InstanceID, store.Outcome{Status: store.Interrupted, Error: "the server stopped while the analysis ran; " + reason}); err != nil && !errors.Is(err, store.ErrConflict) {
			return resumed, interrupted, err
		}
		if takenOver {
			s.metrics.takenOver("interrupted")
		}
		interrupted++
	}
	return resumed, interrupted, nil
}

// stopLocal stops a background analysis if it runs (or waits for a
// worker) here, without recording anything: the store already says how it
// ended or who holds it. A synchronous judgement (Argo, Flagger) is left to
// answer its caller within SyncTimeout; its outcome write is fenced.
func (s *Server) stopLocal(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cancel, ok := s.running[id]; ok {
		cancel(errStopped)
	}
}

// renewLoop extends, every Lease/3 until ctx ends, the leases of the
// analyses this server is working on (running, waiting for a worker, or
// recording their outcome), and stops the background analyses the store no
// longer lists as this server's (cancelled through another replica, or
// taken over after a lapse). An analysis this server holds in the store
// but no longer works on (its outcome could not be recorded) is not
// renewed: its lease lapses.
func (s *Server) renewLoop(ctx context.Context) {
	t := time.NewTicker(s.opt.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.renew(ctx)
		}
	}
}

func (s *Server) renew(ctx context.Context) {
	// The local analyses are listed before the store is asked, so one that
	// starts in between is not mistaken for one this server lost.
	s.mu.Lock()
	local := make([]string, 0, len(s.running))
	for id := range s.running {
		local = append(local, id)
	}
	s.mu.Unlock()
	working := s.workingOn()
	if len(working) == 0 {
		return
	}
	held, err := s.store.RenewLeases(ctx, s.opt.InstanceID, working, time.Now().Add(s.opt.Lease))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("renewing the leases of this server's analyses", "err", err)
		}
		return
	}
	for _, id := range local {
		if _, ok := slices.BinarySearch(held, id); !ok {
			s.log.Info("analysis stopped: it ended or moved elsewhere", "id", id)
			s.stopLocal(id)
		}
	}
}

// workingOn lists the analyses this server is working on: background ones
// (running, or waiting for a worker) and every one executing here
// (synchronous ones too, and those recording their outcome).
func (s *Server) workingOn() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.running)+len(s.executing))
	for id := range s.running {
		ids = append(ids, id)
	}
	for id := range s.executing {
		if _, bg := s.running[id]; !bg {
			ids = append(ids, id)
		}
	}
	return ids
}

// reapLoop takes over, every Lease/2 until Close, the analyses whose
// owner's lease expired (a replica that died), at most claimLimit of them
// per round (claimAndTake).
func (s *Server) reapLoop() {
	t := time.NewTicker(s.opt.Lease / 2)
	defer t.Stop()
	for {
		select {
		case <-s.reapCtx.Done():
			return
		case <-t.C:
		}
		if _, _, err := s.claimAndTake(s.reapCtx, false); err != nil && s.reapCtx.Err() == nil {
			s.log.Warn("taking over the analyses of replicas that stopped", "err", err)
		}
	}
}

// resumable says why an unfinished analysis cannot be resumed ("" if it can).
func (s *Server) resumable(a store.Analysis, now time.Time) string {
	switch a.Origin {
	case "argo", "flagger":
		return "its caller waited synchronously and has gone (the controller asks again)"
	}
	var p Plan
	if err := json.Unmarshal(a.Request, &p); err != nil {
		return "its request could not be read"
	}
	if now.Sub(p.Start) > s.opt.ResumeWithin {
		return fmt.Sprintf("its window started %s ago, beyond the resume horizon of %s", now.Sub(p.Start).Round(time.Second), s.opt.ResumeWithin)
	}
	if _, err := parseStoredConfig(firstNonEmpty(a.ConfigName, "config"), a.Config); err != nil {
		return "its config cannot be used any more: " + err.Error()
	}
	return ""
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
