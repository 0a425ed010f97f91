package api

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawRequest is a request as a browser or a client sends it: a Host of its
// own choosing, any headers, a body of any type.
type rawRequest struct {
	method, path, host, body string
	header                   map[string]string
}

// send sends req to ts and returns the status, the headers and the body.
func (ts *testServer) send(t *testing.T, req rawRequest) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequest(req.method, ts.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.host != "" {
		r.Host = req.host
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(data)
}

// TestCrossSiteRequests checks the no-token mode against what a web page
// the operator opens can send: a POST with a body of a type browsers send
// to any site without asking (text/plain, a form, none) is refused with
// 415 whatever its origin; a request from another origin or site (Origin,
// Sec-Fetch-Site) that would judge or change anything, and any request
// addressed to a host that is not a loopback one (a page's own name
// rebound to 127.0.0.1), with 403; and none of them stores anything.
// Requests of this server's own origin and of clients that send no such
// headers are served.
func TestCrossSiteRequests(t *testing.T) {
	ts := liveServer(t, onSQLite)
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	own := "http://" + u.Host
	jsonType := map[string]string{"Content-Type": "application/json"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	for _, tc := range []struct {
		name     string
		req      rawRequest
		want     int
		wantText string
		stores   int // analyses the request stores when served
	}{
		{"text/plain POST from a foreign origin", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "text/plain", "Origin", "https://evil.example")}, 403, `Origin \"https://evil.example\" is not this server's`, 0},
		{"text/plain POST", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "text/plain;charset=UTF-8")}, 415, "send the body as application/json", 0},
		{"form POST", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/x-www-form-urlencoded")}, 415, "application/x-www-form-urlencoded", 0},
		{"multipart POST", rawRequest{method: "POST", path: "/api/v1/judge", body: "--x\r\n\r\n{}\r\n--x--",
			header: with("Content-Type", "multipart/form-data; boundary=x")}, 415, "multipart/form-data", 0},
		{"POST without Content-Type", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis}, 415, "has no Content-Type", 0},
		{"text/plain judge", rawRequest{method: "POST", path: "/api/v1/judge", body: `{"configName":"healthy","baseline":{},"canary":{}}`,
			header: with("Content-Type", "text/plain")}, 415, "", 0},
		{"text/plain cancel without a body", rawRequest{method: "POST", path: "/api/v1/analyses/some-id/cancel",
			header: with("Content-Type", "text/plain")}, 415, "", 0},
		{"text/plain Flagger webhook", rawRequest{method: "POST", path: "/api/v1/flagger/healthy", body: `{"name":"podinfo","namespace":"test"}`,
			header: with("Content-Type", "text/plain")}, 415, "", 0},
		{"text/plain config", rawRequest{method: "PUT", path: "/api/v1/configs/other", body: liveHealthy,
			header: with("Content-Type", "text/plain")}, 415, "application/json or application/yaml", 0},
		{"JSON from a foreign origin", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/json", "Origin", "https://evil.example")}, 403, "", 0},
		{"JSON from a sandboxed page (Origin null)", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/json", "Origin", "null")}, 403, "", 0},
		{"JSON from another port of localhost", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/json", "Origin", "http://127.0.0.1:1")}, 403, "", 0},
		{"cross-site by Sec-Fetch-Site", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/json", "Sec-Fetch-Site", "cross-site")}, 403, "Sec-Fetch-Site: cross-site", 0},
		{"same-site by Sec-Fetch-Site (another local port)", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/json", "Sec-Fetch-Site", "same-site")}, 403, "", 0},
		{"a rebound host name", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis, host: "evil.example:" + port,
			header: jsonType}, 403, `Host \"evil.example:` + port + `\" is not a loopback name`, 0},
		{"0.0.0.0 is not loopback", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis, host: "0.0.0.0:" + port,
			header: jsonType}, 403, "", 0},
		{"a config from a foreign origin", rawRequest{method: "PUT", path: "/api/v1/configs/other", body: liveHealthy,
			header: with("Content-Type", "application/yaml", "Origin", "https://evil.example")}, 403, "", 0},
		{"Argo measurement from another site", rawRequest{method: "GET", path: liveArgo,
			header: with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors")}, 403, "", 0},
		{"Argo measurement to a rebound host", rawRequest{method: "GET", path: liveArgo, host: "evil.example"}, 403, "", 0},
		{"reading through a rebound host", rawRequest{method: "GET", path: "/api/v1/analyses", host: "evil.example:" + port}, 403, "", 0},
		{"a report page through a rebound host", rawRequest{method: "GET", path: "/analyses", host: "evil.example:" + port}, 403, "", 0},

		{"JSON from this server's own page", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis,
			header: with("Content-Type", "application/json", "Origin", own, "Sec-Fetch-Site", "same-origin")}, 202, "", 1},
		{"JSON to localhost", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis, host: "localhost:" + port,
			header: with("Content-Type", "application/json; charset=utf-8", "Origin", "http://localhost:"+port)}, 202, "", 1},
		{"JSON to ::1", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis, host: "[::1]:" + port, header: jsonType}, 202, "", 1},
		{"JSON from curl", rawRequest{method: "POST", path: "/api/v1/analyses", body: liveAnalysis, header: jsonType}, 202, "", 1},
		{"Argo measurement", rawRequest{method: "GET", path: liveArgo}, 200, `"verdict":"pass"`, 1},
		{"a config as YAML", rawRequest{method: "PUT", path: "/api/v1/configs/healthy", body: liveHealthy,
			header: with("Content-Type", "application/x-yaml")}, 200, "", 0},
		{"a link followed from another site", rawRequest{method: "GET", path: "/analyses",
			header: with("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate")}, 200, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(ts.storedAnalyses(t))
			code, _, body := ts.send(t, tc.req)
			if code != tc.want || !strings.Contains(body, tc.wantText) {
				t.Fatalf("%d %s, want %d with %s", code, body, tc.want, tc.wantText)
			}
			if code >= 400 && !strings.HasPrefix(body, `{"error":`) {
				t.Errorf("the refusal is not a JSON error: %s", body)
			}
			if got := len(ts.storedAnalyses(t)) - before; got != tc.stores {
				t.Errorf("%d analyses stored, want %d", got, tc.stores)
			}
		})
	}
}

