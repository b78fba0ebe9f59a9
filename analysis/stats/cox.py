"""Cox proportional-hazards regression by Newton–Raphson, as R ``survival::coxph`` (3.5).

Conventions:

* Partial likelihood with Breslow or Efron handling of tied event times (``ties=``; R's default is Efron).
  Risk sets are sums over subjects with time >= t, computed on sorted data with reverse cumulative sums; the
  information matrix's second-moment term is computed as ``X' diag(w H) X`` (H the per-subject cumulative
  ``sum 1/S0`` over event times up to the subject's time), so no per-time p×p matrices are ever formed.
* Optimiser: R ``coxfit6``: start at beta = 0; Newton steps; a step that lowers the log-likelihood is halved
  towards the last accepted beta; converged when ``|1 - loglik_old / loglik_new| <= 1e-9`` after a full
  (non-halved) step; at most 20 iterations. Covariates that are not 0/1 are centred and scaled by their
  mean absolute deviation before fitting (results are mapped back), as ``coxfit6`` does.
* Singularity: ``cholesky2`` pivots below ``eps^0.75`` × the largest diagonal element of the information
  matrix are treated as zero; those coefficients are not estimable (R reports NA).
* Infinite coefficient (monotone likelihood / separation): R's ``coxph.fit`` check, flagged when the next
  Newton step ``|U' V|`` exceeds both 1e-9 and ``sqrt(1e-9) * |beta|`` after convergence.
* Inference: Wald: SE from the inverse information, z = b / SE, two-sided normal p, CI exp(b ± z·SE).
* Strata: separate baseline hazards, risk sets within strata (R ``strata()``).

Speed (results equal the row-by-row computation to rounding, see tests/test_performance_equivalence.py): rows
with the same stratum, time, event and 0/1 covariate pattern are merged into one weighted cell (a binary
univariable model on 10^6 patients becomes a few thousand cells); per distinct time the tied-event slots are
summed in closed form (Efron's ``a_k = (S1 - f_k E1) / (S0 - f_k E0)`` expanded, so no slot × p arrays), and
the second-moment term is accumulated per covariate pattern when the covariates are 0/1.
``cox_univariable_batch`` sorts once and fits 0/1 columns on their own cells, other columns together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from analysis.stats.threads import one_blas_thread

EPS = 1e-9
TOLER_CHOL = float(np.finfo(float).eps ** 0.75)
TOLER_INF = float(np.sqrt(EPS))
ITER_MAX = 20


@dataclass(frozen=True)
class CoxFit:
    coef: np.ndarray
    se: np.ndarray
    hr: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    z: np.ndarray
    p: np.ndarray
    var: np.ndarray
    loglik: float
    loglik_null: float
    n: int
    events: int
    iterations: int
    converged: bool
    status: str  # "ok" | "not_estimable"
    reason: str | None
    column_status: tuple[str, ...]  # per covariate: "ok", "constant", "singular", "infinite", "no_events", ...
    ties: str
    level: float


@dataclass
class _Stratum:
    x: np.ndarray  # (n, p) sorted by time
    event: np.ndarray  # (n,) 0/1 float
    starts: np.ndarray  # first row of each distinct time
    group: np.ndarray  # (n,) distinct-time index of each row
    d: np.ndarray  # events per distinct time
    ev_group: np.ndarray  # (D,) distinct-time index per tied-event slot, grouped
    ev_frac: np.ndarray  # (D,) k/d for Efron, 0 for Breslow
    ev_times: np.ndarray  # distinct-time indices that have events
    ev_starts: np.ndarray  # first slot of each of those times in the (D,) slot arrays


def _prepare(time, event, x, strata, ties) -> list[_Stratum]:
    out = []
    labels = np.zeros(time.size, dtype=int) if strata is None else np.unique(strata, return_inverse=True)[1]
    for s in np.unique(labels):
        rows = np.flatnonzero(labels == s)
        order = rows[np.argsort(time[rows], kind="stable")]
        t = time[order]
        new = np.concatenate(([True], t[1:] != t[:-1]))
        starts = np.flatnonzero(new)
        group = np.cumsum(new) - 1
        e = event[order]
        d = np.add.reduceat(e, starts)
        di = d.astype(int)
        ev_group = np.repeat(np.arange(d.size), di)
        k = np.arange(ev_group.size) - np.repeat(np.cumsum(di) - di, di)
        frac = k / np.repeat(np.maximum(d, 1), di) if ties == "efron" else np.zeros(ev_group.size)
        ev_times = np.flatnonzero(di > 0)
        ev_starts = np.concatenate(([0], np.cumsum(di[ev_times])[:-1])).astype(int)
        out.append(_Stratum(x[order], e, starts, group, d, ev_group, frac, ev_times, ev_starts))
    return out


def _rev_cumsum(a: np.ndarray) -> np.ndarray:
    return np.cumsum(a[::-1], axis=0)[::-1]


MAX_PATTERN_BITS = 30  # 0/1 covariate patterns are coded as integers below 2**30


@dataclass
class _Cells:
    """One stratum as weighted cells (rows merged by time, event and covariate pattern), sorted by time."""

    xt: np.ndarray  # (p, m) covariates of each cell
    count: np.ndarray  # (m,) number of patients in each cell
    event: np.ndarray  # (m,) 0/1
    starts: np.ndarray  # first cell of each distinct time
    group: np.ndarray  # (m,) distinct-time index of each cell
    ev_cells: np.ndarray  # cells with an event
    ev_cell_starts: np.ndarray  # first of ev_cells of each event time
    ev_times: np.ndarray  # distinct-time indices that have events
    slot_time: np.ndarray  # (D,) index into ev_times of each tied-event slot (one per patient with an event)
    slot_frac: np.ndarray  # (D,) k/d for Efron, 0 for Breslow
    xsum_events: np.ndarray  # (p,) sum of x over patients with an event
    pattern: np.ndarray | None  # (m,) index into `patterns` (0/1 covariates only)
    patterns: np.ndarray | None  # (p, P) distinct 0/1 covariate patterns
    xt_events: np.ndarray  # (p, len(ev_cells)) covariates of the cells with an event
    d: np.ndarray  # patients with an event at each event time
    breslow: bool  # f = 0 for every slot: the slot sums have a closed form
    work: np.ndarray = field(init=False, repr=False)  # reused (p, m) buffer: fresh large arrays cost page faults
    work_ev: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.work = np.empty_like(self.xt)
        self.work_ev = np.empty_like(self.xt_events)


def _pattern_codes(x: np.ndarray) -> np.ndarray | None:
    """Integer code of each row's 0/1 pattern (bit j = column j), or None unless every value is 0 or 1."""
    p = x.shape[1]
    if p == 0 or p > MAX_PATTERN_BITS or not np.all((x == 0) | (x == 1)):
        return None
    return (x @ (2.0 ** np.arange(p))).astype(np.int64)


