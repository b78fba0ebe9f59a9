"""Optimal cut-point of a continuous marker by the maximally selected log-rank statistic.

Convention (Lausen & Schumacher 1992; Hothorn & Lausen 2003, R ``maxstat::maxstat.test(smethod = "LogRank")``):

* Log-rank scores a_j = delta_j - H(t_j), H the Nelson–Aalen cumulative hazard of the pooled sample (ties:
  all events at t count in H(t)). For the cut "marker <= c" with group G, the standardised statistic is
  S(c) = (sum_G a - n_G mean(a)) / sqrt(n_G (n - n_G) / (n (n - 1)) * sum (a - mean(a))^2),
  the permutation (conditional) standardisation. Candidate cuts are the distinct marker values c for which the
  proportion of subjects with marker <= c lies in [min_prop, max_prop] (default 0.1–0.9). All statistics come
  from one cumulative-sum scan over the marker-sorted scores.
* The chosen cut maximises |S(c)| (the smallest such c on ties).
* Selection-adjusted p-values: (i) permutation: the marker is permuted against (time, event) ``n_perm`` times
  with a seeded generator and p = (1 + #{max|S*| >= max|S|}) / (n_perm + 1); (ii) Lausen & Schumacher's
  (1992) approximation p ≈ 4 φ(b)/b + φ(b) (b - 1/b) log(ε2 (1 - ε1) / ((1 - ε2) ε1)), b = max|S|,
  ε1 = min_prop, ε2 = max_prop, floored at 0 and capped at 1.
* ``logrank_p`` is the unadjusted R ``survdiff`` p-value of the chosen split, for reference only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stats import distributions as dist
from analysis.stats.km import logrank


@dataclass(frozen=True)
class CutpointResult:
    cutpoint: float  # lower group: marker <= cutpoint
    statistic: float  # max |S(c)|
    p_permutation: float
    p_lausen_schumacher: float
    logrank_p: float
    candidates: np.ndarray
    statistics: np.ndarray  # S(c) for each candidate (signed: positive = more events than expected in <= c)
    n_lower: int
    n_perm: int
    seed: int
    min_prop: float
    max_prop: float


def logrank_scores(time, event) -> np.ndarray:
    """a_j = delta_j - H(t_j) with H the pooled Nelson–Aalen cumulative hazard."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    ut, inv = np.unique(t, return_inverse=True)
    total = np.bincount(inv, minlength=ut.size)
    d = np.bincount(inv, weights=e, minlength=ut.size)
    n_risk = t.size - np.concatenate(([0], np.cumsum(total)[:-1]))
    h = np.cumsum(d / n_risk)
    return e - h[inv]


def _scan(scores_sorted: np.ndarray, cut_idx: np.ndarray) -> np.ndarray:
    """Standardised statistics for prefixes ending at ``cut_idx`` (inclusive); rows = score vectors."""
    s = np.atleast_2d(scores_sorted)
    n = s.shape[1]
    mean = s.mean(axis=1, keepdims=True)
    ss = ((s - mean) ** 2).sum(axis=1, keepdims=True)
    m = (cut_idx + 1).astype(float)
    num = np.cumsum(s, axis=1)[:, cut_idx] - m * mean
    var = m * (n - m) / (n * (n - 1)) * ss
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / np.sqrt(var)


def lausen_schumacher_p(b: float, min_prop: float = 0.1, max_prop: float = 0.9) -> float:
    """Lausen & Schumacher (1992) approximation to P(max |S| >= b) over the proportion range."""
    phi = dist.norm_pdf(b)
    p = 4 * phi / b + phi * (b - 1 / b) * np.log(max_prop * (1 - min_prop) / ((1 - max_prop) * min_prop))
    return float(min(max(p, 0.0), 1.0))


@dataclass(frozen=True)
class CutpointProblem:
    """One search: marker, time and event (same length; non-finite markers and times are left out)."""

    marker: np.ndarray
    time: np.ndarray
    event: np.ndarray
    min_prop: float = 0.1
    max_prop: float = 0.9
    n_perm: int = 10000
    seed: int = 20250101


@dataclass
class _Prepared:
    problem: CutpointProblem
    x: np.ndarray
    t: np.ndarray
    e: np.ndarray
    xs: np.ndarray  # markers in canonical order
    a_sorted: np.ndarray  # log-rank scores in canonical order
    cut_idx: np.ndarray
    stat: np.ndarray
    best: int
    b: float
    exceed: int = 0


def max_logrank_cutpoint(marker, time, event, min_prop: float = 0.1, max_prop: float = 0.9,
                         n_perm: int = 10000, seed: int = 20250101) -> CutpointResult:
    """Maximally selected log-rank cut-point with selection-adjusted p-values (see module docstring)."""
    return max_logrank_cutpoints([CutpointProblem(marker, time, event, min_prop, max_prop, n_perm, seed)])[0]


