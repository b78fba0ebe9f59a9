"""Tests of the calibration search's building blocks (paperlock.cohort.calibrate, cox_search): the survival
probes that give the median search a slope, the slide move that leaves a regimen curve untouched, the signed
z pull of the univariable cost, and the staged Kaplan–Meier phase's locks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlock.cohort import km_kernel
from paperlock.cohort.calibrate import (
    Calibrator,
    Search,
    State,
    _propose_slide,
    _undo,
    anneal,
    initial_state,
    term,
)
from paperlock.cohort.cox_search import RowTargets
from paperlock.cohort.design import build_design, initial_matrix
from paperlock.cohort.fast_survival import R_TOL, SPSS_EPS, CoxFit, km_median_spss, km_steps_numpy
from paperlock.cohort.progress import Progress
from paperlock.cohort.targets import load_record, load_settings
from paperlock.cohort.time_search import MOVES, T0, T1, CoxTimeSearch, cox_time_phase

ROOT = Path(__file__).resolve().parents[1]


def test_survival_probes_read_the_step_function() -> None:
    """S(t) at probe times: 10 patients, one death a day on days 1..6 -> S = 1 - k/10 on day k."""
    t = np.arange(1, 11, dtype=float)
    e = np.r_[np.ones(6, dtype=int), np.zeros(4, dtype=int)]
    m = km_median_spss(t, e, at=(0.5, 4.5, 5.0, 6.5, 20.0))
    assert m.s_at == pytest.approx((1.0, 0.6, 0.5, 0.4, 0.4))


@given(st.lists(st.integers(1, 400), min_size=8, max_size=40), st.integers(0, 2**16))
@settings(max_examples=60)
def test_probe_equals_km_at_each_day(days: list[int], seed: int) -> None:
    """Property: the probe at day d equals the product-limit estimate computed by hand up to day d."""
    rng = np.random.default_rng(seed)
    t = np.array(days, dtype=float)
    e = (rng.random(len(t)) < 0.7).astype(int)
    probe = float(rng.integers(1, 400))
    expected = 1.0
    for d in np.unique(t[(e == 1) & (t <= probe)]):
        expected *= 1 - ((t == d) & (e == 1)).sum() / (t >= d).sum()
    assert km_median_spss(t, e, at=(probe,)).s_at[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.skipif(km_kernel.load() is None, reason="no C compiler: the search uses km_steps_numpy itself")
@given(st.lists(st.tuples(st.integers(1, 400), st.booleans()), min_size=0, max_size=70))
@settings(max_examples=300)
def test_compiled_km_kernel_equals_numpy_bit_for_bit(rows: list[tuple[int, bool]]) -> None:
    """Property: the compiled Kaplan–Meier step kernel (_km_kernel.c) gives the numpy reference's event times,
    S, Greenwood sums and median/u/l indices exactly (==, not approx), ties and all-censored curves included,
    so the generator's cohort does not depend on whether a C compiler was there."""
    t = np.array([r[0] for r in rows], dtype=float) / 30.0
    e = np.array([r[1] for r in rows], dtype=float)
    fast, ref = km_kernel.km_steps(km_kernel.load(), t, e, R_TOL, SPSS_EPS), km_steps_numpy(t, e)
    for a, b in zip(fast[:3], ref[:3], strict=True):
        assert a.tolist() == b.tolist()
    assert tuple(fast[3:]) == tuple(ref[3:])


@given(st.floats(-50, 50, allow_nan=False), st.floats(0.001, 5.0))
def test_scalar_tolerance_term_equals_the_array_one(err: float, tol: float) -> None:
    """Property: the KM cost's scalar path of `term` gives the array path's value exactly."""
    assert term(err, tol) == float(term(np.array([err]), np.array([tol]))[0])


