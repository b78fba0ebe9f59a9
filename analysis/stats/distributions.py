"""The few distribution functions the analysis needs, straight from `scipy.special`.

`scipy.stats` would give the same values (it calls these special functions, or Boost's equivalents, itself) but
costs about half a second to import, a twentieth of a cold `make report`; tests compare each function here with
`scipy.stats` (relative 1e-12) and the tests themselves with R.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def norm_cdf(x):
    """Standard normal P(X <= x) (R ``pnorm``)."""
    return special.ndtr(x)


def norm_sf(x):
    """Standard normal P(X > x), accurate in the upper tail (R ``pnorm(lower.tail = FALSE)``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_ppf(q):
    """Standard normal quantile (R ``qnorm``)."""
    return special.ndtri(q)


def norm_pdf(x):
    """Standard normal density (R ``dnorm``)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x - _LOG_SQRT_2PI)


def chi2_sf(x, df):
    """Chi-square upper tail P(X > x) with `df` degrees of freedom (R ``pchisq(lower.tail = FALSE)``)."""
    return special.chdtrc(df, x)


def beta_ppf(q, a, b):
    """Quantile of Beta(a, b) (R ``qbeta``), the inverse regularised incomplete beta function."""
    return special.betaincinv(a, b, q)


def binom_logpmf(k, n, p):
    """log P(X = k) for X ~ Binomial(n, p) (R ``dbinom(log = TRUE)``)."""
    k = np.asarray(k, dtype=float)
    return _log_choose(n, k) + special.xlogy(k, p) + special.xlog1py(n - k, -p)


def binom_pmf(k, n, p):
    """P(X = k) for X ~ Binomial(n, p) (R ``dbinom``)."""
    return np.exp(binom_logpmf(k, n, p))


def binom_cdf(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p) (R ``pbinom``); 0 below the support."""
    k = np.floor(np.asarray(k, dtype=float))
    return np.where(k < 0, 0.0, special.bdtr(np.clip(k, 0, n), n, p))


def binom_sf(k, n, p):
    """P(X > k) for X ~ Binomial(n, p) (R ``pbinom(lower.tail = FALSE)``); 1 below the support."""
    k = np.floor(np.asarray(k, dtype=float))
    return np.where(k < 0, 1.0, special.bdtrc(np.clip(k, 0, n), n, p))


def hypergeom_logpmf(x, total, successes, draws):
    """log P(X = x) for X the successes among `draws` taken from `total` items of which `successes` are
    successes (R ``dhyper(x, successes, total - successes, draws, log = TRUE)``)."""
    x = np.asarray(x, dtype=float)
    failures = total - successes
    return (_log_choose(successes, x) + _log_choose(failures, draws - x) - _log_choose(total, draws))


def _log_choose(n, k):
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def rankdata(values) -> np.ndarray:
    """Mid-ranks (ties get the mean of the ranks they span), 1-based, as R ``rank(ties.method = "average")``."""
    a = np.asarray(values, dtype=float).ravel()
    order = np.argsort(a, kind="mergesort")
    sorted_values = a[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], a.size]  # exclusive
    mean_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(a.size)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks
