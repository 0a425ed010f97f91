package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	lokiclient "github.com/grafana/loki-client-go/loki"
	"github.com/grafana/loki-client-go/pkg/backoff"
	"github.com/grafana/loki-client-go/pkg/labelutil"
	"github.com/grafana/loki-client-go/pkg/urlutil"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/verdict-aca/verdict/metrics"
)

// PusherConfig says where verdict events go.
type PusherConfig struct {
	// URL is Loki's base URL (the push path /loki/api/v1/push is added) or
	// the full push URL.
	URL string
	// Tenant is sent as X-Scope-OrgID when not empty.
	Tenant string
	// Labels are the stream's static labels; default {job="verdict"}. The
	// labels "config" and "verdict" are added per event; everything else
	// about an analysis is in the line, to keep stream cardinality low.
	Labels map[string]string
	// BatchWait is how long events are collected before a push; default 1s.
	BatchWait time.Duration
	// Timeout bounds one push request; default 10s.
	Timeout time.Duration
	// Retries is how often a failed push (5xx, 429, network) is retried
	// before the batch is dropped and logged; default 3.
	Retries int
	// HTTP holds authentication and TLS, as for queries.
	HTTP config.HTTPClientConfig
	// Logger receives push failures (pushes are asynchronous); nil means
	// slog.Default().
	Logger *slog.Logger
}

// Event is what is pushed for one finished analysis: one JSON line that
// says what was judged and how it ended, and where the whole report is
// (Report, ReportURL). The report itself is not in the line: a report
// holds every signal's figures (up to hundreds of KiB), Loki refuses lines
// over its max_line_size (256 KiB by default), and a line that big serves
// no alert or dashboard. Push bounds the line (see MaxEventBytes).
type Event struct {
	// Time is when the analysis finished; zero means now.
	Time time.Time `json:"-"`
	// Level is the verdict's severity for log tools (LevelOf): info for
	// pass, warning for marginal and none, error for fail and for an
	// analysis that could not run.
	Level string `json:"level"`
	// Config is the analysis config's name.
	Config string `json:"config"`
	// Origin says who asked for the analysis: api, schedule, argo,
	// flagger, kayenta or cli.
	Origin string `json:"origin,omitempty"`
	// Scopes are the scopes compared, by role ("baseline", "canary").
	Scopes map[string]metrics.Scope `json:"scopes,omitempty"`
	// Start and End are the analysed window.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Verdict is pass, marginal, fail or none.
	Verdict string `json:"verdict"`
	// Score is the score, nil when the verdict is none.
	Score *float64 `json:"score"`
	// Reason is the report's one-sentence reason, or why the analysis
	// could not run.
	Reason string `json:"reason"`
	// Failed names the signals that counted as failures (at most
	// maxFailedNames; FailedCount says how many there were).
	Failed      []string `json:"failed,omitempty"`
	FailedCount int      `json:"failedCount,omitempty"`
	// Report is the stored analysis' id, when it was stored.
	Report string `json:"report,omitempty"`
	// ReportURL is where the report page is (the server's external URL,
	// or a path on the server when it has none).
	ReportURL string `json:"reportURL,omitempty"`
}

// The levels of verdict events.
const (
	LevelInfo    = "info"
	LevelWarning = "warning"
	LevelError   = "error"
)

// LevelOf is the level of a verdict: a pass is news, a marginal canary or
// one without a verdict needs a look, a fail is an error.
func LevelOf(verdict string) string {
	switch verdict {
	case "pass":
		return LevelInfo
	case "fail":
		return LevelError
	default:
		return LevelWarning
	}
}

// Bounds of an event line. A scope comes from whoever asked for the
// analysis, so each part is cut to size (measured as JSON writes it, with
// its escapes): the line stays under MaxEventBytes whatever the request
// held.
const (
	// MaxEventBytes bounds an encoded event line.
	MaxEventBytes = 12 << 10
	// maxReason bounds the reason, maxURL the report URL, maxName the
	// config name, the origin, the report id and each failed signal's name.
	maxReason = 1024
	maxURL    = 512
	maxName   = 128
	// maxScopes bounds the roles (baseline, canary), maxScopeKeys the keys
	// shown per scope; each key is cut at maxScopeKey, each value at
	// maxScopeValue.
	maxScopes     = 2
	maxScopeKeys  = 16
	maxScopeKey   = 64
	maxScopeValue = 128
	// maxFailedNames bounds Failed.
	maxFailedNames = 10
)

// bounded returns e cut to the bounds above. A cut string ends with "…";
// scope keys beyond maxScopeKeys are dropped, in key order, and counted
// under the key "…"; roles beyond maxScopes are dropped.
func (e Event) bounded() Event {
	e.Config = truncate(e.Config, maxName)
	e.Reason = truncate(e.Reason, maxReason)
	e.Origin = truncate(e.Origin, maxName)
	e.Report = truncate(e.Report, maxName)
	e.ReportURL = truncate(e.ReportURL, maxURL)
	if e.Scopes != nil {
		scopes := make(map[string]metrics.Scope, min(len(e.Scopes), maxScopes))
		for _, role := range slices.Sorted(maps.Keys(e.Scopes))[:min(len(e.Scopes), maxScopes)] {
			sc := e.Scopes[role]
			keys := slices.Sorted(maps.Keys(sc))
			out := make(metrics.Scope, min(len(keys), maxScopeKeys+1))
			for i, k := range keys {
				if i == maxScopeKeys {
					out["…"] = fmt.Sprintf("%d more", len(keys)-maxScopeKeys)
					break
				}
				out[truncate(k, maxScopeKey)] = truncate(sc[k], maxScopeValue)
			}
			scopes[truncate(role, maxScopeKey)] = out
		}
		e.Scopes = scopes
	}
	e.FailedCount = max(e.FailedCount, len(e.Failed))
	failed := make([]string, 0, min(len(e.Failed), maxFailedNames))
	for _, name := range e.Failed[:min(len(e.Failed), maxFailedNames)] {
		failed = append(failed, truncate(name, maxName))
	}
	e.Failed = failed
	if len(e.Failed) == 0 {
		e.Failed = nil
	}
	return e
}

