package try

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
	"github.com/verdict-aca/verdict/metrics/file"
)

// fixturesRoot is the fixtures directory, relative to this package.
const fixturesRoot = "../../fixtures"

// buildVerdict builds cmd/verdict into a temporary directory.
func buildVerdict(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "verdict")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/verdict")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/verdict: %v\n%s", err, out)
	}
	return bin
}

// getJSON decodes the JSON answer of a GET.
func getJSON(t *testing.T, u string, into any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, body)
	}
}

// newestSample is the time of the newest sample of the healthy canary's
// CPU gauge at or before at.
func newestSample(t *testing.T, env *Env, at time.Time) time.Time {
	t.Helper()
	var answer struct {
		Data struct {
			Result []struct {
				Value [2]json.RawMessage
			}
		}
	}
	q := url.Values{"query": {`max(timestamp(process_cpu_percent{scenario="healthy",track="canary"}))`}, "time": {strconv.FormatInt(at.Unix(), 10)}}
	getJSON(t, env.PrometheusURL+"/api/v1/query?"+q.Encode(), &answer)
	if len(answer.Data.Result) != 1 {
		t.Fatalf("no CPU sample of the healthy canary at %s", at)
	}
	var s string
	if err := json.Unmarshal(answer.Data.Result[0].Value[1], &s); err != nil {
		t.Fatal(err)
	}
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(int64(sec), 0)
}

// TestStart brings the playground up on a taken preferred port and checks
// what it promises: the data ends now and keeps coming, the logs are there,
// verdict serve has the configs, and Stop stops every server.
func TestStart(t *testing.T) {
	promtest.Binaries(t)
	verdict := buildVerdict(t)
	// Take a port, and ask for it: verdict serve must move to a free one.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	started := time.Now()
	env, err := Start(context.Background(), Options{Verdict: verdict, Fixtures: fixturesRoot, Dir: t.TempDir(), ServePort: takenPort, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Stop)

	t.Run("a taken port is replaced and named", func(t *testing.T) {
		if strings.HasSuffix(env.ServeURL, ":"+strconv.Itoa(takenPort)) {
			t.Fatalf("verdict serve is on the taken port: %s", env.ServeURL)
		}
		want := fmt.Sprintf("port %d was taken, so verdict serve is on %s", takenPort, Addr(env.ServeURL))
		if got := env.MovedPorts(); got != want {
			t.Errorf("MovedPorts() = %q, want %q", got, want)
		}
	})

	t.Run("the data ends now and keeps coming", func(t *testing.T) {
		// The last hour is written before Start returns, up to the
		// present (samples go in half a step ahead of their time).
		at := time.Now()
		newest := newestSample(t, env, at.Add(time.Minute))
		if newest.Before(started.Add(-10*time.Second)) || newest.After(at.Add(10*time.Second)) {
			t.Fatalf("the newest sample is at %s; want one within 10 s of %s", newest, at)
		}
		oldest := newestSample(t, env, started.Add(-59*time.Minute))
		if started.Add(-59*time.Minute).Sub(oldest) > 10*time.Second {
			t.Errorf("at %s the newest sample is from %s: the hour before the start has a gap", started.Add(-59*time.Minute), oldest)
		}
		// A later sample arrives (a hang guard, not a timing check).
		deadline := time.Now().Add(time.Minute)
		for !newestSample(t, env, time.Now().Add(time.Minute)).After(newest) {
			if time.Now().After(deadline) {
				t.Fatalf("no sample after %s within a minute", newest)
			}
			select {
			case err := <-env.Failed():
				t.Fatalf("the feed stopped: %v", err)
			case <-time.After(time.Second):
			}
		}
	})

	t.Run("the checkout logs hold the failed checkouts", func(t *testing.T) {
		// Every error of the error spike's canary in its CSV is a failed
		// checkout in the first hour of the feed.
		series, err := file.Load(context.Background(), filepath.Join(fixturesRoot, "error-spike", "canary.csv"))
		if err != nil {
			t.Fatal(err)
		}
		want := 0.0
		for _, s := range series {
			if s.Signal == "errors" {
				for _, v := range s.Values {
					want += v
				}
			}
		}
		var answer struct {
			Data struct {
				Result []struct {
					Values [][2]json.RawMessage
				}
			}
		}
		end := env.feed.Start().Add(time.Hour).Unix()
		q := url.Values{"query": {`sum(count_over_time({app="checkout", scenario="error-spike", track="canary"} |= "level=error" [1h]))`},
			"start": {strconv.FormatInt(end, 10)}, "end": {strconv.FormatInt(end, 10)}, "step": {"10"}}
		getJSON(t, env.LokiURL+"/loki/api/v1/query_range?"+q.Encode(), &answer)
		if len(answer.Data.Result) != 1 || len(answer.Data.Result[0].Values) != 1 {
			t.Fatalf("no failed checkout of the error spike's canary in the first hour: %+v", answer)
		}
		var got string
		_ = json.Unmarshal(answer.Data.Result[0].Values[0][1], &got)
		if got != strconv.Itoa(int(want)) {
			t.Errorf("%s failed checkouts in the first hour, want the CSV's %g errors", got, want)
		}
	})

	t.Run("verdict serve has the configs", func(t *testing.T) {
		var list struct {
			Configs []struct{ Name string }
		}
		getJSON(t, env.ServeURL+"/api/v1/configs", &list)
		var got []string
		for _, c := range list.Configs {
			got = append(got, c.Name)
		}
		if strings.Join(got, ",") != strings.Join(env.Configs, ",") {
			t.Errorf("stored configs %v, want %v", got, env.Configs)
		}
		for _, want := range []string{"checkout", "checkout-release", "checkout-logs", "checkout-healthy"} {
			if !strings.Contains(","+strings.Join(got, ",")+",", ","+want+",") {
				t.Errorf("no config %s among %v", want, got)
			}
		}
	})

	t.Run("Stop stops every server", func(t *testing.T) {
		env.Stop()
		for _, u := range []string{env.PrometheusURL + "/-/ready", env.LokiURL + "/loki/api/v1/query_range", env.ServeURL + "/healthz"} {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
				t.Errorf("%s still answers after Stop", u)
			}
		}
		env.Stop() // a second Stop returns
	})
}

// TestStartWithoutPrometheus: without prometheus on PATH, Start says how to
// install it and starts nothing.
func TestStartWithoutPrometheus(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{Verdict: "verdict", Fixtures: fixturesRoot, Dir: t.TempDir()})
	if !errors.Is(err, ErrNoPrometheus) || !strings.Contains(err.Error(), "apt-get install prometheus") {
		t.Fatalf("error %v, want ErrNoPrometheus naming the package", err)
	}
}

// TestWriteConfigs: the configs of fixtures/prometheus and fixtures/try are
// copied, named by their name: field; two configs of one name are refused.
func TestWriteConfigs(t *testing.T) {
	dir := t.TempDir()
	names, err := writeConfigs(fixturesRoot, dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != len(names) || len(names) < 12 {
		t.Fatalf("%d files and names %v, want as many and at least 12", len(files), names)
	}

	root := t.TempDir()
	for _, d := range []string{"prometheus", "try"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, d, "a.yaml"), []byte("name: same\nsignals: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := writeConfigs(root, t.TempDir()); err == nil || !strings.Contains(err.Error(), "two configs named same") {
		t.Fatalf("error %v, want two configs named same", err)
	}
}
