# Reference values for the GBSG2 example study (examples/gbsg2), computed with R (base + survival).
# Run from the repository root:  Rscript tests/reference/gbsg2.R [outfile]
# Writes tests/reference/gbsg2_fixtures.json: one value per results.json key, computed the way
# examples/gbsg2/study.yaml declares it (months = days / 30.4375; Kaplan-Meier CI conf.type 'log' stored
# under the plain keys, 'log-log' and 'plain' under '.loglog.' and '.plain.'; Cox ties 'efron'; continuous
# covariates scaled by the spec's `per`; tumour grade as two indicators against grade I; multivariable entry
# at univariable p < 0.1, tumour grade by its joint Wald test). The data are tests/reference/data/gbsg2.csv,
# exported from lifelines by tests/reference/export_datasets.py (identical to R's TH.data::GBSG2).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args)) args[1] else "tests/reference/gbsg2_fixtures.json"

MONTH_DAYS <- 30.4375
ENTRY_P <- 0.1
d <- read.csv("tests/reference/data/gbsg2.csv", stringsAsFactors = FALSE)
d$months <- d$time / MONTH_DAYS
d$therapy <- factor(ifelse(d$horTh == "yes", "ht", "no_ht"), levels = c("no_ht", "ht"))
d$grade <- factor(tolower(d$tgrade), levels = c("i", "ii", "iii"))
d$menopause <- factor(tolower(d$menostat), levels = c("pre", "post"))

values <- list()
code <- list()
put <- function(key, v) values[[key]] <<- if (is.null(v) || is.na(v)) NA_real_ else as.numeric(v)

# ---- Kaplan-Meier medians and CIs, log-rank --------------------------------------------------------------
km_block <- function(stratifier, column) {
  groups <- if (is.null(column)) "all" else levels(d[[column]])
  for (g in groups) {
    sub <- if (is.null(column)) d else d[d[[column]] == g, ]
    for (ct in c("log", "log-log", "plain")) {
      q <- quantile(survfit(Surv(months, cens) ~ 1, data = sub, conf.type = ct), probs = 0.5)
      base <- if (ct == "log") sprintf("km.rfs.%s.%s", stratifier, g)
              else sprintf("km.rfs.%s.%s.%s", stratifier, g, gsub("-", "", ct))
      if (ct == "log") put(paste0(base, ".median"), q$quantile)
      put(paste0(base, ".ci_lower"), q$lower)
      put(paste0(base, ".ci_upper"), q$upper)
    }
  }
  if (!is.null(column)) {
    lr <- survdiff(as.formula(paste("Surv(months, cens) ~", column)), data = d)
    put(sprintf("km.rfs.%s.logrank_chi2", stratifier), lr$chisq)
    put(sprintf("km.rfs.%s.logrank_p", stratifier), pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE))
  }
}
km_block("overall", NULL)
km_block("therapy", "therapy")
km_block("grade", "grade")
km_block("menopause", "menopause")
code$km <- paste("quantile(survfit(Surv(time / 30.4375, cens) ~ 1, data = <group>, conf.type = <log|log-log|plain>),",
                 "probs = 0.5); survdiff(Surv(time / 30.4375, cens) ~ <grouping>)")

