// Command verdictdriver runs Argo Rollouts' own metric providers (web and
// kayenta) with an AnalysisTemplate's metrics against a Verdict server and
// prints each measurement (phase, value, message) as JSON.
//
// It is built inside a checkout of Argo Rollouts (as hack/verdictdriver),
// never in Verdict's module: see ../../README.md. It unmarshals the
// template strictly into Argo's AnalysisTemplate, checks it with Argo's
// ValidateMetrics, resolves the args with Argo's ResolveArgs and
// ResolveMetricArgs (secrets as given with -arg), points the URL or address
// at the server (-from is replaced by -to) and runs Provider.Run, then, for
// the kayenta provider, Resume until the measurement is no longer Running.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	log "github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-rollouts/metricproviders/kayenta"
	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
)

type argList []string

func (a *argList) String() string     { return strings.Join(*a, ",") }
func (a *argList) Set(v string) error { *a = append(*a, v); return nil }

type result struct {
	Metric   string            `json:"metric"`
	Provider string            `json:"provider"`
	Phase    string            `json:"phase"`
	Value    string            `json:"value"`
	Message  string            `json:"message,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Polls    int               `json:"polls,omitempty"`
}

func main() {
	templateFile := flag.String("template", "", "AnalysisTemplate YAML")
	from := flag.String("from", "verdict.verdict.svc:8080", "host in the template to replace")
	to := flag.String("to", "", "host:port of the Verdict server")
	started := flag.String("started", "", "the AnalysisRun's start (RFC 3339), for kayenta lookback: true")
	poll := flag.Duration("poll", 500*time.Millisecond, "kayenta: time between Resume calls (Argo: 15s)")
	var args argList
	flag.Var(&args, "arg", "NAME=VALUE (repeatable), the AnalysisRun's args, secrets included")
	flag.Parse()

	raw, err := os.ReadFile(*templateFile)
	if err != nil {
		fatal(err)
	}
	var tmpl v1alpha1.AnalysisTemplate
	if err := yaml.UnmarshalStrict(raw, &tmpl); err != nil {
		fatal(fmt.Errorf("the template does not unmarshal into Argo's AnalysisTemplate: %w", err))
	}
	if err := analysisutil.ValidateMetrics(tmpl.Spec.Metrics); err != nil {
		fatal(fmt.Errorf("Argo's ValidateMetrics: %w", err))
	}
	values := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		values[k] = v
	}
	var runArgs []v1alpha1.Argument
	for _, a := range tmpl.Spec.Args {
		if v, ok := values[a.Name]; ok {
			a.Value = &v
			a.ValueFrom = nil // the controller reads the secret into Value (resolveArgs)
		}
		runArgs = append(runArgs, a)
	}
	if err := analysisutil.ResolveArgs(runArgs); err != nil {
		fatal(fmt.Errorf("Argo's ResolveArgs: %w", err))
	}
	run := &v1alpha1.AnalysisRun{}
	if *started != "" {
		t, err := time.Parse(time.RFC3339, *started)
		if err != nil {
			fatal(err)
		}
		mt := metav1.NewTime(t)
		run.Status.StartedAt = &mt
	}
	logCtx := *log.WithField("driver", "verdict")
	var out []result
	for _, m := range tmpl.Spec.Metrics {
		metric, err := analysisutil.ResolveMetricArgs(m, runArgs)
		if err != nil {
			fatal(fmt.Errorf("Argo's ResolveMetricArgs: %w", err))
		}
		r := result{Metric: metric.Name}
		var meas v1alpha1.Measurement
		switch {
		case metric.Provider.Web != nil:
			r.Provider = "web"
			metric.Provider.Web.URL = strings.Replace(metric.Provider.Web.URL, *from, *to, 1)
			client, err := webmetric.NewWebMetricHttpClient(*metric)
			if err != nil {
				fatal(err)
			}
			parser, err := webmetric.NewWebMetricJsonParser(*metric)
			if err != nil {
				fatal(err)
			}
			meas = webmetric.NewWebMetricProvider(logCtx, client, parser).Run(run, *metric)
		case metric.Provider.Kayenta != nil:
			r.Provider = "kayenta"
			metric.Provider.Kayenta.Address = strings.Replace(metric.Provider.Kayenta.Address, *from, *to, 1)
			p := kayenta.NewKayentaProvider(logCtx, kayenta.NewHttpClient())
			meas = p.Run(run, *metric)
			for meas.Phase == v1alpha1.AnalysisPhaseRunning {
				time.Sleep(*poll)
				r.Polls++
				meas = p.Resume(run, *metric, meas)
			}
		default:
			fatal(fmt.Errorf("metric %s: neither web nor kayenta", metric.Name))
		}
		r.Phase, r.Value, r.Message, r.Metadata = string(meas.Phase), meas.Value, meas.Message, meas.Metadata
		out = append(out, r)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "verdictdriver:", err)
	os.Exit(1)
}
