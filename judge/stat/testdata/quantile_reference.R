# Reference values for the quantile test (judge/stat/quantile.go): the exact
# hypergeometric (Fisher) p-values of the 2x2 table of points above the pooled
# quantile, and the order-statistic confidence interval of a quantile.
#
# Run from this directory:  Rscript quantile_reference.R > quantile_reference.json
# Needs only base R.
#
# Each Fisher case is a table of a canary points of m and b baseline points of
# n strictly above the threshold:
#   fisher.test(matrix(c(a, b, m - a, n - b), 2), alternative = "greater" / "less" / "two.sided")
# and, as a cross-check of the one-sided tails,
#   phyper(a - 1, a + b, m + n - a - b, m, lower.tail = FALSE)   (P(A >= a))
#   phyper(a,     a + b, m + n - a - b, m)                       (P(A <= a))
# Each interval case gives the indices r, s (1-based; 0 and n + 1 mean unbounded)
# of the order statistics that bound the q-quantile of n points at confidence
# conf (Conover, Practical Nonparametric Statistics, §3.2):
#   r - 1 = the largest k with pbinom(k, n, q) <= (1 - conf) / 2, else r = 0;
#   s - 1 = the smallest k with pbinom(k, n, q) >= 1 - (1 - conf) / 2, else s = n + 1.

fisher <- list(
  c(a = 3, m = 4, b = 1, n = 4),          # R's TeaTasting example (?fisher.test)
  c(a = 2, m = 17, b = 10, n = 13),       # R's Convictions example (?fisher.test)
  c(a = 8, m = 360, b = 0, n = 360),      # every point above the pooled p99 is the canary's
  c(a = 5, m = 360, b = 3, n = 360),
  c(a = 0, m = 500, b = 10, n = 500),
  c(a = 4, m = 30, b = 20, n = 1000),
  c(a = 12, m = 1000, b = 9, n = 1000),
  c(a = 130, m = 10000, b = 70, n = 10000),
  c(a = 1, m = 2, b = 0, n = 1),
  c(a = 21, m = 360, b = 3, n = 360)
)
intervals <- list(
  c(n = 10, q = 0.5, conf = 0.95),
  c(n = 360, q = 0.99, conf = 0.95),
  c(n = 360, q = 0.99, conf = sqrt(0.95)),
  c(n = 1000, q = 0.99, conf = 0.95),
  c(n = 2000, q = 0.95, conf = 0.9),
  c(n = 30, q = 0.9, conf = 0.95),
  c(n = 5, q = 0.5, conf = 0.99)
)
f17 <- function(v) sprintf("%.17g", v)
rows <- vapply(fisher, function(c) {
  x <- matrix(c(c[["a"]], c[["b"]], c[["m"]] - c[["a"]], c[["n"]] - c[["b"]]), 2)
  g <- fisher.test(x, alternative = "greater")$p.value
  l <- fisher.test(x, alternative = "less")$p.value
  t <- fisher.test(x)$p.value
  above <- c[["a"]] + c[["b"]]
  N <- c[["m"]] + c[["n"]]
  pg <- phyper(c[["a"]] - 1, above, N - above, c[["m"]], lower.tail = FALSE)
  pl <- phyper(c[["a"]], above, N - above, c[["m"]])
  sprintf('{"a": %d, "m": %d, "b": %d, "n": %d, "greater": %s, "less": %s, "twoSided": %s, "phyperGreater": %s, "phyperLess": %s}',
          c[["a"]], c[["m"]], c[["b"]], c[["n"]], f17(g), f17(l), f17(t), f17(pg), f17(pl))
}, "")
ints <- vapply(intervals, function(c) {
  n <- c[["n"]]; q <- c[["q"]]; conf <- c[["conf"]]
  cdf <- pbinom(0:n, n, q)
  tail <- (1 - conf) / 2
  low <- which(cdf <= tail)
  r <- if (length(low) == 0) 0 else max(low)          # max k + 1 with cdf[k] <= tail
  high <- which(cdf >= 1 - tail)
  s <- if (length(high) == 0) n + 1 else min(high)    # min k + 1 with cdf[k] >= 1 - tail
  sprintf('{"n": %d, "q": %s, "conf": %s, "r": %d, "s": %d}', n, f17(q), f17(conf), r, s)
}, "")
cat('{\n"source": "R",\n"fisher": [\n  ', paste(rows, collapse = ",\n  "), '\n],\n"intervals": [\n  ',
    paste(ints, collapse = ",\n  "), '\n]\n}\n', sep = "")
