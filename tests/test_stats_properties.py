"""Property tests for analysis.stats (hypothesis): invariants of KM and Cox, and agreement with lifelines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.stats import cox, km

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def survival_data(draw, min_n: int = 8, max_n: int = 40):
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n).astype(float)
    t = np.ceil(rng.exponential(10 * np.exp(-0.5 * x)))  # integer times: plenty of ties
    e = (rng.random(n) < draw(st.floats(0.4, 0.95))).astype(int)
    if e.sum() < 2:
        e[:2] = 1
    if x.min() == x.max():
        x[0] = 1 - x[0]
    return t, e, x, rng


@SETTINGS
@given(survival_data())
def test_km_monotone_and_bounded(data):
    t, e, _, _ = data
    c = km.km_estimate(t, e)
    assert np.all((c.survival >= 0) & (c.survival <= 1))
    assert np.all(np.diff(c.survival) <= 1e-15)
    assert np.all(np.diff(c.n_risk) < 0)
    assert c.n_risk[0] == t.size
    grid = np.linspace(0, t.max() + 1, 17)
    assert np.all(np.diff(c.at_risk(grid)) <= 0)
    assert np.all(c.greenwood_var >= 0)


def _fit(t, e, x, ties="efron"):
    return cox.cox_fit(t, e, x[:, None], ties=ties)


def _estimable(f) -> bool:
    return f.status == "ok" and abs(f.coef[0]) < 5


@SETTINGS
@given(survival_data(), st.sampled_from(["breslow", "efron"]))
def test_flipped_binary_covariate_inverts_hr(data, ties):
    t, e, x, _ = data
    a, b = _fit(t, e, x, ties), _fit(t, e, 1 - x, ties)
    if _estimable(a):
        np.testing.assert_allclose(b.hr, 1 / a.hr, rtol=1e-8)
        np.testing.assert_allclose(b.se, a.se, rtol=1e-8)
        np.testing.assert_allclose(b.p, a.p, rtol=1e-6)


@SETTINGS
@given(survival_data(), st.sampled_from(["breslow", "efron"]))
def test_row_order_changes_nothing(data, ties):
    t, e, x, rng = data
    perm = rng.permutation(t.size)
    a, b = _fit(t, e, x, ties), _fit(t[perm], e[perm], x[perm], ties)
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-12)
    ka, kb = km.km_estimate(t, e), km.km_estimate(t[perm], e[perm])
    np.testing.assert_array_equal(ka.survival, kb.survival)
    for ci in ("spss", "log", "log-log", "plain"):
        ma, mb = km.km_median(ka, ci), km.km_median(kb, ci)
        np.testing.assert_array_equal([ma.median, ma.lower, ma.upper], [mb.median, mb.lower, mb.upper])


@SETTINGS
@given(survival_data(), st.sampled_from(["breslow", "efron"]))
def test_duplicated_cohort_keeps_hr_and_narrows_ci(data, ties):
    """Breslow: doubling every row doubles score and information, so the MLE is identical and SE / sqrt(2).
    Efron: tied-event groups change size, so the HR moves slightly; the CI still narrows."""
    t, e, x, _ = data
    a = _fit(t, e, x, ties)
    b = _fit(np.r_[t, t], np.r_[e, e], np.r_[x, x], ties)
    if not _estimable(a):
        return
    if ties == "breslow":
        np.testing.assert_allclose(b.coef, a.coef, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(b.se, a.se / np.sqrt(2), rtol=1e-7)
    assert (b.ci_upper - b.ci_lower)[0] < (a.ci_upper - a.ci_lower)[0]


@SETTINGS
@given(survival_data(min_n=15))
def test_agrees_with_lifelines(data):
    from lifelines import CoxPHFitter, KaplanMeierFitter

    t, e, x, rng = data
    z = rng.normal(size=t.size)
    f = cox.cox_fit(t, e, np.c_[x, z], ties="efron")
    if f.status != "ok" or np.any(np.abs(f.coef) > 5):
        return
    df = pd.DataFrame({"t": t, "e": e, "x": x, "z": z})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(df, "t", "e", fit_options={"precision": 1e-12, "max_steps": 200})  # Efron ties
    # lifelines stops on its own Newton-decrement rule (with step damping), so it agrees to ~1e-5, not to
    # the 1e-10 seen against R coxph in test_stats_reference.py.
    np.testing.assert_allclose(f.coef, cph.params_[["x", "z"]].to_numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(f.se, cph.standard_errors_[["x", "z"]].to_numpy(), rtol=1e-4)
    kmf = KaplanMeierFitter().fit(t, e)
    c = km.km_estimate(t, e)
    ref = kmf.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(c.survival_at(ref.index.to_numpy()), ref.to_numpy(), rtol=1e-12)