def test_km_median_without_the_kernel_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the kernel disabled the search's medians come from numpy, the same numbers."""
    rng = np.random.default_rng(3)
    t, e = rng.integers(1, 500, 49) / 30.0, (rng.random(49) < 0.7).astype(float)
    with_kernel = km_median_spss(t, e, at=(5.0, 6.0))
    monkeypatch.setenv("PAPERLOCK_NO_NATIVE", "1")
    km_kernel.reset()
    try:
        assert km_kernel.load() is None
        assert km_median_spss(t, e, at=(5.0, 6.0)) == with_kernel
    finally:
        monkeypatch.delenv("PAPERLOCK_NO_NATIVE")
        km_kernel.reset()


@pytest.fixture(scope="module")
def calibrator() -> Calibrator:
    settings_ = load_settings(ROOT / "data" / "cohort_targets.yaml")
    record = load_record(ROOT / settings_["record"], settings_.get("exclusions", {}))
    rng = np.random.default_rng(11)
    design = build_design(record, settings_, rng)
    return Calibrator(design, record, settings_)


def test_slide_never_changes_a_regimen_curve(calibrator: Calibrator) -> None:
    """A slide keeps the patient strictly between its regimen neighbours, so the regimen curve's numbers are
    unchanged unless the patient is the event the median, u or l is read from."""
    cal = calibrator
    rng = np.random.default_rng(5)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    search = Search(cal, state, uni_cols=[0])
    moved = 0
    for _ in range(300):
        ep = ("pfs", "os")[int(rng.integers(2))]
        undo = _propose_slide(search, rng, ep)
        if undo is None:
            continue
        _, _, i, old = undo
        key = next(k for k in cal.curves if k[0] == ep and k[1] == "regimen" and k[2] == cal.design.regimen[i])
        new = int(state.time(ep)[i])
        state.time(ep)[i] = old
        before = cal.km_cost(state, key)[2]
        state.time(ep)[i] = new
        after = cal.km_cost(state, key)[2]
        assert (state.pfs <= state.os).all()
        anchors = {before.median, before.u_time, before.l_time}
        if old / cal.month not in anchors:
            moved += 1
            assert (after.median, after.lower, after.upper) == pytest.approx(
                (before.median, before.lower, before.upper), nan_ok=True, rel=1e-12)
        if rng.random() < 0.5:
            _undo(state, undo)
    assert moved > 100


def test_slide_keeps_regimen_order(calibrator: Calibrator) -> None:
    """The ordering of every regimen's times (with ties) is the same before and after a slide."""
    cal = calibrator
    rng = np.random.default_rng(8)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    search = Search(cal, state, uni_cols=[0])
    d = cal.design
    for _ in range(300):
        ep = ("pfs", "os")[int(rng.integers(2))]
        times = state.time(ep)
        before = times.copy()
        if _propose_slide(search, rng, ep) is None:
            continue
        for r in np.unique(d.regimen):
            m = d.regimen == r
            a, b = before[m], times[m]
            assert (np.sign(a[:, None] - a[None, :]) == np.sign(b[:, None] - b[None, :])).all()


def test_signed_z_pull_prefers_the_printed_direction() -> None:
    """With a printed HR above 1, the mirror-image fit (HR below 1 with the same |z|) costs more than the fit in
    the printed direction; the entry-side penalty falls steadily from HR < 1 towards the printed HR."""
    t = np.array([1.9, 0.9, 4.0])  # an illustrative row: HR 1.9 (0.9-4.0), p = 0.08, must enter at p < 0.1
    tol = np.array([0.02, 0.03 * 0.9, 0.03 * 4.0])
    se = np.full(1, 0.39)

    def cost(beta: float) -> float:
        return float(RowTargets.of(t, tol, 0.08, True).cost(CoxFit(np.array([beta]), se), 0.1)[0])

    assert cost(np.log(1.9)) < cost(-np.log(1.9))
    path = [cost(b) for b in np.linspace(-1.5, np.log(1.9), 60)]
    assert all(a >= b - 1e-9 for a, b in zip(path, path[1:], strict=False))


