package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// Limits bound what one request may ask for and what all of them may hold
// at once.
type Limits struct {
	// MaxBody is the largest request body in bytes (default 8 MiB).
	MaxBody int64
	// MaxPoints is the most points one signal may carry on one side (default 100,000).
	MaxPoints int
	// MaxSignals is the most signals one side may carry (default 1,000).
	MaxSignals int
	// MaxBodiesInFlight bounds the request body bytes all requests may
	// hold at once (default 64 MiB, eight bodies of the default MaxBody;
	// never less than MaxBody). A request is charged its Content-Length
	// (MaxBody when it has none) until it has been answered; one that does
	// not fit is refused at once with 503 and Retry-After.
	MaxBodiesInFlight int64
	// InlineConfigCache bounds the text of the inline configs kept parsed
	// for the next request, in bytes (default 4 MiB; at most 256 configs).
	// Only a config that judged is kept; a larger one is parsed every time.
	InlineConfigCache int64
}

// maxInlineConfigs bounds the number of inline configs kept parsed,
// whatever their size: a short config's parsed form takes a few KiB.
const maxInlineConfigs = 256

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = 8 << 20
	}
	if l.MaxBodiesInFlight <= 0 {
		l.MaxBodiesInFlight = 64 << 20
	}
	l.MaxBodiesInFlight = max(l.MaxBodiesInFlight, l.MaxBody)
	if l.InlineConfigCache <= 0 {
		l.InlineConfigCache = 4 << 20
	}
	if l.MaxPoints <= 0 {
		l.MaxPoints = 100_000
	}
	if l.MaxSignals <= 0 {
		l.MaxSignals = 1_000
	}
	return l
}

// Options configure a Server.
type Options struct {
	Store store.Store
	// Sources are the metric sources live analyses read, by name
	// (prometheus, loki and the operator's others), built once by the
	// caller (verdict serve: analysis.ServerSources.Open) and shared by
	// every analysis, schedule and synchronous judgement. Configs name
	// them; a config that defines sources is refused.
	Sources analysis.SourceSet
	// Events, when set, receives the verdict event of every analysis the
	// server finishes, whatever its origin (verdict serve: the loki
	// source's pushURL). Close closes it.
	Events *loki.EventPusher
	// Tokens enables bearer-token auth when not empty.
	Tokens *Tokens
	Limits Limits
	// Workers bounds the judgements of background analyses running at once
	// (default 4); a multi-interval analysis waiting for its next interval
	// holds none. It also bounds how many of a dead replica's analyses one
	// claim takes: the workers free, at least one.
	Workers int
	// MaxQueued bounds the background analyses running or waiting for a
	// worker; beyond it new ones are refused with 503 (default 1,000).
	MaxQueued int
	// SyncTimeout bounds a synchronous live judgement (Argo, Flagger;
	// default 8 s, under Argo's 10 s default).
	SyncTimeout time.Duration
	// ResumeWithin is how old an unfinished analysis' window may be for a
	// restart to resume it (default 24 h); older ones are interrupted.
	ResumeWithin time.Duration
	// InstanceID names this server as the owner of the analyses it runs
	// (see the store's ownership rules). It must be unique among the
	// replicas sharing a store and stable across restarts of one replica,
	// so that a restart resumes its own analyses at once; verdict serve
	// uses hostname:port. Empty: the hostname and a random suffix (a
	// restart then resumes only once the old leases expire).
	InstanceID string
	// Lease is how long this server's claim on a live analysis lasts
	// without renewal (default 30 s): it renews every Lease/3, and another
	// replica takes the analyses of a server dead for Lease (checking
	// every Lease/2).
	Lease time.Duration
	// RecordRetry bounds how long the outcome of an analysis that ended is
	// retried while the store refuses it (default 10 × Lease); then the
	// analysis is given up and its lease lapses (see analysis/runner).
	RecordRetry time.Duration
	// Retention is how long ended analyses are kept: older ones are
	// deleted in batches every Retention/4 (at least every second, at most
	// every 10 minutes). 0 keeps them forever (verdict serve's default is
	// 30 days). The evidence of anytime canaries is deleted a day after
	// its last look (analysis.MaxEvidenceWindow: no look can continue it
	// then), whatever the retention.
	Retention time.Duration
	// ExternalURL is the base of the links the API answers (url,
	// reportURL), such as https://verdict.example.com; empty answers
	// paths alone (/analyses/ID). Links never come from the request's
	// Host header. Without tokens, its host is also accepted in Host
	// besides the loopback names (see sameOrigin).
	ExternalURL string
	Logger      *slog.Logger
	// Now tells the time; nil uses time.Now.
	Now func() time.Time
	// Clock is given to multi-interval runs; nil uses the real clock.
	Clock analysis.Clock
	// ConfigsChanged, when set, is called after a config is stored or
	// deleted through the API (serve reloads the schedules).
	ConfigsChanged func()
}