def _cells(time: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str,
           count: np.ndarray | None = None, code: np.ndarray | None = None) -> _Cells:
    """Weighted cells of one stratum. `count` (optional): rows are already cells of that size, sorted by time."""
    p = x.shape[1]
    if count is None:
        code = _pattern_codes(x) if code is None else code
        if code is not None:  # merge rows with equal time, event and pattern; the key's sort orders by time
            utime = np.unique(time)
            key = (np.searchsorted(utime, time).astype(np.int64) * 2 + event.astype(np.int64)) << p | code
            ukey, count = np.unique(key, return_counts=True)
            code = ukey & ((np.int64(1) << p) - 1)
            event = (ukey >> p) & 1
            time = utime[ukey >> (p + 1)]
            x = ((code[:, None] >> np.arange(p)) & 1).astype(float)
        else:
            order = np.argsort(time, kind="stable")
            time, event, x = time[order], event[order], x[order]
            count = np.ones(time.size)
    count = count.astype(float)
    new = np.concatenate(([True], time[1:] != time[:-1]))
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    d = np.bincount(group, weights=count * event, minlength=starts.size)
    ev_times = np.flatnonzero(d > 0)
    di = d[ev_times].astype(np.int64)
    slot_time = np.repeat(np.arange(ev_times.size), di)
    k = np.arange(slot_time.size) - np.repeat(np.cumsum(di) - di, di)
    frac = k / np.repeat(di, di) if ties == "efron" else np.zeros(slot_time.size)
    ev_cells = np.flatnonzero(event > 0)
    ev_cell_starts = np.flatnonzero(np.concatenate(([True], np.diff(group[ev_cells]) > 0)))
    pattern = patterns = None
    if code is not None:
        ucode, pattern = np.unique(code, return_inverse=True)
        patterns = ((ucode[None, :] >> np.arange(p)[:, None]) & 1).astype(float)
    xt = np.ascontiguousarray(x.T)
    xt_ev = xt[:, ev_cells]
    return _Cells(xt, count, event.astype(float), starts, group, ev_cells, ev_cell_starts, ev_times, slot_time,
                  frac, xt_ev @ count[ev_cells], pattern, patterns, xt_ev, d[ev_times], ties == "breslow")


