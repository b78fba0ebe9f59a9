"""Exact binomial inference as R ``binom.test``.

* Confidence interval: Clopper–Pearson (1934), ``[qbeta(a/2, x, n-x+1), qbeta(1-a/2, x+1, n-x)]`` with the
  lower limit 0 when x = 0 and the upper limit 1 when x = n.
* Two-sided p-value against ``p0``: the sum of the probabilities of all outcomes no more likely than the
  observed one (relative tolerance 1 + 1e-7), R's rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stats import distributions as dist

_REL_ERR = 1 + 1e-7


@dataclass(frozen=True)
class BinomialResult:
    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    p: float
    p0: float
    level: float


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) confidence interval for a binomial proportion."""
    if n <= 0 or not 0 <= x <= n:
        raise ValueError("need 0 <= x <= n and n > 0")
    alpha = 1 - level
    lower = 0.0 if x == 0 else float(dist.beta_ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(dist.beta_ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


def binom_test(x: int, n: int, p0: float = 0.5, level: float = 0.95) -> BinomialResult:
    """Exact binomial test (two-sided) and Clopper–Pearson interval, as R ``binom.test(x, n, p0)``."""
    lower, upper = clopper_pearson(x, n, level)
    if p0 == 0:
        p = float(x == 0)
    elif p0 == 1:
        p = float(x == n)
    else:  # R's two-sided computation, tail by tail
        d = dist.binom_pmf(x, n, p0) * _REL_ERR
        m = n * p0
        if x == m:
            p = 1.0
        elif x < m:
            i = np.arange(int(np.ceil(m)), n + 1)
            y = int((dist.binom_pmf(i, n, p0) <= d).sum())
            p = float(dist.binom_cdf(x, n, p0) + dist.binom_sf(n - y, n, p0))
        else:
            i = np.arange(0, int(np.floor(m)) + 1)
            y = int((dist.binom_pmf(i, n, p0) <= d).sum())
            p = float(dist.binom_cdf(y - 1, n, p0) + dist.binom_sf(x - 1, n, p0))
        p = min(1.0, p)
    return BinomialResult(int(x), int(n), x / n, lower, upper, p, p0, level)
