"""The compiled Newton–Raphson (analysis/stats/_cox_kernel.c via cox_kernel.py) against the numpy path it
replaces for small unstratified fits, which stays the reference: the same fits to 1e-9 relative (coefficients,
SEs, log-likelihoods), the same iterations, convergence, status and reasons; and the fallback to numpy when the
kernel cannot be built or loaded. R's own figures are checked on the routed path by tests/test_stats_r_fixtures.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.stats import cox, cox_kernel

RTOL = 1e-9
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LIB = cox_kernel.load()
needs_kernel = pytest.mark.skipif(LIB is None, reason="no C compiler: the compiled kernel is not built")


@st.composite
def fit_data(draw):
    """Survival data with ties from heavy to none, 0/1 or continuous covariates, and a special column."""
    n = draw(st.sampled_from([draw(st.integers(8, 80)), draw(st.integers(151, 400))]))  # dense and cells paths
    p = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = rng.integers(1, draw(st.sampled_from([3, 8, 40, 10**6])) + 1, n).astype(float)
    e = (rng.random(n) < draw(st.floats(0.2, 1.0))).astype(float)
    e[0] = 1.0
    kind = draw(st.sampled_from(["binary", "continuous", "mixed"]))
    x = (rng.random((n, p)) < 0.5).astype(float)
    if kind != "binary":
        cont = rng.normal(size=(n, p)) * rng.choice([0.1, 1.0, 30.0], p)
        x = cont if kind == "continuous" else np.where(rng.random(p) < 0.5, x, cont)
    special = draw(st.sampled_from(["none", "none", "constant", "separated", "collinear"]))
    if special == "constant":
        x[:, 0] = draw(st.sampled_from([0.0, 1.0, 2.0]))
    elif special == "separated":  # every event has x = 1 (or the larger value): a diverging coefficient
        x[:, 0] = e if kind == "binary" else e * 2.5 + 1.0
    elif special == "collinear" and p > 1:
        x[:, 1] = x[:, 0] if kind == "binary" else 2.0 * x[:, 0] + 1.0
    return t, e, x, special


def numpy_fit(t, e, x, ties):
    """The numpy path `cox_fit` took before the kernel: dense risk sets up to 150 rows, else cells."""
    if t.size * t.size <= cox.DENSE_MAX_CELLS:
        return cox._fit_dense(t, e, x, ties, 0.95)
    if x.shape[1] == 1 and ((x == 0) | (x == 1)).all():
        return cox._binary_univariable(t, e, [x[:, 0]], ties, 0.95)[0]
    return cox._fit_cells(t, e, x, ties, None, 0.95)


def diverging(fit, x) -> bool:
    """A fit near monotone likelihood: some |coef| x SD(x) > 8 (a hazard ratio beyond e^8 per SD). Its
    information is mostly cancellation (S2/S0 - M^2 with M -> the largest x), so its coefficients, SEs and which
    columns cholesky2 calls singular are set by rounding in either path (the numpy paths differ likewise: see
    tests/test_cox_fast_paths.py), and so are the step-halvings and where a risk set's sum underflows; only
    whether it diverges is compared (R's infinite-coefficient flag, from the next step's size, is rounding too)."""
    sd = x.std(axis=0)
    return bool(np.nanmax(np.where(np.isnan(fit.coef), 0.0, np.abs(fit.coef) * sd)) > 8)


def flat_in_risk_sets(t, e, x) -> bool:
    """Some covariate, not constant, is constant within every risk set: its information is 0 up to rounding, so
    whether cholesky2 (a relative tolerance) calls it singular is rounding as well."""
    flat = np.ones(x.shape[1], dtype=bool)
    for s in np.unique(t[e == 1]):
        flat &= np.ptp(x[t >= s], axis=0) == 0
    return bool((flat & (np.ptp(x, axis=0) > 0)).any())


def assert_same_fit(fast, ref, t, e, x):
    assert fast.loglik_null == pytest.approx(ref.loglik_null, rel=RTOL)
    assert (fast.n, fast.events) == (ref.n, ref.events)
    if flat_in_risk_sets(t, e, x):
        return
    if diverging(ref, x) or diverging(fast, x) or not ref.converged:  # not converged: diverging too, slower
        assert diverging(ref, x) == diverging(fast, x) or not (ref.converged and fast.converged)
        return
    assert fast.status == ref.status
    assert fast.loglik == pytest.approx(ref.loglik, rel=RTOL)
    assert (fast.reason, fast.column_status, fast.converged, fast.iterations) == \
           (ref.reason, ref.column_status, ref.converged, ref.iterations)
    np.testing.assert_array_equal(np.isnan(fast.coef), np.isnan(ref.coef))
    ok = np.array([c != "infinite" for c in ref.column_status])
    np.testing.assert_allclose(fast.coef[ok], ref.coef[ok], rtol=RTOL, atol=RTOL * np.nanmax(ref.se[ok], initial=0))
    np.testing.assert_allclose(fast.se[ok], ref.se[ok], rtol=RTOL)
    np.testing.assert_allclose(fast.p[ok], ref.p[ok], rtol=1e-7, atol=1e-300)  # p of z ~ 1e-9 relative: ~z² 1e-9


@needs_kernel
@SETTINGS
@given(data=fit_data(), ties=st.sampled_from(["breslow", "efron"]))
def test_kernel_fit_equals_numpy_fit(data, ties):
    t, e, x, _ = data
    assert_same_fit(cox._fit_native(LIB, t, e, x, ties, 0.95), numpy_fit(t, e, x, ties), t, e, x)


@needs_kernel
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_routed_fits_use_the_kernel_and_match_numpy(ties, monkeypatch):
    rng = np.random.default_rng(11)
    t = rng.integers(1, 30, 70).astype(float)
    e = (rng.random(70) < 0.7).astype(int)
    x = np.column_stack([(rng.random(70) < 0.5), rng.normal(size=70)]).astype(float)
    calls = []
    real = cox._fit_native
    monkeypatch.setattr(cox, "_fit_native", lambda *a: calls.append(1) or real(*a))
    for cols in ([0], [0, 1], [1]):
        fast = cox.cox_fit(t, e, x[:, cols], ties=ties)
        assert_same_fit(fast, numpy_fit(t, e.astype(float), x[:, cols], ties), t, e, x[:, cols])
    assert len(calls) == 3
    strata = np.arange(70) % 2
    cox.cox_fit(t, e, x, ties=ties, strata=strata)  # strata stay on the numpy path
    big = np.tile(t, 30)
    cox.cox_fit(big, np.tile(e, 30), np.tile(x, (30, 1)), ties=ties)  # above NATIVE_MAX_ROWS: numpy
    assert len(calls) == 3


@needs_kernel
def test_kernel_reads_strided_covariates():
    rng = np.random.default_rng(3)
    t, e = rng.exponential(size=50), (rng.random(50) < 0.8).astype(float)
    x = np.asfortranarray(rng.normal(size=(50, 4)))[:, ::2]  # neither C- nor F-contiguous
    fast = cox._fit_native(LIB, t, e, x, "efron", 0.95)
    assert_same_fit(fast, cox._fit_native(LIB, t, e, np.ascontiguousarray(x), "efron", 0.95), t, e, x)
    assert_same_fit(fast, numpy_fit(t, e, x, "efron"), t, e, x)


def test_fallback_without_the_kernel(monkeypatch, tmp_path):
    """No compiler: `load()` gives None (no error) and `cox_fit` takes the numpy path."""
    rng = np.random.default_rng(7)
    t, e = rng.integers(1, 20, 60).astype(float), (rng.random(60) < 0.6).astype(float)
    x = rng.normal(size=(60, 3))
    monkeypatch.setenv("PAPERLOCK_NATIVE_DIR", str(tmp_path))
    monkeypatch.setattr(cox_kernel, "_cache_dirs", lambda: [tmp_path])
    monkeypatch.setenv("CC", "no-such-compiler")
    monkeypatch.setattr(cox_kernel.shutil, "which", lambda name: None)
    cox_kernel.reset()
    try:
        assert cox_kernel.build() is None
        assert cox_kernel.load() is None
        fit = cox.cox_fit(t, e, x, ties="efron")
    finally:
        cox_kernel.reset()
    ref = cox._fit_dense(t, e, x, "efron", 0.95)
    np.testing.assert_array_equal(fit.coef, ref.coef)  # the numpy path itself: identical, not just close
    np.testing.assert_array_equal(fit.se, ref.se)


def test_fallback_when_the_build_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(cox_kernel, "_cache_dirs", lambda: [tmp_path])
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    cox_kernel.reset()
    try:
        assert cox_kernel.load() is None
        assert not list(tmp_path.iterdir())  # the failed build's temporary file is removed
    finally:
        cox_kernel.reset()


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv(cox_kernel.DISABLE_ENV, "1")
    cox_kernel.reset()
    try:
        assert cox_kernel.load() is None
    finally:
        cox_kernel.reset()


@needs_kernel
def test_build_is_keyed_by_source_hash(monkeypatch, tmp_path):
    monkeypatch.setattr(cox_kernel, "_cache_dirs", lambda: [tmp_path])
    path = cox_kernel.build()
    assert path is not None and path.parent == tmp_path and path.name == cox_kernel.library_name()
    assert cox_kernel.build() == path  # cached: not built again
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
