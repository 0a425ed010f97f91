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
//   - Plots per signal: (a) both series on one axis over time (over the
//     point index when a side has no times), reduced to per-bucket min/max
//     envelopes of at most 500 points per line; (b) both ECDFs, at most 200
//     steps each, with the baseline median, the baseline median moved by the
//     Hodges–Lehmann shift and its interval as a band, and the allowed
//     change (or a threshold test's bounds). A multi-interval run adds the
//     score of every interval against the thresholds. These limits keep a
//     50-signal report with 360 points per side well under 2 MB.
//   - Stable hooks for tests and scripts: data-verdict on the banner
//     (#verdict), data-signal and data-classification on each signal
//     section, data-reason on reasons, data-gate on the deciding rule, and
//     a class per plot kind on each <svg> (plot-series, plot-distribution,
//     plot-intervals).
//   - The renderer only formats: every figure and sentence comes from the
//     report, with the terminal table's number format (four significant
//     digits). It does not import package report, so report.Write can
//     dispatch to it.
package htmlreport
