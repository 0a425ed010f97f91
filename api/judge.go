package api

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/judge"
	"github.com/verdict-aca/verdict/metrics"
)

// judgeRequest is the body of POST /api/v1/judge (see parseJudgeRequest).
type judgeRequest struct {
	Config     json.RawMessage
	ConfigName string
	Baseline   seriesMap
	Canary     seriesMap
}

// seriesMap is {"signal": [numbers]}; null is NaN.
type seriesMap struct {
	side   string
	limits Limits
	series []metrics.Series
	set    bool
	// names holds the signal names once there are more than
	// linearNames of them (see has).
	names map[string]struct{}
}

// linearNames is how many signals a side may have before has looks names
// up in a map rather than comparing them one by one.
const linearNames = 32

// has reports whether the side already has a signal called name.
func (m *seriesMap) has(name string) bool {
	if len(m.series) <= linearNames {
		for _, s := range m.series {
			if s.Signal == name {
				return true
			}
		}
		return false
	}
	if m.names == nil {
		m.names = make(map[string]struct{}, 2*len(m.series))
		for _, s := range m.series {
			m.names[s.Signal] = struct{}{}
		}
	}
	_, ok := m.names[name]
	return ok
}

// add appends a signal's values (has said it is new).
func (m *seriesMap) add(name string, values []float64) {
	m.series = append(m.series, metrics.Series{Signal: name, Values: values})
	if m.names != nil {
		m.names[name] = struct{}{}
	}
}

// limitError is a request over a series limit (answered 413).
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// parse reads the object at p: {"signal": [numbers], ...} or null.
func (m *seriesMap) parse(p *numParser) error {
	m.set = true
	p.space()
	if p.peek() == 'n' {
		m.set = false
		return p.literal("null")
	}
	if !p.eat('{') {
		return fmt.Errorf("%s: want an object mapping signals to arrays of numbers", m.side)
	}
	p.space()
	if p.eat('}') {
		return nil
	}
	for {
		p.space()
		name, err := p.str()
		if err != nil {
			return fmt.Errorf("%s: %w", m.side, err)
		}
		p.space()
		if !p.eat(':') {
			return fmt.Errorf("%s: want ':' after %q", m.side, name)
		}
		field := m.side + "." + name
		if m.has(name) {
			return fmt.Errorf("%s: given twice", field)
		}
		var values, bounds []float64
		p.space()
		if p.peek() == '{' {
			values, bounds, err = p.histogram(field, m.limits.MaxPoints)
		} else {
			values, err = p.numbers(fieldName{name: field, row: -1}, m.limits.MaxPoints, 0)
		}
		if err != nil {
			return err
		}
		if len(m.series) >= m.limits.MaxSignals {
			return &limitError{fmt.Sprintf("%s: more than %d signals", m.side, m.limits.MaxSignals)}
		}
		m.add(name, values)
		if bounds != nil {
			m.series[len(m.series)-1].Bounds = bounds
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return nil
		}
		return fmt.Errorf("%s: want ',' or '}' after %q", m.side, name)
	}
}

// parseJudgeRequest reads a POST /api/v1/judge body in one pass with a
// hand-written scanner: encoding/json would first scan the whole document
// to validate it, then reflect, which costs more than the judging of small
// payloads. The inline config alone goes through encoding/json. Unknown
// fields, a key given twice (a field, or a signal of one side) and data
// after the object are errors, so that neither a typo nor a body that says
// two things is silently judged on part of what it says. The series'
// values are appended to slab, whose grown storage is returned for reuse.
func parseJudgeRequest(b []byte, limits Limits, slab []float64) (judgeRequest, []float64, error) {
	p := &numParser{b: b, slab: slab[:0]}
	req, err := p.judgeRequest(limits)
	var limit *limitError
	if err != nil && !errors.As(err, &limit) && p.i >= len(b) {
		return req, p.slab, errors.New("the request body is not valid JSON: it ends too early")
	}
	return req, p.slab, err
}

// judgeScratch is the memory one judge request works in, kept between
// requests in Server.scratch: the request body, the series' values and the
// judge's Workspace. Nothing of it outlives the request: the report that
// refers to the values is encoded before the scratch is put back.
type judgeScratch struct {
	body, out bytes.Buffer
	slab      []float64
	work      judge.Workspace
}

