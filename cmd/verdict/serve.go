package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/api"
	"github.com/verdict-aca/verdict/metrics/loki"
)

// serveGCPercent is verdict serve's garbage-collection target when GOGC is
// not set (see runServe).
const serveGCPercent = 400

type serveFlags struct {
	listen, db, configDir, tokensFile string
	sourcesFile                       string
	prometheusURL, lokiURL            string
	externalURL, instanceID           string
	workers                           int
	shutdownTimeout, resumeWithin     time.Duration
	lease, retention                  time.Duration
	bodiesInFlight, inlineConfigCache byteSize
}

// Defaults of the serve flags that bound memory (see api.Limits).
const (
	defaultBodiesInFlight    = 64 << 20
	defaultInlineConfigCache = 4 << 20
	// serveMaxBody is the body limit serve leaves at api.Limits' default.
	serveMaxBody = 8 << 20
)

// configPollPeriod is how often serve checks whether the stored configs
// changed through another replica (one query of names and versions; see
// schedule.Reloader.Follow).
const configPollPeriod = 2 * time.Second

// defaultRetention is how long serve keeps ended analyses unless
// --retention says otherwise.
const defaultRetention = 30 * 24 * time.Hour

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:8080] [--db sqlite:PATH | postgres://...] [--config-dir DIR] [--sources-file FILE]",
		Short: "Run the judge API, stored analyses and scheduled re-scoring",
		Long: "Run Verdict as a service: the judge API (POST /api/v1/judge), stored configs and analyses, the Argo Rollouts,\n" +
			"Flagger and Kayenta-compatible endpoints, cron schedules from the configs, /metrics, /healthz and /readyz.\n" +
			"Listening beyond loopback needs tokens (--tokens-file or VERDICT_TOKENS, lines \"ROLE TOKEN\", role read, judge or write),\n" +
			"sent as Authorization: Bearer, or by clients that cannot set headers in the URL (http://verdict:TOKEN@host/...).\n" +
			"Metric sources are the server's own settings: --prometheus-url, --loki-url and --sources-file (YAML, source names to\n" +
			"url, timeout, retries, bearerTokenFile, basicAuth, tls, maxConns, idleConnTimeout, maxResponseBytes; loki: tenant,\n" +
			"pushURL; other names: type prometheus|loki). Configs name sources (source: NAME) and may not define them.\n" +
			"SIGTERM drains requests and stops the schedules; unfinished analyses resume at the next start.\n" +
			"Replicas may share one PostgreSQL store: each owns the analyses it runs under a lease it renews every --lease/3;\n" +
			"when a replica dies, another takes its analyses over once the lease expires, and a replica restarted with the same\n" +
			"--instance-id resumes its own at once. A store that cannot be reached or used (a database down, a read-only SQLite\n" +
			"file) exits 70, a malformed --db 64. A SQLite path with no database gets a new, empty one, with a warning in the log.\n" +
			"Replicas run the same schedules and each firing once: the first to claim it in the store runs it, and a config\n" +
			"stored through one replica reaches the others' schedules within 2s.\n" +
			"Ended analyses are deleted after --retention (0 keeps them). A live analysis may ask for a step of at least 1s,\n" +
			"a lifetime of at most 7 days, at most 1,000 judgements and 11,000 points per query (see docs/security.md).\n" +
			"Without tokens, requests must be addressed to a loopback host (or --external-url's), and a browser request from\n" +
			"another origin may not judge or change anything (403). Request bodies take Content-Type application/json\n" +
			"(a config's, application/yaml too); others get 415. A body may have 8 MiB, and the requests in progress together\n" +
			"hold at most --max-bodies-in-flight of bodies; beyond that, 503 with Retry-After.",
		Example: `  # on loopback, with an SQLite store and the configs of a directory
  verdict serve --db sqlite:verdict.db --config-dir configs/ --prometheus-url http://127.0.0.1:9090

  # beyond loopback: bearer tokens, named sources and the URL clients reach it at
  verdict serve --listen 0.0.0.0:8080 --tokens-file /etc/verdict/tokens --sources-file /etc/verdict/sources.yaml \
      --external-url https://verdict.example.com --db postgres://verdict@db.example.com/verdict`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&f.db, "db", store.DefaultDSN, "store: sqlite:PATH or postgres://... ($VERDICT_DB when not given)")
	fl.StringVar(&f.configDir, "config-dir", "", "load every *.yaml, *.yml and *.json config of this directory at start")
	fl.StringVar(&f.tokensFile, "tokens-file", "", "bearer tokens, one \"ROLE TOKEN\" a line, reread on SIGHUP (default $VERDICT_TOKENS)")
	fl.StringVar(&f.sourcesFile, "sources-file", "", "metric sources by name, with their URLs, credentials files, TLS and bounds (YAML)")
	fl.StringVar(&f.prometheusURL, "prometheus-url", "", "URL of the prometheus source (default $VERDICT_PROMETHEUS_URL, then --sources-file)")
	fl.StringVar(&f.lokiURL, "loki-url", "", "URL of the loki source (default $VERDICT_LOKI_URL, then --sources-file)")
	fl.StringVar(&f.externalURL, "external-url", "", "base URL of the links in answers, e.g. https://verdict.example.com (default: http://LISTEN-ADDRESS; never the request's Host)")
	fl.IntVar(&f.workers, "workers", 4, "judgements of live analyses running at once; one waiting for its next interval holds none (also how many of a dead replica's analyses this one takes per check: the workers free)")
	f.shutdownTimeout = 20 * time.Second
	fl.Var((*duration)(&f.shutdownTimeout), "shutdown-timeout", "how long SIGTERM waits for requests in flight")
	f.resumeWithin = 24 * time.Hour
	fl.Var((*duration)(&f.resumeWithin), "resume-within", "resume unfinished analyses whose window started within this; older ones are marked interrupted")
	fl.StringVar(&f.instanceID, "instance-id", "", "this replica's name as the owner of its analyses; unique among replicas sharing a store, stable across its restarts (default HOSTNAME:PORT)")
	f.lease = 30 * time.Second
	fl.Var((*duration)(&f.lease), "lease", "how long a replica owns its analyses without renewing; others take them over after it (at least 1s)")
	f.bodiesInFlight, f.inlineConfigCache = defaultBodiesInFlight, defaultInlineConfigCache
	fl.Var(&f.bodiesInFlight, "max-bodies-in-flight", "request body bytes all requests may hold at once (at least 8MiB); beyond, 503 with Retry-After")
	fl.Var(&f.inlineConfigCache, "inline-config-cache", "config text bytes of the judge API's inline configs kept parsed (only configs that judged)")
	fl.DurationVar(&f.retention, "retention", defaultRetention, "delete analyses that ended longer ago than this (0 keeps them forever; else at least 1h)")
	return cmd
}

