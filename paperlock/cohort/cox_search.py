"""Per-covariate search for the Cox rows, with the survival times held fixed.

A univariable fit depends on one covariate column only, so each covariate is searched on its own, against the
four fits the column enters (whole cohort and the TKI + ICI arm, PFS and OS). The search is a batch of
simulated-annealing chains run side by side (one Cox fit per chain and fit, all chains in one batched Newton
fit): the first chain starts from the column as it is, the others from random columns with the same per-arm
counts. A move keeps the covariate's per-arm counts (a swap of two patients of one arm; for a dichotomised
continuous variable also adding or removing one patient within its bounds). The best column seen is then
polished by steepest descent over every single move.

Besides the HR and CI targets the cost holds each univariable Wald p on the side of the multivariable entry
threshold the record implies (the pipeline selects the multivariable covariates by the cohort's own
univariable p) and pulls z = log HR / SE towards the printed p's z (the audit compares p on the z scale).

The multivariable phase searches the same way, one column at a time, with the cost of every multivariable
model the covariate enters added to its univariable cost (the other columns fixed, all chains' models fitted
in one batched Newton fit, `cox_multi_batch`): a column's univariable rows and its models' rows are traded
number for number. Its first cycle over the model covariates starts chains from random columns, the later
cycles only from the current ones. Measured 2026-11-24 against the joint phase of single swaps this replaced
(same survival times, audit of the whole manuscript): 989 -> 1026 of 1197 published numbers reproduced. The
outcome depends on the seed: single annealings per column with four other seeds gave 997 to 1023.

The univariable columns are independent of each other and are searched on parallel processes, one seed per
column; in the multivariable phase, where the columns interact, each column gets two seeded annealings in
parallel instead and the better is kept (`parallel.run_jobs`). Either way the result does not depend on the
number of processes.

In these phases a missed number costs 2 + log r (r = error / tolerance) rather than 1 + r: the rows of one
column compete, and a linear cost would let one far, unattainable row (e.g. a whole-cohort HR that the arm's
own row contradicts) pull several attainable rows out of their tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr, ndtri

from paperlock.cohort.design import ARMS
from paperlock.cohort.fast_survival import Z95, cox_multi_batch, cox_uni_sorted, risk_index, risk_matrix
from paperlock.cohort.parallel import run_jobs
from paperlock.cohort.progress import Progress

if TYPE_CHECKING:
    from paperlock.cohort.calibrate import Calibrator, State

FITS = (("all", "pfs"), ("all", "os"), ("tki_ici", "pfs"), ("tki_ici", "os"))
P_SIDE_MARGIN = 0.004  # keep a univariable p this far on its side of the entry threshold
Z_TOL = 0.1  # the audit's tolerance for univariable p on the z scale
CHAINS = 64  # annealing chains per column (fitted together)
T_START, T_END = 2.0, 0.02  # annealing temperatures (a missed number costs at least 2)
WARM_STEPS = 4  # Newton steps per move, warm-started from the chain's current fit
FLIP_SHARE = 0.3  # share of add/remove moves for a column whose per-arm count may vary
POLISH_STEPS = 30  # steepest-descent steps after the annealing (stops early at a local minimum)
SPLITS = 2  # seeded annealings per column in the multivariable phase (run on two processes)
SE_CAP = 50.0  # a fit without a usable SE (separation) counts as this SE: its CI is as far as can be
P_PULL = 0.5  # weight of the pull of a Wald z towards the printed p's z, relative to an HR or CI number


def _targets(cal: Calibrator, j: int) -> dict:
    """Per fit: (targets (3,), tolerances (3,), printed p or None, must-enter flag or None)."""
    out = {}
    for pop, ep in FITS:
        t = cal.uni_t[(pop, ep)][:, j]
        tol = cal.uni_tol[(pop, ep)][:, j]
        p = float(cal.uni_p[(pop, ep)][j])
        side = cal.uni_side[(pop, ep)][j]
        out[(pop, ep)] = (t, tol, None if np.isnan(p) else p, None if np.isnan(side) else bool(side))
    return out


def miss_cost(r: np.ndarray, miss: str = "linear") -> np.ndarray:
    """Cost of a tolerance-scaled error r: 0.05·r² inside the tolerance; beyond it 1 + r (`linear`) or
    2 + log r (`log`: a miss costs about the same however far it is, so the number of rows met counts most)."""
    if miss == "linear":
        return np.where(r > 1.0, 1.0 + r, 0.05 * r * r)
    if miss == "log":
        return np.where(r > 1.0, 2.0 + np.log(np.maximum(r, 1.0)), 0.05 * r * r)
    raise ValueError(miss)


def printed_z(t: np.ndarray, p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sign, z target, has p) of printed rows: t (3, k) HR/CI targets (nan = none), p (k,) printed p or nan.
    The direction is the HR's, or the log-midpoint of the interval where the HR is not targeted; the z target
    is the printed p's two-sided z in that direction."""
    p = np.broadcast_to(np.asarray(np.nan if p is None else p, dtype=float), t.shape[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.where(np.isnan(t[0]), 0.5 * (np.log(t[1]) + np.log(t[2])), np.log(t[0]))
    sign = np.sign(np.nan_to_num(centre))
    has_p = np.isfinite(p)
    z_target = -ndtri(np.clip(np.where(has_p, p, 0.5), 1e-12, 1.0) / 2) * np.where(sign != 0, sign, 1.0)
    return sign, z_target, has_p


@dataclass(frozen=True)
class RowTargets:
    """A univariable fit's printed row prepared once for many cost evaluations: HR/CI targets t and tolerances
    (3, k) (nan = no target), the printed p's signed z target, and the entry side (1 = the record's p is below
    the threshold, 0 = not, nan = no p printed)."""

    tol: np.ndarray
    t0: np.ndarray  # the targets with no target as 0
    no_t: np.ndarray  # where there is no target
    sign: np.ndarray
    sign1: np.ndarray  # the sign, 1 where there is no direction
    z_target: np.ndarray
    has_p: np.ndarray
    side_below: np.ndarray
    side_known: np.ndarray

    @classmethod
    def of(cls, t: np.ndarray, tol: np.ndarray, p, side) -> RowTargets:
        t = t if t.ndim == 2 else t[:, None]
        tol = tol if tol.ndim == 2 else tol[:, None]
        sign, z_target, has_p = printed_z(t, p)
        side = np.asarray(np.nan if side is None else side, dtype=float)
        return cls(tol, np.nan_to_num(t), np.isnan(t), sign, np.where(sign != 0, sign, 1.0), z_target, has_p,
                   side == 1.0, np.isfinite(side))

    def cost(self, fit, thr: float, miss: str = "linear") -> np.ndarray:
        """Cost per fitted column: HR/CI terms, the pull of z towards the printed p and the entry-side penalty."""
        se = np.minimum(np.where(np.isfinite(fit.se), fit.se, SE_CAP), SE_CAP)
        b = np.clip(fit.beta, -8, 8)
        vals = np.vstack([np.exp(b), np.exp(b - Z95 * se), np.exp(b + Z95 * se)])
        r = np.abs(vals - self.t0) / self.tol
        c = np.where(self.no_t, 0.0, miss_cost(r, miss)).sum(axis=0)
        z_abs = np.abs(b) / se
        # signed z where the direction is known: |z| alone would also reward the mirror image HR -> 1/HR
        z = np.where(self.sign != 0, b / se, z_abs)
        rz = np.abs(z - self.z_target) / Z_TOL
        c = c + np.where(self.has_p, P_PULL * miss_cost(rz, miss), 0.0)
        pv = 2 * ndtr(-z_abs)
        # a row that must enter the model counts as entering only in its printed direction: a strong effect the
        # other way would otherwise be a valley walled off from the printed one
        p_dir = np.where(self.sign != 0, 2 * ndtr(-(z * self.sign1)), pv)
        wrong = np.where(self.side_below, p_dir >= thr - P_SIDE_MARGIN, pv < thr + P_SIDE_MARGIN) & self.side_known
        # on the wrong side of the entry threshold: a penalty that falls steadily towards the printed z (a
        # penalty growing with |p - threshold| would wall off the way from HR < 1 to HR > 1 through p = 1)
        return c + np.where(wrong, 20.0 + 10.0 * np.abs(z - self.z_target), 0.0)


@dataclass(frozen=True)
class ModelRows:
    """A multivariable model's printed rows: HR/CI targets and tolerances (3, p) and the z each printed p implies."""

    t: np.ndarray
    tol: np.ndarray
    sign: np.ndarray
    z_target: np.ndarray
    has_p: np.ndarray

    @classmethod
    def of(cls, cal: Calibrator, key: tuple[str, str]) -> ModelRows:
        t, tol = cal.multi_t[key]
        return cls(t, tol, *printed_z(t, cal.multi_p[key]))

    def cost(self, beta: np.ndarray, se: np.ndarray, miss: str) -> np.ndarray:
        """Cost per fit (HR, CI, pull of z towards the printed p): beta, se (m, p)."""
        se = np.minimum(np.where(np.isfinite(se) & (se > 0), se, SE_CAP), SE_CAP)
        b = np.clip(beta, -8, 8)
        vals = np.stack([np.exp(b), np.exp(b - Z95 * se), np.exp(b + Z95 * se)], axis=1)  # (m, 3, p)
        r = np.abs(vals - np.nan_to_num(self.t)[None]) / self.tol[None]
        c = np.where(np.isnan(self.t)[None], 0.0, miss_cost(r, miss)).sum(axis=(1, 2))
        z = np.where(self.sign != 0, b / se, np.abs(b) / se)
        rz = np.abs(z - self.z_target) / Z_TOL
        return c + P_PULL * np.where(self.has_p, miss_cost(rz, miss), 0.0).sum(axis=1)


@dataclass(frozen=True)
class MultiModel:
    """One multivariable model a searched column enters, prepared for batched fits: the population's rows in
    risk order, the risk-set matrix, the model's columns (the searched one at `q` is replaced per chain) and
    its printed rows."""

    key: tuple[str, str]
    rows: np.ndarray
    R: np.ndarray
    ev: np.ndarray
    base: np.ndarray
    q: int
    printed: ModelRows

    def costs(self, X: np.ndarray, beta0: np.ndarray | None, steps: int, miss: str) -> tuple[np.ndarray, np.ndarray]:
        """(cost per chain, coefficients (m, p)) with column q taken from each chain's column of X."""
        Xb = np.repeat(self.base[None], X.shape[1], axis=0)
        Xb[:, :, self.q] = X[self.rows].T
        fit = cox_multi_batch(Xb, self.R, self.ev, beta0, steps)
        return self.printed.cost(fit.beta, fit.se, miss), fit.beta


def multi_models(cal: Calibrator, s: State, j: int) -> list[MultiModel]:
    """The record's multivariable models with printed rows that covariate j enters."""
    name = cal.cov_names[j]
    out = []
    for (pop, ep), covs in cal.multi_sets.items():
        if name not in covs or (pop, ep) not in cal.multi_t:
            continue
        rows = np.flatnonzero(cal.pop_mask[pop])
        order, last = risk_index(s.time(ep)[rows].astype(float))
        rows = rows[order]
        ev = s.events(ep)[rows].astype(bool)
        out.append(MultiModel((pop, ep), rows, risk_matrix(last, ev), ev,
                              s.X[rows][:, [cal.col[c] for c in covs]].astype(float), covs.index(name),
                              ModelRows.of(cal, (pop, ep))))
    return out


class ColumnCost:
    """The cost of many candidate columns for one covariate (one column of `X` per candidate): its univariable
    rows, and with `multi` the rows of the multivariable models it enters (weighted by the settings' cox_multi
    weight)."""

    def __init__(self, cal: Calibrator, s: State, j: int, multi: bool = False) -> None:
        self.thr = cal.entry_threshold
        self.fits = []  # (key, rows in risk order, last, events, printed row) of the fits with something to aim at
        for (pop, ep), (t, tol, p, side) in _targets(cal, j).items():
            if np.all(np.isnan(t)) and p is None:
                continue
            rows = np.flatnonzero(cal.pop_mask[pop])
            order, last = risk_index(s.time(ep)[rows].astype(float))
            self.fits.append(((pop, ep), rows[order], last, s.events(ep)[rows][order].astype(bool),
                              RowTargets.of(t, tol, p, side)))
        self.models = multi_models(cal, s, j) if multi else []
        self.w_multi = cal.w_multi

    def __call__(self, X: np.ndarray, beta0: dict | None = None, steps: int = 12) -> tuple[np.ndarray, dict]:
        total = np.zeros(X.shape[1])
        betas = {}
        for key, rows, last, ev, printed in self.fits:
            fit = cox_uni_sorted(X[rows].astype(float), last, ev, None if beta0 is None else beta0[key], steps,
                                 binary=True)
            total += printed.cost(fit, self.thr, miss="log")
            betas[key] = fit.beta
        for model in self.models:
            key = ("multi", *model.key)
            c, betas[key] = model.costs(X, None if beta0 is None else beta0[key], steps, "log")
            total += self.w_multi * c
        return total, betas


def _shuffled(col: np.ndarray, arm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random column with the same number of ones per arm as `col`."""
    out = np.zeros_like(col)
    for a in ARMS:
        idx = np.flatnonzero(arm == a)
        out[rng.permutation(idx)[:int(col[idx].sum())]] = 1
    return out


def _propose(cal: Calibrator, j: int, X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random move per chain (column of X) as (row set to 0, row set to 1), -1 = none: a swap within one
    arm, or for a `range` covariate also a single add or remove within the per-arm and pooled bounds."""
    d = cal.design
    cov = d.covariates[j]
    n, m = X.shape
    cols = np.arange(m)
    first = d.arm == ARMS[0]
    pick = rng.random(m) < first.mean()  # the arm, in proportion to its size
    in_arm = np.where(pick[None, :], first[:, None], ~first[:, None])
    ones, zeros = in_arm & (X == 1), in_arm & (X == 0)
    r = rng.random((n, m))
    out_row = np.argmax(np.where(ones, r, -1.0), axis=0)
    in_row = np.argmax(np.where(zeros, r, -1.0), axis=0)
    has_one, has_zero = ones[out_row, cols], zeros[in_row, cols]
    swap = has_one & has_zero
    do_out, do_in = swap, swap
    if cov.kind == "range":
        mode = rng.random(m)
        k_arm = (ones).sum(axis=0)
        total = X.sum(axis=0)
        lo = np.where(pick, cov.bounds[ARMS[0]][0], cov.bounds[ARMS[1]][0])
        hi = np.where(pick, cov.bounds[ARMS[0]][1], cov.bounds[ARMS[1]][1])
        remove = (mode < FLIP_SHARE / 2) & has_one & (k_arm > lo) & (total > cov.pooled[0])
        add = (mode >= FLIP_SHARE / 2) & (mode < FLIP_SHARE) & has_zero & (k_arm < hi) & (total < cov.pooled[1])
        swap = swap & (mode >= FLIP_SHARE)
        do_out, do_in = swap | remove, swap | add
    return np.where(do_out, out_row, -1), np.where(do_in, in_row, -1)


def _set(X: np.ndarray, out_row: np.ndarray, in_row: np.ndarray, chains: np.ndarray, undo: bool = False) -> None:
    o, i = out_row[chains], in_row[chains]
    X[o[o >= 0], chains[o >= 0]] = 1 if undo else 0
    X[i[i >= 0], chains[i >= 0]] = 0 if undo else 1


def _keep(beta: dict, new_beta: dict, accept: np.ndarray) -> None:
    """Take the new coefficients of the accepted chains (univariable: (m,), multivariable: (m, p))."""
    for key, old in beta.items():
        beta[key] = np.where(accept if old.ndim == 1 else accept[:, None], new_beta[key], old)


def anneal_column(cal: Calibrator, s: State, j: int, rng: np.random.Generator, iterations: int,
                  km_guard=None, chains: int = CHAINS, multi: bool = False,
                  random_starts: bool = True) -> tuple[float, np.ndarray]:
    """(cost, column): the best column found by `chains` annealing chains of `iterations` moves each. The first
    chain starts from the current column, the others (with `random_starts`) from random columns with the same
    per-arm counts. With `km_guard` (a column that defines Kaplan–Meier curves) every chain starts from the
    current column and a move the guard vetoes is rejected."""
    cost_of = ColumnCost(cal, s, j, multi)
    start = s.X[:, j].astype(np.int8)
    X = np.repeat(start[:, None], chains, axis=1)
    if km_guard is None and random_starts:
        for k in range(1, chains):
            X[:, k] = _shuffled(start, cal.design.arm, rng)
    cur, beta = cost_of(X)
    best, best_col = float(cur.min()), X[:, int(cur.argmin())].copy()
    every = np.arange(chains)
    for it in range(iterations):
        temp = T_START * (T_END / T_START) ** (it / max(1, iterations - 1))
        out_row, in_row = _propose(cal, j, X, rng)
        _set(X, out_row, in_row, every)
        new, new_beta = cost_of(X, beta, WARM_STEPS)
        with np.errstate(over="ignore"):
            accept = (new <= cur) | (rng.random(chains) < np.exp(-(new - cur) / temp))
        if km_guard is not None:
            for k in np.flatnonzero(accept & ((out_row >= 0) | (in_row >= 0))):
                col = X[:, k].copy()
                _set(col[:, None], out_row[k:k + 1], in_row[k:k + 1], np.zeros(1, dtype=int), undo=True)
                s.X[:, j] = col
                accept[k] = km_guard(j, int(out_row[k]), int(in_row[k]))
            s.X[:, j] = start
        _set(X, out_row, in_row, np.flatnonzero(~accept), undo=True)
        cur = np.where(accept, new, cur)
        _keep(beta, new_beta, accept)
        k = int(cur.argmin())
        if cur[k] < best - 1e-12:
            best, best_col = float(cur[k]), X[:, k].copy()
    return best, best_col


def _anneal_job(job: tuple) -> tuple[float, np.ndarray]:
    cal, s, j, seed, iterations, km_guard, chains, multi, random_starts = job
    return anneal_column(cal, s, j, np.random.default_rng(seed), iterations, km_guard, chains, multi, random_starts)


def _candidates(cal: Calibrator, s: State, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Every single move on column j as (remove, add) index pairs; -1 = none (a flip)."""
    d = cal.design
    cov = d.covariates[j]
    x = s.X[:, j]
    rem, add = [], []
    for a in ARMS:
        ones = np.flatnonzero((d.arm == a) & (x == 1))
        zeros = np.flatnonzero((d.arm == a) & (x == 0))
        rem.append(np.repeat(ones, len(zeros)))
        add.append(np.tile(zeros, len(ones)))
        if cov.kind == "range":
            lo, hi = cov.bounds[a]
            tot = int(x.sum())
            if len(ones) > lo and tot > cov.pooled[0]:
                rem.append(ones)
                add.append(np.full(len(ones), -1))
            if len(ones) < hi and tot < cov.pooled[1]:
                rem.append(np.full(len(zeros), -1))
                add.append(zeros)
    return np.concatenate(rem).astype(int), np.concatenate(add).astype(int)


def polish_column(cal: Calibrator, s: State, j: int, steps: int, km_guard=None, multi: bool = False) -> float:
    """Steepest descent on column j in place: the best single move while it lowers the cost (a move the guard
    vetoes is skipped); returns the column's final cost."""
    cost_of = ColumnCost(cal, s, j, multi)
    cur = float(cost_of(s.X[:, [j]])[0][0])
    for _ in range(steps):
        rem, add = _candidates(cal, s, j)
        if not len(rem):
            break
        Xc = np.repeat(s.X[:, [j]], len(rem), axis=1)
        _set(Xc, rem, add, np.arange(len(rem)))
        costs = cost_of(Xc)[0]
        moved = False
        for k in np.argsort(costs, kind="stable")[:8]:  # the best few, in case the guard vetoes one
            if costs[k] >= cur - 1e-9:
                break
            if km_guard is not None and not km_guard(j, int(rem[k]), int(add[k])):
                continue
            _set(s.X[:, [j]], rem[k:k + 1], add[k:k + 1], np.zeros(1, dtype=int))
            cur, moved = float(costs[k]), True
            break
        if not moved:
            break
    return cur


def search_column(cal: Calibrator, s: State, j: int, rng: np.random.Generator, iterations: int,
                  km_guard=None, multi: bool = False, random_starts: bool = True, splits: int = 1) -> float:
    """Improve column j in place (annealing, then polishing); returns the column's final cost.
    `km_guard(j, remove, add)` may veto a move (for a column that defines Kaplan–Meier curves); `multi`: count
    the multivariable models the column enters; `splits` > 1: that many seeded annealings of `CHAINS` chains
    each, on parallel processes (the first of the best is kept)."""
    if iterations > 0:
        if splits == 1:
            col = anneal_column(cal, s, j, rng, iterations, km_guard, CHAINS, multi, random_starts)[1]
        else:
            jobs = [(cal, s, j, int(seed), iterations, km_guard, CHAINS, multi, random_starts)
                    for seed in rng.integers(2**63, size=splits)]
            col = min(run_jobs(_anneal_job, jobs), key=lambda r: r[0])[1]
        cost_of = ColumnCost(cal, s, j, multi)
        if float(cost_of(col[:, None])[0][0]) <= float(cost_of(s.X[:, [j]])[0][0]):  # keep the better of the two
            s.X[:, j] = col
    return polish_column(cal, s, j, POLISH_STEPS, km_guard, multi)


def _column_job(job: tuple) -> tuple[float, np.ndarray]:
    cal, s, j, seed, iterations, km_guard = job
    cost = search_column(cal, s, j, np.random.default_rng(seed), iterations, km_guard)
    return cost, s.X[:, j].copy()


def univariable_phase(cal: Calibrator, s: State, rng: np.random.Generator, steps: int,
                      progress: Progress, km_guard=None, outside_models: bool = False) -> dict[str, float]:
    """Search every swappable covariate's column (`steps` annealing moves per chain; the columns are independent
    here, so they are searched on parallel processes, each with its own seed); returns the final cost per
    covariate. `outside_models`: only the columns that enter no multivariable model (their univariable rows are
    all they affect, so searching them again on changed times cannot cost a model row)."""
    in_models = cal.model_covariates if outside_models else set()
    cols = [j for j, c in enumerate(cal.design.covariates)
            if c.kind in ("swap", "range") and c.name not in in_models]
    jobs = [(cal, s, j, int(seed), steps, km_guard if j == cal.afp_col else None)
            for j, seed in zip(cols, rng.integers(2**63, size=len(cols)), strict=True)]
    out = {}

    def done(k: int, result: tuple[float, np.ndarray]) -> None:
        out[cal.cov_names[cols[k]]] = result[0]
        progress.update(covariate=cal.cov_names[cols[k]], done=f"{len(out)}/{len(cols)}", cost=result[0])

    for j, (_, col) in zip(cols, run_jobs(_column_job, jobs, done), strict=True):
        s.X[:, j] = col
    progress.done(covariates=len(out), cost=sum(out.values()),
                  worst=max(out, key=out.get) if out else "")
    return out


def multivariable_phase(cal: Calibrator, s: State, rng: np.random.Generator, steps: tuple[int, ...],
                        progress: Progress, km_guard=None) -> dict[str, float]:
    """Cycles over the swappable covariates of the multivariable models, each column searched against its
    univariable rows and its models' rows together; `steps`: annealing moves per chain in each cycle (chains
    from random columns in the first cycle only). Returns the final cost per covariate."""
    cols = [j for j, c in enumerate(cal.design.covariates)
            if c.kind in ("swap", "range") and c.name in cal.model_covariates]
    out = {}
    for cycle, iterations in enumerate(steps):
        for n_done, j in enumerate(cols):
            guard = km_guard if j == cal.afp_col else None
            out[cal.cov_names[j]] = search_column(cal, s, j, rng, iterations, guard, multi=True,
                                                  random_starts=cycle == 0, splits=SPLITS)
            progress.update(cycle=f"{cycle + 1}/{len(steps)}", covariate=cal.cov_names[j],
                            done=f"{n_done + 1}/{len(cols)}", cost=out[cal.cov_names[j]])
    progress.done(covariates=len(out), cycles=len(steps), cost=sum(out.values()))
    return out