// truncate cuts s so that, as a JSON string's content (escapes included),
// it takes at most n bytes; a cut is marked with "…".
func truncate(s string, n int) string {
	width := 0
	cut := -1
	for i, r := range s {
		w := jsonWidth(r)
		if cut < 0 && width+w > n-jsonWidth('…') {
			cut = i // where the marked cut goes, if one is needed
		}
		width += w
		if width > n {
			return s[:cut] + "…"
		}
	}
	return s
}

// jsonWidth is how many bytes encoding/json writes for r in a string:
// control characters, <, >, &, U+2028, U+2029 and invalid bytes (r is
// utf8.RuneError) as \uXXXX, " and \ with a backslash.
func jsonWidth(r rune) int {
	switch {
	case r == '"' || r == '\\':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' || r == utf8.RuneError:
		return 6
	default:
		return utf8.RuneLen(r)
	}
}

// EventPusher pushes one JSON line per finished analysis to Loki with
// github.com/grafana/loki-client-go. Pushes are batched and asynchronous:
// Push queues the event, a background loop sends batches every BatchWait,
// and failures after retries are logged, not returned. Close flushes.
//
// Importing this package registers loki-client-go's own metrics
// (promtail_sent_entries_total, promtail_dropped_entries_total,
// promtail_request_duration_seconds, ...) on client_golang's global
// registry as a side effect; a service that exposes /metrics should serve a
// private registry, or include the default one on purpose.
type EventPusher struct {
	mu     sync.RWMutex
	closed bool
	client *lokiclient.Client
	labels model.LabelSet
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// NewEventPusher checks cfg and starts the push loop.
func NewEventPusher(cfg PusherConfig) (*EventPusher, error) {
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/loki/api/v1/push") {
		u.Path += "/loki/api/v1/push"
	}
	labels := model.LabelSet{"job": "verdict"}
	if len(cfg.Labels) > 0 {
		labels = model.LabelSet{}
		for k, v := range cfg.Labels {
			if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
				return nil, fmt.Errorf("loki push label %q: want a name like job or team_name", k)
			}
			labels[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	c := lokiclient.Config{
		URL:       urlutil.URLValue{URL: u},
		BatchWait: cfg.BatchWait,
		BatchSize: 1 << 20,
		Client:    cfg.HTTP,
		BackoffConfig: backoff.BackoffConfig{
			MinBackoff: 500 * time.Millisecond,
			MaxBackoff: 5 * time.Second,
			MaxRetries: cfg.Retries, // loki-client-go: 0 retries forever
		},
		ExternalLabels: labelutil.LabelSet{},
		Timeout:        cfg.Timeout,
		TenantID:       cfg.Tenant,
	}
	if c.BatchWait <= 0 {
		c.BatchWait = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.BackoffConfig.MaxRetries <= 0 {
		c.BackoffConfig.MaxRetries = 3
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	client, err := lokiclient.NewWithLogger(c, kitLogger{logger})
	if err != nil {
		return nil, fmt.Errorf("loki event pusher: %w", err)
	}
	return &EventPusher{client: client, labels: labels}, nil
}

// ErrClosed is returned by Push after Close.
var ErrClosed = errors.New("loki event pusher is closed")

// Push queues e for the next batch. It returns an error only when the
// event cannot be encoded, ctx has ended, or the pusher is closed; delivery
// failures are logged. It may block while the loop is sending a batch.
func (p *EventPusher) Push(ctx context.Context, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e = e.bounded()
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode verdict event: %w", err)
	}
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	ls := p.labels.Clone()
	ls["config"] = model.LabelValue(e.Config)
	ls["verdict"] = model.LabelValue(e.Verdict)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	return p.client.Handle(ls, t, string(line))
}

// Close sends what is queued (retrying as configured) and stops the loop.
// Later pushes fail with ErrClosed.
func (p *EventPusher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.client.Stop()
}

// kitLogger adapts slog to the go-kit logger loki-client-go expects.
type kitLogger struct{ l *slog.Logger }

func (k kitLogger) Log(keyvals ...any) error {
	attrs := map[string]any{}
	msg := "loki push"
	lvl := slog.LevelInfo
	for i := 0; i+1 < len(keyvals); i += 2 {
		key := fmt.Sprint(keyvals[i])
		switch key {
		case "msg":
			msg = "loki push: " + fmt.Sprint(keyvals[i+1])
		case "level":
			switch fmt.Sprint(keyvals[i+1]) {
			case "error":
				lvl = slog.LevelError
			case "warn":
				lvl = slog.LevelWarn
			case "debug":
				lvl = slog.LevelDebug
			}
		default:
			attrs[key] = keyvals[i+1]
		}
	}
	args := make([]any, 0, 2*len(attrs))
	for _, key := range slices.Sorted(maps.Keys(attrs)) {
		args = append(args, key, attrs[key])
	}
	k.l.Log(context.Background(), lvl, msg, args...)
	return nil
}