// Server is the HTTP service. Create it with New, serve Handler, and call
// Close when done.
type Server struct {
	opt     Options
	log     *slog.Logger
	store   store.Store
	metrics *Metrics
	// sources are Options.Sources, each timed and counted in metrics.
	sources analysis.SourceSet
	configs *configCache
	inline  *inlineCache
	mux     *http.ServeMux
	now     func() time.Time
	// base is ExternalURL without its trailing slash; external its parsed
	// form (nil without one).
	base     string
	external *url.URL
	// bodies is the request body bytes held now (Limits.MaxBodiesInFlight).
	bodies inFlight
	// scratch recycles the judge API's request memory (*judgeScratch).
	scratch sync.Pool

	// runner runs the live analyses (analysis/runner) from New to Close;
	// the handlers reach it through runs.
	runner  *runner.Runner
	runs    analyses
	stopRun context.CancelFunc
	ran     chan struct{}

	// retentionCtx ends the retention loop (Close); loops waits for it.
	retentionCtx  context.Context
	stopRetention context.CancelFunc
	loops         sync.WaitGroup
}

// analyses is what the handlers ask of the runner: to store and start a
// live analysis, to judge one look synchronously, to cancel one.
type analyses interface {
	Submit(ctx context.Context, req runner.Request) (string, error)
	Look(ctx context.Context, req runner.Request, revision string, lookback time.Duration) (string, *analysis.Report, error)
	Cancel(ctx context.Context, id, reason string) error
}

