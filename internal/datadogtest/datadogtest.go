// Package datadogtest is a local stand-in for Datadog's "Query timeseries
// points" API (GET /api/v1/query) for tests: no Datadog can run here, so
// tests run metrics/datadog against this httptest server, which answers
// in the shape of Datadog's published answers (metrics/datadog/testdata
// holds them; TestAnswerShape checks this server's answer has every field
// of the recorded one).
//
// It holds series added with Add (a metric, its tags, points) and reads
// the subset of the query language the tests use:
//
//	[sum|avg|max|min:]METRIC{*|TAG:VALUE[,TAG:VALUE...]}[.as_count()][.rollup(sum|avg|max|min[, SECONDS])]
//
// The series whose tags hold every TAG:VALUE are combined point by point
// with the space aggregator (avg by default), then rolled up into buckets
// aligned to multiples of the rollup interval since the epoch (each point
// stamped with its bucket's start, as Datadog does); without a rollup the
// points are answered as stored. An interval that would give more than
// MaxPoints points is raised, as Datadog raises it. Points stamped in
// [from, to] are answered.
//
// It checks the DD-API-KEY and DD-APPLICATION-KEY headers (403
// {"errors": ["Forbidden"]} otherwise), answers a query it cannot read
// with 400 {"errors": [...]}, and Throttle makes it answer the next
// requests with 429 and Datadog's X-RateLimit-* headers.
package datadogtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxPoints is the most points a series is answered with.
const MaxPoints = 1500

// Server is a running stand-in.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// APIKey and AppKey are the keys it accepts.
	APIKey, AppKey string

	mu       sync.Mutex
	series   []stored
	throttle int
	reset    int
	requests []*http.Request
}

type stored struct {
	metric string
	tags   map[string]string
	times  []time.Time
	values []float64
}

// Start starts a server accepting these keys, closed when tb ends.
func Start(tb testing.TB, apiKey, appKey string) *Server {
	tb.Helper()
	s := &Server{APIKey: apiKey, AppKey: appKey}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Add stores a series.
func (s *Server) Add(metric string, tags map[string]string, times []time.Time, values []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series = append(s.series, stored{metric: metric, tags: tags, times: times, values: values})
}

// Throttle makes the next n requests answer 429 with X-RateLimit-Reset
// set to reset seconds.
func (s *Server) Throttle(n, reset int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.reset = n, reset
}

// Requests returns the requests received so far (their URLs and headers).
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Answer is the shape of Datadog's answer to GET /api/v1/query.
type Answer struct {
	Status      string   `json:"status"`
	RespVersion int      `json:"resp_version"`
	Series      []Series `json:"series"`
	ToDate      int64    `json:"to_date"`
	Query       string   `json:"query"`
	Message     string   `json:"message"`
	ResType     string   `json:"res_type"`
	Times       []any    `json:"times"`
	FromDate    int64    `json:"from_date"`
	GroupBy     []string `json:"group_by"`
	Values      []any    `json:"values"`
}

// Series is one series of an Answer.
type Series struct {
	End         int64          `json:"end"`
	Attributes  map[string]any `json:"attributes"`
	Metric      string         `json:"metric"`
	Interval    int64          `json:"interval"`
	TagSet      []string       `json:"tag_set"`
	Start       int64          `json:"start"`
	Length      int            `json:"length"`
	QueryIndex  int            `json:"query_index"`
	Aggr        *string        `json:"aggr"`
	Scope       string         `json:"scope"`
	Pointlist   [][2]*float64  `json:"pointlist"`
	Expression  string         `json:"expression"`
	Unit        []any          `json:"unit"`
	DisplayName string         `json:"display_name"`
}

var queryPattern = regexp.MustCompile(`^(?:(sum|avg|max|min):)?([A-Za-z][A-Za-z0-9_.]*)\{([^{}]*)\}(\.as_count\(\))?(?:\.rollup\((sum|avg|max|min)(?:,\s*(\d+))?\))?$`)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorsBody(msg ...string) map[string][]string { return map[string][]string{"errors": msg} }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(r.Context()))
	throttled, reset := s.throttle > 0, s.reset
	if throttled {
		s.throttle--
	}
	s.mu.Unlock()
	if r.URL.Path != "/api/v1/query" || r.Method != http.MethodGet {
		writeJSON(w, http.StatusNotFound, errorsBody("Not found"))
		return
	}
	if r.Header.Get("DD-API-KEY") != s.APIKey || r.Header.Get("DD-APPLICATION-KEY") != s.AppKey {
		writeJSON(w, http.StatusForbidden, errorsBody("Forbidden"))
		return
	}
	if throttled {
		h := w.Header()
		h.Set("X-RateLimit-Limit", "100")
		h.Set("X-RateLimit-Period", "10")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.Itoa(reset))
		h.Set("X-RateLimit-Name", "query")
		writeJSON(w, http.StatusTooManyRequests, errorsBody("Too many requests"))
		return
	}
	from, err1 := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	to, err2 := strconv.ParseInt(r.URL.Query().Get("to"), 10, 64)
	if err1 != nil || err2 != nil || to < from {
		writeJSON(w, http.StatusBadRequest, errorsBody("Invalid from/to"))
		return
	}
	q := r.URL.Query().Get("query")
	m := queryPattern.FindStringSubmatch(q)
	if m == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "error": fmt.Sprintf("Rule 'scope_expr' didn't match at '%s'", q)})
		return
	}
	space, metric, filter, rollupFn, rollupSecs := m[1], m[2], m[3], m[5], m[6]
	if space == "" {
		space = "avg"
	}
	want, err := parseFilter(filter)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(err.Error()))
		return
	}
	answer := Answer{Status: "ok", RespVersion: 1, Series: []Series{}, ToDate: to * 1000, Query: q, ResType: "time_series",
		Times: []any{}, FromDate: from * 1000, GroupBy: []string{}, Values: []any{}}
	combined := s.combine(metric, want, space)
	if combined != nil {
		interval := int64(10)
		if rollupFn != "" {
			interval = 60
			if rollupSecs != "" {
				interval, _ = strconv.ParseInt(rollupSecs, 10, 64)
			}
			if interval <= 0 {
				writeJSON(w, http.StatusBadRequest, errorsBody("Invalid rollup interval"))
				return
			}
			if n := (to - from) / interval; n > MaxPoints {
				interval *= (n + MaxPoints - 1) / MaxPoints
			}
			combined = rollup(combined, interval, rollupFn)
		}
		var points [][2]*float64
		for _, p := range combined {
			if p.t < from || p.t > to {
				continue
			}
			ms, v := float64(p.t*1000), p.v
			points = append(points, [2]*float64{&ms, &v})
		}
		if len(points) > 0 {
			answer.Series = append(answer.Series, Series{
				Start: int64(*points[0][0]), End: int64(*points[len(points)-1][0]) + interval*1000 - 1,
				Attributes: map[string]any{}, Metric: metric, Interval: interval, TagSet: []string{},
				Length: len(points), Scope: scopeOf(filter), Pointlist: points, Expression: q,
				Unit: []any{nil, nil}, DisplayName: metric,
			})
		}
	}
	writeJSON(w, http.StatusOK, answer)
}

