// Package newrelictest is a local stand-in for New Relic's NerdGraph
// NRQL query (POST /graphql, actor { account(id:) { nrql(query:) {
// results metadata { facets } } } }) for tests: no New Relic can run
// here, so tests run metrics/newrelic against this httptest server,
// which answers in the shape of NerdGraph's published answers
// (metrics/newrelic/testdata holds them).
//
// It holds events added with Add (an event type, attributes, numeric
// fields, a time) and reads the subset of NRQL the tests use:
//
//	SELECT average|sum|max|min|latest(FIELD) | count(*) FROM TYPE
//	  [WHERE ATTR = 'VALUE' [AND ATTR = 'VALUE' ...]] [FACET ATTR [LIMIT MAX|N]]
//	  TIMESERIES N seconds SINCE S UNTIL U
//
// A FACET answers its first 10 values (in order) unless LIMIT says more,
// as NRQL answers its top 10.
//
// Buckets run from SINCE in steps of N up to UNTIL, each row carrying
// beginTimeSeconds and endTimeSeconds; an empty bucket counts 0
// (count(*)) or has no value (null). It checks the API-Key header (401 with
// error_code BAD_API_KEY otherwise) and the account, answers a query it
// cannot read with NerdGraph's error list, and Throttle makes it answer
// the next requests as rate limited: HTTP 200 with errorClass
// TOO_MANY_REQUESTS, or HTTP 429 with Retry-After.
package newrelictest

import (
	"encoding/json"
	"fmt"
	"io"
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

// Server is a running stand-in.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// APIKey and Account are the key and account it accepts.
	APIKey  string
	Account int64

	mu       sync.Mutex
	events   []Event
	throttle int
	http429  bool
	requests []Request
}

// Event is one stored event.
type Event struct {
	Type   string
	Attrs  map[string]string
	Fields map[string]float64
	Time   time.Time
}

// Request is what the stand-in received.
type Request struct {
	Header    http.Header
	Query     string
	Variables map[string]any
}

// Start starts a server accepting this key and account, closed when tb
// ends.
func Start(tb testing.TB, apiKey string, account int64) *Server {
	tb.Helper()
	s := &Server{APIKey: apiKey, Account: account}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Add stores events.
func (s *Server) Add(events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
}

// Throttle makes the next n requests answer as rate limited: with HTTP
// 429 and Retry-After: 1 when http429, else NerdGraph's 200 with
// errorClass TOO_MANY_REQUESTS.
func (s *Server) Throttle(n int, http429 bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.http429 = n, http429
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func graphQLErrors(message string, ext map[string]string) map[string]any {
	e := map[string]any{"message": message}
	if ext != nil {
		e["extensions"] = ext
	}
	return map[string]any{"errors": []any{e}}
}

var nrqlPattern = regexp.MustCompile(`(?i)^SELECT\s+(average|sum|max|min|latest|count)\(\s*(\*|[A-Za-z_][A-Za-z0-9_.]*)\s*\)\s+FROM\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+WHERE\s+(.*?))?(?:\s+FACET\s+([A-Za-z_][A-Za-z0-9_.]*))?(?:\s+LIMIT\s+(MAX|\d+))?\s+TIMESERIES\s+(\d+)\s+seconds?\s+SINCE\s+(\d+)\s+UNTIL\s+(\d+)$`)

var condPattern = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*'([^'\\]*)'$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	jsonErr := json.Unmarshal(data, &body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Header: r.Header.Clone(), Query: body.Query, Variables: body.Variables})
	throttled, http429 := s.throttle > 0, s.http429
	if throttled {
		s.throttle--
	}
	s.mu.Unlock()
	if r.URL.Path != "/graphql" || r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, graphQLErrors("Not Found", nil))
		return
	}
	if r.Header.Get("API-Key") != s.APIKey {
		writeJSON(w, http.StatusUnauthorized, graphQLErrors("Invalid API key", map[string]string{"error_code": "BAD_API_KEY"}))
		return
	}
	if throttled {
		if http429 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, graphQLErrors("Too many requests", nil))
			return
		}
		writeJSON(w, http.StatusOK, graphQLErrors("Too many requests", map[string]string{"errorClass": "TOO_MANY_REQUESTS"}))
		return
	}
	if jsonErr != nil || !strings.Contains(body.Query, "account(id: $accountId)") || !strings.Contains(body.Query, "nrql(query: $nrql") {
		writeJSON(w, http.StatusBadRequest, graphQLErrors("the stand-in reads only the NRQL query document", nil))
		return
	}
	if id, _ := body.Variables["accountId"].(float64); int64(id) != s.Account {
		writeJSON(w, http.StatusOK, graphQLErrors(fmt.Sprintf("Account %v not found", body.Variables["accountId"]), map[string]string{"errorClass": "FORBIDDEN"}))
		return
	}
	nrql, _ := body.Variables["nrql"].(string)
	results, facets, err := s.run(nrql)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{
			"data":   map[string]any{"actor": map[string]any{"account": map[string]any{"nrql": nil}}},
			"errors": []any{map[string]any{"message": err.Error(), "path": []string{"actor", "account", "nrql"}}},
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"account": map[string]any{
		"nrql": map[string]any{"results": results, "metadata": map[string]any{"facets": facets}},
	}}}})
}