// maxKeptScratch is the most memory, in bytes, a request's body buffer or
// slab may hold to be kept for the next request (the default body limit);
// larger ones, from an exceptional request under a raised limit, are left
// to the garbage collector.
const maxKeptScratch = 8 << 20

func (p *numParser) judgeRequest(limits Limits) (judgeRequest, error) {
	b := p.b
	req := judgeRequest{
		Baseline: seriesMap{side: "baseline", limits: limits},
		Canary:   seriesMap{side: "canary", limits: limits},
	}
	p.space()
	if !p.eat('{') {
		return req, errors.New("the request body is not a JSON object")
	}
	p.space()
	if p.eat('}') {
		return req, nil
	}
	var seen uint8 // the fields read so far, one bit each
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return req, fmt.Errorf("the request body is not valid JSON: %w", err)
		}
		p.space()
		if !p.eat(':') {
			return req, fmt.Errorf("the request body is not valid JSON: want ':' after %q", key)
		}
		p.space()
		if bit := judgeFieldBit(key); bit != 0 {
			if seen&bit != 0 {
				return req, fmt.Errorf("%s: given twice", key)
			}
			seen |= bit
		}
		switch key {
		case "config":
			dec := json.NewDecoder(bytes.NewReader(b[p.i:]))
			if err := dec.Decode(&req.Config); err != nil {
				return req, fmt.Errorf("config: not valid JSON: %w", err)
			}
			p.i += int(dec.InputOffset())
		case "configName":
			if p.peek() == 'n' {
				if err := p.literal("null"); err != nil {
					return req, fmt.Errorf("configName: want a string")
				}
				break
			}
			if req.ConfigName, err = p.str(); err != nil {
				return req, fmt.Errorf("configName: want a string")
			}
		case "baseline":
			if err := req.Baseline.parse(p); err != nil {
				return req, err
			}
		case "canary":
			if err := req.Canary.parse(p); err != nil {
				return req, err
			}
		default:
			return req, fmt.Errorf("%s: unknown field (want config or configName, baseline, canary)", key)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return req, fmt.Errorf("the request body is not valid JSON: want ',' or '}' after %q", key)
	}
	p.space()
	if p.i != len(b) {
		return req, errors.New("the request body is not valid JSON: data after the object")
	}
	return req, nil
}

// judgeFieldBit is a judge request field's bit in judgeRequest's seen
// set (0 for an unknown field).
func judgeFieldBit(key string) uint8 {
	switch key {
	case "config":
		return 1
	case "configName":
		return 2
	case "baseline":
		return 4
	case "canary":
		return 8
	}
	return 0
}

type numParser struct {
	b []byte
	i int
	// slab holds every series' values, one after another (see numbers).
	slab []float64
}

func (p *numParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *numParser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *numParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *numParser) literal(s string) error {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return fmt.Errorf("unexpected %q", p.b[p.i:min(p.i+10, len(p.b))])
	}
	p.i += len(s)
	return nil
}

// str reads a JSON string (escapes decoded by encoding/json when present).
func (p *numParser) str() (string, error) {
	if !p.eat('"') {
		return "", errors.New("want a signal name in quotes")
	}
	start := p.i
	escaped := false
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			escaped = true
			p.i += 2
			continue
		case '"':
			raw := p.b[start:p.i]
			p.i++
			if !escaped {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start-1:p.i], &s); err != nil {
				return "", fmt.Errorf("bad signal name: %w", err)
			}
			return s, nil
		}
		p.i++
	}
	return "", errors.New("unterminated signal name")
}

// maxBuckets bounds the buckets of one histogram in a request.
const maxBuckets = 1000

