"""Tests of independence for contingency tables, as R ``chisq.test`` and ``fisher.test``.

* ``pearson_chi2``: Pearson's X² without continuity correction, (r-1)(c-1) df (``chisq.test(correct=FALSE)``).
* ``yates_chi2``: 2 × 2 only, R's Yates correction ``sum((|O - E| - min(0.5, |O - E|))^2 / E)``.
* ``fisher_exact``: 2 × 2, conditional hypergeometric; two-sided p = sum of the probabilities of tables no more
  likely than the observed one, with R's relative tolerance 1 + 1e-7.
* ``freeman_halton``: r × c Fisher exact test (Freeman & Halton 1951), same two-sided rule, computed by an
  exact network algorithm in the spirit of Mehta & Patel (1983) (R's FEXACT): columns are filled one at a
  time, nodes are the multiset of remaining row totals, equal past probabilities are merged, and a node is
  settled in closed form when every completion is (or no completion is) at most the observed probability.
* Rows or columns whose total is zero are dropped first (they carry no information; R would return NaN for X²).
* ``choose_categorical_test``: Cochran's (1954) rule: exact test when any expected count is < 1 or more than
  20 % of the cells have an expected count < 5; otherwise Pearson's X².
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from math import lgamma

import numpy as np
from scipy.special import gammaln

from analysis.stats import distributions as dist

_REL_ERR = 1 + 1e-7
_LOG_TOL = np.log(_REL_ERR)


@dataclass(frozen=True)
class TableTest:
    test: str
    statistic: float | None
    df: int | None
    p: float


@dataclass(frozen=True)
class TestChoice:
    test: str  # "pearson" | "fisher" | "freeman_halton"
    reason: str
    min_expected: float
    n_cells_below_5: int
    n_cells: int


def _table(table) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise ValueError("table must be two-dimensional")
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("table must hold non-negative integer counts")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    return t


def expected_counts(table) -> np.ndarray:
    """Expected counts under independence, row total × column total / N (empty rows/columns dropped)."""
    t = _table(table)
    n = t.sum()
    return np.outer(t.sum(axis=1), t.sum(axis=0)) / n if n > 0 else t


def pearson_chi2(table) -> TableTest:
    t = _table(table)
    if min(t.shape) < 2:
        raise ValueError("need at least two non-empty rows and columns")
    e = expected_counts(t)
    x2 = float(((t - e) ** 2 / e).sum())
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    return TableTest("pearson", x2, df, float(dist.chi2_sf(x2, df)))


def yates_chi2(table) -> TableTest:
    t = _table(table)
    if t.shape != (2, 2):
        raise ValueError("Yates' correction is defined for 2 x 2 tables")
    e = expected_counts(t)
    yates = min(0.5, float(np.abs(t - e).min()))
    x2 = float(((np.abs(t - e) - yates) ** 2 / e).sum())
    return TableTest("yates", x2, 1, float(dist.chi2_sf(x2, 1)))


def fisher_exact(table) -> TableTest:
    """Two-sided Fisher exact test for a 2 × 2 table, as R ``fisher.test``."""
    t = _table(table)
    if t.shape != (2, 2):
        raise ValueError("fisher_exact needs a 2 x 2 table (use freeman_halton for r x c)")
    m, n, k, x = int(t[:, 0].sum()), int(t[:, 1].sum()), int(t[0].sum()), int(t[0, 0])
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1)
    logd = dist.hypergeom_logpmf(support, m + n, m, k)
    d = np.exp(logd - logd.max())
    d /= d.sum()
    p = float(d[d <= d[x - lo] * _REL_ERR].sum())
    return TableTest("fisher", None, None, min(1.0, p))


def _spread_min(caps: tuple[int, ...], total: int) -> float:
    """min sum lgamma(x + 1) over 0 <= x_i <= caps_i, sum x = total (water-filling)."""
    x = np.zeros(len(caps))
    capa = np.asarray(caps, dtype=float)
    left = float(total)
    order = np.argsort(capa)
    remaining = len(caps)
    for i in order:  # fill the smallest caps first with an equal share
        share = left / remaining
        x[i] = min(capa[i], share)
        left -= x[i]
        remaining -= 1
    xi = np.floor(x)
    extra = int(round(x.sum() - xi.sum()))
    if extra:  # distribute the integer remainder to cells with spare capacity
        room = np.flatnonzero(xi < capa)
        xi[room[np.argsort(xi[room])[:extra]]] += 1
    return float(gammaln(xi + 1).sum())


def _concentrate_max(caps: tuple[int, ...], total: int) -> float:
    """max sum lgamma(x + 1) under the same constraints (fill the largest caps first)."""
    left = total
    s = 0.0
    for c in sorted(caps, reverse=True):
        take = min(c, left)
        s += lgamma(take + 1)
        left -= take
    return s


@lru_cache(maxsize=65536)
def _columns(rows: tuple[int, ...], total: int) -> tuple[tuple[tuple[int, ...], float], ...]:
    """All column vectors x (0 <= x_i <= rows_i, sum = total) with sum lgamma(x_i + 1)."""
    out: list[tuple[tuple[int, ...], float]] = []
    suffix = np.cumsum(rows[::-1])[::-1].tolist() + [0]

    def rec(i: int, left: int, acc: list[int]) -> None:
        if i == len(rows) - 1:
            if left <= rows[i]:
                vec = (*acc, left)
                out.append((vec, sum(lgamma(v + 1) for v in vec)))
            return
        for v in range(max(0, left - suffix[i + 1]), min(rows[i], left) + 1):
            rec(i + 1, left - v, [*acc, v])

    rec(0, total, [])
    return tuple(out)


def freeman_halton(table) -> TableTest:
    """Two-sided Fisher–Freeman–Halton exact test for an r × c table, as R ``fisher.test``."""
    t = _table(table)
    if min(t.shape) < 2:
        raise ValueError("need at least two non-empty rows and columns")
    if t.shape[0] > t.shape[1]:
        t = t.T  # fewer rows → smaller nodes
    t = t.astype(int)
    rows = tuple(sorted(t.sum(axis=1).tolist()))
    cols = sorted(t.sum(axis=0).tolist(), reverse=True)
    n = int(t.sum())
    const = sum(lgamma(r + 1) for r in rows) + sum(lgamma(c + 1) for c in cols) - lgamma(n + 1)
    obs = const - float(gammaln(t + 1).sum())  # log P(observed table)
    threshold = obs + _LOG_TOL

    @cache
    def bounds(node: tuple[int, ...], k: int) -> tuple[float, float, float]:
        """For remaining rows ``node`` and columns cols[k:]: (max future, min future, log sum exp future)."""
        rest = cols[k:]
        fmax = -sum(_spread_min(node, c) for c in rest)
        fmin = -sum(_concentrate_max(node, c) for c in rest)
        m = sum(node)
        total = lgamma(m + 1) - sum(lgamma(r + 1) for r in node) - sum(lgamma(c + 1) for c in rest)
        return fmax, fmin, total

    p = 0.0
    # level: node -> (past log values, weights); equal pasts (to 1e-9) are merged at every level
    level: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {rows: (np.zeros(1), np.ones(1))}
    for k, c in enumerate(cols):
        grow: dict[tuple[int, ...], tuple[list[np.ndarray], list[np.ndarray]]] = {}
        for node, (past, weight) in level.items():
            fmax, fmin, ftotal = bounds(node, k)
            settled = const + past + fmax <= threshold  # every completion is as or less likely
            if settled.any():
                p += float((weight[settled] * np.exp(const + past[settled] + ftotal)).sum())
            keep = ~settled & (const + past + fmin <= threshold)  # drop nodes no completion can reach
            if not keep.any():
                continue
            past, weight = past[keep], weight[keep]
            for vec, lg in _columns(node, c):
                child = tuple(sorted(r - v for r, v in zip(node, vec, strict=True)))
                vals, wts = grow.setdefault(child, ([], []))
                vals.append(past - lg)
                wts.append(weight)
        level = {}
        for child, (vals, wts) in grow.items():
            v, w = np.concatenate(vals), np.concatenate(wts)
            keys, first, inv = np.unique(np.round(v, 9), return_index=True, return_inverse=True)
            level[child] = (v[first], np.bincount(inv.ravel(), weights=w, minlength=keys.size))
    for past, weight in level.values():  # all columns placed: complete tables
        ok = const + past <= threshold
        p += float((weight[ok] * np.exp(const + past[ok])).sum())
    return TableTest("freeman_halton", None, None, float(min(1.0, p)))


def choose_categorical_test(table) -> TestChoice:
    """Cochran's rule: exact test if any expected < 1 or > 20 % of cells expected < 5, else Pearson X²."""
    t = _table(table)
    e = expected_counts(t)
    below5 = int((e < 5).sum())
    cells = int(e.size)
    emin = float(e.min()) if cells else float("nan")
    exact = "fisher" if t.shape == (2, 2) else "freeman_halton"
    if emin < 1:
        return TestChoice(exact, f"an expected count is below 1 (min {emin:.2f}; Cochran's rule)", emin,
                          below5, cells)
    if below5 > 0.2 * cells:
        return TestChoice(exact, f"{below5} of {cells} cells have expected count < 5 (> 20%; Cochran's rule)",
                          emin, below5, cells)
    return TestChoice("pearson", f"all expected counts >= 1 and {below5} of {cells} cells < 5 (<= 20%; "
                      "Cochran's rule)", emin, below5, cells)
