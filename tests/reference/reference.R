# Reference values for analysis/stats, computed with R (base + survival).
# Run from the repository root:  Rscript tests/reference/reference.R [outdir]
# Writes JSON fixtures (default tests/reference/fixtures/); every case records the R call that produced it.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args)) args[1] else "tests/reference/fixtures"
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

to_json <- function(x) {
  num <- function(v) ifelse(is.na(v), "null", ifelse(is.infinite(v), ifelse(v > 0, "\"Inf\"", "\"-Inf\""),
                                                   sprintf("%.17g", v)))
  if (is.null(x)) return("null")
  if (!is.list(x) && length(x) == 0) return("[]")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- vapply(seq_along(x), function(i) paste0("\"", names(x)[i], "\": ", to_json(x[[i]])), "")
      return(paste0("{", paste(items, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ", "), "]"))
  }
  if (is.character(x) || is.factor(x)) v <- paste0("\"", gsub("\"", "\\\\\"", as.character(x)), "\"")
  else if (is.logical(x)) v <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  else v <- num(as.numeric(x))
  if (length(x) == 1 && !inherits(x, "AsIs")) return(v)
  paste0("[", paste(v, collapse = ", "), "]")
}
write_fixture <- function(name, cases) {
  body <- to_json(list(generated_by = "tests/reference/reference.R",
                       r_version = R.version.string,
                       survival_version = as.character(packageVersion("survival")),
                       cases = cases))
  writeLines(body, file.path(outdir, paste0(name, ".json")))
}
vec <- function(x) I(as.numeric(x))

# ---- data -------------------------------------------------------------------------------------------
rossi <- read.csv("tests/reference/data/rossi.csv")
gbsg2 <- read.csv("tests/reference/data/gbsg2.csv")
larynx <- read.csv("tests/reference/data/larynx.csv")
gbsg2$hor <- as.integer(gbsg2$horTh == "yes")
gbsg2$post <- as.integer(gbsg2$menostat == "Post")
gbsg2$grade3 <- as.integer(gbsg2$tgrade == "III")
larynx$stage <- 1 + larynx$Stage_II + 2 * larynx$Stage_III + 3 * larynx$Stage_IV
have_cohort <- file.exists("data/cohort.csv")
cohort <- if (have_cohort) read.csv("data/cohort.csv") else NULL

# Small hand-made samples that exercise quantile.survfit's edge rules.
edge <- list(
  flat_half = data.frame(time = c(1, 2, 3, 4, 5, 6), event = c(1, 1, 1, 0, 1, 1)),   # S = 0.5 on [3, 5)
  ends_at_half = data.frame(time = c(1, 2, 3, 4), event = c(1, 1, 0, 0)),           # S ends flat at 0.5
  not_reached = data.frame(time = c(2, 3, 5, 7, 9), event = c(1, 0, 1, 0, 0)),    # S stops at 8/15
  all_events = data.frame(time = c(1, 2, 3, 3, 4), event = c(1, 1, 1, 1, 1)),       # S reaches 0
  ties_censor = data.frame(time = c(2, 2, 2, 4, 4, 6, 8, 8, 9, 11), event = c(1, 0, 1, 1, 0, 1, 0, 1, 1, 0))
)

