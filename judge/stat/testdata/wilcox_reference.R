# Reference values for package judge/stat, produced by R's stats package.
#
# Run from this directory:  Rscript wilcox_reference.R > wilcox_reference.json
# Tested with R 4.2.2. Needs only base R (the JSON is written by hand below).
#
# For every Mann-Whitney case the inputs are generated here with set.seed and written into
# the JSON together with R's results:
#   wilcox.test(x, y, conf.int = TRUE, conf.level = c, correct = TRUE) for
#   alternative two.sided / greater / less, at the default tol.root (1e-4, R's own answer),
#   and again with tol.root = 1e-12 ("tight"): then uniroot lands within a few ulps of the
#   breakpoint of the step function, which checks the exact order-statistic selection of the
#   Go code far below R's default tolerance.
# For each case R also reports the two middle order statistics of the sorted pairwise
# differences (when nx*ny is small enough to sort), which bound where R's uniroot estimate
# may land when nx*ny is even.

num <- function(v) {
  if (length(v) == 0) return("[]")
  s <- vapply(v, function(a) {
    if (is.na(a)) return('"NaN"')
    if (is.infinite(a)) return(if (a > 0) '"+Inf"' else '"-Inf"')
    if (a == 0 && 1 / a < 0) return("-0")
    sprintf("%.17g", a)
  }, "")
  s
}
arr <- function(v) paste0("[", paste(num(v), collapse = ","), "]")
scalar <- function(a) if (is.null(a)) "null" else num(a)
str <- function(s) paste0('"', gsub('"', '\\\\"', s), '"')
obj <- function(fields) paste0("{", paste(paste0(str(names(fields)), ":", unlist(fields)), collapse = ","), "}")

wt <- function(x, y, alt, conf, tol = 1e-4) {
  tryCatch(suppressWarnings(wilcox.test(x, y, alternative = alt, conf.int = TRUE,
                                        conf.level = conf, correct = TRUE, tol.root = tol)),
           error = function(e) conditionMessage(e))
}

mw_case <- function(id, x, y, confs = c(0.95)) {
  nx <- length(x); ny <- length(y)
  r2 <- wt(x, y, "two.sided", confs[1])
  if (is.character(r2)) {
    return(obj(list(id = str(id), x = arr(x), y = arr(y), error = str(r2))))
  }
  rg <- wt(x, y, "greater", confs[1])
  rl <- wt(x, y, "less", confs[1])
  r2t <- wt(x, y, "two.sided", confs[1], 1e-12)
  exact <- grepl("exact", r2$method)
  ints <- vapply(confs, function(cl) {
    a <- wt(x, y, "two.sided", cl); g <- wt(x, y, "greater", cl); l <- wt(x, y, "less", cl)
    at <- wt(x, y, "two.sided", cl, 1e-12); gt <- wt(x, y, "greater", cl, 1e-12)
    lt <- wt(x, y, "less", cl, 1e-12)
    obj(list(conf = scalar(cl), lo = scalar(a$conf.int[1]), hi = scalar(a$conf.int[2]),
             lower = scalar(g$conf.int[1]), upper = scalar(l$conf.int[2]),
             lo_tight = scalar(at$conf.int[1]), hi_tight = scalar(at$conf.int[2]),
             lower_tight = scalar(gt$conf.int[1]), upper_tight = scalar(lt$conf.int[2])))
  }, "")
  mid <- c(NA, NA)
  if (as.double(nx) * ny <= 3e7) {
    d <- sort(outer(x, y, "-"))
    N <- length(d)
    mid <- if (N %% 2 == 1) d[c((N + 1) / 2, (N + 1) / 2)] else d[c(N / 2, N / 2 + 1)]
  }
  obj(list(id = str(id), nx = scalar(nx), ny = scalar(ny), x = arr(x), y = arr(y),
           exact = if (exact) "true" else "false",
           W = scalar(unname(r2$statistic)),
           p_two_sided = scalar(r2$p.value), p_greater = scalar(rg$p.value),
           p_less = scalar(rl$p.value),
           estimate = scalar(unname(r2$estimate)),
           estimate_tight = scalar(unname(r2t$estimate)),
           middle = arr(mid),
           intervals = paste0("[", paste(ints, collapse = ","), "]")))
}

confs5 <- c(0.8, 0.9, 0.95, 0.98, 0.99)
cases <- character(0)
add <- function(s) cases <<- c(cases, s)

