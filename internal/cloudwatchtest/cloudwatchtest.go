// Package cloudwatchtest is a local CloudWatch for tests: an httptest
// server that speaks GetMetricData as the AWS SDK for Go v2 sends it
// (Smithy RPC v2 CBOR: POST
// /service/GraniteServiceVersion20100801/operation/GetMetricData,
// "Smithy-Protocol: rpc-v2-cbor", CBOR bodies), checks each request's
// SigV4 signature against the one key pair it knows, and answers
// MetricStat queries from the points a test puts in it: each period's
// Sum, Average, SampleCount, Minimum, Maximum or pNN of the raw points,
// stamped with the period's start, pages of at most PageSize points per
// result joined by NextToken. Errors are CloudWatch's: a CBOR body
// {"__type": CODE, "message": ...} with X-Amzn-Query-Error: CODE;Sender.
//
// It evaluates no expression (metric math or Metrics Insights): a test of
// those replays recorded answers (Replay).
package cloudwatchtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fxamacker/cbor/v2"
)

// Path is where the SDK posts GetMetricData.
const Path = "/service/GraniteServiceVersion20100801/operation/GetMetricData"

// The key pair the server knows, and its region.
const (
	AccessKeyID     = "AKIDVERDICTTEST00001"
	SecretAccessKey = "verdict-test-secret-0123456789abcdefghij"
	Region          = "us-east-1"
)

// Server is a local CloudWatch.
type Server struct {
	URL string

	mu       sync.Mutex
	points   map[string][]point
	pageSize int
	throttle int
	received int
	requests []Request
}

type point struct {
	t time.Time
	v float64
}

// Request is what the server was asked, decoded.
type Request struct {
	StartTime, EndTime time.Time
	NextToken          string
	ScanBy             string
	MetricDataQueries  []Query
}

// Query is one MetricDataQuery.
type Query struct {
	ID         string      `cbor:"Id"`
	Expression string      `cbor:"Expression,omitempty"`
	Label      string      `cbor:"Label,omitempty"`
	ReturnData *bool       `cbor:"ReturnData,omitempty"`
	Period     int         `cbor:"Period,omitempty"`
	MetricStat *MetricStat `cbor:"MetricStat,omitempty"`
}

// MetricStat is a query's metric, period and stat.
type MetricStat struct {
	Metric struct {
		Namespace  string      `cbor:"Namespace"`
		MetricName string      `cbor:"MetricName"`
		Dimensions []Dimension `cbor:"Dimensions"`
	} `cbor:"Metric"`
	Period int    `cbor:"Period"`
	Stat   string `cbor:"Stat"`
}

// Dimension is a metric's name-value pair.
type Dimension struct {
	Name  string `cbor:"Name"`
	Value string `cbor:"Value"`
}

type wireRequest struct {
	StartTime         time.Time `cbor:"StartTime"`
	EndTime           time.Time `cbor:"EndTime"`
	NextToken         string    `cbor:"NextToken,omitempty"`
	ScanBy            string    `cbor:"ScanBy,omitempty"`
	MetricDataQueries []Query   `cbor:"MetricDataQueries"`
}

// Start starts a server, stopped when t ends.
func Start(t testing.TB) *Server {
	s := &Server{points: map[string][]point{}, pageSize: 100_800}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// key names a metric: namespace, name and its dimensions sorted.
func key(namespace, name string, dims []Dimension) string {
	d := slices.Clone(dims)
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	var b strings.Builder
	b.WriteString(namespace + "\x00" + name)
	for _, x := range d {
		b.WriteString("\x00" + x.Name + "=" + x.Value)
	}
	return b.String()
}

// Put adds a raw point to a metric.
func (s *Server) Put(namespace, name string, dims []Dimension, t time.Time, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(namespace, name, dims)
	s.points[k] = append(s.points[k], point{t, v})
}

// SetPageSize sets the most points a page holds per result.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Throttle makes the next n requests fail with 400 Throttling.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Received is how many HTTP requests the server got, refused ones
// included.
func (s *Server) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Requests returns the GetMetricData requests received so far whose
// signature held.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.received++
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != Path || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		WriteError(w, http.StatusNotFound, "UnknownOperationException", "no such operation: "+r.Method+" "+r.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		WriteError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if code, msg := CheckSignature(r, body); code != "" {
		WriteError(w, http.StatusForbidden, code, msg)
		return
	}
	var in wireRequest
	if err := cbor.Unmarshal(body, &in); err != nil {
		WriteError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request(in))
	if s.throttle > 0 {
		s.throttle--
		s.mu.Unlock()
		WriteError(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
		return
	}
	out, code, msg := s.answer(in)
	s.mu.Unlock()
	if code != "" {
		WriteError(w, http.StatusBadRequest, code, msg)
		return
	}
	WriteCBOR(w, http.StatusOK, out)
}

// answer computes one page; s.mu is held.
func (s *Server) answer(in wireRequest) (map[string]any, string, string) {
	page := 0
	if in.NextToken != "" {
		p, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "page-"))
		if err != nil || !strings.HasPrefix(in.NextToken, "page-") {
			return nil, "InvalidNextToken", "The service couldn't process your request because the NextToken is invalid."
		}
		page = p
	}
	if !in.EndTime.After(in.StartTime) {
		return nil, "InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime."
	}
	var results []any
	more := false
	for _, q := range in.MetricDataQueries {
		if q.Expression != "" {
			return nil, "InvalidParameterValue", "this test server evaluates no expression"
		}
		if q.MetricStat == nil {
			return nil, "MissingParameter", "The request must contain the parameter MetricStat or Expression."
		}
		ms := q.MetricStat
		if ms.Period <= 0 {
			return nil, "InvalidParameterValue", "The parameter Period must be greater than 0."
		}
		times, values, err := s.evaluate(ms, in.StartTime, in.EndTime)
		if err != "" {
			return nil, "InvalidParameterValue", err
		}
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		from := min(page*s.pageSize, len(times))
		to := min(from+s.pageSize, len(times))
		status := "Complete"
		if to < len(times) {
			status, more = "PartialData", true
		}
		stamps := make([]any, 0, to-from)
		for _, t := range times[from:to] {
			stamps = append(stamps, t)
		}
		label := q.Label
		if label == "" {
			label = ms.Metric.MetricName
		}
		results = append(results, map[string]any{
			"Id": q.ID, "Label": label, "StatusCode": status,
			"Timestamps": stamps, "Values": values[from:to],
		})
	}
	out := map[string]any{"MetricDataResults": results}
	if more {
		out["NextToken"] = fmt.Sprintf("page-%d", page+1)
	}
	return out, "", ""
}

