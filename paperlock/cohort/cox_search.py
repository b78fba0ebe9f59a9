"""Per-covariate search for the univariable Cox rows, with the survival times held fixed.

A univariable fit depends on one covariate column only, so each covariate is searched on its own: every
single move that keeps the covariate's per-arm counts (a swap of two patients of one arm; for a dichotomised
continuous variable also adding or removing one patient within its bounds) is fitted in one batch for the
four fits the column enters (whole cohort and the TKI + ICI arm, PFS and OS), and the best move is taken
(tabu search: the best move is taken even when it is worse, a patient just moved may not move again for a
few steps, and the best column seen is kept).

Besides the HR and CI targets the cost holds each univariable Wald p on the side of the multivariable entry
threshold the record implies (the pipeline selects the multivariable covariates by the cohort's own
univariable p) and pulls z = log HR / SE towards the printed p's z (the audit compares p on the z scale).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import norm

from paperlock.cohort.design import ARMS
from paperlock.cohort.fast_survival import Z95, cox_uni
from paperlock.cohort.progress import Progress

if TYPE_CHECKING:
    from paperlock.cohort.calibrate import Calibrator, State

FITS = (("all", "pfs"), ("all", "os"), ("tki_ici", "pfs"), ("tki_ici", "os"))
P_SIDE_MARGIN = 0.004  # keep a univariable p this far on its side of the entry threshold
Z_TOL = 0.1  # the audit's tolerance for univariable p on the z scale


def _targets(cal: Calibrator, j: int) -> dict:
    """Per fit: (targets (3,), tolerances (3,), printed p or None, must-enter flag or None)."""
    name = cal.cov_names[j]
    thr = float(cal.settings["multivariable_p_threshold"])
    out = {}
    for pop, ep in FITS:
        t = cal.uni_t[(pop, ep)][:, j]
        tol = cal.uni_tol[(pop, ep)][:, j]
        p = cal.record.get(f"cox.{pop}.{ep}.uni.{name}.p")
        side = None if p is None else bool(p < thr)
        out[(pop, ep)] = (t, tol, p, side)
    return out


def fit_costs(fit, t: np.ndarray, tol: np.ndarray, p, side, thr: float) -> np.ndarray:
    """Cost per fitted column: HR/CI terms (t, tol: (3,) or (3, m), nan = no target), the pull of z towards
    the printed p (`p`: scalar or (m,), nan/None = none) and the entry-side penalty (`side`: True = the record's
    p is below `thr`, False = not, None/nan = no p printed)."""
    se = np.where(np.isfinite(fit.se), fit.se, 50.0)
    b = np.clip(fit.beta, -8, 8)
    vals = np.vstack([np.exp(b), np.exp(b - Z95 * se), np.exp(b + Z95 * se)])
    t = t if t.ndim == 2 else t[:, None]
    tol = tol if tol.ndim == 2 else tol[:, None]
    r = np.abs(vals - np.nan_to_num(t)) / tol
    c = np.where(np.isnan(t), 0.0, np.where(r > 1.0, 1.0 + r, 0.05 * r * r)).sum(axis=0)
    p = np.broadcast_to(np.asarray(np.nan if p is None else p, dtype=float), c.shape)
    side = np.broadcast_to(np.asarray(np.nan if side is None else side, dtype=float), c.shape)
    # the printed row's direction: log HR, or the log-midpoint of its interval when the HR is not targeted
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.where(np.isnan(t[0]), 0.5 * (np.log(t[1]) + np.log(t[2])), np.log(t[0]))
    sign = np.broadcast_to(np.sign(np.nan_to_num(centre)), c.shape)
    z_abs = np.abs(b) / se
    # signed z where the direction is known: |z| alone would also reward the mirror image HR -> 1/HR
    z = np.where(sign != 0, b / se, z_abs)
    has_p = np.isfinite(p)
    z_target = norm.isf(np.clip(np.where(has_p, p, 0.5), 1e-12, 1.0) / 2) * np.where(sign != 0, sign, 1.0)
    rz = np.abs(z - z_target) / Z_TOL
    c = c + np.where(has_p, 0.5 * np.where(rz > 1.0, 1.0 + rz, 0.05 * rz * rz), 0.0)
    pv = 2 * norm.sf(z_abs)
    # a row that must enter the model counts as entering only in its printed direction: a strong effect the
    # other way would otherwise be a valley walled off from the printed one
    p_dir = np.where(sign != 0, 2 * norm.sf(z * np.where(sign != 0, sign, 1.0)), pv)
    wrong = np.where(side == 1.0, p_dir >= thr - P_SIDE_MARGIN, pv < thr + P_SIDE_MARGIN) & np.isfinite(side)
    # on the wrong side of the entry threshold: a penalty that falls steadily towards the printed z (a
    # penalty growing with |p - threshold| would wall off the way from HR < 1 to HR > 1 through p = 1)
    return c + np.where(wrong, 20.0 + 10.0 * np.abs(z - z_target), 0.0)


def _candidates(cal: Calibrator, s: State, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Single moves on column j as (remove, add) index pairs; -1 = none (a flip)."""
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