def _derivs_cells(beta: np.ndarray, strata: list[_Cells]) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and information of one model at beta, from weighted cells."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # diverging fits: handled by the caller
        return _derivs_cells_unchecked(beta, strata)


def _derivs_cells_unchecked(beta: np.ndarray, strata: list[_Cells]) -> tuple[float, np.ndarray, np.ndarray]:
    p = beta.size
    loglik, u, imat = 0.0, np.zeros(p), np.zeros((p, p))
    for st in strata:
        if st.ev_times.size == 0:  # a stratum without events adds nothing
            continue
        eta = (beta @ st.patterns)[st.pattern] if st.patterns is not None else beta @ st.xt
        eta = eta - eta.max()  # shift-invariant; keeps exp() finite
        cw = st.count * np.exp(eta)
        cwx = np.multiply(st.xt, cw, out=st.work)
        s0 = _rev_cumsum(np.add.reduceat(cw, st.starts))[st.ev_times]
        s1 = _rev_cumsum(np.add.reduceat(cwx, st.starts, axis=1).T)[st.ev_times].T  # (p, T_events)
        e0 = np.add.reduceat(cw[st.ev_cells], st.ev_cell_starts)
        e1 = np.add.reduceat(np.multiply(st.xt_events, cw[st.ev_cells], out=st.work_ev), st.ev_cell_starts, axis=1)
        if st.breslow:  # every slot of a time is alike: rho = 1, f = 0
            r1 = r2 = st.d
            rf = rf2 = rff2 = np.zeros_like(st.d)
            log_s0k = float(st.d @ np.log(s0))
        else:
            g, f = st.slot_time, st.slot_frac
            rho = 1.0 / (1.0 - f * (e0 / s0)[g])  # S0 / s0k, in [1, d]: no overflow where S0 is tiny
            n_ev = st.ev_times.size
            r1, rf = np.bincount(g, weights=rho, minlength=n_ev), np.bincount(g, weights=f * rho, minlength=n_ev)
            rho2 = rho * rho
            r2, rf2 = np.bincount(g, weights=rho2, minlength=n_ev), np.bincount(g, weights=f * rho2, minlength=n_ev)
            rff2 = np.bincount(g, weights=f * f * rho2, minlength=n_ev)
            log_s0k = float(np.log(s0[g] - f * e0[g]).sum())
        m1, n1 = s1 / s0, e1 / s0  # a_k = rho_k (m1 - f_k n1)
        loglik += float(st.count[st.ev_cells] @ eta[st.ev_cells]) - log_s0k
        u += st.xsum_events - (m1 @ r1 - n1 @ rf)
        cross = (m1 * rf2) @ n1.T
        imat -= (m1 * r2) @ m1.T - cross - cross.T + (n1 * rff2) @ n1.T  # sum_k a_k a_k'
        hsum = np.zeros(st.starts.size)
        hsum[st.ev_times] = r1 / s0  # sum_k 1/s0k
        csum = np.zeros(st.starts.size)
        csum[st.ev_times] = rf / s0  # sum_k f_k/s0k
        h = np.cumsum(hsum)[st.group] - csum[st.group] * st.event
        if st.patterns is not None:
            q = np.bincount(st.pattern, weights=cw * h, minlength=st.patterns.shape[1])
            imat += (st.patterns * q) @ st.patterns.T
        else:
            imat += (st.xt * (cw * h)) @ st.xt.T
    return loglik, u, imat