@pytest.mark.parametrize("seed", range(60))
def test_adverse_event_counts_hold_for_any_seed(seed: int) -> None:
    """Regression: every Table 6 count (single events, the derived immune-related row as any of its parts,
    and the totals) holds by construction whatever the generator's random stream; a derived row's grade >= 3
    patients once came out one short when two of its parts were dealt to the same patient (seeds 25, 31, 34,
    48 and 53 here did that)."""
    from paperlock.cohort.clinical import adverse_events

    cfg = load_settings(ROOT / "data" / "cohort_targets.yaml")
    record = load_record(ROOT / cfg["record"], cfg.get("exclusions", {}))
    design = build_design(record, cfg, np.random.default_rng(100))
    grades = adverse_events(design, record, cfg, np.random.default_rng(seed))
    flags = set(cfg["adverse_events"]["flags"])
    worst = np.max([g for e, g in grades.items() if e not in flags], axis=0)
    checked = 0
    for key in record.keys_with_prefix("ae."):
        if len(key.split(".")) != 5 or not key.endswith(".n"):
            continue
        _, event, level, arm, _ = key.split(".")
        g = worst if event == "total" else grades[event]
        hit = g[design.arm == arm] >= (3 if level == "g3plus" else 1)
        assert int(hit.sum()) == int(record.value(key)), key
        checked += 1
    assert checked > 40


def test_a_move_may_not_stack_more_events_on_a_day_than_the_limit() -> None:
    """Three events may not share a day under a limit of 2; censored times and exchanges are not limited."""
    from types import SimpleNamespace

    from paperlock.cohort.calibrate import State, _ties_allowed

    s = State(pfs=np.array([5, 5, 5, 9]), os=np.array([7, 8, 9, 9]), ev=np.array([[1, 1, 1, 0]] * 2),
              X=np.zeros((4, 1)))
    search = SimpleNamespace(cal=SimpleNamespace(max_ties=2), s=s)
    assert not _ties_allowed(search, ("time", "pfs", 2, 6))  # the third event on day 5
    assert _ties_allowed(search, ("time", "os", 2, 6))  # os: days 7, 8, 9 (one event each)
    assert _ties_allowed(search, ("exchange", 0, 3))
    s.ev[:] = [1, 1, 0, 1]
    move = ("event", 2, 3)
    assert _ties_allowed(search, move)  # patient 3 now has the events: pfs day 9, os day 9
    s.os[1] = 9
    assert _ties_allowed(search, move)  # os day 9: patients 1 and 3, two events
    s.os[0] = 9
    assert not _ties_allowed(search, move)  # os day 9: three events
    assert _ties_allowed(SimpleNamespace(cal=SimpleNamespace(max_ties=None), s=s), move)


@pytest.mark.parametrize("kind", ["pfs", "os", "event", "km", "km_exchange", "exchange_regimen", "slide_pfs",
                                  "slide_os"])
def test_arm_stage_moves_only_its_patients(calibrator: Calibrator, kind: str) -> None:
    """In a stage that fits one arm's curves (`Search.movable`), no move changes another arm's patients' times;
    an event move keeps the cohort's number of events."""
    from paperlock.cohort.calibrate import _propose

    cal = calibrator
    rng = np.random.default_rng(21)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    search = Search(cal, state, uni_cols=[0])
    search.movable = np.flatnonzero(cal.design.arm == "tki")
    other = cal.design.arm != "tki"
    proposed = 0
    for _ in range(200):
        pfs, os_, events = state.pfs.copy(), state.os.copy(), state.ev.sum(axis=1)
        undo = _propose(kind, search, rng, [], [])
        if undo is None:
            continue
        proposed += 1
        assert (state.pfs[other] == pfs[other]).all() and (state.os[other] == os_[other]).all()
        assert (state.ev.sum(axis=1) == events).all() and (state.pfs <= state.os).all()
        assert _flags_fit_days(state) and state.unmatched() == 2 * cal.settings["unmatched_event_pairs"]
        _undo(state, undo)
    assert proposed > 0 or kind in ("km", "km_exchange")


