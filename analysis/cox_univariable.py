"""Univariable Cox fits of many covariates on one endpoint, sharing the work where the results are unchanged.

Each covariate's fit is `cox_fit` on the rows where it is not missing; single 0/1 columns with the same
non-missing rows are fitted together by `cox.binary_univariable_fits` (one pass over the rows per column, then
every column's Newton–Raphson at once on per-time counts), which gives the same fits
(tests/test_performance_equivalence.py, tests/test_cox_fast_paths.py). No column is copied unless it has missing
values.
"""

from __future__ import annotations

import numpy as np

from analysis.stats import cox


def univariable_fits(time: np.ndarray, event: np.ndarray, X: np.ndarray, columns: list[list[int]], ties: str,
                     level: float) -> list[cox.CoxFit]:
    """One fit per entry of `columns` (the columns of X that form that covariate)."""
    fits: list[cox.CoxFit | None] = [None] * len(columns)
    X = np.asfortranarray(X)  # column by column below: contiguous columns
    batches: dict[bytes, list[int]] = {}
    present: dict[int, np.ndarray | None] = {}  # per single column: its non-missing rows, None for all
    for j, cols in enumerate(columns):
        if len(cols) != 1:
            continue
        x = X[:, cols[0]]
        missing = np.isnan(x)
        ok = ~missing if missing.any() else None
        values = x if ok is None else x[ok]
        if ((values == 0) | (values == 1)).all():
            present[j] = ok
            batches.setdefault(b"" if ok is None else np.packbits(ok).tobytes(), []).append(j)
    for members in batches.values():
        ok = present[members[0]]
        t_ok, e_ok = (time, event) if ok is None else (time[ok], event[ok])
        member_columns = [X[:, columns[j][0]] if ok is None else X[ok, columns[j][0]] for j in members]
        for j, fit in zip(members, cox.binary_univariable_fits(t_ok, e_ok, member_columns, ties=ties, level=level),
                          strict=True):
            fits[j] = fit
    for j, cols in enumerate(columns):
        if fits[j] is None:
            ok = ~np.isnan(X[:, cols]).any(axis=1)
            if ok.all():
                fits[j] = cox.cox_fit(time, event, X[:, cols], ties=ties, level=level)
            else:
                fits[j] = cox.cox_fit(time[ok], event[ok], X[np.ix_(ok, cols)], ties=ties, level=level)
    return [f for f in fits if f is not None]