# Small exact cases (no ties, nx, ny < 50).
set.seed(1);  add(mw_case("exact_1x1", 1.5, 0.25, confs5))
set.seed(2);  add(mw_case("exact_1x3", 2, c(1, 3, 5), confs5))
set.seed(3);  add(mw_case("exact_2x2", c(0.1, 0.7), c(0.3, 0.2), confs5))
set.seed(4);  add(mw_case("exact_3x3", rnorm(3), rnorm(3, 1), confs5))
set.seed(5);  add(mw_case("exact_5x5", rnorm(5, 1), rnorm(5), confs5))
set.seed(6);  add(mw_case("exact_10x8", rnorm(10), rnorm(8, 0.5), confs5))
set.seed(7);  add(mw_case("exact_3x12", rexp(3), rexp(12), confs5))
set.seed(8);  add(mw_case("exact_20x25_pos", rnorm(20, 2), rnorm(25), confs5))
set.seed(9);  add(mw_case("exact_30x30_neg", rnorm(30, -0.4), rnorm(30), confs5))
set.seed(10); add(mw_case("exact_49x49", rlnorm(49, 0.1), rlnorm(49), confs5))
set.seed(11); add(mw_case("exact_1x49", 0.3, rnorm(49), confs5))
set.seed(12); add(mw_case("exact_40x7_far", rnorm(40, 10), rnorm(7), confs5))
# Boundary of R's exact rule.
set.seed(13); add(mw_case("approx_49x50", rlnorm(49, 0.1), rlnorm(50), confs5))
set.seed(14); add(mw_case("approx_50x49", rlnorm(50, 0.1), rlnorm(49), confs5))
set.seed(15); add(mw_case("approx_50x50", rnorm(50), rnorm(50, 0.2), confs5))
# Ties: integer data (normal approximation even when small).
set.seed(16); add(mw_case("ties_pois_40x35", rpois(40, 5), rpois(35, 6), confs5))
set.seed(17); add(mw_case("ties_small_6x5", c(1, 2, 2, 3, 4, 4), c(2, 3, 3, 5, 6), confs5))
set.seed(18); add(mw_case("ties_round_200x180", round(rnorm(200, 100.3, 5)), round(rnorm(180, 100, 5)), confs5))
# Heavy ties: error counts, mostly zeros.
set.seed(19); add(mw_case("zeros_300x300", rpois(300, 0.05), rpois(300, 0.2), confs5))
set.seed(20); add(mw_case("zeros_100x120", rbinom(100, 1, 0.03), rbinom(120, 1, 0.02), confs5))
set.seed(21); add(mw_case("zeros_60x60_one_nonzero", c(rep(0, 59), 3), rep(0, 60), confs5))
set.seed(22); add(mw_case("zeros_1000x1000", rpois(1000, 0.5), rpois(1000, 0.5), confs5))
# Large samples and skewed latencies.
set.seed(23); add(mw_case("large_500x600", rnorm(500, 0.05), rnorm(600), confs5))
set.seed(24); add(mw_case("latency_2000x1500", rlnorm(2000, log(120) + 0.03, 0.6), rlnorm(1500, log(120), 0.6), confs5))
set.seed(25); add(mw_case("latency_5000x4000_neg", rlnorm(5000, log(80) - 0.02, 0.9), rlnorm(4000, log(80), 0.9), c(0.95, 0.99)))
set.seed(26); add(mw_case("latency_ms_rounded_800x800", round(rlnorm(800, log(250), 0.4)), round(rlnorm(800, log(240), 0.4)), confs5))
# Very unequal sizes.
set.seed(27); add(mw_case("unequal_5x400", rnorm(5, 1), rnorm(400), confs5))
set.seed(28); add(mw_case("unequal_400x5", rnorm(400), rnorm(5, -0.5), confs5))
set.seed(29); add(mw_case("unequal_3x60_ties", c(2, 2, 9), rpois(60, 4), confs5))
# Interval endpoints at mumin / mumax (root() short-cuts).
set.seed(30); add(mw_case("edge_2x3_ties", c(1, 2), c(1, 2, 3), confs5))
set.seed(31); add(mw_case("edge_3x3_ties", c(5, 5, 6), c(4, 5, 5), confs5))
set.seed(32); add(mw_case("edge_1x4_ties", 2, c(1, 2, 2, 3), confs5))
set.seed(33); add(mw_case("edge_4x4_ties", c(1, 1, 2, 7), c(3, 1, 4, 4), confs5))
# Shift of the scale, huge and tiny values, signed zeros.
set.seed(34); add(mw_case("huge_values_60x70", 1e200 * rlnorm(60), 1e200 * rlnorm(70)))
set.seed(35); add(mw_case("tiny_values_30x20", 1e-200 * rnorm(30), 1e-200 * rnorm(20)))
set.seed(36); add(mw_case("offset_1e9_80x90", 1e9 + rnorm(80), 1e9 + rnorm(90, 0.3)))
set.seed(37); add(mw_case("signed_zero", c(-0, 1, 2.5), c(0, 3, -1)))
# R cannot compute the interval: all observations tied.
set.seed(38); add(mw_case("all_equal", rep(4, 5), rep(4, 6)))
set.seed(39); add(mw_case("two_constants", rep(1, 5), rep(2, 5)))

