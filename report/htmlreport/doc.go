// Package htmlreport renders an analysis.Report as one self-contained HTML
// page for people deciding, in seconds, whether a canary may proceed:
// `verdict judge --format html` writes it, and the service serves the same
// page for a stored analysis through WritePage.
//
// Decisions:
//   - One file, no external assets: CSS is inlined, plots are inline SVG
//     drawn with gonum.org/v1/plot (vg/vgsvg), and there is no JavaScript.
//     The page can be attached to a ticket, mailed or printed.
//   - Meaning never depends on colour: every verdict and signal carries a
//     word and a mark (✔ pass, ✘ fail, ! critical failure or marginal
//     verdict, ? no data or error); colour and borders only reinforce it.
//     In plots the canary is dashed and the baseline solid, so they read in
//     grey print; blue and orange stay apart for common colour deficiencies.
//   - Signals are ordered by what needs attention: critical failures,
//     failures, no data or errors, then passes; config order within each.
//   - Plots per signal of points: (a) both series on one axis over time
//     (over the point index when a side has no times), reduced to
//     per-bucket min/max envelopes of at most 500 points per line; (b) both
//     ECDFs, at most 200 steps each, with the baseline median, the baseline
//     median moved by the Hodges–Lehmann shift and its interval as a band,
//     and the allowed change (or a threshold test's bounds). A multi-interval
//     run adds the score of every interval (axis 0..100) against the
//     thresholds. These limits keep a 50-signal report with 360 points per
//     side well under 2 MB.
//   - A multi-interval analysis whose looks recorded their signals
//     (analysis.IntervalSignal) adds per signal a plot of its looks, over
//     minutes since the start: the estimated change and the harmful side's
//     bound at each look (with sequential: anytime, a confidence-sequence
//     bound), the allowed change shaded on the harmful side (both sides
//     for direction either, whose bound is a size and is drawn at ±), a
//     dashed line at the look where the run stopped, labelled with why
//     (a fail, every signal within its allowance, or its last look), and
//     a ring on the look the signal's outcome dates from: its estimate
//     where it failed, its bound where it came within (package
//     report/internal/looks reads this, for the table and Markdown too).
//     A bound beyond five times the largest of the allowance, the
//     estimates and the last bound is drawn at the plot's edge, and the
//     legend says so; a run of more than 60 looks loses the marks of its
//     looks and each line is reduced to an envelope of at most 200 points.
//     The plot needs no raw points, so a stored analysis read back from
//     its JSON document still has it. The signal's outcome in one line is
//     listed under the intervals and in its section.
//   - A histogram signal's plots come from its bucket counts (a series with
//     Bounds, cumulative counts per window): (a) each window's quantile, as
//     histogram_quantile computes it, or its share above the bound, over
//     time; (b) each side's share of observations above every bucket bound,
//     summed over the windows, on logarithmic axes (x only when the bounds
//     are positive) drawn as linear axes of log10 values, with the bound
//     compared, the quantile's level and each side's quantile marked. A
//     rate with an exposure or a proportion shows each window's share of
//     its exposure over time when given the exposure series, else its events
//     per window with a note (analysis.Report carries no exposure series).
//   - Tests of counts show counts, not summaries of points: each side's
//     events out of its exposure with their share, the ratio with its
//     interval, the difference in percentage points, the dispersion when
//     above 1. The allowed change is shown on the side it applies to (+10%,
//     -0.5 pp, ±10%), the direction the result records; the decision's one-sided bound reads as a bound on the
//     change ("the change is at least +54%").
//   - Stable hooks for tests and scripts: data-verdict on the banner
//     (#verdict), data-signal and data-classification on each signal
//     section, data-reason on reasons, data-gate on the deciding rule, and
//     data-looks on each signal's line over the looks (failed,
//     shown-within, not-shown, no-bound), and a class per plot kind on
//     each <svg> (plot-series, plot-distribution, plot-intervals,
//     plot-looks; a histogram's distribution plot is plot-distribution).
//   - The renderer only formats: every figure and sentence comes from the
//     report, with the terminal table's number format (four significant
//     digits). It does not import package report, so report.Write can
//     dispatch to it.
package htmlreport