// histogram reads {"le": [bounds, "+Inf"], "counts": [[window 1], ...]}
// for field: a histogram series, each window's cumulative bucket counts
// (see metrics.Series), at most limit counts in all. The rows go on the
// slab one after another, so the flattened counts are one slice of it.
func (p *numParser) histogram(field string, limit int) (counts, bounds []float64, err error) {
	p.eat('{')
	var seenLE, seenCounts bool
	rows := 0
	p.space()
	if p.eat('}') {
		return nil, nil, fmt.Errorf("%s: a histogram needs le and counts", field)
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", field, err)
		}
		p.space()
		if !p.eat(':') {
			return nil, nil, fmt.Errorf("%s: want ':' after %q", field, key)
		}
		p.space()
		switch key {
		case "le":
			if seenLE {
				return nil, nil, fmt.Errorf("%s.le: given twice", field)
			}
			seenLE = true
			if bounds, err = p.bounds(field + ".le"); err != nil {
				return nil, nil, err
			}
		case "counts":
			if seenCounts {
				return nil, nil, fmt.Errorf("%s.counts: given twice", field)
			}
			seenCounts = true
			if !p.eat('[') {
				return nil, nil, fmt.Errorf("%s.counts: want an array of windows, each an array of cumulative counts", field)
			}
			start := len(p.slab)
			width := 0 // the counts of window 0, which every window has
			p.space()
			if !p.eat(']') {
				for {
					row, err := p.numbers(fieldName{name: field, row: rows}, limit-(len(p.slab)-start), width)
					if err != nil {
						return nil, nil, err
					}
					if rows == 0 {
						width = len(row)
					} else if len(row) != width {
						return nil, nil, fmt.Errorf("%s.counts[%d]: %d counts where window 0 has %d; every window has one count per bucket", field, rows, len(row), width)
					}
					rows++
					p.space()
					if p.eat(',') {
						p.space()
						continue
					}
					if p.eat(']') {
						break
					}
					return nil, nil, fmt.Errorf("%s.counts[%d]: want ',' or ']'", field, rows-1)
				}
			}
			counts = p.slab[start:len(p.slab):len(p.slab)]
		default:
			return nil, nil, fmt.Errorf("%s.%s: unknown field (a histogram has le and counts)", field, key)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return nil, nil, fmt.Errorf("%s: want ',' or '}' after %q", field, key)
	}
	switch {
	case !seenLE:
		return nil, nil, fmt.Errorf("%s.le: missing: the buckets' upper bounds, the last \"+Inf\"", field)
	case !seenCounts:
		return nil, nil, fmt.Errorf("%s.counts: missing: each window's cumulative count per bucket", field)
	case rows > 0 && len(counts)/rows != len(bounds):
		return nil, nil, fmt.Errorf("%s.counts: %d counts per window for %d bounds in le", field, len(counts)/rows, len(bounds))
	}
	if counts == nil {
		counts = []float64{}
	}
	return counts, bounds, nil
}

// bounds reads a histogram's le: numbers, and "+Inf" (or "Inf") for the last.
func (p *numParser) bounds(field string) ([]float64, error) {
	if !p.eat('[') {
		return nil, fmt.Errorf("%s: want an array of bucket bounds", field)
	}
	var out []float64
	p.space()
	if p.eat(']') {
		return out, nil
	}
	for {
		p.space()
		if len(out) >= maxBuckets {
			return nil, &limitError{fmt.Sprintf("%s: more than %d buckets", field, maxBuckets)}
		}
		switch c := p.peek(); {
		case c == '"':
			v, err := p.str()
			if err != nil || (v != "+Inf" && v != "Inf") {
				return nil, fmt.Errorf("%s[%d]: want a number or \"+Inf\"", field, len(out))
			}
			out = append(out, math.Inf(1))
		case c >= '0' && c <= '9' || c == '-':
			v, n, ok := parseNumber(p.b[p.i:])
			if !ok {
				return nil, fmt.Errorf("%s[%d]: want a number or \"+Inf\"", field, len(out))
			}
			p.i += n
			out = append(out, v)
		default:
			return nil, fmt.Errorf("%s[%d]: want a number or \"+Inf\"", field, len(out))
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return out, nil
		}
		return nil, fmt.Errorf("%s[%d]: want ',' or ']'", field, len(out)-1)
	}
}

// fieldName names the array numbers reads, in its errors: a series, or
// one window (row) of a histogram's counts. It is formatted only when an
// error names it: a histogram has a row per window, and naming each one up
// front cost more than parsing its numbers.
type fieldName struct {
	name string // the series: side.signal
	row  int    // the window of name's counts, or -1 for the series itself
}

func (f fieldName) String() string {
	if f.row < 0 {
		return f.name
	}
	return f.name + ".counts[" + strconv.Itoa(f.row) + "]"
}

