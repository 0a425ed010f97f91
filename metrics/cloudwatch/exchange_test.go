package cloudwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/verdict-aca/verdict/internal/cloudwatchtest"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

var cborDecoding, _ = cbor.DecOptions{DefaultMapType: reflect.TypeOf(map[string]any{})}.DecMode()

// fromWire turns a decoded CBOR request into its JSON form: times as
// RFC 3339 text.
func fromWire(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = fromWire(x)
		}
	case []any:
		for i, x := range v {
			v[i] = fromWire(x)
		}
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return v
}

// toWire turns a JSON answer into what CloudWatch encodes: the
// Timestamps as times.
func toWire(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = toWire(x, k)
		}
	case []any:
		for i, x := range v {
			v[i] = toWire(x, key)
		}
	case string:
		if key == "Timestamps" {
			t, err := time.Parse(time.RFC3339, v)
			if err == nil {
				return t
			}
		}
	}
	return v
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// replay answers every GetMetricData with the recorded answer of name,
// after checking the request is the recorded one.
func replay(t *testing.T, name string, status int) *httptest.Server {
	t.Helper()
	dir := "testdata"
	var want any
	if _, err := os.Stat(filepath.Join(dir, name+".request.json")); err == nil {
		want = readJSON(t, filepath.Join(dir, name+".request.json"))
	}
	answer := toWire(readJSON(t, filepath.Join(dir, name+".response.json")), "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != cloudwatchtest.Path || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
			t.Errorf("request %s %s with Smithy-Protocol %q, Content-Type %q: not what SDK v1.76.0 sends", r.Method, r.URL.Path, r.Header.Get("Smithy-Protocol"), r.Header.Get("Content-Type"))
		}
		if code, msg := cloudwatchtest.CheckSignature(r, body); code != "" {
			t.Errorf("signature: %s: %s", code, msg)
		}
		if want != nil {
			var got any
			if err := cborDecoding.Unmarshal(body, &got); err != nil {
				t.Errorf("request body is not CBOR: %v", err)
			}
			g, _ := json.Marshal(fromWire(got))
			wj, _ := json.Marshal(want)
			var gn, wn any
			json.Unmarshal(g, &gn)
			json.Unmarshal(wj, &wn)
			if !reflect.DeepEqual(gn, wn) {
				t.Errorf("request\n%s\nwant (testdata/%s.request.json)\n%s", g, name, wj)
			}
		}
		if status != http.StatusOK {
			m := answer.(map[string]any)
			code := strings.TrimPrefix(m["__type"].(string), "com.amazonaws.cloudwatch#")
			cloudwatchtest.WriteError(w, status, code, m["message"].(string))
			return
		}
		cloudwatchtest.WriteCBOR(w, status, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRecordedExchanges(t *testing.T) {
	ctx := context.Background()
	lb := metrics.Scope{"lb": "app/shop-canary/50dc6c495c0c9188"}
	t.Run("Metrics Insights answered PartialData", func(t *testing.T) {
		srv := replay(t, "insights-partial", http.StatusOK)
		src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, -1)
		res, err := src.Fetch(ctx, metrics.Query{Signal: "requests",
			Expr: `SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) WHERE LoadBalancer = '{{.lb}}'`},
			lb, metrics.Window{Start: t0, End: t0.Add(5 * time.Minute), Step: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || !reflect.DeepEqual(res.Series[0].Values, []float64{1204, 1187, 1230}) {
			t.Fatalf("series %+v, want the recorded three points", res.Series)
		}
		joined := strings.Join(res.Warnings, "\n")
		if !strings.Contains(joined, "partial data") || !strings.Contains(joined, "MaxQueryTimeRangeExceed") {
			t.Errorf("warnings %q: want the partial data and CloudWatch's message", res.Warnings)
		}
	})
	t.Run("metric math error ratio", func(t *testing.T) {
		srv := replay(t, "alb-error-ratio", http.StatusOK)
		src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, -1)
		res, err := src.Fetch(ctx, metrics.Query{Signal: "ratio", Expr: `[
			["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "{{.lb}}", {"id": "e", "stat": "Sum", "visible": false}],
			["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "{{.lb}}", {"id": "r", "stat": "Sum", "visible": false}],
			[{"expression": "e / r", "id": "ratio", "label": "5XX ratio"}]]`},
			lb, metrics.Window{Start: t0, End: t0.Add(3 * time.Minute), Step: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Series) != 1 || len(res.Series[0].Values) != 3 || res.Series[0].Labels["label"] != "5XX ratio" || len(res.Warnings) != 0 {
			t.Fatalf("result %+v, want the ratio's three points, labelled, no warning", res)
		}
	})
	t.Run("throttled on every attempt", func(t *testing.T) {
		srv := replay(t, "throttling", http.StatusBadRequest)
		src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 1)
		_, err := src.Fetch(ctx, metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"}, metrics.Window{Start: t0, End: t0.Add(5 * time.Minute), Step: time.Minute})
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindRateLimited || !strings.HasSuffix(err.Error(), "CloudWatch throttled the query (Throttling) on every attempt: Rate exceeded (query: "+qe.Query+")") {
			t.Errorf("err %v, want rate limited naming Throttling and CloudWatch's message", err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv := replay(t, "access-denied", http.StatusBadRequest)
		src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 2)
		_, err := src.Fetch(ctx, metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"}, metrics.Window{Start: t0, End: t0.Add(5 * time.Minute), Step: time.Minute})
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Kind != query.KindRejected || !strings.Contains(err.Error(), "refused the source's AWS credentials (AccessDenied)") {
			t.Errorf("err %v, want the credentials refused, naming AccessDenied", err)
		}
	})
}

func TestPaging(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	fill(srv)
	srv.SetPageSize(4)
	src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 0)
	w := metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: 10 * time.Second}
	res, err := src.Fetch(context.Background(), metrics.Query{Signal: "errors", Expr: errorsQuery, Kind: metrics.Count}, metrics.Scope{"track": "canary"}, w)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	// The grid's 60 windows of 10s, 4 a page: 15 pages.
	if len(reqs) != 15 || reqs[1].NextToken != "page-1" {
		t.Errorf("%d requests (second token %q), want 15 pages joined by NextToken", len(reqs), reqs[1].NextToken)
	}
	total := 0.0
	for _, v := range res.Series[0].Values {
		total += v
	}
	if n := len(res.Series[0].Values); n != 60 || total != 60 {
		t.Errorf("%d steps counting %v errors, want 60 steps of 1 error", n, total)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %q: the pages were all read", res.Warnings)
	}
}

func TestThrottlingRetried(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	fill(srv)
	ctx := context.Background()
	w := metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: time.Minute}
	q := metrics.Query{Signal: "latency", Expr: latencyQuery}

	srv.Throttle(2)
	src := newSource(t, srv.URL, cloudwatchtest.AccessKeyID, cloudwatchtest.SecretAccessKey, 2)
	if _, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, w); err != nil {
		t.Fatalf("two throttled answers, then the answer: %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (two throttled, retried)", n)
	}

	srv.Throttle(10)
	_, err := src.Fetch(ctx, q, metrics.Scope{"track": "canary"}, w)
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindRateLimited || !strings.Contains(err.Error(), "throttled the query (Throttling)") {
		t.Errorf("err %v, want rate limited naming Throttling", err)
	}
	if n := len(srv.Requests()); n != 6 {
		t.Errorf("%d requests, want 6: 3 attempts each (retries: 2)", n)
	}
}

func TestAttemptTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body) // so that the server sees the client leave
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute): // hang guard
		}
	}))
	defer srv.Close()
	src, err := newTimeoutSource(srv.URL, 100*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(context.Background(), metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"}, metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: time.Minute})
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Kind != query.KindTimeout {
		t.Errorf("err %v, want a timeout", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d attempts, want 2 (retries: 1): a timed-out attempt is retried", n)
	}
}

func TestAuthFailureKeepsTheSecret(t *testing.T) {
	srv := cloudwatchtest.Start(t)
	fill(srv)
	const wrongSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzWRONGKEY"
	for _, c := range []struct {
		name, keyID, secret, code string
	}{
		{"wrong secret", cloudwatchtest.AccessKeyID, wrongSecret, "SignatureDoesNotMatch"},
		{"unknown key", "AKIDUNKNOWN000000000", wrongSecret, "InvalidClientTokenId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := newSource(t, srv.URL, c.keyID, c.secret, 2)
			_, err := src.Fetch(context.Background(), metrics.Query{Signal: "latency", Expr: latencyQuery}, metrics.Scope{"track": "canary"}, metrics.Window{Start: t0, End: t0.Add(10 * time.Minute), Step: time.Minute})
			var qe *query.Error
			if !errors.As(err, &qe) || qe.Kind != query.KindRejected || !strings.Contains(err.Error(), "("+c.code+")") {
				t.Fatalf("err %v, want the credentials refused naming %s", err, c.code)
			}
			if strings.Contains(err.Error(), c.secret) {
				t.Errorf("the secret key is in the error: %v", err)
			}
			if strings.Count(err.Error(), ". ") > 2 || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %q is not one sentence on one line", err)
			}
		})
	}
}
