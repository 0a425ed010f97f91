// Package stat is the statistical core of Verdict: descriptive statistics of a
// sample and the two-sample Wilcoxon rank-sum (Mann–Whitney U) test with the
// Hodges–Lehmann shift estimate and its confidence interval.
//
// The package is pure: no I/O, no globals, no randomness. Every function is
// safe for concurrent use, and so is a *MannWhitney: its results never
// change (it only caches, atomically, counts learnt by the estimate).
//
// # Definitions
//
// Percentile is R's quantile type 7 (Hyndman & Fan 1996, definition 7; the
// default of R and of NumPy): for a sample sorted ascending, x[1] <= ... <=
// x[n], and p in [0, 1], let h = 1 + (n-1)p, lo = floor(h), hi = ceil(h);
// the percentile is (1-(h-lo))·x[lo] + (h-lo)·x[hi]. It is computed exactly as
// R's quantile.default does, so results agree bit for bit in the cases tested.
//
// Describe reports the count, mean, median (type-7 50th percentile), sample
// standard deviation sqrt(Σ(x-mean)²/(n-1)) (0 when n < 2), minimum, maximum
// and the type-7 90th, 95th and 99th percentiles. IQRFences are Tukey's fences
// Q1 - f·IQR and Q3 + f·IQR with type-7 quartiles.
//
// # Mann–Whitney test
//
// MannWhitney reproduces R's
//
//	wilcox.test(x, y, conf.int = TRUE, conf.level = c, correct = TRUE)
//
// for x the canary and y the baseline (Hollander & Wolfe, Nonparametric
// Statistical Methods, 3rd ed. 2014, ch. 4; R's stats::wilcox.test and
// nmath/wilcox.c):
//
//   - W is the rank sum of x in the pooled sample minus nx(nx+1)/2, with
//     average ranks for ties (-0 and +0 are tied, as in R).
//   - Exact (R's default): both samples have fewer than 50 points and the
//     pooled sample has no ties. The null distribution of W is then counted
//     with R's cwilcox recurrence c(k; m, n) = c(k-n; m-1, n) + c(k; m, n-1)
//     and p-values are summed exactly as R's pwilcox does; the two-sided
//     p-value is min(2·min(P(W <= w), P(W >= w)), 1) with the same branch on
//     w > nx·ny/2 as R.
//   - Otherwise the normal approximation with R's tie correction of the
//     variance and continuity correction 0.5·sign(W - nx·ny/2) (two-sided),
//     +0.5 (greater) or -0.5 (less).
//
// The shift estimate and interval (Bauer 1972, "Constructing confidence sets
// using rank statistics", JASA 67) are order statistics of the nx·ny pairwise
// differences x[i] - y[j]:
//
//   - Exact case: R's interval is [d(qu), d(N-qu+1)] with qu =
//     qwilcox(α/2, nx, ny) (1 when it is 0) and N = nx·ny; one-sided bounds
//     use qwilcox(α, nx, ny). The estimate is the median of the differences.
//   - Normal case: R solves W(d) = z with uniroot(tol = 1e-4), where W(d) is
//     the standardised statistic of x - d against y, a step function of d. Its
//     value between two consecutive distinct differences depends only on how
//     many differences lie below d (the variance there has only the ties
//     within each sample), so the root is the order statistic d(j) for the
//     smallest count j at which the standardised statistic falls to z or
//     below. This package selects that order statistic exactly, where R's
//     uniroot stops within about 1e-4 of it. One exception: when the
//     standardised statistic equals z exactly on the gap above that
//     difference (a one-sided bound at level 0.5, where z = 0 and the
//     corrected dz is 0 on a gap), R's uniroot has no sign change to close
//     in on and stops at the first point of its path inside the gap; that
//     root is replayed as the estimate's is. R's short cuts are kept: when
//     W(min d) - z <= 0 the end is min d, when W(max d) - z >= 0 it is max d,
//     with W at those two points evaluated exactly as R does (ties between
//     the shifted x and y included).
//   - The estimate: R solves W(d) = 0 without continuity correction by
//     uniroot(W, c(min d, max d), tol = 1e-4). Its root is within 1e-4 of
//     the median of the differences when nx·ny is odd; when it is even, W(d)
//     is exactly 0 on the whole gap between the two middle differences and
//     uniroot stops wherever its path first lands in it, which is not their
//     mean. This package replays that search: internal/numeric's Zeroin is
//     a port of R's zeroin.c (Brent's method, R_zeroin2) and W(d) is evaluated as R does,
//     by ranking the pooled sample (x - d, y) in one O(nx+ny) merge with
//     x - d rounded to float64 and R's order of operations for dz and
//     SIGMA.CI, so that every iterate, and the estimate, is the same float64
//     as R's. zeroin needs a few tens of evaluations at most (about 15 on
//     latency data).
//
// Order statistics are selected without materialising the nx·ny
// differences. With both samples sorted the matrix x[i]-y[j] is sorted along
// rows and columns (Johnson & Mizoguchi 1978, "Selecting the Kth element in
// X+Y and X1+X2+...+Xm", SIAM J. Comput. 7; Monahan 1984, "Fast computation
// of the Hodges–Lehmann location estimator", ACM TOMS 10), so one pass with
// two pointers, O(nx+ny), counts the differences <= a and <= b, finds the
// differences next to a and b, and lists those in (a, b] when there are at
// most max(nx+ny, 512). Each order statistic keeps a bracket of counts; the
// pass is placed around the value the secant through the two counts nearest
// k predicts (the first around the difference of the sample medians, with a
// width from the interquartile ranges), wide enough for the likely miss,
// narrow enough to list; when the listing holds k the answer is selected
// from it (quickselect). When it does not list, the bracket's ends are
// snapped to the neighbouring differences, so a bracket holding one distinct
// value (ties) is done. The
// order statistics one call needs (the two middle ones, the interval's two
// ends) share every count, and the interval starts from the counts the
// estimate learnt when it selected the median (exact case), trying first for its upper end the mirror image of its
// lower end about the median (the differences of two samples of one shape
// are about symmetric). Each pass walks the rows in four interleaved chains
// and the partitions of sorting and quickselect swap unconditionally, so
// that no step waits on a branch that the data make unpredictable.
// Typically 1–3 passes per order statistic; after
// 8 the bracket is halved by single probes, alternately by value and by the
// order-preserving integer image of float64, so at most 128 more in the
// worst case. Time is O((nx+ny)·log(nx+ny)) for sorting plus O(nx+ny) per
// pass; memory is the two sorted copies plus the candidate list. The result
// is exact: the same float64 that sorting all differences would give.
//
// The exact null distribution is the Gaussian binomial coefficient
// [nx+ny, nx] evaluated in exact integers (see wilcoxCounts), so counts are
// correctly rounded. R's short cuts at the ends of the range of shifts are
// decided by a bound on W there when it is conclusive (almost always beyond
// a few points), else by evaluating W exactly as R does.
//
// # Arithmetic
//
// The normal distribution is R's pnorm and qnorm (internal/numeric), and
// every product that meets an addition is rounded on its own, float64(x*y),
// as R's compiled arithmetic on amd64 rounds it: the arm64 compiler would
// otherwise fuse them into multiply-adds and move results by an ulp. So the
// results are the same float64 on amd64 and arm64 (make test-arm64,
// internal/archcheck), and the percentiles, the median, the fences, W, the
// estimate and the exact-case intervals are R's bit for bit in every case
// tested; normal-case p-values are within an ulp of R's. The rate
// comparison (RateComparison) is the exception: it uses gonum's incomplete
// beta function and math's exponentials, which may differ in the last bits
// between architectures.
//
// # Where this differs from R
//
//   - Normal-case interval ends differ from R's by at most R's uniroot
//     tolerance (1e-4 absolute, plus a few ulps relative), or by the
//     rounding of x[i] - d (a few ulps of the largest |value|), which blurs
//     where R's W(d) changes when the values span many orders of magnitude:
//     they are the exact breakpoints R's uniroot approaches. On a gap where
//     the statistic is flat at z (see above) they are R's default root
//     (tol.root = 1e-4), which a smaller tol.root moves within the gap.
//     Everything else (W, p-values, the estimate, exact-case intervals)
//     agrees to rounding; the normal-case estimate bit for bit in every case
//     tested.
//   - So in the normal case the estimate, R's uniroot root, may lie up to
//     that tolerance outside an interval end at the same breakpoint (R's
//     own estimate and interval ends do too, each uniroot stopping on its
//     own side).
//   - R stops with an error when every pooled observation is tied after the
//     shift (for example all values equal) or when min d = max d (all x
//     equal and all y equal); Interval, LowerBound and UpperBound then return
//     an error where R's interval fails, PValue returns NaN as R does, and
//     Estimate returns the median difference. Estimate returns the median
//     difference too when min d or max d overflows to ±Inf, where R's
//     uniroot cannot search; an interval end on a flat gap is then the
//     breakpoint below the gap.
//   - Differences are computed in float64 as x[i]-y[j]; values so large that
//     the difference overflows give ±Inf order statistics, as R's outer() does.
package stat
