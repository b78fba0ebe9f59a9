"""Rank tests as R ``wilcox.test`` (two-sample, unpaired) and ``kruskal.test``.

* Mann–Whitney / Wilcoxon rank-sum: statistic W = (sum of the first sample's mid-ranks) - n1 (n1 + 1) / 2 (R's W,
  the Mann–Whitney U of the first sample). R's defaults: exact p-value (permutation distribution of W,
  two-sided = min(1, 2 × smaller tail)) when both samples have fewer than 50 values and there are no ties;
  otherwise the normal approximation with continuity correction 0.5 and the tie-corrected variance
  ``n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))``.
* Kruskal–Wallis: H on mid-ranks divided by ``1 - sum(t^3 - t) / (N^3 - N)``, chi-square with k - 1 df.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stats import distributions as dist


@dataclass(frozen=True)
class RankTest:
    statistic: float
    p: float
    method: str  # "exact" | "normal" | "chi2"
    df: int | None = None


def _clean(x) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    return a[~np.isnan(a)]


def _tie_term(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    return float((counts**3 - counts).sum())


def _wilcox_counts(m: int, n: int) -> np.ndarray:
    """Number of arrangements giving each U = 0..m n (R ``dwilcox`` × choose(m + n, m))."""
    # f[i][j][u]: counts for i of x and j of y, via f(i, j) = f(i - 1, j) shifted by j + f(i, j - 1)
    prev = [np.ones(1) for _ in range(n + 1)]  # i = 0: only U = 0
    for i in range(1, m + 1):
        cur = [np.ones(1)]
        for j in range(1, n + 1):
            a = np.zeros(i * j + 1)
            left = prev[j]  # x's largest value is the maximum: adds j
            a[j:j + left.size] += left
            a[:cur[j - 1].size] += cur[j - 1]
            cur.append(a)
        prev = cur
    return prev[n]


def mann_whitney(x, y, exact: bool | None = None, correct: bool = True) -> RankTest:
    """Two-sided Wilcoxon rank-sum / Mann–Whitney test, as R ``wilcox.test(x, y)``."""
    x, y = _clean(x), _clean(y)
    nx, ny = x.size, y.size
    if nx == 0 or ny == 0:
        raise ValueError("both samples need at least one non-missing value")
    r = dist.rankdata(np.concatenate([x, y]))
    w = float(r[:nx].sum() - nx * (nx + 1) / 2)
    if exact is None:
        exact = nx < 50 and ny < 50
    ties = np.unique(r).size != r.size
    if exact and not ties:
        counts = _wilcox_counts(nx, ny)
        total = counts.sum()
        wi = int(round(w))
        p = counts[wi:].sum() / total if w > nx * ny / 2 else counts[:wi + 1].sum() / total
        return RankTest(w, float(min(2 * p, 1.0)), "exact")
    z = w - nx * ny / 2
    n = nx + ny
    sigma = np.sqrt((nx * ny / 12) * ((n + 1) - _tie_term(r) / (n * (n - 1))))
    corr = np.sign(z) * 0.5 if correct else 0.0
    zz = (z - corr) / sigma
    p = 2 * min(dist.norm_cdf(zz), dist.norm_sf(zz))
    return RankTest(w, float(p), "normal")


def kruskal_wallis(samples) -> RankTest:
    """Kruskal–Wallis rank-sum test, as R ``kruskal.test(list(...))``."""
    groups = [_clean(s) for s in samples]
    groups = [g for g in groups if g.size]
    k = len(groups)
    if k < 2:
        raise ValueError("need at least two non-empty groups")
    allv = np.concatenate(groups)
    n = allv.size
    r = dist.rankdata(allv)
    bounds = np.cumsum([0] + [g.size for g in groups])
    h = sum(r[bounds[i]:bounds[i + 1]].sum() ** 2 / groups[i].size for i in range(k))
    h = (12 * h / (n * (n + 1)) - 3 * (n + 1)) / (1 - _tie_term(allv) / (n**3 - n))
    return RankTest(float(h), float(dist.chi2_sf(h, k - 1)), "chi2", k - 1)
