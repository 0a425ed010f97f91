package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/schedule"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/api"
)

// serveGCPercent is verdict serve's garbage-collection target when GOGC is
// not set (see runServe).
const serveGCPercent = 400

type serveFlags struct {
	listen, db, configDir, tokensFile string
	prometheusURL, lokiURL            string
	externalURL, instanceID           string
	workers                           int
	shutdownTimeout, resumeWithin     time.Duration
	lease, retention                  time.Duration
}

// defaultRetention is how long serve keeps ended analyses unless
// --retention says otherwise.
const defaultRetention = 30 * 24 * time.Hour

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:8080] [--db sqlite:PATH | postgres://...] [--config-dir DIR]",
		Short: "Run the judge API, stored analyses and scheduled re-scoring",
		Long: "Run Verdict as a service: the judge API (POST /api/v1/judge), stored configs and analyses, the Argo Rollouts,\n" +
			"Flagger and Kayenta-compatible endpoints, cron schedules from the configs, /metrics, /healthz and /readyz.\n" +
			"Listening beyond loopback needs bearer tokens (--tokens-file or VERDICT_TOKENS, lines \"ROLE TOKEN\", role read or write).\n" +
			"SIGTERM drains requests and stops the schedules; unfinished analyses resume at the next start.\n" +
			"Replicas may share one PostgreSQL store: each owns the analyses it runs under a lease it renews every --lease/3;\n" +
			"when a replica dies, another takes its analyses over once the lease expires, and a replica restarted with the same\n" +
			"--instance-id resumes its own at once. A store that cannot be reached or used (a database down, a read-only SQLite\n" +
			"file) exits 70, a malformed --db 64. A SQLite path with no database gets a new, empty one, with a warning in the log.\n" +
			"Ended analyses are deleted after --retention (0 keeps them). A live analysis may ask for a step of at least 1s,\n" +
			"a lifetime of at most 7 days, at most 1,000 judgements and 11,000 points per query (see docs/security.md).",
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&f.db, "db", store.DefaultDSN, "store: sqlite:PATH or postgres://...")
	fl.StringVar(&f.configDir, "config-dir", "", "load every *.yaml, *.yml and *.json config of this directory at start")
	fl.StringVar(&f.tokensFile, "tokens-file", "", "bearer tokens, one \"ROLE TOKEN\" a line (default $VERDICT_TOKENS)")
	fl.StringVar(&f.prometheusURL, "prometheus-url", "", "Prometheus URL (default $VERDICT_PROMETHEUS_URL, then each config)")
	fl.StringVar(&f.lokiURL, "loki-url", "", "Loki URL (default $VERDICT_LOKI_URL, then each config)")
	fl.StringVar(&f.externalURL, "external-url", "", "base URL of links in answers (default: the request's host)")
	fl.IntVar(&f.workers, "workers", 4, "judgements of live analyses running at once; one waiting for its next interval holds none (also how many of a dead replica's analyses this one takes per check: the workers free)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long SIGTERM waits for requests in flight")
	fl.DurationVar(&f.resumeWithin, "resume-within", 24*time.Hour, "resume unfinished analyses whose window started within this; older ones are marked interrupted")
	fl.StringVar(&f.instanceID, "instance-id", "", "this replica's name as the owner of its analyses; unique among replicas sharing a store, stable across its restarts (default HOSTNAME:PORT)")
	fl.DurationVar(&f.lease, "lease", 30*time.Second, "how long a replica owns its analyses without renewing; others take them over after it (at least 1s)")
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
	ctx := cmd.Context()
	st, err := openStore(ctx, f.db)
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

	var sched *schedule.Reloader
	srv, err := api.New(api.Options{
		Store:        st,
		Sources:      analysis.SourceOverrides{PrometheusURL: firstOf(f.prometheusURL, os.Getenv("VERDICT_PROMETHEUS_URL")), LokiURL: firstOf(f.lokiURL, os.Getenv("VERDICT_LOKI_URL"))},
		Tokens:       tokens,
		Workers:      f.workers,
		ResumeWithin: f.resumeWithin,
		InstanceID:   instanceID,
		Lease:        f.lease,
		Retention:    f.retention,
		ExternalURL:  f.externalURL,
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
	if f.configDir != "" {
		names, err := srv.LoadConfigDir(ctx, f.configDir)
		if err != nil {
			return err
		}
		log.Info("configs loaded", "dir", f.configDir, "configs", names)
	}
	resumed, interrupted, err := srv.Resume(ctx)
	if err != nil {
		return fmt.Errorf("resume unfinished analyses: %w", err)
	}
	log.Info("unfinished analyses", "instance", instanceID, "lease", f.lease, "resumed", resumed, "interrupted", interrupted)

	sched = schedule.NewReloader(srv.Configs, schedule.Hooks{
		Run:     srv.RunSchedule,
		Outcome: func(j schedule.Job, outcome string) { srv.Metrics().ScheduleRun(j.Config, outcome) },
	}, log)
	if err := sched.Reload(ctx); err != nil {
		return err
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("verdict serve listening", "addr", ln.Addr().String(), "auth", tokens.Len() > 0, "schedules", sched.Len())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "deadline", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	shutdownErr := hs.Shutdown(sctx)
	if err := sched.Stop(sctx); err != nil {
		log.Warn("stopping the scheduler", "err", err)
	}
	srv.Close()
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	log.Info("stopped")
	return nil
}
