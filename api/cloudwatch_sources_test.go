package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/internal/cloudwatchtest"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCloudWatchSource: verdict serve's cloudwatch source takes its
// credentials from the server's environment; when CloudWatch refuses them
// the analysis says so in its reason, naming CloudWatch's error code, and
// the secret key is in no answer and no log line. A scope value a Metrics
// Insights query cannot hold is a 400 before anything is sent.
func TestCloudWatchSource(t *testing.T) {
	const secret = "serve/Wrong+Secret0123456789abcdefghijkl"
	t.Setenv("AWS_ACCESS_KEY_ID", cloudwatchtest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	cw := cloudwatchtest.Start(t)
	f, err := analysis.ParseServerSources("sources.yaml", []byte(fmt.Sprintf("aws:\n  type: cloudwatch\n  region: us-east-1\n  url: %s\n  retries: -1\n", cw.URL)))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Open(analysis.SourceOverrides{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ts := newTestServer(t, Options{Sources: set, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: func() time.Time { return e2eStart.Add(50 * time.Minute) }})

	insights := `{"name":"i","signals":[{"name":"cpu","source":"aws","query":"SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", AutoScalingGroupName) WHERE AutoScalingGroupName = '{{.asg}}'"}]}`
	body := fmt.Sprintf(`{"config":%s,"baselineScope":{"asg":"shop-1"},"canaryScope":{"asg":%q},"lookback":"10m"}`, insights, "shop-2' OR AutoScalingGroupName != '")
	if code, answer := ts.call(t, "POST", "/api/v1/analyses", "", body, nil); code != 400 || !strings.Contains(answer, "signals[0].query: canary scope") || !strings.Contains(answer, "only ASCII letters, digits") {
		t.Errorf("a quote in a Metrics Insights value: %d %s, want 400 naming the query and the characters a value may hold", code, answer)
	}
	if n := cw.Received(); n != 0 {
		t.Fatalf("CloudWatch received %d requests for a refused scope", n)
	}

	config := `{"name":"m","signals":[{"name":"latency","source":"aws","query":"[\"AWS/ApplicationELB\", \"TargetResponseTime\", \"TargetGroup\", \"{{.tg}}\", {\"stat\": \"p95\"}]"}]}`
	body = fmt.Sprintf(`{"config":%s,"baselineScope":{"tg":"targetgroup/base/1"},"canaryScope":{"tg":"targetgroup/canary/2"},"lookback":"10m"}`, config)
	var created struct{ ID string }
	if code, answer := ts.call(t, "POST", "/api/v1/analyses", "", body, &created); code != 202 {
		t.Fatalf("%d %s, want 202", code, answer)
	}
	var answer string
	deadline := time.Now().Add(time.Minute) // a hang guard
	for time.Now().Before(deadline) {
		var v struct{ Status string }
		_, answer = ts.call(t, "GET", "/api/v1/analyses/"+created.ID, "", nil, &v)
		if v.Status != "queued" && v.Status != "running" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var decoded bytes.Buffer
	if err := json.Compact(&decoded, []byte(answer)); err != nil {
		t.Fatalf("%v: %s", err, answer)
	}
	if !strings.Contains(answer, "SignatureDoesNotMatch") || !strings.Contains(answer, `"verdict":"none"`) {
		t.Errorf("analysis %s: want verdict none with CloudWatch's SignatureDoesNotMatch", answer)
	}
	if n := cw.Received(); n == 0 {
		t.Errorf("CloudWatch received no request")
	}
	for what, text := range map[string]string{"the analysis": answer, "the log": logs.String()} {
		if strings.Contains(text, secret) || strings.Contains(strings.ReplaceAll(text, `\/`, "/"), secret) {
			t.Errorf("the secret key is in %s: %s", what, text)
		}
	}
}
