"""Cox proportional hazards models declared in the spec: univariable screen, then multivariable by an entry rule.

Keys: `cox.<population>.<endpoint>.<uni|multi>.<covariate>.hr|ci_lower|ci_upper|p` plus `.n` and `.events`.
A categorical covariate is one indicator per non-reference level, keyed `<covariate>_<level>`, and its joint
Wald test (k − 1 df) is `<covariate>.p` (`.p_lr` adds the univariable likelihood-ratio test); a continuous
covariate's HR is per the spec's `per` units.
Ties follow the spec (Breslow as SPSS, Efron as R); the CI is Wald on the log scale, the p the Wald test.
A fit that cannot be estimated (no events, a constant covariate, separation) is recorded as `not_estimable`
with the reason, never as a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codes import level_index
from analysis.cox_univariable import univariable_fits
from analysis.stats import cox
from analysis.stats import distributions as dist
from paperlock.io.distinct import factorize
from paperlock.results import ResultsBuilder
from paperlock.spec import CoxCovariate, CoxModels, CoxTerm, Spec

_TIES = {"breslow": "Breslow (as SPSS)", "efron": "Efron (as R coxph)"}


_FACTOR_ENTRY = {"wald": "joint Wald test of its levels", "lr": "likelihood-ratio test of its levels",
                 "any_level": "any of its levels' Wald p"}


def _method(rb: ResultsBuilder, spec: Spec, models: CoxModels, kind: str) -> str:
    ties = spec.conventions.cox_ties
    description = ("univariable Cox proportional hazards model" if kind == "uni" else
                   f"multivariable Cox model of the covariates with univariable p < {models.entry_p:g}")
    extra = {"entry_rule": f"univariable Wald p < {models.entry_p:g}"} if kind == "multi" else {}
    if kind == "multi" and any(c.type == "categorical" for c in models.covariates):
        extra["factor_entry"] = f"a categorical covariate enters whole, by the {_FACTOR_ENTRY[models.factor_entry]}"
    if any(c.type == "continuous" for c in models.covariates):
        extra["continuous"] = "linear in the covariate; HR per the stated number of units"
    return rb.method(
        f"cox.{kind}.{ties}", description, reference="Cox 1972; R survival::coxph",
        ties=_TIES[ties], ci=f"Wald, exp(b ± z·SE), level {spec.conventions.confidence_level:g}",
        p="Wald", fitting="Newton–Raphson with step-halving, convergence |Δloglik| < 1e-9 relative", **extra,
    )


def _joint_methods(rb: ResultsBuilder) -> tuple[str, str]:
    wald = rb.method("cox.joint.wald", "joint Wald test of a categorical covariate's levels in a Cox model",
                     reference="R survival::coxph, wald.test / car::Anova(test.statistic = 'Wald')",
                     statistic="b' V^-1 b over the factor's coefficients, chi-square with k − 1 df")
    lr = rb.method("cox.joint.lr", "likelihood-ratio test of a univariable Cox model against the null model",
                   reference="R survival::coxph, summary()$logtest",
                   statistic="2 (loglik − loglik at b = 0), chi-square with k − 1 df")
    return wald, lr


def _population(spec: Spec, models: CoxModels, frame: pd.DataFrame) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for variable, level in (models.subset or {}).items():
        mask &= level_index(frame[variable], [level]) == 0
    return mask


def _term_columns(frame: pd.DataFrame, cov: CoxCovariate, terms: list[CoxTerm]) -> list[np.ndarray]:
    """Per term, an indicator of its level (NaN where the variable is missing), or the continuous value / per.
    The variable's distinct values are looked up once (`level_index`'s rule: a value is the level if equal)."""
    col = frame[cov.variable]
    if cov.type == "continuous":
        return [col.to_numpy(dtype=float) / cov.per for _ in terms]
    index, distinct = factorize(col)  # -1: missing
    out = []
    for term in terms:
        per_value = np.array([{term.level: 1.0}.get(v, 0.0) for v in distinct.tolist()] + [np.nan])
        out.append(per_value[index])
    return out


def _joint_wald(fit, idx: list[int]) -> tuple[float, int]:
    """b' V^-1 b over the columns `idx` of a fit, with its degrees of freedom (NaN when not estimable)."""
    b = fit.coef[idx]
    v = fit.var[np.ix_(idx, idx)]
    if fit.status != "ok" or not (np.all(np.isfinite(b)) and np.all(np.isfinite(v))):
        return float("nan"), len(idx)
    return float(b @ np.linalg.solve(v, b)), len(idx)


def _chi2_p(statistic: float, df: int) -> float:
    return float(dist.chi2_sf(statistic, df)) if np.isfinite(statistic) else float("nan")


def _record_joint(rb: ResultsBuilder, prefix: str, fit, idx: list[int], univariable: bool) -> dict[str, float]:
    """Record a factor's joint Wald test (and, for a univariable fit, its likelihood-ratio test).

    Returns {'wald': p, 'lr': p (univariable only)} for the entry rule."""
    wald, lr = _joint_methods(rb)
    chi2, df = _joint_wald(fit, idx)
    out = {"wald": _chi2_p(chi2, df)}
    rb.add(f"{prefix}.statistic", chi2, "statistic", wald, note=f"chi-square, {df} df")
    rb.add(f"{prefix}.p", out["wald"], "p", wald, note=f"chi-square, {df} df")
    if univariable:
        lr_stat = 2.0 * (fit.loglik - fit.loglik_null) if fit.status == "ok" else float("nan")
        out["lr"] = _chi2_p(lr_stat, df)
        rb.add(f"{prefix}.statistic_lr", lr_stat, "statistic", lr, note=f"chi-square, {df} df")
        rb.add(f"{prefix}.p_lr", out["lr"], "p", lr, note=f"chi-square, {df} df")
    return out