def _derivs(beta: np.ndarray, strata: list[_Stratum], batch: bool):
    """Log partial likelihood, score and information at beta.

    ``batch=False``: beta (p,), returns (float, (p,), (p, p)).
    ``batch=True``: column j is its own one-covariate model with coefficient beta[j]; returns (p,) arrays.
    """
    p = beta.size
    loglik = np.zeros(p) if batch else 0.0
    u = np.zeros(p)
    imat = np.zeros(p) if batch else np.zeros((p, p))
    for st in strata:
        if st.ev_times.size == 0:  # a stratum without events adds nothing
            continue
        x, e = st.x, st.event
        eta = x * beta if batch else x @ beta
        eta = eta - eta.max(axis=0)  # shift-invariant; keeps exp() finite
        w = np.exp(eta)
        wx = w[:, None] * x if not batch else w * x
        s0 = _rev_cumsum(np.add.reduceat(w, st.starts, axis=0))
        s1 = _rev_cumsum(np.add.reduceat(wx, st.starts, axis=0))
        ev = e > 0
        e0 = np.add.reduceat(w * e[:, None] if batch else w * e, st.starts, axis=0)
        e1 = np.add.reduceat(wx * e[:, None], st.starts, axis=0)
        g, f = st.ev_group, st.ev_frac
        if batch:
            s0k = s0[g] - f[:, None] * e0[g]
            a = (s1[g] - f[:, None] * e1[g]) / s0k
        else:
            s0k = s0[g] - f * e0[g]
            a = (s1[g] - f[:, None] * e1[g]) / s0k[:, None]
        inv = 1.0 / s0k
        hsum = np.zeros((st.d.size,) + inv.shape[1:])
        hsum[st.ev_times] = np.add.reduceat(inv, st.ev_starts, axis=0)
        csum = np.zeros_like(hsum)
        csum[st.ev_times] = np.add.reduceat(inv * (f[:, None] if batch else f), st.ev_starts, axis=0)
        h = np.cumsum(hsum, axis=0)[st.group] - (csum[st.group] * (e[:, None] if batch else e))
        loglik = loglik + eta[ev].sum(axis=0) - np.log(s0k).sum(axis=0)
        u = u + x[ev].sum(axis=0) - a.sum(axis=0)
        if batch:
            imat = imat + (w * h * x * x).sum(axis=0) - (a * a).sum(axis=0)
        else:
            imat = imat + (x * (w * h)[:, None]).T @ x - a.T @ a
    if not batch:
        loglik = float(loglik)
    return loglik, u, imat