def _flags_fit_days(state) -> bool:
    return all(state.order_ok(i, int(state.pfs[i]), int(state.os[i])) for i in range(len(state.pfs)))


def test_unmatched_event_pairs_start_and_stay(calibrator: Calibrator) -> None:
    """The settings' unmatched pairs: one patient progressed and alive, one censored for PFS before death
    (PFS < OS); every move keeps each patient's pair of flags whole, so both kinds stay as many, and a move
    that would give the censored-then-dead flags to a patient whose PFS equals OS is refused."""
    import copy

    from paperlock.cohort.calibrate import _propose, _swap_flags

    cal = copy.copy(calibrator)
    pairs = 1
    cal.settings = {**calibrator.settings, "unmatched_event_pairs": pairs}
    rng = np.random.default_rng(29)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    alive = (state.ev[0] == 1) & (state.ev[1] == 0)
    censored = (state.ev[0] == 0) & (state.ev[1] == 1)
    assert alive.sum() == pairs and censored.sum() == pairs and _flags_fit_days(state)
    search = Search(cal, state, uni_cols=[0])
    for kind in ("event", "exchange_regimen", "exchange_within", "pfs", "os", "slide_pfs", "slide_os", "km"):
        for _ in range(300):
            if _propose(kind, search, rng, [], []) is not None:
                assert state.unmatched() == 2 * pairs and _flags_fit_days(state), kind
    c = int(np.flatnonzero((state.ev[0] == 0) & (state.ev[1] == 1))[0])
    j = int(np.flatnonzero((state.ev[0] == 1) & (state.ev[1] == 1))[0])
    state.os[j] = state.pfs[j]
    before = state.ev.copy()
    assert _swap_flags(state, c, j) is None and np.array_equal(state.ev, before)
    assert not state.order_ok(c, int(state.os[c]), int(state.os[c]))  # its PFS may not reach its death


@pytest.mark.parametrize(("median", "lower", "upper", "symmetric"), [
    ("7.50", "3.19", "11.80", False),  # the lower side one printed unit longer: no half-width gives both bounds
    ("7.50", "3.20", "11.81", False),  # the upper side one unit longer: only h = 4.305 exactly gives both
    ("7.50", "3.20", "11.80", True),
    ("7.50", "3.195", "11.805", True),
    ("3.63", "2.39", "4.86", False),
])
def test_km_interval_symmetry_under_half_up_rounding(median: str, lower: str, upper: str, symmetric: bool) -> None:
    """SPSS prints median ± h rounded half up; an interval counts as symmetric only if a range of h gives both
    printed bounds (checked against a fine grid of h)."""
    from types import SimpleNamespace

    from paperlock.cohort.calibrate import km_interval_symmetric

    entries = [SimpleNamespace(key=f"km.os.regimen.x.{s}", value=float(v), decimals=len(v.split(".")[1]))
               for s, v in (("median", median), ("ci_lower", lower), ("ci_upper", upper))]
    assert km_interval_symmetric(SimpleNamespace(all_entries=entries), "km.os.regimen.x", 30.0) is symmetric

    def half_up(x: np.ndarray, v: str) -> np.ndarray:
        unit = 10 ** len(v.split(".")[1])
        return np.floor(x * unit + 0.5) / unit

    m = round(float(median) * 30) / 30
    hs = np.arange(0.0, 10.0, 1e-5)
    hits = (half_up(m - hs, lower) == float(lower)) & (half_up(m + hs, upper) == float(upper))
    assert bool(hits.any()) is symmetric


