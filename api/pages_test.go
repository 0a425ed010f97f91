package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRootPage: GET / is the analyses page for a browser and a JSON 404
// pointing to the list for an API client.
func TestRootPage(t *testing.T) {
	ts := newTestServer(t, Options{})
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	for _, tc := range []struct {
		name, accept string
		wantStatus   int
		wantType     string
		wantBody     string
	}{
		{"a browser", browser, 200, "text/html", "<h1>Analyses</h1>"},
		{"xhtml only", "application/xhtml+xml", 200, "text/html", "<h1>Analyses</h1>"},
		{"curl", "*/*", 404, "application/json", "/api/v1/analyses"},
		{"no Accept", "", 404, "application/json", "/analyses (HTML)"},
		{"JSON", "application/json", 404, "application/json", "no such endpoint"},
		{"HTML refused", "text/html;q=0, application/json", 404, "application/json", "no such endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", ts.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("%d %s %q; want %d %s with %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.wantStatus, tc.wantType, tc.wantBody)
			}
		})
	}
	// Another path is still the JSON 404 of any unknown endpoint.
	if code, body := ts.call(t, "GET", "/nope", "", nil, nil); code != 404 || !strings.Contains(body, "no such endpoint") {
		t.Errorf("GET /nope: %d %s", code, body)
	}
}

// TestAnalysesPageShowsProgressAndScopes: a finished single-window
// analysis reads 1/1 (it did its judgement), and the list shows what each
// analysis compared.
func TestAnalysesPageShowsProgressAndScopes(t *testing.T) {
	forEachStore(t, testAnalysesPageShowsProgressAndScopes)
}

func testAnalysesPageShowsProgressAndScopes(t *testing.T, kind storeKind) {
	ts := liveServer(t, kind)
	body := map[string]any{"configName": "healthy", "lookback": "30m", "step": "15s",
		"baselineScope": map[string]string{"app": "shop", "track": "baseline"}, "canaryScope": map[string]string{"app": "shop", "track": "canary"}}
	var created struct {
		ID string `json:"id"`
	}
	if code, b := ts.call(t, "POST", "/api/v1/analyses", "", body, &created); code != 202 {
		t.Fatalf("POST: %d %s", code, b)
	}
	waitFinished(t, ts, created.ID)
	page := htmlPage(t, ts, "/analyses")
	row := page[strings.Index(page, `data-analysis="`+created.ID+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "<td>1/1</td>") {
		t.Errorf("the finished analysis' row does not read 1/1: %s", row)
	}
	if !strings.Contains(row, "app=shop, track: baseline → canary") {
		t.Errorf("the row lacks its scopes: %s", row)
	}
	var v analysisView
	ts.call(t, "GET", "/api/v1/analyses/"+created.ID, "", nil, &v)
	if v.Progress.Done != 1 || v.Scopes == nil || v.Scopes.Canary["track"] != "canary" {
		t.Errorf("API view: progress %+v, scopes %+v", v.Progress, v.Scopes)
	}
}
