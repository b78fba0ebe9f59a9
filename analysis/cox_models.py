"""Cox proportional hazards models declared in the spec: univariable screen, then multivariable by an entry rule.

Keys: `cox.<population>.<endpoint>.<uni|multi>.<covariate>.hr|ci_lower|ci_upper|p` plus `.n` and `.events`.
Ties follow the spec (Breslow as SPSS, Efron as R); the CI is Wald on the log scale, the p the Wald test.
A fit that cannot be estimated (no events, a constant covariate, separation) is recorded as `not_estimable`
with the reason, never as a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats import cox
from paperlock.results import ResultsBuilder
from paperlock.spec import CoxModels, Spec

_TIES = {"breslow": "Breslow (as SPSS)", "efron": "Efron (as R coxph)"}


def _method(rb: ResultsBuilder, spec: Spec, models: CoxModels, kind: str) -> str:
    ties = spec.conventions.cox_ties
    description = ("univariable Cox proportional hazards model" if kind == "uni" else
                   f"multivariable Cox model of the covariates with univariable p < {models.entry_p:g}")
    return rb.method(
        f"cox.{kind}.{ties}", description, reference="Cox 1972; R survival::coxph",
        ties=_TIES[ties], ci=f"Wald, exp(b ± z·SE), level {spec.conventions.confidence_level:g}",
        p="Wald", fitting="Newton–Raphson with step-halving, convergence |Δloglik| < 1e-9 relative",
        **({"entry_rule": f"univariable Wald p < {models.entry_p:g}"} if kind == "multi" else {}),
    )


def _population(spec: Spec, models: CoxModels, frame: pd.DataFrame) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for variable, level in (models.subset or {}).items():
        mask &= (frame[variable] == level).to_numpy()
    return mask


def _indicator(frame: pd.DataFrame, variable: str, level: str) -> np.ndarray:
    col = frame[variable]
    out = (col == level).to_numpy(dtype=float)
    out[col.isna().to_numpy()] = np.nan
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


def add_cox_models(spec: Spec, models: CoxModels, frame: pd.DataFrame, raw: pd.DataFrame,
                   rb: ResultsBuilder) -> None:
    ties = spec.conventions.cox_ties
    level = spec.conventions.confidence_level
    rows = _population(spec, models, frame)
    X_all = np.column_stack([_indicator(frame, c.variable, c.level) for c in models.covariates])[rows]
    layout: dict = {"title": models.title, "endpoints": {}, "covariates": [c.key for c in models.covariates],
                    "labels": {c.key: c.label for c in models.covariates}}
    for ep_name in models.endpoints:
        ep = spec.endpoints[ep_name]
        time = raw[ep.time].to_numpy(dtype=float)[rows] / spec.conventions.month_days
        event = raw[ep.event].to_numpy(dtype=int)[rows]
        base = f"cox.{models.population}.{ep_name}"
        m_uni = _method(rb, spec, models, "uni")
        selected: list[int] = []
        for j, cov in enumerate(models.covariates):
            ok = ~np.isnan(X_all[:, j])
            fit = cox.cox_fit(time[ok], event[ok], X_all[ok, j:j + 1], ties=ties, level=level)
            _record(rb, f"{base}.uni.{cov.key}", fit, 0, m_uni)
            if fit.status == "ok" and np.isfinite(fit.p[0]) and fit.p[0] < models.entry_p:
                selected.append(j)
        entry = {"uni": [c.key for c in models.covariates], "multi": [models.covariates[j].key for j in selected]}
        if len(selected) >= 1:
            m_multi = _method(rb, spec, models, "multi")
            X = X_all[:, selected]
            ok = ~np.isnan(X).any(axis=1)
            fit = cox.cox_fit(time[ok], event[ok], X[ok], ties=ties, level=level)
            for k, j in enumerate(selected):
                _record(rb, f"{base}.multi.{models.covariates[j].key}", fit, k, m_multi)
        layout["endpoints"][ep_name] = entry
    rb.tables[models.id] = layout