def _evaluate(cal: Calibrator, s: State, j: int, rem: np.ndarray, add: np.ndarray, targets: dict,
              beta0: dict) -> tuple[np.ndarray, dict]:
    m = len(rem)
    Xc = np.repeat(s.X[:, j][:, None].astype(float), m, axis=1)
    cols = np.arange(m)
    Xc[rem[rem >= 0], cols[rem >= 0]] = 0.0
    Xc[add[add >= 0], cols[add >= 0]] = 1.0
    thr = float(cal.settings["multivariable_p_threshold"])
    total = np.zeros(m)
    betas = {}
    for pop, ep in FITS:
        t, tol, p, side = targets[(pop, ep)]
        if np.all(np.isnan(t)) and p is None:
            continue
        mask = cal.pop_mask[pop]
        fit = cox_uni(s.time(ep)[mask].astype(float), s.event[mask], Xc[mask],
                      beta0=np.full(m, beta0.get((pop, ep), 0.0)), steps=6)
        total += fit_costs(fit, t, tol, p, side, thr)
        betas[(pop, ep)] = fit.beta
    return total, betas


def search_column(cal: Calibrator, s: State, j: int, rng: np.random.Generator, steps: int,
                  km_guard=None, tenure: int = 4) -> float:
    """Improve column j in place (tabu search: the best move not touching a patient moved in the last
    `tenure` steps, unless it gives a new best); returns the column's final cost.
    `km_guard(j, remove, add)` may veto a move (for a column that defines Kaplan–Meier curves)."""
    targets = _targets(cal, j)
    keep = np.array([-1]), np.array([-1])
    cost, betas = _evaluate(cal, s, j, *keep, targets, {})
    cur, beta0 = float(cost[0]), {k: float(v[0]) for k, v in betas.items()}
    best, best_col = cur, s.X[:, j].copy()
    tabu: dict[int, int] = {}  # patient -> last step at which it may not move
    for step in range(steps):
        rem, add = _candidates(cal, s, j)
        if not len(rem):
            break
        costs, betas = _evaluate(cal, s, j, rem, add, targets, beta0)
        blocked = np.array([tabu.get(int(r), -1) >= step or tabu.get(int(a), -1) >= step
                            for r, a in zip(rem, add, strict=True)])
        costs_eff = np.where(blocked & (costs >= best - 1e-12), np.inf, costs)  # aspiration: a new best
        costs_eff = costs_eff + 1e-9 * rng.random(len(costs_eff))  # random tie-breaking
        k = int(np.argmin(costs_eff))
        if not np.isfinite(costs_eff[k]):
            break
        if km_guard is not None and not km_guard(j, rem[k], add[k]):
            tabu[int(max(rem[k], add[k]))] = step + tenure
            continue
        for i in (rem[k], add[k]):
            if i >= 0:
                tabu[int(i)] = step + tenure
        if rem[k] >= 0:
            s.X[rem[k], j] = 0
        if add[k] >= 0:
            s.X[add[k], j] = 1
        cur = float(costs[k])
        beta0 = {key: float(v[k]) for key, v in betas.items()}
        if cur < best - 1e-12:
            best, best_col = cur, s.X[:, j].copy()
        if best < 1e-3:
            break
    s.X[:, j] = best_col
    return best


def univariable_phase(cal: Calibrator, s: State, rng: np.random.Generator, steps: int,
                      progress: Progress, km_guard=None) -> dict[str, float]:
    """Search every swappable covariate's column; returns the final cost per covariate."""
    out = {}
    cols = [j for j, c in enumerate(cal.design.covariates) if c.kind in ("swap", "range")]
    for n_done, j in enumerate(cols):
        guard = km_guard if j == cal.afp_col else None
        out[cal.cov_names[j]] = search_column(cal, s, j, rng, steps, guard)
        progress.update(covariate=cal.cov_names[j], done=f"{n_done + 1}/{len(cols)}",
                        cost=out[cal.cov_names[j]])
    progress.done(covariates=len(out), cost=sum(out.values()),
                  worst=max(out, key=out.get) if out else "")
    return out
