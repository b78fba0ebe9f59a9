"""Tests of the univariable covariate search (paperlock.cohort.cox_search): the batched binary Cox kernel, the
count-oriented miss cost, the moves' count invariants, recovery of a planted column, determinism and the
Kaplan–Meier guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperlock.cohort.calibrate import Calibrator, State, initial_state
from paperlock.cohort.cox_search import (
    FITS,
    _propose,
    _shuffled,
    miss_cost,
    search_column,
)
from paperlock.cohort.design import ARMS, build_design, initial_matrix
from paperlock.cohort.fast_survival import Z95, _risk_index, cox_uni, cox_uni_sorted
from paperlock.cohort.targets import load_record, load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def calibrator() -> Calibrator:
    cfg = load_settings(ROOT / "data" / "cohort_targets.yaml")
    record = load_record(ROOT / cfg["record"], cfg.get("exclusions", {}))
    design = build_design(record, cfg, np.random.default_rng(11))
    return Calibrator(design, record, cfg)


@pytest.fixture()
def state(calibrator: Calibrator) -> State:
    rng = np.random.default_rng(5)
    return initial_state(calibrator, initial_matrix(calibrator.design, rng), rng)


@pytest.mark.parametrize("seed", range(5))
def test_binary_kernel_equals_cox_uni(seed: int) -> None:
    """The search's kernel gives `fast_survival.cox_uni`'s numbers exactly (tied times included)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 40, 60).astype(float)  # many ties
    e = (rng.random(60) < 0.7).astype(int)
    X = (rng.random((60, 30)) < rng.uniform(0.1, 0.9)).astype(float)
    ref = cox_uni(t, e, X, steps=12)
    order, last = _risk_index(t)
    got = cox_uni_sorted(X[order], last, e[order].astype(bool), None, 12, binary=True)
    assert np.array_equal(ref.beta, got.beta) and np.array_equal(ref.se, got.se)


def test_log_miss_cost_counts_misses() -> None:
    """Inside the tolerance both shapes are 0.05·r²; beyond it the `log` shape makes two near misses cost more
    than one far miss (r = 10), where the `linear` shape does the opposite."""
    r = np.array([0.5, 1.0])
    assert np.array_equal(miss_cost(r, "log"), miss_cost(r, "linear"))
    assert 2 * miss_cost(np.array([1.5]), "log")[0] > miss_cost(np.array([10.0]), "log")[0]
    assert 2 * miss_cost(np.array([1.5]), "linear")[0] < miss_cost(np.array([10.0]), "linear")[0]
    far = miss_cost(np.linspace(1.01, 100, 50), "log")
    assert (np.diff(far) > 0).all() and far[0] >= 2.0


def test_moves_keep_counts_and_bounds(calibrator: Calibrator, state: State) -> None:
    """Every proposed move keeps a `swap` covariate's per-arm counts and a `range` covariate within its per-arm
    and pooled bounds (500 rounds of 64 chains, each applied)."""
    d = calibrator.design
    rng = np.random.default_rng(3)
    for kind in ("swap", "range"):
        j = next(k for k, c in enumerate(d.covariates) if c.kind == kind)
        cov = d.covariates[j]
        X = np.repeat(state.X[:, [j]], 64, axis=1)
        before = {a: X[d.arm == a].sum(axis=0) for a in ARMS}
        chains = np.arange(64)
        for _ in range(500):
            out_row, in_row = _propose(calibrator, j, X, rng)
            assert (X[out_row[out_row >= 0], chains[out_row >= 0]] == 1).all()
            assert (X[in_row[in_row >= 0], chains[in_row >= 0]] == 0).all()
            X[out_row[out_row >= 0], chains[out_row >= 0]] = 0
            X[in_row[in_row >= 0], chains[in_row >= 0]] = 1
            for a in ARMS:
                k = X[d.arm == a].sum(axis=0)
                if kind == "swap":
                    assert (k == before[a]).all()
                else:
                    assert ((k >= cov.bounds[a][0]) & (k <= cov.bounds[a][1])).all()
            if kind == "range":
                assert ((X.sum(axis=0) >= cov.pooled[0]) & (X.sum(axis=0) <= cov.pooled[1])).all()


def _plant(cal: Calibrator, s: State, j: int, col: np.ndarray) -> None:
    """Make `col` meet column j's univariable rows exactly: its own HR and CI become the targets (no p)."""
    for pop, ep in FITS:
        m = cal.pop_mask[pop]
        fit = cox_uni(s.time(ep)[m].astype(float), s.event[m], col[m][:, None].astype(float))
        b, se = fit.beta[0], fit.se[0]
        vals = np.array([np.exp(b), np.exp(b - Z95 * se), np.exp(b + Z95 * se)])
        cal.uni_t[(pop, ep)][:, j] = vals
        cal.uni_tol[(pop, ep)][:, j] = np.array([0.02, 0.03 * vals[1], 0.03 * vals[2]])
        cal.uni_p[(pop, ep)][j] = np.nan
        cal.uni_side[(pop, ep)][j] = np.nan


def test_search_recovers_a_planted_column(calibrator: Calibrator, state: State) -> None:
    """A random column's own univariable rows are attainable; from another random column with the same per-arm
    counts the search meets all twelve numbers (cost below 1 per fit: every number inside its tolerance)."""
    cal, s = calibrator, state
    j = cal.col["tumour_number_gt3"]
    rng = np.random.default_rng(7)
    planted = _shuffled(s.X[:, j], cal.design.arm, rng)
    _plant(cal, s, j, planted)
    s.X[:, j] = _shuffled(s.X[:, j], cal.design.arm, rng)
    cost = search_column(cal, s, j, np.random.default_rng(1), 150)
    assert cost < 0.2
    for a in ARMS:
        assert s.X[cal.design.arm == a, j].sum() == planted[cal.design.arm == a].sum()


def test_search_is_deterministic_and_guarded(calibrator: Calibrator, state: State) -> None:
    """The same seed gives the same column; a guard that vetoes every move leaves the column as it was."""
    cal, s = calibrator, state
    j = cal.col["bclc_c"]
    start = s.X[:, j].copy()
    cols = []
    for _ in range(2):
        s.X[:, j] = start
        search_column(cal, s, j, np.random.default_rng(2), 30)
        cols.append(s.X[:, j].copy())
    assert np.array_equal(cols[0], cols[1])
    s.X[:, j] = start
    search_column(cal, s, j, np.random.default_rng(2), 30, km_guard=lambda *_: False)
    assert np.array_equal(s.X[:, j], start)
