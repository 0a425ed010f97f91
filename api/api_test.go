package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/store"
	"github.com/verdict-aca/verdict/metrics"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testServer is a Server over a fresh store behind a real HTTP listener.
type testServer struct {
	*Server
	URL   string
	store store.Store
}

// newTestServer is newTestServerOn a fresh SQLite file: for the tests whose
// behaviour does not depend on the store.
func newTestServer(t testing.TB, opt Options) *testServer {
	t.Helper()
	return newTestServerOn(t, onSQLite, opt)
}

// newTestServerOn is a server over a fresh, empty store of kind, stopped
// when t ends.
func newTestServerOn(t testing.TB, kind storeKind, opt Options) *testServer {
	t.Helper()
	st := openStores(t, kind, 1)[0]
	opt.Store = st
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &testServer{Server: srv, URL: hs.URL, store: st}
}

// call sends a request and decodes a JSON answer into out (when not nil).
func (ts *testServer) call(t *testing.T, method, path, token string, body any, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentTypeOf(method, path))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, data)
		}
	}
	return resp.StatusCode, string(data)
}

// contentTypeOf is the Content-Type a client sends with a body: YAML for
// a config's text, JSON for everything else.
func contentTypeOf(method, path string) string {
	if method == http.MethodPut && strings.HasPrefix(path, "/api/v1/configs/") {
		return "application/yaml"
	}
	return "application/json"
}

const offlineConfig = `name: offline
thresholds: {pass: 95, marginal: 75}
signals:
  - name: latency
    direction: increase
    allowedChange: 10%
  - name: errors
    test: threshold
    statistic: mean
    max: 0.05
`

// series makes n points around level with a deterministic wiggle.
func series(n int, level, wiggle float64) []float64 {
	out := make([]float64, n)
	state := uint32(12345)
	for i := range out {
		state = state*1664525 + 1013904223
		out[i] = level + wiggle*(float64(state>>8)/float64(1<<24)-0.5)
	}
	return out
}

func TestJudgeEndpoint(t *testing.T) {
	ts := newTestServer(t, Options{Limits: Limits{MaxPoints: 1000, MaxBody: 1 << 20}})
	if code, body := ts.call(t, "PUT", "/api/v1/configs/offline", "", offlineConfig, nil); code != 200 {
		t.Fatalf("PUT config: %d %s", code, body)
	}
	healthy := map[string]any{"latency": series(100, 100, 10), "errors": series(100, 0.01, 0.001)}
	slow := map[string]any{"latency": series(100, 150, 10), "errors": series(100, 0.01, 0.001)}
	inline := json.RawMessage(mustJSON(t, map[string]any{"name": "inline", "signals": []map[string]any{{"name": "latency", "direction": "increase", "allowedChange": "10%"}, {"name": "errors"}}}))

	for _, tc := range []struct {
		name        string
		body        any
		wantCode    int
		wantVerdict string
		wantError   string
	}{
		{"stored config, same data passes", map[string]any{"configName": "offline", "baseline": healthy, "canary": healthy}, 200, "pass", ""},
		{"stored config, slower canary fails", map[string]any{"configName": "offline", "baseline": healthy, "canary": slow}, 200, "fail", ""},
		{"inline config", map[string]any{"config": inline, "baseline": healthy, "canary": slow}, 200, "fail", ""},
		{"null points are NaN", `{"configName":"offline","baseline":{"latency":[1,2,null,3],"errors":[0]},"canary":{"latency":[1,2,3,null],"errors":[0]}}`, 200, "none", ""},
		{"not JSON", `{"configName":`, 400, "", "not valid JSON"},
		{"no config", map[string]any{"baseline": healthy, "canary": healthy}, 400, "", "config: missing"},
		{"both configs", map[string]any{"config": inline, "configName": "offline", "baseline": healthy, "canary": healthy}, 400, "", "give one, not both"},
		{"unknown config", map[string]any{"configName": "nope", "baseline": healthy, "canary": healthy}, 404, "", `no config named "nope"`},
		{"invalid inline config names the field", `{"config":{"name":"x","signals":[{"name":"a","allowedChange":"lots"}]},"baseline":{"a":[1]},"canary":{"a":[1]}}`, 400, "", "signals[0].allowedChange"},
		{"unknown signal", `{"configName":"offline","baseline":{"latency":[1],"errors":[1],"cpu":[1]},"canary":{"latency":[1],"errors":[1]}}`, 400, "", `signal "cpu" is not in the config`},
		{"missing canary", `{"configName":"offline","baseline":{"latency":[1]}}`, 400, "", "canary: missing"},
		{"a string among numbers", `{"configName":"offline","baseline":{"latency":[1,"x"]},"canary":{}}`, 400, "", "baseline.latency[1]: want a number or null"},
		{"escaped signal names", `{"configName":"offline","baseline":{"lat\u0065ncy":[1,2,3],"errors":[0]},"canary":{"latency":[1,2,3],"errors":[0]}}`, 200, "none", ""},
		{"unknown field", `{"configName":"offline","baselines":{}}`, 400, "", "baselines: unknown field"},
		{"data after the object", `{"configName":"offline"} {}`, 400, "", "data after the object"},
		{"not an object", `[1,2]`, 400, "", "not a JSON object"},
		{"a plus sign is not JSON", `{"configName":"offline","baseline":{"latency":[+1]},"canary":{}}`, 400, "", "baseline.latency[0]: want a number or null"},
		{"null baseline is missing", `{"configName":"offline","baseline":null,"canary":{}}`, 400, "", "baseline: missing"},
		{"configName not a string", `{"configName":3}`, 400, "", "configName: want a string"},
		{"too many points", map[string]any{"configName": "offline", "baseline": map[string]any{"latency": series(1001, 1, 1)}, "canary": healthy}, 413, "", "baseline.latency: more than 1000 points"},
		{"body too large", map[string]any{"configName": "offline", "baseline": map[string]any{"a": strings.Repeat("x", 1<<20)}, "canary": healthy}, 413, "", "larger than the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Schema  string `json:"schema"`
				Verdict string `json:"verdict"`
				Error   string `json:"error"`
			}
			code, body := ts.call(t, "POST", "/api/v1/judge", "", tc.body, &got)
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", code, tc.wantCode, body)
			}
			if tc.wantVerdict != "" && (got.Verdict != tc.wantVerdict || got.Schema != "verdict/report/v1") {
				t.Errorf("verdict %q schema %q, want %q: %s", got.Verdict, got.Schema, tc.wantVerdict, body)
			}
			if tc.wantError != "" && !strings.Contains(got.Error, tc.wantError) {
				t.Errorf("error %q, want it to contain %q", got.Error, tc.wantError)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRouting(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, tc := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{"GET", "/api/v1/judge", 405, "POST"},
		{"POST", "/api/v1/configs/x", 405, "GET, PUT, DELETE"},
		{"GET", "/api/v1/nothing", 404, ""},
		{"GET", "/healthz", 200, ""},
		{"GET", "/readyz", 200, ""},
	} {
		var e errorBody
		code, body := ts.call(t, tc.method, tc.path, "", nil, &e)
		if code != tc.want {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, code, tc.want, body)
		}
		if code >= 400 && e.Error == "" {
			t.Errorf("%s %s: no JSON error: %s", tc.method, tc.path, body)
		}
		if tc.allow != "" && !strings.Contains(e.Error, tc.allow) {
			t.Errorf("%s %s: error %q does not list %s", tc.method, tc.path, e.Error, tc.allow)
		}
	}
}

