# Reference values for the rate test (judge/rate.go): the exact conditional
# interval of the rate ratio canary/baseline, as R's poisson.test gives it.
# Run: Rscript poisson_reference.R > poisson_reference.json
cases <- list(
  list(kc = 8,  m = 360, kb = 0,  n = 360, conf = 0.95),
  list(kc = 2,  m = 360, kb = 0,  n = 360, conf = 0.95),
  list(kc = 30, m = 360, kb = 12, n = 360, conf = 0.95),
  list(kc = 12, m = 360, kb = 30, n = 360, conf = 0.95),
  list(kc = 5,  m = 30,  kb = 40, n = 360, conf = 0.90),
  list(kc = 0,  m = 360, kb = 9,  n = 360, conf = 0.99),
  list(kc = 17, m = 200, kb = 15, n = 180, conf = 0.98)
)
out <- sapply(cases, function(c) {
  t <- poisson.test(c(c$kc, c$kb), c(c$m, c$n), conf.level = c$conf)
  sprintf('{"kc": %d, "m": %d, "kb": %d, "n": %d, "conf": %s, "ratioLow": %.17g, "ratioHigh": %s}',
          c$kc, c$m, c$kb, c$n, c$conf, t$conf.int[1],
          if (is.finite(t$conf.int[2])) sprintf("%.17g", t$conf.int[2]) else "null")
})
cat("[\n  ", paste(out, collapse = ",\n  "), "\n]\n", sep = "")