def _singular(imat: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Columns whose pivot R's ``cholesky2`` (LDL', relative tolerance) treats as zero."""
    m = imat.astype(float).copy()
    n = m.shape[0]
    dmax = max(float(np.max(np.diag(m))), 0.0) if n else 0.0
    eps = toler if dmax == 0 else dmax * toler
    sing = np.zeros(n, dtype=bool)
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            sing[i] = True
            continue
        col = m[i + 1:, i] / pivot
        m[i + 1:, i + 1:] -= np.outer(col, m[i + 1:, i])
        m[i + 1:, i] = col
    return sing


def _solve(imat: np.ndarray, vec: np.ndarray, sing: np.ndarray) -> np.ndarray:
    out = np.zeros_like(vec)
    ok = ~sing
    if ok.any():
        out[ok] = np.linalg.solve(imat[np.ix_(ok, ok)], vec[ok])
    return out


def _inverse(imat: np.ndarray, sing: np.ndarray) -> np.ndarray:
    out = np.zeros_like(imat)
    ok = ~sing
    if ok.any():
        out[np.ix_(ok, ok)] = np.linalg.inv(imat[np.ix_(ok, ok)])
    return out


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """coxfit6's centring and mean-absolute-deviation scaling, skipped for 0/1 columns."""
    zero_one = np.all((x == 0) | (x == 1), axis=0)
    if zero_one.all():  # nothing to centre or scale
        return x, np.zeros(x.shape[1]), np.ones(x.shape[1])
    means = np.where(zero_one, 0.0, x.mean(axis=0))
    xc = x - means
    mad = np.abs(xc).mean(axis=0)
    scale = np.where(zero_one | (mad == 0), 1.0, 1.0 / np.where(mad == 0, 1.0, mad))
    return xc * scale, means, scale


def _as_inputs(time, event, x):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    xm = np.asarray(x, dtype=float)
    if xm.ndim == 1:
        xm = xm[:, None]
    if not (t.size == e.size == xm.shape[0]):
        raise ValueError("time, event and X must have the same number of rows")
    if not np.all(np.isin(e, (0, 1))):
        raise ValueError("event must be 0/1")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(xm))):
        raise ValueError("time and X must be finite (drop missing values first)")
    return t, e.astype(float), xm


