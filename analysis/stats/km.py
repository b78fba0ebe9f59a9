"""Kaplan–Meier estimation, median survival with confidence intervals, and the log-rank test.

Conventions (each named where it is used):

* Curve: product-limit estimate at every distinct observed time (events and censorings), right-continuous;
  an event and a censoring at the same time count the event first (the censored subject is still at risk).
  Greenwood variance of S: ``S(t)^2 * sum d / (n (n - d))``; set to 0 once S reaches 0.
* Median, R conventions (``ci`` = ``"log"``, ``"log-log"``, ``"plain"``): R ``survival`` 3.5
  ``quantile.survfit`` (internal ``findq``): the curve and its pointwise confidence limits
  (``survfit_confint``, Greenwood SE of log S, ``conf.type`` transform) are each cut by the horizontal line
  at 0.5; a flat stretch at exactly 0.5 (within ``sqrt(.Machine$double.eps)``) gives the midpoint of the
  stretch (or of the stretch and the last observed time when the curve ends on it); a limit that never
  reaches 0.5 is NA (here NaN). This is Brookmeyer & Crowley (1982).
* Median, SPSS convention (``ci="spss"``): IBM SPSS Statistics KM ("Kaplan-Meier Algorithms", estimation of
  percentiles), which follows Collett (1994, Modelling Survival Data in Medical Research, §2.4):
  median t50 = min{t_j : S(t_j) <= 0.5};
  SE(t50) = SE_Greenwood(S(t50)) / f, with the density estimated from the curve around the median
  f = (S(u) - S(l)) / (l - u), u = max{t_j : S(t_j) >= 0.5 + eps}, l = min{t_j : S(t_j) <= 0.5 - eps},
  eps = 0.05, t_j ranging over the event times plus the origin (t = 0, S = 1);
  CI = t50 ± z·SE, symmetric and not truncated at 0. When l does not exist the SE is undefined (NaN).
  Secondary source for the formula: Marques de Sá, *Applied Statistics Using SPSS, STATISTICA, MATLAB and R*
  (2007), §9.2, eq. 9.17, citing Collett.
* Log-rank: R ``survdiff(rho = 0)``: Mantel–Haenszel observed/expected per group, hypergeometric variance,
  chi-square on (groups with expected > 0) - 1 df.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.stats import distributions as dist

R_TOL = float(np.sqrt(np.finfo(float).eps))  # R: sqrt(.Machine$double.eps), quantile.survfit's tolerance
SPSS_EPS = 0.05
CI_METHODS = ("spss", "log", "log-log", "plain")


@dataclass(frozen=True)
class KMCurve:
    """Product-limit curve evaluated at each distinct observed time."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    greenwood_var: np.ndarray
    se_log: np.ndarray = field(repr=False)  # Greenwood SE of log S (R survfit's ``std.err``); inf once S = 0
    n: int = 0

    def at_risk(self, times) -> np.ndarray:
        """Number of subjects with observed time >= t, for each t in ``times``."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, t, side="left")
        padded = np.append(self.n_risk, 0)
        return padded[idx].astype(int)

    def survival_at(self, times) -> np.ndarray:
        """S(t) as a right-continuous step function (1 before the first time)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, t, side="right")
        return np.append(1.0, self.survival)[idx]


@dataclass(frozen=True)
class MedianCI:
    median: float
    lower: float
    upper: float
    se: float
    status: str  # "estimated" | "not_reached"
    ci_method: str


@dataclass(frozen=True)
class LogRank:
    chi2: float
    df: int
    p: float
    groups: tuple
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray


def _check(time, event) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    if t.shape != e.shape:
        raise ValueError("time and event must have the same length")
    if not np.all(np.isfinite(t)):
        raise ValueError("time must be finite (drop missing values first)")
    if np.any(t < 0):
        raise ValueError("time must be non-negative")
    if not np.all(np.isin(e, (0, 1))):
        raise ValueError("event must be 0/1 (or boolean)")
    return t, e.astype(float)