# ---- Kaplan–Meier ---------------------------------------------------------------------------------
km_case <- function(label, data, tcol, ecol, code) {
  out <- list(label = label, dataset = data$name, time = tcol, event = ecol, filter = data$filter, r_code = code)
  d <- data$df
  fit <- survfit(Surv(d[[tcol]], d[[ecol]]) ~ 1)
  out$curve <- list(time = vec(fit$time), n_risk = vec(fit$n.risk), n_event = vec(fit$n.event),
                    n_censor = vec(fit$n.censor), survival = vec(fit$surv), std_err_log = vec(fit$std.err))
  for (ct in c("log", "log-log", "plain")) {
    q <- quantile(survfit(Surv(d[[tcol]], d[[ecol]]) ~ 1, conf.type = ct), probs = 0.5)
    out[[paste0("median_", gsub("-", "", ct))]] <- vec(c(q$quantile, q$lower, q$upper))
  }
  out
}
km_cases <- list(
  km_case("rossi", list(name = "rossi", df = rossi, filter = NULL), "week", "arrest",
          "quantile(survfit(Surv(week, arrest) ~ 1, data = rossi, conf.type = ct), 0.5)"),
  km_case("rossi fin=1", list(name = "rossi", df = rossi[rossi$fin == 1, ], filter = "fin == 1"), "week", "arrest",
          "quantile(survfit(Surv(week, arrest) ~ 1, data = subset(rossi, fin == 1), conf.type = ct), 0.5)"),
  km_case("gbsg2", list(name = "gbsg2", df = gbsg2, filter = NULL), "time", "cens",
          "quantile(survfit(Surv(time, cens) ~ 1, data = gbsg2, conf.type = ct), 0.5)"),
  km_case("gbsg2 horTh=yes", list(name = "gbsg2", df = gbsg2[gbsg2$hor == 1, ], filter = "hor == 1"),
          "time", "cens", "quantile(survfit(Surv(time, cens) ~ 1, data = subset(gbsg2, hor == 1), conf.type = ct), 0.5)"),
  km_case("larynx", list(name = "larynx", df = larynx, filter = NULL), "time", "death",
          "quantile(survfit(Surv(time, death) ~ 1, data = larynx, conf.type = ct), 0.5)")
)
for (nm in names(edge)) {
  km_cases[[length(km_cases) + 1]] <- c(list(inline = list(time = vec(edge[[nm]]$time), event = vec(edge[[nm]]$event))),
    km_case(nm, list(name = "inline", df = edge[[nm]], filter = NULL), "time", "event",
            "quantile(survfit(Surv(time, event) ~ 1, conf.type = ct), 0.5)"))
}
if (have_cohort) {
  for (arm in unique(cohort$arm)) for (ep in c("pfs", "os")) {
    sub <- cohort[cohort$arm == arm, ]
    km_cases[[length(km_cases) + 1]] <- km_case(paste("cohort", ep, arm),
      list(name = "cohort", df = sub, filter = paste0("arm == '", arm, "'")), paste0(ep, "_days"), paste0(ep, "_event"),
      sprintf("quantile(survfit(Surv(%s_days, %s_event) ~ 1, data = subset(cohort, arm == '%s'), conf.type = ct), 0.5)", ep, ep, arm))
  }
}
write_fixture("km", km_cases)

# ---- log-rank ------------------------------------------------------------------------------------
lr_case <- function(dataset, df, tcol, ecol, gcol, code) {
  f <- survdiff(Surv(df[[tcol]], df[[ecol]]) ~ df[[gcol]])
  list(dataset = dataset, time = tcol, event = ecol, group = gcol, r_code = code,
       groups = I(as.character(sort(unique(df[[gcol]])))),
       chisq = f$chisq, df = length(f$n) - 1, p = pchisq(f$chisq, length(f$n) - 1, lower.tail = FALSE),
       observed = vec(f$obs), expected = vec(f$exp))
}
lr_cases <- list(
  lr_case("rossi", rossi, "week", "arrest", "fin", "survdiff(Surv(week, arrest) ~ fin, data = rossi)"),
  lr_case("gbsg2", gbsg2, "time", "cens", "tgrade", "survdiff(Surv(time, cens) ~ tgrade, data = gbsg2)"),
  lr_case("larynx", larynx, "time", "death", "stage", "survdiff(Surv(time, death) ~ stage, data = larynx)")
)
if (have_cohort) for (ep in c("pfs", "os"))
  lr_cases[[length(lr_cases) + 1]] <- lr_case("cohort", cohort, paste0(ep, "_days"), paste0(ep, "_event"), "arm",
    sprintf("survdiff(Surv(%s_days, %s_event) ~ arm, data = cohort)", ep, ep))
write_fixture("logrank", lr_cases)

