package cloudwatch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/verdict-aca/verdict/internal/cloudwatchtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/cloudwatch"
	"github.com/verdict-aca/verdict/metrics/query"
	"github.com/verdict-aca/verdict/metrics/sourcehttp"
)

// newSource builds a source for url signing with the test key pair, or
// with secret in its place.
func newSource(t testing.TB, url, keyID, secret string, retries int) *cloudwatch.Source {
	t.Helper()
	src, err := cloudwatch.New(cloudwatch.Config{
		Region:      cloudwatchtest.Region,
		URL:         url,
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		Timeout:     5 * time.Second,
		Retries:     retries,
		RetryWait:   10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

var t0 = time.Date(2025, 6, 3, 14, 0, 0, 0, time.UTC)

const (
	latencyQuery = `["Shop/Checkout", "Latency", "Track", "{{.track}}", {"stat": "Average"}]`
	errorsQuery  = `["Shop/Checkout", "Errors", "Track", "{{.track}}", {"stat": "Sum"}]`
)

// fill puts one point every 10s for 10 minutes from t0: latency 100+i%6
// and 1 error per point for the canary, 0 for the baseline.
func fill(srv *cloudwatchtest.Server) {
	for _, track := range []string{"baseline", "canary"} {
		dims := []cloudwatchtest.Dimension{{Name: "Track", Value: track}}
		for i := range 60 {
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			srv.Put("Shop/Checkout", "Latency", dims, at, float64(100+i%6))
			e := 0.0
			if track == "canary" {
				e = 1
			}
			srv.Put("Shop/Checkout", "Errors", dims, at, e)
		}
	}
}

func TestFetchMetricStat(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	fill(srv)
	src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 0)
	ctx := context.Background()
	w := metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: time.Minute}

	t.Run("gauge", func(t *testing.T) {
		res, err := src.Fetch(ctx, metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"}, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || len(res.Series[0].Values) != 10 {
			t.Fatalf("got %+v, want one series of 10 minutes", res.Series)
		}
		s := res.Series[0]
		if !s.Times[0].Equal(t0) || s.Values[0] != 102.5 {
			t.Errorf("first point %s %v, want %s 102.5 (the minute's average, stamped with its start)", s.Times[0], s.Values[0], t0)
		}
		req := srv.Requests()[0]
		q := req.MetricDataQueries[0]
		if q.MetricStat == nil || q.MetricStat.Period != 60 || q.MetricStat.Stat != "Average" ||
			len(q.MetricStat.Metric.Dimensions) != 1 || q.MetricStat.Metric.Dimensions[0].Value != "canary" {
			t.Errorf("query %+v: want period 60, Average, Track=canary", q)
		}
		if req.ScanBy != "TimestampAscending" || !req.StartTime.Equal(w.Start) || !req.EndTime.Equal(w.End) {
			t.Errorf("request %+v: want ascending over the window", req)
		}
	})

	t.Run("count on the grid", func(t *testing.T) {
		for track, want := range map[string]float64{"canary": 6, "baseline": 0} {
			res, err := src.Fetch(ctx, metrics.Query{Signal: "errors", Expr: errorsQuery, Kind: metrics.Count}, metrics.Scope{"track": track}, w)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Series[0]
			// The grid's windows: the minutes ending at 14:01 ... 14:10.
			if len(s.Values) != 10 || !s.Times[0].Equal(t0.Add(time.Minute)) || !s.Times[9].Equal(t0.Add(10*time.Minute)) {
				t.Fatalf("%s: times %v, want 10 minutes ending 14:01 to 14:10", track, s.Times)
			}
			for i, v := range s.Values {
				if v != want {
					t.Errorf("%s: step %d counts %v, want %v", track, i, v, want)
				}
			}
		}
	})

	t.Run("a metric without a point is no series", func(t *testing.T) {
		// CloudWatch answers a result (Complete, no points) for a metric it
		// has never seen: no data, not a count of zero events.
		for _, kind := range []metrics.Kind{metrics.Gauge, metrics.Count} {
			res, err := src.Fetch(ctx, metrics.Query{Signal: "errors", Expr: errorsQuery, Kind: kind}, metrics.Scope{"track": "nobody"}, w)
			if err != nil || len(res.Series) != 0 {
				t.Errorf("kind %d: %+v, %v; want no series", kind, res.Series, err)
			}
		}
	})

	t.Run("a count needs Sum", func(t *testing.T) {
		_, err := src.Fetch(ctx, metrics.Query{Signal: "errors", Expr: latencyQuery, Kind: metrics.Count}, metrics.Scope{"track": "canary"}, w)
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindBadQuery || !strings.Contains(err.Error(), "must be Sum") {
			t.Errorf("err %v, want a bad query saying the stat must be Sum", err)
		}
	})

	t.Run("no histograms", func(t *testing.T) {
		_, err := src.Fetch(ctx, metrics.Query{Signal: "h", Expr: latencyQuery, Kind: metrics.Histogram}, metrics.Scope{"track": "canary"}, w)
		if err == nil || !strings.Contains(err.Error(), "no histograms") || !strings.Contains(err.Error(), "p95") {
			t.Errorf("err %v, want one saying CloudWatch has no histograms but percentile stats", err)
		}
	})

	t.Run("a period CloudWatch has not", func(t *testing.T) {
		_, err := src.Fetch(ctx, metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"}, metrics.Window{Start: t0, End: t0.Add(time.Hour), Step: 45 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "not a CloudWatch period") {
			t.Errorf("err %v, want the step refused as a period", err)
		}
	})
}

func newTimeoutSource(url string, timeout time.Duration, retries int) (*cloudwatch.Source, error) {
	return cloudwatch.New(cloudwatch.Config{
		Region:      cloudwatchtest.Region,
		URL:         url,
		Credentials: credentials.NewStaticCredentialsProvider(cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, ""),
		Timeout:     timeout,
		Retries:     retries,
		RetryWait:   10 * time.Millisecond,
	})
}

// TestSharedCredentials: credentials: shared reads a profile's keys from
// the shared files at each request; a profile that is not there, or a
// file that does not parse, is one sentence quoting nothing of the files.
func TestSharedCredentials(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	fill(srv)
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	w := metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: time.Minute}
	q := metrics.Query{Signal: "latency", Expr: latencyQuery}
	fetch := func(profile string) error {
		creds, err := cloudwatch.Credentials(cloudwatch.CredentialsShared, profile)
		if err != nil {
			t.Fatal(err)
		}
		src, err := cloudwatch.New(cloudwatch.Config{Region: cloudwatchtest.Region, URL: srv.URL, Credentials: creds, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Fetch(context.Background(), q, metrics.Scope{"track": "canary"}, w)
		return err
	}
	good := fmt.Sprintf("[ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n", cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey)
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := fetch("ops"); err != nil {
		t.Errorf("profile ops: %v", err)
	}
	if err := fetch("dev"); err == nil || !strings.Contains(err.Error(), `profile "dev" is in none of the shared credentials and config files`) {
		t.Errorf("profile dev: %v, want it named missing", err)
	}
	const secret = "broken/Secret+0123456789"
	if err := os.WriteFile(file, []byte("[ops\naws_secret_access_key = "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := fetch("ops")
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindRejected || strings.Contains(err.Error(), secret) {
		t.Errorf("a broken file: %v, want the credentials refused without the file's text", err)
	}
}

// TestAnswerCap: an answer over the source's maxResponseBytes is cut there
// and the query fails as too large, naming the limit, without retries.
func TestAnswerCap(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	fill(srv)
	src, err := cloudwatch.New(cloudwatch.Config{Region: cloudwatchtest.Region, URL: srv.URL, Retries: 2, RetryWait: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider(cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, ""),
		HTTP:        sourcehttp.Config{MaxResponseBytes: 256}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(context.Background(), metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"},
		metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: 10 * time.Second})
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTooLarge || !strings.Contains(err.Error(), "limit of 256B (maxResponseBytes)") {
		t.Errorf("err %v, want too large naming the limit", err)
	}
	if n := srv.Received(); n != 1 {
		t.Errorf("%d requests, want 1: an oversized answer is not retried", n)
	}
}
