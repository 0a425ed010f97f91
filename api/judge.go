package api

import (
	"bytes"
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
		values, err := p.numbers(field, m.limits.MaxPoints)
		if err != nil {
			return err
		}
		if len(m.series) >= m.limits.MaxSignals {
			return &limitError{fmt.Sprintf("%s: more than %d signals", m.side, m.limits.MaxSignals)}
		}
		m.series = append(m.series, metrics.Series{Signal: name, Values: values})
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
// fields are errors, so that a typo is not silently ignored. The series'
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

// numbers reads [n, n, null, ...] for field, at most limit values.
func (p *numParser) numbers(field string, limit int) ([]float64, error) {
	p.space()
	if !p.eat('[') {
		return nil, fmt.Errorf("%s: want an array of numbers", field)
	}
	// Size the slice once: the array ends at the first ']' (no number
	// holds one) and has one more value than commas.
	size := 1
	if end := bytes.IndexByte(p.b[p.i:], ']'); end >= 0 {
		size += bytes.Count(p.b[p.i:p.i+end], []byte{','})
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
		if c := p.peek(); c >= '0' && c <= '9' || c == '-' {
			// The common case, a number right before its comma.
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
			if len(values) <= cap(p.slab)-start { // always, unless size was wrong
				p.slab = p.slab[:start+len(values)]
			}
			return values[:len(values):len(values)], nil
		}
		return nil, fmt.Errorf("%s[%d]: want ',' or ']'", field, len(values)-1)
	}
}

func (s *Server) judge(w http.ResponseWriter, r *http.Request) {
	sc := s.scratch.Get().(*judgeScratch)
	defer func() {
		if 8*cap(sc.slab) <= maxKeptScratch && sc.body.Cap() <= maxKeptScratch {
			s.scratch.Put(sc)
		}
	}()
	sc.body.Reset()
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
	cfg, status, err := s.requestConfig(r, req.Config, req.ConfigName)
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// requestConfig resolves a request's config: inline (cached by the hash of
// its text) or stored by name. It returns the status to answer on error.
func (s *Server) requestConfig(r *http.Request, inline json.RawMessage, name string) (*analysis.Config, int, error) {
	hasInline := len(inline) > 0 && !bytes.Equal(bytes.TrimSpace(inline), []byte("null"))
	switch {
	case hasInline && name != "":
		return nil, http.StatusBadRequest, errors.New("config and configName: give one, not both")
	case hasInline:
		cfg, err := s.inline.get(inline)
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		return cfg, 0, nil
	case name != "":
		cfg, err := s.storedConfig(r, name)
		if err != nil {
			return nil, statusOf(err), err
		}
		return cfg, 0, nil
	}
	return nil, http.StatusBadRequest, errors.New("config: missing (give config, an inline config, or configName, a stored one)")
}

// inlineCache keeps parsed inline configs by the SHA-256 of their text;
// check refuses a config before it is cached.
type inlineCache struct {
	mu    sync.Mutex
	max   int
	check func(*analysis.Config) error
	byID  map[[sha256.Size]byte]*analysis.Config
}

func newInlineCache(max int, check func(*analysis.Config) error) *inlineCache {
	return &inlineCache{max: max, check: check, byID: map[[sha256.Size]byte]*analysis.Config{}}
}

func (c *inlineCache) get(raw []byte) (*analysis.Config, error) {
	key := sha256.Sum256(raw)
	c.mu.Lock()
	cfg, ok := c.byID[key]
	c.mu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg, err := analysis.ParseConfig("config", raw)
	if err != nil {
		return nil, err
	}
	if err := c.check(cfg); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byID) >= c.max {
		for k := range c.byID { // drop an arbitrary entry
			delete(c.byID, k)
			break
		}
	}
	c.byID[key] = cfg
	c.mu.Unlock()
	return cfg, nil
}