# Normal case with nx*ny even and distinct middle differences: W(d) is 0 on the whole gap
# between them and R's estimate is wherever uniroot's path first lands in it (not their mean).
set.seed(99); b1 <- round(rlnorm(40, log(100), 0.3), 2); c1 <- round(rlnorm(45, log(112), 0.3), 2)
add(mw_case("even_gap_seed99_45x40", c1, b1, c(0.9, 0.95)))
set.seed(40); add(mw_case("even_gap_lognormal_rounded_120x100", round(rlnorm(120, log(50), 0.4), 1), round(rlnorm(100, log(52), 0.4), 1)))
set.seed(41); add(mw_case("even_gap_lognormal_rounded_64x36", round(rlnorm(64, log(300), 0.5)), round(rlnorm(36, log(280), 0.5))))
set.seed(42); add(mw_case("even_gap_counts_64x70", rpois(64, 8), rpois(70, 9)))
set.seed(43); add(mw_case("even_gap_counts_30x20", rpois(30, 3), rpois(20, 2)))
set.seed(44); add(mw_case("even_gap_continuous_500x500", rnorm(500, 0.1), rnorm(500)))
set.seed(45); add(mw_case("odd_continuous_51x53", rnorm(51, 0.2), rnorm(53)))

# Descriptive statistics: quantile type 7, mean, median, sd, IQR fences.
desc_case <- function(id, x, factors = c(1.5, 3)) {
  probs <- c(0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1)
  q <- unname(quantile(x, probs, type = 7))
  fences <- vapply(factors, function(f) {
    qq <- unname(quantile(x, c(0.25, 0.75), type = 7))
    lo <- qq[1] - f * (qq[2] - qq[1]); hi <- qq[2] + f * (qq[2] - qq[1])
    obj(list(factor = scalar(f), lower = scalar(lo), upper = scalar(hi),
             kept = arr(x[x >= lo & x <= hi])))
  }, "")
  obj(list(id = str(id), x = arr(x), probs = arr(probs), quantiles = arr(q),
           mean = scalar(mean(x)), median = scalar(median(x)),
           sd = scalar(if (length(x) > 1) sd(x) else 0),
           min = scalar(min(x)), max = scalar(max(x)),
           fences = paste0("[", paste(fences, collapse = ","), "]")))
}
desc <- character(0)
set.seed(101); desc <- c(desc, desc_case("one", 7.25))
set.seed(102); desc <- c(desc, desc_case("two", c(3, -1)))
set.seed(103); desc <- c(desc, desc_case("normal_17", rnorm(17)))
set.seed(104); desc <- c(desc, desc_case("latency_1000", rlnorm(1000, log(100), 0.7)))
set.seed(105); desc <- c(desc, desc_case("ties_50", rpois(50, 2)))
set.seed(106); desc <- c(desc, desc_case("outliers_40", c(rnorm(37, 10), 40, -25, 90)))
set.seed(107); desc <- c(desc, desc_case("huge_9", 1e300 * c(1.7, -1.2, 1.5, 1.6, 0.9, 1.1, 1.3, 1.75, 1.79)))

cat("{\n")
cat('"generator": ', str(paste(R.version.string, "- wilcox_reference.R")), ",\n", sep = "")
cat('"mann_whitney": [\n', paste(cases, collapse = ",\n"), "\n],\n", sep = "")
cat('"describe": [\n', paste(desc, collapse = ",\n"), "\n]\n", sep = "")
cat("}\n")