func TestReadyzStoreDown(t *testing.T) { forEachStore(t, testReadyzStoreDown) }

func testReadyzStoreDown(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{})
	ts.store.Close()
	var e errorBody
	if code, _ := ts.call(t, "GET", "/readyz", "", nil, &e); code != 503 || e.Error == "" {
		t.Errorf("readyz with a closed store: %d %q, want 503", code, e.Error)
	}
	if code, _ := ts.call(t, "GET", "/healthz", "", nil, nil); code != 200 {
		t.Errorf("healthz: %d, want 200 (the process is alive)", code)
	}
	// Requests that need the store answer 500 without the store's own
	// words (which may name a database host or user): those go to the log.
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v1/judge", `{"configName":"stored","baseline":{},"canary":{}}`},
		{"POST", "/api/v1/analyses", `{"configName":"stored","baselineScope":{"a":"b"},"canaryScope":{"a":"c"},"lookback":"10m"}`},
		{"GET", "/api/v1/analyses/some-id", ""},
		{"GET", "/api/v1/configs/stored", ""},
		{"POST", "/canary/stored", "{}"},
		{"GET", "/canary/some-id", ""},
		{"POST", "/standalone_canary_analysis/stored", "{}"},
		{"GET", "/api/v1/argo/stored?baseline=track%3Db&canary=track%3Dc", ""},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		var e errorBody
		code, raw := ts.call(t, tc.method, tc.path, "", body, &e)
		if code != 500 || !strings.Contains(e.Error, "server log") {
			t.Errorf("%s %s with a closed store: %d %s, want 500 pointing to the log", tc.method, tc.path, code, raw)
		}
	}
}

