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

Speed (results equal the row-by-row computation to rounding, see tests/test_performance_equivalence.py and
tests/test_cox_fast_paths.py; a fit of n = 70 is mostly numpy call overhead, so every step counts calls):

* From 1000 rows up, rows with the same stratum, time, event and 0/1 covariate pattern are merged into one
  weighted cell (a model on 10^6 patients becomes a few thousand cells); smaller fits are sorted, not merged.
* Risk-set sums S0, S1 are one cumulative sum over the reversed cells, read at each event time. Efron's
  slots k >= 1 are kept only for the times where events tie (slot 0 has f = 0), summed in closed form
  (``a_k = rho_k (S1/S0 - f_k E1/S0)``, ``rho_k = S0 / (S0 - f_k E0)``); the second-moment term is
  accumulated per 0/1 covariate pattern when cells were merged.
* Up to 1500 rows (no strata; NATIVE_MAX_ROWS), the whole Newton–Raphson runs in a compiled kernel
  (_cox_kernel.c via cox_kernel.py: R coxfit6's sums, the same iterations and cholesky2 rule) when a C compiler
  could build it; the numpy paths below stay the reference (tests/test_cox_kernel.py) and the fallback.
* Up to 150 rows (no strata; DENSE_MAX_CELLS), risk sets are one dense (rows × events) 0/1 matrix built once per
  fit, with Efron's tied weights in it, so a Newton step is a handful of products (cox_dense.py); one 0/1
  covariate there runs its Newton–Raphson in floats (`_newton_one`). Same iterates as the cells path
  (tests/test_cox_fast_paths.py).
* Newton steps: LAPACK's Cholesky (whose pivots are cholesky2's) decides singularity when every pivot is
  clear of the tolerance, else cholesky2's loop does; the information is factored only when a step is taken.
* One 0/1 covariate (``cox_fit`` with one such column, ``binary_univariable_fits``, and the 0/1 columns of
  ``cox_univariable_batch``): a risk set is N0 patients with weight 1 and N1 with weight e^b, so the fit
  needs only per-time counts, and the Newton–Raphson of every column runs at once on (times × columns) arrays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import special
from scipy.linalg import lapack

from analysis.stats import cox_kernel
from analysis.stats.cox_dense import DenseBinary, DenseRiskSets
from analysis.stats.threads import one_blas_thread

EPS = 1e-9
TOLER_CHOL = float(np.finfo(float).eps ** 0.75)
TOLER_INF = float(np.sqrt(EPS))
ITER_MAX = 20
SQRT_HALF = math.sqrt(0.5)
SINGULAR_MULTI = "singular information matrix (collinear covariates)"
_max = np.maximum.reduce  # the ufunc itself: an array method goes through a Python wrapper
_min = np.minimum.reduce
_sum = np.add.reduce
Derivs = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]  # beta -> loglik, score, information


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
MERGE_MIN_ROWS = 1000  # below this many rows, merging rows into cells costs more numpy calls than it saves
THREADED_MIN = 4096  # cells × (p + 1) below which no BLAS product is large enough to be split over threads
DENSE_MAX_CELLS = 150 * 150  # rows² up to which `cox_fit` (no strata) uses the dense risk-set matrix (cox_dense.py)
NATIVE_MAX_ROWS = 1500  # rows up to which `cox_fit` (no strata) runs the compiled kernel (cox_kernel.py; measured)
SLOT_BLOCK = 1 << 21  # tied-event slots (or event times) × columns per block of the batched binary fits


@dataclass
class _Cells:
    """One stratum as weighted cells sorted by time (rows merged by time, event and 0/1 pattern when it pays).

    Risk-set sums are one cumulative sum over the cells in reverse order, read at the first cell of each event
    time. Efron's tied slots k = 1..d-1 are kept for the times with d >= 2 only (slot k = 0 has f = 0, rho = 1)."""

    xt1: np.ndarray  # (p + 1, m): a row of ones, then the covariates of each cell
    count: np.ndarray | None  # (m,) patients in each cell; None when every cell is one patient
    rev_first: np.ndarray  # (T,) column of the reversed cumulative sums holding each event time's risk set
    cell_ev: np.ndarray  # (m,) number of event times at or before the cell's time
    d: np.ndarray  # (T,) patients with an event at each event time
    r_base: np.ndarray  # (T,) sum of rho over a time's slots when rho = 1: d (Breslow), 1 (Efron)
    xsum_events: np.ndarray  # (p,) sum of x over patients with an event
    events: float  # patients with an event
    pattern: np.ndarray | None  # (m,) index into `patterns` (merged 0/1 covariates only)
    patterns: np.ndarray | None  # (p, P) distinct 0/1 covariate patterns
    tied: np.ndarray  # (Tt,) event times (indices into d) with >= 2 events, Efron only
    tied_cells: np.ndarray  # cells with an event at those times, by time
    tied_cell_starts: np.ndarray  # first of tied_cells at each tied time
    tied_cell_time: np.ndarray  # index into `tied` of each of tied_cells
    slot_time: np.ndarray  # (K,) index into `tied` of each slot k = 1..d-1
    slot_frac: np.ndarray  # (K,) k/d
    work: np.ndarray = field(init=False, repr=False)  # reused (p + 1, m) buffer: fresh large arrays cost page faults
    hbuf: np.ndarray = field(init=False, repr=False)  # (T + 1,) cumulative sum of 1/S0 over event times, 0 first

    def __post_init__(self) -> None:
        self.work = np.empty_like(self.xt1)
        self.hbuf = np.zeros(self.d.size + 1)

    @property
    def xt(self) -> np.ndarray:
        return self.xt1[1:]