// numbers reads [n, n, null, ...] for field, at most limit values; size
// is how many it expects (a histogram's windows after the first have as
// many counts as the first), or 0 to count them first.
func (p *numParser) numbers(field fieldName, limit, size int) ([]float64, error) {
	p.space()
	if !p.eat('[') {
		return nil, fmt.Errorf("%s: want an array of numbers", field)
	}
	// Size the slice once: the array ends at the first ']' (no number
	// holds one) and has one more value than commas.
	if size <= 0 {
		size = 1
		if end := bytes.IndexByte(p.b[p.i:], ']'); end >= 0 {
			size += bytes.Count(p.b[p.i:p.i+end], []byte{','})
		}
	}
	// The values go on the end of the request's slab (see judgeScratch):
	// the slice is capped at its length, so later series never overwrite
	// it, and the slab only grows when this series does not fit.
	start := len(p.slab)
	p.slab = slices.Grow(p.slab, min(size, limit+1))
	values := p.slab[start:start]
	p.space()
	if p.eat(']') {
		return values[:0:0], nil
	}
	for {
		p.space()
		if len(values) >= limit {
			return nil, &limitError{fmt.Sprintf("%s: more than %d points", field, limit)}
		}
		// The bulk of the numbers, each right before its comma, and often
		// the last one too.
		if run, n, closed := appendNumberRun(values, p.b[p.i:], limit); n > 0 {
			values = run
			p.i += n
			if closed {
				break
			}
			continue
		}
		if c := p.peek(); c >= '0' && c <= '9' || c == '-' {
			// A number of another form (negative, with an exponent, long),
			// or one followed by white space.
			v, n, ok := parseNumber(p.b[p.i:])
			if !ok {
				return nil, fmt.Errorf("%s[%d]: want a number or null", field, len(values))
			}
			p.i += n
			values = append(values, v)
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
		} else if c == 'n' {
			if err := p.literal("null"); err != nil {
				return nil, fmt.Errorf("%s[%d]: want a number or null", field, len(values))
			}
			values = append(values, math.NaN())
		} else {
			return nil, fmt.Errorf("%s[%d]: want a number or null", field, len(values))
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			break
		}
		return nil, fmt.Errorf("%s[%d]: want ',' or ']'", field, len(values)-1)
	}
	if len(values) <= cap(p.slab)-start { // always, unless size was wrong (a histogram's window longer than its first)
		p.slab = p.slab[:start+len(values)]
	}
	return values[:len(values):len(values)], nil
}