// TestLinksNeverFromHost checks that the links an answer carries (url,
// reportURL) come from the external URL, or are paths without one, and
// never from the request's Host header, which a client chooses.
func TestLinksNeverFromHost(t *testing.T) {
	const writeTok = "write-token-0123456789"
	tokens, err := ParseTokens("test", "write "+writeTok)
	if err != nil {
		t.Fatal(err)
	}
	now := e2eStart.Add(50 * time.Minute)
	for _, tc := range []struct {
		name, external, wantBase string
	}{
		{"external URL", "https://verdict.example.com/canary/", "https://verdict.example.com/canary"},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServerOn(t, onSQLite, Options{Sources: promSources(t, e2ePrometheus(t)), Now: func() time.Time { return now },
				Tokens: tokens, ExternalURL: tc.external})
			if code, body := ts.call(t, "PUT", "/api/v1/configs/healthy", writeTok, liveHealthy, nil); code != 200 {
				t.Fatalf("PUT: %d %s", code, body)
			}
			auth := map[string]string{"Authorization": "Bearer " + writeTok, "Content-Type": "application/json"}
			code, _, body := ts.send(t, rawRequest{method: "POST", path: "/api/v1/analyses", host: "evil.example", body: liveAnalysis, header: auth})
			if code != 202 {
				t.Fatalf("POST analyses: %d %s", code, body)
			}
			id := jsonPath(t, []byte(body), "{$.id}")
			if got, want := jsonPath(t, []byte(body), "{$.url}"), tc.wantBase+"/api/v1/analyses/"+id; got != want {
				t.Errorf("url %q, want %q", got, want)
			}
			code, _, body = ts.send(t, rawRequest{method: "GET", path: liveArgo, host: "evil.example", header: auth})
			if code != 200 {
				t.Fatalf("Argo: %d %s", code, body)
			}
			id = jsonPath(t, []byte(body), "{$.id}")
			if got, want := jsonPath(t, []byte(body), "{$.reportURL}"), tc.wantBase+"/analyses/"+id; got != want {
				t.Errorf("reportURL %q, want %q", got, want)
			}
			code, _, body = ts.send(t, rawRequest{method: "GET", path: "/api/v1/analyses/" + id, host: "evil.example", header: auth})
			if code != 200 || strings.Contains(body, "evil.example") {
				t.Errorf("GET analysis: %d %s, want 200 without the Host in it", code, body)
			}
		})
	}
}

func TestExternalURLChecked(t *testing.T) {
	for _, tc := range []struct{ url, wantErr string }{
		{"https://verdict.example.com", ""},
		{"http://127.0.0.1:8080/prefix/", ""},
		{"verdict.example.com", "not an http:// or https:// URL"},
		{"ftp://verdict.example.com", "not an http:// or https:// URL"},
		{"https://", "not an http:// or https:// URL"},
		{"https://verdict.example.com/?a=b", "no user, query or fragment"},
		{"https://user@verdict.example.com", "no user, query or fragment"},
		{"https://verdict.example.com/#top", "no user, query or fragment"},
	} {
		err := CheckExternalURL(tc.url)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("CheckExternalURL(%q) = %v, want %q", tc.url, err, tc.wantErr)
		}
	}
}

func TestOwnHost(t *testing.T) {
	s := &Server{}
	ext := &Server{}
	var err error
	if ext.external, err = parseExternalURL("https://Verdict.Example.com:8443"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host          string
		want, withExt bool
	}{
		{"127.0.0.1:8080", true, true},
		{"127.0.0.2", true, true},
		{"[::1]:8080", true, true},
		{"[::ffff:127.0.0.1]:8080", true, true},
		{"localhost:8080", true, true},
		{"LOCALHOST.", true, true},
		{"", true, true}, // HTTP/1.0 without Host: no browser
		{"evil.example:8080", false, false},
		{"localhost.evil.example", false, false},
		{"evil.localhost", false, false},
		{"0.0.0.0:8080", false, false},
		{"10.0.0.1", false, false},
		{"verdict.example.com", false, true},
		{"verdict.example.com:443", false, true},
	} {
		if got := s.ownHost(tc.host); got != tc.want {
			t.Errorf("without an external URL, ownHost(%q) = %v, want %v", tc.host, got, tc.want)
		}
		if got := ext.ownHost(tc.host); got != tc.withExt {
			t.Errorf("with an external URL, ownHost(%q) = %v, want %v", tc.host, got, tc.withExt)
		}
	}
}
