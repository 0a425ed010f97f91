package promtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
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