func (s *Server) judge(w http.ResponseWriter, r *http.Request) {
	sc := s.scratch.Get().(*judgeScratch)
	defer func() {
		if 8*cap(sc.slab) <= maxKeptScratch && sc.body.Cap() <= maxKeptScratch {
			s.scratch.Put(sc)
		}
	}()
	sc.body.Reset()
	if r.ContentLength > 0 && r.ContentLength <= s.opt.Limits.MaxBody {
		// One allocation of the announced size (limitBodies charged it),
		// rather than doubling to twice the body and leaving the halves.
		sc.body.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := sc.body.ReadFrom(http.MaxBytesReader(w, r.Body, s.opt.Limits.MaxBody)); err != nil {
		s.badJSON(w, err)
		return
	}
	req, slab, err := parseJudgeRequest(sc.body.Bytes(), s.opt.Limits, sc.slab)
	sc.slab = slab
	if err != nil {
		s.badJSON(w, err)
		return
	}
	cfg, inline, status, err := s.requestConfig(r, req.Config, req.ConfigName)
	if err != nil {
		s.answerError(w, r, status, err)
		return
	}
	switch {
	case !req.Baseline.set:
		writeError(w, http.StatusBadRequest, "baseline: missing (an object mapping each signal to its numbers)")
		return
	case !req.Canary.set:
		writeError(w, http.StatusBadRequest, "canary: missing (an object mapping each signal to its numbers)")
		return
	}
	rep, err := analysis.JudgeSeriesIn(&sc.work, cfg,
		analysis.SeriesSet{Origin: "baseline", Series: req.Baseline.series},
		analysis.SeriesSet{Origin: "canary", Series: req.Canary.series})
	if err != nil {
		var de *analysis.DataError
		if errors.As(err, &de) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.internalError(w, r, err)
		return
	}
	out := &sc.out
	out.Reset()
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		s.internalError(w, r, fmt.Errorf("encode the report: %w", err))
		return
	}
	s.inline.add(inline)
	s.metrics.CountVerdict("judge", req.ConfigName, string(rep.Verdict))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// requestConfig resolves a request's config: inline (cached by the hash of
// its text, see inlineCache) or stored by name. It returns the status to
// answer on error, and the inline config, for the caller to add to the
// cache once it has judged with it.
func (s *Server) requestConfig(r *http.Request, inline json.RawMessage, name string) (*analysis.Config, inlineConfig, int, error) {
	hasInline := len(inline) > 0 && !bytes.Equal(bytes.TrimSpace(inline), []byte("null"))
	switch {
	case hasInline && name != "":
		return nil, inlineConfig{}, http.StatusBadRequest, errors.New("config and configName: give one, not both")
	case hasInline:
		ic, err := s.inline.get(inline)
		if err != nil {
			return nil, inlineConfig{}, http.StatusBadRequest, err
		}
		return ic.cfg, ic, 0, nil
	case name != "":
		cfg, err := s.storedConfig(r, name)
		if err != nil {
			return nil, inlineConfig{}, statusOf(err), err
		}
		return cfg, inlineConfig{}, 0, nil
	}
	return nil, inlineConfig{}, http.StatusBadRequest, errors.New("config: missing (give config, an inline config, or configName, a stored one)")
}

// inlineCache keeps parsed inline configs by the SHA-256 of their text,
// the most recently used first, within a budget of config text bytes and a
// number of configs. A config is added only once a request with it has
// judged (add): a config that parses but whose request then fails is not
// kept, so requests that fail cannot fill the cache, and none larger than
// the whole budget is kept. check refuses a config before it is used
// (a config that sets sources, or names one the server lacks).
type inlineCache struct {
	mu         sync.Mutex
	maxBytes   int64
	maxEntries int
	check      func(*analysis.Config) error
	bytes      int64
	order      *list.List // of *inlineEntry, the most recently used first
	byID       map[[sha256.Size]byte]*list.Element
}

type inlineEntry struct {
	key  [sha256.Size]byte
	size int64
	cfg  *analysis.Config
}

// inlineConfig is an inline config a request gave: parsed, and whether it
// came from the cache.
type inlineConfig struct {
	key    [sha256.Size]byte
	size   int64
	cfg    *analysis.Config
	cached bool
}

func newInlineCache(maxBytes int64, maxEntries int, check func(*analysis.Config) error) *inlineCache {
	return &inlineCache{maxBytes: maxBytes, maxEntries: maxEntries, check: check, order: list.New(), byID: map[[sha256.Size]byte]*list.Element{}}
}

// get returns the parsed config of raw, from the cache or parsed now
// (without keeping it: see add).
func (c *inlineCache) get(raw []byte) (inlineConfig, error) {
	key := sha256.Sum256(raw)
	c.mu.Lock()
	if el, ok := c.byID[key]; ok {
		c.order.MoveToFront(el)
		e := el.Value.(*inlineEntry)
		c.mu.Unlock()
		return inlineConfig{key: key, size: e.size, cfg: e.cfg, cached: true}, nil
	}
	c.mu.Unlock()
	cfg, err := analysis.ParseConfig("config", raw)
	if err != nil {
		return inlineConfig{}, err
	}
	if err := c.check(cfg); err != nil {
		return inlineConfig{}, err
	}
	return inlineConfig{key: key, size: int64(len(raw)), cfg: cfg}, nil
}

// add keeps a config a request has judged with, dropping the least
// recently used ones beyond the budget.
func (c *inlineCache) add(ic inlineConfig) {
	if ic.cached || ic.cfg == nil || ic.size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[ic.key]; ok {
		return // a concurrent request added it
	}
	for c.order.Len() > 0 && (c.bytes+ic.size > c.maxBytes || c.order.Len() >= c.maxEntries) {
		old := c.order.Remove(c.order.Back()).(*inlineEntry)
		delete(c.byID, old.key)
		c.bytes -= old.size
	}
	c.byID[ic.key] = c.order.PushFront(&inlineEntry{key: ic.key, size: ic.size, cfg: ic.cfg})
	c.bytes += ic.size
}

// held is the number of configs and the text bytes kept.
func (c *inlineCache) held() (configs int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
