// Package quality is Verdict's verdict-quality harness: it measures how
// often the default judge (judge + scoring) and the Kayenta-compatible judge
// (kayenta) raise false alarms on unchanged canaries and how often
// they catch regressions, on the same labelled scenarios.
//
// Scenarios are families of production-like series (lognormal, gamma,
// bimodal and heavy-tailed latencies; sparse, bursty and zero-baseline error
// counts; shared diurnal trends and load spikes; AR(1) autocorrelation), at
// several sizes per side, in canaries of 1, 10 or 30 signals, either A/A or
// with one signal regressed in its median or only in its tail (p99). Every
// series is drawn from a math/rand/v2 PCG stream whose seed depends only on
// the run's seed and the scenario, so a run is reproducible and independent
// of scheduling.
//
// Decisions of the harness:
//   - A false alarm is an A/A canary judged fail or marginal (both stop or
//     pause a rollout); the fail-only rate is reported beside it. Detection
//     is a regressed canary judged fail or marginal.
//   - Signals are judged once and canaries composed from them: A/A canaries
//     of k signals use disjoint groups of a pool of A/A signals; a
//     regression canary adds k−1 pool signals to its regressed signal (pool
//     signals are reused across canaries, never within one).
//   - Both judges see the same data with a rise as the harmful direction;
//     the default judge compares counts with its rate test, Kayenta uses its
//     only (Mann-Whitney) classifier. Both score with pass 95, marginal 75.
//   - For latency families a third judge, verdict+p99, adds a p99 signal
//     (test: quantile) on the canary's first series, the regressed one in
//     regression canaries: the realistic set-up of a latency judged twice,
//     median and p99. It shows what the tail test catches and what it
//     costs in false alarms and none verdicts (too few points for a p99).
//   - Rates carry Wilson 95% intervals.
//
// Full runs the grid that `make quality-docs` writes into docs/quality.md; Quick
// is a reduced run for tests.
//
// The traffic study (RunTraffic; TrafficFull and TrafficQuick) judges
// release signals as they are collected: counts with their traffic. A
// service of 1,000 or 10,000 requests per minute sends a share of its
// traffic (50/50 to 99/1) to the canary for 15 or 60 one-minute windows;
// both sides share the traffic's ramp and noise, a drifting error ratio
// with incidents that hit every pod, and the latency's drift. Errors come
// in clusters (retries) and checkouts in sessions, so counts are
// overdispersed; latencies are lognormal per request, counted into
// Prometheus' default buckets and into a native histogram of schema 2 from
// the same requests (a multinomial per window drawn as a chain of
// binomials). Each canary is judged four ways: the tests of counts
// (judge.JudgeSamples: rate with exposure, proportion with trials,
// histogram p50 and p99), the old way (mann-whitney on per-window ratios
// and histogram_quantile values; rate on error counts without their
// traffic), an oracle (the exact test of the canary's unbinned data
// against the baseline's true rates and distribution, the most powerful
// test of the question), and as a release canary of the four signals
// (error_ratio critical, each signal its own group) scored by
// scoring.Score. Streams depend only on the seed, the scenario and the
// replicate.
//
// The sequential study (RunLooks; LooksFull and LooksQuick) looks at the
// same canaries again and again over an hour: every 30 seconds, every
// minute, and at irregular times (exponential gaps of 2 minutes on
// average). Each look judges all the data so far, as
// analysis.RunIntervals does, in five ways: the fixed-horizon test
// repeated at every look (sequential off: what other open-source judges
// do), the level spent over the run's planned looks (sequential: planned),
// anytime-valid decisions with no horizon known (sequential: anytime
// judged one look at a time, which may also stop early on a pass once
// every signal is shown within its allowance), the same with the hour
// known (a multi-interval anytime run, whose lifetime it is:
// judge.Horizon), and one fixed-horizon test at the end. LooksScaled runs
// a share of the full study's runs. Its canaries are the traffic study's
// release canary in 30-second windows (ReleaseCanary) and a critical
// latency judged by mann-whitney on a point every 10 seconds
// (LatencyCanary), each given as the config an operator would write; the
// study judges every look from the config's specs and scoring spec with
// the options analysis.Run gives, and looks_test.go checks that
// RunIntervals, fed the same data by a source, judges every look alike
// (as the known horizon, since a run knows its lifetime). A
// run records when it first failed, when a critical failure first came,
// when it stopped early on a pass, and the verdict it ended on.
//
// The consequence study (RunFamily; FamilyFull and FamilyQuick) judges a
// realistic canary of ten signals in three groups at 360 points a side,
// two of them critical (a lognormal latency with allowedChange 5% and a
// 5xx count), the others gamma and bimodal latencies, bursty counts and
// real CPU, network and disk series of the Numenta Anomaly Benchmark
// (nab/, MIT licence: each side takes the alternate points of one stretch
// of normal operation), with the default judge and scoring, whose errors
// are shared by consequence (judge.AdjustFamily), and with Kayenta's
// algorithm given the same groups, critical flags and allowances (as mean
// ratios).
package quality