def test_km_phase_result_does_not_depend_on_worker_processes(calibrator: Calibrator,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage's independent runs may go to two processes; each is seeded and the best is chosen by (failures,
    cost, order), so one process and two give the same survival times, events and covariates."""
    from paperlock.cohort.calibrate import km_phase
    from paperlock.cohort.progress import Progress

    cal = calibrator
    cols = [cal.col["arm_tki_ici"], cal.col["afp_gt400"]]
    out = []
    for workers in ("1", "2"):
        monkeypatch.setenv("PAPERLOCK_COHORT_WORKERS", workers)
        rng = np.random.default_rng(3)
        state = initial_state(cal, initial_matrix(cal.design, rng), rng)
        km_phase(cal, state, rng, 400, cols, Progress(enabled=False))
        out.append(state)
    a, b = out
    for name in ("pfs", "os", "ev", "X"):
        assert (getattr(a, name) == getattr(b, name)).all(), name
    assert (a.pfs <= a.os).all()


def test_cox_time_phase_holds_every_kaplan_meier_number(calibrator: Calibrator) -> None:
    """The last phase moves survival times and events against the Cox rows: afterwards no curve has more failing
    numbers than before (fresh measurement), PFS <= OS, the number of events is unchanged, the covariates are
    untouched, and the cached cost equals a fresh computation (the multivariable models included)."""
    cal = calibrator
    rng = np.random.default_rng(23)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    before = {k: cal.km_cost(state, k)[1] for k in cal.curves}
    X, events = state.X.copy(), state.ev.sum(axis=1)
    search = CoxTimeSearch(cal, state)
    start_cost = search.total()
    anneal(search, rng, 400, MOVES, Progress(enabled=False), t0=T0, t1=T1, protect_km=True, locked=set(cal.curves))
    fresh = CoxTimeSearch(cal, state)
    assert search.total() == pytest.approx(fresh.total(), rel=1e-6)
    assert fresh.total() < start_cost
    assert all(cal.km_cost(state, k)[1] <= f for k, f in before.items())
    assert (state.pfs <= state.os).all() and (state.ev.sum(axis=1) == events).all()
    assert np.array_equal(state.X, X)
    cox_time_phase(cal, state, rng, 50, Progress(enabled=False))
    assert all(cal.km_cost(state, k)[1] <= f for k, f in before.items())


@pytest.mark.parametrize(("deaths", "pairs"), [(45, 0), (45, 1), (51, 2)])
def test_initial_state_gives_each_endpoint_its_number_of_events(calibrator: Calibrator, deaths: int,
                                                               pairs: int) -> None:
    """Another study's record may print fewer deaths than progressions: the extra progressions are patients alive
    at last follow-up; the settings' unmatched pairs add one of those and one patient censored for PFS who died
    later (PFS < OS). Too many pairs for the patients is an error."""
    from types import SimpleNamespace

    cal = calibrator
    n_pfs = int(cal.record.value("events.pfs.all.n"))
    record = SimpleNamespace(has=lambda key: True,
                             value=lambda key: deaths if key == "events.os.all.n" else cal.record.value(key))
    fake = SimpleNamespace(design=cal.design, record=record, km=cal.km, month=cal.month,
                           settings={"unmatched_event_pairs": pairs})
    rng = np.random.default_rng(31)
    state = initial_state(fake, initial_matrix(cal.design, rng), rng)
    assert state.ev[0].sum() == n_pfs and state.ev[1].sum() == deaths
    assert ((state.ev[0] == 0) & (state.ev[1] == 1)).sum() == pairs
    assert ((state.ev[0] == 1) & (state.ev[1] == 0)).sum() == n_pfs - deaths + pairs
    assert _flags_fit_days(state)
    fake.settings["unmatched_event_pairs"] = cal.design.n
    with pytest.raises(ValueError, match="unmatched pairs"):
        initial_state(fake, initial_matrix(cal.design, rng), rng)


def test_reshape_move_keeps_the_order_rules_and_undoes_exactly(calibrator: Calibrator) -> None:
    """The reshaping move changes one endpoint's days of at most two patients of a failing curve, keeps PFS <= OS
    (and PFS < OS for a patient censored for PFS who died), and its undo restores every day."""
    from paperlock.cohort.calibrate import _affected, _propose_km_reshape, _ties_allowed

    cal = calibrator
    rng = np.random.default_rng(8)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    search = Search(cal, state, uni_cols=[])
    before = (state.pfs.copy(), state.os.copy())
    moved = 0
    for _ in range(400):
        undo = _propose_km_reshape(search, rng)
        if undo is None:
            continue
        kind, ep, changes = undo
        assert kind == "times" and 1 <= len(changes) <= 2
        moved += len(changes) == 2
        for i, _old in changes:
            assert state.order_ok(i, int(state.pfs[i]), int(state.os[i]))
        keys_km, uni_keys, _ = _affected(search, "km_reshape", undo)
        for i, _old in changes:
            assert set(cal.curves_of(state, i, ep)) <= set(keys_km)
        assert all(e == ep for _, e in uni_keys)
        t, e, limit = state.time(ep), state.events(ep), cal.max_ties
        crowded = limit is not None and any(e[i] and int(((t == t[i]) & (e == 1)).sum()) > limit for i, _ in changes)
        assert _ties_allowed(search, undo) is not crowded  # the ties limit sees both moved days
        _undo(state, undo)
        assert np.array_equal(state.pfs, before[0]) and np.array_equal(state.os, before[1])
    assert moved > 20


@pytest.mark.parametrize("span", [40, 55, 70])
def test_span_end_move_gives_the_printed_half_width(span: int) -> None:
    """With the order of events kept, the half-width is proportional to the span l - u: moving l (or u) to the
    day the move names gives the interval that was asked for."""
    from paperlock.cohort.calibrate import _span_end_move

    days = np.array([20, 45, 70, 90, 120, 150, 200, 260, 330, 400.0])
    events = np.ones(10)
    med = km_median_spss(days / 30, events)
    per_day = (med.upper - med.lower) / 2 / round((med.l_time - med.u_time) * 30)
    targets = {"median": med.median, "ci_lower": med.median - per_day * span,
               "ci_upper": med.median + per_day * span}
    for seed in range(6):
        who, new = _span_end_move(med, targets, 30.0, np.random.default_rng(seed))
        moved = days.copy()
        moved[moved == who] = new
        got = km_median_spss(moved / 30, events)
        assert np.diff(moved).min() > 0  # the order of events is kept for these spans
        assert (got.lower, got.upper) == pytest.approx((targets["ci_lower"], targets["ci_upper"]), abs=1e-9)


@pytest.mark.parametrize("pop", ["all", "tki_ici"])
@pytest.mark.parametrize("ep", ["pfs", "os"])
def test_search_univariable_cost_equals_a_fresh_fit_and_cost(calibrator: Calibrator, pop: str, ep: str) -> None:
    """The search's univariable fits (binary counting form) and its cached row targets give the cost of a plain
    `cox_uni` fit and freshly prepared `RowTargets` on the same columns, for every column and for a subset."""
    from paperlock.cohort.fast_survival import cox_uni

    cal = calibrator
    rng = np.random.default_rng(5)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    mask, thr = cal.pop_mask[pop], float(cal.settings["multivariable_p_threshold"])
    for cols in (None, np.array([3, 0, 7])):
        got = cal.uni_fit(state, pop, ep, cols=cols)
        X = state.X[mask] if cols is None else state.X[mask][:, cols]
        ref = cox_uni(state.time(ep)[mask].astype(float), state.events(ep)[mask], X, steps=12)
        np.testing.assert_allclose(got.beta, ref.beta, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.se, ref.se, rtol=1e-9)
        sl = slice(None) if cols is None else cols
        t, tol = cal.uni_t[(pop, ep)][:, sl], cal.uni_tol[(pop, ep)][:, sl]
        p, side = cal.uni_p[(pop, ep)][sl], cal.uni_side[(pop, ep)][sl]
        for _ in range(2):  # the second call reads the cache
            np.testing.assert_allclose(cal.uni_cost_from(got, pop, ep, cols=cols),
                                       cal.w_uni * RowTargets.of(t, tol, p, side).cost(ref, thr), rtol=1e-9)


def test_final_tails_keep_the_cheapest_and_do_not_depend_on_worker_processes(
        calibrator: Calibrator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last two phases run as seeded tails from one state (each tail's column search runs its own jobs
    serially inside a worker): one process and two give the same state, which is the tail with the lowest Cox
    cost; the KM numbers hold and the covariates' per-arm counts stay."""
    from paperlock.cohort import time_search
    from paperlock.cohort.time_search import _tail_job, final_tails

    cal = calibrator
    rng = np.random.default_rng(31)
    start = initial_state(cal, initial_matrix(cal.design, rng), rng)
    before = {k: cal.km_cost(start, k)[1] for k in cal.curves}
    out = []
    for workers in ("1", "2"):
        monkeypatch.setenv("PAPERLOCK_COHORT_WORKERS", workers)
        s = start.copy()
        final_tails(cal, s, np.random.default_rng(5), 3, 60, 5, Progress(enabled=False))
        out.append(s)
    a, b = out
    for name in ("pfs", "os", "ev", "X"):
        assert (getattr(a, name) == getattr(b, name)).all(), name
    seeds = np.random.default_rng(5).integers(2**63, size=3)
    tails = [_tail_job((cal, start, int(seed), 60, 5)) for seed in seeds]
    cheapest = min(range(3), key=lambda k: (tails[k][0], k))
    assert time_search.CoxTimeSearch(cal, a).total() == pytest.approx(tails[cheapest][0], rel=1e-12)
    assert all(t[0] >= tails[cheapest][0] for t in tails)
    assert np.array_equal(a.pfs, tails[cheapest][1].pfs) and np.array_equal(a.X, tails[cheapest][1].X)
    assert all(cal.km_cost(a, k)[1] <= f for k, f in before.items())
    assert (a.pfs <= a.os).all()
    for arm in np.unique(cal.design.arm):
        rows = cal.design.arm == arm
        swap = [j for j, c in enumerate(cal.design.covariates) if c.kind == "swap"]
        assert np.array_equal(a.X[rows][:, swap].sum(axis=0), start.X[rows][:, swap].sum(axis=0))


