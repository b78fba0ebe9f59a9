"""Tests of the covariate search (paperlock.cohort.cox_search): the batched binary and multivariable Cox kernels, the
count-oriented miss cost, the moves' count invariants, recovery of a planted column, determinism and the
Kaplan–Meier guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from paperlock.cohort.calibrate import Calibrator, State, entry_p, initial_state
from paperlock.cohort.cox_search import (
    FITS,
    ColumnCost,
    _propose,
    _shuffled,
    miss_cost,
    multi_models,
    multivariable_phase,
    search_column,
    univariable_phase,
)
from paperlock.cohort.design import ARMS, build_design, initial_matrix
from paperlock.cohort.fast_survival import (
    Z95,
    cox_multi,
    cox_multi_batch,
    cox_uni,
    cox_uni_sorted,
    risk_index,
    risk_matrix,
)
from paperlock.cohort.progress import Progress
from paperlock.cohort.targets import Entry, Record, load_record, load_settings

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


def _ci_p(lower: float, upper: float) -> float:
    """Two-sided Wald p implied by a 95% CI of an HR (R: 2 * pnorm(-abs(qnorm(0.975) * log(sqrt(l * u)) /
    log(sqrt(u / l)))))."""
    z = Z95 * (np.log(lower) + np.log(upper)) / (np.log(upper) - np.log(lower))
    return float(2 * norm.sf(abs(z)))


def test_entry_p_of_an_excluded_p_is_the_wald_p_of_its_ci() -> None:
    """An excluded univariable p gives way to the p its own CI implies; a kept p is used as printed; a p that the
    record never printed stays unknown."""
    stem = "cox.all.os.uni.x"
    entries = [Entry(f"t/{stem}.{stat}", f"{stem}.{stat}", "t", v, str(v), 2, "")
               for stat, v in (("hr", 2.0), ("ci_lower", 0.5), ("ci_upper", 8.0), ("p", 0.9))]
    kept = Record(entries, {})
    assert entry_p(kept, "all", "os", "x") == 0.9
    dropped = Record(entries, {f"t/{stem}.p": "contradicted by its CI"})
    assert dropped.excluded(f"{stem}.p") and not kept.excluded(f"{stem}.p")
    assert entry_p(dropped, "all", "os", "x") == pytest.approx(_ci_p(0.5, 8.0), rel=1e-12)
    assert entry_p(Record(entries[:3], {}), "all", "os", "x") is None


def test_an_excluded_p_is_not_pulled_towards_but_keeps_its_side(calibrator: Calibrator) -> None:
    """Every univariable p the settings exclude: the search has no printed p to pull z towards, and the entry
    side is the one its printed CI implies."""
    rec = calibrator.record
    keys = sorted({e.key for e in rec.all_entries if e.key.startswith("cox.") and ".uni." in e.key
                   and e.key.endswith(".p") and rec.excluded(e.key)})
    assert keys, "the settings exclude at least one univariable p"
    for key in keys:
        _, pop, ep, _, cov, _ = key.split(".")
        j = calibrator.col[cov]
        stem = key[: -len(".p")]
        implied = _ci_p(rec.value(f"{stem}.ci_lower"), rec.value(f"{stem}.ci_upper"))
        assert np.isnan(calibrator.uni_p[(pop, ep)][j])
        assert calibrator.uni_side[(pop, ep)][j] == float(implied < calibrator.entry_threshold)


@pytest.mark.parametrize("seed", range(5))
def test_binary_kernel_equals_cox_uni(seed: int) -> None:
    """The search's kernel (risk sets as n₀ + n₁·e^β) gives `fast_survival.cox_uni`'s numbers to rounding error
    (tied times included): the same Newton steps summed in a different order."""
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 40, 60).astype(float)  # many ties
    e = (rng.random(60) < 0.7).astype(int)
    X = (rng.random((60, 30)) < rng.uniform(0.1, 0.9)).astype(float)
    ref = cox_uni(t, e, X, steps=12)
    order, last = risk_index(t)
    got = cox_uni_sorted(X[order], last, e[order].astype(bool), None, 12, binary=True)
    np.testing.assert_allclose(got.beta, ref.beta, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got.se, ref.se, rtol=1e-13)


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
        fit = cox_uni(s.time(ep)[m].astype(float), s.events(ep)[m], col[m][:, None].astype(float))
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


@pytest.mark.parametrize("seed", range(4))
def test_batched_multivariable_kernel_equals_cox_multi(seed: int) -> None:
    """`cox_multi_batch` (risk-set matrix products) gives `cox_multi`'s coefficients and SEs for each model of
    the batch (tied times included)."""
    rng = np.random.default_rng(seed)
    n, p, m = 60, 5, 6
    t = rng.integers(1, 40, n).astype(float)
    e = (rng.random(n) < 0.7).astype(int)
    X = (rng.random((m, n, p)) < rng.uniform(0.2, 0.8, p)).astype(float)
    order, last = risk_index(t)
    ev = e[order].astype(bool)
    got = cox_multi_batch(X[:, order], risk_matrix(last, ev), ev, None, 12)
    for k in range(m):
        ref = cox_multi(t, e, X[k], steps=12)
        np.testing.assert_allclose(got.beta[k], ref.beta, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.se[k], ref.se, rtol=1e-10, atol=1e-12)


def test_multivariable_column_cost_adds_each_model_it_enters(calibrator: Calibrator, state: State) -> None:
    """With `multi`, a column's cost is its univariable cost plus, per multivariable model it enters, the model's
    cost from an ordinary `cox_multi` fit (the batched fit replaces only the searched column)."""
    cal, s = calibrator, state
    j = cal.col["lmr_high"]
    models = multi_models(cal, s, j)
    assert len(models) == sum("lmr_high" in covs for k, covs in cal.multi_sets.items() if k in cal.multi_t) > 1
    rng = np.random.default_rng(4)
    X = np.column_stack([s.X[:, j]] + [_shuffled(s.X[:, j], cal.design.arm, rng) for _ in range(3)])
    uni = ColumnCost(cal, s, j)(X)[0]
    both = ColumnCost(cal, s, j, multi=True)(X)[0]
    for k in range(X.shape[1]):
        extra = 0.0
        for model in models:
            covs = cal.multi_sets[model.key]
            mask = cal.pop_mask[model.key[0]]
            Xm = s.X[:, [cal.col[c] for c in covs]].astype(float)
            Xm[:, covs.index("lmr_high")] = X[:, k]
            ref = cox_multi(s.time(model.key[1])[mask].astype(float), s.events(model.key[1])[mask], Xm[mask])
            assert np.allclose(model.costs(X[:, [k]], None, 12, "log")[1][0], ref.beta)
            extra += float(model.costs(X[:, [k]], None, 12, "log")[0][0])
        assert both[k] == pytest.approx(uni[k] + cal.w_multi * extra, rel=1e-9)


def test_multivariable_phase_lowers_the_cost_and_keeps_counts(calibrator: Calibrator, state: State,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The multivariable phase never raises a column's cost (univariable + its models), keeps every swap
    covariate's per-arm counts and leaves the other columns alone; one and two processes give the same matrix."""
    cal = calibrator
    out = []
    for workers in ("1", "2"):
        monkeypatch.setenv("PAPERLOCK_COHORT_WORKERS", workers)
        s = state.copy()
        cols = [j for j, c in enumerate(cal.design.covariates)
                if c.kind in ("swap", "range") and c.name in cal.model_covariates]
        before = {j: float(ColumnCost(cal, s, j, multi=True)(s.X[:, [j]])[0][0]) for j in cols}
        start = s.X.copy()
        got = multivariable_phase(cal, s, np.random.default_rng(8), (20,), Progress(enabled=False))
        assert set(got) == {cal.cov_names[j] for j in cols}
        others = [j for j in range(s.X.shape[1]) if j not in cols]
        assert np.array_equal(s.X[:, others], start[:, others])
        for j in cols:
            if cal.design.covariates[j].kind == "swap":
                for a in ARMS:
                    assert s.X[cal.design.arm == a, j].sum() == start[cal.design.arm == a, j].sum()
        # each column's cost is measured after the columns before it moved: the last column's own cost fell
        last = cols[-1]
        assert float(ColumnCost(cal, s, last, multi=True)(s.X[:, [last]])[0][0]) <= before[last] + 1e-9
        out.append(s.X.copy())
    assert np.array_equal(out[0], out[1])


def test_univariable_phase_outside_models_leaves_the_model_columns_alone(calibrator: Calibrator,
                                                                         state: State) -> None:
    """The last phase searches only the covariates that enter no multivariable model: the model covariates'
    columns (and arm, AFP) stay as they are and each searched column's cost does not rise."""
    cal, s = calibrator, state.copy()
    in_models = cal.model_covariates
    start = s.X.copy()
    free = [j for j, c in enumerate(cal.design.covariates) if c.kind in ("swap", "range") and c.name not in in_models]
    before = {j: float(ColumnCost(cal, s, j)(s.X[:, [j]])[0][0]) for j in free}
    got = univariable_phase(cal, s, np.random.default_rng(3), 20, Progress(enabled=False), outside_models=True)
    assert set(got) == {cal.cov_names[j] for j in free} and free
    assert not set(got) & in_models
    others = [j for j in range(s.X.shape[1]) if j not in free]
    assert np.array_equal(s.X[:, others], start[:, others])
    for j in free:
        assert float(ColumnCost(cal, s, j)(s.X[:, [j]])[0][0]) <= before[j] + 1e-9