# ---- Cox -----------------------------------------------------------------------------------------
cox_case <- function(dataset, df, tcol, ecol, covs, ties, strata = NULL, extra = NULL) {
  rhs <- paste(c(covs, if (!is.null(strata)) paste0("strata(", strata, ")")), collapse = " + ")
  fml <- as.formula(paste0("Surv(", tcol, ", ", ecol, ") ~ ", rhs))
  warn <- character(0)
  f <- withCallingHandlers(coxph(fml, data = df, ties = ties),
                           warning = function(w) { warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
  se <- ifelse(is.na(coef(f)), NA, sqrt(diag(f$var)))
  list(dataset = dataset, time = tcol, event = ecol, covariates = I(covs), strata = strata, ties = ties,
       r_code = paste0("coxph(", deparse(fml, width.cutoff = 500), ", data = ", dataset, ", ties = '", ties, "')"),
       extra = extra, coef = vec(coef(f)), se = vec(se), loglik = vec(f$loglik), iter = f$iter,
       n = f$n, events = f$nevent, warnings = I(warn))
}
sep <- data.frame(time = 1:12, event = c(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0),
                  x = c(1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0),
                  z = c(0.3, -1.2, 0.8, 1.5, -0.4, 0.1, 0.9, -0.7, 0.2, 1.1, -1.5, 0.6))
sep$x2 <- 2 * sep$x
cox_cases <- list()
for (ties in c("breslow", "efron")) {
  for (v in c("fin", "age", "prio", "wexp"))
    cox_cases[[length(cox_cases) + 1]] <- cox_case("rossi", rossi, "week", "arrest", v, ties)
  cox_cases[[length(cox_cases) + 1]] <- cox_case("rossi", rossi, "week", "arrest",
    c("fin", "age", "race", "wexp", "mar", "paro", "prio"), ties)
  cox_cases[[length(cox_cases) + 1]] <- cox_case("rossi", rossi, "week", "arrest", c("fin", "age", "prio"), ties,
                                                 strata = "race")
  cox_cases[[length(cox_cases) + 1]] <- cox_case("gbsg2", gbsg2, "time", "cens",
    c("hor", "age", "post", "tsize", "grade3", "pnodes", "progrec", "estrec"), ties)
  cox_cases[[length(cox_cases) + 1]] <- cox_case("larynx", larynx, "time", "death",
    c("age", "Stage_II", "Stage_III", "Stage_IV"), ties)
  # monotone likelihood (x perfectly orders the event times) and an aliased covariate (x2 = 2x)
  cox_cases[[length(cox_cases) + 1]] <- cox_case("sep", sep, "time", "event", "x", ties, extra = "separation")
  cox_cases[[length(cox_cases) + 1]] <- cox_case("sep", sep, "time", "event", c("z", "x", "x2"), ties,
                                                 extra = "aliased")
}
if (have_cohort) for (ep in c("pfs", "os")) {
  cohort$arm_tki_ici <- as.integer(cohort$arm != "tki")
  cox_cases[[length(cox_cases) + 1]] <- cox_case("cohort", cohort, paste0(ep, "_days"), paste0(ep, "_event"),
                                                 "arm_tki_ici", "breslow", extra = "arm != 'tki'")
}
write_fixture("cox", c(cox_cases, list(list(dataset = "sep_data", time = vec(sep$time), event = vec(sep$event),
                                            x = vec(sep$x), z = vec(sep$z)))))

# ---- contingency tables --------------------------------------------------------------------------
tables <- list(
  small2x2 = matrix(c(3, 1, 1, 3), 2), skewed2x2 = matrix(c(10, 2, 3, 15), 2),
  zero2x2 = matrix(c(0, 5, 7, 4), 2),
  t3x3 = matrix(c(2, 3, 4, 5, 6, 1, 7, 2, 3), 3), t2x5 = matrix(c(5, 0, 3, 2, 8, 1, 4, 6, 2, 9), 2),
  t3x4 = matrix(c(12, 5, 9, 7, 3, 8, 11, 6, 2, 4, 9, 5), 3),
  t4x5 = matrix(c(1, 2, 0, 3, 4, 1, 0, 2, 5, 2, 3, 1, 4, 0, 2, 3, 5, 1, 2, 2), 4),
  rossi_fin_wexp = table(rossi$fin, rossi$wexp), gbsg2_grade_meno = table(gbsg2$tgrade, gbsg2$menostat)
)
ct_cases <- lapply(names(tables), function(nm) {
  x <- unclass(tables[[nm]]); dimnames(x) <- NULL
  r <- list(name = nm, table = lapply(seq_len(nrow(x)), function(i) vec(x[i, ])),
            r_code = "chisq.test(x, correct = FALSE); chisq.test(x); fisher.test(x)")
  p0 <- suppressWarnings(chisq.test(x, correct = FALSE))
  r$pearson <- list(statistic = unname(p0$statistic), df = unname(p0$parameter), p = p0$p.value,
                    expected = lapply(seq_len(nrow(x)), function(i) vec(p0$expected[i, ])))
  if (all(dim(x) == 2)) {
    y <- suppressWarnings(chisq.test(x))
    r$yates <- list(statistic = unname(y$statistic), p = y$p.value)
  }
  r$fisher_p <- fisher.test(x)$p.value
  r
})
write_fixture("contingency", ct_cases)

# ---- rank tests ------------------------------------------------------------------------------------
w_cases <- list(
  list(name = "exact", x = vec(c(1.5, 2.3, 3.1, 4.7, 5.2, 0.3)), y = vec(c(2.2, 6.1, 7.3, 8.4, 0.9, 3.3, 9.9))),
  list(name = "ties", x = vec(c(1.5, 2.3, 3.1, 4.7, 5.2, 0.3, 2.2)), y = vec(c(2.2, 6.1, 7.3, 8.4, 0.9, 3.3, 9.9))),
  list(name = "rossi age by fin", x = vec(rossi$age[rossi$fin == 0]), y = vec(rossi$age[rossi$fin == 1])),
  list(name = "gbsg2 tsize by hor", x = vec(gbsg2$tsize[gbsg2$hor == 0]), y = vec(gbsg2$tsize[gbsg2$hor == 1])),
  list(name = "larynx age stage1 vs 4", x = vec(larynx$age[larynx$stage == 1]), y = vec(larynx$age[larynx$stage == 4]))
)
w_cases <- lapply(w_cases, function(cs) {
  w <- suppressWarnings(wilcox.test(cs$x, cs$y))
  c(cs, list(r_code = "wilcox.test(x, y)", W = unname(w$statistic), p = w$p.value))
})
k_cases <- list(
  list(name = "small", groups = list(vec(c(1.5, 2.3, 3.1, 4.7, 5.2, 0.3)), vec(c(2.2, 6.1, 7.3, 8.4, 0.9, 3.3, 9.9)),
                                     vec(c(1, 2, 2, 5)))),
  list(name = "gbsg2 age by grade", groups = lapply(c("I", "II", "III"), function(g) vec(gbsg2$age[gbsg2$tgrade == g]))),
  list(name = "larynx age by stage", groups = lapply(1:4, function(s) vec(larynx$age[larynx$stage == s])))
)
k_cases <- lapply(k_cases, function(cs) {
  k <- kruskal.test(lapply(cs$groups, as.numeric))
  c(cs, list(r_code = "kruskal.test(groups)", statistic = unname(k$statistic), df = unname(k$parameter), p = k$p.value))
})
write_fixture("ranks", list(wilcox = w_cases, kruskal = k_cases))

# ---- binomial ---------------------------------------------------------------------------------------
b_cases <- list()
for (xn in list(c(0, 10), c(7, 20), c(20, 20), c(12, 49), c(3, 21), c(33, 70)))
  for (p0 in c(0.5, 0.3)) {
    b <- binom.test(xn[1], xn[2], p0)
    b_cases[[length(b_cases) + 1]] <- list(x = xn[1], n = xn[2], p0 = p0, r_code = "binom.test(x, n, p0)",
                                           p = b$p.value, ci = vec(b$conf.int))
  }
write_fixture("binomial", b_cases)

# ---- quantiles ---------------------------------------------------------------------------------------
samples <- list(small = c(3.1, 0.5, 2.2, 7.9, 4.4, 4.4, 1.0), even = c(10, 20, 30, 40),
                one = c(5), rossi_prio = rossi$prio, gbsg2_tsize = gbsg2$tsize)
probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
q_cases <- lapply(names(samples), function(nm) {
  list(name = nm, x = vec(samples[[nm]]), probs = vec(probs), r_code = "quantile(x, probs, type = type)",
       types = lapply(1:9, function(ty) vec(unname(quantile(samples[[nm]], probs, type = ty)))))
})
write_fixture("quantiles", q_cases)
cat("fixtures written to", outdir, if (have_cohort) "(with data/cohort.csv)" else "(data/cohort.csv absent: skipped)", "\n")