func scopeOf(filter string) string {
	if strings.TrimSpace(filter) == "" {
		return "*"
	}
	return filter
}

func parseFilter(filter string) (map[string]string, error) {
	want := map[string]string{}
	if f := strings.TrimSpace(filter); f == "*" || f == "" {
		return want, nil
	}
	for _, tag := range strings.Split(filter, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(tag), ":")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("invalid tag filter %q", tag)
		}
		want[k] = v
	}
	return want, nil
}

type point struct {
	t int64 // unix seconds
	v float64
}

// combine aggregates the matching series point by point.
func (s *Server) combine(metric string, want map[string]string, space string) []point {
	s.mu.Lock()
	defer s.mu.Unlock()
	byTime := map[int64][]float64{}
	matched := false
	for _, st := range s.series {
		if st.metric != metric {
			continue
		}
		ok := true
		for k, v := range want {
			if st.tags[k] != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		matched = true
		for i, t := range st.times {
			byTime[t.Unix()] = append(byTime[t.Unix()], st.values[i])
		}
	}
	if !matched {
		return nil
	}
	out := make([]point, 0, len(byTime))
	for t, vs := range byTime {
		out = append(out, point{t, aggregate(space, vs)})
	}
	slices.SortFunc(out, func(a, b point) int { return int(a.t - b.t) })
	return out
}

func aggregate(fn string, vs []float64) float64 {
	switch fn {
	case "sum":
		var sum float64
		for _, v := range vs {
			sum += v
		}
		return sum
	case "max":
		return slices.Max(vs)
	case "min":
		return slices.Min(vs)
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

// rollup buckets points into intervals aligned to the epoch, each stamped
// with its bucket's start.
func rollup(points []point, interval int64, fn string) []point {
	var out []point
	var bucket []float64
	start := int64(math.MinInt64)
	flush := func() {
		if len(bucket) > 0 {
			out = append(out, point{start, aggregate(fn, bucket)})
		}
		bucket = bucket[:0]
	}
	for _, p := range points {
		b := p.t - ((p.t%interval)+interval)%interval
		if b != start {
			flush()
			start = b
		}
		bucket = append(bucket, p.v)
	}
	flush()
	return out
}
