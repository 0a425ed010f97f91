package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/scoring"
)

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
	// judged again and again (Argo, Flagger, schedules; see Runner.Look):
	// the references the look carries over, and the evidence it continues.
	Anytime  *analysis.AnytimeLook `json:"anytime,omitempty"`
	Evidence *analysis.Evidence    `json:"evidence,omitempty"`
	// Due is when the schedule's firing this analysis runs was due (origin
	// schedule): the firing's identity across replicas.
	Due *time.Time `json:"due,omitempty"`
}

// PlanFields name a plan's fields in errors: the JSON names of Plan, which
// POST /api/v1/analyses and the Argo and Flagger parameters share.
var PlanFields = analysis.ExtentFields{Step: "step", Lifetime: "lifetime", Interval: "interval"}

// CheckBounds checks the plan against the bounds of a live analysis
// (analysis.CheckExtent), naming the request's fields with f.
func (p Plan) CheckBounds(f analysis.ExtentFields) error {
	return analysis.CheckExtent(analysis.Extent{Window: metrics.Window{Start: p.Start, End: p.End, Step: p.Step},
		Lifetime: p.Lifetime, Interval: p.Interval, Lookback: p.Lookback}, f)
}

// config returns cfg with the plan's thresholds, if any.
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

// judgements is how many judgements the plan makes: one, or one per
// interval of its lifetime.
func (p Plan) judgements() int {
	if p.Lifetime <= 0 {
		return 1
	}
	interval := p.Interval
	if interval <= 0 || interval > p.Lifetime {
		interval = p.Lifetime
	}
	return int(p.Lifetime / interval)
}

// Request is a live analysis to store and run.
type Request struct {
	// Config is the parsed config; ConfigName names it when it is stored
	// ("" for an inline config), ConfigText is the text stored with the
	// analysis (the stored config's or the inline one).
	Config     *analysis.Config
	ConfigName string
	ConfigText []byte
	Plan       Plan
	// Origin says who asked: api, kayenta, argo, flagger, schedule.
	Origin string
}

// ErrInvalid is what an error of a request that cannot run is (errors.Is):
// a config that cannot run live for the plan's scopes, a plan beyond the
// bounds. Its text names the field.
var ErrInvalid = errors.New("the analysis cannot run")

// invalidError is a request that cannot run, with its reason.
type invalidError struct{ err error }

func (e invalidError) Error() string        { return e.err.Error() }
func (e invalidError) Unwrap() error        { return e.err }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// QueueFullError is what Submit returns when MaxQueued background analyses
// are running or waiting for a worker.
type QueueFullError struct{ Queued int }

func (e *QueueFullError) Error() string {
	return fmt.Sprintf("%d analyses are running or queued, the limit; try again later", e.Queued)
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

// prepare checks that the config can run live for the plan's scopes, and
// the plan within the bounds (the caller's own check names its fields;
// this one also catches a stored plan from before the bounds, at a
// resume), so that a mistake is refused now rather than a failed analysis
// later. Its errors are ErrInvalid.
func (r *Runner) prepare(req Request) (prepared, error) {
	p, cfg := req.Plan, req.Config
	if err := p.CheckBounds(PlanFields); err != nil {
		return prepared{}, invalidError{err}
	}
	if p.Thresholds != nil {
		t := scoring.Thresholds{Pass: p.Thresholds.Pass, Marginal: p.Thresholds.Marginal}
		if err := t.Check(); err != nil {
			return prepared{}, invalidError{fmt.Errorf("thresholds.%w", err)}
		}
	}
	if p.Lifetime > 0 && p.Lookback > 0 && cfg.Sequential == analysis.SequentialAnytime {
		return prepared{}, invalidError{errors.New("lookback: the config is sequential: anytime, whose looks each judge all the data since the start; give no lookback")}
	}
	if err := cfg.CheckLive(r.opt.Sources, p.Scopes); err != nil {
		return prepared{}, invalidError{err}
	}
	return prepared{configName: req.ConfigName, configText: req.ConfigText, cfg: p.config(cfg), plan: p, origin: req.Origin}, nil
}

// displayName is the config's name for events: the stored config's, or
// the inline config's own name.
func (p prepared) displayName() string {
	if p.configName != "" || p.cfg == nil {
		return p.configName
	}
	return p.cfg.Name
}

// ParseStoredConfig parses a config read back from the store, refusing
// one with sources (stored by an older version, which took them): the
// server never queries a URL a config names. Its sources' names are
// checked when it runs (CheckLive), so that removing a source from the
// server's settings does not hide the configs that read it.
func ParseStoredConfig(name string, data []byte) (*analysis.Config, error) {
	cfg, err := analysis.ParseConfig(name, data)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckNoSources(); err != nil {
		return nil, err
	}
	return cfg, nil
}