def max_logrank_cutpoints(problems: list[CutpointProblem]) -> list[CutpointResult]:
    """`max_logrank_cutpoint` for several searches at once, with the same results.

    Speed: each search's permutations are those of ``rng.permuted`` applied to its canonically ordered scores,
    i.e. the same shuffles of positions 0..n-1 whenever n and the seed agree. Searches with the same
    (n, seed, permutations) therefore share one stream of shuffled positions (drawn once, applied to each
    search's scores by indexing), and each permuted statistic needs only the sums between consecutive
    candidate cuts (``np.add.reduceat``), not a cumulative sum over every patient. The permuted mean and sum
    of squares are those of the unpermuted scores (a permutation does not change them); the p-value counts
    permuted maxima >= max|S| (1 - 1e-12), as before (tests/test_performance_equivalence.py).
    """
    prepared = [_prepare(p) for p in problems]
    groups: dict[tuple[int, int, int], list[_Prepared]] = {}
    for prep in prepared:
        groups.setdefault((prep.x.size, prep.problem.seed, prep.problem.n_perm), []).append(prep)
    for (n, seed, n_perm), members in groups.items():
        _permutation_counts(n, seed, n_perm, members)
    return [_result(prep) for prep in prepared]


def _prepare(problem: CutpointProblem) -> _Prepared:
    x = np.asarray(problem.marker, dtype=float).ravel()
    t = np.asarray(problem.time, dtype=float).ravel()
    e = np.asarray(problem.event).ravel().astype(float)
    if not (x.size == t.size == e.size):
        raise ValueError("marker, time and event must have the same length")
    ok = np.isfinite(x) & np.isfinite(t)
    x, t, e = x[ok], t[ok], e[ok]
    n = x.size
    if not 0 < problem.min_prop < problem.max_prop < 1:
        raise ValueError("need 0 < min_prop < max_prop < 1")
    a = logrank_scores(t, e)
    # canonical order (marker, then score) so the seeded permutations do not depend on the input row order
    order = np.lexsort((a, x))
    xs, a_sorted = x[order], a[order]
    last_of_value = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True])  # prefix end for "marker <= value"
    prop = (last_of_value + 1) / n
    cut_idx = last_of_value[(prop >= problem.min_prop) & (prop <= problem.max_prop) & (last_of_value < n - 1)]
    if cut_idx.size == 0 or e.sum() == 0:
        raise ValueError("no admissible cut-point (too few distinct marker values or no events)")
    stat = _scan(a_sorted, cut_idx)[0]
    best = int(np.nanargmax(np.abs(stat)))
    return _Prepared(problem, x, t, e, xs, a_sorted, cut_idx, stat, best, float(np.abs(stat[best])))


def _permutation_counts(n: int, seed: int, n_perm: int, members: list[_Prepared]) -> None:
    """Count, for each search, permuted maxima >= its observed maximum, sharing one shuffle stream."""
    rng = np.random.default_rng(seed)
    positions = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)  # same shuffles whatever the dtype
    chunk = max(1, min(n_perm, 2_000_000 // max(n, 1)))
    scans = [_PermutedScan(m.a_sorted, m.cut_idx) for m in members]
    done = 0
    while done < n_perm:
        k = min(chunk, n_perm - done)
        shuffled = rng.permuted(np.broadcast_to(positions, (k, n)), axis=1)  # = the scores' own shuffles
        for m, scan in zip(members, scans, strict=True):
            with np.errstate(invalid="ignore"):
                pmax = np.nanmax(np.abs(scan(shuffled)), axis=1)
                m.exceed += int((pmax >= m.b * (1 - 1e-12)).sum())
        done += k


class _PermutedScan:
    """Standardised statistics of permuted scores at the candidate cuts, from sums between cuts."""

    def __init__(self, scores: np.ndarray, cut_idx: np.ndarray) -> None:
        n = scores.size
        self.scores = scores
        self.starts = np.r_[0, cut_idx + 1]  # segment j ends at cut_idx[j] (the last, past the cuts, is unused)
        self.cuts = cut_idx.size
        mean = scores.mean()
        ss = ((scores - mean) ** 2).sum()
        m = (cut_idx + 1).astype(float)
        self.shift = m * mean
        self.scale = np.sqrt(m * (n - m) / (n * (n - 1)) * ss)

    def __call__(self, shuffled: np.ndarray) -> np.ndarray:
        segments = np.add.reduceat(self.scores[shuffled], self.starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.cumsum(segments[:, :self.cuts], axis=1) - self.shift) / self.scale


def _result(prep: _Prepared) -> CutpointResult:
    pr = prep.problem
    cut = float(prep.xs[prep.cut_idx[prep.best]])
    lr = logrank(prep.t, prep.e, (prep.x <= cut).astype(int))
    return CutpointResult(cut, prep.b, (1 + prep.exceed) / (pr.n_perm + 1),
                          lausen_schumacher_p(prep.b, pr.min_prop, pr.max_prop), lr.p, prep.xs[prep.cut_idx],
                          prep.stat, int(prep.cut_idx[prep.best] + 1), pr.n_perm, pr.seed, pr.min_prop,
                          pr.max_prop)
