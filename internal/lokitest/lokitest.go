// Package lokitest is a Loki-shaped HTTP server for tests and for the
// playground (package try). Loki cannot be installed here (and is AGPL),
// so tests that need one talk to this: it
// keeps the lines pushed to it and answers the handful of LogQL shapes the
// project's tests use the way Loki does.
//
// What it does as Loki does:
//   - POST /loki/api/v1/push takes JSON ({"streams": [{"stream": {...},
//     "values": [["<unix ns>", "line"]]}]}) or snappy-compressed protobuf
//     (what Promtail and loki-client-go send); 204.
//   - GET or POST /loki/api/v1/query_range evaluates, at start, start+step,
//     ..., end: count_over_time(S [R]) and rate(S [R]) (count / R in
//     seconds), optionally inside sum(...), sum by (labels) (...) or
//     sum(...) by (labels), where S is a stream selector ({a="b", c=~"x.*"})
//     followed by line filters (|= "text", != "text", |~ "re", !~ "re").
//     A range holds the lines of (t−R, t]. A series has no point where its
//     range holds no line (count_over_time never writes 0), and a sum has
//     no point where none of its series has one.
//   - Metric queries' start and end are first rounded to the step's
//     multiples, start down and end up, as Loki's query frontend does.
//     More than 11,000 points per series is a 400.
//   - A bare selector is a log query: a "streams" answer with the matching
//     lines (up to limit, default 100).
//   - start and end are unix nanoseconds, unix seconds (10 digits or
//     fewer, or with a fraction) or RFC 3339; step is seconds or a
//     duration ("1m"); matrix timestamps are unix seconds as JSON numbers,
//     values strings.
//   - Errors are plain text, not JSON: a syntax error is a 400 "parse error
//     at line 1, col N: syntax error: ...", an unknown path a 404.
//
// LogQL it does not know (parsers, other aggregations, unwrap) is a 400
// whose message starts "lokitest:", so a test never mistakes it for Loki.
package lokitest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/common/model"
)

// maxPoints is Loki's limit of points per series in a range query.
const maxPoints = 11000

// Options configure a Server.
type Options struct {
	// Fail, when set, sees every query_range request first (call counts
	// them from 1) and may answer it itself, returning true.
	Fail func(w http.ResponseWriter, r *http.Request, call int) bool
	// Retention, when set, drops a stream's lines older than its newest
	// line minus Retention as lines arrive, so that a server fed for hours
	// (the playground of package try) stays bounded.
	Retention time.Duration
}

// Server is a running Loki-shaped server on 127.0.0.1.
type Server struct {
	// URL is the server's base URL.
	URL string

	srv       *httptest.Server
	fail      func(w http.ResponseWriter, r *http.Request, call int) bool
	retention time.Duration
	calls     atomic.Int32

	mu      sync.Mutex
	streams map[string]*stream
	tenants []string
	queries []url.Values
	pushes  int
}

// Line is one log line.
type Line struct {
	Time time.Time
	Text string
}

type stream struct {
	labels  map[string]string
	entries []Line // in time order
}

// Start starts a Server on a free 127.0.0.1 port, closed when tb ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.srv.Close)
	return s
}

// Listen starts a Server on addr (host:port; port 0 for a free one)
// without a test, for programs that keep it running (the playground of
// package try). Close stops it.
func Listen(addr string, opts Options) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("lokitest: %w", err)
	}
	s := &Server{fail: opts.Fail, retention: opts.Retention, streams: map[string]*stream{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server (also done when the test ends, for Start's).
func (s *Server) Close() { s.srv.Close() }

// Push stores lines in the stream with these labels, as a push would.
func (s *Server) Push(labels map[string]string, lines ...Line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(labels, lines)
}

// Calls is the number of query_range requests so far.
func (s *Server) Calls() int { return int(s.calls.Load()) }

// Queries returns the parameters of every query_range request, in order.
func (s *Server) Queries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// Tenants returns the X-Scope-OrgID header of every query_range request.
func (s *Server) Tenants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tenants)
}

// Pushes is the number of push requests accepted (Lines has what they held).
func (s *Server) Pushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushes
}

// Lines returns the lines of every stream whose labels include match (all
// streams for an empty match): streams in label order, each in time order.
// Pushed lines are kept with the labels they were pushed with.
func (s *Server) Lines(match map[string]string) []Line {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Line
	for _, key := range slices.Sorted(maps.Keys(s.streams)) {
		st := s.streams[key]
		ok := true
		for k, v := range match {
			if st.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, st.entries...)
		}
	}
	return out
}