def _pattern_codes(x: np.ndarray) -> np.ndarray | None:
    """Integer code of each row's 0/1 pattern (bit j = column j), or None unless every value is 0 or 1."""
    p = x.shape[1]
    if p == 0 or p > MAX_PATTERN_BITS or not np.all((x == 0) | (x == 1)):
        return None
    return (x @ (2.0 ** np.arange(p))).astype(np.int64)


def _cells(time: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str, merge: bool | None = None) -> _Cells:
    """Weighted cells of one stratum. `merge`: merge rows with equal time, event and 0/1 pattern (default: when
    there are at least MERGE_MIN_ROWS rows and every covariate is 0/1)."""
    n, p = x.shape
    count = code = None
    if merge is None:
        merge = n >= MERGE_MIN_ROWS
    if merge:
        code = _pattern_codes(x)
    if code is not None:  # one cell per (time, event, pattern); the key's sort orders by time
        utime = np.unique(time)
        key = (np.searchsorted(utime, time).astype(np.int64) * 2 + event.astype(np.int64)) << p | code
        ukey, counts = np.unique(key, return_counts=True)
        code = ukey & ((np.int64(1) << p) - 1)
        event = ((ukey >> p) & 1).astype(float)
        time = utime[ukey >> (p + 1)]
        count = counts.astype(float)
        ucode, pattern = np.unique(code, return_inverse=True)
        patterns = ((ucode[None, :] >> np.arange(p)[:, None]) & 1).astype(float)
        xt1 = np.empty((p + 1, time.size))
        xt1[0] = 1.0
        xt1[1:] = patterns[:, pattern]
    else:
        order = np.argsort(time, kind="stable")
        time, event = time[order], event[order]
        pattern = patterns = None
        xt1 = np.empty((p + 1, n))
        xt1[0] = 1.0
        xt1[1:] = x[order].T
    m = time.size
    new = np.empty(m, dtype=bool)
    new[:1] = True
    np.not_equal(time[1:], time[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    w_ev = event if count is None else event * count
    d_all = np.bincount(group, weights=w_ev, minlength=starts.size)
    has = d_all > 0
    ev_times = np.flatnonzero(has)
    d = d_all[ev_times]
    cell_ev = np.cumsum(has)[group]
    tied = np.flatnonzero(d >= 2) if ties == "efron" else np.zeros(0, dtype=np.int64)
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    tied_cells = tied_cell_starts = tied_cell_time = slot_time = empty_i
    slot_frac = empty_f
    if tied.size:
        ev_cells = np.flatnonzero(event > 0)
        ev_time = cell_ev[ev_cells] - 1
        at_tied = d[ev_time] >= 2
        tied_cells = ev_cells[at_tied]
        tied_cell_time = np.searchsorted(tied, ev_time[at_tied])
        tied_cell_starts = np.flatnonzero(np.concatenate(([True], np.diff(tied_cell_time) > 0)))
        extra = d[tied].astype(np.int64) - 1
        slot_time = np.repeat(np.arange(tied.size), extra)
        k = np.arange(slot_time.size) - np.repeat(np.cumsum(extra) - extra, extra) + 1
        slot_frac = k / np.repeat(extra + 1, extra)
    return _Cells(xt1, count, m - 1 - starts[ev_times], cell_ev, d, np.ones(d.size) if tied.size else d,
                  xt1[1:] @ w_ev, float(w_ev.sum()), pattern, patterns, tied, tied_cells, tied_cell_starts,
                  tied_cell_time, slot_time, slot_frac)


def _derivs_cells(beta: np.ndarray, strata: list[_Cells]) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and information of one model at beta, from weighted cells."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # diverging fits: handled by the caller
        return _derivs_unchecked(beta, strata)


def _derivs_unchecked(beta: np.ndarray, strata: list[_Cells]) -> tuple[float, np.ndarray, np.ndarray]:
    if len(strata) == 1:
        return _derivs_stratum(beta, strata[0])
    loglik, u, imat = 0.0, np.zeros(beta.size), np.zeros((beta.size, beta.size))
    for st in strata:
        ll_s, u_s, i_s = _derivs_stratum(beta, st)
        loglik, u, imat = loglik + ll_s, u + u_s, imat + i_s
    return loglik, u, imat


def _derivs_stratum(beta: np.ndarray, st: _Cells) -> tuple[float, np.ndarray, np.ndarray]:
    p = beta.size
    if st.d.size == 0:  # a stratum without events adds nothing
        return 0.0, np.zeros(p), np.zeros((p, p))
    eta = (beta @ st.patterns)[st.pattern] if st.patterns is not None else beta @ st.xt
    shift = _max(eta)  # exp(eta - max) stays finite; every sum below is shift-invariant
    eta -= shift
    cw = np.exp(eta, out=eta)
    if st.count is not None:
        cw *= st.count
    work = np.multiply(st.xt1, cw, out=st.work)
    s = work[:, ::-1].cumsum(axis=1)[:, st.rev_first]  # (p + 1, T): S0 and S1 over each risk set
    s0, s1 = s[0], s[1:]
    m1 = s1 / s0
    loglik = float(beta @ st.xsum_events - shift * st.events - st.d @ np.log(s0))
    if st.tied.size:  # Efron's slots k >= 1: s0k = S0 / rho, a_k = rho (m1 - f n1)
        e = np.add.reduceat(work[:, st.tied_cells], st.tied_cell_starts, axis=1)  # tied events' own sums
        s0t = s0[st.tied]
        g, f = st.slot_time, st.slot_frac
        rho = 1.0 / (1.0 - f * (e[0] / s0t)[g])  # in [1, d]: no overflow where S0 is tiny
        nt = st.tied.size
        frho, rho2 = f * rho, rho * rho
        frho2 = f * rho2
        rf, rf2 = np.bincount(g, weights=frho, minlength=nt), np.bincount(g, weights=frho2, minlength=nt)
        rff2 = np.bincount(g, weights=f * frho2, minlength=nt)
        r1, r2 = st.r_base.copy(), st.r_base.copy()
        r1[st.tied] += np.bincount(g, weights=rho, minlength=nt)
        r2[st.tied] += np.bincount(g, weights=rho2, minlength=nt)
        loglik += float(np.log(rho).sum())
        n1 = e[1:] / s0t
        u = st.xsum_events - m1 @ r1 + n1 @ rf
        cross = (m1[:, st.tied] * rf2) @ n1.T
        second = (m1 * r2) @ m1.T - cross - cross.T + (n1 * rff2) @ n1.T  # sum over slots of a_k a_k'
        hsum = r1 / s0
    else:
        u = st.xsum_events - m1 @ st.d
        second = (m1 * st.d) @ m1.T
        hsum = st.d / s0
    hsum.cumsum(out=st.hbuf[1:])
    h = st.hbuf[st.cell_ev]  # per cell: sum over event times up to its time of (sum_k 1/s0k)
    if st.tied.size:
        h[st.tied_cells] -= (rf / s0t)[st.tied_cell_time]  # its own time's sum_k f_k/s0k
    h *= cw
    if st.patterns is not None:  # second moment per 0/1 pattern
        q = np.bincount(st.pattern, weights=h, minlength=st.patterns.shape[1])
        first = (st.patterns * q) @ st.patterns.T
    else:
        first = np.multiply(st.xt, h, out=work[1:]) @ st.xt.T
    return loglik, u, first - second


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


class _Factor:
    """The information matrix with cholesky2's singular columns, factored once for the step and the variance.

    LAPACK's Cholesky is tried first: its pivots are the LDL' pivots of ``cholesky2``, so when all of them clear
    twice the tolerance no column is singular (rounding cannot move a pivot by half of it). Otherwise ``_singular``
    decides, as before, and the non-singular block is solved directly."""

    def __init__(self, imat: np.ndarray) -> None:
        self.imat, self.chol = imat, None
        if imat.shape[0]:
            c, info = lapack.dpotrf(imat, lower=1)
            if info == 0:
                diag = c.diagonal()
                smallest = float(_min(diag * diag))  # NaN when any pivot is
                dmax = float(_max(imat.diagonal()))
                if math.isfinite(dmax) and dmax > 0 and smallest >= 2 * TOLER_CHOL * dmax:
                    self.chol = c
        self.singular = np.zeros(imat.shape[0], dtype=bool) if self.chol is not None else _singular(imat)

    def solve(self, vec: np.ndarray) -> np.ndarray:
        if self.chol is None:
            return _solve(self.imat, vec, self.singular)
        return lapack.dpotrs(self.chol, vec, lower=1)[0]

    def inverse(self) -> np.ndarray:
        if self.chol is None:
            return _inverse(self.imat, self.singular)
        low = lapack.dpotri(self.chol, lower=1)[0]  # lower triangle of the inverse, zeros above
        full = low + low.T
        full.flat[:: low.shape[0] + 1] = low.diagonal()
        return full


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


def _design(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Constant columns, the standardised covariates and their scale factors (None when every column is 0/1:
    nothing is centred or scaled and x itself is returned)."""
    n, p = x.shape
    if not n:
        return np.ones(p, dtype=bool), x, None
    constant = _max(x, axis=0) == _min(x, axis=0)
    if np.equal(x, x.astype(bool)).all():  # every value 0 or 1
        return constant, x, None
    xs, _, scale = _standardise(x)
    return constant, xs, scale


def _as_inputs(time, event, x):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    xm = np.asarray(x, dtype=float)
    if xm.ndim == 1:
        xm = xm[:, None]
    if not (t.size == e.size == xm.shape[0]):
        raise ValueError("time, event and X must have the same number of rows")
    if not ((e == 0) | (e == 1)).all():
        raise ValueError("event must be 0/1")
    if not (np.isfinite(t).all() and np.isfinite(xm).all()):
        raise ValueError("time and X must be finite (drop missing values first)")
    return t, e.astype(float), xm


def _wald(coef, se, level):
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _wald_unchecked(coef, se, level)


@functools.lru_cache
def _z_bounds(level: float) -> np.ndarray:
    """(-z, z) for a two-sided interval of `level`, as a column."""
    zq = float(special.ndtri(1 - (1 - level) / 2))
    return np.array([[-zq], [zq]])


def _wald_unchecked(coef, se, level):
    """HR, CI bounds, z and two-sided p; inside the caller's np.errstate."""
    z = coef / se
    p = special.erfc(np.abs(z) * SQRT_HALF)  # two-sided normal tail
    bounds = np.exp(coef + _z_bounds(level) * se)
    return np.exp(coef), bounds[0], bounds[1], z, p


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
    if strata is None and p and n <= NATIVE_MAX_ROWS:  # the compiled Newton–Raphson, when it could be built
        lib = cox_kernel.load()
        if lib is not None:
            return _fit_native(lib, t, e, x, ties, level)
    if strata is None and n * n <= DENSE_MAX_CELLS:  # small: dense risk-set matrix (cox_dense.py)
        return _fit_dense(t, e, x, ties, level)
    if p == 1 and strata is None and int(e.sum()) and ((x == 0) | (x == 1)).all():
        if x.shape[0] < THREADED_MIN:  # one 0/1 covariate: per-time counts (binary_univariable_fits)
            return _binary_univariable(t, e, [x[:, 0]], ties, level)[0]
        with one_blas_thread():
            return _binary_univariable(t, e, [x[:, 0]], ties, level)[0]
    return _fit_cells(t, e, x, ties, strata, level)


def _fit_dense(t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str, level: float) -> CoxFit:
    """`cox_fit` without strata on a dense risk-set matrix (small n), for checked inputs."""
    n, p = x.shape
    events = int(e.sum())
    if events == 0:
        return _empty(p, n, "no events", ties, level, "no_events")
    constant, xs, scale = _design(x)
    if p == 1 and scale is None:  # one 0/1 covariate: `_binary_univariable`'s Newton–Raphson, in floats
        model = DenseBinary(t, e, x[:, 0], ties == "efron")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            state = _newton_one(model.derivs)
        return _batch_fits(state, constant, np.ones(1), n, events, ties, level, singular=SINGULAR_MULTI)[0]
    model = DenseRiskSets(t, e, xs, ties == "efron")
    return _newton(model.derivs, constant, scale, n, events, ties, level)


def _fit_native(lib, t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str, level: float) -> CoxFit:
    """`cox_fit` without strata by the compiled kernel (cox_kernel.py), for checked inputs: `_fit_dense`'s
    iterations and summary, to rounding."""
    n, p = x.shape
    events = int(e.sum())
    if events == 0:
        return _empty(p, n, "no events", ties, level, "no_events")
    constant, xs, scale = _design(x)
    scalar = p == 1 and scale is None  # one 0/1 covariate: `_newton_one`'s step (its summary is `_summary`'s)
    newbeta, u, imat, var, singular, newlk, loglik0, iterations, converged = cox_kernel.newton(
        lib, t, e, xs, ties == "efron", scalar, ITER_MAX, EPS, TOLER_CHOL)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # diverging fits: non-finite numbers
        return _summary(newbeta, newlk, loglik0, u, _Inverted(var, singular), iterations, converged, constant,
                        scale, n, events, ties, level)


@dataclass(frozen=True)
class _Inverted:
    """A `_Factor` already inverted (by the compiled kernel): the variance and cholesky2's singular columns."""

    var: np.ndarray
    singular: np.ndarray

    def inverse(self) -> np.ndarray:
        return self.var


def _fit_cells(t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str, strata, level: float) -> CoxFit:
    """`cox_fit` on weighted cells, for checked inputs."""
    n, p = x.shape
    events = int(e.sum())
    if events == 0:
        return _empty(p, n, "no events", ties, level, "no_events")
    constant, xs, scale = _design(x)
    strata_arr = None if strata is None else np.asarray(strata).ravel()
    groups = _cell_strata(t, e, xs, strata_arr, ties)
    derivs = partial(_derivs_unchecked, strata=groups)
    if sum(g.xt1.size for g in groups) < THREADED_MIN:  # no product large enough for BLAS to split
        return _newton(derivs, constant, scale, n, events, ties, level)
    with one_blas_thread():
        return _newton(derivs, constant, scale, n, events, ties, level)


def _cell_strata(t: np.ndarray, e: np.ndarray, xs: np.ndarray, strata, ties: str,
                 merge: bool | None = None) -> list[_Cells]:
    if strata is None:
        return [_cells(t, e, xs, ties, merge)]
    labels = np.unique(strata, return_inverse=True)[1]
    return [_cells(t[labels == s], e[labels == s], xs[labels == s], ties, merge) for s in np.unique(labels)]


def _newton(derivs: Derivs, constant: np.ndarray, scale: np.ndarray | None, n: int, events: int, ties: str,
            level: float) -> CoxFit:
    """R coxfit6's Newton–Raphson with step-halving (see module docstring); `derivs(beta)` gives the log partial
    likelihood, score and information of the prepared data (`scale`: see `_design`)."""
    p = constant.size
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # diverging fits: non-finite loglik
        newbeta, newlk, loglik0, u, factor, iterations, converged = _iterate(derivs, p)
        return _summary(newbeta, newlk, loglik0, u, factor, iterations, converged, constant, scale, n, events,
                        ties, level)


def _summary(newbeta: np.ndarray, newlk: float, loglik0: float, u: np.ndarray, factor: _Factor | _Inverted,
             iterations: int, converged: bool, constant: np.ndarray, scale: np.ndarray | None, n: int, events: int,
             ties: str, level: float) -> CoxFit:
    """The CoxFit of `_iterate`'s result (`scale`: the standardisation's factors, None when unscaled), inside
    the caller's np.errstate (a diverging fit's numbers are not finite)."""
    p = newbeta.size
    var = factor.inverse()
    coef = newbeta
    if scale is not None:
        coef = newbeta * scale
        var *= np.multiply.outer(scale, scale)
        u = u / scale
    sing = factor.singular | constant
    any_sing = bool(sing.any())
    if converged:  # R coxph.fit's check: the next Newton step is still large
        nxt = np.abs(u @ var)
        infinite = ~np.isfinite(u) | (nxt > np.maximum(TOLER_INF * np.abs(coef), EPS))
        if any_sing:
            infinite &= ~sing
    else:
        infinite = np.zeros(p, dtype=bool)
    se = np.sqrt(var.diagonal())
    if any_sing:
        coef = np.where(sing, np.nan, coef)
        se = np.where(sing, np.nan, se)
    hr, lo, hi, z, pv = _wald_unchecked(coef, se, level)
    if not (any_sing or infinite.any() or not converged):
        return CoxFit(coef, se, hr, lo, hi, z, pv, var, float(newlk), float(loglik0), n, events, iterations,
                      converged, "ok", None, ("ok",) * p, ties, level)
    col = tuple("constant" if c else "singular" if s else "infinite" if i else "ok"
                for c, s, i in zip(constant.tolist(), sing.tolist(), infinite.tolist(), strict=True))
    reasons = []
    if constant.any():
        reasons.append("constant covariate")
    if (sing & ~constant).any():
        reasons.append(SINGULAR_MULTI)
    if infinite.any():
        reasons.append("monotone likelihood (separation): coefficient diverging")
    if not converged:
        reasons.append(f"did not converge in {ITER_MAX} iterations")
    status = "ok" if not reasons else "not_estimable"
    return CoxFit(coef, se, hr, lo, hi, z, pv, var, float(newlk), float(loglik0), n, events, iterations,
                  converged, status, "; ".join(reasons) or None, col, ties, level)


def _iterate(derivs: Derivs, p: int):
    """The iterations of `_newton`: last beta, its loglik, the loglik at 0, the score and the factored
    information at the last beta, the number of iterations and whether they converged."""
    newbeta, newlk, loglik0, u, imat, iterations, converged = _newton_steps(
        derivs, np.zeros(p), lambda imat, u: _Factor(imat).solve(u))
    return newbeta, newlk, loglik0, u, _Factor(imat), iterations, converged


def _newton_steps(derivs, beta, step):
    """R coxfit6's Newton–Raphson from `beta`: step halving when the loglik falls or is not finite, converged
    when |1 - loglik_old / loglik_new| <= EPS after a full step. `step(imat, u)` solves imat · x = u (a
    Cholesky factor for a matrix, a division for one covariate in floats). Returns the last beta, its loglik,
    the loglik at `beta`, the score and information there, the iterations and whether they converged."""
    loglik0, u, imat = derivs(beta)
    best = loglik0
    newbeta = beta + step(imat, u)
    halving = converged = False
    iterations = 0
    newlk = loglik0
    for it in range(1, ITER_MAX + 1):
        iterations = it
        newlk, u, imat = derivs(newbeta)
        finite = math.isfinite(newlk)
        if finite and newlk != 0 and abs(1 - best / newlk) <= EPS and not halving:  # C: x / 0 never converges
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
            beta, newbeta = newbeta, newbeta + step(imat, u)
    return newbeta, newlk, loglik0, u, imat, iterations, converged


def cox_univariable_batch(time, event, X, ties: str = "breslow", strata=None,
                          level: float = 0.95) -> list[CoxFit]:
    """Fit ``coxph(Surv(time, event) ~ X[:, j])`` for every column j at once (vectorised across columns)."""
    if ties not in ("breslow", "efron"):
        raise ValueError("ties must be 'breslow' or 'efron'")
    t, e, x = _as_inputs(time, event, X)
    n, p = x.shape
    if e.sum() == 0:
        return [_empty(1, n, "no events", ties, level, "no_events") for _ in range(p)]
    fits: list[CoxFit | None] = [None] * p
    binary = np.flatnonzero(((x == 0) | (x == 1)).all(axis=0)) if strata is None and n else np.zeros(0, dtype=int)
    with one_blas_thread():
        if binary.size:  # per distinct time, a 0/1 column's fit needs only its counts at risk and with an event
            for j, fit in zip(binary, _binary_univariable(t, e, [x[:, j] for j in binary], ties, level), strict=True):
                fits[j] = fit
        rest = [j for j in range(p) if fits[j] is None]
        if rest:
            for j, fit in zip(rest, _univariable_rows(t, e, x[:, rest], ties, strata, level), strict=True):
                fits[j] = fit
    return [f for f in fits if f is not None]


@dataclass
class _BatchState:
    """Where R coxfit6's Newton–Raphson, run column by column in lockstep, ended for each column."""

    beta: np.ndarray
    loglik: np.ndarray
    loglik0: np.ndarray
    u: np.ndarray
    imat: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def _newton_batch(derivs, q: int) -> _BatchState:
    """`_newton` for q one-covariate models at once; `derivs(beta)` gives (q,) loglik, score and information."""
    beta = np.zeros(q)
    loglik0, u, imat = derivs(beta)
    best = loglik0.copy()
    sing = ~(imat > 0) | ~np.isfinite(imat)  # cholesky2 on a 1 × 1 matrix
    newbeta = beta + np.where(sing, 0.0, u / np.where(sing, 1.0, imat))
    halving = np.zeros(q, dtype=bool)
    active = np.ones(q, dtype=bool)
    converged = np.zeros(q, dtype=bool)
    iterations = np.zeros(q, dtype=int)
    newlk = loglik0.copy()
    u_fin, i_fin = u.copy(), imat.copy()
    for it in range(1, ITER_MAX + 1):
        if not active.any():
            break
        lk, u, imat = derivs(newbeta)
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
        sing = ~(imat > 0) | ~np.isfinite(imat)
        step = np.where(sing, 0.0, u / np.where(sing, 1.0, imat))
        nb = np.where(worse, (newbeta + beta) / 2, newbeta + step)
        beta = np.where(accept, newbeta, beta)
        best = np.where(accept, lk, best)
        halving = np.where(active, worse, halving)
        newbeta = np.where(active, nb, newbeta)
    return _BatchState(newbeta, newlk, loglik0, u_fin, i_fin, iterations, converged)


def _newton_one(derivs: Callable[[float], tuple[float, float, float]]) -> _BatchState:
    """`_newton_batch` for one model, in floats: `derivs(b)` gives its loglik, score and information."""
    def step(imat: float, u: float) -> float:  # cholesky2 on a 1 × 1 matrix
        return u / imat if imat > 0 and math.isfinite(imat) else 0.0

    newbeta, newlk, loglik0, u, imat, iterations, converged = _newton_steps(derivs, 0.0, step)
    return _BatchState(np.array([newbeta]), np.array([newlk]), np.array([loglik0]), np.array([u]),
                       np.array([imat]), np.array([iterations]), np.array([converged]))


def _batch_fits(state: _BatchState, constant: np.ndarray, scale: np.ndarray, n: int, events: int, ties: str,
                level: float, singular: str = "singular information matrix") -> list[CoxFit]:
    """One CoxFit per column of a `_newton_batch` run, as `_newton` reports a one-covariate model (`singular`:
    the reason given for a singular information matrix)."""
    fits = []
    for j in range(state.beta.size):
        i_j = float(state.imat[j])
        sj = bool(constant[j]) or not (i_j > 0 and np.isfinite(i_j))
        var = np.array([[0.0 if sj else scale[j] ** 2 / i_j]])
        coef = np.array([np.nan if sj else state.beta[j] * scale[j]])
        se = np.array([np.nan if sj else np.sqrt(var[0, 0])])
        converged = bool(state.converged[j])
        inf = False
        if converged and not sj:
            uo = state.u[j] / scale[j]
            nxt = abs(uo * var[0, 0])
            inf = (not np.isfinite(uo)) or (nxt > EPS and nxt > TOLER_INF * abs(coef[0]))
        hr, lo, hi, z, pv = _wald(coef, se, level)
        reasons = []
        if constant[j]:
            reasons.append("constant covariate")
        elif sj:
            reasons.append(singular)
        if inf:
            reasons.append("monotone likelihood (separation): coefficient diverging")
        if not converged:
            reasons.append(f"did not converge in {ITER_MAX} iterations")
        col = "constant" if constant[j] else "singular" if sj else "infinite" if inf else "ok"
        fits.append(CoxFit(coef, se, hr, lo, hi, z, pv, var, float(state.loglik[j]), float(state.loglik0[j]), n,
                           events, int(state.iterations[j]), converged,
                           "ok" if not reasons else "not_estimable", "; ".join(reasons) or None, (col,),
                           ties, level))
    return fits


def binary_univariable_fits(time, event, columns: list[np.ndarray], ties: str = "breslow",
                            level: float = 0.95) -> list[CoxFit]:
    """``coxph(Surv(time, event) ~ x)`` for each 0/1 column x (1-D, no missing values; not checked), without
    copying the columns into one matrix: `cox_univariable_batch`'s fits of those columns."""
    if ties not in ("breslow", "efron"):
        raise ValueError("ties must be 'breslow' or 'efron'")
    t, e, _ = _as_inputs(time, event, np.zeros((np.size(time), 0)))
    if e.sum() == 0:
        return [_empty(1, t.size, "no events", ties, level, "no_events") for _ in columns]
    with one_blas_thread():
        return _binary_univariable(t, e, columns, ties, level)


def _binary_univariable(t: np.ndarray, e: np.ndarray, columns: list[np.ndarray], ties: str,
                        level: float) -> list[CoxFit]:
    """One-covariate fits of 0/1 columns, vectorised across the columns.

    With one 0/1 covariate, a risk set holds N0 patients with weight exp(0) and N1 with exp(b), and its events
    D0 and D1 likewise; so S0 = N0 + N1 e^b, S1 = S2 = N1 e^b and every sum of the partial likelihood is a
    (event times × columns) array. Efron's tied slots are arrays of (slots × columns), in blocks of columns."""
    n, q = t.size, len(columns)
    utime, inverse = np.unique(t, return_inverse=True)
    nt = utime.size
    key = inverse.ravel() * 2 + e.astype(np.int64)  # (time, event) cell of each row
    total = np.bincount(key, minlength=2 * nt).reshape(nt, 2).astype(float)
    ones = np.empty((2 * nt, q))
    for j, x in enumerate(columns):
        ones[:, j] = np.bincount(key, weights=x, minlength=2 * nt)
    ones = ones.reshape(nt, 2, q)
    ev = np.flatnonzero(total[:, 1] > 0)
    at_risk = _rev_cumsum(total.sum(axis=1))[ev]
    n1_all = _rev_cumsum(ones.sum(axis=1))[ev]  # (T, q) patients with x = 1 at risk
    d1_all = ones[ev, 1]  # (T, q) events with x = 1
    d = total[ev, 1]
    events = int(d.sum())
    ones_total = ones.sum(axis=(0, 1))
    constant = (ones_total == 0) | (ones_total == n)
    tied = np.flatnonzero(d >= 2) if ties == "efron" else np.zeros(0, dtype=np.int64)
    per_column = max(ev.size, int(d[tied].sum()))
    width = max(1, SLOT_BLOCK // max(per_column, 1))
    fits: list[CoxFit] = []
    for lo in range(0, q, width):
        cols = slice(lo, min(q, lo + width))
        model = _BinaryCounts(at_risk, n1_all[:, cols], d, d1_all[:, cols], tied)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            state = _newton_one(model.derivs_one) if q == 1 else _newton_batch(model.derivs, model.n1.shape[1])
        fits += _batch_fits(state, constant[cols], np.ones(model.n1.shape[1]), n, events, ties, level,
                            singular=SINGULAR_MULTI)
    return fits


class _BinaryCounts:
    """The counts a block of one-covariate 0/1 models needs, and their log-likelihood derivatives."""

    def __init__(self, at_risk: np.ndarray, n1: np.ndarray, d: np.ndarray, d1: np.ndarray, tied: np.ndarray):
        self.n1, self.n0 = n1, at_risk[:, None] - n1
        self.d1_total, self.d_total = d1.sum(axis=0), float(d.sum())
        self.tied = tied
        self.d_untied = d.copy()  # each untied event time's weight; a tied time's slots are summed one by one
        self.d_untied[tied] = 0.0
        if tied.size:
            di = d[tied].astype(np.int64)
            self.slot_time = np.repeat(np.arange(tied.size), di)
            k = np.arange(self.slot_time.size) - np.repeat(np.cumsum(di) - di, di)
            self.slot_frac = (k / np.repeat(di, di))[:, None]
            self.d1t, self.d0t = d1[tied], d[tied][:, None] - d1[tied]

    def derivs_one(self, b: float) -> tuple[float, float, float]:
        """`derivs` of a block of one column, in floats (a fit of n = 70 is mostly numpy call overhead)."""
        shift = max(b, 0.0) if b == b else b  # NaN stays NaN, as np.maximum
        w1, w0 = math.exp(b - shift), math.exp(-shift)
        s1 = self.n1[:, 0] * w1
        s0 = self.n0[:, 0] * w0 + s1
        m = s1 / s0
        d = self.d_untied
        loglik = b * float(self.d1_total[0]) - shift * self.d_total - float(d @ np.log(s0))
        u = float(self.d1_total[0]) - float(d @ m)
        imat = float(d @ (m - m * m))
        if self.tied.size:
            g, f = self.slot_time, self.slot_frac[:, 0]
            e1 = self.d1t[:, 0] * w1
            e0 = self.d0t[:, 0] * w0 + e1
            s0k = s0[self.tied][g] - f * e0[g]
            a = (s1[self.tied][g] - f * e1[g]) / s0k
            loglik -= float(_sum(np.log(s0k)))
            u -= float(_sum(a))
            imat += float(_sum(a - a * a))
        return loglik, u, imat

    def derivs(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shift = np.maximum(b, 0.0)  # the larger of the two linear predictors, 0 and b
        w1, w0 = np.exp(b - shift), np.exp(-shift)
        s1 = self.n1 * w1
        s0 = self.n0 * w0 + s1
        m = s1 / s0
        loglik = b * self.d1_total - shift * self.d_total - self.d_untied @ np.log(s0)
        u = self.d1_total - self.d_untied @ m
        imat = self.d_untied @ (m - m * m)  # S2 = S1 for a 0/1 covariate
        if self.tied.size:
            g, f = self.slot_time, self.slot_frac
            e1 = self.d1t * w1
            e0 = self.d0t * w0 + e1
            s0k = s0[self.tied][g] - f * e0[g]
            a = (s1[self.tied][g] - f * e1[g]) / s0k
            loglik = loglik - np.log(s0k).sum(axis=0)
            u = u - a.sum(axis=0)
            imat = imat + (a - a * a).sum(axis=0)
        return loglik, u, imat


def _univariable_rows(t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str, strata, level: float) -> list[CoxFit]:
    """Row-level univariable fits, vectorised across the columns of x."""
    n, p = x.shape
    constant = np.ptp(x, axis=0) == 0 if n else np.ones(p, dtype=bool)
    xs, _, scale = _standardise(x)
    strata_arr = None if strata is None else np.asarray(strata).ravel()
    groups = _prepare(t, e, xs, strata_arr, ties)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        state = _newton_batch(lambda beta: _derivs(beta, groups, batch=True), p)
    return _batch_fits(state, constant, scale, n, int(e.sum()), ties, level)
