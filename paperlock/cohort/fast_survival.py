"""Fast survival kernels for the calibration loop: SPSS-style Kaplan–Meier medians and batched Cox fits.

These are deliberately small and fast (the search evaluates them hundreds of thousands of times): the
Kaplan–Meier steps come from a compiled kernel (`km_kernel`, C; equal to its numpy reference bit for bit),
the Cox fits are vectorised over many candidate columns. The project's reference
implementations in `analysis.stats` are used for the final check.

* Kaplan–Meier median: the smallest event time with S(t) <= 0.5. Its standard error follows SPSS
  (Collett 1994, eq. 2.19): SE = sqrt(Greenwood Var S(median)) / f, with the density
  f = (S(u) - S(l)) / (l - u), u the largest event time with S >= 0.55 (0 if none) and l the smallest
  event time with S <= 0.45. The CI is median ± z·SE.
* Cox proportional hazards with Breslow ties, fitted by Newton–Raphson from beta = 0. `cox_uni` fits one
  model per column of X at once; `cox_multi` fits one model with all columns; `cox_multi_batch` fits many
  multivariable models on the same times at once (one design matrix per model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paperlock.cohort import km_kernel

Z95 = 1.959963984540054
R_TOL = float(np.sqrt(np.finfo(float).eps))  # as analysis.stats.km: the median is the first S <= 0.5 + R_TOL
SPSS_EPS = 0.05  # as analysis.stats.km: u has S >= 0.5 + eps, l has S <= 0.5 - eps
NEWTON_STEPS = 12
MAX_STEP = 3.0


@dataclass(frozen=True)
class KMMedian:
    """A Kaplan–Meier median in the input time unit; nan where not estimable."""

    median: float
    lower: float
    upper: float
    exactly_half: bool  # S(t) == 0.5 on a step: R would take a midpoint, SPSS would not
    u_time: float = np.nan  # the event time u of the density estimate (0 = the origin)
    l_time: float = np.nan  # the event time l of the density estimate
    s_at: tuple[float, ...] = ()  # S(t) at the probe times passed as `at`


def km_median_spss(time: np.ndarray, event: np.ndarray, z: float = Z95,
                   at: tuple[float, ...] = ()) -> KMMedian:
    """Median survival with SPSS's symmetric CI (see module docstring); `at`: times at which S(t) is also
    returned (`s_at`), e.g. just before and at a target median, so a search sees how far the curve is from
    crossing 0.5 there even while the median itself does not move. The curve's steps come from the compiled
    kernel when it is built (`_km_steps`); `km_steps_numpy` is the same computation in numpy, the same bits."""
    te, surv, gw, m, up, lo = _km_steps(np.asarray(time, dtype=float), np.asarray(event, dtype=float))
    return _median_from_steps(te, surv, gw, m, up, lo, z, at)


def _median_from_steps(te: np.ndarray, surv: np.ndarray, gw: np.ndarray, m: int, up: int, lo: int, z: float,
                       at: tuple[float, ...]) -> KMMedian:
    """The median, its CI and S at the probe times from the curve's steps (numpy scalar arithmetic, so the
    numbers do not depend on which kernel computed the steps)."""
    if te.size == 0:
        return KMMedian(np.nan, np.nan, np.nan, False, s_at=tuple(1.0 for _ in at))
    s_at = tuple(float(surv[i - 1]) if (i := int(np.searchsorted(te, a, side="right"))) else 1.0 for a in at)
    if m < 0:
        return KMMedian(np.nan, np.nan, np.nan, False, s_at=s_at)
    half = abs(surv[m] - 0.5) < 1e-12
    var = surv[m] ** 2 * gw[m]  # Greenwood; 0 once S reaches 0
    u_t, u_s = (te[up], surv[up]) if up >= 0 else (0.0, 1.0)
    med = float(te[m])
    if lo < 0:
        return KMMedian(med, np.nan, np.nan, bool(half), float(u_t), s_at=s_at)
    l_t, l_s = te[lo], surv[lo]
    dens = (u_s - l_s) / (l_t - u_t)
    se = np.sqrt(var) / dens
    return KMMedian(med, float(med - z * se), float(med + z * se), bool(half), float(u_t), float(l_t), s_at)


def km_steps_numpy(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """The curve's steps in numpy: event times, S, cumulative Greenwood sum, and the indices of the median
    (first S <= 0.5 + R_TOL), u (last S >= 0.5 + eps) and l (first S <= 0.5 - eps), -1 where none."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    n = len(t)
    uniq, inv = np.unique(t, return_inverse=True)
    deaths = np.bincount(inv, weights=e, minlength=len(uniq))
    counts = np.bincount(inv, minlength=len(uniq))
    at_risk = n - np.concatenate(([0], np.cumsum(counts)[:-1]))
    keep = deaths > 0
    te, de, ne = uniq[keep], deaths[keep], at_risk[keep].astype(float)
    surv = np.cumprod(1.0 - de / ne)
    safe = ne > de
    gw = np.cumsum(np.where(safe, de / (ne * np.where(safe, ne - de, 1.0)), 0.0))

    def first(mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0]) if mask.any() else -1

    up = np.flatnonzero(surv >= 0.5 + SPSS_EPS)
    return te, surv, gw, first(surv <= 0.5 + R_TOL), int(up[-1]) if up.size else -1, first(surv <= 0.5 - SPSS_EPS)