// New builds a Server over opt.Store.
func New(opt Options) (*Server, error) {
	if opt.Store == nil {
		return nil, errors.New("api: no store")
	}
	opt.Limits = opt.Limits.withDefaults()
	if opt.SyncTimeout <= 0 {
		opt.SyncTimeout = 8 * time.Second
	}
	if opt.Retention < 0 {
		return nil, fmt.Errorf("api: a retention of %s is negative", opt.Retention)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	external, err := parseExternalURL(opt.ExternalURL)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{
		opt:      opt,
		log:      opt.Logger,
		store:    opt.Store,
		metrics:  NewMetrics(),
		configs:  newConfigCache(),
		inline:   newInlineCache(opt.Limits.InlineConfigCache, maxInlineConfigs, func(cfg *analysis.Config) error { return checkNewConfig(cfg, opt.Sources) }),
		now:      opt.Now,
		external: external,
		base:     strings.TrimRight(opt.ExternalURL, "/"),
		bodies:   inFlight{limit: opt.Limits.MaxBodiesInFlight},
		scratch:  sync.Pool{New: func() any { return new(judgeScratch) }},
	}
	s.sources = s.metrics.instrument(opt.Sources)
	run, err := runner.New(runner.Options{Store: opt.Store, Sources: s.sources, Configs: storedConfigs{s}, Events: opt.Events, Observer: s.metrics,
		Workers: opt.Workers, MaxQueued: opt.MaxQueued, ResumeWithin: opt.ResumeWithin, InstanceID: opt.InstanceID, Lease: opt.Lease,
		RecordRetry: opt.RecordRetry, LinkBase: s.base, Logger: opt.Logger, Now: opt.Now, Clock: opt.Clock})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.runner, s.runs = run, run
	s.routes()
	var runCtx context.Context
	runCtx, s.stopRun = context.WithCancel(context.Background())
	s.ran = make(chan struct{})
	go func() {
		defer close(s.ran)
		run.Run(runCtx)
	}()
	s.retentionCtx, s.stopRetention = context.WithCancel(context.Background())
	s.loops.Go(s.retentionLoop)
	return s, nil
}

// InstanceID is the owner name this server writes on its analyses.
func (s *Server) InstanceID() string { return s.runner.InstanceID() }

// Runner is the runner of the server's live analyses: serve calls its
// Resume at start, and the scheduler its RunSchedule. The server runs it
// (Runner.Run) from New to Close.
func (s *Server) Runner() *runner.Runner { return s.runner }

// Metrics returns the server's metrics, for the scheduler to update.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Handler is the service's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops the retention loop and the runner: it stops taking over
// analyses, stops the background analyses and waits for them, then stops
// renewing leases and hands the ones it held over (runner.Runner.Run): the
// analyses stay queued or running in the store, with leases that end now,
// so this replica's next start or any other replica resumes them. Last it
// closes Options.Events, flushing the queued verdict events. Call it after
// the HTTP server has drained its requests (synchronous analyses keep
// their leases renewed until then).
func (s *Server) Close() {
	s.stopRetention()
	s.stopRun()
	<-s.ran
	s.loops.Wait()
	if s.opt.Events != nil {
		s.opt.Events.Close() // flushes queued verdict events
	}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	s.mux = m
	read, write, writeConfig := s.guard(roleRead, nil), s.guard(roleWrite, jsonBody), s.guard(roleWrite, configBody)
	// judge is for the endpoints that judge a stored config (or, for the
	// judge API, the series sent) and change nothing else.
	judge := s.guard(roleJudge, jsonBody)

	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /metrics", read(s.metrics.Handler()))

	m.Handle("POST /api/v1/judge", judge(s.counted("judge", s.judge)))

	m.Handle("GET /api/v1/configs", read(http.HandlerFunc(s.listConfigs)))
	m.Handle("GET /api/v1/configs/{name}", read(http.HandlerFunc(s.getConfig)))
	m.Handle("PUT /api/v1/configs/{name}", writeConfig(http.HandlerFunc(s.putConfig)))
	m.Handle("DELETE /api/v1/configs/{name}", write(http.HandlerFunc(s.deleteConfig)))

	m.Handle("POST /api/v1/analyses", write(http.HandlerFunc(s.createAnalysis)))
	m.Handle("GET /api/v1/analyses", read(http.HandlerFunc(s.listAnalyses)))
	m.Handle("GET /api/v1/analyses/{id}", read(http.HandlerFunc(s.getAnalysis)))
	m.Handle("POST /api/v1/analyses/{id}/cancel", write(http.HandlerFunc(s.cancelAnalysis)))

	m.Handle("GET /api/v1/argo/{configName}", judge(s.counted("argo", s.argo)))
	m.Handle("POST /api/v1/flagger/{configName}", judge(s.counted("flagger", s.flagger)))

	m.Handle("POST /canary/{configId}", judge(s.counted("kayenta", s.kayentaStart)))
	m.Handle("POST /canary", write(s.counted("kayenta", s.kayentaAdhoc)))
	m.Handle("GET /canary/{id}", read(http.HandlerFunc(s.kayentaStatus)))
	m.Handle("GET /canaryConfig", read(http.HandlerFunc(s.kayentaConfigIndex)))
	m.Handle("POST /standalone_canary_analysis/{canaryConfigId}", judge(s.counted("kayenta", s.standaloneStart)))
	m.Handle("POST /standalone_canary_analysis", write(s.counted("kayenta", s.standaloneAdhoc)))
	m.Handle("GET /standalone_canary_analysis/{id}", read(http.HandlerFunc(s.standaloneStatus)))

	s.pages(m, read)

	// Anything else is a JSON 404 (the mux answers 405 itself for a known
	// path with another method, with an Allow header).
	m.HandleFunc("/", s.notFound)
}

// notFound answers what no route matched: 405 with Allow when the path
// exists for other methods, else 404 (both as JSON errors).
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if method == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
		return
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Error("readiness check failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the store is not reachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// counted counts requests of an integration endpoint by status and times them.
func (s *Server) counted(endpoint string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		s.metrics.observeRequest(endpoint, rec.status, time.Since(start))
	})
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// internalError logs the detail and answers a generic 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error; the server log has the details")
}

// badJSON answers a JSON decoding error: 413 for a body over the limit,
// else 400 naming the field when known.
func (s *Server) badJSON(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var limit *limitError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than the limit of %d bytes", tooBig.Limit))
	case errors.As(err, &limit):
		writeError(w, http.StatusRequestEntityTooLarge, limit.Error())
	case errors.As(err, &typeErr) && typeErr.Field != "":
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: want %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value))
	default:
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "json: "))
	}
}

// CheckExternalURL checks a value of Options.ExternalURL: empty, or an
// absolute http or https URL with a host and nothing after its path.
func CheckExternalURL(raw string) error {
	_, err := parseExternalURL(raw)
	return err
}

func parseExternalURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("the external URL %q does not parse: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Hostname() == "":
		return nil, fmt.Errorf("the external URL %q is not an http:// or https:// URL with a host", raw)
	case u.User != nil, u.RawQuery != "", u.Fragment != "", u.Opaque != "", u.ForceQuery:
		return nil, fmt.Errorf("the external URL %q may hold no user, query or fragment", raw)
	}
	return u, nil
}

// baseURL is the prefix of the links in answers: the external URL, or
// nothing (links are then paths on this server). It never depends on the
// request: a Host header is the client's to choose.
func (s *Server) baseURL() string { return s.base }
