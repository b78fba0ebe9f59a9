# `make bench`: R survival timings on the same data as the Python engine, in the same run (the ratios' baseline).
# Usage: Rscript tools/bench_r.R <csv with time, event, group, x1..xp> <ties: breslow|efron> <repeat>
# Prints one line per figure: "r <name> <seconds per call>" and "r coef <values>". Timed as tools/bench.py times
# Python: a warm-up call (R byte-compiles a closure on its first calls), then loops of k calls, k grown until a
# loop takes >= 0.2 s (system.time() counts milliseconds), the best of <repeat> loops.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
ties <- args[2]
reps <- as.integer(args[3])
X <- as.matrix(d[, grep("^x", names(d)), drop = FALSE]) * 1.0  # double, as coxph.fit needs
y <- Surv(as.numeric(d$time), as.numeric(d$event))
per_call <- function(f) {
  f()
  k <- 1
  repeat {
    el <- system.time(for (i in seq_len(k)) f())[["elapsed"]]
    if (el >= 0.2 || k >= 1e6) break
    k <- k * 4
  }
  best <- el / k
  for (r in seq_len(reps - 1)) best <- min(best, system.time(for (i in seq_len(k)) f())[["elapsed"]] / k)
  best
}
fit <- function(x) coxph.fit(x, y, strata = NULL, offset = NULL, init = NULL, control = coxph.control(),
                             weights = NULL, method = ties, rownames = NULL)
cat("r coxph.fit_multi", per_call(function() fit(X)), "\n")
cat("r coxph.fit_one", per_call(function() fit(X[, 1, drop = FALSE])), "\n")
cat("r coxph.fit_uni_all", per_call(function() for (j in seq_len(ncol(X))) fit(X[, j, drop = FALSE])), "\n")
cat("r survfit", per_call(function() survfit(y ~ d$group)), "\n")
cat("r survdiff", per_call(function() survdiff(y ~ d$group)), "\n")
cat("r coef", format(fit(X)$coefficients, digits = 15), "\n")
