"""Univariable Cox fits of many covariates on one endpoint, sharing the work where the results are unchanged.

Each covariate's fit is `cox_fit` on the rows where it is not missing; single 0/1 columns with the same
non-missing rows are fitted together by `cox_univariable_batch` (one sort, a few thousand weighted cells per
column), which gives the same fits (tests/test_performance_equivalence.py).
"""

from __future__ import annotations

import numpy as np

from analysis.stats import cox


def univariable_fits(time: np.ndarray, event: np.ndarray, X: np.ndarray, columns: list[list[int]], ties: str,
                     level: float) -> list[cox.CoxFit]:
    """One fit per entry of `columns` (the columns of X that form that covariate)."""
    fits: list[cox.CoxFit | None] = [None] * len(columns)
    X = np.asfortranarray(X)  # column by column below: contiguous columns
    present = ~np.isnan(X)
    batches: dict[bytes, list[int]] = {}
    for j, cols in enumerate(columns):
        if len(cols) == 1:
            ok = present[:, cols[0]]
            x = X[:, cols[0]] if ok.all() else X[ok, cols[0]]
            if np.all((x == 0) | (x == 1)):
                batches.setdefault(np.packbits(ok).tobytes(), []).append(j)
    for members in batches.values():
        ok = present[:, columns[members[0]][0]]
        if len(members) == 1:
            continue
        member_cols = [columns[j][0] for j in members]
        if ok.all():  # no copy of the rows
            t_ok, e_ok, X_ok = time, event, X[:, member_cols]
        else:
            t_ok, e_ok, X_ok = time[ok], event[ok], X[np.ix_(ok, member_cols)]
        for j, fit in zip(members, cox.cox_univariable_batch(t_ok, e_ok, X_ok, ties=ties, level=level),
                          strict=True):
            fits[j] = fit
    for j, cols in enumerate(columns):
        if fits[j] is None:
            ok = ~np.isnan(X[:, cols]).any(axis=1)
            fits[j] = cox.cox_fit(time[ok], event[ok], X[np.ix_(ok, cols)], ties=ties, level=level)
    return [f for f in fits if f is not None]