def _wald(coef, se, level):
    zq = special.ndtri(1 - (1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z = coef / se
        p = special.erfc(np.abs(z) / np.sqrt(2))  # two-sided normal tail
        return np.exp(coef), np.exp(coef - zq * se), np.exp(coef + zq * se), z, p


def _empty(p: int, n: int, reason: str, ties: str, level: float, col: str, loglik=np.nan) -> CoxFit:
    nan = np.full(p, np.nan)
    return CoxFit(nan, nan, nan, nan, nan, nan, nan, np.full((p, p), np.nan), loglik, loglik, n, 0, 0, False,
                  "not_estimable", reason, (col,) * p, ties, level)


def cox_fit(time, event, X, ties: str = "breslow", strata=None, level: float = 0.95) -> CoxFit:
    """Fit a Cox model (see module docstring for the conventions)."""
    if ties not in ("breslow", "efron"):
        raise ValueError("ties must be 'breslow' or 'efron'")
    t, e, x = _as_inputs(time, event, X)
    n, p = x.shape
    if e.sum() == 0:
        return _empty(p, n, "no events", ties, level, "no_events")
    constant = np.ptp(x, axis=0) == 0 if n else np.ones(p, dtype=bool)
    xs, _, scale = _standardise(x)
    strata_arr = None if strata is None else np.asarray(strata).ravel()
    groups = _cell_strata(t, e, xs, strata_arr, ties)
    with one_blas_thread():
        return _newton(groups, constant, scale, n, int(e.sum()), ties, level)


def _cell_strata(t: np.ndarray, e: np.ndarray, xs: np.ndarray, strata, ties: str) -> list[_Cells]:
    if strata is None:
        return [_cells(t, e, xs, ties)]
    labels = np.unique(strata, return_inverse=True)[1]
    return [_cells(t[labels == s], e[labels == s], xs[labels == s], ties) for s in np.unique(labels)]


def _newton(groups: list[_Cells], constant: np.ndarray, scale: np.ndarray, n: int, events: int, ties: str,
            level: float) -> CoxFit:
    """R coxfit6's Newton–Raphson with step-halving on prepared cells (see module docstring)."""
    p = scale.size
    beta = np.zeros(p)
    loglik0, u, imat = _derivs_cells(beta, groups)
    best = loglik0
    sing = _singular(imat)
    newbeta = beta + _solve(imat, u, sing)
    halving = False
    converged = False
    iterations = 0
    newlk = loglik0
    for it in range(1, ITER_MAX + 1):
        iterations = it
        newlk, u, imat = _derivs_cells(newbeta, groups)
        sing = _singular(imat)
        finite = np.isfinite(newlk)
        if finite and abs(1 - best / newlk) <= EPS and not halving:
            converged = True
            break
        if it == ITER_MAX:
            break
        if not finite or newlk < best:
            halving = True
            newbeta = (newbeta + beta) / 2
        else:
            halving = False
            best = newlk
            step = _solve(imat, u, sing)
            beta = newbeta
            newbeta = newbeta + step
    var_s = _inverse(imat, sing)
    coef = newbeta * scale
    var = var_s * np.outer(scale, scale)
    u_orig = u / scale
    sing = sing | constant
    infinite = np.zeros(p, dtype=bool)
    if converged:
        nxt = np.abs(u_orig @ var)
        infinite = ~np.isfinite(u_orig) | ((nxt > EPS) & (nxt > TOLER_INF * np.abs(coef)))
    infinite &= ~sing
    coef = np.where(sing, np.nan, coef)
    se = np.where(sing, np.nan, np.sqrt(np.diag(var)))
    hr, lo, hi, z, pv = _wald(coef, se, level)
    col = tuple("constant" if c else "singular" if s else "infinite" if i else "ok"
                for c, s, i in zip(constant, sing, infinite, strict=True))
    reasons = []
    if constant.any():
        reasons.append("constant covariate")
    if (sing & ~constant).any():
        reasons.append("singular information matrix (collinear covariates)")
    if infinite.any():
        reasons.append("monotone likelihood (separation): coefficient diverging")
    if not converged:
        reasons.append(f"did not converge in {ITER_MAX} iterations")
    status = "ok" if not reasons else "not_estimable"
    return CoxFit(coef, se, hr, lo, hi, z, pv, var, float(newlk), float(loglik0), n, events, iterations,
                  converged, status, "; ".join(reasons) or None, col, ties, level)


def cox_univariable_batch(time, event, X, ties: str = "breslow", strata=None,
                          level: float = 0.95) -> list[CoxFit]:
    """Fit ``coxph(Surv(time, event) ~ X[:, j])`` for every column j at once (vectorised across columns)."""
    with one_blas_thread():
        return _univariable_batch(time, event, X, ties, strata, level)


def _univariable_batch(time, event, X, ties: str, strata, level: float) -> list[CoxFit]:
    if ties not in ("breslow", "efron"):
        raise ValueError("ties must be 'breslow' or 'efron'")
    t, e, x = _as_inputs(time, event, X)
    n, p = x.shape
    if e.sum() == 0:
        return [_empty(1, n, "no events", ties, level, "no_events") for _ in range(p)]
    fits: list[CoxFit | None] = [None] * p
    binary = np.all((x == 0) | (x == 1), axis=0)
    if strata is None and n and binary.any():  # one sort; each 0/1 column becomes <= 4 cells per time
        order = np.argsort(t, kind="stable")
        ts = t[order]
        utime = ts[np.concatenate(([True], ts[1:] != ts[:-1]))]
        base = (np.searchsorted(utime, ts).astype(np.int64) * 2 + e[order].astype(np.int64)) * 2
        for j in np.flatnonzero(binary):
            counts = np.bincount(base + x[:, j][order].astype(np.int64), minlength=utime.size * 4)
            cell = np.flatnonzero(counts)
            code = cell & 1
            st = _cells(utime[cell >> 2], ((cell >> 1) & 1).astype(float), code[:, None].astype(float), ties,
                        count=counts[cell], code=code)
            fits[j] = _newton([st], np.array([np.ptp(x[:, j]) == 0]), np.ones(1), n, int(e.sum()), ties, level)
    rest = [j for j in range(p) if fits[j] is None]
    if rest:
        for j, fit in zip(rest, _univariable_rows(t, e, x[:, rest], ties, strata, level), strict=True):
            fits[j] = fit
    return [f for f in fits if f is not None]


def _univariable_rows(t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str, strata, level: float) -> list[CoxFit]:
    """Row-level univariable fits, vectorised across the columns of x."""
    n, p = x.shape
    constant = np.ptp(x, axis=0) == 0 if n else np.ones(p, dtype=bool)
    xs, _, scale = _standardise(x)
    strata_arr = None if strata is None else np.asarray(strata).ravel()
    groups = _prepare(t, e, xs, strata_arr, ties)
    beta = np.zeros(p)
    loglik0, u, imat = _derivs(beta, groups, batch=True)
    best = loglik0.copy()
    sing = ~(imat >= TOLER_CHOL * np.maximum(imat, 0)) | (imat <= 0) | ~np.isfinite(imat)
    newbeta = beta + np.where(sing, 0.0, u / np.where(sing, 1.0, imat))
    halving = np.zeros(p, dtype=bool)
    active = np.ones(p, dtype=bool)
    converged = np.zeros(p, dtype=bool)
    iterations = np.zeros(p, dtype=int)
    newlk = loglik0.copy()
    u_fin, i_fin = u.copy(), imat.copy()
    for it in range(1, ITER_MAX + 1):
        if not active.any():
            break
        lk, u, imat = _derivs(newbeta, groups, batch=True)
        newlk = np.where(active, lk, newlk)
        u_fin = np.where(active, u, u_fin)
        i_fin = np.where(active, imat, i_fin)
        iterations[active] = it
        finite = np.isfinite(lk)
        with np.errstate(invalid="ignore", divide="ignore"):
            done = active & finite & (np.abs(1 - best / lk) <= EPS) & ~halving
        converged |= done
        active &= ~done
        if it == ITER_MAX:
            break
        worse = active & (~finite | (lk < best))
        accept = active & ~worse
        sing = (imat <= 0) | ~np.isfinite(imat)
        step = np.where(sing, 0.0, u / np.where(sing, 1.0, imat))
        nb = np.where(worse, (newbeta + beta) / 2, newbeta + step)
        beta = np.where(accept, newbeta, beta)
        best = np.where(accept, lk, best)
        halving = np.where(active, worse, halving)
        newbeta = np.where(active, nb, newbeta)
    fits = []
    for j in range(p):
        sj = bool(constant[j]) or not (i_fin[j] > 0 and np.isfinite(i_fin[j]))
        var = np.array([[0.0 if sj else scale[j] ** 2 / i_fin[j]]])
        coef = np.array([np.nan if sj else newbeta[j] * scale[j]])
        se = np.array([np.nan if sj else np.sqrt(var[0, 0])])
        inf = False
        if converged[j] and not sj:
            uo = u_fin[j] / scale[j]
            nxt = abs(uo * var[0, 0])
            inf = (not np.isfinite(uo)) or (nxt > EPS and nxt > TOLER_INF * abs(coef[0]))
        hr, lo, hi, z, pv = _wald(coef, se, level)
        reasons = []
        if constant[j]:
            reasons.append("constant covariate")
        elif sj:
            reasons.append("singular information matrix")
        if inf:
            reasons.append("monotone likelihood (separation): coefficient diverging")
        if not converged[j]:
            reasons.append(f"did not converge in {ITER_MAX} iterations")
        col = "constant" if constant[j] else "singular" if sj else "infinite" if inf else "ok"
        fits.append(CoxFit(coef, se, hr, lo, hi, z, pv, var, float(newlk[j]), float(loglik0[j]), n,
                           int(e.sum()), int(iterations[j]), bool(converged[j]),
                           "ok" if not reasons else "not_estimable", "; ".join(reasons) or None, (col,),
                           ties, level))
    return fits