// defaultInstanceID is HOSTNAME:PORT of the listener: stable across
// restarts of a replica, unique among live processes of one host.
func defaultInstanceID(addr net.Addr) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	port := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	return host + ":" + port
}

// listenerURL is the base of the links in answers when --external-url is
// not given: http:// and the address listened on, with the host name for a
// wildcard address (0.0.0.0, ::).
func listenerURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// loopback reports whether a listen address only accepts local connections.
func loopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// reloadTokensOnHangup rereads the tokens file at every SIGHUP from now
// until ctx ends: a token is added, rotated or revoked without a restart.
// A file that cannot be read or has a mistake keeps the tokens in force,
// with the error in the log.
func reloadTokensOnHangup(ctx context.Context, path string, tokens *api.Tokens, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go reloadTokens(ctx, hup, path, tokens, log)
}

func reloadTokens(ctx context.Context, hup chan os.Signal, path string, tokens *api.Tokens, log *slog.Logger) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		next, err := api.LoadTokens(path)
		if err == nil {
			err = tokens.Replace(next)
		}
		if err != nil {
			log.Error("SIGHUP: the tokens in force are kept", "file", path, "err", err)
			continue
		}
		log.Info("SIGHUP: tokens reloaded", "file", path, "tokens", next.Len())
	}
}