def km_estimate(time, event) -> KMCurve:
    """Kaplan–Meier estimate (product limit) with Greenwood variance."""
    t, e = _check(time, event)
    if t.size == 0:
        raise ValueError("no observations")
    utime, inv = np.unique(t, return_inverse=True)
    total = np.bincount(inv, minlength=utime.size).astype(float)
    d = np.bincount(inv, weights=e, minlength=utime.size)
    n_risk = t.size - np.concatenate(([0.0], np.cumsum(total)[:-1]))
    surv = np.cumprod(1.0 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    cum = np.cumsum(term)
    with np.errstate(invalid="ignore"):
        var = np.where(surv > 0, surv**2 * cum, 0.0)
    return KMCurve(time=utime, n_risk=n_risk.astype(int), n_event=d.astype(int),
                   n_censor=(total - d).astype(int), survival=surv, greenwood_var=var,
                   se_log=np.sqrt(cum), n=int(t.size))


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    return float(dist.norm_ppf(1 - (1 - level) / 2))


def pointwise_ci(curve: KMCurve, conf_type: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits of S as R ``survfit_confint`` (logse = TRUE, ulimit = TRUE); NaN where R has NA."""
    z = _z(level)
    p, se = curve.survival, curve.se_log
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            return np.exp(-np.exp(np.log(-np.log(xx)) - se2)), np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    raise ValueError(f"unknown conf_type {conf_type!r}")


def _approx_constant_right(xs: np.ndarray, vals: np.ndarray, v: float) -> float:
    """R ``approx(xs, vals, v, method = "constant", f = 1)`` for one point (rule = 1: NA outside)."""
    ok = ~np.isnan(xs)
    xs, vals = xs[ok], vals[ok]
    order = np.argsort(xs, kind="stable")
    xs, vals = xs[order], vals[order]
    if xs.size == 0 or v < xs[0] or v > xs[-1]:
        return np.nan
    j = int(np.searchsorted(xs, v, side="left"))  # first xs >= v
    return float(vals[j])


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = R_TOL) -> float:
    """R survival:::findq for a single probability p (x starts at the origin, y = 1 - S)."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    keep = np.zeros(y.size, dtype=bool)  # duplicated(): first occurrence kept, NaN equal to NaN, -0 == 0
    keep[np.unique(y + 0.0, return_index=True, equal_nan=True)[1]] = True
    x, y = x[keep], y[keep]
    idx = np.arange(y.size, dtype=float)
    i1 = _approx_constant_right(y + tol, idx, p)
    i2 = _approx_constant_right(y - tol, idx, p)
    quant = np.nan if np.isnan(i1) or np.isnan(i2) else (x[int(i1)] + x[int(i2)]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and not np.isnan(i1):
        quant = (x[int(i1)] + xmax) / 2
    return float(quant)


def _median_r(curve: KMCurve, conf_type: str, level: float) -> MedianCI:
    x = np.concatenate(([0.0], curve.time))
    lo, hi = pointwise_ci(curve, conf_type, level)
    med = _findq(x, np.concatenate(([0.0], 1 - curve.survival)), 0.5)
    lower = _findq(x, np.concatenate(([0.0], 1 - lo)), 0.5)
    upper = _findq(x, np.concatenate(([0.0], 1 - hi)), 0.5)
    status = "not_reached" if np.isnan(med) else "estimated"
    return MedianCI(med, lower, upper, np.nan, status, conf_type)


def _median_spss(curve: KMCurve, level: float) -> MedianCI:
    s = curve.survival
    below = np.flatnonzero(s <= 0.5 + R_TOL)
    if below.size == 0:
        return MedianCI(np.nan, np.nan, np.nan, np.nan, "not_reached", "spss")
    k = int(below[0])
    med = float(curve.time[k])
    ev = curve.n_event > 0
    t_ev = np.concatenate(([0.0], curve.time[ev]))
    s_ev = np.concatenate(([1.0], s[ev]))
    upper_side = np.flatnonzero(s_ev >= 0.5 + SPSS_EPS)
    lower_side = np.flatnonzero(s_ev <= 0.5 - SPSS_EPS)
    se = np.nan
    if upper_side.size and lower_side.size:
        u, lo_ = int(upper_side[-1]), int(lower_side[0])
        density = (s_ev[u] - s_ev[lo_]) / (t_ev[lo_] - t_ev[u])
        se = float(np.sqrt(curve.greenwood_var[k]) / density)
    z = _z(level)
    return MedianCI(med, med - z * se, med + z * se, se, "estimated", "spss")


def km_median(curve: KMCurve, ci: str = "spss", level: float = 0.95) -> MedianCI:
    """Median survival and its CI in the named convention (see module docstring)."""
    if ci == "spss":
        return _median_spss(curve, level)
    if ci in ("log", "log-log", "plain"):
        return _median_r(curve, ci, level)
    raise ValueError(f"unknown ci method {ci!r}; expected one of {CI_METHODS}")


def logrank(time, event, group) -> LogRank:
    """Log-rank test as R ``survdiff(Surv(time, event) ~ group)`` (rho = 0)."""
    t, e = _check(time, event)
    g = np.asarray(group).ravel()
    if g.shape != t.shape:
        raise ValueError("group must have the same length as time")
    levels, gi = np.unique(g, return_inverse=True)
    k = levels.size
    utime, ti = np.unique(t, return_inverse=True)
    m = utime.size
    cell = ti * k + gi  # (time, group) cell of each subject
    n_tot = np.bincount(cell, minlength=m * k).astype(float).reshape(m, k)
    d_tot = np.bincount(cell, weights=e, minlength=m * k).reshape(m, k)
    at_risk = np.cumsum(n_tot[::-1], axis=0)[::-1]  # subjects with time >= t, per group
    n = at_risk.sum(axis=1)
    d = d_tot.sum(axis=1)
    use = d > 0
    at_risk, n, d, d_tot = at_risk[use], n[use], d[use], d_tot[use]
    frac = at_risk / n[:, None]
    observed = d_tot.sum(axis=0)
    expected = (frac * d[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    variance = np.diag((frac * w[:, None]).sum(axis=0)) - (frac * w[:, None]).T @ frac
    keep = expected > 0
    if keep.sum() < 2:
        chi2 = 0.0
    else:
        diff = (observed - expected)[keep][1:]
        vv = variance[np.ix_(keep, keep)][1:, 1:]
        chi2 = float(diff @ np.linalg.solve(vv, diff))
    df = int(keep.sum()) - 1
    p = float(dist.chi2_sf(chi2, df)) if df > 0 else np.nan
    return LogRank(chi2, df, p, tuple(levels.tolist()), observed, expected, variance)