def _km_steps(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """The curve's steps by the compiled kernel (`km_kernel`), or by `km_steps_numpy` without it: the same bits."""
    lib = km_kernel.load()
    if lib is None:
        return km_steps_numpy(t, e)
    return km_kernel.km_steps(lib, t, e, R_TOL, SPSS_EPS)


def risk_index(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by descending time, and for each sorted row the last row whose time is >= its time (Breslow)."""
    order = np.argsort(-time, kind="stable")
    ts = time[order]
    last = np.searchsorted(-ts, -ts, side="right") - 1
    return order, last


@dataclass(frozen=True)
class CoxFit:
    beta: np.ndarray
    se: np.ndarray

    @property
    def hr(self) -> np.ndarray:
        return np.exp(self.beta)

    def ci(self, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
        return np.exp(self.beta - z * self.se), np.exp(self.beta + z * self.se)


def cox_uni(time: np.ndarray, event: np.ndarray, X: np.ndarray, beta0: np.ndarray | None = None,
            steps: int = NEWTON_STEPS) -> CoxFit:
    """One single-covariate Breslow Cox model per column of X (n × k), all fitted together.

    `beta0` warm-starts the search (the calibration loop passes the previous fit and fewer `steps`).
    """
    order, last = risk_index(time)
    return cox_uni_sorted(X[order].astype(float), last, event[order].astype(bool), beta0, steps)


def _newton(beta: np.ndarray, score: np.ndarray, info: np.ndarray) -> np.ndarray:
    """One Newton–Raphson step per column (none where the information vanishes), clipped to MAX_STEP."""
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(info > 1e-10, score / info, 0.0)
    return beta + np.clip(step, -MAX_STEP, MAX_STEP)


def _fit(beta: np.ndarray, info: np.ndarray) -> CoxFit:
    """The fit with SE = information^-1/2 (infinite where the information vanishes)."""
    with np.errstate(divide="ignore"):
        se = np.where(info > 1e-10, 1.0 / np.sqrt(np.maximum(info, 1e-300)), np.inf)
    return CoxFit(beta, se)


def cox_uni_sorted(Xs: np.ndarray, last: np.ndarray, ev: np.ndarray, beta0: np.ndarray | None = None,
                   steps: int = NEWTON_STEPS, binary: bool = False) -> CoxFit:
    """`cox_uni` for rows already in risk order (`risk_index`: `last`, events `ev`); `binary`: every column is
    0/1, so each risk set is n₀ + n₁·e^β with counts that do not depend on β (the same fit, less work)."""
    beta = np.zeros(Xs.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
    if binary:
        return _cox_uni_binary(Xs, last, ev, beta, steps)
    X2 = Xs * Xs
    info = np.ones(Xs.shape[1])
    for _ in range(steps):
        w = np.exp(Xs * beta)
        s0 = np.cumsum(w, axis=0)[last][ev]
        s1 = np.cumsum(Xs * w, axis=0)[last][ev]
        s2 = np.cumsum(X2 * w, axis=0)[last][ev]
        mean = s1 / s0
        score = (Xs[ev] - mean).sum(axis=0)
        info = (s2 / s0 - mean * mean).sum(axis=0)
        beta = _newton(beta, score, info)
    return _fit(beta, info)


def _cox_uni_binary(Xs: np.ndarray, last: np.ndarray, ev: np.ndarray, beta: np.ndarray, steps: int) -> CoxFit:
    """`cox_uni_sorted` for 0/1 columns: at each event the risk set holds n₁ ones (a running count, fixed) and
    n − n₁ zeros, so the weighted sums are n₁·e^β and n − n₁ + n₁·e^β and x² = x."""
    n1 = np.cumsum(Xs, axis=0)[last][ev]
    n = (last + 1.0)[ev][:, None]
    x_sum = Xs[ev].sum(axis=0)
    info = np.ones(Xs.shape[1])
    for _ in range(steps):
        s1 = n1 * np.exp(beta)
        mean = s1 / (n - n1 + s1)
        score = x_sum - mean.sum(axis=0)
        info = (mean - mean * mean).sum(axis=0)
        beta = _newton(beta, score, info)
    return _fit(beta, info)


def cox_multi(time: np.ndarray, event: np.ndarray, X: np.ndarray, beta0: np.ndarray | None = None,
              steps: int = NEWTON_STEPS) -> CoxFit:
    """One Breslow Cox model with all columns of X (n × p); `beta0`/`steps` as for `cox_uni`."""
    order, last = risk_index(time)
    Xs = X[order].astype(float)
    ev = event[order].astype(bool)
    n, p = Xs.shape
    outer = (Xs[:, :, None] * Xs[:, None, :]).reshape(n, p * p)
    beta = np.zeros(p) if beta0 is None else np.array(beta0, dtype=float)
    info = np.eye(p)
    for _ in range(steps):
        w = np.exp(Xs @ beta)
        s0 = np.cumsum(w)[last][ev]
        s1 = np.cumsum(Xs * w[:, None], axis=0)[last][ev]
        s2 = np.cumsum(outer * w[:, None], axis=0)[last][ev].reshape(-1, p, p)
        mean = s1 / s0[:, None]
        score = (Xs[ev] - mean).sum(axis=0)
        info = (s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
        try:
            step = np.linalg.solve(info + 1e-9 * np.eye(p), score)
        except np.linalg.LinAlgError:
            break
        beta = beta + np.clip(step, -MAX_STEP, MAX_STEP)
    try:
        cov = np.linalg.inv(info + 1e-12 * np.eye(p))
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        se = np.full(p, np.inf)
    return CoxFit(beta, se)


def risk_matrix(last: np.ndarray, ev: np.ndarray) -> np.ndarray:
    """For rows in risk order (`risk_index`): the E × n 0/1 matrix whose row e marks the rows at risk at the
    e-th event (Breslow: every row whose time is >= the event's)."""
    return (np.arange(len(last))[None, :] <= last[ev][:, None]).astype(float)


def cox_multi_batch(Xs: np.ndarray, R: np.ndarray, ev: np.ndarray, beta0: np.ndarray | None = None,
                    steps: int = NEWTON_STEPS) -> CoxFit:
    """m Breslow Cox models at once, each with its own design matrix: `Xs` (m × n × p) in risk order, `R` from
    `risk_matrix`, `ev` the event flags in that order; beta and se are m × p. Risk-set sums are matrix products
    with R; the information is Σ_i c_i w_i x_i x_iᵀ − Σ_e mean_e mean_eᵀ with c_i = Σ_{e: i at risk} 1 / S0_e,
    which is `cox_multi`'s Σ_e (S2_e / S0_e − mean_e mean_eᵀ) without an m × n × p × p array."""
    m, _, p = Xs.shape
    beta = np.zeros((m, p)) if beta0 is None else np.array(beta0, dtype=float)
    eye = np.eye(p)
    x_events = Xs[:, ev].sum(axis=1)
    Xt = Xs.transpose(0, 2, 1)
    info = np.broadcast_to(eye, (m, p, p)).copy()
    for _ in range(steps):
        w = np.exp(np.einsum("mnp,mp->mn", Xs, beta))
        s0 = w @ R.T  # (m, E)
        mean = (R @ (Xs * w[:, :, None])) / s0[:, :, None]  # (m, E, p)
        score = x_events - mean.sum(axis=1)
        c = (1.0 / s0) @ R  # (m, n)
        info = (Xt * (c * w)[:, None, :]) @ Xs - mean.transpose(0, 2, 1) @ mean
        step = np.linalg.solve(info + 1e-9 * eye, score[:, :, None])[:, :, 0]
        beta = beta + np.clip(np.nan_to_num(step), -MAX_STEP, MAX_STEP)
    with np.errstate(invalid="ignore"):
        cov = np.linalg.inv(info + 1e-12 * eye)
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
    return CoxFit(beta, se)