func loadTokens(f serveFlags) (*api.Tokens, error) {
	if f.tokensFile != "" {
		t, err := api.LoadTokens(f.tokensFile)
		if err != nil {
			return nil, usageError{err}
		}
		return t, nil
	}
	if env := os.Getenv("VERDICT_TOKENS"); env != "" {
		t, err := api.ParseTokens("VERDICT_TOKENS", env)
		if err != nil {
			return nil, usageError{err}
		}
		return t, nil
	}
	return nil, nil
}

// openServerSources builds the server's metric sources, once, from
// --sources-file and the URL flags (flags win, then the environment, then
// the file), and the verdict event pusher when the loki source has a
// pushURL. Any mistake is a usage error (exit 64) naming the file, line
// and field.
func openServerSources(ctx context.Context, f serveFlags, log *slog.Logger) (analysis.SourceSet, *loki.EventPusher, error) {
	var file *analysis.ServerSources
	if f.sourcesFile != "" {
		var err error
		if file, err = analysis.LoadServerSources(ctx, f.sourcesFile); err != nil {
			return nil, nil, usageError{fmt.Errorf("--sources-file: %w", err)}
		}
	}
	overrides := analysis.SourceOverrides{PrometheusURL: firstOf(f.prometheusURL, os.Getenv("VERDICT_PROMETHEUS_URL")), LokiURL: firstOf(f.lokiURL, os.Getenv("VERDICT_LOKI_URL"))}
	for _, o := range []struct{ flag, url string }{{"--prometheus-url (or VERDICT_PROMETHEUS_URL)", overrides.PrometheusURL}, {"--loki-url (or VERDICT_LOKI_URL)", overrides.LokiURL}} {
		if o.url == "" {
			continue
		}
		if err := analysis.CheckSourceURL(o.url); err != nil {
			return nil, nil, usageError{fmt.Errorf("%s: %w", o.flag, err)}
		}
	}
	sources, err := file.Open(overrides)
	if err != nil {
		if f.sourcesFile != "" {
			err = fmt.Errorf("--sources-file: %w", err)
		}
		return nil, nil, usageError{err}
	}
	events, err := file.EventPusher(log)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--sources-file: %w", err)}
	}
	return sources, events, nil
}

