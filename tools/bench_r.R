# `make bench`: R survival timings on the same data as the Python engine, in the same run (the ratios' baseline).
# Usage: Rscript tools/bench_r.R <csv with time, event, group, x1..xp> <ties: breslow|efron> <repeat>
# Prints one line per figure: "r <name> <seconds>" (the fastest of <repeat> runs) and "r coef <values>".
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
ties <- args[2]
reps <- as.integer(args[3])
X <- as.matrix(d[, grep("^x", names(d)), drop = FALSE]) * 1.0  # double, as coxph.fit needs
y <- Surv(as.numeric(d$time), as.numeric(d$event))
best <- function(f) min(replicate(reps, system.time(f())[["elapsed"]]))
fit <- function(x) coxph.fit(x, y, strata = NULL, offset = NULL, init = NULL, control = coxph.control(),
                             weights = NULL, method = ties, rownames = NULL)
cat("r coxph.fit_multi", best(function() fit(X)), "\n")
cat("r coxph.fit_uni_all", best(function() for (j in seq_len(ncol(X))) fit(X[, j, drop = FALSE])), "\n")
cat("r survfit", best(function() survfit(y ~ d$group)), "\n")
cat("r survdiff", best(function() survdiff(y ~ d$group)), "\n")
cat("r coef", format(fit(X)$coefficients, digits = 15), "\n")
