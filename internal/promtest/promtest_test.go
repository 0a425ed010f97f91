package promtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestStartServesTheGivenSeries(t *testing.T) {
	s := Start(t, "# TYPE demo gauge\n"+
		"demo{track=\"canary\"} 1.5 1704067200\n"+
		"demo{track=\"canary\"} 2.5 1704067260\n"+
		"# EOF\n")
	u := s.URL + "/api/v1/query?" + url.Values{"query": {`demo{track="canary"}`}, "time": {"1704067260"}}.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 || body.Data.Result[0].Value[1] != "2.5" {
		t.Fatalf("got %+v, want one sample 2.5", body)
	}

	s.Stop()
	if _, err := http.Get(u); err == nil {
		t.Fatal("server still answers after Stop")
	}
	s.Stop() // a second Stop (and the cleanup's) must not block
}

// TestAcceptedConnections: each new connection to Prometheus is counted.
func TestAcceptedConnections(t *testing.T) {
	s := Start(t, "")
	before, err := AcceptedConnections(t.Context(), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(s.URL + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	after, err := AcceptedConnections(t.Context(), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The three requests, and the first read's own connection.
	if after-before != 4 {
		t.Errorf("accepted %d then %d, want 4 more", before, after)
	}
}

// TestHugeMatrix: the answer is a valid matrix of at least the size asked.
func TestHugeMatrix(t *testing.T) {
	srv := httptest.NewServer(HugeMatrix(300<<10, time.Millisecond))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct {
				Values [][2]any
			}
		}
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	if len(body) < 300<<10 || answer.Status != "success" || answer.Data.ResultType != "matrix" || len(answer.Data.Result) != 1 || len(answer.Data.Result[0].Values) < 10000 {
		t.Errorf("%d bytes: status %q, %s with %d series", len(body), answer.Status, answer.Data.ResultType, len(answer.Data.Result))
	}
}