func (s *Server) add(labels map[string]string, lines []Line) {
	key := labelKey(labels)
	st := s.streams[key]
	if st == nil {
		st = &stream{labels: maps.Clone(labels)}
		s.streams[key] = st
	}
	st.entries = append(st.entries, lines...)
	slices.SortStableFunc(st.entries, func(a, b Line) int { return a.Time.Compare(b.Time) })
	if s.retention > 0 && len(st.entries) > 0 {
		oldest := st.entries[len(st.entries)-1].Time.Add(-s.retention)
		keep, _ := slices.BinarySearchFunc(st.entries, oldest, func(l Line, t time.Time) int { return l.Time.Compare(t) })
		st.entries = slices.Delete(st.entries, 0, keep)
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/loki/api/v1/push":
		if r.Method != http.MethodPost {
			plain(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		s.push(w, r)
	case "/loki/api/v1/query_range":
		n := int(s.calls.Add(1))
		_ = r.ParseForm()
		s.mu.Lock()
		s.tenants = append(s.tenants, r.Header.Get("X-Scope-OrgID"))
		s.queries = append(s.queries, r.Form)
		s.mu.Unlock()
		if s.fail != nil && s.fail(w, r, n) {
			return
		}
		s.queryRange(w, r.Form)
	default:
		plain(w, http.StatusNotFound, "404 page not found")
	}
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	type pushed struct {
		labels map[string]string
		lines  []Line
	}
	var got []pushed
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var req struct {
			Streams []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			plain(w, http.StatusBadRequest, "loghttp.PushRequest: "+err.Error())
			return
		}
		for _, st := range req.Streams {
			p := pushed{labels: st.Stream}
			for _, v := range st.Values {
				ns, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					plain(w, http.StatusBadRequest, fmt.Sprintf("timestamp %q is not unix nanoseconds", v[0]))
					return
				}
				p.lines = append(p.lines, Line{Time: time.Unix(0, ns).UTC(), Text: v[1]})
			}
			got = append(got, p)
		}
	} else {
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			plain(w, http.StatusBadRequest, "snappy: "+err.Error())
			return
		}
		var req push.PushRequest
		if err := req.Unmarshal(raw); err != nil {
			plain(w, http.StatusBadRequest, "push request: "+err.Error())
			return
		}
		for _, st := range req.Streams {
			labels, err := parseStreamLabels(st.Labels)
			if err != nil {
				plain(w, http.StatusBadRequest, err.Error())
				return
			}
			p := pushed{labels: labels}
			for _, e := range st.Entries {
				p.lines = append(p.lines, Line{Time: e.Timestamp.UTC(), Text: e.Line})
			}
			got = append(got, p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range got {
		s.add(p.labels, p.lines)
	}
	s.pushes++
	w.WriteHeader(http.StatusNoContent)
}

// parseStreamLabels reads a protobuf push's labels, {a="b", c="d"}.
func parseStreamLabels(text string) (map[string]string, error) {
	p := &parser{src: text}
	ms, err := p.selector()
	if err != nil {
		return nil, fmt.Errorf("stream labels %s: %w", text, err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.name] = m.value
	}
	return out, nil
}

func (s *Server) queryRange(w http.ResponseWriter, form url.Values) {
	q := form.Get("query")
	if q == "" {
		plain(w, http.StatusBadRequest, "query parameter is required")
		return
	}
	now := time.Now()
	start, err := parseTimestamp(form.Get("start"), now.Add(-time.Hour))
	if err != nil {
		plain(w, http.StatusBadRequest, "invalid start parameter: "+err.Error())
		return
	}
	end, err := parseTimestamp(form.Get("end"), now)
	if err != nil {
		plain(w, http.StatusBadRequest, "invalid end parameter: "+err.Error())
		return
	}
	if end.Before(start) {
		plain(w, http.StatusBadRequest, "end timestamp must not be before or equal to start time")
		return
	}
	step := time.Duration(math.Max(math.Floor(end.Sub(start).Seconds()/250), 1)) * time.Second
	if raw := form.Get("step"); raw != "" {
		if step, err = parseStep(raw); err != nil {
			plain(w, http.StatusBadRequest, "invalid step parameter: "+err.Error())
			return
		}
	}
	if step <= 0 {
		plain(w, http.StatusBadRequest, "zero or negative query resolution step widths are not accepted. Try a positive integer")
		return
	}
	node, err := parse(q)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sel, ok := node.(*logSelector); ok {
		limit := 100
		if raw := form.Get("limit"); raw != "" {
			if limit, err = strconv.Atoi(raw); err != nil || limit <= 0 {
				plain(w, http.StatusBadRequest, "invalid limit parameter")
				return
			}
		}
		writeJSON(w, map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": s.logLines(sel, start, end, limit)}})
		return
	}
	// The query frontend aligns metric queries to the step.
	ns := int64(step)
	start = time.Unix(0, floorDiv(start.UnixNano(), ns)*ns)
	end = time.Unix(0, -floorDiv(-end.UnixNano(), ns)*ns)
	if points := end.Sub(start)/step + 1; points > maxPoints {
		plain(w, http.StatusBadRequest, "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter")
		return
	}
	var times []time.Time
	for t := start; !t.After(end); t = t.Add(step) {
		times = append(times, t)
	}
	result := []map[string]any{}
	for _, sr := range s.eval(node, times) {
		values := make([][2]any, 0, len(sr.points))
		for _, p := range sr.points {
			values = append(values, [2]any{json.Number(unixSeconds(times[p.i])), strconv.FormatFloat(p.v, 'f', -1, 64)})
		}
		result = append(result, map[string]any{"metric": sr.labels, "values": values})
	}
	writeJSON(w, map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": result}})
}

// series is an evaluated metric series: points at indexes into the times.
type series struct {
	labels map[string]string
	points []point
}

type point struct {
	i int
	v float64
}

func (s *Server) eval(n node, times []time.Time) []series {
	switch n := n.(type) {
	case *rangeAgg:
		var out []series
		for _, key := range slices.Sorted(maps.Keys(s.streams)) {
			st := s.streams[key]
			if !n.sel.matchesStream(st.labels) {
				continue
			}
			var lines []time.Time
			for _, e := range st.entries {
				if n.sel.matchesLine(e.Text) {
					lines = append(lines, e.Time)
				}
			}
			sr := series{labels: maps.Clone(st.labels)}
			for i, t := range times {
				// Lines in (t−range, t].
				lo, _ := slices.BinarySearchFunc(lines, t.Add(-n.rng), func(a, b time.Time) int {
					if !a.After(b) {
						return -1
					}
					return 1
				})
				hi, _ := slices.BinarySearchFunc(lines, t, func(a, b time.Time) int {
					if !a.After(b) {
						return -1
					}
					return 1
				})
				count := float64(hi - lo)
				if count == 0 {
					continue
				}
				if n.fn == "rate" {
					count /= n.rng.Seconds()
				}
				sr.points = append(sr.points, point{i, count})
			}
			if len(sr.points) > 0 {
				out = append(out, sr)
			}
		}
		return out
	case *sumAgg:
		groups := map[string]*series{}
		sums := map[string]map[int]float64{}
		for _, sr := range s.eval(n.inner, times) {
			labels := map[string]string{}
			for _, l := range n.by {
				if v, ok := sr.labels[l]; ok {
					labels[l] = v
				}
			}
			key := labelKey(labels)
			if groups[key] == nil {
				groups[key] = &series{labels: labels}
				sums[key] = map[int]float64{}
			}
			for _, p := range sr.points {
				sums[key][p.i] += p.v
			}
		}
		var out []series
		for _, key := range slices.Sorted(maps.Keys(groups)) {
			g := groups[key]
			for _, i := range slices.Sorted(maps.Keys(sums[key])) {
				g.points = append(g.points, point{i, sums[key][i]})
			}
			out = append(out, *g)
		}
		return out
	}
	return nil
}

func (s *Server) logLines(sel *logSelector, start, end time.Time, limit int) []map[string]any {
	out := []map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(s.streams)) {
		st := s.streams[key]
		if !sel.matchesStream(st.labels) {
			continue
		}
		var values [][2]string
		for _, e := range st.entries {
			if !e.Time.Before(start) && e.Time.Before(end) && sel.matchesLine(e.Text) && limit > 0 {
				values = append(values, [2]string{strconv.FormatInt(e.Time.UnixNano(), 10), e.Text})
				limit--
			}
		}
		if len(values) > 0 {
			out = append(out, map[string]any{"stream": st.labels, "values": values})
		}
	}
	return out
}

// parseTimestamp reads start or end as Loki does.
func parseTimestamp(value string, def time.Time) (time.Time, error) {
	if value == "" {
		return def, nil
	}
	if strings.Contains(value, ".") {
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(math.Round(frac*1000)/1000*float64(time.Second))), nil
		}
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", value)
		}
		return t, nil
	}
	if len(value) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.Unix(0, n), nil
}

// parseStep reads seconds ("60", "0.5") or a duration ("1m").
func parseStep(value string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(value, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := model.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("cannot parse %q to a valid duration", value)
	}
	return time.Duration(d), nil
}

// unixSeconds writes t as a JSON number of seconds, exactly.
func unixSeconds(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func labelKey(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func writeJSON(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
