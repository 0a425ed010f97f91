package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
)

// Where a source's AWS credentials come from: the operator's choice, never
// a config's.
const (
	// CredentialsEnv reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN from verdict's environment at every request.
	CredentialsEnv = "env"
	// CredentialsShared reads a profile's static keys from the shared
	// credentials and config files (~/.aws/credentials, ~/.aws/config, or
	// AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE) at every request.
	CredentialsShared = "shared"
	// CredentialsIMDS asks the EC2 instance metadata service for the
	// instance role's credentials, cached until they expire.
	CredentialsIMDS = "imds"
)

// sharedFiles names the shared files as the AWS CLI finds them:
// AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, else ~/.aws/credentials
// and ~/.aws/config.
func sharedFiles(o *config.LoadSharedConfigOptions) {
	o.CredentialsFiles = []string{config.DefaultSharedCredentialsFilename()}
	if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		o.CredentialsFiles = []string{f}
	}
	o.ConfigFiles = []string{config.DefaultSharedConfigFilename()}
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		o.ConfigFiles = []string{f}
	}
}

// CredentialsKinds lists the credentials a source may use.
func CredentialsKinds() []string { return []string{CredentialsEnv, CredentialsShared, CredentialsIMDS} }

// CredentialsError says why no credentials could be had, without any
// secret.
type CredentialsError struct {
	Kind string
	Err  error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("the source has no usable AWS credentials (credentials: %s): %v", e.Kind, e.Err)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// Credentials returns the provider of one kind ("" is env); profile names
// the shared files' profile (default "default") and is for shared only.
// The SDK's default chain (web identity, SSO, credential_process, ECS,
// ...) is not used: the operator says where the credentials are.
func Credentials(kind, profile string) (aws.CredentialsProvider, error) {
	if profile != "" && kind != CredentialsShared {
		return nil, fmt.Errorf("a profile is read from the shared files only (credentials: %s)", CredentialsShared)
	}
	switch kind {
	case "", CredentialsEnv:
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			env, err := config.NewEnvConfig()
			if err != nil {
				return aws.Credentials{}, &CredentialsError{Kind: CredentialsEnv, Err: err}
			}
			c := env.Credentials
			if c.AccessKeyID == "" || c.SecretAccessKey == "" {
				return aws.Credentials{}, &CredentialsError{Kind: CredentialsEnv, Err: errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set in verdict's environment")}
			}
			c.Source = "verdict env"
			return c, nil
		}), nil
	case CredentialsShared:
		if profile == "" {
			profile = "default"
		}
		return aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			sc, err := config.LoadSharedConfigProfile(ctx, profile, sharedFiles)
			if err != nil {
				// The SDK's parse errors may quote a line of the files:
				// none of their text is repeated.
				var missing config.SharedConfigProfileNotExistError
				if errors.As(err, &missing) {
					return aws.Credentials{}, &CredentialsError{Kind: CredentialsShared, Err: fmt.Errorf("profile %q is in none of the shared credentials and config files", profile)}
				}
				return aws.Credentials{}, &CredentialsError{Kind: CredentialsShared, Err: fmt.Errorf("the shared credentials and config files cannot be read as a profile %q", profile)}
			}
			c := sc.Credentials
			if c.AccessKeyID == "" || c.SecretAccessKey == "" {
				return aws.Credentials{}, &CredentialsError{Kind: CredentialsShared, Err: fmt.Errorf("profile %q has no aws_access_key_id and aws_secret_access_key", profile)}
			}
			c.Source = "verdict shared files"
			return c, nil
		}), nil
	case CredentialsIMDS:
		role := ec2rolecreds.New()
		return aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			c, err := role.Retrieve(ctx)
			if err != nil {
				return aws.Credentials{}, &CredentialsError{Kind: CredentialsIMDS, Err: errors.New("the instance metadata service gave no role credentials")}
			}
			return c, nil
		})), nil
	}
	return nil, fmt.Errorf("%q is not a kind of credentials (want env, shared or imds)", kind)
}