# ---- Cox models ------------------------------------------------------------------------------------------
terms <- list(  # result key -> (formula term, coefficient names in coxph's output)
  therapy_ht = list(term = "I(as.integer(therapy == 'ht'))", coefs = "therapy_ht"),
  age = list(term = "I(age / 10)", coefs = "age"),
  menopause_post = list(term = "I(as.integer(menopause == 'post'))", coefs = "menopause_post"),
  tumour_size = list(term = "I(tsize / 10)", coefs = "tumour_size"),
  grade = list(term = "grade", coefs = c("grade_ii", "grade_iii")),
  nodes = list(term = "pnodes", coefs = "nodes"),
  progesterone = list(term = "I(progrec / 100)", coefs = "progesterone"),
  oestrogen = list(term = "I(estrec / 100)", coefs = "oestrogen")
)
fit_cox <- function(keys) {
  f <- as.formula(paste("Surv(months, cens) ~", paste(vapply(terms[keys], `[[`, "", "term"), collapse = " + ")))
  fit <- coxph(f, data = d, ties = "efron")
  names(fit$coefficients) <- unlist(lapply(terms[keys], `[[`, "coefs"))
  fit
}
put_terms <- function(fit, kind) {
  s <- summary(fit)$coefficients
  ci <- summary(fit)$conf.int
  for (k in names(coef(fit))) {
    base <- sprintf("cox.all.rfs.%s.%s", kind, k)
    put(paste0(base, ".hr"), s[k, "exp(coef)"])
    put(paste0(base, ".ci_lower"), ci[k, "lower .95"])
    put(paste0(base, ".ci_upper"), ci[k, "upper .95"])
    put(paste0(base, ".p"), s[k, "Pr(>|z|)"])
  }
}
joint_wald <- function(fit, coefs) {
  b <- coef(fit)[coefs]
  v <- vcov(fit)[coefs, coefs]
  as.numeric(t(b) %*% solve(v, b))
}
entered <- character(0)
for (key in names(terms)) {
  fit <- fit_cox(key)
  put_terms(fit, "uni")
  if (length(terms[[key]]$coefs) > 1) {
    w <- joint_wald(fit, terms[[key]]$coefs)
    df <- length(terms[[key]]$coefs)
    put(sprintf("cox.all.rfs.uni.%s.statistic", key), w)
    put(sprintf("cox.all.rfs.uni.%s.p", key), pchisq(w, df, lower.tail = FALSE))
    put(sprintf("cox.all.rfs.uni.%s.statistic_lr", key), summary(fit)$logtest[["test"]])
    put(sprintf("cox.all.rfs.uni.%s.p_lr", key), summary(fit)$logtest[["pvalue"]])
    entry_p <- pchisq(w, df, lower.tail = FALSE)
  } else {
    entry_p <- summary(fit)$coefficients[1, "Pr(>|z|)"]
  }
  if (entry_p < ENTRY_P) entered <- c(entered, key)
}
multi <- fit_cox(entered)
put_terms(multi, "multi")
for (key in entered) if (length(terms[[key]]$coefs) > 1) {
  w <- joint_wald(multi, terms[[key]]$coefs)
  put(sprintf("cox.all.rfs.multi.%s.statistic", key), w)
  put(sprintf("cox.all.rfs.multi.%s.p", key), pchisq(w, length(terms[[key]]$coefs), lower.tail = FALSE))
}
code$cox <- paste("coxph(Surv(time / 30.4375, cens) ~ <term>, ties = 'efron'); terms I(horTh == 'yes'),",
                  "I(age / 10), I(menostat == 'Post'), I(tsize / 10), tgrade (reference I), pnodes,",
                  "I(progrec / 100), I(estrec / 100); joint Wald t(b) %*% solve(vcov, b) over the tgrade",
                  "coefficients; summary(fit)$logtest; multivariable: the terms with univariable p < 0.1")
code$cox_entered <- entered