def _record(rb: ResultsBuilder, prefix: str, fit, j: int, method: str) -> None:
    if fit.status != "ok" or not np.isfinite(fit.se[j]):
        note = getattr(fit, "reason", None) or "not estimable"
        for stat, kind in (("hr", "hr"), ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper"), ("p", "p")):
            rb.add(f"{prefix}.{stat}", None, kind, method, status="not_estimable", note=note)
    else:
        rb.add(f"{prefix}.hr", fit.hr[j], "hr", method)
        rb.add(f"{prefix}.ci_lower", fit.ci_lower[j], "ci_lower", method)
        rb.add(f"{prefix}.ci_upper", fit.ci_upper[j], "ci_upper", method)
        rb.add(f"{prefix}.p", fit.p[j], "p", method)
    count = rb.method("count", "number of patients")
    rb.add(f"{prefix}.n", int(fit.n), "n", count)
    rb.add(f"{prefix}.events", int(fit.events), "n", count)


def _enters(fit, models: CoxModels, cov: CoxCovariate, joint: dict[str, float]) -> bool:
    """The spec's entry rule applied to one covariate's univariable fit."""
    if fit.status != "ok":
        return False
    if cov.type == "categorical" and models.factor_entry != "any_level":
        p = joint[models.factor_entry]
        return bool(np.isfinite(p) and p < models.entry_p)
    return bool(np.any(np.isfinite(fit.p) & (fit.p < models.entry_p)))


def add_cox_models(spec: Spec, models: CoxModels, frame: pd.DataFrame, raw: pd.DataFrame,
                   rb: ResultsBuilder) -> None:
    ties = spec.conventions.cox_ties
    level = spec.conventions.confidence_level
    rows = _population(spec, models, frame)
    terms = [(cov, spec.cox_terms(cov)) for cov in models.covariates]
    keys = [t.key for _, ts in terms for t in ts]
    starts = np.cumsum([0] + [len(ts) for _, ts in terms])
    columns = [list(range(starts[j], starts[j + 1])) for j in range(len(terms))]  # per covariate, in X_all
    # one column per term, stored column by column (Fortran order): the univariable fits read columns
    X_all = np.empty((int(rows.sum()), len(keys)), order="F")  # filled a covariate at a time: no stacked copy
    everyone = bool(rows.all())
    for (cov, ts), first in zip(terms, starts, strict=False):
        for k, c in enumerate(_term_columns(frame, cov, ts)):
            X_all[:, first + k] = c if everyone else c[rows]
    layout: dict = {"title": models.title, "endpoints": {}, "covariates": keys,
                    "labels": {t.key: t.label for _, ts in terms for t in ts},
                    "text_labels": {t.key: t.prose for _, ts in terms for t in ts}}
    factors = {cov.key: {"label": cov.label, "terms": [t.key for t in ts]}
               for cov, ts in terms if cov.type == "categorical"}
    if factors:
        layout["factors"] = factors
    for ep_name in models.endpoints:
        ep = spec.endpoints[ep_name]
        time = raw[ep.time].to_numpy(dtype=float)[rows] / spec.conventions.month_days
        event = raw[ep.event].to_numpy(dtype=int)[rows]
        base = f"cox.{models.population}.{ep_name}"
        m_uni = _method(rb, spec, models, "uni")
        selected: list[int] = []
        uni_fits = univariable_fits(time, event, X_all, columns, ties, level)
        for j, (cov, ts) in enumerate(terms):
            cols, fit = columns[j], uni_fits[j]
            for k, t in enumerate(ts):
                _record(rb, f"{base}.uni.{t.key}", fit, k, m_uni)
            joint = (_record_joint(rb, f"{base}.uni.{cov.key}", fit, list(range(len(cols))), univariable=True)
                     if cov.type == "categorical" else {})
            if _enters(fit, models, cov, joint):
                selected.append(j)
        entry = {"uni": keys, "multi": [t.key for j in selected for t in terms[j][1]]}
        if len(selected) >= 1:
            m_multi = _method(rb, spec, models, "multi")
            sel_cols = [c for j in selected for c in columns[j]]
            X = X_all[:, sel_cols]
            ok = ~np.isnan(X).any(axis=1)
            fit = cox.cox_fit(time[ok], event[ok], X[ok], ties=ties, level=level)
            k = 0
            for j in selected:
                cov, ts = terms[j]
                if cov.type == "categorical":
                    _record_joint(rb, f"{base}.multi.{cov.key}", fit, list(range(k, k + len(ts))), univariable=False)
                for t in ts:
                    _record(rb, f"{base}.multi.{t.key}", fit, k, m_multi)
                    k += 1
        # the multivariable terms significant at the spec's alpha, for the text (templates only read this list)
        entry["significant"] = [t for t in entry["multi"]
                                if (p := rb.statistics.get(f"{base}.multi.{t}.p")) is not None
                                and p.value is not None and p.value < spec.conventions.alpha]
        layout["endpoints"][ep_name] = entry
    rb.tables[models.id] = layout
