package api

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/internal/promtest"
)

// rolloutCanary is one canary of the rollout-controller tests: the traffic
// of each side and how the canary behaves. Its series carry the labels
// the documented configs select on: namespace (its name) and app
// (podinfo-primary, podinfo) for Flagger's workloads, service (checkout)
// and rollouts_pod_template_hash (NAME-stable, NAME-canary) for Argo
// Rollouts' pods.
type rolloutCanary struct {
	name string
	// rps is the requests per second of both sides together, split
	// canaryShare to the canary.
	rps, canaryShare float64
	// errors is the baseline's share of 5xx answers; the canary's is
	// errors × canaryErrors.
	errors, canaryErrors float64
	// canarySlower multiplies the canary's latencies.
	canarySlower float64
	// servedFor is how long before now the canary has received its share
	// (0: the whole time); before that it got nothing, as before a rollout
	// step set its weight.
	servedFor time.Duration
	// noCanary leaves the canary's series out: a scope that matches
	// nothing.
	noCanary bool
}

// rolloutBounds are the latency histogram's buckets (seconds).
var rolloutBounds = []float64{0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5}

// writeRolloutTraffic writes what the pods of each canary export, scraped
// every 15 s, from 40 minutes before now to 10 minutes after (so that the
// windows the clients ask about while the test runs are whole; a query at
// time t reads no sample after t): http_requests_total by code and the
// classic histogram http_request_duration_seconds, latencies log-normal
// around 100 ms (σ 0.4: p95 190 ms, p99 250 ms).
//
// The counters are the traffic's expected counts, without sampling noise:
// each counter is the whole part of what the traffic has produced so far.
// So the answers do not depend on which minute a test's window falls on;
// how often the tests err under noise is docs/quality.md's subject, not
// this one's.
func writeRolloutTraffic(t *testing.T, srv *promtest.Server, now time.Time, canaries []rolloutCanary) {
	t.Helper()
	const scrape = 15 * time.Second
	start, end := now.Add(-40*time.Minute), now.Add(10*time.Minute)
	var batch []promtest.Series
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := srv.Write(context.Background(), batch...); err != nil {
			t.Fatal(err)
		}
		batch = nil
	}
	for ts := start; !ts.After(end); ts = ts.Add(scrape) {
		for _, c := range canaries {
			for _, track := range []string{"stable", "canary"} {
				rps, errRatio, slower, from := c.rps*(1-c.canaryShare), c.errors, 1.0, start
				if track == "canary" {
					if c.noCanary {
						continue
					}
					rps, errRatio, slower = c.rps*c.canaryShare, c.errors*c.canaryErrors, c.canarySlower
					if c.servedFor > 0 {
						from = now.Add(-c.servedFor)
					}
				}
				requests := math.Floor(rps * max(0, ts.Sub(from).Seconds()))
				failed := math.Floor(requests * errRatio)
				app := "podinfo"
				if track == "stable" {
					app = "podinfo-primary"
				}
				labels := func(name, k, v string) map[string]string {
					return map[string]string{"__name__": name, k: v, "namespace": c.name, "app": app, "service": "checkout",
						"rollouts_pod_template_hash": c.name + "-" + track, "job": "pods"}
				}
				sample := func(v float64) []promtest.Sample { return []promtest.Sample{{Time: ts, Value: v}} }
				batch = append(batch,
					promtest.Series{Labels: labels("http_requests_total", "code", "200"), Samples: sample(requests - failed)},
					promtest.Series{Labels: labels("http_requests_total", "code", "503"), Samples: sample(failed)},
				)
				median := 0.1 * slower
				for _, bound := range rolloutBounds {
					below := 0.5 * math.Erfc(-math.Log(bound/median)/0.4/math.Sqrt2) // log-normal CDF
					batch = append(batch, promtest.Series{Labels: labels("http_request_duration_seconds_bucket", "le", strconv.FormatFloat(bound, 'g', -1, 64)),
						Samples: sample(math.Floor(requests * below))})
				}
				batch = append(batch, promtest.Series{Labels: labels("http_request_duration_seconds_bucket", "le", "+Inf"), Samples: sample(requests)})
			}
		}
		if ts.Sub(start)%time.Minute == 0 {
			flush()
		}
	}
	flush()
}
