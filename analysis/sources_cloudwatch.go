package analysis

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/cloudwatch"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// awsRegion is what an AWS region name looks like (us-east-1, us-gov-west-1).
var awsRegion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`) })

// validateCloudWatch checks the settings only a cloudwatch source has, and
// the ones it cannot have.
func (sp SourceSpec) validateCloudWatch(path string, fieldError func(string, error) error) error {
	if sp.Type != TypeCloudWatch {
		if sp.Region != "" && sp.Type != TypeNewRelic {
			return fieldError(path+".region", errors.New("only a cloudwatch or newrelic source has a region"))
		}
		for field, set := range map[string]bool{"credentials": sp.Credentials != "", "profile": sp.Profile != ""} {
			if set {
				return fieldError(path+"."+field, fmt.Errorf("only a cloudwatch source has a %s", field))
			}
		}
		return nil
	}
	switch {
	case sp.Region == "":
		return fieldError(path+".region", errors.New("missing: a cloudwatch source needs its AWS region (us-east-1, eu-west-1, ...)"))
	case !awsRegion().MatchString(sp.Region):
		return fieldError(path+".region", fmt.Errorf("%q is not an AWS region name such as us-east-1", sp.Region))
	case sp.Credentials != "" && !slices.Contains(cloudwatch.CredentialsKinds(), sp.Credentials):
		return fieldError(path+".credentials", fmt.Errorf("%q is not where AWS credentials can come from (want %s)", sp.Credentials, strings.Join(cloudwatch.CredentialsKinds(), ", ")))
	case sp.Profile != "" && sp.Credentials != cloudwatch.CredentialsShared:
		return fieldError(path+".profile", errors.New("a profile is read from the shared files: set credentials: shared"))
	case sp.BearerTokenFile != "":
		return fieldError(path+".bearerTokenFile", errors.New("a cloudwatch source signs its requests with AWS credentials (credentials: env, shared or imds), not a bearer token"))
	case sp.BasicAuth != nil:
		return fieldError(path+".basicAuth", errors.New("a cloudwatch source signs its requests with AWS credentials (credentials: env, shared or imds), not basic auth"))
	}
	return nil
}

// openCloudWatch builds a cloudwatch source with the credentials the
// operator named.
func (sp SourceSpec) openCloudWatch(h sourcehttp.Config) (metrics.Source, error) {
	creds, err := cloudwatch.Credentials(sp.Credentials, sp.Profile)
	if err != nil {
		return nil, &sourcehttp.SettingError{Setting: "credentials", Err: err}
	}
	return cloudwatch.New(cloudwatch.Config{Region: sp.Region, URL: sp.URL, Credentials: creds,
		Timeout: time.Duration(sp.Timeout), Retries: sp.Retries, HTTP: h})
}

// periodIsStep reports whether a count's query reads each step's window by
// construction, needing no {{.step}}: a CloudWatch query, whose period is
// always the step. A CloudWatch metric list ([...]) is one whatever
// source it names (under verdict serve the config does not type its
// sources; no PromQL, LogQL or Graphite query starts with '['); an
// expression is one when the config types its source cloudwatch.
func (c *Config) periodIsStep(source, text string) bool {
	if strings.HasPrefix(strings.TrimSpace(text), "[") {
		return true
	}
	sp := c.Sources.Get(source)
	return sp != nil && sp.Type == TypeCloudWatch
}