func runServe(cmd *cobra.Command, f serveFlags) error {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	if os.Getenv("GOGC") == "" {
		// A judgement allocates its working copies (~1.5 MB for 20
		// signals × 2 × 360 points) and keeps nothing, so the live heap
		// stays small and the default GOGC=100 collects every few
		// requests. 400 trades some tens of MB of heap for a quarter of
		// the collections; GOGC in the environment still rules.
		debug.SetGCPercent(serveGCPercent)
	}
	tokens, err := loadTokens(f)
	if err != nil {
		return err
	}
	local, err := loopback(f.listen)
	if err != nil {
		return usageError{fmt.Errorf("--listen %q is not HOST:PORT", f.listen)}
	}
	if !local && tokens.Len() == 0 {
		return usageError{fmt.Errorf("--listen %s accepts connections from other hosts, but no bearer tokens are configured; give --tokens-file or VERDICT_TOKENS, or listen on 127.0.0.1", f.listen)}
	}
	if f.workers <= 0 || f.shutdownTimeout <= 0 || f.resumeWithin <= 0 {
		return usageError{errors.New("--workers, --shutdown-timeout and --resume-within must be positive")}
	}
	if f.lease < time.Second {
		return usageError{fmt.Errorf("--lease %s is shorter than 1s", f.lease)}
	}
	if f.retention != 0 && f.retention < time.Hour {
		return usageError{fmt.Errorf("--retention %s is neither 0 (keep forever) nor at least 1h", f.retention)}
	}
	if cmd.Flags().Changed("instance-id") && strings.TrimSpace(f.instanceID) == "" {
		return usageError{errors.New("--instance-id must not be empty")}
	}
	if f.bodiesInFlight < serveMaxBody {
		return usageError{fmt.Errorf("--max-bodies-in-flight %s is less than one request body's limit of %s", f.bodiesInFlight, byteSize(serveMaxBody))}
	}
	if f.inlineConfigCache <= 0 {
		return usageError{errors.New("--inline-config-cache must be positive")}
	}
	if err := api.CheckExternalURL(f.externalURL); err != nil {
		return usageError{fmt.Errorf("--external-url: %w", err)}
	}
	ctx := cmd.Context()
	sources, events, err := openServerSources(ctx, f, log)
	if err != nil {
		return err
	}
	if events != nil {
		// The server closes it (flushing) at srv.Close; this covers the
		// returns before the server exists. A second Close does nothing.
		defer events.Close()
	}
	dsn, origin := f.db, "--db"
	if env := os.Getenv("VERDICT_DB"); env != "" && !cmd.Flags().Changed("db") {
		dsn, origin = env, "VERDICT_DB"
	}
	st, err := openStore(ctx, origin, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if sq, ok := st.(*store.SQLite); ok && sq.Created() {
		log.Warn("the store had no database at its path, so it starts empty with a new one; if this server had configs and analyses before, --db names the wrong file or the file was lost",
			"db", sq.Path())
	}

	// Listen before claiming analyses: a second process on the same port
	// fails here, so two live processes never share the default instance id.
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usageError{fmt.Errorf("--listen: %w", err)}
	}
	defer ln.Close()
	instanceID := f.instanceID
	if instanceID == "" {
		instanceID = defaultInstanceID(ln.Addr())
	}
	externalURL := f.externalURL
	if externalURL == "" {
		externalURL = listenerURL(ln.Addr())
	}

	var sched *schedule.Reloader
	srv, err := api.New(api.Options{
		Store:        st,
		Sources:      sources,
		Events:       events,
		Tokens:       tokens,
		Workers:      f.workers,
		ResumeWithin: f.resumeWithin,
		InstanceID:   instanceID,
		Lease:        f.lease,
		ExternalURL:  externalURL,
		Limits:       api.Limits{MaxBodiesInFlight: int64(f.bodiesInFlight), InlineConfigCache: int64(f.inlineConfigCache)},
		Retention:    f.retention,
		Logger:       log,
		ConfigsChanged: func() {
			if err := sched.Reload(ctx); err != nil {
				log.Error("the schedules were not reloaded", "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	// Every way out closes the server: its loops (retention, leases) stop
	// before the store closes and before the log is written by anyone else.
	closeServer := sync.OnceFunc(srv.Close)
	defer closeServer()
	if f.configDir != "" {
		names, err := srv.LoadConfigDir(ctx, f.configDir)
		if err != nil {
			return err
		}
		log.Info("configs loaded", "dir", f.configDir, "configs", names)
	}
	// The server runs its runner from New to Close (renewing leases); the
	// runner takes over the analyses of dead replicas from Resume on.
	run := srv.Runner()
	resumed, interrupted, err := run.Resume(ctx)
	if err != nil {
		return fmt.Errorf("resume unfinished analyses: %w", err)
	}
	log.Info("unfinished analyses", "instance", instanceID, "lease", f.lease, "resumed", resumed, "interrupted", interrupted)

	sched = schedule.NewReloader(srv.Configs, schedule.Hooks{
		Run:     run.RunSchedule,
		Outcome: func(j schedule.Job, outcome string) { srv.Metrics().ScheduleRun(j.Config, outcome) },
	}, log)
	if err := sched.Reload(ctx); err != nil {
		return err
	}
	// Configs stored or deleted through another replica reach this one's
	// schedules within configPollPeriod (its own changes reload at once).
	followCtx, stopFollowing := context.WithCancel(ctx)
	following := make(chan struct{})
	go func() {
		defer close(following)
		sched.Follow(followCtx, configPollPeriod, srv.ConfigsVersion)
	}()
	defer func() {
		stopFollowing()
		<-following
	}()

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if f.tokensFile != "" {
		reloadTokensOnHangup(ctx, f.tokensFile, tokens, log)
	}
	log.Info("verdict serve listening", "addr", ln.Addr().String(), "external", externalURL, "auth", tokens.Len() > 0, "schedules", sched.Len(),
		"sources", slices.Sorted(maps.Keys(sources)), "verdict events", events != nil)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		closeServer()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "deadline", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	shutdownErr := hs.Shutdown(sctx)
	stopFollowing()
	<-following
	if err := sched.Stop(sctx); err != nil {
		log.Warn("stopping the scheduler", "err", err)
	}
	closeServer()
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	log.Info("stopped")
	return nil
}
