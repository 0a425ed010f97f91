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

// TestReadConnections: each new connection to Prometheus is counted as
// accepted, and as closed once closed; a kept-alive one stays open.
func TestReadConnections(t *testing.T) {
	s := Start(t, "")
	before, err := ReadConnections(t.Context(), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	get := func(c *http.Client) {
		resp, err := c.Get(s.URL + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	closing := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 3 {
		get(closing)
	}
	kept := &http.Client{Transport: &http.Transport{}}
	get(kept)
	get(kept)
	var after Connections
	reads := 0
	deadline := time.Now().Add(10 * time.Second)
	for {
		if after, err = ReadConnections(t.Context(), s.URL); err != nil {
			t.Fatal(err)
		}
		reads++
		if after.Open()-before.Open() == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Three closed requests, one kept-alive connection, the reads.
	if want := 4 + reads; after.Accepted-before.Accepted != want || after.Open()-before.Open() != 1 {
		t.Errorf("before %+v, after %+v: want %d more accepted and 1 more open", before, after, want)
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
