// Package runner runs the live analyses of `verdict serve`: it stores each
// analysis before it starts, runs it on a bounded pool of workers, records
// its progress and its end, owns it in the store under a lease that other
// replicas respect, resumes or interrupts what a previous process or a
// dead replica left, and cancels. The HTTP handlers (package api) and the
// scheduler (package analysis/schedule, through RunSchedule) drive it
// alike; it knows nothing of HTTP.
//
// Lifecycle, like Prometheus' rules.Manager: New builds a Runner (Submit
// and Look work at once), Resume claims what is left to run at start, and
// Run renews leases and takes over the work of dead replicas until its
// context ends; then it stops the background analyses, waits for them and
// hands their leases over before it returns. verdict serve's api.Server
// runs its runner from api.New to Server.Close.
//
// Decisions:
//   - Every analysis is stored before it runs (Submit: queued, in the
//     background; Look: running, synchronously for Argo, Flagger and the
//     schedules' firings), so a report URL can be opened later and a crash
//     never loses one. A background judgement takes one of Workers slots;
//     a multi-interval analysis holds none while it waits for its next
//     interval. MaxQueued bounds the background analyses running or
//     waiting (QueueFullError). A request beyond the bounds of a live
//     analysis (analysis.CheckExtent) or whose config cannot run for its
//     scopes is ErrInvalid, its text naming the field.
//   - The outcome of an analysis that ended is retried while the store
//     refuses it (RecordRetry); then the runner gives the analysis up and
//     leaves it out of its lease renewals, so its lease lapses and a claim
//     resumes or interrupts it instead of it staying running forever.
//   - A restart resumes every unfinished analysis whose window started
//     within ResumeWithin and whose config still parses; the others are
//     marked interrupted with a reason. An analysis is never lost and never
//     turned into a pass by a crash. A synchronous judgement that runs out
//     of time or loses its caller is recorded as interrupted too; one whose
//     server died is interrupted by the claim (its caller asks again).
//   - Replicas sharing a store own what they run (Options.InstanceID, a
//     lease of Options.Lease renewed every Lease/3). At start a runner
//     claims only its own unfinished analyses and those whose lease
//     expired, never one a live replica holds; every Lease/2 it takes over
//     those of replicas that died, by the same resume-or-interrupt rules,
//     and tells its Observer (verdict_analyses_taken_over_total). A claim
//     takes all of the runner's own analyses but at most as many of
//     others' as it has free workers (at least one), the oldest first, so
//     that a dead replica's work is spread over the survivors. Progress and
//     outcome writes are fenced by owner, and a lease renewal lists what
//     the runner still holds: an analysis cancelled through another
//     replica, or taken over after a lapse, stops here without writing. A
//     renewal names the analyses this runner is working on, nothing else.
//     Run hands the leases over after the work in flight has ended.
//   - Replicas run the same schedules, and each firing once (RunSchedule):
//     every replica meets a firing at its due time, checks the stored
//     config still has that schedule, and claims the firing by config,
//     schedule index and due time (store.ClaimFiring); only the claimer
//     judges it, the others return schedule.ErrElsewhere; the analysis'
//     request records the due time (Plan.Due). A replica killed between its
//     claim and the analysis' creation (one statement apart) loses that
//     firing; once the analysis is stored, its lease carries it to another
//     replica as any other.
//   - For a config with sequential: anytime, the Argo and Flagger looks and
//     the schedules' firings at one canary share its evidence, stored by
//     config and canary (look.go): each look judges all the data since the
//     evidence started, with the references its first look set, and its
//     report says what it decided (report.evidence). A resumed
//     multi-interval analysis keeps the judgements it recorded and
//     continues from the references they recorded.
//   - Every analysis that ends is told to the Observer (metrics) and, with
//     Options.Events, pushed as a verdict event, whatever its origin; a
//     push that fails is logged, never the analysis' outcome.
package runner