# ---- Maximally selected log-rank statistic for the number of positive nodes -----------------------------
# Log-rank scores a = delta - H(t) (pooled Nelson-Aalen, all tied events counted), the permutation-standardised
# statistic for each cut 'pnodes <= c' with 10%-90% of patients below, as maxstat.test(smethod = 'LogRank');
# Lausen & Schumacher (1992) approximation as maxstat's pLausen92; naive p from survdiff of the chosen split.
ut <- sort(unique(d$months))
dn <- tapply(d$cens, factor(d$months, levels = ut), sum)
nr <- vapply(ut, function(t) sum(d$months >= t), 0)
H <- cumsum(dn / nr)
a <- d$cens - H[match(d$months, ut)]
n <- nrow(d)
cands <- sort(unique(d$pnodes))
props <- vapply(cands, function(cc) mean(d$pnodes <= cc), 0)
cands <- cands[props >= 0.1 & props <= 0.9]
stat <- vapply(cands, function(cc) {
  g <- d$pnodes <= cc
  m <- sum(g)
  (sum(a[g]) - m * mean(a)) / sqrt(m * (n - m) / (n * (n - 1)) * sum((a - mean(a))^2))
}, 0)
best <- which.max(abs(stat))
b <- abs(stat[best])
ls <- 4 * dnorm(b) / b + dnorm(b) * (b - 1 / b) * log((0.9 * (1 - 0.1)) / ((1 - 0.9) * 0.1))
put("cutpoint.nodes.rfs.value", cands[best])
put("cutpoint.nodes.rfs.statistic", b)
put("cutpoint.nodes.rfs.p_lausen_schumacher", min(max(ls, 0), 1))
split <- survdiff(Surv(months, cens) ~ I(pnodes <= cands[best]), data = d)
put("cutpoint.nodes.rfs.p_naive", pchisq(split$chisq, 1, lower.tail = FALSE))
put("cutpoint.nodes.rfs.n_low", sum(d$pnodes <= cands[best]))
put("cutpoint.nodes.rfs.n_high", sum(d$pnodes > cands[best]))

# ---- Table 1: quartiles (type 7), Wilcoxon rank-sum and Pearson chi-square tests -------------------------
cont <- c(age = "age", tumour_size = "tsize", nodes = "pnodes", progesterone = "progrec", oestrogen = "estrec")
for (v in names(cont)) {
  x <- d[[cont[[v]]]]
  for (g in c("all", levels(d$therapy))) {
    xs <- if (g == "all") x else x[d$therapy == g]
    q <- quantile(xs, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
    put(sprintf("baseline.%s.%s.q1", v, g), q[1])
    put(sprintf("baseline.%s.%s.median", v, g), q[2])
    put(sprintf("baseline.%s.%s.q3", v, g), q[3])
  }
  put(sprintf("baseline.%s.p", v), suppressWarnings(wilcox.test(x ~ d$therapy, exact = FALSE, correct = TRUE))$p.value)
}
put("baseline.menopause.p", chisq.test(table(d$menopause, d$therapy), correct = FALSE)$p.value)
put("baseline.grade.p", chisq.test(table(d$grade, d$therapy), correct = FALSE)$p.value)
code$table1 <- paste("quantile(x, type = 7); wilcox.test(x ~ horTh, exact = FALSE, correct = TRUE);",
                     "chisq.test(table(<variable>, horTh), correct = FALSE)")

# ---- write ----------------------------------------------------------------------------------------------
num <- function(v) if (is.na(v)) "null" else sprintf("%.17g", v)
str <- function(s) paste0("\"", gsub("\"", "\\\\\"", s), "\"")
keys <- sort(names(values))
body <- c(
  "{",
  sprintf("  \"generated_by\": %s,", str("tests/reference/gbsg2.R")),
  sprintf("  \"r_version\": %s,", str(R.version.string)),
  sprintf("  \"survival_version\": %s,", str(as.character(packageVersion("survival")))),
  sprintf("  \"data\": %s,", str("tests/reference/data/gbsg2.csv")),
  sprintf("  \"r_code\": {%s},", paste(vapply(names(code), function(k) sprintf("%s: %s", str(k),
          if (length(code[[k]]) > 1 || k == "cox_entered") paste0("[", paste(str(code[[k]]), collapse = ", "), "]")
          else str(code[[k]])), ""), collapse = ", ")),
  "  \"values\": {",
  paste0(sprintf("    %s: %s", vapply(keys, str, ""), vapply(keys, function(k) num(values[[k]]), "")),
         c(rep(",", length(keys) - 1), "")),
  "  }",
  "}"
)
writeLines(body, outfile)