func (s *Server) run(nrql string) ([]map[string]any, []string, error) {
	m := nrqlPattern.FindStringSubmatch(strings.TrimSpace(nrql))
	if m == nil {
		return nil, nil, fmt.Errorf("NRQL Syntax Error: Error at line 1 position 1, unexpected query %q", nrql)
	}
	fn, field, typ, where, facet := strings.ToLower(m[1]), m[2], m[3], m[4], m[5]
	limit := 10 // NRQL's default facet limit
	switch {
	case strings.EqualFold(m[6], "MAX"):
		limit = 5000
	case m[6] != "":
		limit, _ = strconv.Atoi(m[6])
	}
	step, _ := strconv.ParseInt(m[7], 10, 64)
	since, _ := strconv.ParseInt(m[8], 10, 64)
	until, _ := strconv.ParseInt(m[9], 10, 64)
	if step <= 0 || until <= since {
		return nil, nil, fmt.Errorf("NRQL Syntax Error: invalid TIMESERIES or time range")
	}
	if (field == "*") != (fn == "count") {
		return nil, nil, fmt.Errorf("NRQL Syntax Error: %s(%s) is not supported", fn, field)
	}
	want := map[string]string{}
	if where != "" {
		for _, cond := range regexp.MustCompile(`(?i)\s+AND\s+`).Split(where, -1) {
			c := condPattern.FindStringSubmatch(strings.TrimSpace(cond))
			if c == nil {
				return nil, nil, fmt.Errorf("NRQL Syntax Error: unsupported condition %q", cond)
			}
			want[c[1]] = c[2]
		}
	}
	type bucketKey struct {
		facet string
		i     int64
	}
	values := map[bucketKey][]float64{}
	counts := map[bucketKey]int{}
	facetValues := map[string]bool{}
	s.mu.Lock()
	for _, e := range s.events {
		if e.Type != typ {
			continue
		}
		ok := true
		for k, v := range want {
			if e.Attrs[k] != v {
				ok = false
				break
			}
		}
		t := e.Time.Unix()
		if !ok || t < since || t >= until {
			continue
		}
		fv := ""
		if facet != "" {
			var has bool
			if fv, has = e.Attrs[facet]; !has {
				continue
			}
		}
		facetValues[fv] = true
		k := bucketKey{fv, (t - since) / step}
		counts[k]++
		if v, has := e.Fields[field]; has {
			values[k] = append(values[k], v)
		}
	}
	s.mu.Unlock()
	var facets []string
	if facet != "" {
		facets = []string{facet}
	} else {
		facetValues[""] = true
	}
	facetList := slices.Sorted(func(yield func(string) bool) {
		for v := range facetValues {
			if !yield(v) {
				return
			}
		}
	})
	if len(facetList) > limit {
		facetList = facetList[:limit]
	}
	var results []map[string]any
	key := fn
	if fn != "count" {
		key = fn + "." + field
	}
	for _, fv := range facetList {
		for i := int64(0); since+i*step < until; i++ {
			k := bucketKey{fv, i}
			row := map[string]any{"beginTimeSeconds": since + i*step, "endTimeSeconds": since + (i+1)*step, key: aggregate(fn, values[k], counts[k])}
			if facet != "" {
				row["facet"] = fv
				row[facet] = fv
			}
			results = append(results, row)
		}
	}
	return results, facets, nil
}

func aggregate(fn string, vs []float64, n int) any {
	switch fn {
	case "count":
		return n
	case "sum":
		if len(vs) == 0 {
			return nil
		}
		var sum float64
		for _, v := range vs {
			sum += v
		}
		return sum
	}
	if len(vs) == 0 {
		return nil
	}
	switch fn {
	case "max":
		return slices.Max(vs)
	case "min":
		return slices.Min(vs)
	case "latest":
		return vs[len(vs)-1]
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}