// evaluate computes a metric's stat per period in [start, end).
func (s *Server) evaluate(ms *MetricStat, start, end time.Time) ([]time.Time, []float64, string) {
	pts := s.points[key(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions)]
	period := time.Duration(ms.Period) * time.Second
	buckets := map[int64][]float64{}
	for _, p := range pts {
		if p.t.Before(start) || !p.t.Before(end) {
			continue
		}
		b := p.t.Truncate(period).Unix()
		buckets[b] = append(buckets[b], p.v)
	}
	var times []time.Time
	var values []float64
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := stat(ms.Stat, buckets[k])
		if !ok {
			return nil, nil, fmt.Sprintf("The value %s for parameter MetricDataQueries.member.1.MetricStat.Stat is invalid.", ms.Stat)
		}
		times = append(times, time.Unix(k, 0).UTC())
		values = append(values, v)
	}
	return times, values, ""
}

func stat(name string, vs []float64) (float64, bool) {
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	switch name {
	case "Sum":
		return sum, true
	case "Average":
		return sum / float64(len(vs)), true
	case "SampleCount":
		return float64(len(vs)), true
	case "Minimum":
		return slices.Min(vs), true
	case "Maximum":
		return slices.Max(vs), true
	}
	if q, err := strconv.ParseFloat(strings.TrimPrefix(name, "p"), 64); strings.HasPrefix(name, "p") && err == nil && q >= 0 && q <= 100 {
		s := slices.Sorted(slices.Values(vs))
		i := int(math.Ceil(q/100*float64(len(s)))) - 1
		return s[max(i, 0)], true
	}
	return 0, false
}

// cborEncoding writes times as CBOR tag 1 epoch seconds, as CloudWatch does.
var cborEncoding, _ = cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()

// EncodeCBOR encodes v as CloudWatch's answers are encoded.
func EncodeCBOR(v any) ([]byte, error) { return cborEncoding.Marshal(v) }

// WriteCBOR writes an RPC v2 CBOR answer.
func WriteCBOR(w http.ResponseWriter, status int, v any) {
	body, err := cborEncoding.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.WriteHeader(status)
	w.Write(body)
}

// WriteError writes CloudWatch's error answer.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	WriteCBOR(w, status, map[string]any{"__type": "com.amazonaws.cloudwatch#" + code, "message": message})
}

// CheckSignature verifies a request's SigV4 signature with the server's
// key pair, as AWS does: "" when it holds, else the error code and
// message AWS answers.
func CheckSignature(r *http.Request, body []byte) (code, message string) {
	auth := r.Header.Get("Authorization")
	const scheme = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, scheme) {
		return "MissingAuthenticationToken", "Request is missing Authentication Token"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, scheme), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 {
		return "IncompleteSignature", "Authorization header requires 'Credential' parameter."
	}
	if cred[0] != AccessKeyID {
		return "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	// Sign a copy holding only the signed headers, and compare.
	signed := strings.Split(fields["SignedHeaders"], ";")
	cp, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range signed {
		if h == "host" {
			continue
		}
		cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	cp.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), cred[3], cred[2], when); err != nil {
		return "InternalFailure", err.Error()
	}
	want := ""
	for _, f := range strings.Split(strings.TrimPrefix(cp.Header.Get("Authorization"), scheme), ",") {
		if k, v, _ := strings.Cut(strings.TrimSpace(f), "="); k == "Signature" {
			want = v
		}
	}
	if want != fields["Signature"] {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return "", ""
}