// TestReadyzSQLiteFileGone deletes, then replaces, the SQLite file under a
// running server: its open handle would go on answering from the unlinked
// file (and a restart would start empty), so /readyz must say 503.
func TestReadyzSQLiteFileGone(t *testing.T) {
	for _, change := range []string{"deleted", "replaced"} {
		t.Run(change, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "verdict.db")
			st, err := store.OpenSQLite(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			srv, err := New(Options{Store: st, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(hs.Close)
			ts := &testServer{Server: srv, URL: hs.URL, store: st}
			if code, body := ts.call(t, "GET", "/readyz", "", nil, nil); code != 200 {
				t.Fatalf("readyz before: %d %s", code, body)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if change == "replaced" {
				other, err := store.OpenSQLite(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				other.Close()
			}
			if code, body := ts.call(t, "GET", "/readyz", "", nil, nil); code != 503 {
				t.Errorf("readyz after the file was %s: %d %s, want 503", change, code, body)
			}
		})
	}
}

func TestConfigsEndpoints(t *testing.T) { forEachStore(t, testConfigsEndpoints) }

func testConfigsEndpoints(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{})
	steps := []struct {
		name, method, path string
		body               any
		want               int
		check              func(t *testing.T, body string)
	}{
		{"create", "PUT", "/api/v1/configs/offline", offlineConfig, 200, func(t *testing.T, b string) { wantContains(t, b, `"version":1`) }},
		{"update", "PUT", "/api/v1/configs/offline", offlineConfig + "description: v2\n", 200, func(t *testing.T, b string) { wantContains(t, b, `"version":2`) }},
		{"invalid config names file, line and field", "PUT", "/api/v1/configs/bad", "signals:\n  - name: a\n    direction: up\n", 400,
			func(t *testing.T, b string) { wantContains(t, b, `bad line 3: signals[0].direction`) }},
		{"name mismatch", "PUT", "/api/v1/configs/other", offlineConfig, 400, func(t *testing.T, b string) { wantContains(t, b, `name: the config says \"offline\"`) }},
		{"bad name", "PUT", "/api/v1/configs/..x", offlineConfig, 400, nil},
		{"get", "GET", "/api/v1/configs/offline", nil, 200, func(t *testing.T, b string) { wantContains(t, b, `description: v2`) }},
		{"get missing", "GET", "/api/v1/configs/nope", nil, 404, nil},
		{"list", "GET", "/api/v1/configs", nil, 200, func(t *testing.T, b string) { wantContains(t, b, `"name":"offline"`) }},
		{"delete", "DELETE", "/api/v1/configs/offline", nil, 204, nil},
		{"delete again", "DELETE", "/api/v1/configs/offline", nil, 404, nil},
		{"judge after delete", "POST", "/api/v1/judge", `{"configName":"offline","baseline":{},"canary":{}}`, 404, nil},
	}
	for _, st := range steps {
		code, body := ts.call(t, st.method, st.path, "", st.body, nil)
		if code != st.want {
			t.Errorf("%s: %d, want %d: %s", st.name, code, st.want, body)
			continue
		}
		if st.check != nil {
			st.check(t, body)
		}
	}
}

func wantContains(t *testing.T, body, sub string) {
	t.Helper()
	if !strings.Contains(body, sub) {
		t.Errorf("answer %s does not contain %s", body, sub)
	}
}

// TestAuth: each role may do what its endpoints need and no more, with
// the token as a bearer token or as the password of Basic authorization
// (what Go's HTTP client sends for a URL's user information, the way
// Flagger and Argo's kayenta provider carry one).
func TestAuth(t *testing.T) {
	const readTok, judgeTok, writeTok = "read-token-0123456789", "judge-token-0123456789", "write-token-0123456789"
	tokens, err := ParseTokens("test", "# roles\nread "+readTok+"\njudge "+judgeTok+"\nwrite:"+writeTok)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{Tokens: tokens})
	bearer := func(tok string) string { return "Bearer " + tok }
	basic := func(user, tok string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+tok))
	}
	const judgeBody = `{"configName":"offline","baseline":{"latency":[1,2,3],"errors":[0]},"canary":{"latency":[1,2,3],"errors":[0]}}`
	for _, tc := range []struct {
		name, method, path, auth string
		body                     string
		want                     int
		wantErr                  string
	}{
		{"health is open", "GET", "/healthz", "", "", 200, ""},
		{"ready is open", "GET", "/readyz", "", "", 200, ""},
		{"no token", "GET", "/api/v1/configs", "", "", 401, "needs a token"},
		{"wrong token", "GET", "/api/v1/configs", bearer("read-token-0123456788"), "", 401, "not valid"},
		{"read token reads", "GET", "/api/v1/configs", bearer(readTok), "", 200, ""},
		{"read token reads metrics", "GET", "/metrics", bearer(readTok), "", 200, ""},
		{"metrics need a token", "GET", "/metrics", "", "", 401, ""},
		{"read token cannot write", "PUT", "/api/v1/configs/offline", bearer(readTok), offlineConfig, 403, "write role; this one has the read role"},
		{"read token cannot judge", "POST", "/api/v1/judge", bearer(readTok), `{}`, 403, "judge role"},
		{"write token writes", "PUT", "/api/v1/configs/offline", bearer(writeTok), offlineConfig, 200, ""},
		{"write token reads", "GET", "/api/v1/configs/offline", bearer(writeTok), "", 200, ""},
		{"write token judges", "POST", "/api/v1/judge", bearer(writeTok), judgeBody, 200, ""},
		{"judge token judges", "POST", "/api/v1/judge", bearer(judgeTok), judgeBody, 200, ""},
		{"judge token reads", "GET", "/api/v1/configs/offline", bearer(judgeTok), "", 200, ""},
		{"judge token reads Kayenta's index", "GET", "/canaryConfig", bearer(judgeTok), "", 200, ""},
		{"judge token cannot store a config", "PUT", "/api/v1/configs/offline", bearer(judgeTok), offlineConfig, 403, "write role; this one has the judge role"},
		{"judge token cannot delete a config", "DELETE", "/api/v1/configs/offline", bearer(judgeTok), "", 403, "write role"},
		{"judge token cannot start an analysis", "POST", "/api/v1/analyses", bearer(judgeTok), `{}`, 403, "write role"},
		{"judge token cannot run an inline Kayenta config", "POST", "/canary", bearer(judgeTok), `{}`, 403, "write role"},
		{"Basic carries a token", "POST", "/api/v1/judge", basic("verdict", judgeTok), judgeBody, 200, ""},
		{"Basic's user name is not read", "GET", "/canaryConfig", basic("anyone", readTok), "", 200, ""},
		{"Basic with a wrong password", "GET", "/canaryConfig", basic("verdict", "judge-token-0123456788"), "", 401, "not valid"},
		{"Basic with the token as user name", "GET", "/canaryConfig", basic(judgeTok, ""), "", 401, "needs a token"},
		{"Basic keeps the roles", "PUT", "/api/v1/configs/offline", basic("verdict", judgeTok), offlineConfig, 403, "write role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkAuth(t, ts.URL, tc.method, tc.path, tc.auth, tc.body, nil, tc.want, tc.wantErr)
		})
	}
	// A browser sends the Basic credentials of a URL it was once given by
	// itself, from any page: from another site they may read (the browser
	// does not let the page see the answer) but not act. A bearer token is
	// never sent by a browser by itself.
	for _, tc := range []struct {
		name, method, path, auth string
		body                     string
		header                   map[string]string
		want                     int
		wantErr                  string
	}{
		{"Basic from another site cannot judge", "POST", "/api/v1/judge", basic("verdict", judgeTok), judgeBody, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "Basic credentials"},
		{"Basic from another origin cannot judge", "GET", "/api/v1/argo/offline?baseline=a%3Db&canary=a%3Dc", basic("verdict", judgeTok), "", map[string]string{"Origin": "https://evil.example"}, 403, "Basic credentials"},
		{"Basic from another site may read", "GET", "/canaryConfig", basic("verdict", judgeTok), "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, ""},
		{"Basic from this server's own page judges", "POST", "/api/v1/judge", basic("verdict", judgeTok), judgeBody, map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, ""},
		{"a bearer token from another site judges", "POST", "/api/v1/judge", bearer(judgeTok), judgeBody, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkAuth(t, ts.URL, tc.method, tc.path, tc.auth, tc.body, tc.header, tc.want, tc.wantErr)
		})
	}
}