def test_pfs_censoring_gap_of_patients_alive_starts_and_stays_within_the_limit(calibrator: Calibrator) -> None:
    """`realism.max_pfs_censoring_gap`: a patient censored for PFS and alive at last follow-up has the PFS
    censoring at most that many days before the last follow-up, in the initial state and after every kind of
    move; without the setting the gap is free."""
    import copy

    from paperlock.cohort.calibrate import _propose

    def gaps(s: State) -> np.ndarray:
        alive = (s.ev[0] == 0) & (s.ev[1] == 0)
        return s.os[alive] - s.pfs[alive]

    realism = {k: v for k, v in calibrator.settings["realism"].items() if k != "max_pfs_censoring_gap"}
    unlimited = copy.copy(calibrator)
    unlimited.settings = {**calibrator.settings, "realism": realism}
    rng = np.random.default_rng(41)
    free = initial_state(unlimited, initial_matrix(calibrator.design, rng), rng)
    assert free.max_gap is None and gaps(free).max() > 90
    cal = copy.copy(calibrator)
    cal.settings = {**calibrator.settings, "realism": {**realism, "max_pfs_censoring_gap": 90}}
    rng = np.random.default_rng(41)
    state = initial_state(cal, initial_matrix(cal.design, rng), rng)
    assert state.max_gap == 90 and state.copy().max_gap == 90
    assert len(gaps(state)) and gaps(state).max() <= 90 and (state.pfs <= state.os).all()
    search = Search(cal, state, uni_cols=[0])
    for kind in ("event", "exchange_regimen", "exchange_within", "pfs", "os", "slide_pfs", "slide_os", "km"):
        for _ in range(400):
            if _propose(kind, search, rng, [], []) is not None:
                assert gaps(state).max() <= 90 and (state.pfs <= state.os).all(), kind
    i = int(np.flatnonzero((state.ev[0] == 0) & (state.ev[1] == 0))[0])
    assert not state.order_ok(i, int(state.os[i]) - 91, int(state.os[i]))
    assert state.order_ok(i, int(state.os[i]) - 90, int(state.os[i]))
