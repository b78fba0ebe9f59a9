"""Continuous baseline values whose group quantiles and rank-test p-value hit printed targets.

Quantiles are Hyndman–Fan type 7 (R's default `quantile()`, as printed by R's tableone): for n values the
p-quantile sits at 0-based position h = (n − 1)p, interpolated linearly. With 21 and 49 patients every
arm quartile is an exact order statistic, so those values are pinned; the free values live in the intervals
between pins and are moved by a greedy local search until the pooled quartiles (interpolated) round to
their targets and the rank-test p-value (Kruskal–Wallis = Wilcoxon rank-sum without continuity correction,
the study's test) is within tolerance; the number of values above a cut-off per arm is what the survival
calibration asked for, by construction (the top slots of each arm are held above the cut). All work is in
integer units of the printed precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

PROBS = (0.25, 0.5, 0.75)


def quantile_type7(values: np.ndarray, p: float) -> float:
    """R's quantile(type = 7)."""
    v = np.sort(values)
    h = (len(v) - 1) * p
    lo = int(np.floor(h))
    hi = min(lo + 1, len(v) - 1)
    return float(v[lo] + (h - lo) * (v[hi] - v[lo]))


def mann_whitney_p(a: np.ndarray, b: np.ndarray, continuity: bool) -> float:
    """Two-sided normal-approximation Mann–Whitney p with tie correction (R wilcox.test(exact=FALSE))."""
    pooled = np.concatenate([a, b])
    order = np.argsort(pooled, kind="stable")
    s = pooled[order]
    ranks = np.empty(len(s))
    uniq, first, counts = np.unique(s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    na, nb = len(a), len(b)
    u = ranks[:na].sum() - na * (na + 1) / 2.0
    n = na + nb
    tie = (counts**3 - counts).sum()
    sigma = np.sqrt(na * nb / 12.0 * ((n + 1) - tie / (n * (n - 1))))
    dev = abs(u - na * nb / 2.0) - (0.5 if continuity else 0.0)
    return float(2 * norm.sf(max(dev, 0.0) / sigma))


@dataclass
class QuantileTargets:
    """Targets in integer units (value × 10**decimals) for arms 'a', 'b' and pooled 'all'."""

    sizes: tuple[int, int]
    quartiles: dict[str, tuple[int, int, int]]  # group -> (q1, median, q3)
    p_value: float | None
    floor: int
    ceiling: int
    cut: float | None = None  # in units; "high" means value > cut
    tol: float = 0.25  # how far (units) a pooled quartile may sit from its target and still print as it
    specials: list[int] = field(default_factory=list)


@dataclass
class SlotModel:
    lo: list[np.ndarray]
    hi: list[np.ndarray]


def slot_bounds(t: QuantileTargets) -> SlotModel:
    """Per arm, the interval each sorted slot may take so that the arm's quartiles stay exact."""
    los, his = [], []
    for g, n in zip(("a", "b"), t.sizes, strict=True):
        pins = {}
        for p, q in zip(PROBS, t.quartiles[g], strict=True):
            h = (n - 1) * p
            if abs(h - round(h)) > 1e-9:
                raise ValueError(f"group {g}: n = {n} does not put quartile {p} on an order statistic")
            pins[int(round(h))] = q
        lo = np.empty(n, dtype=np.int64)
        hi = np.empty(n, dtype=np.int64)
        keys = sorted(pins)
        for i in range(n):
            if i in pins:
                lo[i] = hi[i] = pins[i]
                continue
            left = [k for k in keys if k < i]
            right = [k for k in keys if k > i]
            lo[i] = pins[left[-1]] if left else t.floor
            hi[i] = pins[right[0]] if right else t.ceiling
        los.append(lo)
        his.append(hi)
    return SlotModel(los, his)


def high_count_bounds(t: QuantileTargets) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Feasible numbers of values above the cut: per arm from the slots, pooled from the pooled quartiles."""
    assert t.cut is not None
    m = slot_bounds(t)
    arm = [(int((lo > t.cut).sum()), int((hi > t.cut).sum())) for lo, hi in zip(m.lo, m.hi, strict=True)]
    n = sum(t.sizes)
    lo_all, hi_all = 0, n
    for p, q in zip(PROBS, t.quartiles["all"], strict=True):
        h = (n - 1) * p
        if q <= t.cut:  # positions floor(h) and ceil(h) (0-based) must not be above the cut
            hi_all = min(hi_all, n - (int(np.ceil(h)) + 1))
        else:
            lo_all = max(lo_all, n - int(np.floor(h)))
    return arm[0], arm[1], (lo_all, hi_all)


P_TOL = 0.003  # the rank-test p is searched to this distance from the printed value (the tier allows 0.01)


def rank_test_p(a: np.ndarray, b: np.ndarray) -> float:
    """The study's test for a continuous variable by arm: Kruskal–Wallis, which for two groups is the
    Wilcoxon rank-sum normal approximation without continuity correction (`analysis.stats.ranks`)."""
    return mann_whitney_p(a, b, continuity=False)


def _cost(a: np.ndarray, b: np.ndarray, t: QuantileTargets, want: tuple[int, int] | None) -> float:
    pooled = np.concatenate([a, b])
    c = 0.0
    for p, q in zip(PROBS, t.quartiles["all"], strict=True):
        c += max(0.0, abs(quantile_type7(pooled, p) - q) - t.tol) * 10.0
    if t.p_value is not None:
        err = abs(rank_test_p(a, b) - t.p_value)
        c += max(0.0, err - P_TOL) * 100.0 + err * 0.1
    if want is not None and t.cut is not None:
        c += abs(int((a > t.cut).sum()) - want[0]) + abs(int((b > t.cut).sum()) - want[1])
    return c


def _clamp_to_split(m: SlotModel, t: QuantileTargets, want_high: tuple[int, int]) -> SlotModel:
    """Slot bounds with exactly `want_high[g]` values above the cut in arm g: the top slots above, the rest
    at or below (slots are in sorted order, so this is the only way the count can be met)."""
    assert t.cut is not None
    cut_floor = int(np.floor(t.cut))
    los, his = [], []
    for g in range(2):
        lo, hi = m.lo[g].copy(), m.hi[g].copy()
        n = len(lo)
        k = want_high[g]
        lo[n - k:] = np.maximum(lo[n - k:], cut_floor + 1)
        hi[: n - k] = np.minimum(hi[: n - k], cut_floor)
        if np.any(lo > hi):
            raise ValueError(f"{k} values above the cut in arm {g} are not compatible with its quartiles")
        los.append(lo)
        his.append(hi)
    return SlotModel(los, his)


def construct_values(t: QuantileTargets, rng: np.random.Generator, want_high: tuple[int, int] | None = None,
                     iterations: int = 20000, restarts: int = 6) -> tuple[np.ndarray, np.ndarray, float]:
    """Values (integer units) for arms a and b meeting the targets; returns (a, b, residual cost).

    The per-arm numbers above the cut are met by construction; the pooled quartiles and the rank-test p are
    searched, restarting from a new random start (up to `restarts` times) while the quartiles are missed or
    the p is off by more than `P_TOL`."""
    best = None
    for _ in range(max(1, restarts)):
        a, b, cost = _construct_once(t, rng, want_high, iterations)
        if best is None or cost < best[2]:
            best = (a, b, cost)
        if cost < 1e-3 + 0.1 * P_TOL:
            break
    assert best is not None
    return best


def _construct_once(t: QuantileTargets, rng: np.random.Generator, want_high: tuple[int, int] | None,
                    iterations: int) -> tuple[np.ndarray, np.ndarray, float]:
    m = slot_bounds(t)
    if want_high is not None and t.cut is not None:
        m = _clamp_to_split(m, t, want_high)
    vals = []
    for lo, hi in zip(m.lo, m.hi, strict=True):
        vals.append(np.array([rng.integers(lo_i, hi_i + 1) for lo_i, hi_i in zip(lo, hi, strict=True)]))
    free = [(g, i) for g in range(2) for i in range(len(vals[g])) if m.lo[g][i] < m.hi[g][i]]
    specials = [*t.quartiles["all"], *t.specials]
    cost = _cost(vals[0], vals[1], t, want_high)
    for _ in range(iterations):
        if cost <= 0.0 + 1e-12 and t.p_value is None:
            break
        g, i = free[rng.integers(len(free))]
        lo, hi = int(m.lo[g][i]), int(m.hi[g][i])
        old = vals[g][i]
        r = rng.random()
        if r < 0.3:
            cand = [s for s in specials if lo <= s <= hi]
            new = int(cand[rng.integers(len(cand))]) if cand else int(rng.integers(lo, hi + 1))
        elif r < 0.7:
            new = int(np.clip(old + rng.integers(-20, 21), lo, hi))
        else:
            new = int(rng.integers(lo, hi + 1))
        vals[g][i] = new
        c = _cost(vals[0], vals[1], t, want_high)
        if c <= cost:
            cost = c
        else:
            vals[g][i] = old
        if cost < 1e-3 and t.p_value is not None and abs(rank_test_p(vals[0], vals[1]) - t.p_value) < 0.002:
            break
    return vals[0], vals[1], cost
