package analysis

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/cloudwatchtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

func TestCloudWatchSourceSettings(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no region", "aws: {type: cloudwatch}\n", "line 1: aws.region: missing: a cloudwatch source needs its AWS region"},
		{"bad region", "aws: {type: cloudwatch, region: US_EAST}\n", `aws.region: "US_EAST" is not an AWS region name`},
		{"bad credentials", "aws: {type: cloudwatch, region: us-east-1, credentials: sso}\n", `aws.credentials: "sso" is not where AWS credentials can come from (want env, shared, imds)`},
		{"profile without shared", "aws: {type: cloudwatch, region: us-east-1, profile: ops}\n", "aws.profile: a profile is read from the shared files: set credentials: shared"},
		{"bearer token", "aws: {type: cloudwatch, region: us-east-1, bearerTokenFile: /t}\n", "aws.bearerTokenFile: a cloudwatch source signs its requests with AWS credentials"},
		{"region elsewhere", "eu: {type: prometheus, url: \"http://x\", region: us-east-1}\n", "eu.region: only a cloudwatch or newrelic source has a region"},
	} {
		_, err := ParseServerSources("sources.yaml", []byte(tc.text))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a ConfigError containing %q", tc.name, err, tc.want)
		}
	}
}

// TestCloudWatchSourceOpen: a cloudwatch source needs no url (its region
// names the endpoint), signs with the credentials of verdict's
// environment, and says so in one sentence when they are missing.
func TestCloudWatchSourceOpen(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	srv.Put("Shop", "Latency", []cloudwatchtest.Dimension{{Name: "Track", Value: "canary"}}, sourcesWindow.Start, 42)
	f, err := ParseServerSources("sources.yaml", []byte(fmt.Sprintf("aws: {type: cloudwatch, region: us-east-1, url: %q}\nregional: {type: cloudwatch, region: eu-west-1}\n", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Open(SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	if got := setNames(set); got != "aws, regional" {
		t.Fatalf("sources %s", got)
	}
	q := metrics.Query{Signal: "latency", Expr: `["Shop", "Latency", "Track", "{{.track}}"]`}
	w := metrics.Window{Start: sourcesWindow.Start, End: sourcesWindow.End, Step: time.Minute}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	_, err = set["aws"].Fetch(t.Context(), q, metrics.Scope{"track": "canary"}, w)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindRejected || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set") {
		t.Errorf("without credentials: %v, want one sentence saying the environment lacks them", err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", cloudwatchtest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", cloudwatchtest.SecretAccessKey)
	res, err := set["aws"].Fetch(t.Context(), q, metrics.Scope{"track": "canary"}, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || len(res.Series[0].Values) != 1 || res.Series[0].Values[0] != 42 {
		t.Errorf("result %+v, want the one point", res)
	}
}

// TestCloudWatchLanguage: a cloudwatch signal's query is read by
// CloudWatch's rules, and a config reaching the server may not set a
// region or credentials.
func TestCloudWatchLanguage(t *testing.T) {
	const config = `
name: aws
sources:
  aws: {type: cloudwatch, region: us-east-1}
signals:
  - name: latency
    source: aws
    query: '["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", "{{.tg}}", {"stat": "p95"}]'
`
	cfg, err := ParseConfig("aws.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}
	rendered, err := cfg.RenderQueries(Scopes{Baseline: metrics.Scope{"tg": "targetgroup/base/1"}, Canary: metrics.Scope{"tg": "targetgroup/canary/2"}}, w)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rendered[0].Canary, `"Dimensions":[{"Name":"TargetGroup","Value":"targetgroup/canary/2"}],"Stat":"p95"`) {
		t.Errorf("rendered %s", rendered[0].Canary)
	}
	if err := cfg.CheckNoSources(); err == nil || !strings.Contains(err.Error(), "cannot set sources") {
		t.Errorf("CheckNoSources: %v", err)
	}
}