// checkAuth sends a request with an Authorization header (none when auth
// is empty) and more headers, and checks the status and error.
func checkAuth(t *testing.T, base, method, path, auth, body string, header map[string]string, want int, wantErr string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentTypeOf(method, path))
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want || !strings.Contains(string(got), wantErr) {
		t.Errorf("%d %s, want %d %q", resp.StatusCode, got, want, wantErr)
	}
}

func TestParseTokens(t *testing.T) {
	for _, tc := range []struct{ in, wantErr string }{
		{"read aaaaaaaaaaaaaaaa\nwrite bbbbbbbbbbbbbbbb", ""},
		{"read:aaaaaaaaaaaaaaaa,write:bbbbbbbbbbbbbbbb", ""},
		{"judge aaaaaaaaaaaaaaaa", ""},
		{"judge:aaaaaaaaaaaaaaaa,read:bbbbbbbbbbbbbbbb", ""},
		{"admin aaaaaaaaaaaaaaaa", `"admin" is not a role (want read, judge or write)`},
		{"read short", "shorter than 16"},
		{"# nothing\n", "has no tokens"},
		{"read a b", "want \"ROLE TOKEN\""},
	} {
		_, err := ParseTokens("t", tc.in)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseTokens(%q) = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestAnalysesErrors(t *testing.T) { forEachStore(t, testAnalysesErrors) }

func testAnalysesErrors(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{})
	if code, body := ts.call(t, "PUT", "/api/v1/configs/offline", "", offlineConfig, nil); code != 200 {
		t.Fatal(body)
	}
	scopes := `"baselineScope":{"track":"baseline"},"canaryScope":{"track":"canary"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               int
		wantErr            string
	}{
		{"no baseline scope", "POST", "/api/v1/analyses", `{"configName":"offline","lookback":"5m"}`, 400, "baselineScope: missing"},
		{"lookback and start", "POST", "/api/v1/analyses", `{"configName":"offline",` + scopes + `,"lookback":"5m","start":"2024-01-01T00:00:00Z"}`, 400, "lookback: give either"},
		{"bad time", "POST", "/api/v1/analyses", `{"configName":"offline",` + scopes + `,"start":"yesterday","end":"now"}`, 400, `start: "yesterday" is not an RFC 3339 time`},
		{"bad duration", "POST", "/api/v1/analyses", `{"configName":"offline",` + scopes + `,"lookback":"soon"}`, 400, "soon"},
		{"interval without lifetime", "POST", "/api/v1/analyses", `{"configName":"offline",` + scopes + `,"interval":"1m","lookback":"5m"}`, 400, "interval: goes with lifetime"},
		{"config cannot run live", "POST", "/api/v1/analyses", `{"configName":"offline",` + scopes + `,"lookback":"5m"}`, 400, "can only be judged from files"},
		{"unknown config", "POST", "/api/v1/analyses", `{"configName":"nope",` + scopes + `,"lookback":"5m"}`, 404, "nope"},
		{"unknown analysis", "GET", "/api/v1/analyses/nope", nil, 404, "nope"},
		{"cancel unknown", "POST", "/api/v1/analyses/nope/cancel", nil, 404, "nope"},
		{"bad verdict filter", "GET", "/api/v1/analyses?verdict=ok", nil, 400, "verdict:"},
		{"bad status filter", "GET", "/api/v1/analyses?status=done", nil, 400, "status:"},
		{"bad limit", "GET", "/api/v1/analyses?limit=0", nil, 400, "limit:"},
		{"empty list", "GET", "/api/v1/analyses?config=offline", nil, 200, ""},
		{"kayenta without thresholds", "POST", "/canary/offline", `{"scopes":{"default":{"controlScope":{"scope":"b","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z","step":60},"experimentScope":{"scope":"c","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z","step":60}}}}`, 400, "Execution request must contain thresholds"},
		{"kayenta unknown config", "POST", "/canary/nope", `{}`, 404, "nope"},
		{"kayenta unknown execution", "GET", "/canary/nope", nil, 404, "nope"},
		{"kayenta ad hoc without metrics", "POST", "/canary", `{"canaryConfig":{"name":"x","metrics":[]},"executionRequest":{}}`, 400, "it has no metrics"},
		{"kayenta ad hoc without request", "POST", "/canary", `{"canaryConfig":{"name":"x"}}`, 400, "executionRequest: missing"},
		{"argo without scopes", "GET", "/api/v1/argo/offline", nil, 400, "baseline: missing"},
		{"argo bad lookback", "GET", "/api/v1/argo/offline?baseline=track%3Db&canary=track%3Dc&lookback=-1m", nil, 400, "lookback:"},
		{"flagger without name", "POST", "/api/v1/flagger/offline", `{"namespace":"shop"}`, 400, "name: missing"},
		{"flagger unknown config", "POST", "/api/v1/flagger/nope", `{"name":"podinfo","namespace":"shop"}`, 404, "nope"},
	} {
		var e errorBody
		code, body := ts.call(t, tc.method, tc.path, "", tc.body, &e)
		if code != tc.want || !strings.Contains(e.Error, tc.wantErr) {
			t.Errorf("%s: %d %q, want %d with %q (%s)", tc.name, code, e.Error, tc.want, tc.wantErr, body)
		}
	}
}

func TestMetricsPrivateRegistry(t *testing.T) {
	ts := newTestServer(t, Options{})
	ts.call(t, "POST", "/api/v1/judge", "", `{}`, nil)
	_, body := ts.call(t, "GET", "/metrics", "", nil, nil)
	wantContains(t, body, `verdict_judge_requests_total{code="400",endpoint="judge"} 1`)
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "verdict_") {
			t.Errorf("%s is on the global registry", f.GetName())
		}
	}
	// A second server has its own counters.
	ts2 := newTestServer(t, Options{})
	_, body2 := ts2.call(t, "GET", "/metrics", "", nil, nil)
	if strings.Contains(body2, `verdict_judge_requests_total{code="400"`) {
		t.Errorf("a second server sees the first one's requests:\n%s", body2)
	}
}

// blockingSource answers no query until the caller gives up.
type blockingSource struct{}

func (blockingSource) Fetch(ctx context.Context, _ metrics.Query, _ metrics.Scope, _ metrics.Window) (metrics.Result, error) {
	<-ctx.Done()
	return metrics.Result{}, ctx.Err()
}

// TestSyncTimeout: an Argo judgement whose source does not answer within
// the synchronous limit answers 504 and is recorded as interrupted, never
// left running and never a verdict.
func TestSyncTimeout(t *testing.T) { forEachStore(t, testSyncTimeout) }

func testSyncTimeout(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{
		SyncTimeout: 300 * time.Millisecond,
		Sources:     analysis.SourceSet{"prometheus": blockingSource{}},
	})
	cfg := "name: slow\nsignals:\n  - name: a\n    query: 'up{track=\"{{.track}}\"}'\n"
	if code, body := ts.call(t, "PUT", "/api/v1/configs/slow", "", cfg, nil); code != 200 {
		t.Fatal(body)
	}
	var e errorBody
	code, body := ts.call(t, "GET", "/api/v1/argo/slow?baseline=track%3Db&canary=track%3Dc", "", nil, &e)
	if code != 504 || !strings.Contains(e.Error, "took longer than") {
		t.Fatalf("%d %s, want 504", code, body)
	}
	var list struct {
		Analyses []analysisView `json:"analyses"`
	}
	ts.call(t, "GET", "/api/v1/analyses?config=slow", "", nil, &list)
	if len(list.Analyses) != 1 || list.Analyses[0].Status != store.Interrupted || list.Analyses[0].Verdict != "" || !strings.Contains(list.Analyses[0].Error, "time limit") {
		t.Errorf("stored = %+v", list.Analyses)
	}
}

func TestLoadConfigDir(t *testing.T) { forEachStore(t, testLoadConfigDir) }

func testLoadConfigDir(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{})
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("offline.yaml", offlineConfig)
	write("unnamed.json", `{"signals": [{"name": "a"}]}`)
	write("notes.txt", "not a config")
	names, err := ts.LoadConfigDir(t.Context(), dir)
	if err != nil || strings.Join(names, ",") != "offline,unnamed" {
		t.Fatalf("LoadConfigDir = %v, %v", names, err)
	}
	// Loading the same files again keeps the versions; a changed file bumps its own.
	write("unnamed.json", `{"signals": [{"name": "b"}]}`)
	if _, err := ts.LoadConfigDir(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"offline": 1, "unnamed": 2} {
		c, err := ts.store.GetConfig(t.Context(), name)
		if err != nil || c.Version != want {
			t.Errorf("%s: version %d, %v; want %d", name, c.Version, err, want)
		}
	}
	write("bad.yaml", "signals:\n  - name: a\n    test: t-test\n")
	if _, err := ts.LoadConfigDir(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "bad.yaml line 3: signals[0].test") {
		t.Errorf("a bad file: %v", err)
	}
}

func TestConfigsChangedHook(t *testing.T) { forEachStore(t, testConfigsChangedHook) }

func testConfigsChangedHook(t *testing.T, kind storeKind) {
	var calls int
	ts := newTestServerOn(t, kind, Options{ConfigsChanged: func() { calls++ }})
	ts.call(t, "PUT", "/api/v1/configs/offline", "", offlineConfig, nil)
	ts.call(t, "PUT", "/api/v1/configs/bad", "", "signals: []\n", nil) // invalid: no call
	ts.call(t, "DELETE", "/api/v1/configs/offline", "", nil, nil)
	ts.call(t, "DELETE", "/api/v1/configs/offline", "", nil, nil) // 404: no call
	if calls != 2 {
		t.Errorf("ConfigsChanged called %d times, want 2 (one PUT, one DELETE)", calls)
	}
}

// TestQueueLimit: with MaxQueued 1 and an analysis waiting on a source
// that never answers, the next one is refused with 503.
func TestQueueLimit(t *testing.T) {
	ts := newTestServer(t, Options{
		MaxQueued: 1,
		Sources:   analysis.SourceSet{"prometheus": blockingSource{}},
	})
	cfg := "name: slow\nsignals:\n  - name: a\n    query: 'up{track=\"{{.track}}\"}'\n"
	ts.call(t, "PUT", "/api/v1/configs/slow", "", cfg, nil)
	body := `{"configName":"slow","baselineScope":{"track":"b"},"canaryScope":{"track":"c"},"lookback":"5m"}`
	if code, b := ts.call(t, "POST", "/api/v1/analyses", "", body, nil); code != 202 {
		t.Fatalf("first: %d %s", code, b)
	}
	var e errorBody
	if code, _ := ts.call(t, "POST", "/api/v1/analyses", "", body, &e); code != 503 || !strings.Contains(e.Error, "the limit") {
		t.Errorf("second: %d %q, want 503", code, e.Error)
	}
}

// TestJudgeReusesMemory sends judge requests of different sizes, some
// failing halfway through parsing, one after another to one server, which
// reuses its request memory between them, and checks every answer equals
// the one a fresh server gives: nothing of an earlier request shows in a
// later one.
func TestJudgeReusesMemory(t *testing.T) {
	body := func(n int, level float64) map[string]any {
		return map[string]any{"configName": "offline",
			"baseline": map[string]any{"latency": series(n, 100, 10), "errors": series(n/2, 0.01, 0.001)},
			"canary":   map[string]any{"latency": series(n+7, level, 10), "errors": series(n, 0.01, 0.002)}}
	}
	bodies := []any{
		body(900, 130),
		body(60, 100),
		`{"configName":"offline","baseline":{"latency":[1,2,3,4,5,6,7,8,9],"errors":[0,1,"x"]},"canary":{}}`,
		body(300, 103),
		`{"configName":"offline","baseline":{"latency":[5,null,6],"errors":[0]},"canary":{"latency":[5,6,7],"errors":[]}}`,
		body(900, 99),
	}
	answer := func(ts *testServer, b any) string {
		code, got := ts.call(t, "POST", "/api/v1/judge", "", b, nil)
		return fmt.Sprintf("%d %s", code, got)
	}
	newServer := func() *testServer {
		ts := newTestServer(t, Options{})
		if code, out := ts.call(t, "PUT", "/api/v1/configs/offline", "", offlineConfig, nil); code != 200 {
			t.Fatalf("PUT config: %d %s", code, out)
		}
		return ts
	}
	want := make([]string, len(bodies))
	for i, b := range bodies {
		want[i] = answer(newServer(), b)
	}
	shared := newServer()
	for round := range 3 {
		for i, b := range bodies {
			if got := answer(shared, b); got != want[i] {
				t.Fatalf("round %d, request %d: a reused server answered\n%s\na fresh one\n%s", round, i, got, want[i])
			}
		}
	}
	// And all at once, so that requests in flight hold different scratch
	// memory (run with -race too).
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(bodies))
	for range 4 {
		for i, b := range bodies {
			wg.Add(1)
			raw, ok := b.(string)
			if !ok {
				raw = string(mustJSON(t, b))
			}
			go func() {
				defer wg.Done()
				// Not ts.call: t.Fatal belongs to the test's goroutine.
				resp, err := http.Post(shared.URL+"/api/v1/judge", "application/json", strings.NewReader(raw))
				if err != nil {
					errs <- err.Error()
					return
				}
				defer resp.Body.Close()
				data, err := io.ReadAll(resp.Body)
				if got := fmt.Sprintf("%d %s", resp.StatusCode, data); err != nil || got != want[i] {
					errs <- fmt.Sprintf("concurrent request %d: %.200s (%v), want %.200s", i, got, err, want[i])
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestAnalysesListFilters lists stored analyses through the API with each
// filter, alone and combined: newest first, and since= taking the
// createdAt a client read from a view (to the nanosecond in JSON, whatever
// precision the store keeps) as inclusive, and that time plus 1 ns as
// excluding the analysis.
func TestAnalysesListFilters(t *testing.T) { forEachStore(t, testAnalysesListFilters) }

func testAnalysesListFilters(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{})
	ctx := t.Context()
	score := 42.0
	ids := map[string]string{} // label -> id
	for _, a := range []struct {
		label, config string
		end           *store.Outcome // nil: left running on another replica
		cancel        bool
	}{
		{"a1", "checkout", &store.Outcome{Status: store.Finished, Verdict: "pass", Score: &score}, false},
		{"a2", "checkout", &store.Outcome{Status: store.Finished, Verdict: "fail", Score: &score}, false},
		{"a3", "search", nil, false},
		{"a4", "checkout", nil, true},
	} {
		// A live analysis another replica holds for an hour: this server
		// never claims it.
		sa := &store.Analysis{ID: store.NewID(), ConfigName: a.config, Config: []byte(offlineConfig), Origin: "api", Status: store.Running,
			Owner: "elsewhere", LeaseUntil: time.Now().Add(time.Hour)}
		if err := ts.store.CreateAnalysis(ctx, sa); err != nil {
			t.Fatal(err)
		}
		switch {
		case a.end != nil:
			if err := ts.store.FinishAnalysis(ctx, sa.ID, *a.end); err != nil {
				t.Fatal(err)
			}
		case a.cancel:
			if err := ts.store.CancelAnalysis(ctx, sa.ID, "cancelled by request"); err != nil {
				t.Fatal(err)
			}
		}
		ids[a.label] = sa.ID
		time.Sleep(2 * time.Millisecond) // distinct creation times on every store's clock
	}
	label := map[string]string{}
	for l, id := range ids {
		label[id] = l
	}
	created := map[string]time.Time{}
	for l, id := range ids {
		var v analysisView
		if code, body := ts.call(t, "GET", "/api/v1/analyses/"+id, "", nil, &v); code != 200 {
			t.Fatalf("GET %s: %d %s", l, code, body)
		}
		if v.UpdatedAt.Before(v.CreatedAt) || (v.Status.Terminal() != (v.FinishedAt != nil)) {
			t.Errorf("%s: created %s updated %s finished %v, status %s", l, v.CreatedAt, v.UpdatedAt, v.FinishedAt, v.Status)
		}
		created[l] = v.CreatedAt
	}
	ns := func(tm time.Time) string { return url.QueryEscape(tm.Format(time.RFC3339Nano)) }
	for _, tc := range []struct{ query, want string }{
		{"", "a4,a3,a2,a1"},
		{"config=checkout", "a4,a2,a1"},
		{"verdict=fail", "a2"},
		{"status=running", "a3"},
		{"status=cancelled", "a4"},
		{"status=finished&config=checkout&limit=1", "a2"},
		{"config=nope", ""},
		{"since=" + ns(created["a2"]), "a4,a3,a2"},
		{"since=" + ns(created["a2"].Add(time.Nanosecond)), "a4,a3"},
		{"since=" + ns(created["a4"].Add(time.Nanosecond)), ""},
		{"since=24h&config=checkout", "a4,a2,a1"},
	} {
		var list struct {
			Analyses []analysisView `json:"analyses"`
		}
		code, body := ts.call(t, "GET", "/api/v1/analyses?"+tc.query, "", nil, &list)
		var got []string
		for _, v := range list.Analyses {
			got = append(got, label[v.ID])
			if !v.CreatedAt.Equal(created[label[v.ID]]) {
				t.Errorf("%s: %s listed as created %s, its view says %s", tc.query, label[v.ID], v.CreatedAt, created[label[v.ID]])
			}
		}
		if code != 200 || strings.Join(got, ",") != tc.want {
			t.Errorf("?%s: %d %v, want %s (%s)", tc.query, code, got, tc.want, body)
		}
	}
	// The HTML list takes the same filters.
	if page := htmlPage(t, ts, "/analyses?config=search"); !strings.Contains(page, ids["a3"]) || strings.Contains(page, ids["a1"]) {
		t.Errorf("the list page filtered by config search does not show just a3")
	}
}

// TestLookupKeysNotText asks for configs and analyses by names and ids that
// no store can hold (a NUL byte, bytes that are not UTF-8): every lookup is
// a 404 and every filtered list empty, as for any other unknown key, and no
// answer carries the database's own error text.
//
// PostgreSQL refuses such keys in a query (SQLSTATE 22021, "invalid byte
// sequence for encoding UTF8"); its store treats them as absent, and no
// answer may carry a database's message.
func TestLookupKeysNotText(t *testing.T) { forEachStore(t, testLookupKeysNotText) }

func testLookupKeysNotText(t *testing.T, kind storeKind) {
	ts := newTestServerOn(t, kind, Options{})
	if code, body := ts.call(t, "PUT", "/api/v1/configs/offline", "", offlineConfig, nil); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	var diffs []string
	for _, key := range []string{"a%00b", "a%FFb"} {
		for _, tc := range []struct {
			method, path, body string
			want               int
		}{
			{"GET", "/api/v1/configs/" + key, "", 404},
			{"DELETE", "/api/v1/configs/" + key, "", 404},
			{"GET", "/api/v1/analyses/" + key, "", 404},
			{"POST", "/api/v1/analyses/" + key + "/cancel", "", 404},
			{"GET", "/api/v1/analyses?config=" + key, "", 200},
			{"GET", "/canary/" + key, "", 404},
			{"POST", "/canary/" + key, "{}", 404},
			{"GET", "/standalone_canary_analysis/" + key, "", 404},
			{"POST", "/standalone_canary_analysis/" + key, "{}", 404},
			{"GET", "/api/v1/argo/" + key + "?baseline=track%3Db&canary=track%3Dc", "", 404},
			{"POST", "/api/v1/flagger/" + key, `{"name":"podinfo","namespace":"shop"}`, 404},
			{"POST", "/api/v1/judge", `{"configName":"` + strings.NewReplacer("%00", `\u0000`, "%FF", "\xff").Replace(key) + `","baseline":{},"canary":{}}`, 404},
			{"GET", "/configs/" + key, "", 404},
			{"GET", "/analyses/" + key, "", 404},
			{"GET", "/analyses?config=" + key, "", 200},
		} {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			code, got := ts.call(t, tc.method, tc.path, "", body, nil)
			got = strings.TrimSpace(got)
			if code != tc.want || strings.Contains(got, "SQLSTATE") {
				diffs = append(diffs, fmt.Sprintf("%s %s: %d, want %d: %.160s", tc.method, tc.path, code, tc.want, got))
			}
			if strings.HasPrefix(tc.path, "/api/v1/analyses?") && code == 200 && got != `{"analyses":[]}` {
				diffs = append(diffs, fmt.Sprintf("%s %s: %s, want no analyses", tc.method, tc.path, got))
			}
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%d requests:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}
